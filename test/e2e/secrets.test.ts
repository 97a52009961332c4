/**
 * No private key material reaches the repository or the output: a PEM
 * private key or a PIN given as an online URI, a private key hidden in a
 * custom field, a trust file or a JWKS, are refused with one clear error,
 * nothing written, and never echoed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { newRepository, ok, readJson, tufctl } from '../helpers/harness.js';
import { redactSecrets, secretIn } from '../../src/secrets.js';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

function snapshotOf(dir: string): Map<string, string> {
  return new Map(files(dir).map((f) => [relative(dir, f), createHash('sha256').update(readFileSync(f)).digest('hex')]));
}

const privatePem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

test('secretIn finds PEM private keys of every kind, private JWKs and PINs in PKCS#11 URIs; redactSecrets hides them', () => {
  const pem = privatePem();
  assert.equal(secretIn(JSON.stringify({ 'x-note': pem })), 'a PEM private key');
  assert.equal(secretIn('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn…'), 'a PEM private key');
  assert.equal(secretIn('-----BEGIN RSA PRIVATE KEY-----'), 'a PEM private key');
  assert.equal(secretIn('-----BEGIN ENCRYPTED PRIVATE KEY-----'), 'a PEM private key');
  assert.equal(
    secretIn(JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret' }] })),
    'a JWK with private key members',
  );
  assert.equal(secretIn(JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' })), 'a JWK with private key members');
  assert.equal(secretIn('{"uri": "pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234"}'), 'a PKCS#11 URI with its PIN (pin-value)');
  assert.equal(secretIn(JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }] })), undefined);
  assert.equal(secretIn('-----BEGIN PUBLIC KEY-----\nMFkw…'), undefined);
  assert.equal(redactSecrets(`before ${pem} after`), 'before [private key redacted]\n after');
  assert.equal(
    redactSecrets('pkcs11:token=t;object=k?pin-value=1234&module-path=/m'),
    'pkcs11:token=t;object=k?pin-value=[redacted]&module-path=/m',
  );
});

test('a private key or a PIN given as an online URI is refused, nothing is written, and it is never echoed', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const before = snapshotOf(cwd);
    const pem = privatePem();
    for (const uri of [`env:${pem}`, 'pkcs11:token=t;object=k?module-path=/m.so&pin-value=24681357']) {
      const r = tufctl(['key', 'add', 'timestamp', join(fx.keys, 'online.pub.pem'), '--online-uri', uri], { cwd });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /^tufctl: error \[SECRET_DETECTED\]: refusing to write metadata\/root\.json: it would hold (a PEM private key|a PKCS#11 URI with its PIN)/,
      );
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(!r.stdout.includes('PRIVATE KEY') && !r.stderr.includes('PRIVATE KEY'));
      assert.ok(!(r.stdout + r.stderr).includes('24681357'));
      assert.deepEqual(snapshotOf(cwd), before, 'nothing changed');
    }
  } finally {
    fx.cleanup();
  }
});

test('verify reports private key material in a custom field, a trust file and a JWKS file', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const pem = privatePem();
    // A custom field of a key in root, written by hand (tufctl itself would refuse to save it).
    const rootPath = join(cwd, 'metadata', 'root.json');
    const root = readJson(rootPath);
    const id = root.signed.roles.timestamp.keyids[0];
    root.signed.keys[id]['x-backup'] = pem;
    writeFileSync(rootPath, JSON.stringify(root, null, 2) + '\n');
    const verified = tufctl(['verify', '--client', 'never'], { cwd });
    assert.equal(verified.code, 1);
    assert.match(verified.stderr, /metadata\/root\.json holds a PEM private key; private key material never belongs in metadata/);
    assert.ok(!verified.stderr.includes('BEGIN PRIVATE KEY'));
    // Signing it is refused before anything is written.
    const signing = tufctl(['sign', 'root', '--key', fx.key('root')], { cwd });
    assert.equal(signing.code, 1);
    assert.match(signing.stderr, /SECRET_DETECTED/);
    assert.equal(readFileSync(rootPath, 'utf8'), JSON.stringify(root, null, 2) + '\n');
  } finally {
    fx.cleanup();
  }
  const other = newRepository();
  try {
    const cwd = other.repo;
    // A target file holding a private JWK, described by hand (target add would refuse a PEM key file).
    const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ', d: 'ZA', kid: 'k' }] });
    writeFileSync(join(cwd, 'targets', 'leak.json'), jwks);
    ok(['target', 'add-entry', 'leak.json', '--length', String(jwks.length), '--sha256', createHash('sha256').update(jwks).digest('hex')], {
      cwd,
    });
    ok(['sign', '--key', other.key('targets')], { cwd });
    ok(['snapshot', '--key', other.key('online')], { cwd });
    ok(['timestamp', '--key', other.key('online')], { cwd });
    const verified = tufctl(['verify', '--client', 'never'], { cwd });
    assert.equal(verified.code, 1);
    assert.match(verified.stderr, /targets\/leak\.json holds a JWK with private key members; it must not be published/);
  } finally {
    other.cleanup();
  }
});

test('a private key file other users can read is used with a warning naming the fix, never the key', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    chmodSync(fx.key('targets'), 0o644);
    writeFileSync(join(cwd, 'targets', 'a.txt'), 'a');
    const r = ok(['target', 'add', 'targets/a.txt', '--sign', '--key', fx.key('targets')], { cwd });
    assert.match(
      r.stderr,
      new RegExp(
        `^tufctl: warning: key file ${fx.key('targets').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} can be read by other users \\(mode 0644\\); chmod 600 `,
        'm',
      ),
    );
    assert.ok(!r.stderr.includes('PRIVATE KEY'));
    chmodSync(fx.key('targets'), 0o600);
    writeFileSync(join(cwd, 'targets', 'b.txt'), 'b');
    assert.doesNotMatch(ok(['target', 'add', 'targets/b.txt', '--sign', '--key', fx.key('targets')], { cwd }).stderr, /warning/);
  } finally {
    fx.cleanup();
  }
});

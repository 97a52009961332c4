/**
 * Hardware keys through PKCS#11, on a real token (SoftHSM2, keys made with
 * OpenSC's pkcs11-tool): a P-384 root key and a P-256 targets key are added
 * from `pkcs11:` URIs, root is signed by the old file key and the new token
 * key, and verify, tuf-js and tufctl's client accept the result. The PIN
 * appears in no output, no file and no commit. Wrong PIN, missing token,
 * missing object and missing module each give one clear error and change
 * nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { git, newRepository, ok, readJson, serveDirectory, tufctl, type CliResult } from '../helpers/harness.js';
import { startSoftHsm } from '../helpers/softhsm.js';
import { clientDownloads } from '../helpers/tuf-client.js';

const PIN = '481516234271';

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** sha256 of every file under `dir` (git's own files included): "nothing changed" means equal maps. */
function snapshotOf(dir: string): Map<string, string> {
  return new Map(files(dir).map((f) => [relative(dir, f), createHash('sha256').update(readFileSync(f)).digest('hex')]));
}

function assertNoPin(text: string, where: string): void {
  assert.ok(!text.includes(PIN), `the PIN appears in ${where}`);
}

test('PKCS#11 end to end on SoftHSM2: P-384 root and P-256 targets keys on a token, root signed by old file key and new token key', async () => {
  const hsm = startSoftHsm();
  const fx = newRepository();
  try {
    hsm.initToken('tufhw', PIN);
    hsm.generateKey('tufhw', PIN, 'root-hw', '01', 'EC:secp384r1');
    hsm.generateKey('tufhw', PIN, 'targets-hw', '02', 'EC:prime256v1');
    const pinFile = join(hsm.root, 'pin');
    writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
    const uri = (object: string, query = `&pin-source=${pinFile}`): string =>
      `pkcs11:token=tufhw;object=${object}?module-path=${hsm.module}${query}`;
    const cwd = fx.repo;
    const outputs: string[] = [];
    const run = (args: string[]): CliResult => {
      const r = ok(args, { cwd, env: hsm.env });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const fileTargetsKey = readJson(join(cwd, 'metadata', 'root.json')).signed.roles.targets.keyids[0] as string;

    // Public keys come from the token without a PIN; a PIN in the URI is never echoed.
    const rootKey = run(['key', 'add', 'root', uri('root-hw', ''), '--owner', '@hw-root', '--json']).json;
    const targetsKey = run(['key', 'add', 'targets', uri('targets-hw', `&pin-value=${PIN}`), '--owner', '@hw-targets', '--json']).json;
    run(['key', 'remove', 'targets', fileTargetsKey]);
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    assert.equal(root.keys[rootKey.keyId].scheme, 'ecdsa-sha2-nistp384');
    assert.equal(root.keys[targetsKey.keyId].scheme, 'ecdsa-sha2-nistp256');
    assert.deepEqual(root.roles.targets.keyids, [targetsKey.keyId]);

    // Root v2 needs root v1's key (the file) and its own (file and token); targets now needs the token.
    const signed = run(['sign', '--key', fx.key('root'), '--key', uri('root-hw'), '--key', uri('targets-hw')]);
    assert.match(signed.stdout, /root v2: old root: 1 of 1 ✓ — new root: 2 of 1 ✓/);
    assert.match(signed.stdout, /targets v2: signed 1 of 1 ✓/);
    run(['snapshot', '--key', fx.key('online')]);
    run(['timestamp', '--key', fx.key('online'), '--commit']);
    const newRoot = readJson(join(cwd, 'metadata', 'root.json'));
    assert.ok(newRoot.signatures.some((s: { keyid: string }) => s.keyid === rootKey.keyId));

    const verified = run(['verify', '--json']).json;
    assert.equal(verified.ok, true, JSON.stringify(verified.problems));
    assert.equal(verified.client.ok, true, 'tuf-js accepts the P-384 root and the P-256 targets signatures');

    // A static mirror read by tuf-js, and the registry layout read by tufctl's client.
    const out = join(fx.root, 'export');
    run(['export', out]);
    const mirror = await serveDirectory(out);
    try {
      await clientDownloads(
        mirror.url,
        join(fx.root, 'tuf-js'),
        ['mapping.yaml', 'version-constraints'],
        join(out, 'metadata', '1.root.json'),
        cwd,
      );
    } finally {
      await mirror.close();
    }
    const layout = join(fx.root, 'layout');
    run(['publish', '--to', `oci-layout:${layout}`]);
    const fetched = join(fx.root, 'mapping.yaml');
    run([
      'client',
      'fetch',
      'mapping.yaml',
      '--from',
      `oci-layout:${layout}`,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(fx.root, 'cache'),
      '--out',
      fetched,
    ]);
    assert.deepEqual(readFileSync(fetched), readFileSync(join(cwd, 'targets', 'mapping.yaml')));

    // The PIN is nowhere: outputs, every file (repository, export, layout), git history.
    for (const [i, text] of outputs.entries()) assertNoPin(text, `output ${i}`);
    for (const file of [...files(cwd), ...files(out), ...files(layout)]) assertNoPin(readFileSync(file, 'latin1'), file);
    assertNoPin(git(cwd, 'log', '-p', '--all'), 'git log -p');
    assert.ok(!git(cwd, 'log', '-p', '--all').includes('pin-source'), 'no URI query in git');
  } finally {
    fx.cleanup();
    hsm.cleanup();
  }
});

test('PKCS#11 errors name what is missing, never the PIN, exit 1 and change nothing', () => {
  const hsm = startSoftHsm();
  const fx = newRepository();
  try {
    hsm.initToken('tufhw', PIN);
    hsm.generateKey('tufhw', PIN, 'root-hw', '01', 'EC:secp384r1');
    const cwd = fx.repo;
    const base = `pkcs11:token=tufhw;object=root-hw?module-path=${hsm.module}`;
    ok(['key', 'add', 'root', base, '--commit'], { cwd, env: hsm.env });
    const before = snapshotOf(cwd);
    const cases: Array<[string, string[], string, RegExp]> = [
      ['wrong PIN', ['sign', 'root', '--key', `${base}&pin-value=000000000000`], 'PKCS11_PIN_INCORRECT', /wrong PIN for token "tufhw"/],
      [
        'missing token',
        ['sign', 'root', '--key', `pkcs11:token=gone;object=root-hw?module-path=${hsm.module}&pin-value=${PIN}`],
        'PKCS11_TOKEN_MISSING',
        /no token labelled "gone" is present \(tokens present: "tufhw"\)/,
      ],
      [
        'missing object',
        ['sign', 'root', '--key', `pkcs11:token=tufhw;object=gone?module-path=${hsm.module}&pin-value=${PIN}`],
        'PKCS11_OBJECT_MISSING',
        /token "tufhw" holds no key object "gone"/,
      ],
      [
        'missing module',
        ['sign', 'root', '--key', `pkcs11:token=tufhw;object=root-hw?module-path=/nonexistent/libpkcs11.so&pin-value=${PIN}`],
        'PKCS11_MODULE_MISSING',
        /PKCS#11 module \/nonexistent\/libpkcs11\.so does not exist/,
      ],
      [
        'no module at all',
        ['sign', 'root', '--key', `pkcs11:token=tufhw;object=root-hw?pin-value=${PIN}`],
        'PKCS11_MODULE_MISSING',
        /no PKCS#11 module: add module-path=/,
      ],
      [
        'no PIN and no terminal',
        ['sign', 'root', '--key', base],
        'PKCS11_FAILED',
        /needs a PIN: add pin-source=FILE to the URI, set TUFCTL_PKCS11_PIN/,
      ],
      [
        'key add of a missing object',
        ['key', 'add', 'targets', `pkcs11:token=tufhw;object=gone?module-path=${hsm.module}`],
        'PKCS11_OBJECT_MISSING',
        /holds no key object "gone"/,
      ],
      [
        'malformed URI',
        ['sign', 'root', '--key', `pkcs11:token=tufhw;object=root-hw;pin=${PIN}`],
        'KEY_INVALID',
        /PKCS#11 URI: unknown attribute "pin" \(known: token, /,
      ],
    ];
    for (const [name, args, code, message] of cases) {
      const r = tufctl(args, { cwd, env: { ...hsm.env, TUFCTL_PKCS11_PIN: '' } });
      assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line\n${r.stderr}`);
      assert.match(lines[0]!, new RegExp(`^tufctl: error \\[${code}\\]: `), name);
      assert.match(lines[0]!, message, name);
      assertNoPin(r.stdout + r.stderr, name);
      assert.deepEqual(snapshotOf(cwd), before, `${name}: nothing changed`);
    }
    // The right PIN from the environment signs.
    ok(['sign', 'root', '--key', base, '--key', fx.key('root')], { cwd, env: { ...hsm.env, TUFCTL_PKCS11_PIN: PIN } });
  } finally {
    fx.cleanup();
    hsm.cleanup();
  }
});

test('PKCS#11 signing with Ed25519 and RSA-PSS token keys where the token has them', () => {
  const hsm = startSoftHsm();
  const fx = newRepository();
  try {
    hsm.initToken('tufhw', PIN);
    hsm.generateKey('tufhw', PIN, 'ed-hw', '03', 'EC:edwards25519');
    hsm.generateKey('tufhw', PIN, 'rsa-hw', '04', 'rsa:2048');
    const cwd = fx.repo;
    const env = { ...hsm.env, TUFCTL_PKCS11_PIN: PIN };
    const uri = (object: string): string => `pkcs11:token=tufhw;object=${object}?module-path=${hsm.module}`;
    const ed = ok(['key', 'add', 'targets', uri('ed-hw'), '--json'], { cwd, env }).json;
    const rsa = ok(['key', 'add', 'targets', uri('rsa-hw'), '--json'], { cwd, env }).json;
    ok(['threshold', 'targets', '2'], { cwd, env });
    ok(['sign', 'root', 'targets', '--key', fx.key('root'), '--key', uri('ed-hw'), '--key', uri('rsa-hw')], { cwd, env });
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    assert.equal(root.keys[ed.keyId].scheme, 'ed25519');
    assert.equal(root.keys[rsa.keyId].scheme, 'rsassa-pss-sha256');
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    const report = ok(['verify', '--json'], { cwd }).json;
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.client.ok, true);
    assert.ok(statSync(join(cwd, 'metadata', 'targets.json')).size > 0);
  } finally {
    fx.cleanup();
    hsm.cleanup();
  }
});

/**
 * `init` in both modes (generated keys; existing public keys with a
 * threshold), the layout it creates, and `status` reporting who still has
 * to sign.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, tempDir, tufctl } from '../helpers/harness.js';

test('init --generate-keys lays out a signed, verified, committed repository; keys stay outside', () => {
  const fx = newRepository(['--key-type', 'ecdsa-p256']);
  try {
    const cwd = fx.repo;
    for (const f of [
      'metadata/root.json',
      'metadata/root_history/1.root.json',
      'metadata/targets.json',
      'metadata/snapshot.json',
      'metadata/timestamp.json',
      'tufctl.json',
      '.gitignore',
      'README.md',
    ]) {
      assert.ok(existsSync(join(cwd, f)), `${f} exists`);
    }
    for (const name of ['root', 'targets', 'online']) {
      assert.equal(statSync(fx.key(name)).mode & 0o777, 0o600, `${name}.pem is private to its owner`);
      assert.ok(existsSync(join(fx.keys, `${name}.pub.pem`)));
    }
    assert.equal(git(cwd, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'main');
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    const tracked = git(cwd, 'ls-files');
    assert.doesNotMatch(tracked, /\.pem/);
    for (const file of tracked.trim().split('\n')) {
      assert.doesNotMatch(readFileSync(join(cwd, file), 'utf8'), /PRIVATE KEY/, `${file} holds no private key`);
    }
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    assert.equal(root.consistent_snapshot, true);
    assert.equal(root['x-tuf-on-ci-expiry-period'], 365);
    assert.equal(root.roles.timestamp['x-tuf-on-ci-expiry-period'], 2);
    assert.equal(root.roles.timestamp['x-tuf-on-ci-signing-period'], 1);
    assert.equal(root.roles.snapshot['x-tuf-on-ci-signing-period'], 60);
    assert.equal(root.roles.snapshot.keyids[0], root.roles.timestamp.keyids[0], 'one online key for snapshot and timestamp');
    const key = root.keys[root.roles.root.keyids[0]];
    assert.equal(key.scheme, 'ecdsa-sha2-nistp256');
    assert.equal(key['x-tuf-on-ci-keyowner'], '@alice');
    // The metadata file form: sorted keys, 2-space indent, trailing newline.
    const text = readFileSync(join(cwd, 'metadata', 'targets.json'), 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.match(text, /^{\n {2}"signatures"/);
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('init with public keys and a 2-of-2 root waits for signatures; status names the missing owners', () => {
  const dir = tempDir();
  try {
    const k = (n: string): string => join(dir.path, `${n}.pem`);
    for (const n of ['r1', 'r2', 't1', 'on']) ok(['key', 'generate', '--out', k(n)]);
    const pub = (n: string): string => join(dir.path, `${n}.pub.pem`);
    const repo = join(dir.path, 'repo');
    const init = ok(
      [
        'init',
        repo,
        '--root-key',
        pub('r1'),
        pub('r2'),
        '--root-threshold',
        '2',
        '--targets-key',
        pub('t1'),
        '--online-key',
        pub('on'),
        '--key',
        k('r1'),
        '--owner',
        '@carol',
        '--json',
      ],
      {},
    );
    assert.equal(init.json.signed, false);
    const status = ok(['status', '--json'], { cwd: repo }).json;
    const byRole = Object.fromEntries(status.roles.map((r: { role: string }) => [r.role, r]));
    assert.equal(byRole.root.valid, 1);
    assert.equal(byRole.root.threshold, 2);
    assert.deepEqual(byRole.root.missing, ['@carol']);
    assert.equal(byRole.targets.valid, 0);
    const text = ok(['status'], { cwd: repo }).stdout;
    assert.match(text, /root\s+v1 .*signed 1 of 2 ✗ {2}waiting for @carol/);
    assert.equal(tufctl(['verify'], { cwd: repo }).code, 1);
    ok(['sign', 'root', 'targets', '--key', k('r2'), '--key', k('t1')], { cwd: repo });
    ok(['snapshot', '--key', k('on')], { cwd: repo });
    ok(['timestamp', '--key', k('on')], { cwd: repo });
    ok(['verify'], { cwd: repo });
  } finally {
    dir.cleanup();
  }
});

test('export refuses a non-empty directory and writes the consistent-snapshot names', () => {
  const fx = newRepository();
  try {
    const out = join(fx.root, 'out');
    ok(['export', out], { cwd: fx.repo });
    for (const f of ['1.root.json', 'timestamp.json', '1.snapshot.json', '1.targets.json'])
      assert.ok(existsSync(join(out, 'metadata', f)), f);
    assert.deepEqual(
      readFileSync(join(out, 'metadata', '1.targets.json')),
      readFileSync(join(fx.repo, 'metadata', 'targets.json')),
      'exact bytes',
    );
    const again = tufctl(['export', out], { cwd: fx.repo });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /DIRECTORY_NOT_EMPTY/);
  } finally {
    fx.cleanup();
  }
});

test('key generate writes every supported type, and refuses to overwrite', () => {
  const dir = tempDir();
  try {
    for (const type of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-pss']) {
      const r = ok(['key', 'generate', '--type', type, '--out', join(dir.path, `${type}.pem`), '--json']);
      assert.match(r.json.keyId, /^[0-9a-f]{64}$/);
      assert.match(readFileSync(join(dir.path, `${type}.pem`), 'utf8'), /BEGIN PRIVATE KEY/);
      assert.match(readFileSync(join(dir.path, `${type}.pub.pem`), 'utf8'), /BEGIN PUBLIC KEY/);
    }
    const again = tufctl(['key', 'generate', '--out', join(dir.path, 'ed25519.pem')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refusing to overwrite/);
  } finally {
    dir.cleanup();
  }
});

test('P-384 keys sign and verify with SHA-384, and the tuf-js client pass accepts them', () => {
  const fx = newRepository(['--key-type', 'ecdsa-p384']);
  try {
    const r = ok(['verify', '--json'], { cwd: fx.repo });
    assert.equal(r.json.ok, true);
    assert.equal(r.json.client.ran, true);
    assert.equal(r.json.client.ok, true);
    assert.doesNotMatch(r.json.warnings.join('\n'), /nistp384/);
  } finally {
    fx.cleanup();
  }
});

test('rsa-pss keys work end to end with the tuf-js client pass', () => {
  const fx = newRepository(['--key-type', 'rsa-pss']);
  try {
    const r = ok(['verify', '--json'], { cwd: fx.repo });
    assert.equal(r.json.client.ok, true);
  } finally {
    fx.cleanup();
  }
});

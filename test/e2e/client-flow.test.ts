/**
 * The main end-to-end scenario, driven through the built CLI: init, targets
 * at top level, in a delegated role with path patterns and in succinct hashed
 * bins, signing, snapshot/timestamp, verify, export, a real tuf-js client
 * reading the export over HTTP on 127.0.0.1; then a root key rotation and a
 * targets key revocation that the same client follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, serveDirectory, tufctl, writeFile } from '../helpers/harness.js';
import { clientDownloads } from '../helpers/tuf-client.js';

test('init → targets (top-level, delegated, hashed bins) → sign → export → tuf-js client; root rotation; targets key revocation', async () => {
  const fx = newRepository(['--no-policies']);
  const server = { close: async () => {} } as Awaited<ReturnType<typeof serveDirectory>>;
  try {
    const cwd = fx.repo;
    for (const name of ['doi', 'pkgs', 'bins']) ok(['key', 'generate', '--out', join(fx.keys, `${name}.pem`)]);

    // Top-level target.
    writeFile(join(cwd, 'targets', 'settings.yaml'), 'setting: 1\n');
    ok(['target', 'add', 'targets/settings.yaml'], { cwd });

    // Delegated role with path patterns.
    ok(['delegate', 'add', 'doi', '--paths', 'doi/*', 'doi/*/*', '--key', join(fx.keys, 'doi.pub.pem'), '--terminating'], { cwd });
    writeFile(join(cwd, 'targets', 'doi', 'policy.rego'), 'package doi\n');
    writeFile(join(cwd, 'targets', 'doi', 'library', 'data.yaml'), 'allow: true\n');
    const added = ok(['target', 'add', 'targets/doi/policy.rego', 'targets/doi/library/data.yaml', '--json'], { cwd });
    assert.deepEqual(
      added.json.targets.map((t: { role: string }) => t.role),
      ['doi', 'doi'],
    );

    // Succinct hashed bins below a path-delegated role.
    ok(['delegate', 'add', 'pkgs', '--paths', 'pkgs/*', '--key', join(fx.keys, 'pkgs.pub.pem')], { cwd });
    ok(['delegate', 'add', 'pkgbin', '--bins', '8', '--from', 'pkgs', '--key', join(fx.keys, 'bins.pub.pem')], { cwd });
    const pkgFiles = ['pkgs/a.txt', 'pkgs/b.txt', 'pkgs/c.txt', 'pkgs/d.txt'];
    for (const p of pkgFiles) writeFile(join(cwd, 'targets', p), `content of ${p}\n`);
    const binAdd = ok(['target', 'add', ...pkgFiles.map((p) => `targets/${p}`), '--json'], { cwd });
    for (const t of binAdd.json.targets) assert.match(t.role, /^pkgbin-[0-7]$/);

    // Not signed yet: verify names the problem.
    const unsigned = tufctl(['verify'], { cwd });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /signed by 0\/1/);

    const keys = ['targets', 'doi', 'pkgs', 'bins'].flatMap((k) => ['--key', fx.key(k)]);
    ok(['sign', ...keys], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
    const verified = ok(['verify', '--json'], { cwd });
    assert.equal(verified.json.ok, true);
    assert.equal(verified.json.client.ok, true);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');

    // A second snapshot/timestamp without changes does nothing.
    const again = ok(['snapshot', '--key', fx.key('online'), '--json'], { cwd });
    assert.equal(again.json.updated, false);

    // Export and serve; a real client downloads every target.
    const out1 = join(fx.root, 'export1');
    ok(['export', out1], { cwd });
    assert.ok(existsSync(join(out1, 'metadata', '1.root.json')));
    assert.ok(existsSync(join(out1, 'metadata', 'timestamp.json')));
    const exported = await serveDirectory(out1);
    Object.assign(server, exported);
    const cache = join(fx.root, 'client');
    const allTargets = ['settings.yaml', 'doi/policy.rego', 'doi/library/data.yaml', ...pkgFiles];
    await clientDownloads(exported.url, cache, allTargets, join(cwd, 'metadata', 'root_history', '1.root.json'), cwd);
    await exported.close();

    // Root key rotation: root 2 is signed by the old and the new root key.
    ok(['key', 'generate', '--out', join(fx.keys, 'root2.pem')], { cwd });
    const oldRootId = readJson(join(cwd, 'metadata', 'root.json')).signed.roles.root.keyids[0];
    ok(['key', 'add', 'root', join(fx.keys, 'root2.pub.pem'), '--owner', '@bob'], { cwd });
    ok(['key', 'remove', 'root', oldRootId], { cwd });
    const half = ok(['sign', '--key', join(fx.keys, 'root2.pem')], { cwd });
    assert.match(half.stdout, /old root: 0 of 1 ✗ — new root: 1 of 1 ✓/);
    assert.equal(tufctl(['verify'], { cwd }).code, 1);
    const full = ok(['sign', '--key', fx.key('root'), '--commit'], { cwd });
    assert.match(full.stdout, /old root: 1 of 1 ✓ — new root: 1 of 1 ✓/);
    assert.equal(readJson(join(cwd, 'metadata', 'root.json')).signed.version, 2);
    assert.ok(existsSync(join(cwd, 'metadata', 'root_history', '2.root.json')));
    ok(['verify'], { cwd });

    // Targets key revocation: targets now trusts a new key only (root v3), re-signed with it.
    ok(['key', 'generate', '--out', join(fx.keys, 'targets2.pem')], { cwd });
    const oldTargetsId = readJson(join(cwd, 'metadata', 'root.json')).signed.roles.targets.keyids[0];
    ok(['key', 'add', 'targets', join(fx.keys, 'targets2.pub.pem')], { cwd });
    ok(['key', 'remove', 'targets', oldTargetsId], { cwd });
    writeFile(join(cwd, 'targets', 'notice.txt'), 'targets key rotated\n');
    ok(['target', 'add', 'targets/notice.txt'], { cwd });
    ok(['sign', '--key', join(fx.keys, 'root2.pem'), '--key', join(fx.keys, 'targets2.pem')], { cwd });
    const targetsDoc = readJson(join(cwd, 'metadata', 'targets.json'));
    assert.ok(
      targetsDoc.signatures.every((s: { keyid: string }) => s.keyid !== oldTargetsId),
      'revoked key signature is gone',
    );
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
    ok(['verify'], { cwd });
    assert.equal(readJson(join(cwd, 'metadata', 'root.json')).signed.version, 3);

    // The same client (with its cache) follows root 1 → 2 → 3 and still downloads.
    const out2 = join(fx.root, 'export2');
    ok(['export', out2], { cwd });
    const exported2 = await serveDirectory(out2);
    Object.assign(server, exported2);
    await clientDownloads(exported2.url, cache, [...allTargets, 'notice.txt'], join(cwd, 'metadata', 'root_history', '1.root.json'), cwd);
    assert.equal(readJson(join(cache, 'metadata', 'root.json')).signed.version, 3);
    assert.ok(exported2.requests.includes('/metadata/2.root.json') && exported2.requests.includes('/metadata/3.root.json'));
  } finally {
    await server.close();
    fx.cleanup();
  }
});

test('--sign edits, signs and refreshes snapshot and timestamp in one process', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const hex = 'a'.repeat(64);
    const r = ok(
      [
        'target',
        'add-entry',
        'image-digest',
        '--length',
        '42',
        '--sha256',
        hex,
        '--sign',
        '--key',
        fx.key('targets'),
        '--key',
        fx.key('online'),
        '--json',
      ],
      { cwd },
    );
    assert.deepEqual(
      r.json.online.map((o: { role: string; updated: boolean }) => [o.role, o.updated]),
      [
        ['snapshot', true],
        ['timestamp', true],
      ],
    );
    ok(['verify'], { cwd });
    // Editing twice before a commit bumps the version once.
    ok(['target', 'add-entry', 'second', '--length', '1', '--sha256', hex], { cwd });
    assert.equal(readJson(join(cwd, 'metadata', 'targets.json')).signed.version, 2);
  } finally {
    fx.cleanup();
  }
});

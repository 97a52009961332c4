/**
 * Key revocation, online key rotation and fast-forward attack recovery,
 * driven through the built CLI, with real TUF clients (tuf-js's Updater over
 * an HTTP export, and `tufctl client fetch` against a real registry) that
 * trusted the old root following every change with their caches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, serveDirectory, tufctl, writeFile, type Fixture } from '../helpers/harness.js';
import { clientDownloads } from '../helpers/tuf-client.js';
import { startRegistry } from '../helpers/registry.js';
import { Repository } from '../../src/metadata/repository.js';
import { doTimestamp } from '../../src/metadata/snapshot-timestamp.js';
import { signerFromFile } from '../../src/keys/signer.js';
import { readPublicKeyFile } from '../../src/keys/key-files.js';
import { canonicalBytes } from '../../src/metadata/json.js';
import { addKey } from '../../src/edit/role-trust.js';
import { recoverFastForward, rotateOnlineKey } from '../../src/edit/online-key.js';
import { TufctlError } from '../../src/errors.js';

type Server = Awaited<ReturnType<typeof serveDirectory>>;

/** Exports the repository to a new directory and serves it; the previous server is closed. */
async function exportAndServe(fx: Fixture, name: string, current: { server?: Server }): Promise<Server> {
  await current.server?.close();
  const out = join(fx.root, name);
  ok(['export', out], { cwd: fx.repo });
  current.server = await serveDirectory(out);
  return current.server;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function root(cwd: string): any {
  return readJson(join(cwd, 'metadata', 'root.json')).signed;
}

function version(cwd: string, role: string): number {
  return readJson(join(cwd, 'metadata', `${role}.json`)).signed.version as number;
}

function keyIdOfFile(pubPem: string): string {
  return readPublicKeyFile(pubPem).keyId;
}

test('key revoke: a targets key of a 2-of-3 setup no longer counts anywhere; a tuf-js client follows the rotation', async () => {
  const fx = newRepository(['--no-policies']);
  const current: { server?: Server } = {};
  try {
    const cwd = fx.repo;
    ok(['key', 'generate', '--out', join(fx.keys, 'bob.pem')]);
    ok(['key', 'generate', '--out', join(fx.keys, 'carol.pem')]);
    ok(['key', 'add', 'targets', join(fx.keys, 'bob.pub.pem'), '--owner', '@bob'], { cwd });
    ok(['key', 'add', 'targets', join(fx.keys, 'carol.pub.pem'), '--owner', '@carol'], { cwd });
    ok(['threshold', 'targets', '2'], { cwd });
    writeFile(join(cwd, 'targets', 'settings.yaml'), 'setting: 1\n');
    ok(['target', 'add', 'targets/settings.yaml'], { cwd });
    ok(['sign', '--key', fx.key('root'), '--key', fx.key('targets'), '--key', join(fx.keys, 'bob.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
    ok(['verify'], { cwd });
    assert.equal(root(cwd).version, 2);

    // A client starts from root v1 and caches root v2 and targets signed by alice and bob.
    const cache = join(fx.root, 'client');
    const rootV1 = join(cwd, 'metadata', 'root_history', '1.root.json');
    const first = await exportAndServe(fx, 'export1', current);
    await clientDownloads(first.url, cache, ['settings.yaml'], rootV1, cwd);

    // Revoke alice's targets key by a prefix.
    const aliceTargets = keyIdOfFile(join(fx.keys, 'targets.pub.pem'));
    const revoked = ok(['key', 'revoke', aliceTargets.slice(0, 10), '--json'], { cwd }).json;
    assert.equal(revoked.keyId, aliceTargets);
    assert.equal(revoked.owner, '@alice');
    assert.deepEqual(revoked.revokedFrom, [{ role: 'targets', holder: 'root', keysLeft: 2, thresholdBefore: 2, threshold: 2 }]);
    assert.deepEqual(revoked.keyTables, ['root']);
    const byRole = Object.fromEntries(revoked.resign.map((n: { role: string }) => [n.role, n]));
    assert.deepEqual(Object.keys(byRole).sort(), ['root', 'targets']);
    assert.equal(byRole.root.version, 3);
    assert.deepEqual(byRole.root.previous, { threshold: 1, signers: ['@alice'] }, 'root 3 needs root 2 threshold');
    assert.deepEqual([byRole.root.threshold, byRole.root.signers], [1, ['@alice']]);
    assert.equal(byRole.targets.version, 3, 'targets gets a new version: its threshold was met only with the revoked signature');
    assert.deepEqual([byRole.targets.threshold, byRole.targets.signers.sort()], [2, ['@bob', '@carol']]);
    assert.ok(!root(cwd).roles.targets.keyids.includes(aliceTargets));
    assert.ok(!(aliceTargets in root(cwd).keys), 'no role uses it: gone from the key table');
    assert.equal(version(cwd, 'root'), 3);

    // The human output names who must sign what.
    git(cwd, 'reset', '-q', '--hard');
    const text = ok(['key', 'revoke', aliceTargets], { cwd }).stdout;
    assert.match(text, /targets: 2 key\(s\) left, threshold 2/);
    assert.match(text, /root v3: needs old root: 1 of @alice — new root: 1 of @alice/);
    assert.match(text, /targets v3: needs 2 of @bob, @carol \(its signature by revoked key/);
    ok(['sign', 'root', '--key', fx.key('root')], { cwd });

    // The revoked key cannot sign targets, and its signature does not count even if put there by hand.
    const refused = tufctl(['sign', 'targets', '--key', fx.key('targets')], { cwd });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /KEY_NOT_TRUSTED/);
    ok(['sign', 'targets', '--key', join(fx.keys, 'bob.pem')], { cwd });
    const targetsPath = join(cwd, 'metadata', 'targets.json');
    const doc = readJson(targetsPath);
    const forged = await signerFromFile(fx.key('targets')).sign(canonicalBytes(doc.signed));
    doc.signatures.push({ keyid: aliceTargets, sig: forged });
    writeFileSync(targetsPath, JSON.stringify(doc, null, 2) + '\n');
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    const unmet = tufctl(['verify'], { cwd });
    assert.equal(unmet.code, 1);
    assert.match(unmet.stderr, /targets v3 is signed by 1\/2 trusted keys/);
    const status = ok(['status'], { cwd }).stdout;
    assert.match(status, /targets +v3 .*signed 1 of 2 ✗ +waiting for @carol/);

    // carol signs: the threshold is met by bob and carol; the revoked signature is dropped.
    ok(['sign', 'targets', '--key', join(fx.keys, 'carol.pem')], { cwd });
    assert.ok(readJson(targetsPath).signatures.every((s: { keyid: string }) => s.keyid !== aliceTargets));
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
    git(cwd, 'commit', '-qm', 'revoke alice targets key');

    // The same client (same cache) follows root 2 → 3 and still downloads.
    const second = await exportAndServe(fx, 'export2', current);
    await clientDownloads(second.url, cache, ['settings.yaml'], rootV1, cwd);
    assert.equal(readJson(join(cache, 'metadata', 'root.json')).signed.version, 3);
    assert.equal(readJson(join(cache, 'metadata', 'targets.json')).signed.version, 3);
    assert.ok(second.requests.includes('/metadata/3.root.json'));
  } finally {
    await current.server?.close();
    fx.cleanup();
  }
});

test('key revoke removes a key from every role that trusts it: root, path delegations, hashed bins, and their key tables', async () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    for (const name of ['shared', 'doi', 'bins']) ok(['key', 'generate', '--out', join(fx.keys, `${name}.pem`)]);
    const pub = (name: string) => join(fx.keys, `${name}.pub.pem`);
    ok(['key', 'add', 'targets', pub('shared'), '--owner', '@sam'], { cwd });
    ok(['delegate', 'add', 'doi', '--paths', 'doi/*', '--key', pub('shared'), pub('doi')], { cwd });
    ok(['delegate', 'add', 'pkgs', '--paths', 'pkgs/*', '--key', pub('doi')], { cwd });
    ok(['delegate', 'add', 'pkgbin', '--bins', '4', '--from', 'pkgs', '--key', pub('shared'), pub('bins')], { cwd });
    writeFile(join(cwd, 'targets', 'doi', 'a.txt'), 'a\n');
    writeFile(join(cwd, 'targets', 'pkgs', 'b.txt'), 'b\n');
    ok(['target', 'add', 'targets/doi/a.txt', 'targets/pkgs/b.txt'], { cwd });
    // doi and the bins are signed by the shared key only; targets by both of its keys.
    const keys = ['root', 'targets', 'shared', 'doi'].flatMap((k) => ['--key', fx.key(k)]);
    ok(['sign', 'root', 'targets', 'pkgs', '--key', fx.key('root'), '--key', fx.key('targets'), '--key', fx.key('doi')], { cwd });
    ok(['sign', 'targets', 'doi', 'pkgbin-0', 'pkgbin-1', 'pkgbin-2', 'pkgbin-3', '--key', fx.key('shared')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
    git(cwd, 'commit', '-qm', 'delegations');
    const before = Object.fromEntries(['root', 'targets', 'pkgs', 'doi', 'pkgbin-0'].map((r) => [r, version(cwd, r)]));

    const shared = keyIdOfFile(pub('shared'));
    const r = ok(['key', 'revoke', shared, '--json'], { cwd }).json;
    assert.deepEqual(
      r.revokedFrom.map((t: { role: string; holder: string }) => `${t.holder}:${t.role}`),
      ['root:targets', 'targets:doi', 'pkgs:pkgbin-*'],
    );
    assert.deepEqual(r.keyTables, ['root', 'targets', 'pkgs']);
    assert.ok(!(shared in root(cwd).keys));
    for (const holder of ['targets', 'pkgs']) {
      const d = readJson(join(cwd, 'metadata', `${holder}.json`)).signed.delegations;
      assert.ok(!(shared in d.keys), `${holder}'s key table no longer lists it`);
    }
    assert.deepEqual(readJson(join(cwd, 'metadata', 'pkgs.json')).signed.delegations.succinct_roles.keyids, [keyIdOfFile(pub('bins'))]);
    // One bump per changed file; doi and the bins lost their only valid signature: new versions too.
    for (const role of ['root', 'targets', 'pkgs', 'doi', 'pkgbin-0']) assert.equal(version(cwd, role), before[role]! + 1, role);
    const needs = Object.fromEntries(r.resign.map((n: { role: string }) => [n.role, n]));
    assert.deepEqual(Object.keys(needs).sort(), ['doi', 'pkgbin-*', 'pkgs', 'root', 'targets']);
    assert.equal(needs['pkgbin-*'].files, 4);
    assert.deepEqual(needs.targets.signers, ['@alice']);

    // Signing again without the revoked key makes the repository verify.
    ok(['sign', ...keys, '--key', join(fx.keys, 'bins.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
    for (const role of ['targets', 'doi', 'pkgbin-2']) {
      const sigs = readJson(join(cwd, 'metadata', `${role}.json`)).signatures.map((s: { keyid: string }) => s.keyid);
      assert.ok(!sigs.includes(shared), `${role} carries no signature by the revoked key`);
    }
  } finally {
    fx.cleanup();
  }
});

test('key revoke refuses: the last key of a role, a threshold it would break, an unknown key, an ambiguous or short prefix, the online key', () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    const clean = () => assert.equal(git(cwd, 'status', '--porcelain').trim(), '', 'nothing changed');
    const rootKey = keyIdOfFile(join(fx.keys, 'root.pub.pem'));
    const last = tufctl(['key', 'revoke', rootKey, '--lower-threshold'], { cwd });
    assert.equal(last.code, 1);
    assert.match(last.stderr, /THRESHOLD_INVALID.*root would be left with no key/);
    clean();

    const unknown = tufctl(['key', 'revoke', 'deadbeefdeadbeef'], { cwd });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /KEY_UNKNOWN.*no key deadbeefdeadbeef/);
    const short = tufctl(['key', 'revoke', rootKey.slice(0, 6)], { cwd });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /KEY_UNKNOWN.*at least 8 characters/);

    const online = keyIdOfFile(join(fx.keys, 'online.pub.pem'));
    const onlineRefused = tufctl(['key', 'revoke', online], { cwd });
    assert.equal(onlineRefused.code, 2);
    assert.match(onlineRefused.stderr, /online key of snapshot and timestamp.*key rotate-online/);
    clean();

    // targets 2-of-2: revoking one breaks the threshold unless it is lowered.
    ok(['key', 'generate', '--out', join(fx.keys, 'bob.pem')]);
    ok(['key', 'add', 'targets', join(fx.keys, 'bob.pub.pem'), '--owner', '@bob'], { cwd });
    ok(['threshold', 'targets', '2', '--commit'], { cwd });
    const bob = keyIdOfFile(join(fx.keys, 'bob.pub.pem'));
    const broken = tufctl(['key', 'revoke', bob], { cwd });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /THRESHOLD_INVALID.*targets would be left with 1 key\(s\) for a threshold of 2.*--lower-threshold/);
    clean();
    const lowered = ok(['key', 'revoke', bob, '--lower-threshold', '--json'], { cwd }).json;
    assert.deepEqual(lowered.revokedFrom, [{ role: 'targets', holder: 'root', keysLeft: 1, thresholdBefore: 2, threshold: 1 }]);
    assert.equal(root(cwd).roles.targets.threshold, 1);
    git(cwd, 'reset', '-q', '--hard');

    // An ambiguous prefix: a second key whose id shares the first 12 characters (written by hand).
    const targetsKey = keyIdOfFile(join(fx.keys, 'targets.pub.pem'));
    const path = join(cwd, 'metadata', 'root.json');
    const doc = readJson(path);
    const twin = targetsKey.slice(0, 12) + (targetsKey[12] === '0' ? '1' : '0') + targetsKey.slice(13);
    doc.signed.keys[twin] = doc.signed.keys[bob];
    writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
    const ambiguous = tufctl(['key', 'revoke', targetsKey.slice(0, 12)], { cwd });
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /KEY_UNKNOWN.*ambiguous/);
  } finally {
    fx.cleanup();
  }
});

test('key rotate-online: new root, snapshot and timestamp re-signed by the new key; a client with the old timestamp cached follows', async () => {
  const fx = newRepository(['--no-policies']);
  const current: { server?: Server } = {};
  try {
    const cwd = fx.repo;
    writeFile(join(cwd, 'targets', 'settings.yaml'), 'setting: 1\n');
    ok(['target', 'add', 'targets/settings.yaml', '--sign', '--key', fx.key('targets'), '--key', fx.key('online'), '--commit'], { cwd });
    const cache = join(fx.root, 'client');
    const rootV1 = join(cwd, 'metadata', 'root_history', '1.root.json');
    const first = await exportAndServe(fx, 'export1', current);
    await clientDownloads(first.url, cache, ['settings.yaml'], rootV1, cwd);
    const cachedTimestamp = readJson(join(cache, 'metadata', 'timestamp.json')).signed.version;
    const before = { snapshot: version(cwd, 'snapshot'), timestamp: version(cwd, 'timestamp') };

    ok(['key', 'generate', '--out', join(fx.keys, 'online2.pem')]);
    const oldOnline = keyIdOfFile(join(fx.keys, 'online.pub.pem'));
    const newOnline = keyIdOfFile(join(fx.keys, 'online2.pub.pem'));
    // Refused: the current online key, or a key another top-level role trusts.
    const same = tufctl(['key', 'rotate-online', '--new-key', join(fx.keys, 'online.pub.pem')], { cwd });
    assert.match(same.stderr, /KEY_INVALID.*already an online key/);
    const rootKey = tufctl(['key', 'rotate-online', '--new-key', join(fx.keys, 'root.pub.pem')], { cwd });
    assert.match(rootKey.stderr, /KEY_INVALID.*trusted for root/);

    // Without signing keys: root changes and the output says who must sign.
    const plan = ok(['key', 'rotate-online', '--new-key', join(fx.keys, 'online2.pub.pem'), '--online-uri', 'awskms:online2'], { cwd });
    assert.match(plan.stdout, /root v2: needs old root: 1 of @alice — new root: 1 of @alice/);
    assert.match(plan.stdout, new RegExp(`snapshot v${before.snapshot}: needs 1 of ${newOnline.slice(0, 12)}`));
    assert.equal(tufctl(['verify'], { cwd }).code, 1, 'old snapshot/timestamp signatures are worthless under the new root');
    git(cwd, 'reset', '-q', '--hard');

    const r = ok(
      [
        'key',
        'rotate-online',
        '--new-key',
        join(fx.keys, 'online2.pub.pem'),
        '--online-uri',
        'awskms:online2',
        '--sign',
        '--key',
        fx.key('root'),
        '--key',
        join(fx.keys, 'online2.pem'),
        '--commit',
        '--json',
      ],
      { cwd },
    ).json;
    assert.equal(r.rootVersion, 2);
    assert.deepEqual(r.previous, [oldOnline]);
    assert.deepEqual(r.removed, [oldOnline]);
    assert.deepEqual(
      r.online.map((o: { role: string; version: number; signedWith: string[] }) => [o.role, o.version, o.signedWith]),
      [
        ['snapshot', before.snapshot + 1, [newOnline]],
        ['timestamp', before.timestamp + 1, [newOnline]],
      ],
    );
    const signed = root(cwd);
    assert.deepEqual(signed.roles.snapshot.keyids, [newOnline]);
    assert.deepEqual(signed.roles.timestamp.keyids, [newOnline]);
    assert.equal(signed.keys[newOnline]['x-tuf-on-ci-online-uri'], 'awskms:online2');
    assert.ok(!(oldOnline in signed.keys));
    ok(['verify'], { cwd });
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');

    // The old online key can no longer make a timestamp.
    const stale = tufctl(['timestamp', '--force', '--key', fx.key('online')], { cwd });
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /KEY_NOT_TRUSTED/);

    // The client that cached the old timestamp updates through root 2.
    const second = await exportAndServe(fx, 'export2', current);
    await clientDownloads(second.url, cache, ['settings.yaml'], rootV1, cwd);
    const cached = readJson(join(cache, 'metadata', 'timestamp.json'));
    assert.equal(readJson(join(cache, 'metadata', 'root.json')).signed.version, 2);
    assert.ok(cached.signed.version > cachedTimestamp);
    assert.deepEqual(
      cached.signatures.map((s: { keyid: string }) => s.keyid),
      [newOnline],
    );
  } finally {
    await current.server?.close();
    fx.cleanup();
  }
});

test('the editor allows snapshot/timestamp below the base version only when root rotates their keys in the same change', async () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd });
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd });
    assert.equal(version(cwd, 'timestamp'), 3);
    const lower = (repo: Repository) =>
      repo.edit('timestamp', 'lower', (s) => {
        s.version = 1;
      });

    // No rotation: refused.
    const plain = Repository.open(cwd);
    lower(plain);
    assert.throws(
      () => plain.finalize(),
      (e: TufctlError) => e.code === 'VERSION_ROLLBACK',
    );

    // A key added next to the old one is no rotation: clients could still verify their cached timestamp.
    ok(['key', 'generate', '--out', join(fx.keys, 'online2.pem')]);
    const { key } = readPublicKeyFile(join(fx.keys, 'online2.pub.pem'));
    const partial = Repository.open(cwd);
    addKey(partial, 'timestamp', key);
    lower(partial);
    assert.throws(
      () => partial.finalize(),
      (e: TufctlError) => e.code === 'VERSION_ROLLBACK',
    );

    // Rotated in the same change: the lower version stands, and is not bumped by later edits in the change.
    const rotated = Repository.open(cwd);
    rotateOnlineKey(rotated, key);
    lower(rotated);
    rotated.finalize();
    assert.equal(rotated.version('timestamp'), 1);
    rotated.save();
    const again = Repository.open(cwd);
    assert.doesNotThrow(() => again.checkUnversionedEdits(['timestamp']), 'a later process accepts the reset');
    assert.equal(again.version('timestamp'), 1);

    // Once the rotation is committed, going down again is refused.
    await doTimestamp(again, [signerFromFile(join(fx.keys, 'online2.pem'))], { force: true });
    again.save();
    assert.equal(version(cwd, 'timestamp'), 1);
    git(cwd, 'commit', '-qam', 'rotated');
    ok(['timestamp', '--force', '--key', join(fx.keys, 'online2.pem'), '--commit'], { cwd });
    assert.equal(version(cwd, 'timestamp'), 2);
    const later = Repository.open(cwd);
    lower(later);
    assert.throws(
      () => later.finalize(),
      (e: TufctlError) => e.code === 'VERSION_ROLLBACK',
    );

    // recoverFastForward where the base already has version 1: snapshot stays at 1 (unchanged until
    // re-signed), timestamp's new content gets the usual bump to 2.
    const young = newRepository(['--no-policies']);
    try {
      ok(['key', 'generate', '--out', join(young.keys, 'online2.pem')]);
      const k2 = readPublicKeyFile(join(young.keys, 'online2.pub.pem'));
      const repo = Repository.open(young.repo);
      const result = recoverFastForward(repo, k2.key);
      assert.deepEqual(result.reset, { snapshot: { from: 1, to: 1 }, timestamp: { from: 1, to: 2 } });
      assert.deepEqual(repo.signed('timestamp').meta, { 'snapshot.json': { version: 1 } });
    } finally {
      young.cleanup();
    }
  } finally {
    fx.cleanup();
  }
});

test('fast-forward recovery: timestamp and snapshot pushed to the largest version (2^53 - 1) and published; recover resets them to 1; publish accepts it; the same client updates', async () => {
  const reg = await startRegistry();
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    const dest = `oci://${reg.host}/acme`;
    const rootV1 = join(cwd, 'metadata', 'root_history', '1.root.json');
    const cache = join(fx.root, 'cache');
    const fetch = () =>
      ok([
        'client',
        'fetch',
        'version-constraints',
        '--from',
        dest,
        '--root',
        rootV1,
        '--cache',
        cache,
        '--out',
        join(fx.root, 'vc'),
        '--json',
      ]);
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd });
    ok(['publish', '--to', dest], { cwd });
    fetch();
    const goodCommit = git(cwd, 'rev-parse', 'HEAD').trim();

    // The attack: whoever holds the online key pushes snapshot and timestamp as high as versions go
    // (2^53 - 1: tufctl refuses larger ones, and no later bump is possible).
    const HUGE = Number.MAX_SAFE_INTEGER;
    const online = signerFromFile(fx.key('online'));
    const attacked = Repository.open(cwd);
    attacked.edit('snapshot', 'attack', (s) => {
      s.version = HUGE;
    });
    await attacked.sign('snapshot', [online]);
    attacked.edit('timestamp', 'attack', (s) => {
      s.version = HUGE;
    });
    await doTimestamp(attacked, [online]);
    attacked.save();
    git(cwd, 'commit', '-qm', 'attack');
    ok(['verify'], { cwd });
    ok(['publish', '--to', dest], { cwd });
    fetch();
    assert.equal(readJson(join(cache, 'metadata', 'timestamp.json')).signed.version, HUGE, 'the client cached the forged timestamp');
    // From now on the client refuses anything lower, and the registry refuses lower versions without a key rotation.
    const oldCheckout = join(fx.root, 'old');
    git(fx.root, 'clone', '-q', cwd, oldCheckout);
    git(oldCheckout, 'checkout', '-q', goodCommit);
    const rollback = tufctl(['publish', '--to', dest], { cwd: oldCheckout });
    assert.equal(rollback.code, 1);
    assert.match(rollback.stderr, /VERSION_ROLLBACK.*timestamp/);

    // recover needs the new key.
    const noKey = tufctl(['recover', '--fast-forward'], { cwd });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /USAGE.*--new-key/);
    const noMode = tufctl(['recover', '--new-key', fx.key('online').replace('.pem', '.pub.pem')], { cwd });
    assert.equal(noMode.code, 2);
    assert.match(noMode.stderr, /--fast-forward/);

    ok(['key', 'generate', '--out', join(fx.keys, 'online2.pem')]);
    const newOnline = keyIdOfFile(join(fx.keys, 'online2.pub.pem'));
    const r = ok(
      [
        'recover',
        '--fast-forward',
        '--new-key',
        join(fx.keys, 'online2.pub.pem'),
        '--sign',
        '--key',
        fx.key('root'),
        '--key',
        join(fx.keys, 'online2.pem'),
        '--commit',
        '--json',
      ],
      { cwd },
    ).json;
    assert.deepEqual(r.reset, { snapshot: { from: HUGE, to: 1 }, timestamp: { from: HUGE, to: 1 } });
    assert.deepEqual(
      r.online.map((o: { role: string; version: number }) => [o.role, o.version]),
      [
        ['snapshot', 1],
        ['timestamp', 1],
      ],
    );
    assert.equal(r.rootVersion, 2);
    assert.deepEqual(root(cwd).roles.timestamp.keyids, [newOnline]);
    assert.deepEqual([version(cwd, 'snapshot'), version(cwd, 'timestamp')], [1, 1]);
    assert.equal(readJson(join(cwd, 'metadata', 'timestamp.json')).signed.meta['snapshot.json'].version, 1);
    ok(['verify'], { cwd });
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');

    // publish accepts the lower versions: the published root's online key is not trusted by ours.
    const published = ok(['publish', '--to', dest, '--json'], { cwd }).json;
    assert.equal(published.changed, true);
    assert.deepEqual([published.versions.root, published.versions.snapshot, published.versions.timestamp], [2, 1, 1]);

    // The same client, same cache: root 2, then its cached timestamp/snapshot no longer verify and are replaced by v1.
    fetch();
    assert.equal(readJson(join(cache, 'metadata', 'root.json')).signed.version, 2);
    assert.equal(readJson(join(cache, 'metadata', 'timestamp.json')).signed.version, 1);
    assert.equal(readJson(join(cache, 'metadata', 'snapshot.json')).signed.version, 1);

    // Normal operation continues from 1; a fresh client starting from root v1 gets there too.
    ok(['timestamp', '--force', '--key', join(fx.keys, 'online2.pem'), '--commit'], { cwd });
    ok(['publish', '--to', dest], { cwd });
    fetch();
    assert.equal(readJson(join(cache, 'metadata', 'timestamp.json')).signed.version, 2);
    const fresh = join(fx.root, 'fresh');
    ok(['client', 'fetch', 'version-constraints', '--from', dest, '--root', rootV1, '--cache', fresh, '--out', join(fx.root, 'vc2')]);
  } finally {
    fx.cleanup();
    await reg.stop();
  }
});

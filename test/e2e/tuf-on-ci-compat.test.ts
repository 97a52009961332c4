/**
 * tuf-on-ci compatibility: a repository written at test time in tuf-on-ci's
 * exact format (never by tufctl; see test/helpers/tuf-on-ci-fixture.ts) is
 * taken over by the built CLI: verified, shown, edited in its delegated role,
 * signed, snapshotted and timestamped with the online key, exported and
 * read by a real tuf-js client; and its root is changed and re-signed by the
 * old and the new root threshold. tuf-on-ci's custom fields must survive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { git, ok, readJson, serveDirectory, tufctl } from '../helpers/harness.js';
import { buildTufOnCiRepository, DOI_PATHS, ONLINE_URI, type Json } from '../helpers/tuf-on-ci-fixture.js';

const DAY_MS = 86_400_000;

/** A copy of `value` without the named top-level fields. */
function without(value: Json, ...fields: string[]): Json {
  const copy = structuredClone(value);
  for (const field of fields) delete copy[field];
  return copy;
}

function readMetadata(repo: string, role: string): Json {
  return readJson(join(repo, 'metadata', `${role}.json`));
}

/** Days from now to an expiry string (fractional). */
function daysUntil(expires: string): number {
  return (new Date(expires).getTime() - Date.now()) / DAY_MS;
}

/** A tuf-js client trusting `trustedRoot`, reading `base`; returns the downloaded bytes per target path. */
async function clientDownload(base: string, cacheDir: string, trustedRoot: Buffer, paths: string[]): Promise<Map<string, Buffer>> {
  const metadataDir = join(cacheDir, 'metadata');
  const targetDir = join(cacheDir, 'targets');
  if (!existsSync(metadataDir)) {
    mkdirSync(metadataDir, { recursive: true });
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(join(metadataDir, 'root.json'), trustedRoot);
  }
  const updater = new Updater({ metadataDir, targetDir, metadataBaseUrl: `${base}/metadata`, targetBaseUrl: `${base}/targets` });
  await updater.refresh();
  const out = new Map<string, Buffer>();
  for (const path of paths) {
    const info = await updater.getTargetInfo(path);
    assert.ok(info, `the client finds ${path}`);
    const file = join(targetDir, path.replaceAll('/', '_'));
    await updater.downloadTarget(info, file);
    out.set(path, readFileSync(file));
  }
  return out;
}

test('a tuf-on-ci repository: verify, status, edit the delegated role, sign, snapshot/timestamp, export to a tuf-js client', async () => {
  const fx = buildTufOnCiRepository();
  const cwd = fx.repo;
  const { alice, bob, carol, online } = fx.keys;
  let server: Awaited<ReturnType<typeof serveDirectory>> | undefined;
  try {
    const before: Record<string, Json> = {};
    const bytesBefore: Record<string, Buffer> = {};
    for (const role of ['root', 'targets', 'doi', 'snapshot', 'timestamp']) {
      before[role] = readMetadata(cwd, role);
      bytesBefore[role] = readFileSync(join(cwd, 'metadata', `${role}.json`));
    }

    // tufctl accepts the repository as tuf-on-ci wrote it (placeholder "sig": "" included).
    const verified = ok(['verify', '--json'], { cwd });
    assert.equal(verified.json.ok, true, JSON.stringify(verified.json.problems));
    assert.equal(verified.json.client.ok, true, 'the tuf-js client check accepts it');
    assert.deepEqual(Object.fromEntries(verified.json.roles.map((r: Json) => [r.role, [r.version, r.signatures]])), {
      root: [1, '2/2'],
      timestamp: [5, '1/1'],
      snapshot: [4, '1/1'],
      targets: [2, '1/1'],
      doi: [3, '1/1'],
    });
    assert.equal(verified.json.targets.withFiles, 3);

    // status reads tuf-on-ci's periods: doi's own 180/30 days, timestamp's from root.
    const status = ok(['status', '--json'], { cwd }).json;
    assert.equal(status.ok, true);
    const doiStatus = status.roles.find((r: Json) => r.role === 'doi');
    assert.equal(
      doiStatus.signingPeriodStarts,
      new Date(new Date(before.doi.signed.expires).getTime() - 30 * DAY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    );
    assert.match(ok(['status'], { cwd }).stdout, /^doi +v3 .*signed 1 of 1 ✓/m);

    // A new target under doi/ goes to doi; the version goes up by exactly one.
    mkdirSync(join(cwd, 'targets', 'doi'), { recursive: true });
    writeFileSync(join(cwd, 'targets', 'doi', 'new.rego'), 'package doi.new\n');
    const added = ok(['target', 'add', 'targets/doi/new.rego', '--json'], { cwd });
    assert.deepEqual(
      added.json.targets.map((t: Json) => [t.path, t.role]),
      [['doi/new.rego', 'doi']],
    );
    assert.equal(readMetadata(cwd, 'doi').signed.version, 4);
    const pending = ok(['status'], { cwd }).stdout;
    assert.match(pending, /^doi +v4 .*signed 0 of 1 ✗ +waiting for @carol/m, 'status names the owner who has to sign');
    assert.doesNotMatch(pending, /@alice|@bob/, 'nothing else waits for a signature');

    // A second edit before committing does not bump again.
    const newContent = 'package doi.new\n\nallow := input.signed\n';
    writeFileSync(join(cwd, 'targets', 'doi', 'new.rego'), newContent);
    ok(['target', 'add', 'targets/doi/new.rego'], { cwd });
    assert.equal(readMetadata(cwd, 'doi').signed.version, 4, 'still v4 after a second edit of the same signing event');

    // Sign with the doi key; a key doi does not trust is refused.
    const wrong = tufctl(['sign', '--key', alice.privatePath], { cwd });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /KEY_NOT_TRUSTED/);
    const signed = ok(['sign', '--key', carol.privatePath], { cwd });
    assert.match(signed.stdout, /doi v4: signed 1 of 1 ✓/);
    const snapshot = ok(['snapshot', '--key', online.privatePath, '--json'], { cwd }).json;
    assert.equal(snapshot.updated, true);
    assert.equal(snapshot.version, 5);
    const timestamp = ok(['timestamp', '--key', online.privatePath, '--json'], { cwd }).json;
    assert.equal(timestamp.version, 6);
    const after = ok(['verify', '--json'], { cwd });
    assert.equal(after.json.ok, true, JSON.stringify(after.json.problems));
    assert.equal(after.json.client.ok, true);

    // Untouched roles keep their exact bytes; changed ones keep every tuf-on-ci field.
    assert.deepEqual(readFileSync(join(cwd, 'metadata', 'root.json')), bytesBefore.root, 'root.json untouched');
    assert.deepEqual(readFileSync(join(cwd, 'metadata', 'targets.json')), bytesBefore.targets, 'targets.json untouched');
    const doi = readMetadata(cwd, 'doi');
    assert.deepEqual(without(doi.signed, 'version', 'expires', 'targets'), without(before.doi.signed, 'version', 'expires', 'targets'));
    assert.equal(doi.signed['x-tuf-on-ci-expiry-period'], 180);
    assert.equal(doi.signed['x-tuf-on-ci-signing-period'], 30);
    assert.ok(Math.abs(daysUntil(doi.signed.expires) - 180) < 0.01, `doi expires 180 days out (its own period), got ${doi.signed.expires}`);
    assert.deepEqual(doi.signed.targets['doi/base.rego'], before.doi.signed.targets['doi/base.rego']);
    assert.deepEqual(doi.signed.targets['doi/new.rego'].length, Buffer.byteLength(newContent));
    assert.deepEqual(
      doi.signatures.map((s: Json) => s.keyid),
      [carol.id],
    );
    const snap = readMetadata(cwd, 'snapshot');
    assert.deepEqual(without(snap.signed, 'version', 'expires', 'meta'), without(before.snapshot.signed, 'version', 'expires', 'meta'));
    assert.deepEqual(
      snap.signed.meta,
      { 'doi.json': { version: 4 }, 'targets.json': { version: 2 } },
      'versions only, as tuf-on-ci lists them',
    );
    assert.ok(Math.abs(daysUntil(snap.signed.expires) - 365) < 0.01, 'snapshot period from root.signed.roles.snapshot');
    const ts = readMetadata(cwd, 'timestamp');
    assert.deepEqual(without(ts.signed, 'version', 'expires', 'meta'), without(before.timestamp.signed, 'version', 'expires', 'meta'));
    assert.equal(ts.signed.meta['snapshot.json'].version, 5);
    assert.ok(Math.abs(daysUntil(ts.signed.expires) - 2) < 0.01, 'timestamp period from root.signed.roles.timestamp');
    for (const envelope of [snap, ts])
      assert.deepEqual(
        envelope.signatures.map((s: Json) => s.keyid),
        [online.id],
      );
    // The trust in root is what tuf-on-ci wrote: owners, the online URI, the periods.
    const root = readMetadata(cwd, 'root').signed;
    assert.equal(root.keys[online.id]['x-tuf-on-ci-online-uri'], ONLINE_URI);
    assert.equal(root.keys[alice.id]['x-tuf-on-ci-keyowner'], '@alice');
    assert.equal(root.keys[bob.id]['x-tuf-on-ci-keyowner'], '@bob');
    assert.deepEqual(readMetadata(cwd, 'targets').signed.delegations.roles[0].paths, DOI_PATHS);

    // Commit, export, serve: a tuf-js client trusting tuf-on-ci's 1.root.json downloads the new target.
    git(cwd, 'commit', '--quiet', '-m', 'Add doi/new.rego');
    const out = join(fx.root, 'export');
    ok(['export', out], { cwd });
    assert.ok(existsSync(join(out, 'metadata', '4.doi.json')));
    assert.ok(existsSync(join(out, 'metadata', '2.targets.json')));
    server = await serveDirectory(out);
    const got = await clientDownload(
      server.url,
      join(fx.root, 'client'),
      readFileSync(join(cwd, 'metadata', 'root_history', '1.root.json')),
      ['doi/new.rego', 'doi/lib/data.yaml', 'README.md'],
    );
    assert.equal(got.get('doi/new.rego')!.toString(), newContent);
    assert.equal(got.get('doi/lib/data.yaml')!.toString(), fx.targets['doi/lib/data.yaml']);
    assert.ok(server.requests.includes('/metadata/4.doi.json'), 'the client fetched doi v4 by its consistent-snapshot name');
  } finally {
    await server?.close();
    fx.cleanup();
  }
});

test('a tuf-on-ci root change: root v2 needs the old and the new root threshold; root_history/2.root.json; the client follows', async () => {
  const fx = buildTufOnCiRepository();
  const cwd = fx.repo;
  const { alice, bob, online } = fx.keys;
  const servers: Array<Awaited<ReturnType<typeof serveDirectory>>> = [];
  try {
    const rootV1 = readMetadata(cwd, 'root');
    const trustedRoot = readFileSync(join(cwd, 'metadata', 'root_history', '1.root.json'));
    const cache = join(fx.root, 'client');
    const out1 = join(fx.root, 'export1');
    ok(['export', out1], { cwd });
    servers.push(await serveDirectory(out1));
    await clientDownload(servers[0]!.url, cache, trustedRoot, ['doi/base.rego']);

    const changed = ok(['expiry', 'root', '--period', '200', '--signing-period', '50'], { cwd });
    assert.match(changed.stdout, /root: expiry period 200 days, signing period 50 days/);
    assert.equal(readMetadata(cwd, 'root').signed.version, 2);
    assert.ok(existsSync(join(cwd, 'metadata', 'root_history', '2.root.json')));
    assert.match(ok(['status'], { cwd }).stdout, /^root +v2 .*old root: 0 of 2 ✗ — new root: 0 of 2 ✗ +waiting for @alice, @bob/m);
    const unsigned = tufctl(['verify'], { cwd });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /root v2 is signed by 0\/2 of its own root keys/);
    assert.match(unsigned.stderr, /root v2 is signed by 0\/2 keys of root v1/);

    const half = ok(['sign', '--key', alice.privatePath], { cwd });
    assert.match(half.stdout, /root v2: old root: 1 of 2 ✗ — new root: 1 of 2 ✗ .*waiting for @bob/);
    assert.doesNotMatch(half.stdout, /targets/, 'only the changed role is signed');
    assert.match(ok(['status'], { cwd }).stdout, /old root: 1 of 2 ✗ — new root: 1 of 2 ✗ +waiting for @bob/);
    const stillShort = tufctl(['verify'], { cwd });
    assert.equal(stillShort.code, 1);
    assert.match(stillShort.stderr, /root v2 is signed by 1\/2/);

    const full = ok(['sign', '--key', bob.privatePath], { cwd });
    assert.match(full.stdout, /root v2: old root: 2 of 2 ✓ — new root: 2 of 2 ✓/);
    assert.match(ok(['status'], { cwd }).stdout, /^root +v2 .*old root: 2 of 2 ✓ — new root: 2 of 2 ✓/m);
    const verified = ok(['verify', '--json'], { cwd });
    assert.equal(verified.json.ok, true, JSON.stringify(verified.json.problems));
    assert.equal(verified.json.client.rootVersion, 2);

    // root_history keeps both versions; v1 is tuf-on-ci's bytes, v2 equals root.json.
    assert.deepEqual(readFileSync(join(cwd, 'metadata', 'root_history', '1.root.json')), trustedRoot);
    assert.deepEqual(readMetadata(cwd, 'root_history/2.root'), readMetadata(cwd, 'root'));
    // Everything but version, expiry and the two periods is as tuf-on-ci wrote it.
    const rootV2 = readMetadata(cwd, 'root');
    const fields = ['version', 'expires', 'x-tuf-on-ci-expiry-period', 'x-tuf-on-ci-signing-period'];
    assert.deepEqual(without(rootV2.signed, ...fields), without(rootV1.signed, ...fields));
    assert.equal(rootV2.signed['x-tuf-on-ci-expiry-period'], 200);
    assert.equal(rootV2.signed['x-tuf-on-ci-signing-period'], 50);
    assert.ok(Math.abs(daysUntil(rootV2.signed.expires) - 200) < 0.01, `root expires 200 days out, got ${rootV2.signed.expires}`);
    assert.deepEqual(rootV2.signed.roles.timestamp, rootV1.signed.roles.timestamp, 'online role periods untouched');
    assert.equal(rootV2.signed.keys[online.id]['x-tuf-on-ci-online-uri'], ONLINE_URI);
    assert.deepEqual(rootV2.signatures.map((s: Json) => s.keyid).sort(), [alice.id, bob.id].sort());

    // The same client (holding root v1) updates to root v2 from a new export.
    git(cwd, 'commit', '--quiet', '-m', 'root: expiry period 200 days');
    const out2 = join(fx.root, 'export2');
    ok(['export', out2], { cwd });
    assert.ok(existsSync(join(out2, 'metadata', '2.root.json')));
    servers.push(await serveDirectory(out2));
    await clientDownload(servers[1]!.url, cache, trustedRoot, ['doi/lib/data.yaml']);
    assert.equal(readJson(join(cache, 'metadata', 'root.json')).signed.version, 2, 'the client now trusts root v2');
  } finally {
    for (const server of servers) await server.close();
    fx.cleanup();
  }
});

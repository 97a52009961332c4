/**
 * A registry whose content was changed behind publish's back, on a real
 * registry (CNCF Distribution): what the signed metadata does not vouch for
 * is reported as tampering (REGISTRY_TAMPERED) with the registry left
 * untouched — never as a rollback — and `publish --repair` rewrites exactly
 * those tags, after printing the plan, so that a TUF client (tufctl client,
 * tuf-js) verifies and downloads the right bytes again. A validly signed
 * newer version stays a VERSION_ROLLBACK, with or without --repair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, tufctl, type Fixture, writeFile } from '../helpers/harness.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { openOciTarget } from '../../src/oci/destination.js';
import type { OciRepository } from '../../src/oci/store.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');
const digest = (bytes: Buffer | string): string => `sha256:${sha256(bytes)}`;

/** Every tag of both repositories with the digest it points to, read from the registry. */
async function registryTags(reg: TestRegistry): Promise<Record<string, string>> {
  const tags: Record<string, string> = {};
  for (const repo of ['tuf-metadata', 'tuf-targets']) {
    const list = await fetch(`${reg.url}/v2/acme/${repo}/tags/list`);
    if (list.status === 404) continue;
    for (const tag of ((await list.json()) as { tags: string[] | null }).tags ?? []) {
      const head = await fetch(`${reg.url}/v2/acme/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: ACCEPT } });
      tags[`${repo}:${tag}`] = head.headers.get('docker-content-digest') ?? '?';
    }
  }
  return tags;
}

/** A repository with a top-level target and a delegated role with two files, signed and committed. */
function populated(): Fixture {
  const fx = newRepository(['--no-policies']);
  const cwd = fx.repo;
  ok(['key', 'generate', '--out', join(fx.keys, 'doi.pem')]);
  writeFile(join(cwd, 'targets', 'settings.yaml'), 'setting: 1\n');
  ok(['delegate', 'add', 'doi', '--paths', 'doi/*', 'doi/*/*', '--key', join(fx.keys, 'doi.pub.pem'), '--terminating'], { cwd });
  writeFile(join(cwd, 'targets', 'doi', 'policy.rego'), 'package doi\n');
  writeFile(join(cwd, 'targets', 'doi', 'library', 'data.yaml'), 'allow: true\n');
  ok(['target', 'add', 'targets/settings.yaml', 'targets/doi/policy.rego', 'targets/doi/library/data.yaml'], { cwd });
  ok(['sign', '--key', fx.key('targets'), '--key', join(fx.keys, 'doi.pem')], { cwd });
  ok(['snapshot', '--key', fx.key('online')], { cwd });
  ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
  return fx;
}

/** Points `tag` at an image manifest holding `files` (name -> bytes), uploading the blobs. */
async function forgeTag(
  repo: OciRepository,
  tag: string,
  files: Array<{ name: string; bytes: Buffer; mediaType?: string }>,
): Promise<string> {
  await repo.putBlob('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', Buffer.from('{}'));
  for (const f of files) await repo.putBlob(digest(f.bytes), f.bytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      },
      layers: files.map((f) => ({
        mediaType: f.mediaType ?? 'application/vnd.tuf.metadata+json',
        digest: digest(f.bytes),
        size: f.bytes.length,
        annotations: { 'tuf.io/filename': f.name },
      })),
    }),
  );
  return repo.putManifest(tag, manifest, MANIFEST);
}

/** Replaces (or adds) files of the `latest` manifest, keeping the others. */
async function forgeLatest(meta: OciRepository, replace: Record<string, Buffer>): Promise<void> {
  const latest = (await meta.getManifest('latest'))!;
  const manifest = JSON.parse(latest.bytes.toString('utf8')) as {
    layers: Array<{ digest: string; size: number; annotations: Record<string, string> }>;
  };
  const files: Array<{ name: string; bytes: Buffer }> = [];
  for (const layer of manifest.layers) {
    const name = layer.annotations['tuf.io/filename']!;
    files.push({ name, bytes: replace[name] ?? (await meta.getBlob(layer.digest)) });
  }
  for (const [name, bytes] of Object.entries(replace)) if (!files.some((f) => f.name === name)) files.push({ name, bytes });
  await forgeTag(meta, 'latest', files);
}

function client(fx: Fixture, dest: string, cache: string, target?: string): ReturnType<typeof tufctl> {
  const root = join(fx.repo, 'metadata', 'root_history', '1.root.json');
  const common = ['--from', dest, '--root', root, '--cache', join(fx.root, cache)];
  return target
    ? tufctl(['client', 'fetch', target, ...common, '--out', join(fx.root, 'out', cache, target.replaceAll('/', '_'))])
    : tufctl(['client', 'verify', ...common]);
}

function fetched(fx: Fixture, cache: string, target: string): string {
  return readFileSync(join(fx.root, 'out', cache, target.replaceAll('/', '_')), 'utf8');
}

test('an unsigned timestamp v99 (and an unsigned root v2) in latest: REGISTRY_TAMPERED, registry untouched; publish --repair fixes it; signed newer versions stay rollbacks', async () => {
  const reg = await startRegistry();
  const fx = populated();
  try {
    const cwd = fx.repo;
    const dest = `oci://${reg.host}/acme`;
    ok(['publish', '--to', dest], { cwd });
    const published = await registryTags(reg);
    const meta = openOciTarget(dest).repository('tuf-metadata');

    // Someone with push access serves a timestamp v99 nobody signed.
    const ours = readJson(join(cwd, 'metadata', 'timestamp.json'));
    await forgeLatest(meta, { 'timestamp.json': Buffer.from(JSON.stringify({ signed: { ...ours.signed, version: 99 }, signatures: [] })) });
    const forged = await registryTags(reg);
    assert.notEqual(forged['tuf-metadata:latest'], published['tuf-metadata:latest']);
    assert.equal(client(fx, dest, 'c-forged').code, 1, 'clients refuse the forged timestamp');

    const refused = tufctl(['publish', '--to', dest], { cwd });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^tufctl: error \[REGISTRY_TAMPERED\]: oci:\/\/.* serves a file or tag that the signed metadata does not vouch for .*nothing was written.*tufctl publish --repair/m,
    );
    assert.match(
      refused.stderr,
      /acme\/tuf-metadata:latest: timestamp\.json \(v99\) is not signed by the timestamp key\(s\) of root v1 \(0\/1 valid signatures\)/,
    );
    assert.doesNotMatch(refused.stderr, /VERSION_ROLLBACK|already serves/);
    assert.deepEqual(await registryTags(reg), forged, 'nothing was written');

    // The plan first: a dry run shows which tag moves and why, and writes nothing.
    const dry = ok(['publish', '--to', dest, '--repair', '--dry-run', '--json'], { cwd }).json;
    assert.equal(dry.dryRun, true);
    assert.deepEqual(
      dry.plan.map((m: { tag: string; repair: boolean }) => [m.tag, m.repair]),
      [['acme/tuf-metadata:latest', true]],
    );
    assert.equal(dry.plan[0].from, forged['tuf-metadata:latest']);
    assert.equal(dry.plan[0].to, published['tuf-metadata:latest']);
    assert.match(dry.plan[0].reason, /timestamp\.json \(v99\) is not signed/);
    assert.deepEqual(await registryTags(reg), forged);

    const repaired = ok(['publish', '--to', dest, '--repair'], { cwd });
    assert.match(repaired.stdout, /^plan: 1 tag move\(s\), in this order:$/m);
    assert.match(
      repaired.stdout,
      /^ {2}repair acme\/tuf-metadata:latest sha256:[0-9a-f]{12}… -> sha256:[0-9a-f]{12}…: timestamp\.json \(v99\) is not signed/m,
    );
    assert.match(repaired.stdout, /repaired: 1 tag\(s\) rewritten from the signed metadata/);
    assert.deepEqual(await registryTags(reg), published, 'the registry serves the signed state again');
    ok([
      'client',
      'verify',
      '--from',
      dest,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(fx.root, 'c-forged'),
    ]);
    assert.equal(ok(['publish', '--to', dest, '--json'], { cwd }).json.changed, false);

    // A root v2 nobody signed is tampering too, not "the registry already serves root v2".
    const root = readJson(join(cwd, 'metadata', 'root.json'));
    await forgeLatest(meta, { '2.root.json': Buffer.from(JSON.stringify({ signed: { ...root.signed, version: 2 }, signatures: [] })) });
    const rootForged = tufctl(['publish', '--to', dest], { cwd });
    assert.equal(rootForged.code, 1);
    assert.match(rootForged.stderr, /REGISTRY_TAMPERED/);
    assert.match(rootForged.stderr, /2\.root\.json is not signed by the root keys of root v1 \(0\/1 valid signatures\)/);
    ok(['publish', '--to', dest, '--repair'], { cwd });
    assert.deepEqual(await registryTags(reg), published);

    // Validly signed newer versions are still rollbacks, and --repair does not lower them.
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd });
    ok(['publish', '--to', dest], { cwd });
    const current = await registryTags(reg);
    const old = join(fx.root, 'old');
    git(fx.root, 'clone', '-q', cwd, old);
    git(old, 'checkout', '-q', 'HEAD~1');
    for (const extra of [[], ['--repair']]) {
      const rollback = tufctl(['publish', '--to', dest, ...extra], { cwd: old });
      assert.equal(rollback.code, 1);
      assert.match(rollback.stderr, /VERSION_ROLLBACK.*already serves timestamp v3; refusing to publish the older v2/);
    }
    assert.deepEqual(await registryTags(reg), current);
    ok([
      'client',
      'verify',
      '--from',
      dest,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(fx.root, 'c-forged'),
    ]);
  } finally {
    fx.cleanup();
    await reg.stop();
  }
});

test('a target tag whose content was replaced: the next publish reports tampering; --repair restores it and clients download the right bytes', async () => {
  const reg = await startRegistry();
  const fx = populated();
  try {
    const cwd = fx.repo;
    const dest = `oci://${reg.host}/acme`;
    ok(['publish', '--to', dest], { cwd });
    const targetsRepo = openOciTarget(dest).repository('tuf-targets');
    const settings = readFileSync(join(cwd, 'targets', 'settings.yaml'));
    const tag = `${sha256(settings)}.settings.yaml`;
    const evil = Buffer.from('setting: evil\n');
    await forgeTag(targetsRepo, tag, [{ name: tag, bytes: evil, mediaType: 'application/vnd.tuf.target' }]);
    assert.equal(client(fx, dest, 'c1', 'settings.yaml').code, 1, 'clients refuse the replaced target');

    // The next publish touching the targets role reads the tag and refuses, writing nothing.
    writeFile(join(cwd, 'targets', 'extra.yaml'), 'extra: 1\n');
    ok(['target', 'add', 'targets/extra.yaml'], { cwd });
    ok(['sign', '--key', fx.key('targets')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
    const before = await registryTags(reg);
    const refused = tufctl(['publish', '--to', dest], { cwd });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /REGISTRY_TAMPERED/);
    assert.match(
      refused.stderr,
      new RegExp(
        `acme/tuf-targets:${tag.replace('.', '\\.')}: target settings\\.yaml: the tag serves ${digest(evil)}, not the signed ${digest(settings)}`,
      ),
    );
    assert.deepEqual(await registryTags(reg), before, 'nothing was written');

    const repaired = ok(['publish', '--to', dest, '--repair', '--json'], { cwd }).json;
    const moves = repaired.plan.map((m: { tag: string; repair: boolean }) => `${m.repair ? 'repair' : 'update'} ${m.tag}`);
    assert.deepEqual(moves, [
      `update acme/tuf-targets:${sha256('extra: 1\n')}.extra.yaml`,
      `repair acme/tuf-targets:${tag}`,
      'update acme/tuf-metadata:latest',
    ]);
    assert.equal(repaired.tampered.length, 1);
    assert.equal(client(fx, dest, 'c1', 'settings.yaml').code, 0);
    assert.equal(fetched(fx, 'c1', 'settings.yaml'), 'setting: 1\n');
    ok([
      'client',
      'fetch',
      'extra.yaml',
      '--from',
      dest,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(fx.root, 'c1'),
    ]);

    // A forged delegated role file and a replaced index entry, in an unchanged repository: --repair looks at every tag.
    const metaRepo = openOciTarget(dest).repository('tuf-metadata');
    const doi = readJson(join(cwd, 'metadata', 'doi.json'));
    const policy = readFileSync(join(cwd, 'targets', 'doi', 'policy.rego'));
    const evilPolicy = Buffer.from('package doi # evil\n');
    doi.signed.targets['doi/policy.rego'] = { length: evilPolicy.length, hashes: { sha256: sha256(evilPolicy) } };
    await forgeTag(metaRepo, 'doi', [{ name: '1.doi.json', bytes: Buffer.from(JSON.stringify(doi)) }]);
    const index = (await targetsRepo.getManifest('doi'))!;
    const entries = JSON.parse(index.bytes.toString('utf8')) as {
      manifests: Array<{ digest: string; size: number; annotations: Record<string, string> }>;
    };
    const entry = entries.manifests.find((m) => m.annotations['tuf.io/filename'] === `doi/${sha256(policy)}.policy.rego`)!;
    const bare = `${sha256(policy)}.policy.rego`;
    const evilManifest = await forgeTag(targetsRepo, 'evil-entry', [
      { name: bare, bytes: evilPolicy, mediaType: 'application/vnd.tuf.target' },
    ]);
    entry.digest = evilManifest;
    entry.size = (await targetsRepo.getManifest(evilManifest))!.bytes.length;
    await targetsRepo.putManifest('doi', Buffer.from(JSON.stringify(entries)), 'application/vnd.oci.image.index.v1+json');
    assert.equal(client(fx, dest, 'c2', 'doi/policy.rego').code, 1, 'clients refuse the forged delegated role');

    const dry = tufctl(['publish', '--to', dest, '--repair', '--dry-run'], { cwd });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /the registry serves 2 file\(s\) or tag\(s\) the signed metadata does not vouch for:/);
    assert.match(
      dry.stdout,
      /acme\/tuf-metadata:doi: 1\.doi\.json \(v1\) is not signed by the keys targets trusts for doi \(0\/1 valid signatures\)/,
    );
    assert.match(
      dry.stdout,
      new RegExp(`acme/tuf-targets:doi: entry doi/${bare.replace('.', '\\.')} serves ${digest(evilPolicy)}, not the signed`),
    );
    assert.match(dry.stdout, /^plan: 2 tag move\(s\) \(dry run: nothing is written\):$/m);
    const fixed = ok(['publish', '--to', dest, '--repair', '--json'], { cwd }).json;
    assert.deepEqual(
      fixed.plan.map((m: { tag: string; repair: boolean }) => `${m.repair ? 'repair' : 'update'} ${m.tag}`),
      ['repair acme/tuf-targets:doi', 'repair acme/tuf-metadata:doi'],
    );
    for (const target of ['doi/policy.rego', 'doi/library/data.yaml', 'settings.yaml']) {
      const r = client(fx, dest, 'c3', target);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fetched(fx, 'c3', target), readFileSync(join(cwd, 'targets', target), 'utf8'));
    }
    const clean = ok(['publish', '--to', dest, '--repair', '--json'], { cwd }).json;
    assert.deepEqual(clean.plan, [], 'a repaired registry needs no further repair');
    assert.equal(clean.changed, false);
  } finally {
    fx.cleanup();
    await reg.stop();
  }
});

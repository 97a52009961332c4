/**
 * Publishing to a real registry (CNCF Distribution) and to an OCI layout
 * directory, read back by tufctl's client (tuf-js over the registry layout)
 * and by skopeo as an independent reader. Registry state is asserted from the
 * registry itself (tags, manifest digests, stored blobs), not from our log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, tufctl, type Fixture, writeFile } from '../helpers/harness.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

/** Every tag of both repositories with the digest it points to, read from the registry. */
async function registryState(reg: TestRegistry, namespace: string): Promise<{ tags: Record<string, string>; blobs: number }> {
  const tags: Record<string, string> = {};
  for (const repo of ['tuf-metadata', 'tuf-targets']) {
    const list = await fetch(`${reg.url}/v2/${namespace}/${repo}/tags/list`);
    if (list.status === 404) continue;
    const names = ((await list.json()) as { tags: string[] | null }).tags ?? [];
    for (const tag of names) {
      const head = await fetch(`${reg.url}/v2/${namespace}/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: ACCEPT } });
      tags[`${repo}:${tag}`] = head.headers.get('docker-content-digest') ?? '?';
    }
  }
  const blobRoot = join(reg.dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const blobs = existsSync(blobRoot) ? readdirSync(blobRoot).reduce((n, d) => n + readdirSync(join(blobRoot, d)).length, 0) : 0;
  return { tags, blobs };
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

const TARGETS = ['version-constraints', 'settings.yaml', 'doi/policy.rego', 'doi/library/data.yaml'];

function fetchAll(from: string, fx: Fixture, cache: string): void {
  for (const target of TARGETS) {
    const out = join(fx.root, 'downloads', target.replaceAll('/', '_'));
    ok([
      'client',
      'fetch',
      target,
      '--from',
      from,
      '--root',
      join(fx.repo, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      cache,
      '--out',
      out,
    ]);
    assert.deepEqual(readFileSync(out), readFileSync(join(fx.repo, 'targets', target)), `${target} downloaded intact`);
  }
}

test('publish to a registry: clients fetch every target; republish is a no-op; timestamp-only is one blob and one manifest; rollbacks and foreign repositories are refused', async () => {
  const reg = await startRegistry();
  const fx = populated();
  try {
    const cwd = fx.repo;
    const dest = `oci://${reg.host}/acme`;
    const first = ok(['publish', '--to', dest, '--json'], { cwd }).json;
    assert.equal(first.changed, true);
    fetchAll(dest, fx, join(fx.root, 'cache'));
    ok([
      'client',
      'verify',
      '--from',
      dest,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(fx.root, 'cache'),
      '--valid-for',
      '1',
    ]);

    const before = await registryState(reg, 'acme');
    assert.ok(before.tags['tuf-metadata:latest'] && before.tags['tuf-metadata:doi'] && before.tags['tuf-targets:doi']);
    const hash = spawnSync('sha256sum', [join(cwd, 'targets', 'settings.yaml')], { encoding: 'utf8' }).stdout.split(' ')[0];
    assert.ok(before.tags[`tuf-targets:${hash}.settings.yaml`], 'top-level target tagged <sha256>.<name>');

    // Republishing an unchanged repository uploads nothing and moves no tag.
    const again = ok(['publish', '--to', dest, '--json'], { cwd }).json;
    assert.equal(again.changed, false);
    assert.deepEqual(await registryState(reg, 'acme'), before);

    // Timestamp only: one blob and one manifest, only `latest` moves, at most 6 requests.
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd });
    const ts = ok(['publish', '--to', dest, '--json'], { cwd }).json;
    assert.equal(ts.stats.blobsUploaded, 1);
    assert.equal(ts.stats.manifestsPut, 1);
    assert.ok(ts.stats.requests <= 6, `timestamp-only publish made ${ts.stats.requests} requests`);
    const after = await registryState(reg, 'acme');
    assert.equal(after.blobs, before.blobs + 2, 'one metadata blob plus the new manifest');
    const moved = Object.keys(after.tags).filter((t) => after.tags[t] !== before.tags[t]);
    assert.deepEqual(moved, ['tuf-metadata:latest']);

    // skopeo reads the layout as an independent client.
    const raw = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/acme/tuf-metadata:latest`], {
      encoding: 'utf8',
    });
    assert.equal(raw.status, 0, raw.stderr);
    const manifest = JSON.parse(raw.stdout);
    assert.equal(manifest.config.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    const names = manifest.layers.map((l: { annotations: Record<string, string> }) => l.annotations['tuf.io/filename']);
    assert.deepEqual(names, ['1.root.json', '2.snapshot.json', '2.targets.json', 'timestamp.json']);
    assert.ok(manifest.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.tuf.metadata+json'));

    // An older checkout is refused and changes nothing.
    const old = join(fx.root, 'old');
    git(fx.root, 'clone', '-q', cwd, old);
    git(old, 'checkout', '-q', 'HEAD~1');
    const rollback = tufctl(['publish', '--to', dest], { cwd: old });
    assert.equal(rollback.code, 1);
    assert.match(rollback.stderr, /VERSION_ROLLBACK.*timestamp v3.*older v2/);
    assert.deepEqual(await registryState(reg, 'acme'), after);

    // Another repository's root chain does not lead to ours: refused.
    const other = newRepository(['--no-policies']);
    try {
      const foreign = tufctl(['publish', '--to', dest], { cwd: other.repo });
      assert.equal(foreign.code, 1);
      assert.match(foreign.stderr, /PUBLISH_REFUSED.*different repository/);
    } finally {
      other.cleanup();
    }
    assert.deepEqual(await registryState(reg, 'acme'), after);
    // The client still follows, across runs, with its cache.
    fetchAll(dest, fx, join(fx.root, 'cache'));
  } finally {
    fx.cleanup();
    await reg.stop();
  }
});

test('publish to the embedded default (an OCI layout directory) and fetch from it', () => {
  const fx = populated();
  try {
    const cwd = fx.repo;
    const r = ok(['publish', '--json'], { cwd }).json;
    assert.match(r.location, /^oci-layout:.*oci-layout$/);
    assert.ok(existsSync(join(cwd, 'oci-layout', 'tuf-metadata', 'index.json')));
    fetchAll(`oci-layout:${join(cwd, 'oci-layout')}`, fx, join(fx.root, 'cache-layout'));
    const again = ok(['publish', '--json'], { cwd }).json;
    assert.equal(again.changed, false);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '', 'the layout directory is ignored by git');
  } finally {
    fx.cleanup();
  }
});

test('publish refuses a repository that does not verify, or lacks version-constraints', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    ok(['target', 'remove', 'version-constraints', '--sign', '--key', fx.key('targets'), '--key', fx.key('online')], { cwd });
    const missing = tufctl(['publish'], { cwd });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /PUBLISH_REFUSED.*version-constraints/);
    ok(['target', 'add-entry', 'x', '--length', '1', '--sha256', 'c'.repeat(64)], { cwd });
    const unsigned = tufctl(['publish'], { cwd });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /VERIFICATION_FAILED.*refusing to publish/);
    assert.equal(existsSync(join(cwd, 'oci-layout')), false);
  } finally {
    fx.cleanup();
  }
});

for (const auth of ['htpasswd', 'token'] as const) {
  test(`publish and fetch through a ${auth} registry; wrong credentials are a clear error without the secret`, async () => {
    const reg = await startRegistry({ auth });
    const fx = newRepository();
    try {
      const dest = `oci://${reg.host}/acme`;
      const wrong = tufctl(['publish', '--to', dest, '--retries', '0'], {
        cwd: fx.repo,
        env: { TUFCTL_REGISTRY_USERNAME: reg.username, TUFCTL_REGISTRY_PASSWORD: 'not-the-password-8f3a' },
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, new RegExp(`REGISTRY_AUTH.*${reg.host.replace('.', '\\.')}`));
      assert.doesNotMatch(wrong.stdout + wrong.stderr, /not-the-password-8f3a/);
      const env = { TUFCTL_REGISTRY_USERNAME: reg.username, TUFCTL_REGISTRY_PASSWORD: reg.password };
      ok(['publish', '--to', dest], { cwd: fx.repo, env });
      const out = join(fx.root, 'vc');
      ok(
        [
          'client',
          'fetch',
          'version-constraints',
          '--from',
          dest,
          '--root',
          join(fx.repo, 'metadata', 'root_history', '1.root.json'),
          '--cache',
          join(fx.root, 'c'),
          '--out',
          out,
        ],
        { env },
      );
      assert.equal(readFileSync(out, 'utf8'), '>= v0.1.7-0');
      const anonymous = tufctl([
        'client',
        'verify',
        '--from',
        dest,
        '--root',
        join(fx.repo, 'metadata', 'root_history', '1.root.json'),
        '--cache',
        join(fx.root, 'c2'),
      ]);
      assert.equal(anonymous.code, 1);
      assert.match(anonymous.stderr, /REGISTRY_AUTH/);
    } finally {
      fx.cleanup();
      await reg.stop();
    }
  });
}

test('a changed delegated role is published holding its previous and its new version; progress is shown per file', async () => {
  const reg = await startRegistry();
  const fx = populated();
  try {
    const cwd = fx.repo;
    const dest = `oci://${reg.host}/acme`;
    const first = ok(['publish', '--to', dest, '--progress'], { cwd });
    assert.match(first.stderr, /^uploaded acme\/tuf-targets /m);
    assert.match(first.stderr, /^tagged {3}acme\/tuf-metadata latest$/m);
    writeFile(join(cwd, 'targets', 'doi', 'policy.rego'), 'package doi # changed\n');
    ok(['target', 'add', 'targets/doi/policy.rego'], { cwd });
    ok(['sign', '--key', join(fx.keys, 'doi.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
    const quiet = ok(['publish', '--to', dest], { cwd });
    assert.equal(quiet.stderr, '', 'no progress output when not on a terminal');
    const res = await fetch(`${reg.url}/v2/acme/tuf-metadata/manifests/doi`, { headers: { accept: ACCEPT } });
    const manifest = (await res.json()) as { layers: Array<{ annotations: Record<string, string> }> };
    assert.deepEqual(
      manifest.layers.map((l) => l.annotations['tuf.io/filename']),
      ['1.doi.json', '2.doi.json'],
    );
    const index = (await (await fetch(`${reg.url}/v2/acme/tuf-targets/manifests/doi`, { headers: { accept: ACCEPT } })).json()) as {
      manifests: Array<{ annotations: Record<string, string> }>;
    };
    const policies = index.manifests.map((m) => m.annotations['tuf.io/filename']).filter((n) => n?.endsWith('.policy.rego'));
    assert.equal(policies.length, 2, 'the targets index keeps the old and the new policy.rego');
    fetchAll(dest, fx, join(fx.root, 'cache-after'));
  } finally {
    fx.cleanup();
    await reg.stop();
  }
});

test('publish and client refuse bad input with one clear error and change nothing', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const root = join(cwd, 'metadata', 'root_history', '1.root.json');
    const before = git(cwd, 'status', '--porcelain');
    const badDest = tufctl(['publish', '--to', 'ftp://registry.example/acme'], { cwd });
    assert.equal(badDest.code, 2);
    assert.match(badDest.stderr, /^tufctl: error \[USAGE\]: unsupported destination "ftp:\/\/registry\.example\/acme"/);
    assert.equal(existsSync(join(cwd, 'oci-layout')), false);
    assert.equal(git(cwd, 'status', '--porcelain'), before);

    ok(['publish'], { cwd });
    const layout = `oci-layout:${join(cwd, 'oci-layout')}`;
    const cache = join(fx.root, 'cache');
    const missingRoot = tufctl(['client', 'verify', '--from', layout, '--root', join(fx.root, 'nope.json'), '--cache', cache]);
    assert.equal(missingRoot.code, 2);
    assert.match(missingRoot.stderr, /USAGE.*nope\.json does not exist/);
    const notRoot = tufctl([
      'client',
      'verify',
      '--from',
      layout,
      '--root',
      join(cwd, 'metadata', 'targets.json'),
      '--cache',
      join(fx.root, 'c2'),
    ]);
    assert.equal(notRoot.code, 1);
    assert.match(notRoot.stderr, /METADATA_MALFORMED.*is not TUF root metadata/);
    const unknown = tufctl(['client', 'fetch', 'no-such-target', '--from', layout, '--root', root, '--cache', cache]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /TARGET_NOT_FOUND.*no-such-target/);
    const plain = tufctl(['client', 'verify', '--from', 'http://mirror.example/tuf', '--root', root, '--cache', join(fx.root, 'c3')]);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /refusing plain HTTP to mirror\.example/);
    assert.equal(git(cwd, 'status', '--porcelain'), before);
  } finally {
    fx.cleanup();
  }
});

/** A repository with `count` target files in the delegated role `pkgs` (and the top-level version-constraints), signed and committed. */
function manyTargets(count: number): Fixture {
  const fx = newRepository(['--no-policies']);
  const cwd = fx.repo;
  ok(['key', 'generate', '--out', join(fx.keys, 'pkgs.pem')]);
  ok(['delegate', 'add', 'pkgs', '--paths', 'pkgs/*', '--key', join(fx.keys, 'pkgs.pub.pem')], { cwd });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    files.push(`targets/pkgs/pkg-${i}.json`);
    writeFile(join(cwd, files[i]!), JSON.stringify({ package: i, payload: 'x'.repeat(100 + i) }) + '\n');
  }
  ok(['target', 'add', ...files], { cwd });
  ok(['sign', '--key', fx.key('targets'), '--key', join(fx.keys, 'pkgs.pem')], { cwd });
  ok(['snapshot', '--key', fx.key('online')], { cwd });
  ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
  return fx;
}

test('a first publish costs one blob upload and one manifest per target; concurrency 1 and 8 leave byte-identical registries', async () => {
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.host);
  const N = 30;
  const fx = manyTargets(N);
  try {
    const cwd = fx.repo;
    const one = ok(['publish', '--to', `oci://${reg.host}/one`, '--concurrency', '1', '--json'], { cwd }).json;
    const eight = ok(['publish', '--to', `oci://${reg.host}/eight`, '--json'], { cwd }).json; // the default, 8
    // Reads of the plan: latest (404), the version-constraints tag, the pkgs index and the pkgs role tag.
    // Blobs: the empty config in each repository, version-constraints, N files, the pkgs role, 1.root,
    // snapshot, targets and timestamp: none is looked for first (nothing is published), each uploaded by
    // POST then PUT (Distribution 2.8 drops a body sent with the POST: it answers 202, learnt from the
    // first blob, the 2-byte config). Manifests: version-constraints, N images, the pkgs index, the pkgs
    // role tag, latest, and HEAD latest right before it moves.
    const blobs = 2 + 1 + N + 1 + 4;
    const manifests = 1 + N + 1 + 1 + 1;
    assert.equal(eight.stats.requests, 4 + 2 * blobs + manifests + 1, 'two requests per blob, one per manifest, no HEAD probes');
    assert.equal(eight.stats.blobsUploaded, blobs);
    assert.equal(eight.stats.manifestsPut, manifests);
    assert.deepEqual(one.stats, eight.stats, 'concurrency does not change what is sent');
    assert.deepEqual(
      one.plan.map((m: { to: string }) => m.to),
      eight.plan.map((m: { to: string }) => m.to),
    );
    const stateOne = await registryState(reg, 'one');
    assert.equal(Object.keys(stateOne.tags).length, 4, 'latest, pkgs, pkgs index, version-constraints');
    assert.deepEqual((await registryState(reg, 'eight')).tags, stateOne.tags, 'every tag points to the same manifest digest');

    // A registry that stores a blob sent with its POST (201): one request per blob.
    proxy.setFaults([{ method: 'POST', path: /\/blobs\/uploads\/\?digest=sha256/, fault: { kind: 'single-request-upload' } }]);
    const single = ok(['publish', '--to', `oci://${proxy.host}/single`, '--json'], { cwd }).json;
    assert.equal(single.stats.requests, 4 + blobs + manifests + 1, 'one request per blob');
    assert.ok(
      proxy.requests.filter((r) => r.method === 'PUT').every((r) => r.path.includes('/manifests/')),
      'no upload session was opened',
    );
    assert.deepEqual((await registryState(reg, 'single')).tags, stateOne.tags);
    const out = join(fx.root, 'pkg-7.json');
    const root = join(cwd, 'metadata', 'root_history', '1.root.json');
    ok([
      'client',
      'fetch',
      'pkgs/pkg-7.json',
      '--from',
      `oci://${reg.host}/single`,
      '--root',
      root,
      '--cache',
      join(fx.root, 'c'),
      '--out',
      out,
    ]);
    assert.deepEqual(readFileSync(out), readFileSync(join(cwd, 'targets', 'pkgs', 'pkg-7.json')));

    // Unchanged: one request (latest). Timestamp only: six (GET latest, GET the published timestamp, HEAD latest,
    // POST+PUT of the new timestamp, PUT latest).
    assert.equal(ok(['publish', '--to', `oci://${reg.host}/eight`, '--json'], { cwd }).json.stats.requests, 1);
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd });
    const ts = ok(['publish', '--to', `oci://${reg.host}/eight`, '--json'], { cwd }).json;
    assert.deepEqual([ts.stats.requests, ts.stats.blobsUploaded, ts.stats.manifestsPut], [6, 1, 1]);
  } finally {
    fx.cleanup();
    await proxy.stop();
    await reg.stop();
  }
});

test('--concurrency and publishConcurrency out of bounds are refused before anything is written', () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    for (const value of ['0', '65', '2.5', 'many', '-1']) {
      const r = tufctl(['publish', '--concurrency', value], { cwd });
      assert.equal(r.code, 2, `--concurrency ${value}`);
      assert.match(r.stderr, /^tufctl: error \[USAGE\]: --concurrency must be a whole number from 1 to 64/);
    }
    const refresh = tufctl(['refresh', '--publish', '', '--concurrency', '100'], { cwd });
    assert.equal(refresh.code, 2);
    assert.match(refresh.stderr, /USAGE.*--concurrency must be a whole number from 1 to 64 \(got 100\)/);
    assert.equal(existsSync(join(cwd, 'oci-layout')), false, 'nothing published');
    writeFile(join(cwd, 'tufctl.json'), JSON.stringify({ publishConcurrency: 0 }));
    const config = tufctl(['publish'], { cwd });
    assert.equal(config.code, 1);
    assert.match(config.stderr, /^tufctl: error \[CONFIG_INVALID\]: tufctl\.json: publishConcurrency must be a whole number from 1 to 64/);
    assert.equal(existsSync(join(cwd, 'oci-layout')), false, 'nothing published');
    writeFile(join(cwd, 'tufctl.json'), JSON.stringify({ publishConcurrency: 2 }));
    assert.equal(ok(['publish', '--json'], { cwd }).json.changed, true);
  } finally {
    fx.cleanup();
  }
});

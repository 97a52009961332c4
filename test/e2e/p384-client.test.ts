/**
 * ECDSA P-384 end to end: a repository whose root, targets, online and
 * delegated keys are all ecdsa-sha2-nistp384 (signatures over SHA-384) is
 * verified with its tuf-js client pass, published to a real registry and to
 * an OCI layout directory, and read by `tufctl client fetch` from both and by
 * tuf-js's Updater over an HTTP export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, MetadataKind, type Root, type Targets } from '@tufjs/models';
import { newRepository, ok, readJson, serveDirectory, type Fixture, writeFile } from '../helpers/harness.js';
import { startRegistry } from '../helpers/registry.js';
import { clientDownloads } from '../helpers/tuf-client.js';

const P384 = 'ecdsa-sha2-nistp384';
const TARGETS = ['version-constraints', 'settings.yaml', 'p384/policy.rego', 'p384/library/data.yaml'];

/** init with P-384 keys, a top-level target and a P-384 delegated role with two files; signed and committed. */
function p384Repository(): Fixture {
  const fx = newRepository(['--key-type', 'ecdsa-p384', '--no-policies']);
  const cwd = fx.repo;
  const made = ok(['key', 'generate', '--type', 'ecdsa-p384', '--out', join(fx.keys, 'delegate.pem'), '--json']);
  assert.equal(made.json.scheme, P384);
  writeFile(join(cwd, 'targets', 'settings.yaml'), 'setting: 384\n');
  ok(['delegate', 'add', 'p384', '--paths', 'p384/*', 'p384/*/*', '--key', join(fx.keys, 'delegate.pub.pem'), '--terminating'], { cwd });
  writeFile(join(cwd, 'targets', 'p384', 'policy.rego'), 'package p384\n');
  writeFile(join(cwd, 'targets', 'p384', 'library', 'data.yaml'), 'allow: true\n');
  ok(['target', 'add', 'targets/settings.yaml', 'targets/p384/policy.rego', 'targets/p384/library/data.yaml'], { cwd });
  ok(['sign', '--key', fx.key('targets'), '--key', join(fx.keys, 'delegate.pem')], { cwd });
  ok(['snapshot', '--key', fx.key('online')], { cwd });
  ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
  return fx;
}

function fetchAll(from: string, fx: Fixture, cache: string, label: string): void {
  for (const target of TARGETS) {
    const out = join(fx.root, `downloads-${label}`, target.replaceAll('/', '_'));
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
    assert.deepEqual(readFileSync(out), readFileSync(join(fx.repo, 'targets', target)), `${target} fetched intact from ${label}`);
  }
}

test('P-384 root, targets, online and delegated keys: verify runs tuf-js; client fetch from a registry and an OCI layout; tuf-js over HTTP', async () => {
  const reg = await startRegistry();
  const server = { close: async () => {} } as Awaited<ReturnType<typeof serveDirectory>>;
  let fx: Fixture | undefined;
  try {
    fx = p384Repository();
    const cwd = fx.repo;
    const root = readJson(join(cwd, 'metadata', 'root.json'));
    for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
      for (const id of root.signed.roles[role].keyids) assert.equal(root.signed.keys[id].scheme, P384, `${role} key is P-384`);
    }

    // The signatures really are SHA-384 ones: node:crypto agrees with SHA-384 and not with SHA-256.
    const targets = readJson(join(cwd, 'metadata', 'targets.json'));
    const targetsKey = createPublicKey(root.signed.keys[root.signed.roles.targets.keyids[0]].keyval.public);
    const signature = Buffer.from(targets.signatures[0].sig, 'hex');
    const signed = Buffer.from(canonicalize(targets.signed));
    assert.equal(verify('sha384', signed, targetsKey, signature), true);
    assert.equal(verify('sha256', signed, targetsKey, signature), false);

    // @tufjs/models verifies them, and rejects a tampered one.
    const rootMeta = Metadata.fromJSON(MetadataKind.Root, root) as Metadata<Root>;
    rootMeta.verifyDelegate('root', rootMeta);
    rootMeta.verifyDelegate('targets', Metadata.fromJSON(MetadataKind.Targets, targets) as Metadata<Targets>);
    const tampered = structuredClone(targets);
    tampered.signatures[0].sig = tampered.signatures[0].sig.replace(/.$/, (c: string) => (c === '0' ? '1' : '0'));
    assert.throws(() => rootMeta.verifyDelegate('targets', Metadata.fromJSON(MetadataKind.Targets, tampered) as Metadata<Targets>));

    // verify runs its tuf-js client pass (no P-384 skip), downloading every target.
    for (const mode of ['auto', 'always']) {
      const verified = ok(['verify', '--client', mode, '--json'], { cwd }).json;
      assert.equal(verified.ok, true);
      assert.equal(verified.client.ran, true, `client pass ran (--client ${mode})`);
      assert.equal(verified.client.ok, true, verified.client.reason);
      assert.equal(verified.client.targetsDownloaded, TARGETS.length);
      assert.doesNotMatch(verified.warnings.join('\n'), /nistp384|cannot verify/);
    }

    // A registry.
    const dest = `oci://${reg.host}/p384`;
    assert.equal(ok(['publish', '--to', dest, '--json'], { cwd }).json.changed, true);
    fetchAll(dest, fx, join(fx.root, 'cache-registry'), 'registry');

    // An OCI layout directory.
    const layout = `oci-layout:${join(fx.root, 'layout')}`;
    assert.equal(ok(['publish', '--to', layout, '--json'], { cwd }).json.changed, true);
    fetchAll(layout, fx, join(fx.root, 'cache-layout'), 'layout');

    // tuf-js's Updater itself, over an HTTP export.
    const out = join(fx.root, 'export');
    ok(['export', out], { cwd });
    Object.assign(server, await serveDirectory(out));
    await clientDownloads(server.url, join(fx.root, 'cache-http'), TARGETS, join(cwd, 'metadata', 'root_history', '1.root.json'), cwd);
  } finally {
    await server.close();
    await reg.stop();
    fx?.cleanup();
  }
});

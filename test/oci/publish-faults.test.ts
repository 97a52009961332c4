/**
 * Publishing under faults: readers polling during a publish see the old
 * state or the new one, never a torn one; a publish interrupted by the
 * network fails with a clear message, leaves the previous state verifiable,
 * and completes when re-run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, newRepository, ok, tufctl, type Fixture, writeFile } from '../helpers/harness.js';
import { startRegistry } from '../helpers/registry.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { Updater } from 'tuf-js';
import { openOciTarget } from '../../src/oci/destination.js';
import { RegistryFetcher, REGISTRY_METADATA_URL, REGISTRY_TARGETS_URL } from '../../src/oci/registry-fetcher.js';

function populated(): Fixture {
  const fx = newRepository(['--no-policies']);
  const cwd = fx.repo;
  ok(['key', 'generate', '--out', join(fx.keys, 'doi.pem')]);
  ok(['delegate', 'add', 'doi', '--paths', 'doi/*', '--key', join(fx.keys, 'doi.pub.pem')], { cwd });
  writeFile(join(cwd, 'targets', 'doi', 'policy.rego'), 'package doi # v1\n');
  writeFile(join(cwd, 'targets', 'settings.yaml'), 'mapping: v1\n');
  ok(['target', 'add', 'targets/doi/policy.rego', 'targets/settings.yaml'], { cwd });
  signAll(fx);
  return fx;
}

function signAll(fx: Fixture): void {
  const cwd = fx.repo;
  ok(['sign', '--key', fx.key('targets'), '--key', join(fx.keys, 'doi.pem')], { cwd });
  ok(['snapshot', '--key', fx.key('online')], { cwd });
  ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
}

/** Changes targets, the delegated role, snapshot and timestamp; adds `extra` new files to the delegated role. */
function changeEverything(fx: Fixture, extra = 0): void {
  writeFile(join(fx.repo, 'targets', 'doi', 'policy.rego'), 'package doi # v2\n');
  writeFile(join(fx.repo, 'targets', 'settings.yaml'), 'mapping: v2\n');
  const added = Array.from({ length: extra }, (_, i) => `targets/doi/extra-${i}.txt`);
  for (const file of added) writeFile(join(fx.repo, file), `${file}\n`);
  ok(['target', 'add', 'targets/doi/policy.rego', 'targets/settings.yaml', ...added], { cwd: fx.repo });
  signAll(fx);
}

/**
 * One fresh client (new cache, trusting only 1.root.json): ONE refresh, then
 * both targets from that same trusted state, as a real client session would.
 */
async function poll(from: string, fx: Fixture): Promise<{ timestamp: number; policy: string; mapping: string }> {
  const cache = mkdtempSync(join(tmpdir(), 'tufctl-poll-'));
  try {
    mkdirSync(join(cache, 'metadata'));
    mkdirSync(join(cache, 'targets'));
    copyFileSync(join(fx.repo, 'metadata', 'root_history', '1.root.json'), join(cache, 'metadata', 'root.json'));
    const target = openOciTarget(from);
    const updater = new Updater({
      metadataDir: join(cache, 'metadata'),
      targetDir: join(cache, 'targets'),
      metadataBaseUrl: REGISTRY_METADATA_URL,
      targetBaseUrl: REGISTRY_TARGETS_URL,
      fetcher: new RegistryFetcher(target.repository('tuf-metadata'), target.repository('tuf-targets')),
    });
    await updater.refresh();
    const read = async (path: string): Promise<string> => {
      const info = await updater.getTargetInfo(path);
      if (!info) throw new Error(`${path} not found`);
      return readFileSync(await updater.downloadTarget(info, join(cache, 'targets', path.replaceAll('/', '_'))), 'utf8');
    };
    const policy = await read('doi/policy.rego');
    const mapping = await read('settings.yaml');
    const timestamp = JSON.parse(readFileSync(join(cache, 'metadata', 'timestamp.json'), 'utf8')).signed.version as number;
    return { timestamp, policy, mapping };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function runPublish(cwd: string, dest: string, extra: string[] = []): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'publish', '--to', dest, '--timeout', '10', ...extra], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test('readers polling during a slowed, fault-injected publish always see the old or the new state', async () => {
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.host);
  const fx = populated();
  try {
    const direct = `oci://${reg.host}/acme`;
    ok(['publish', '--to', direct], { cwd: fx.repo });
    const old = await poll(direct, fx);
    changeEverything(fx, 16);
    // Slow the publish down with transient failures it must retry through, eight uploads at a time.
    proxy.setFaults([
      { method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 503 }, count: 2 },
      { method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'drop' }, count: 2 },
      { method: 'PUT', path: /\/manifests\/sha256:/, fault: { kind: 'delay', ms: 150 } },
    ]);
    proxy.clearRequests();
    const publishing = runPublish(fx.repo, `oci://${proxy.host}/acme`, ['--concurrency', '8']);
    let done = false;
    void publishing.then(() => (done = true));
    const seen: Array<{ timestamp: number; policy: string; mapping: string }> = [];
    const failures: string[] = [];
    while (!done || seen.length < 3) {
      try {
        seen.push(await poll(direct, fx));
      } catch (error) {
        failures.push((error as Error).message);
      }
      if (seen.length + failures.length > 200) break;
    }
    const result = await publishing;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(failures, [], 'no poll failed');
    const fresh = await poll(direct, fx);
    assert.notEqual(fresh.timestamp, old.timestamp);
    for (const s of seen) {
      const state = s.timestamp === old.timestamp ? old : s.timestamp === fresh.timestamp ? fresh : undefined;
      assert.ok(state, `timestamp v${s.timestamp} is either the old or the new one`);
      assert.deepEqual(s, state, 'a poll sees one whole state');
    }
    const requests = proxy.requests;
    assert.ok(
      requests.some((r) => r.fault),
      'faults were injected',
    );
    // The order, whatever ran in parallel: every target image before the index listing them, the index
    // before the role tag, the role tag before latest.
    const puts = requests.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/') && (!r.fault || r.fault === 'delay'));
    const last = (pattern: RegExp): number => puts.findLastIndex((r) => pattern.test(r.path));
    const first = (pattern: RegExp): number => puts.findIndex((r) => pattern.test(r.path));
    assert.equal(puts.filter((r) => /tuf-targets\/manifests\/sha256:/.test(r.path)).length, 17, 'the 17 changed target images');
    assert.ok(last(/tuf-targets\/manifests\/sha256:/) < first(/tuf-targets\/manifests\/doi$/), 'images before the index');
    assert.ok(last(/tuf-targets\/manifests\/(doi|[0-9a-f]{64}\.)/) < first(/tuf-metadata\/manifests\/doi$/), 'targets before the role tag');
    assert.ok(last(/tuf-metadata\/manifests\/doi$/) < first(/tuf-metadata\/manifests\/latest$/), 'the role tag before latest');
  } finally {
    await proxy.stop();
    await reg.stop();
    fx.cleanup();
  }
});

test('a publish cut off by the network fails clearly, leaves the previous state verifiable, and completes when re-run', async () => {
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.host);
  const fx = populated();
  try {
    const direct = `oci://${reg.host}/acme`;
    const viaProxy = `oci://${proxy.host}/acme`;
    ok(['publish', '--to', direct], { cwd: fx.repo });
    const old = await poll(direct, fx);
    changeEverything(fx);
    for (const fault of [
      { method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'reset-mid-upload' as const } },
      { method: 'PUT', path: /\/manifests\/latest$/, fault: { kind: 'drop' as const } },
      { method: 'PUT', path: /\/manifests\/latest$/, fault: { kind: 'status' as const, status: 500 } },
    ]) {
      proxy.setFaults([fault]);
      const started = Date.now();
      const failed = tufctl(['publish', '--to', viaProxy, '--timeout', '5', '--retries', '1'], { cwd: fx.repo });
      assert.ok(Date.now() - started < 30_000, `publish under ${fault.fault.kind} gave up in time`);
      assert.equal(failed.code, 1, `publish under ${fault.fault.kind} must fail`);
      assert.match(failed.stderr, /^tufctl: error \[REGISTRY_(UNREACHABLE|ERROR)\]: .*127\.0\.0\.1/m);
      assert.deepEqual(await poll(direct, fx), old, 'the registry still serves the previous state');
    }
    proxy.setFaults([]);
    ok(['publish', '--to', viaProxy], { cwd: fx.repo });
    const fresh = await poll(direct, fx);
    assert.equal(fresh.policy, 'package doi # v2\n');
    assert.ok(fresh.timestamp > old.timestamp);
  } finally {
    await proxy.stop();
    await reg.stop();
    fx.cleanup();
  }
});

test('a registry failure in the middle of a concurrent upload stops the publish with its error; the registry still verifies; a rerun completes', async () => {
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.host);
  const fx = populated();
  try {
    const direct = `oci://${reg.host}/acme`;
    const viaProxy = `oci://${proxy.host}/acme`;
    ok(['publish', '--to', direct], { cwd: fx.repo });
    const old = await poll(direct, fx);
    changeEverything(fx, 40);
    // The 12th blob upload on, every one fails: eight are in flight when it starts failing.
    proxy.setFaults([{ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 500 }, after: 11 }]);
    proxy.clearRequests();
    const failed = tufctl(['publish', '--to', viaProxy, '--retries', '1', '--concurrency', '8'], { cwd: fx.repo });
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      /^tufctl: error \[REGISTRY_ERROR\]: upload blob acme\/tuf-targets@sha256:[0-9a-f]{64}: registry 127\.0\.0\.1:\d+ answered 500 \(after 2 attempts\)/m,
    );
    const seen = proxy.requests;
    assert.ok(!seen.some((r) => r.method === 'PUT' && /tuf-targets\/manifests\/doi$/.test(r.path)), 'no index was written');
    assert.ok(!seen.some((r) => r.method === 'PUT' && /tuf-metadata\//.test(r.path)), 'nothing of the metadata repository was written');
    assert.deepEqual(await poll(direct, fx), old, 'the registry still serves the previous state');
    proxy.setFaults([]);
    const rerun = ok(['publish', '--to', viaProxy, '--json'], { cwd: fx.repo }).json;
    assert.equal(rerun.changed, true);
    const fresh = await poll(direct, fx);
    assert.equal(fresh.policy, 'package doi # v2\n');
    assert.ok(fresh.timestamp > old.timestamp);
    ok([
      'client',
      'fetch',
      'doi/extra-39.txt',
      '--from',
      direct,
      '--root',
      join(fx.repo, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(fx.root, 'c'),
      '--out',
      join(fx.root, 'x'),
    ]);
    assert.equal(readFileSync(join(fx.root, 'x'), 'utf8'), 'targets/doi/extra-39.txt\n');
  } finally {
    await proxy.stop();
    await reg.stop();
    fx.cleanup();
  }
});

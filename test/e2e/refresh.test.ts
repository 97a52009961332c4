/**
 * The refresh job end to end: a simulated year of 6-hourly runs on a fake
 * clock, forward ratcheting from a checkout older than the registry with a
 * tuf-js client that cached the newer state, two concurrent runs against a
 * real registry, runs killed at several points while a client polls, and
 * signing branches for offline roles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addTargets } from '../../src/edit/targets.js';
import { signRoles } from '../../src/edit/signing.js';
import { collectSigners } from '../../src/keys/signer.js';
import { parseExpiry } from '../../src/metadata/expiry.js';
import { Repository } from '../../src/metadata/repository.js';
import { refresh } from '../../src/refresh/refresh.js';
import { verifyRepository } from '../../src/verify/verify-repository.js';
import { CLI, git, newRepository, ok, okAsync, readJson, tempDir, tufctl, tufctlAsync, type Fixture } from '../helpers/harness.js';
import { repositoryWithRemoteOnlineKey } from '../helpers/online-key-repository.js';
import { startRegistry } from '../helpers/registry.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startKms } from '../helpers/kms-server.js';
import { openOciTarget } from '../../src/oci/destination.js';
import { digestOf } from '../../src/oci/digest.js';

const HOUR = 3600_000;
const T0 = new Date('2027-01-01T00:00:00Z');

function clientVerify(fx: Fixture, from: string, cache: string): ReturnType<typeof tufctl> {
  return tufctl(['client', 'verify', '--from', from, '--root', join(fx.repo, 'metadata', 'root_history', '1.root.json'), '--cache', cache]);
}

test('a simulated year of 6-hourly refresh runs: timestamp never expires, versions only rise, snapshot only when due or changed', async () => {
  const dir = tempDir();
  try {
    const repoDir = join(dir.path, 'repo');
    const keys = join(dir.path, 'keys');
    ok(['init', repoDir, '--generate-keys', keys, '--no-policies', '--now', T0.toISOString()]);
    const [online] = collectSigners([join(keys, 'online.pem')]);
    const targetsKey = collectSigners([join(keys, 'targets.pem')]);
    let last = { snapshot: 1, timestamp: 1 };
    let snapshotSigned = 0;
    let timestampSigned = 0;
    const flaggedAt: Record<string, string> = {};
    for (let run = 0; run < 4 * 365; run++) {
      const now = new Date(T0.getTime() + run * 6 * HOUR);
      let changed = false;
      if (run % 200 === 100) {
        // A targets change lands between two runs (signed offline, as in a merged pull request).
        const repo = Repository.open(repoDir, { now, git: false });
        addTargets(repo, [{ path: `releases/r${run}.txt`, length: run, hashes: { sha256: run.toString(16).padStart(64, '0') } }]);
        await signRoles(repo, targetsKey, ['targets']);
        repo.save({ stage: false });
        changed = true;
      }
      const before = Repository.open(repoDir, { now, git: false });
      const snapshotDue = now.getTime() >= parseExpiry(before.signed('snapshot').expires)!.getTime() - 60 * 24 * HOUR;
      const targetsExpires = parseExpiry(before.signed('targets').expires)!;
      const rootExpires = parseExpiry(before.signed('root').expires)!;
      const report = await refresh({ repoDir, now, git: false, verify: false, signers: async () => [online!] });
      const after = Repository.open(repoDir, { now, git: false });
      const versions = { snapshot: after.version('snapshot'), timestamp: after.version('timestamp') };

      assert.equal(report.plan.snapshot.sign, changed || snapshotDue, `run ${run}: snapshot signed only when changed or due`);
      if (report.plan.snapshot.sign) {
        snapshotSigned++;
        assert.equal(versions.snapshot, last.snapshot + 1, `run ${run}: snapshot version + 1`);
      } else assert.equal(versions.snapshot, last.snapshot);
      if (report.plan.timestamp.sign) {
        timestampSigned++;
        assert.equal(versions.timestamp, last.timestamp + 1, `run ${run}: timestamp version + 1`);
      } else assert.equal(versions.timestamp, last.timestamp);
      const nextRun = new Date(now.getTime() + 6 * HOUR);
      assert.ok(parseExpiry(after.signed('timestamp').expires)! > nextRun, `run ${run}: timestamp valid until the next run`);
      assert.ok(parseExpiry(after.signed('snapshot').expires)! > nextRun, `run ${run}: snapshot valid until the next run`);
      const targetsDue = now.getTime() >= targetsExpires.getTime() - 60 * 24 * HOUR;
      const flagged = report.plan.offline.some((o) => o.role === 'targets');
      assert.equal(flagged, targetsDue, `run ${run}: targets flagged exactly inside its signing period`);
      const rootFlagged = report.plan.offline.some((o) => o.role === 'root');
      assert.equal(
        rootFlagged,
        now.getTime() >= rootExpires.getTime() - 60 * 24 * HOUR,
        `run ${run}: root flagged exactly inside its signing period`,
      );
      if (rootFlagged && !flaggedAt.root) flaggedAt.root = now.toISOString();
      last = versions;
    }
    // Timestamp: 2-day expiry, due after 1 day: re-signed every 4th run.
    assert.ok(timestampSigned >= 360 && timestampSigned <= 380, `timestamp signed ${timestampSigned} times in a year`);
    assert.ok(snapshotSigned <= 10, `snapshot signed ${snapshotSigned} times (7 changes, none due within the year)`);
    // Root (never changed) expires a year after init: flagged from the first run of its signing period, day 305.
    assert.equal(flaggedAt.root, new Date(T0.getTime() + 305 * 24 * HOUR).toISOString());
    const { report } = await verifyRepository(repoDir, { now: new Date(T0.getTime() + (4 * 365 - 1) * 6 * HOUR), client: 'never' });
    assert.deepEqual(report.problems, []);
  } finally {
    dir.cleanup();
  }
});

test('forward ratcheting: a checkout older than the registry refreshes above it; a client with a newer cached timestamp keeps updating', async () => {
  const registry = await startRegistry();
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    const to = `oci://${registry.host}/acme`;
    const env = { TUFCTL_ONLINE_KEY: readOnlineKey(fx) };
    ok(['refresh', '--publish', to, '--force', '--commit', '--json'], { cwd, env });
    const old = git(cwd, 'rev-parse', 'HEAD').trim();
    for (let i = 0; i < 3; i++) ok(['refresh', '--publish', to, '--force', '--commit'], { cwd, env });
    const cache = join(fx.root, 'client-cache');
    const first = clientVerify(fx, to, cache);
    assert.equal(first.code, 0, first.stderr);
    const published = readJson(join(cwd, 'metadata', 'timestamp.json')).signed.version as number;
    assert.equal(published, 5);

    // The job restarts from an old commit: git says timestamp v2, the registry serves v5.
    git(cwd, 'reset', '--hard', old);
    assert.equal(readJson(join(cwd, 'metadata', 'timestamp.json')).signed.version, 2);
    const dry = ok(['refresh', '--publish', to, '--dry-run', '--json'], { cwd, env });
    assert.equal(dry.json.plan.timestamp.version, 6);
    assert.match(dry.json.plan.timestamp.reasons.join(), /registry holds timestamp v5/);
    const run = ok(['refresh', '--publish', to, '--commit', '--json'], { cwd, env });
    assert.equal(run.json.plan.timestamp.version, 6, 'above the registry, never below');
    assert.equal(readJson(join(cwd, 'metadata', 'timestamp.json')).signed.version, 6);
    const again = clientVerify(fx, to, cache);
    assert.equal(again.code, 0, `the client that cached v5 updates to v6: ${again.stderr}`);

    // Nothing due now: nothing signed, nothing published, exit 0.
    const idle = ok(['refresh', '--publish', to, '--json'], { cwd, env });
    assert.equal(idle.json.plan.timestamp.sign, false);
    assert.equal(idle.json.published, undefined);
    assert.match(ok(['refresh', '--publish', to], { cwd, env }).stdout, /nothing due/);
  } finally {
    await registry.stop();
    fx.cleanup();
  }
});

function readOnlineKey(fx: Fixture): string {
  return readFileSync(fx.key('online'), 'utf8');
}

test('two refresh runs at once: the registry holds one coherent state and the losing run exits non-zero', async () => {
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.host);
  const fx = newRepository(['--no-policies']);
  try {
    const to = `oci://${proxy.host}/acme`;
    const env = { TUFCTL_ONLINE_KEY: readOnlineKey(fx) };
    ok(['refresh', '--publish', to, '--force', '--commit'], { cwd: fx.repo, env });
    const other = join(fx.root, 'clone');
    git(fx.root, 'clone', '-q', fx.repo, other);
    // Both runs read the registry before either publishes: their first reads of `latest` are held until both
    // arrived. Their clocks differ by a second, so their (deterministic ed25519) timestamps differ: two
    // different timestamps with the same version, of which exactly one may reach clients.
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/latest$/, fault: { kind: 'barrier', parties: 2 }, count: 2 }]);
    const now = Date.now();
    const [a, b] = await Promise.all([
      tufctlAsync(['refresh', '--publish', to, '--force', '--commit', '--now', new Date(now).toISOString()], { cwd: fx.repo, env }),
      tufctlAsync(['refresh', '--publish', to, '--force', '--commit', '--now', new Date(now + 1000).toISOString()], { cwd: other, env }),
    ]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(codes, [0, 1], `one run wins, one loses:\n${a.stderr}\n${b.stderr}`);
    const loser = a.code === 1 ? a : b;
    assert.match(loser.stderr, /PUBLISH_CONFLICT|PUBLISH_REFUSED/);
    assert.match(loser.stderr, /timestamp v3/);
    proxy.setFaults([]);
    const cache = join(fx.root, 'cache');
    const client = clientVerify(fx, `oci://${registry.host}/acme`, cache);
    assert.equal(client.code, 0, client.stderr);
    // The next run from either checkout ratchets above what is served.
    const next = ok(['refresh', '--publish', to, '--force', '--json'], { cwd: loser === a ? fx.repo : other, env });
    assert.equal(next.json.plan.timestamp.version, 4);
  } finally {
    await proxy.stop();
    await registry.stop();
    fx.cleanup();
  }
});

test('refresh killed before publishing, between blobs and manifest, and before committing: each next run completes; a polling client never fails', async () => {
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.host);
  const fx = newRepository(['--no-policies']);
  const direct = `oci://${registry.host}/acme`;
  const to = `oci://${proxy.host}/acme`;
  const env = { TUFCTL_ONLINE_KEY: readOnlineKey(fx) };
  let polling = true;
  const failures: string[] = [];
  let polls = 0;
  try {
    ok(['refresh', '--publish', to, '--force', '--commit'], { cwd: fx.repo, env });
    const poller = (async () => {
      const cache = join(fx.root, 'poll-cache');
      while (polling) {
        const r = await tufctlAsync([
          'client',
          'verify',
          '--from',
          direct,
          '--root',
          join(fx.repo, 'metadata', 'root_history', '1.root.json'),
          '--cache',
          cache,
        ]);
        polls++;
        if (r.code !== 0) failures.push(r.stderr);
      }
    })();
    const points: Array<{ name: string; rule: { method: string; path: RegExp; after: number } }> = [
      // Signed and written, nothing sent yet: the first upload (with its body, to learn whether the registry keeps it).
      { name: 'before publish', rule: { method: 'POST', path: /\/blobs\/uploads\/(\?digest=[^&]*)?$/, after: 0 } },
      { name: 'between blobs and manifest', rule: { method: 'PUT', path: /\/manifests\/latest$/, after: 0 } },
      // Published; the run re-reads latest (the 2nd HEAD, after publish's own check) before committing.
      { name: 'before commit', rule: { method: 'HEAD', path: /\/manifests\/latest$/, after: 1 } },
    ];
    for (const point of points) {
      proxy.clearRequests();
      proxy.setFaults([{ ...point.rule, fault: { kind: 'stall' }, count: 1 }]);
      const child = spawn(process.execPath, [CLI, 'refresh', '--publish', to, '--force', '--commit', '--timeout', '120'], {
        cwd: fx.repo,
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.on('exit', r));
      for (let i = 0; i < 600 && !proxy.requests.some((r) => r.fault === 'stall'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(
        proxy.requests.some((r) => r.fault === 'stall'),
        `${point.name}: the run reached the stalled request`,
      );
      child.kill('SIGKILL');
      await exited;
      proxy.setFaults([]);
      const next = await okAsync(['refresh', '--publish', to, '--force', '--commit', '--json'], { cwd: fx.repo, env });
      assert.ok(next.json.published, `${point.name}: the next run publishes`);
      const served = await tufctlAsync([
        'client',
        'verify',
        '--from',
        direct,
        '--root',
        join(fx.repo, 'metadata', 'root_history', '1.root.json'),
        '--cache',
        join(fx.root, `after-${point.name.replaceAll(' ', '-')}`),
      ]);
      assert.equal(served.code, 0, `${point.name}: ${served.stderr}`);
      assert.equal(git(fx.repo, 'status', '--porcelain').trim(), '', `${point.name}: the next run leaves a clean checkout`);
    }
    polling = false;
    await poller;
    assert.ok(polls > 0, 'the client polled');
    assert.deepEqual(failures, [], 'no poll ever failed verification');
  } finally {
    polling = false;
    await proxy.stop();
    await registry.stop();
    fx.cleanup();
  }
});

test('expiring: offline roles in their signing period get sign/<role>-v<N> branches, existing ones are kept', () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    const later = new Date(Date.now() + 310 * 24 * HOUR).toISOString();
    const none = ok(['expiring', '--json'], { cwd });
    assert.deepEqual(none.json.roles, []);
    const due = ok(['expiring', '--now', later, '--open-branches', '--json'], { cwd });
    assert.deepEqual(due.json.roles.map((r: { role: string }) => r.role).sort(), ['root', 'targets']);
    assert.deepEqual(due.json.branches.map((b: { branch: string; created: boolean }) => [b.branch, b.created]).sort(), [
      ['sign/root-v2', true],
      ['sign/targets-v2', true],
    ]);
    const onBranch = git(cwd, 'show', 'sign/targets-v2:metadata/targets.json');
    assert.equal(JSON.parse(onBranch).signed.version, 2);
    assert.equal(git(cwd, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'main', 'the checkout stays on its branch');
    const again = ok(['expiring', '--now', later, '--open-branches', '--json'], { cwd });
    assert.ok(again.json.branches.every((b: { created: boolean }) => !b.created));
    const refreshed = ok(['refresh', '--now', later, '--dry-run', '--json'], { cwd });
    assert.deepEqual(refreshed.json.plan.offline.map((o: { role: string }) => o.role).sort(), ['root', 'targets']);
  } finally {
    fx.cleanup();
  }
});

test('the online key in AWS KMS: refresh signs through the SDK against a loopback KMS, and the signatures verify with the key in root', async () => {
  const kms = await startKms();
  const dir = tempDir();
  try {
    const key = kms.createKey('ECC_NIST_P256');
    const { repo } = repositoryWithRemoteOnlineKey(dir.path, key.publicKey, `awskms:${key.arn}`);
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIAZZZZTESTONLYZZZZ',
      AWS_SECRET_ACCESS_KEY: 'tufctl-test-secret-NOT-REAL',
      AWS_REGION: kms.region,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      TUFCTL_AWS_KMS_ENDPOINT: kms.endpoint,
    };
    const run = await okAsync(['refresh', '--commit', '--json'], { cwd: repo, env });
    assert.deepEqual(
      run.json.signed.map((r: { role: string }) => r.role),
      ['snapshot', 'timestamp'],
    );
    assert.ok(
      kms.requests.some((r) => r.operation === 'Sign' && r.status === 200),
      'signed by KMS',
    );
    assert.ok(
      kms.requests.every((r) => r.authorization?.startsWith('AWS4-HMAC-SHA256')),
      'SigV4-signed requests',
    );
    const verified = await okAsync(['verify', '--json'], { cwd: repo });
    assert.equal(verified.json.ok, true);
    assert.equal(verified.json.client.ok, true, 'tuf-js accepts the KMS signatures too');
    const timestamp = readJson(join(repo, 'metadata', 'timestamp.json'));
    const onlineId = readJson(join(repo, 'metadata', 'root.json')).signed.roles.timestamp.keyids[0];
    assert.equal(timestamp.signatures[0].keyid, onlineId);
  } finally {
    await kms.close();
    dir.cleanup();
  }
});

test('snapshot and timestamp take the online key as refresh does: TUFCTL_ONLINE_KEY, and a wrong one is refused', () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    assert.match(ok(['snapshot'], { cwd }).stdout, /up to date/, 'nothing to sign needs no key');
    const none = tufctl(['timestamp', '--force'], { cwd });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no signing key given for timestamp .*TUFCTL_ONLINE_KEY/);
    const wrong = tufctl(['timestamp', '--force'], { cwd, env: { TUFCTL_ONLINE_KEY: readFileSync(fx.key('root'), 'utf8') } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /KEY_NOT_TRUSTED.*TUFCTL_ONLINE_KEY/);
    const signed = ok(['timestamp', '--force', '--json'], { cwd, env: { TUFCTL_ONLINE_KEY: readOnlineKey(fx) } });
    assert.equal(signed.json.version, 2);
  } finally {
    fx.cleanup();
  }
});

test('refresh refuses, changing nothing: a checkout behind the registry in targets, a forged registry timestamp, a bad destination', async () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    const layout = join(fx.root, 'layout');
    const to = `oci-layout:${layout}`;
    const env = { TUFCTL_ONLINE_KEY: readOnlineKey(fx) };
    const initial = git(cwd, 'rev-parse', 'HEAD').trim();
    ok(
      [
        'target',
        'add-entry',
        'a',
        '--length',
        '1',
        '--sha256',
        'c'.repeat(64),
        '--sign',
        '--key',
        fx.key('targets'),
        '--key',
        fx.key('online'),
        '--commit',
      ],
      { cwd },
    );
    ok(['publish', '--to', to], { cwd });

    // Targets v2 is published; a checkout with v1 cannot catch up without offline keys.
    git(cwd, 'reset', '-q', '--hard', initial);
    const behind = tufctl(['refresh', '--publish', to, '--force', '--commit'], { cwd, env });
    assert.equal(behind.code, 1);
    assert.match(behind.stderr, /VERSION_ROLLBACK.*checkout is older than the registry: targets v2 is published/);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    assert.equal(git(cwd, 'rev-parse', 'HEAD').trim(), initial);

    // A timestamp in the registry that the online key did not sign never becomes the floor.
    git(cwd, 'reset', '-q', '--hard', 'HEAD@{1}');
    const meta = openOciTarget(to, { baseDir: cwd }).repository('tuf-metadata');
    const latest = (await meta.getManifest('latest'))!;
    const manifest = JSON.parse(latest.bytes.toString('utf8'));
    const ours = readJson(join(cwd, 'metadata', 'timestamp.json'));
    const forged = Buffer.from(JSON.stringify({ signed: { ...ours.signed, version: 2 ** 40 }, signatures: ours.signatures }));
    await meta.putBlob(digestOf(forged), forged);
    for (const layer of manifest.layers)
      if (layer.annotations['tuf.io/filename'] === 'timestamp.json')
        Object.assign(layer, { digest: digestOf(forged), size: forged.length });
    await meta.putManifest('latest', Buffer.from(JSON.stringify(manifest)), latest.mediaType);
    const head = git(cwd, 'rev-parse', 'HEAD').trim();
    const forgedRun = tufctl(['refresh', '--publish', to, '--force', '--commit'], { cwd, env });
    assert.equal(forgedRun.code, 1);
    assert.match(forgedRun.stderr, /REGISTRY_TAMPERED\].*nothing was signed.*tufctl publish --repair/);
    assert.match(
      forgedRun.stderr,
      /timestamp\.json \(v1099511627776\) is not signed by the timestamp key\(s\) of root v1 \(0\/1 valid signatures\)/,
    );
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    assert.equal(git(cwd, 'rev-parse', 'HEAD').trim(), head);
    // Once publish --repair put the signed state back, the job signs above the valid version, not above the forged one.
    ok(['publish', '--to', to, '--repair'], { cwd });
    const repaired = ok(['refresh', '--publish', to, '--force', '--json'], { cwd, env }).json;
    assert.equal(repaired.registry.timestamp, 2);
    assert.deepEqual(
      repaired.signed.map((r: { role: string; version: number }) => `${r.role} v${r.version}`),
      ['timestamp v3'],
    );
    git(cwd, 'commit', '-qm', 'refresh after repair');

    const badDest = tufctl(['refresh', '--publish', 'ftp://example.invalid/x'], { cwd, env });
    assert.equal(badDest.code, 2);
    assert.match(badDest.stderr, /error \[USAGE\]/);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
  } finally {
    fx.cleanup();
  }
});

/**
 * Every read of the client is bounded: a registry, layout directory or
 * mirror serving a 400 MB `timestamp.json` (generated while sent, never held
 * in memory here) makes `tufctl client verify` fail with RESPONSE_TOO_LARGE,
 * naming the file and the cap, in seconds and with the memory of an ordinary
 * run. The child's peak RSS is measured by /usr/bin/time -v (or, without it,
 * process.resourceUsage() in a preloaded module).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CLI, newRepository, ok, type Fixture } from '../helpers/harness.js';
import { startRegistry } from '../helpers/registry.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

const HUGE = 400 * 1000 * 1000;
const MAX_RSS_MB = 300;
const MAX_SECONDS = 30;
const TIME = '/usr/bin/time';

interface Measured {
  code: number;
  stderr: string;
  seconds: number;
  rssMB: number;
}

/** Runs tufctl as a child (asynchronously: the test process may be serving it) and measures its peak RSS. */
function measured(args: string[]): Promise<Measured> {
  const useTime = existsSync(TIME);
  const preload = `data:text/javascript,process.on('exit',()=>process.stderr.write('tufctl-test-maxrss-kb '+process.resourceUsage().maxRSS+'\\n'))`;
  const command = useTime ? TIME : process.execPath;
  const argv = useTime ? ['-v', process.execPath, CLI, ...args] : ['--import', preload, CLI, ...args];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      const kb = useTime
        ? /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]
        : /tufctl-test-maxrss-kb (\d+)/.exec(stderr)?.[1];
      const status = useTime ? Number(/Exit status: (\d+)/.exec(stderr)?.[1] ?? code) : (code ?? -1);
      resolve({ code: status, stderr, seconds: (Date.now() - started) / 1000, rssMB: Number(kb ?? NaN) / 1024 });
    });
  });
}

function assertBounded(run: Measured, what: string, pattern: RegExp): void {
  assert.equal(run.code, 1, `${what}: exit 1\n${run.stderr}`);
  assert.match(run.stderr, pattern, what);
  assert.ok(run.seconds < MAX_SECONDS, `${what}: failed within ${MAX_SECONDS} s (took ${run.seconds.toFixed(1)} s)`);
  assert.ok(Number.isFinite(run.rssMB), `${what}: peak RSS measured`);
  assert.ok(run.rssMB < MAX_RSS_MB, `${what}: peak RSS ${run.rssMB.toFixed(0)} MB < ${MAX_RSS_MB} MB`);
}

function verifyArgs(fx: Fixture, from: string, cache: string): string[] {
  return [
    'client',
    'verify',
    '--from',
    from,
    '--root',
    join(fx.repo, 'metadata', 'root_history', '1.root.json'),
    '--cache',
    join(fx.root, cache),
  ];
}

const TIMESTAMP_TOO_LARGE = /^tufctl: error \[RESPONSE_TOO_LARGE\]: timestamp\.json .* is larger than the limit of 16 KiB \(16384 bytes\)/m;

test('a registry serving a 400 MB timestamp.json: client verify fails with RESPONSE_TOO_LARGE in bounded time and memory', async (t) => {
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.host);
  const fx = newRepository(['--no-policies']);
  try {
    ok(['publish', '--to', `oci://${reg.host}/acme`], { cwd: fx.repo });
    const manifest = (await (
      await fetch(`${reg.url}/v2/acme/tuf-metadata/manifests/latest`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
    ).json()) as { layers: Array<{ digest: string; annotations: Record<string, string> }> };
    const timestamp = manifest.layers.find((l) => l.annotations['tuf.io/filename'] === 'timestamp.json')!.digest;
    // The registry itself is fine: the same client through the proxy without faults verifies.
    ok(verifyArgs(fx, `oci://${proxy.host}/acme`, 'cache-ok'));

    for (const chunked of [true, false]) {
      proxy.clearRequests();
      proxy.setFaults([{ method: 'GET', path: new RegExp(`/blobs/${timestamp}$`), fault: { kind: 'huge-body', bytes: HUGE, chunked } }]);
      const what = chunked ? 'chunked body (no Content-Length)' : 'declared Content-Length';
      const run = await measured(verifyArgs(fx, `oci://${proxy.host}/acme`, `cache-${chunked}`));
      assertBounded(run, what, TIMESTAMP_TOO_LARGE);
      const served = proxy.requests.find((r) => r.fault === 'huge-body');
      assert.ok(served, `${what}: the huge body was requested`);
      assert.ok((served.bytesSent ?? 0) < HUGE, `${what}: the client hung up after ${served.bytesSent} of ${HUGE} bytes`);
      t.diagnostic(
        `${what}: exit ${run.code} in ${run.seconds.toFixed(2)} s, peak RSS ${run.rssMB.toFixed(0)} MB, proxy wrote ${served.bytesSent} bytes`,
      );
    }

    // publish reads the registry's timestamp (it differs from a newly signed one) with the same cap.
    ok(['timestamp', '--force', '--key', fx.key('online'), '--commit'], { cwd: fx.repo });
    proxy.clearRequests();
    proxy.setFaults([
      { method: 'GET', path: new RegExp(`/blobs/${timestamp}$`), fault: { kind: 'huge-body', bytes: HUGE, chunked: true } },
    ]);
    const publish = await measured(['publish', '--to', `oci://${proxy.host}/acme`, '--repo', fx.repo]);
    assertBounded(
      publish,
      'publish',
      /REGISTRY_TAMPERED[^]*timestamp\.json GET blob .* is larger than the limit of 16 KiB \(16384 bytes\)/,
    );
    assert.ok(!proxy.requests.some((r) => r.method !== 'GET' && r.method !== 'HEAD'), 'publish wrote nothing');
    t.diagnostic(`publish: exit ${publish.code} in ${publish.seconds.toFixed(2)} s, peak RSS ${publish.rssMB.toFixed(0)} MB`);
  } finally {
    await proxy.stop();
    await reg.stop();
    fx.cleanup();
  }
});

test('a mirror and a layout directory serving a 400 MB timestamp.json: the same error, bounded', async (t) => {
  const fx = newRepository(['--no-policies']);
  let server: Server | undefined;
  try {
    // An HTTP mirror (the layout of `tufctl export`) whose timestamp.json never ends.
    const out = join(fx.root, 'export');
    ok(['export', out], { cwd: fx.repo });
    let huge = false;
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (huge && path === '/metadata/timestamp.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const zeros = Buffer.alloc(64 * 1024, 0x20);
        let left = HUGE;
        const pump = (): void => {
          while (left > 0) {
            left -= zeros.length;
            if (!res.write(zeros)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => (left = 0));
        pump();
        return;
      }
      const file = join(out, path);
      if (!file.startsWith(out + '/') || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The mirror as it should be: tufctl's own fetcher verifies it and downloads a target.
    const fine = await measured([...verifyArgs(fx, mirror, 'cache-mirror-ok')]);
    assert.equal(fine.code, 0, fine.stderr);
    const got = await measured([
      'client',
      'fetch',
      'version-constraints',
      ...verifyArgs(fx, mirror, 'cache-mirror-ok').slice(2),
      '--out',
      join(fx.root, 'vc'),
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(readFileSync(join(fx.root, 'vc'), 'utf8'), readFileSync(join(fx.repo, 'targets', 'version-constraints'), 'utf8'));
    huge = true;
    const viaMirror = await measured(verifyArgs(fx, mirror, 'cache-mirror'));
    assertBounded(viaMirror, 'HTTP mirror', TIMESTAMP_TOO_LARGE);
    t.diagnostic(`HTTP mirror: exit ${viaMirror.code} in ${viaMirror.seconds.toFixed(2)} s, peak RSS ${viaMirror.rssMB.toFixed(0)} MB`);

    // A layout directory whose timestamp blob is a sparse 400 MB file: refused by its size, never read.
    const layout = join(fx.root, 'layout');
    ok(['publish', '--to', `oci-layout:${layout}`], { cwd: fx.repo });
    const index = JSON.parse(readFileSync(join(layout, 'tuf-metadata', 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    const tag = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'latest')!;
    const latest = JSON.parse(readFileSync(join(layout, 'tuf-metadata', 'blobs', 'sha256', tag.digest.slice(7)), 'utf8')) as {
      layers: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    const blob = latest.layers.find((l) => l.annotations['tuf.io/filename'] === 'timestamp.json')!.digest.slice(7);
    const blobPath = join(layout, 'tuf-metadata', 'blobs', 'sha256', blob);
    writeFileSync(blobPath, '');
    truncateSync(blobPath, HUGE);
    const viaLayout = await measured(verifyArgs(fx, `oci-layout:${layout}`, 'cache-layout'));
    assertBounded(viaLayout, 'layout directory', TIMESTAMP_TOO_LARGE);
    t.diagnostic(
      `layout directory: exit ${viaLayout.code} in ${viaLayout.seconds.toFixed(2)} s, peak RSS ${viaLayout.rssMB.toFixed(0)} MB`,
    );
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    fx.cleanup();
  }
});

// Publish benchmark (part of `npm run bench`, or alone: `node scripts/bench-publish.mjs [--targets N]`
// after `npm run build`): a repository with N target files (default 1,000) in a delegated role is
// published to a local Distribution registry on 127.0.0.1 — first at the default concurrency (8), then
// to a second namespace at concurrency 1 for comparison — republished unchanged, then only the
// timestamp is re-signed and republished. Prints wall time, HTTP requests, blobs, manifests and bytes
// uploaded for each, as reported by `tufctl publish --json` (counted by the client).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REGISTRY = '/usr/bin/docker-registry';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry-data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn(REGISTRY, ['serve', config], { stdio: 'ignore' });
  // CPU seconds the registry has used so far (utime + stime in /proc, in clock ticks of 1/100 s).
  const cpu = () => {
    try {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return NaN;
    }
  };
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return { host: `127.0.0.1:${port}`, cpu, stop: () => child.kill() };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the registry did not start');
}

export async function benchPublish({ cli, dir, targets = 1000, env }) {
  if (!existsSync(REGISTRY)) {
    return `publish: skipped — ${REGISTRY} is missing (apt-get install docker-registry)`;
  }
  const work = mkdtempSync(join(dir, 'publish-'));
  const registry = await startRegistry(work);
  // tufctl's CPU time comes from GNU time where it is installed; the registry's from /proc.
  const timed = existsSync('/usr/bin/time');
  const run = (args, cwd = work) => {
    const registryBefore = registry.cpu();
    const started = process.hrtime.bigint();
    const command = timed ? ['/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, cli, ...args]] : [process.execPath, [cli, ...args]];
    const r = spawnSync(command[0], command[1], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`tufctl ${args.join(' ')} failed:\n${r.stderr}`);
    const times = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
    return {
      seconds,
      cpu: times ? Number(times[1]) + Number(times[2]) : NaN,
      registryCpu: registry.cpu() - registryBefore,
      json: args.includes('--json') ? JSON.parse(r.stdout) : undefined,
    };
  };
  try {
    const repo = join(work, 'repo');
    const keys = join(work, 'keys');
    run(['init', repo, '--generate-keys', keys]);
    run(['key', 'generate', '--out', join(keys, 'pkgs.pem')]);
    run(['delegate', 'add', 'pkgs', '--paths', 'pkgs/*', '--key', join(keys, 'pkgs.pub.pem'), '--repo', repo]);
    mkdirSync(join(repo, 'targets', 'pkgs'), { recursive: true });
    const files = [];
    for (let i = 0; i < targets; i++) {
      const file = join(repo, 'targets', 'pkgs', `pkg-${i}.json`);
      writeFileSync(file, JSON.stringify({ package: i, payload: 'x'.repeat(200 + (i % 300)) }) + '\n');
      files.push(file);
    }
    run(['target', 'add', ...files, '--repo', repo]);
    run(['sign', '--key', join(keys, 'targets.pem'), '--key', join(keys, 'pkgs.pem'), '--repo', repo]);
    run(['snapshot', '--key', join(keys, 'online.pem'), '--repo', repo]);
    run(['timestamp', '--key', join(keys, 'online.pem'), '--repo', repo, '--commit']);
    const dest = `oci://${registry.host}/bench`;
    const first = run(['publish', '--to', dest, '--json', '--repo', repo]);
    const sequential = run(['publish', '--to', `oci://${registry.host}/sequential`, '--concurrency', '1', '--json', '--repo', repo]);
    const same = run(['publish', '--to', dest, '--json', '--repo', repo]);
    run(['timestamp', '--force', '--key', join(keys, 'online.pem'), '--repo', repo, '--commit']);
    const ts = run(['publish', '--to', dest, '--json', '--repo', repo]);
    // The scheduled job: read the registry, decide, sign a timestamp with the online key, publish, re-read.
    const online = { ...env, TUFCTL_ONLINE_KEY: readFileSync(join(keys, 'online.pem'), 'utf8') };
    const refreshRuns = [];
    for (let i = 0; i < 9; i++) {
      const started = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [cli, 'refresh', '--publish', dest, '--force', '--commit', '--json', '--repo', repo], {
        env: online,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`tufctl refresh failed:\n${r.stderr}`);
      refreshRuns.push({ seconds: Number(process.hrtime.bigint() - started) / 1e9, json: JSON.parse(r.stdout) });
    }
    refreshRuns.sort((a, b) => a.seconds - b.seconds);
    const medianRefresh = refreshRuns[Math.floor(refreshRuns.length / 2)];
    const idleStarted = process.hrtime.bigint();
    const idle = spawnSync(process.execPath, [cli, 'refresh', '--publish', dest, '--json', '--repo', repo], {
      env: online,
      encoding: 'utf8',
    });
    if (idle.status !== 0) throw new Error(`tufctl refresh failed:\n${idle.stderr}`);
    const idleSeconds = Number(process.hrtime.bigint() - idleStarted) / 1e9;
    const row = (label, r) =>
      `  ${label.padEnd(34)} ${r.seconds.toFixed(3).padStart(8)} s ${r.cpu.toFixed(2).padStart(7)} ${r.registryCpu.toFixed(2).padStart(7)} ${String(r.json.stats.requests).padStart(9)} ${String(r.json.stats.blobsUploaded).padStart(6)} ${String(r.json.stats.manifestsPut).padStart(10)} ${String(r.json.stats.bytesUploaded).padStart(12)}`;
    return [
      `publish to a local registry (${targets} target files in a delegated role)`,
      `  ${'step'.padEnd(34)} ${'wall'.padStart(10)} ${'CPU s'.padStart(7)} ${'reg CPU'.padStart(7)} ${'requests'.padStart(9)} ${'blobs'.padStart(6)} ${'manifests'.padStart(10)} ${'bytes up'.padStart(12)}`,
      row('first publish (concurrency 8)', first),
      row('first publish (concurrency 1)', sequential),
      row('republish, unchanged', same),
      row('timestamp-only republish', ts),
      `  (CPU s: tufctl's user + system time; reg CPU: the registry's; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')} at the end)`,
      '',
      `refresh (decide + sign timestamp + publish + re-read), ${refreshRuns.length} runs`,
      `  median wall ${medianRefresh.seconds.toFixed(3)} s (min ${refreshRuns[0].seconds.toFixed(3)}, max ${refreshRuns.at(-1).seconds.toFixed(3)}), ` +
        `${medianRefresh.json.published.stats.requests} HTTP requests, ${medianRefresh.json.published.stats.blobsUploaded} blob, ${medianRefresh.json.published.stats.manifestsPut} manifest`,
      `  nothing due: ${idleSeconds.toFixed(3)} s, ${JSON.parse(idle.stdout).published ? 'published' : 'nothing published'}`,
    ].join('\n');
  } finally {
    registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--targets');
  const targets = at > 0 ? Number(process.argv[at + 1]) : 1000;
  const cli = fileURLToPath(new URL('../bin/tufctl.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'tufctl-bench-publish-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'tufctl bench',
    GIT_AUTHOR_EMAIL: 'bench@tufctl.invalid',
    GIT_COMMITTER_NAME: 'tufctl bench',
    GIT_COMMITTER_EMAIL: 'bench@tufctl.invalid',
  };
  try {
    console.log(await benchPublish({ cli, dir, targets, env }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

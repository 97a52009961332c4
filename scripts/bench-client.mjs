/**
 * The client side of `npm run bench`: a repository the bench built is
 * published with `tufctl publish` to an OCI layout directory, then
 * `tufctl client fetch` downloads one target from it with a cold cache (a
 * fresh cache directory each time: root chain, timestamp, the snapshot of
 * every bin, top-level targets, one bin, the target), three times.
 *
 *   import { benchClient } from './bench-client.mjs';
 *   await benchClient({ cli, dir, label, env }) // dir: the size's work directory (repo/, keys/)
 *
 * Returns a Markdown section. Wall time, user + system CPU time and peak
 * resident memory come from /usr/bin/time when it exists (wall time only
 * otherwise).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
const HAVE_GNU_TIME = existsSync(GNU_TIME);
const RUNS = 3;

/** Runs one command; wall, CPU (user + system) and peak RSS in MB (NaN where unknown). */
function run(argv, options) {
  const timeFile = join(options.dir, '.client-time.out');
  const full = HAVE_GNU_TIME ? [GNU_TIME, '-f', '%e %U %S %M', '-o', timeFile, ...argv] : argv;
  const started = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { cwd: options.cwd, env: options.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.slice(1).join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  if (!HAVE_GNU_TIME) return { wall, cpu: NaN, rssMB: NaN, stdout: r.stdout };
  const [, user, system, kb] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + system, rssMB: kb / 1024, stdout: r.stdout };
}

function tufctl(cli, args, options) {
  return run([process.execPath, cli, ...args], options);
}

export async function benchClient({ cli, dir, label, env }) {
  const repo = join(dir, 'repo');
  const keys = join(dir, 'keys');
  const layout = join(dir, 'client-layout');
  const options = { cwd: repo, env, dir };
  const log = (text) => process.stderr.write(`[${label}] client: ${text}\n`);

  // One target with a file, in a bin (the bench's own targets are described by length and hash only).
  mkdirSync(join(repo, 'targets', 'pkgs'), { recursive: true });
  writeFileSync(join(repo, 'targets', 'pkgs', 'bench-client.txt'), 'fetched by the client benchmark\n');
  tufctl(
    cli,
    ['target', 'add', 'targets/pkgs/bench-client.txt', '--sign', '--key', join(keys, 'bins.pem'), '--key', join(keys, 'online.pem')],
    options,
  );
  spawnSync('git', ['add', '-A'], { cwd: repo, env });
  spawnSync('git', ['commit', '-q', '-m', 'bench: a target file for the client'], { cwd: repo, env });

  log('publish to an OCI layout directory …');
  rmSync(layout, { recursive: true, force: true });
  const published = tufctl(cli, ['publish', '--to', `oci-layout:${layout}`], options);
  log(`published in ${published.wall.toFixed(1)} s`);

  const rows = [];
  const root = join(repo, 'metadata', 'root_history', '1.root.json');
  for (let i = 0; i < RUNS; i++) {
    const cache = join(dir, `client-cache-${i}`);
    rmSync(cache, { recursive: true, force: true });
    const load = loadavg()[0];
    const r = tufctl(
      cli,
      [
        'client',
        'fetch',
        'pkgs/bench-client.txt',
        '--from',
        `oci-layout:${layout}`,
        '--root',
        root,
        '--cache',
        cache,
        '--out',
        join(dir, 'client-fetched.txt'),
      ],
      options,
    );
    if (readFileSync(join(dir, 'client-fetched.txt'), 'utf8') !== 'fetched by the client benchmark\n')
      throw new Error('client fetch returned other bytes');
    rows.push({ ...r, load });
    log(`fetch ${i + 1}/${RUNS}: ${r.wall.toFixed(2)} s`);
    rmSync(cache, { recursive: true, force: true });
  }
  const fmt = (v, digits) => (Number.isNaN(v) ? '–' : v.toFixed(digits));
  const sorted = [...rows].sort((a, b) => a.wall - b.wall);
  const median = sorted[Math.floor(sorted.length / 2)];
  return [
    `### Client, ${label}: one target, cold cache, from an OCI layout directory`,
    '',
    '| step | wall s | CPU s | peak RSS MB | load average (1 min) |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| publish --to oci-layout: (whole repository) | ${fmt(published.wall, 1)} | ${fmt(published.cpu, 1)} | ${fmt(published.rssMB, 0)} | |`,
    ...rows.map(
      (r, i) =>
        `| client fetch, cold cache, run ${i + 1} | ${fmt(r.wall, 2)} | ${fmt(r.cpu, 2)} | ${fmt(r.rssMB, 0)} | ${r.load.toFixed(2)} |`,
    ),
    `| **client fetch, median of ${RUNS}** | **${fmt(median.wall, 2)}** | ${fmt(median.cpu, 2)} | ${fmt(median.rssMB, 0)} | |`,
  ].join('\n');
}

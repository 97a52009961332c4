#!/usr/bin/env node
/**
 * Benchmarks tufctl on large hashed-bin repositories, each step a separate
 * CLI process, as a user would run it.
 *
 *   node scripts/bench.mjs [--sizes N:B[,N:B...]] [--updates K] [--keep] [--dir DIR] [--reference [CHECKOUT]]
 *
 * Default sizes: 100000:1024 and 1000000:16384. For every size it builds a
 * repository of N targets (described by length and sha256, no files) in B
 * succinct hashed bins, signs everything, verifies it, commits, then adds
 * one target at a time (`target add-entry --sign`, a whole CLI process each)
 * K times. For comparison with in-process builds, steps 3-5 are also run as
 * one process (A1 `sign targets`, A2 `target add-entries --sign`) on a copy of
 * the repository taken after step 2. Wall time is measured around each
 * process; peak memory (maximum
 * resident set size) comes from `/usr/bin/time -v` when it exists, otherwise
 * from `process.resourceUsage().maxRSS` reported by a preloaded module (node
 * steps) or from polling /proc/PID/status VmHWM (git steps).
 *
 * The work directory (default `.bench/` in the project, gitignored) is
 * removed afterwards unless --keep is given.
 */
import { benchPublish } from './bench-publish.mjs';
import { benchClient } from './bench-client.mjs';
import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(PROJECT, 'bin', 'tufctl.js');
const DEFAULT_SIZES = [
  [100_000, 1_024],
  [1_000_000, 16_384],
];

// ------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const options = {
    sizes: [],
    updates: 5,
    keep: false,
    dir: join(PROJECT, '.bench'),
    profile: undefined,
    publish: true,
    publishTargets: 1000,
    patterns: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === '--sizes' || arg.startsWith('--sizes=')) {
      const text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : value();
      for (const part of text.split(',')) {
        const match = /^(\d[\d_]*):(\d+)$/.exec(part.trim());
        if (!match) fail(`--sizes expects N:B[,N:B...], e.g. 100000:1024 (got "${part}")`);
        const n = Number(match[1].replaceAll('_', ''));
        const b = Number(match[2]);
        if (n < 1 || b < 2 || (b & (b - 1)) !== 0) fail(`--sizes ${part}: N >= 1 and B a power of two >= 2`);
        options.sizes.push([n, b]);
      }
    } else if (arg === '--updates') {
      options.updates = Number(value());
      if (!Number.isInteger(options.updates) || options.updates < 1) fail('--updates must be a whole number >= 1');
    } else if (arg === '--no-publish') {
      options.publish = false;
    } else if (arg === '--no-client') {
      options.client = false;
    } else if (arg === '--no-patterns') {
      options.patterns = false;
    } else if (arg === '--publish-targets') {
      options.publishTargets = Number(value());
    } else if (arg === '--keep') {
      options.keep = true;
    } else if (arg === '--dir') {
      options.dir = resolve(value());
    } else if (arg === '--profile') {
      options.profile = resolve(value());
    } else if (arg === '--reference' || arg.startsWith('--reference=')) {
      // python-tuf from the environment, or from the checkout named after it
      const next = argv[i + 1];
      const given = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : next !== undefined && !next.startsWith('--') ? argv[++i] : '';
      options.reference = { pythonTuf: given ? resolve(given) : undefined };
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: node scripts/bench.mjs [--sizes N:B[,N:B...]] [--updates K] [--keep] [--dir DIR] [--profile DIR]\n' +
          '  --sizes    targets:bins pairs (default 100000:1024,1000000:16384)\n' +
          '  --updates  one-target updates to time (default 5)\n' +
          '  --keep     keep the work directory\n' +
          '  --no-publish        skip the registry publish benchmark\n' +
          '  --no-patterns       skip validate on catastrophic-backtracking mappings\n' +
          '  --publish-targets N target files in the publish benchmark (default 1000)\n' +
          '  --dir      work directory (default .bench/ in the project)\n' +
          '  --profile  write a V8 CPU profile of every tufctl process into DIR/<size>/<step>/ (slows it down)\n' +
          '  --reference [CHECKOUT]  also build each size with python-tuf (scripts/bench-reference.py, interpreter\n' +
          '             $PYTHON or python3), from the environment or from a python-tuf checkout\n',
      );
      process.exit(0);
    } else {
      fail(`unknown argument ${arg} (see --help)`);
    }
  }
  if (options.sizes.length === 0) options.sizes = DEFAULT_SIZES;
  return options;
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

// ------------------------------------------------------------------ measuring

const GNU_TIME = '/usr/bin/time';
const HAVE_GNU_TIME = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-v', 'true'], { encoding: 'utf8' }).stderr.includes('Maximum resident');

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'tufctl bench',
  GIT_AUTHOR_EMAIL: 'bench@tufctl.invalid',
  GIT_COMMITTER_NAME: 'tufctl bench',
  GIT_COMMITTER_EMAIL: 'bench@tufctl.invalid',
};

let workDir;
let preloadPath;

/**
 * Runs `command args` and returns { wall (s), rssMB, cpu (s) or undefined, stdout }.
 * Throws with the output when it exits non-zero.
 */
async function measure(command, args, options = {}) {
  const env = { ...process.env, ...GIT_ENV, ...options.env };
  for (const name of Object.keys(env)) if (name.startsWith('TUFCTL_KEY_')) delete env[name];
  const cwd = options.cwd ?? workDir;
  let argv;
  let timeFile;
  let rssFile;
  if (HAVE_GNU_TIME) {
    timeFile = join(workDir, '.time.out');
    argv = [GNU_TIME, '-v', '-o', timeFile, command, ...args];
  } else if (command === process.execPath) {
    rssFile = join(workDir, '.maxrss.out');
    rmSync(rssFile, { force: true });
    env.TUFCTL_BENCH_RSS_FILE = rssFile;
    argv = [command, '--import', preloadPath, ...args];
  } else {
    argv = [command, ...args];
  }
  const started = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  let polledKB = 0;
  let done = false;
  const exited = new Promise((r) => child.on('close', (code, signal) => ((done = true), r(code ?? signal))));
  if (!HAVE_GNU_TIME && !rssFile) {
    // Poll the process group's peak RSS (VmHWM) while it runs: an approximation.
    (async () => {
      while (!done) {
        polledKB = Math.max(polledKB, treeHighWater(child.pid));
        await sleep(20);
      }
    })();
  }
  const code = await exited;
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const stdout = Buffer.concat(out).toString();
  const stderr = Buffer.concat(err).toString();
  if (code !== 0 && !options.anyExit) {
    throw new Error(`${[command, ...args].join(' ')} exited ${code}\n${stdout.slice(-2000)}\n${stderr.slice(-4000)}`);
  }
  let rssMB;
  let cpu;
  if (timeFile) {
    const report = readFileSync(timeFile, 'utf8');
    const field = (name) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(report)?.[1]);
    rssMB = field('Maximum resident set size \\(kbytes\\)') / 1024;
    cpu = field('User time \\(seconds\\)') + field('System time \\(seconds\\)');
  } else if (rssFile) {
    rssMB = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : NaN;
  } else {
    rssMB = polledKB / 1024;
  }
  return { wall, rssMB, cpu, stdout, stderr, code };
}

function treeHighWater(pid) {
  let peak = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    peak = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children ? children.split(/\s+/) : []) peak = Math.max(peak, treeHighWater(Number(child)));
  } catch {
    // the process has gone
  }
  return peak;
}

let profileDir;
let currentStep = 'tufctl';

function tufctl(args, options = {}) {
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, currentStep.trim().replace(/[^A-Za-z0-9]+/g, '-'))] : [];
  return measure(process.execPath, [...prof, CLI, ...args], options);
}

function sh(script, options) {
  return measure('/bin/sh', ['-c', script], options);
}

// ------------------------------------------------------------------ the benchmark

/** The deterministic sha256 a synthetic target is described by. */
function digestOf(path) {
  return createHash('sha256').update(path).digest('hex');
}

function writeTargets(file, n) {
  const fd = openSync(file, 'w');
  let chunk = '';
  for (let i = 0; i < n; i++) {
    const path = `pkgs/target-${String(i).padStart(8, '0')}`;
    chunk += `{"path":"${path}","length":${1024 + (i % 4096)},"sha256":"${digestOf(path)}"}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

function fmtN(n) {
  return n.toLocaleString('en-US');
}

async function benchSize(n, bins, options) {
  const label = `${fmtN(n)} targets / ${fmtN(bins)} bins`;
  const dir = join(options.dir, `${n}-${bins}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  workDir = dir;
  profileDir = options.profile ? join(options.profile, `${n}-${bins}`) : undefined;
  const repo = join(dir, 'repo');
  const altRepo = join(dir, 'repo-one-process');
  const keys = join(dir, 'keys');
  const jsonl = join(dir, 'targets.jsonl');
  const rows = [];
  const log = (text) => process.stderr.write(`[${label}] ${text}\n`);
  const step = async (name, run, note = '') => {
    log(`${name} …`);
    currentStep = name;
    const r = await run();
    rows.push({ name, ...r, note });
    log(`${name}: ${r.wall.toFixed(2)} s, ${r.rssMB.toFixed(0)} MB`);
    return r;
  };
  const R = ['--repo', repo];

  await step('1. init --generate-keys', () => tufctl(['init', repo, '--generate-keys', keys]));
  await step('   key generate (bins key)', () => tufctl(['key', 'generate', '--out', join(keys, 'bins.pem')]));
  log('writing targets.jsonl …');
  const genStart = process.hrtime.bigint();
  writeTargets(jsonl, n);
  const genWall = Number(process.hrtime.bigint() - genStart) / 1e9;
  rows.push({ name: '   (generate targets.jsonl)', wall: genWall, rssMB: NaN, note: 'bench script, not tufctl' });
  await step(`2. delegate add bins --bins ${bins}`, () =>
    tufctl(['delegate', 'add', 'bins', '--bins', String(bins), '--key', join(keys, 'bins.pub.pem'), ...R]),
  );
  // The state after step 2, for building the rest in one process (the A steps below).
  cpSync(repo, altRepo, { recursive: true });
  await step('3. target add-entries', () => tufctl(['target', 'add-entries', '--from', jsonl, ...R]));
  await step('4. sign (every bin + targets)', () =>
    tufctl(['sign', '--key', join(keys, 'bins.pem'), '--key', join(keys, 'targets.pem'), ...R]),
  );
  await step('5a. snapshot', () => tufctl(['snapshot', '--key', join(keys, 'online.pem'), ...R]));
  await step('5b. timestamp', () => tufctl(['timestamp', '--key', join(keys, 'online.pem'), ...R]));
  const built = await step('6a. verify --client never', () => tufctl(['verify', '--client', 'never', '--json', ...R]));
  // (init may add targets of its own: count them rather than assume n)
  const builtTargets = JSON.parse(built.stdout).targets.total;
  if (builtTargets < n) throw new Error(`verify after step 5 counts ${builtTargets} targets, fewer than the ${n} added`);
  await step('6b. verify (client auto)', () => tufctl(['verify', ...R]));
  // No automatic `git gc` running in the background while later steps are timed.
  spawnSync('git', ['config', 'gc.auto', '0'], { cwd: repo });
  await step(
    '7. git add -A && git commit',
    () => sh('git add -A && git commit -q -m "bench: initial targets"', { cwd: repo }),
    'git, not tufctl',
  );

  const updates = [];
  const commits = [];
  for (let i = 0; i < options.updates; i++) {
    const path = `pkgs/new-target-${i}`;
    log(`8. update ${i + 1}/${options.updates} …`);
    currentStep = '8. update';
    const r = await tufctl([
      'target',
      'add-entry',
      path,
      '--length',
      '1',
      '--sha256',
      digestOf(path),
      '--sign',
      '--key',
      join(keys, 'bins.pem'),
      '--key',
      join(keys, 'online.pem'),
      ...R,
    ]);
    updates.push(r);
    log(`   ${r.wall.toFixed(3)} s, ${r.rssMB.toFixed(0)} MB`);
    commits.push(await sh(`git commit -q -m "bench: add ${path}"`, { cwd: repo }));
  }
  const walls = updates.map((u) => u.wall).sort((a, b) => a - b);
  const median = walls.length % 2 ? walls[(walls.length - 1) / 2] : (walls[walls.length / 2 - 1] + walls[walls.length / 2]) / 2;
  const update = {
    name: `8. target add-entry --sign (×${updates.length})`,
    wall: median,
    maxWall: walls[walls.length - 1],
    rssMB: Math.max(...updates.map((u) => u.rssMB)),
    cpu: updates[0].cpu === undefined ? undefined : medianOf(updates.map((u) => u.cpu)),
    note: `median; max ${walls[walls.length - 1].toFixed(3)} s; all: ${updates.map((u) => u.wall.toFixed(3)).join(' ')}`,
  };
  rows.push(update);
  rows.push({
    name: '   git commit after each update',
    wall: medianOf(commits.map((c) => c.wall)),
    rssMB: Math.max(...commits.map((c) => c.rssMB)),
    cpu: undefined,
    note: 'median; git, not tufctl',
  });
  const check = await step('   verify --client never (after updates)', () => tufctl(['verify', '--client', 'never', '--json', ...R]));
  const report = JSON.parse(check.stdout);
  if (!report.ok || report.targets.total !== builtTargets + options.updates) {
    throw new Error(`final verify: ok=${report.ok}, ${report.targets.total} targets (expected ${builtTargets + options.updates})`);
  }

  // Steps 3-5 as one process: targets signed first (add-entries --sign signs only what it
  // changed), then add-entries with the bins and online keys, which also signs snapshot and timestamp.
  const A = ['--repo', altRepo];
  await step('A1. sign targets', () => tufctl(['sign', 'targets', '--key', join(keys, 'targets.pem'), ...A]));
  await step('A2. target add-entries --sign', () =>
    tufctl(['target', 'add-entries', '--from', jsonl, '--sign', '--key', join(keys, 'bins.pem'), '--key', join(keys, 'online.pem'), ...A]),
  );
  const altCheck = await step('   verify --client never (A)', () => tufctl(['verify', '--client', 'never', '--json', ...A]));
  const altReport = JSON.parse(altCheck.stdout);
  if (!altReport.ok || altReport.targets.total !== builtTargets) {
    throw new Error(`verify after A2: ok=${altReport.ok}, ${altReport.targets.total} targets (expected ${builtTargets})`);
  }

  // The reference: python-tuf's Metadata API building the same targets in one process (no git), right after A2.
  let reference;
  if (options.reference) {
    const args = [
      join(PROJECT, 'scripts', 'bench-reference.py'),
      '--targets',
      jsonl,
      '--bins',
      String(bins),
      '--out',
      join(dir, 'reference'),
    ];
    if (options.reference.pythonTuf) args.push('--python-tuf', options.reference.pythonTuf);
    currentStep = 'R. python-tuf reference';
    log(`${currentStep} …`);
    const r = await measure(process.env.PYTHON || 'python3', args);
    const report = JSON.parse(r.stdout.trim().split('\n').pop());
    if (report.roles !== bins + 3) throw new Error(`python-tuf reference wrote ${report.roles} roles (expected ${bins + 3})`);
    reference = { ...r, name: `R. python-tuf ${report.tuf} Metadata API build (one process, no git)`, report };
    rows.push({
      name: reference.name,
      wall: r.wall,
      rssMB: r.rssMB,
      cpu: r.cpu,
      note: `assign ${report.assign} s, sign+write ${report.sign_write} s`,
    });
    log(`${currentStep}: ${r.wall.toFixed(2)} s, ${r.rssMB.toFixed(0)} MB`);
  }

  const sum = (pattern) => {
    const selected = rows.filter((r) => pattern.test(r.name));
    const cpu = selected.some((r) => r.cpu === undefined || Number.isNaN(r.cpu)) ? undefined : selected.reduce((t, r) => t + r.cpu, 0);
    return { wall: selected.reduce((t, r) => t + r.wall, 0), rssMB: Math.max(...selected.map((r) => r.rssMB)), cpu };
  };
  return {
    label,
    n,
    bins,
    rows,
    update,
    build: sum(/^[2-5][ab]?\. /),
    oneProcess: sum(/^(2\.|A[12]\.)/),
    reference,
  };
}

// ------------------------------------------------------------------ catastrophic-backtracking mappings

/**
 * `policy validate` on mappings built to make a backtracking matcher spin:
 * the default mapping for comparison, the issue's `^(a|a)*c$` next to
 * `^a{40}$` (with more nested quantifiers), rewrite loops through such
 * patterns, and a mapping that uses up the loop search's whole budget.
 */
async function benchPatterns(dir) {
  const root = join(dir, 'patterns');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  workDir = root;
  const repo = join(root, 'repo');
  await tufctl(['init', repo, '--generate-keys', join(root, 'keys'), '--owner', '@bench'], { cwd: root });
  const mappingPath = join(repo, 'targets', 'mapping.yaml');
  const base = readFileSync(mappingPath, 'utf8').trimEnd();
  const issue = [
    "  - pattern: '^(a|a)*c$'",
    '    policy-id: docker-official-images',
    "  - pattern: '^a{40}$'",
    '    policy-id: docker-official-images',
    "  - pattern: '^(a+)+$'",
    '    policy-id: docker-official-images',
    "  - pattern: '(x+x+)+y'",
    '    policy-id: docker-official-images',
  ];
  const loops = [
    "  - pattern: '^(a+)+$'",
    "    rewrite: '${1}a'",
    "  - pattern: '(x+x+)+y'",
    "    rewrite: 'xx${1}y'",
    "  - pattern: '^(a*)*b$'",
    "    rewrite: 'z$1'",
    "  - pattern: '^z(a*)b?$'",
    "    rewrite: 'a${1}b'",
  ];
  const budget = Array.from({ length: 12 }, (_, k) => [`  - pattern: '^(a?){500}a{500}b${k}$'`, `    rewrite: 'x${k}'`]).flat();
  const cases = [
    ['the default mapping (for comparison)', []],
    ["the issue's mapping: ^(a|a)*c$, ^a{40}$, ^(a+)+$, (x+x+)+y", issue],
    ['^(a|a)*c$, ^a{40}$ and rewrite loops through ^(a+)+$, (x+x+)+y, ^(a*)*b$', [...issue.slice(0, 4), ...loops]],
    ['12 rules of ^(a?){500}a{500}bN$ with rewrites (uses up the loop-search budget)', budget],
  ];
  const rows = [];
  for (const [name, rules] of cases) {
    writeFileSync(mappingPath, `${[base, ...rules].join('\n')}\n`);
    const r = await tufctl(['policy', 'validate', '--json'], { cwd: repo, anyExit: true });
    const problems = JSON.parse(r.stdout).problems.filter((p) => !p.message.startsWith('changed since it was recorded'));
    const counts = ['error', 'warning'].map((severity) => {
      const n = problems.filter((p) => p.severity === severity).length;
      return n === 0 ? '' : `${n} ${severity}${n === 1 ? '' : 's'}`;
    });
    const found = counts.filter(Boolean).join(', ') || 'valid';
    rows.push([
      name.replaceAll('|', '\\|'),
      r.wall.toFixed(2),
      r.cpu === undefined || Number.isNaN(r.cpu) ? '-' : r.cpu.toFixed(2),
      r.rssMB.toFixed(0),
      found,
    ]);
  }
  rmSync(root, { recursive: true, force: true });
  const head = ['mapping.yaml rules added', 'wall s', 'CPU s', 'peak RSS MB', 'problems found'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i >= 1 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  return [
    '### validate on a catastrophic-backtracking mapping (`tufctl policy validate`, one process each)',
    '',
    line(head),
    `|${widths.map((w, i) => (i >= 1 && i <= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

function fmtCpu(cpu) {
  return cpu === undefined || Number.isNaN(cpu) ? '' : cpu.toFixed(2);
}

function fmtLoad() {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function medianOf(values) {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function table(result) {
  const head = ['step', 'wall s', 'peak RSS MB', 'CPU s', 'note'];
  const body = result.rows.map((r) => [
    r.name,
    r.wall.toFixed(r.wall < 10 ? 3 : 1),
    Number.isNaN(r.rssMB) ? '-' : r.rssMB.toFixed(0),
    r.cpu === undefined || Number.isNaN(r.cpu) ? '-' : r.cpu.toFixed(2),
    r.note ?? '',
  ]);
  body.push(
    [
      'build, steps 2-5 (bins, targets, sign, snapshot, timestamp)',
      result.build.wall.toFixed(1),
      result.build.rssMB.toFixed(0),
      fmtCpu(result.build.cpu),
      'sum; peak of any step',
    ],
    [
      'build, steps 2 + A1 + A2 (one add-entries --sign process)',
      result.oneProcess.wall.toFixed(1),
      result.oneProcess.rssMB.toFixed(0),
      fmtCpu(result.oneProcess.cpu),
      'sum; peak of any step',
    ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 1 || i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  return [
    `### ${result.label}`,
    '',
    line(head),
    `|${widths.map((w, i) => (i >= 1 && i <= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(join(PROJECT, 'dist', 'cli', 'main.js'))) fail('dist/ is missing: run "npm run build" (npm run bench does)');
  mkdirSync(options.dir, { recursive: true });
  preloadPath = join(options.dir, 'maxrss-preload.mjs');
  writeFileSync(
    preloadPath,
    "import { writeFileSync } from 'node:fs';\n" +
      "process.on('exit', () => { if (process.env.TUFCTL_BENCH_RSS_FILE) writeFileSync(process.env.TUFCTL_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)); });\n",
  );
  const cpu =
    /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model;
  const version = JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')).version;
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const startLoad = fmtLoad();
  const header = [
    `tufctl ${version} benchmark — ${new Date().toISOString().slice(0, 10)}`,
    `machine: ${cpus().length} CPU(s), ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; node ${process.version}; ${git}`,
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `peak memory: ${HAVE_GNU_TIME ? '/usr/bin/time -v (maximum resident set size)' : 'process.resourceUsage().maxRSS (node), /proc VmHWM polling (git)'}`,
  ];
  process.stdout.write(`${header.join('\n')}\n`);
  const results = [];
  for (const [n, b] of options.sizes) {
    const result = await benchSize(n, b, options);
    results.push(result);
    process.stdout.write(`\n${table(result)}\n`);
    if (options.client !== false)
      process.stdout.write(
        `\n${await benchClient({ cli: CLI, dir: join(options.dir, `${n}-${b}`), label: result.label, env: { ...process.env, ...GIT_ENV } })}\n`,
      );
    if (!options.keep) rmSync(join(options.dir, `${n}-${b}`), { recursive: true, force: true });
  }
  if (options.publish) {
    process.stdout.write(
      `\n${await benchPublish({ cli: CLI, dir: options.dir, targets: options.publishTargets, env: { ...process.env, ...GIT_ENV } })}\n`,
    );
  }
  if (options.patterns) process.stdout.write(`\n${await benchPatterns(options.dir)}\n`);
  process.stdout.write(
    `\nload average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  process.stdout.write(`\nsummary (${header[0]}; ${header[1]}; load average at start ${startLoad}, at end ${fmtLoad()})\n`);
  const cpuText = (cpu) => (cpu === undefined || Number.isNaN(cpu) ? '' : `, CPU ${cpu.toFixed(1)} s`);
  for (const r of results) {
    process.stdout.write(
      `  ${r.label}: build (steps 2-5) ${r.build.wall.toFixed(1)} s${cpuText(r.build.cpu)}, peak ${r.build.rssMB.toFixed(0)} MB; ` +
        `as one process (2, A1, A2) ${r.oneProcess.wall.toFixed(1)} s${cpuText(r.oneProcess.cpu)}, peak ${r.oneProcess.rssMB.toFixed(0)} MB; ` +
        `one-target update median ${r.update.wall.toFixed(3)} s (max ${r.update.maxWall.toFixed(3)} s)${cpuText(r.update.cpu)}, peak ${r.update.rssMB.toFixed(0)} MB` +
        (r.reference
          ? `; python-tuf ${r.reference.report.tuf} reference ${r.reference.wall.toFixed(1)} s${cpuText(r.reference.cpu)}, peak ${r.reference.rssMB.toFixed(0)} MB ` +
            `(one-process build / reference ${(r.oneProcess.wall / r.reference.wall).toFixed(2)})`
          : '') +
        '\n',
    );
  }
  if (!options.keep) rmSync(preloadPath, { force: true });
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

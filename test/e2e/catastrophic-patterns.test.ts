/**
 * Mappings built to make a backtracking regular-expression engine spin (the
 * issue: `^(a|a)*c$` next to `^a{40}$`; nested quantifiers; rewrites through
 * them; a mapping that uses up the loop search's budget) through the built
 * CLI: `policy apply`, `policy validate`, `verify` and the pull-request check
 * `validate --base`. Each command runs with a time limit, so a regression
 * fails here instead of hanging the suite, and must finish well within it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, git, newRepository, type Fixture } from '../helpers/harness.js';

/** Longest any one command may take before the test calls it a hang. */
const LIMIT_MS = 20_000;

interface Timed {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `tufctl ARGS` in `cwd`, killed after twice LIMIT_MS; fails the test when it runs past LIMIT_MS. */
function timed(args: string[], cwd: string): Timed {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 2 * LIMIT_MS, killSignal: 'SIGKILL' });
  const ms = performance.now() - started;
  assert.equal(r.error, undefined, `tufctl ${args.join(' ')} did not finish: ${r.error?.message}`);
  assert.ok(ms < LIMIT_MS, `tufctl ${args.join(' ')} took ${Math.round(ms)} ms`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms };
}

/** Appends rules (YAML lines) to the repository's mapping.yaml. */
function addRules(fx: Fixture, rules: string[]): void {
  const path = join(fx.repo, 'targets', 'mapping.yaml');
  writeFileSync(path, `${readFileSync(path, 'utf8').trimEnd()}\n${rules.join('\n')}\n`);
}

/** A repository whose main branch is pushed to a bare origin, on a new branch. */
function onBranch(fx: Fixture, branch: string): void {
  const origin = join(fx.root, 'origin.git');
  git(fx.root, 'init', '-q', '--bare', '--initial-branch=main', origin);
  git(fx.repo, 'remote', 'add', 'origin', origin);
  git(fx.repo, 'push', '-q', 'origin', 'main');
  git(fx.repo, 'fetch', '-q', 'origin');
  git(fx.repo, 'checkout', '-q', '-b', branch);
}

const ISSUE_RULES = [
  "  - pattern: '^(a|a)*c$'",
  '    policy-id: docker-official-images',
  "  - pattern: '^a{40}$'",
  '    policy-id: docker-official-images',
  "  - pattern: '^(a+)+$'",
  '    policy-id: docker-official-images',
  "  - pattern: '(x+x+)+y'",
  '    policy-id: docker-official-images',
];

test('the issue mapping (^(a|a)*c$ and ^a{40}$, with other nested quantifiers) applies, validates, signs and verifies promptly', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    addRules(fx, ISSUE_RULES);
    const apply = timed(['policy', 'apply', '--sign', '--key', fx.key('targets'), '--key', fx.key('online')], cwd);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const validate = timed(['policy', 'validate'], cwd);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /trust data is valid/);
    assert.equal(validate.stderr, '');
    const verify = timed(['verify'], cwd);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    fx.cleanup();
  }
});

test('a pull request with rewrite loops through catastrophic patterns is invalid, with each loop reported, promptly', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    onBranch(fx, 'loops');
    addRules(fx, [
      ...ISSUE_RULES.slice(0, 2),
      "  - pattern: '^(a+)+$'",
      "    rewrite: '${1}a'",
      "  - pattern: '(x+x+)+y'",
      "    rewrite: 'xx${1}y'",
      "  - pattern: '^(a*)*b$'",
      "    rewrite: 'z$1'",
      "  - pattern: '^z(a*)b?$'",
      "    rewrite: 'a${1}b'",
    ]);
    git(cwd, 'commit', '-qam', 'mapping with loops');
    const validate = timed(['policy', 'validate'], cwd);
    assert.equal(validate.code, 1, validate.stdout + validate.stderr);
    const loops = validate.stderr.split('\n').filter((l) => l.includes('rewrite rules loop'));
    assert.equal(loops.length, 3, validate.stderr);
    assert.match(validate.stderr, /rules\[\d+\]\.rewrite: rewrite rules loop: (rules\[\d+\]) → \1 \(e\.g\. for "a"\)/);
    assert.match(validate.stderr, /rewrite rules loop: (rules\[\d+\]) → \1 \(e\.g\. for "xxy"\)/);
    assert.match(validate.stderr, /rewrite rules loop: (rules\[\d+\]) → rules\[\d+\] → \1 \(e\.g\. for "ab"\)/);
    const check = timed(['validate', '--base', 'origin/main', '--format', 'markdown'], cwd);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /❌ invalid/);
    assert.match(check.stdout, /rewrite rules loop: (rules\[\d+\]) → \1 \(e\.g\. for "xxy"\)/);
  } finally {
    fx.cleanup();
  }
});

test('a pull request whose loop search uses up its budget is checked promptly, with a warning naming the rules not followed', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    onBranch(fx, 'costly');
    // ~1,000-character example names against 2,500-instruction programs: each match costs ~2.5 million steps.
    addRules(fx, Array.from({ length: 12 }, (_, k) => [`  - pattern: '^(a?){500}a{500}b${k}$'`, `    rewrite: 'x${k}'`]).flat());
    const apply = timed(['policy', 'apply'], cwd);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    git(cwd, 'commit', '-qam', 'costly mapping');
    const validate = timed(['policy', 'validate'], cwd);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /trust data is valid/);
    assert.match(
      validate.stdout,
      /warning: targets\/mapping\.yaml:\d+: rules\[\d+\]\.pattern: not checked for rewrite loops: the loop search used its whole budget \(50,000,000 steps\) before following the names built from rules\[\d+\]/,
    );
    const check = timed(['validate', '--base', 'origin/main', '--json'], cwd);
    const report = JSON.parse(check.stdout);
    assert.equal(report.result, 'waiting', check.stdout);
    assert.ok(
      report.warnings.some((w: string) => w.includes('not checked for rewrite loops')),
      JSON.stringify(report.warnings),
    );
  } finally {
    fx.cleanup();
  }
});

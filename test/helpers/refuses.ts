/**
 * Table-driven refusal checks: `refusesCleanly(row)` runs one bad-input case
 * against a fresh repository and asserts that tufctl refused it cleanly:
 *
 *  - the exit code is 1 (2 for USAGE, or the row's `exit`), nothing on stdout;
 *  - stderr is exactly one line `tufctl: error [CODE]: …` (or `lines` such
 *    lines, for commands that list every problem), with the row's code, never
 *    INTERNAL, matching the row's `message`;
 *  - the line is printable: no control character but its newline, no
 *    bidirectional-override or invisible character, and bounded in length
 *    (long values cut);
 *  - nothing changed: every file under the fixture (the repository with all of
 *    .git, .git/index included, and the key directory) has the same sha256,
 *    mode and type, and `git status` and HEAD are the same. Only tufctl's
 *    caches in .git/tufctl/ may change (verify refreshes them).
 *
 * Repositories are copies of one template made with `tufctl init
 * --generate-keys` per test process (a copy costs milliseconds, an init about
 * a second). A row's `setup` prepares its copy (writes a broken file, commits,
 * …) before the state is recorded.
 *
 *     refusesCleanly({
 *       args: ['expiry', 'targets', '--period', '1e9'],
 *       code: 'USAGE',
 *       message: /--period must be a whole number of days from 1 to 36500/,
 *     });
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, lstatSync, readdirSync, readFileSync, readlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, tempDir, tufctl, type CliResult, type Fixture } from './harness.js';

export interface Refusal {
  /** Shown in failure messages (default: the arguments). */
  name?: string;
  /** tufctl's arguments, or a function of the fixture (for key and file paths). */
  args: string[] | ((fx: Fixture) => string[]);
  /** The error code tufctl must report. */
  code: string;
  /** What the error line must say. */
  message: RegExp;
  /** Prepares the fresh repository before its state is recorded. */
  setup?: (fx: Fixture) => void;
  /** Environment for tufctl (TUFCTL_KEY_* from the test's own environment are never passed). */
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: the repository). */
  cwd?: (fx: Fixture) => string;
  /** Expected exit code (default: 2 for USAGE, 1 otherwise). */
  exit?: number;
  /** Number of `tufctl: error [CODE]: …` lines (default 1; verify prints a summary and one line per problem). */
  lines?: number;
}

/** Longest error line accepted: the printer bounds messages at about 2,000 characters. */
const MAX_LINE = 2600;

let template: Fixture | undefined;

/** A fresh repository for one row: a copy of the per-process template. Remove it with cleanup(). */
export function freshRepository(): Fixture {
  if (!template) {
    template = newRepository();
    process.once('exit', () => template?.cleanup());
  }
  const dir = tempDir('tufctl-refusal-');
  cpSync(template.root, dir.path, { recursive: true, verbatimSymlinks: true });
  const repo = join(dir.path, 'repo');
  const keys = join(dir.path, 'keys');
  return { root: dir.path, repo, keys, key: (name) => join(keys, `${name}.pem`), cleanup: dir.cleanup };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** tufctl's own caches (role index, trust validation): accelerators that any command may refresh, not repository content. */
const CACHES = /(^|\/)\.git\/tufctl$/;

/** Every file, directory and symlink under `dir` (.git included, tufctl's caches not) by type, mode and content hash. */
function files(dir: string): string[] {
  const lines: string[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      const relPath = rel ? `${rel}/${name}` : name;
      if (CACHES.test(relPath)) continue;
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) lines.push(`${relPath} -> ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        lines.push(`${relPath}/`);
        walk(path, relPath);
      } else lines.push(`${relPath} ${stat.mode.toString(8)} ${sha256(readFileSync(path))}`);
    }
  };
  walk(dir, '');
  return lines;
}

/** What a refused command must leave as it was: all files, then git's view (read without taking git's index lock). */
export function repositoryState(fx: Fixture): string[] {
  const state = files(fx.root);
  const status = git(fx.repo, '--no-optional-locks', 'status', '--porcelain', '--untracked-files=all');
  const head = git(fx.repo, 'rev-parse', 'HEAD').trim();
  return [...state, 'git status:', ...status.split('\n'), `HEAD ${head}`];
}

/**
 * Makes git's index agree with the work tree for good: every work-tree file
 * is dated a minute back and the index refreshed, so no later read (by git
 * status inside tufctl) finds a racily clean entry and rewrites the index.
 */
function settleIndex(fx: Fixture): void {
  const past = new Date(Date.now() - 60_000);
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) utimesSync(path, past, past);
    }
  };
  walk(fx.repo);
  try {
    git(fx.repo, 'update-index', '-q', '--refresh');
  } catch {
    // a row that leaves changes in the work tree: the refresh reports them, the index is still written
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const INVISIBLE = /[\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs one row against a fresh repository and asserts the clean refusal described above. */
export function refusesCleanly(row: Refusal): CliResult {
  const fx = freshRepository();
  try {
    row.setup?.(fx);
    settleIndex(fx);
    const args = typeof row.args === 'function' ? row.args(fx) : row.args;
    const before = repositoryState(fx);
    const r = tufctl(args, { cwd: row.cwd ? row.cwd(fx) : fx.repo, env: row.env });
    const shownArgs = args.map((a) => (a.length > 200 ? `${a.slice(0, 200)}…(${a.length} characters)` : a)).join(' ');
    const what = `${row.name ?? 'row'}: tufctl ${shownArgs}\nexit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 4000)}`;
    assert.notEqual(row.code, 'INTERNAL', 'a row never expects INTERNAL');
    assert.doesNotMatch(r.stderr, /\[INTERNAL\]/, what);
    assert.equal(r.code, row.exit ?? (row.code === 'USAGE' ? 2 : 1), what);
    assert.equal(r.stdout, '', what);
    const lines = r.stderr.split('\n');
    assert.equal(lines.pop(), '', `${what}\nstderr must end with a newline`);
    assert.equal(lines.length, row.lines ?? 1, `${what}\nexpected ${row.lines ?? 1} error line(s)`);
    for (const line of lines) {
      assert.match(line, new RegExp(`^tufctl: error \\[${escapeRegExp(row.code)}\\]: .+$`), what);
      assert.doesNotMatch(line, CONTROL, `${what}\nan error line holds a control character`);
      assert.doesNotMatch(line, INVISIBLE, `${what}\nan error line holds an invisible or bidirectional-override character`);
      assert.ok(line.length <= MAX_LINE, `${what}\nan error line is ${line.length} characters long`);
    }
    assert.match(r.stderr, row.message, what);
    assert.deepEqual(repositoryState(fx), before, `${what}\nthe refused command changed files`);
    return r;
  } finally {
    fx.cleanup();
  }
}

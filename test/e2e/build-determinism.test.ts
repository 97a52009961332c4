// Building a hashed-bin repository writes and stages the same bytes as the recorded golden digests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, ok, PROJECT_DIR, tempDir } from '../helpers/harness.js';

/**
 * The golden file holds, for every scenario, the sha256 of each file under
 * metadata/ and of `git ls-files -s`. It was produced by the code before the
 * bulk-build performance work; TUFCTL_UPDATE_GOLDEN=1 rewrites it (only when a
 * change of output is intended).
 */
const GOLDEN = join(PROJECT_DIR, 'test', 'golden', 'build-determinism.txt');
const NOW = '2030-01-01T00:00:00Z';
const TARGETS = 2000;
const BINS = 64;

/** A fixed ed25519 key from a 32-byte seed (ed25519 signatures are deterministic). */
function writeKey(dir: string, name: string): void {
  const seed = createHash('sha256').update(`build-determinism ${name}`).digest();
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  writeFileSync(join(dir, `${name}.pem`), key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(join(dir, `${name}.pub.pem`), createPublicKey(key).export({ format: 'pem', type: 'spki' }));
}

function writeTargets(file: string, n: number, prefix = 'pkgs/target-'): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = `${prefix}${String(i).padStart(6, '0')}`;
    const sha256 = createHash('sha256').update(path).digest('hex');
    lines.push(JSON.stringify({ path, length: 1024 + (i % 4096), sha256 }));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function digests(label: string, repo: string): string[] {
  const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
  const lines: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(repo, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else lines.push(`${label} ${path} ${sha(readFileSync(join(repo, path)))}`);
    }
  };
  walk('metadata');
  lines.push(`${label} git-ls-files-s ${sha(git(repo, 'ls-files', '-s'))}`);
  return lines;
}

/** Every scenario run against one fresh repository; returns the digest lines. */
function build(): string[] {
  const tmp = tempDir('tufctl-determinism-');
  try {
    const keys = join(tmp.path, 'keys');
    ok(['--version']);
    mkdirSync(keys);
    for (const name of ['root', 'targets', 'online', 'bins']) writeKey(keys, name);
    const k = (name: string): string => join(keys, `${name}.pem`);
    const pub = (name: string): string => join(keys, `${name}.pub.pem`);
    const jsonl = join(tmp.path, 'targets.jsonl');
    writeTargets(jsonl, TARGETS);
    const lines: string[] = [];
    const env = {
      GIT_AUTHOR_NAME: 'tufctl test',
      GIT_AUTHOR_EMAIL: 'test@tufctl.invalid',
      GIT_COMMITTER_NAME: 'tufctl test',
      GIT_COMMITTER_EMAIL: 'test@tufctl.invalid',
    };
    const run = (args: string[], repo: string): void => void ok([...args, '--repo', repo, '--now', NOW], { env });

    // The one-process build: targets signed first, then add-entries --sign.
    const one = join(tmp.path, 'one');
    const keyArgs = ['--key', k('root'), '--key', k('targets'), '--key', k('online')];
    run(['init', one, '--root-key', pub('root'), '--targets-key', pub('targets'), '--online-key', pub('online'), ...keyArgs], one);
    run(['delegate', 'add', 'bins', '--bins', String(BINS), '--key', pub('bins')], one);
    lines.push(...digests('delegated', one));
    git(one, 'commit', '-q', '-m', 'bins');
    run(['sign', 'targets', '--key', k('targets')], one);
    run(['target', 'add-entries', '--from', jsonl, '--sign', '--key', k('bins'), '--key', k('online')], one);
    lines.push(...digests('one-process', one));

    // The same repository after a commit: one target added and signed, then a second bulk edit.
    git(one, 'commit', '-q', '-m', 'targets');
    run(
      [
        'target',
        'add-entry',
        'pkgs/new-target',
        '--length',
        '1',
        '--sha256',
        'ab'.repeat(32),
        '--sign',
        '--key',
        k('bins'),
        '--key',
        k('online'),
      ],
      one,
    );
    lines.push(...digests('update', one));
    git(one, 'commit', '-q', '-m', 'update');
    const more = join(tmp.path, 'more.jsonl');
    writeTargets(more, 300, 'pkgs/more-');
    run(['target', 'add-entries', '--from', more, '--sign', '--key', k('bins'), '--key', k('online')], one);
    lines.push(...digests('second-bulk', one));

    // 512 bins: a save of that many files lets go of their bytes, has git store them meanwhile, and signs on worker threads.
    const wide = join(tmp.path, 'wide');
    run(['init', wide, '--root-key', pub('root'), '--targets-key', pub('targets'), '--online-key', pub('online'), ...keyArgs], wide);
    run(['delegate', 'add', 'bins', '--bins', '512', '--key', pub('bins')], wide);
    git(wide, 'commit', '-q', '-m', 'bins');
    run(['sign', 'targets', '--key', k('targets')], wide);
    run(['target', 'add-entries', '--from', jsonl, '--sign', '--key', k('bins'), '--key', k('online')], wide);
    lines.push(...digests('wide-one-process', wide));
    git(wide, 'commit', '-q', '-m', 'targets');
    run(['target', 'add-entries', '--from', more, '--sign', '--key', k('bins'), '--key', k('online')], wide);
    lines.push(...digests('wide-second-bulk', wide));

    // The step-by-step build from the state after the bins were delegated.
    const steps = join(tmp.path, 'steps');
    git(tmp.path, 'clone', '-q', one, steps);
    git(steps, 'reset', '-q', '--hard', 'HEAD~2');
    run(['target', 'add-entries', '--from', jsonl], steps);
    lines.push(...digests('add-entries', steps));
    run(['sign', '--key', k('bins'), '--key', k('targets')], steps);
    lines.push(...digests('sign', steps));
    run(['snapshot', '--key', k('online')], steps);
    run(['timestamp', '--key', k('online')], steps);
    lines.push(...digests('snapshot-timestamp', steps));
    return lines;
  } finally {
    tmp.cleanup();
  }
}

test('a hashed-bin build writes and stages the same bytes as the golden digests', () => {
  const lines = build();
  const text = `${lines.join('\n')}\n`;
  if (process.env.TUFCTL_UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) {
    writeFileSync(GOLDEN, text);
    if (process.env.TUFCTL_UPDATE_GOLDEN !== '1') assert.fail(`wrote ${GOLDEN}: run again to compare`);
    return;
  }
  const expected = readFileSync(GOLDEN, 'utf8').split('\n').filter(Boolean);
  const differing = lines.filter((line) => !expected.includes(line));
  const missing = expected.filter((line) => !lines.includes(line));
  assert.deepEqual({ differing: differing.slice(0, 20), missing: missing.slice(0, 20) }, { differing: [], missing: [] });
});

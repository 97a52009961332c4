/**
 * Commits tufctl started and did not finish. A mutating command run with
 * `--commit` records its commit message in `.git/tufctl/pending-commit.json`
 * before it writes and stages anything, and removes the record once the
 * commit exists. A process killed in between leaves the record behind: the
 * next `--commit` run finishes that commit first (same message, the staged
 * metadata/ and targets/ files), and `tufctl status` explains it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { changedPaths } from './git-repo.js';

export interface PendingCommit {
  message: string;
  startedAt: string;
}

function recordPath(dir: string): string | undefined {
  const gitDir = join(dir, '.git');
  return existsSync(gitDir) && statSync(gitDir).isDirectory() ? join(gitDir, 'tufctl', 'pending-commit.json') : undefined;
}

export function recordPendingCommit(dir: string, message: string, now = new Date()): void {
  const path = recordPath(dir);
  if (!path) return;
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileAtomic(path, JSON.stringify({ message, startedAt: now.toISOString() } satisfies PendingCommit) + '\n');
}

export function clearPendingCommit(dir: string): void {
  const path = recordPath(dir);
  if (path) rmSync(path, { force: true });
}

/**
 * The interrupted commit, when its record exists and tufctl's files still
 * wait uncommitted; a record whose changes were committed (or dropped) since
 * is removed.
 */
export function readPendingCommit(dir: string): (PendingCommit & { paths: string[] }) | undefined {
  const path = recordPath(dir);
  if (!path || !existsSync(path)) return undefined;
  let record: PendingCommit;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as PendingCommit;
    if (typeof record.message !== 'string' || record.message === '') throw new Error('no message');
  } catch {
    rmSync(path, { force: true });
    return undefined;
  }
  const paths = changedPaths(dir).filter((p) => p.startsWith('metadata/') || p.startsWith('targets/'));
  if (paths.length === 0) {
    rmSync(path, { force: true });
    return undefined;
  }
  return { ...record, paths };
}

/**
 * The two trees `tufctl validate` compares: the base ref and the head (the
 * working tree, or a ref). A ref is materialized into a temporary directory
 * with `git archive | tar -x` (no checkout, the work tree is untouched) and
 * removed again by `cleanup()`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError } from '../errors.js';
import { resolveRef } from '../git/git-repo.js';

export interface Tree {
  /** What the tree is: `origin/main (1a2b3c4)` or `working tree`. */
  label: string;
  ref?: string;
  commit?: string;
  dir: string;
  cleanup: () => void;
}

/** The tree of `ref` in the git repository at `repoDir`, extracted into a temporary directory. */
export function materializeRef(repoDir: string, ref: string): Tree {
  const commit = resolveRef(repoDir, ref);
  if (!commit) throw new GitError('GIT_FAILED', `ref "${ref}" does not resolve to a commit`);
  const dir = mkdtempSync(join(tmpdir(), 'tufctl-validate-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const archive = spawnSync('git', ['archive', '--format=tar', commit], {
      cwd: repoDir,
      maxBuffer: 4 * 1024 * 1024 * 1024,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
    if (archive.error || archive.status !== 0) {
      throw new GitError(
        'GIT_FAILED',
        `git archive ${ref} failed: ${archive.stderr?.toString().trim().split('\n')[0] ?? archive.error?.message}`,
      );
    }
    const extract = spawnSync('tar', ['-x', '-f', '-', '-C', dir], { input: archive.stdout, maxBuffer: 64 * 1024 * 1024 });
    if (extract.error || extract.status !== 0) {
      throw new GitError(
        'GIT_FAILED',
        `extracting ${ref} failed: ${extract.stderr?.toString().trim().split('\n')[0] ?? extract.error?.message}`,
      );
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  return { label: `${ref} (${commit.slice(0, 7)})`, ref, commit, dir, cleanup };
}

/** The working tree itself (nothing to clean up). */
export function workingTree(repoDir: string): Tree {
  return { label: 'working tree', dir: repoDir, cleanup: () => {} };
}

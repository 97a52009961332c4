/**
 * The base a change is measured against when none is named: where HEAD
 * left the main line (the merge base of HEAD and origin/main, or main).
 */
import { spawnSync } from 'node:child_process';
import { TufctlError } from '../errors.js';
import { resolveRef } from './git-repo.js';

/** The upstream refs tried, in order. */
export const DEFAULT_UPSTREAMS = ['origin/main', 'main'];

export interface BaseRef {
  /** The commit to read the base from. */
  commit: string;
  /** How it was chosen: `merge base of HEAD and origin/main (1a2b3c4)`. */
  label: string;
}

/** The merge base of HEAD and the first of DEFAULT_UPSTREAMS that exists; BASE_UNREADABLE when there is none. */
export function defaultBaseRef(repoDir: string): BaseRef {
  const head = resolveRef(repoDir, 'HEAD');
  if (!head) throw new TufctlError('BASE_UNREADABLE', 'the repository has no commit yet, so there is no base to compare with');
  for (const upstream of DEFAULT_UPSTREAMS) {
    if (!resolveRef(repoDir, upstream)) continue;
    const r = spawnSync('git', ['merge-base', 'HEAD', upstream], {
      cwd: repoDir,
      encoding: 'utf8',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
    const commit = r.status === 0 ? r.stdout.trim() : '';
    if (!/^[0-9a-f]{40,64}$/.test(commit)) {
      throw new TufctlError('BASE_UNREADABLE', `HEAD and ${upstream} have no common commit; name the base with --base REF`);
    }
    return { commit, label: `merge base of HEAD and ${upstream} (${commit.slice(0, 7)})` };
  }
  throw new TufctlError(
    'BASE_UNREADABLE',
    `no --base given, and neither ${DEFAULT_UPSTREAMS.join(' nor ')} exists to find the merge base with: name the base with --base REF`,
  );
}

/** The commit `ref` names; BASE_UNREADABLE when it names none. */
export function baseCommit(repoDir: string, ref: string): string {
  const commit = ref.startsWith('-') ? undefined : resolveRef(repoDir, ref);
  if (!commit)
    throw new TufctlError('BASE_UNREADABLE', `base ref "${ref.length > 100 ? `${ref.slice(0, 100)}…` : ref}" does not resolve to a commit`);
  return commit;
}

/**
 * Signing branches for offline roles in their signing period: for each due
 * role a branch `sign/<role>-v<N>` from the current commit, holding the
 * role renewed at version N (new expiry, no signatures yet), for the role's
 * key owners to sign in a pull request. Branches that already exist (here
 * or on the remote) are left alone, so a scheduled job can run this daily.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitClient } from '../git/git-repo.js';
import { Repository } from '../metadata/repository.js';
import { RoleIndex } from '../metadata/role-index.js';
import type { OfflineNotice } from './decide.js';

export interface SigningBranch {
  role: string;
  branch: string;
  created: boolean;
  /** Why not created (it exists), when created is false. */
  note?: string;
  pushed?: string;
}

/** The roles a notice stands for: one role, or every bin of a `prefix-*` bin set. */
function rolesOf(repo: Repository, notice: OfflineNotice): string[] {
  if (!notice.role.endsWith('-*')) return [notice.role];
  const prefix = notice.role.slice(0, -2);
  return new RoleIndex(repo)
    .walk()
    .map((r) => r.role)
    .filter((r) => r.startsWith(`${prefix}-`));
}

export function branchName(notice: OfflineNotice): string {
  const role = notice.role.endsWith('-*') ? `${notice.role.slice(0, -2)}-bins` : notice.role;
  return `sign/${role}-v${notice.version + 1}`;
}

export async function openSigningBranches(
  repoDir: string,
  notices: OfflineNotice[],
  options: { now: Date; remote?: string; push?: boolean },
): Promise<SigningBranch[]> {
  const git = await gitClient(repoDir);
  const remote = options.remote ?? 'origin';
  const results: SigningBranch[] = [];
  for (const notice of notices) {
    const branch = branchName(notice);
    const local = await git.raw(['branch', '--list', branch]);
    const remoteBranches = await git.raw(['branch', '-r', '--list', `${remote}/${branch}`]);
    if (local.trim() !== '' || remoteBranches.trim() !== '') {
      results.push({ role: notice.role, branch, created: false, note: 'branch exists' });
      continue;
    }
    const work = mkdtempSync(join(tmpdir(), 'tufctl-sign-branch-'));
    try {
      await git.raw(['worktree', 'add', '-b', branch, work, 'HEAD']);
      const repo = Repository.open(work, { now: options.now });
      for (const role of rolesOf(repo, notice))
        repo.renew(role, `${role}: renew for re-signing (signing period started ${notice.signingPeriodStart})`);
      repo.save();
      const message = `sign: renew ${notice.role} v${notice.version + 1}\n\n${notice.role} expires ${notice.expires}; its signing period started ${notice.signingPeriodStart}.\nSign with: tufctl sign ${notice.role.endsWith('-*') ? '' : notice.role} --key <your key> --commit\n`;
      await (await gitClient(work)).commit(message);
      const result: SigningBranch = { role: notice.role, branch, created: true };
      if (options.push) {
        await git.push(remote, `${branch}:refs/heads/${branch}`);
        result.pushed = `${remote}/${branch}`;
      }
      results.push(result);
    } finally {
      await git.raw(['worktree', 'remove', '--force', work]).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  }
  return results;
}

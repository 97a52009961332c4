/**
 * Signing branches for offline roles in their signing period: for each due
 * role a branch `sign/<role>-v<N>` from the current commit, holding the
 * role renewed at version N (new expiry, no signatures yet), for the role's
 * key owners to sign in a pull request; or, grouped (signing-groups.ts),
 * one branch renewing every role of a group. A role already being renewed
 * on a branch (here or on the remote: one named after it, or a group branch
 * listing it) gets no second branch, so a scheduled job can run this daily.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { describeNeeds, needOf, signingResult } from '../edit/signing.js';
import { GitError } from '../errors.js';
import { gitClient } from '../git/git-repo.js';
import { Repository } from '../metadata/repository.js';
import { RoleIndex } from '../metadata/role-index.js';
import type { OfflineNotice } from './decide.js';
import { groupBranchName, groupCandidates, memberToken, type GroupCandidate } from './signing-groups.js';

export interface SigningBranch {
  role: string;
  branch: string;
  created: boolean;
  /** Why not created (it exists), when created is false. */
  note?: string;
  pushed?: string;
}

/** One role of a signing group, and why it is in it. */
export interface GroupMember {
  role: string;
  /** The version the branch renews the role at. */
  version: number;
  state: GroupCandidate['state'];
  signingPeriodStart: string;
  /** The expiry of the current version. */
  expires: string;
  reason: string;
  /** The expiry of the renewed version on the branch, once it exists. */
  renewedExpires?: string;
  /** Who must sign, once the branch exists: the threshold and the key owners (`@alice`, `2 more of @a, @b, @c`). */
  threshold?: number;
  needs?: string;
}

export interface SigningGroup {
  branch: string;
  created: boolean;
  note?: string;
  pushed?: string;
  roles: GroupMember[];
}

/** Commit-message trailer naming each `<role>-v<N>` a branch renews. */
const TRAILER = 'Signing-role';

/** The roles a notice stands for: one role, or every bin of a `prefix-*` bin set. */
function rolesOf(repo: Repository, role: string): string[] {
  if (!role.endsWith('-*')) return [role];
  const prefix = role.slice(0, -2);
  return new RoleIndex(repo)
    .walk()
    .map((r) => r.role)
    .filter((r) => r.startsWith(`${prefix}-`));
}

export function branchName(notice: Pick<OfflineNotice, 'role' | 'version'>): string {
  return `sign/${memberToken(notice)}`;
}

/**
 * The `sign/*` branches here and on the remote, each with the `<role>-v<N>`
 * tokens it renews: its own name, and the trailers of its commits not in
 * HEAD (a group branch keeps its roles after key holders add commits).
 */
async function existingBranches(git: SimpleGit, remote: string): Promise<Map<string, Set<string>>> {
  const refs = await git.raw(['for-each-ref', '--format=%(refname)', 'refs/heads/sign/', `refs/remotes/${remote}/sign/`]);
  const branches = new Map<string, Set<string>>();
  for (const ref of refs.split('\n').filter(Boolean)) {
    const name = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref.slice(`refs/remotes/${remote}/`.length);
    const tokens = branches.get(name) ?? new Set<string>();
    tokens.add(name.slice('sign/'.length));
    const messages = await git.raw(['log', '--format=%B', `HEAD..${ref}`, '--']);
    for (const line of messages.split('\n')) if (line.startsWith(`${TRAILER}: `)) tokens.add(line.slice(TRAILER.length + 2).trim());
    branches.set(name, tokens);
  }
  return branches;
}

/** The branch already renewing this role at this version, if any (its own branch first). */
function coveringBranch(existing: Map<string, Set<string>>, token: string): string | undefined {
  if (existing.has(`sign/${token}`)) return `sign/${token}`;
  for (const [branch, tokens] of existing) if (tokens.has(token)) return branch;
  return undefined;
}

/**
 * Creates `branch` from HEAD in a temporary worktree, renews `roles` there and
 * commits with `message(repo)` (the renewed repository, to say who must sign);
 * pushes it when asked. The checkout itself is not touched.
 */
async function openBranch(
  repoDir: string,
  branch: string,
  roles: ReadonlyArray<{ role: string; description: string }>,
  message: (repo: Repository, base: string) => string,
  options: { now: Date; remote: string; push?: boolean },
): Promise<{ pushed?: string }> {
  const git = await gitClient(repoDir);
  const base = (await git.revparse(['HEAD'])).trim();
  const work = mkdtempSync(join(tmpdir(), 'tufctl-sign-branch-'));
  try {
    await git.raw(['worktree', 'add', '-b', branch, work, 'HEAD']);
    const repo = Repository.open(work, { now: options.now });
    for (const { role, description } of roles) for (const name of rolesOf(repo, role)) repo.renew(name, description);
    repo.save();
    await (await gitClient(work)).commit(message(repo, base));
    if (!options.push) return {};
    try {
      await git.push(options.remote, `${branch}:refs/heads/${branch}`);
    } catch (error) {
      throw new GitError('GIT_FAILED', `git push ${options.remote} ${branch} failed: ${(error as Error).message.split('\n')[0]}`);
    }
    return { pushed: `${options.remote}/${branch}` };
  } finally {
    await git.raw(['worktree', 'remove', '--force', work]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

export async function openSigningBranches(
  repoDir: string,
  notices: OfflineNotice[],
  options: { now: Date; remote?: string; push?: boolean },
): Promise<SigningBranch[]> {
  const git = await gitClient(repoDir);
  const remote = options.remote ?? 'origin';
  const existing = await existingBranches(git, remote);
  const results: SigningBranch[] = [];
  for (const notice of notices) {
    const branch = branchName(notice);
    const covering = coveringBranch(existing, memberToken(notice));
    if (covering) {
      results.push({
        role: notice.role,
        branch: covering,
        created: false,
        note: covering === branch ? 'branch exists' : `being signed on ${covering}`,
      });
      continue;
    }
    const description = `${notice.role}: renew for re-signing (signing period started ${notice.signingPeriodStart})`;
    const message = (): string =>
      `sign: renew ${notice.role} v${notice.version + 1}\n\n${notice.role} expires ${notice.expires}; its signing period started ${notice.signingPeriodStart}.\nSign with: tufctl sign ${notice.role.endsWith('-*') ? '' : notice.role} --key <your key> --commit\n`;
    const { pushed } = await openBranch(repoDir, branch, [{ role: notice.role, description }], message, { ...options, remote });
    results.push({ role: notice.role, branch, created: true, ...(pushed ? { pushed } : {}) });
  }
  return results;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Why a role is in its group: its own period start, and for the others how far it lies from the first role's. */
function inclusionReason(member: GroupCandidate, first: GroupCandidate, days: number): string {
  const own =
    member.state === 'expired'
      ? `expired ${member.expires}`
      : `signing period ${member.state === 'upcoming' ? 'starts' : 'started'} ${member.signingPeriodStart}`;
  if (member === first) return `${own}: due now`;
  const apart = (Date.parse(member.signingPeriodStart) - Date.parse(first.signingPeriodStart)) / DAY_MS;
  const distance = apart < 1 ? `less than a day after ${first.role}'s` : `${+apart.toFixed(1)} day(s) after ${first.role}'s`;
  return `${own}, ${distance} (within ${days})`;
}

function groupMembers(group: readonly GroupCandidate[], days: number): GroupMember[] {
  const first = group.reduce((a, b) => (Date.parse(b.signingPeriodStart) < Date.parse(a.signingPeriodStart) ? b : a));
  return group.map((c) => ({
    role: c.role,
    version: c.version + 1,
    state: c.state,
    signingPeriodStart: c.signingPeriodStart,
    expires: c.expires,
    reason: inclusionReason(c, first, days),
  }));
}

/** New expiry, threshold and who must sign each member on the renewed branch (a bin set: its first bin, as all share the keys). */
function fillSigners(repo: Repository, members: GroupMember[]): void {
  for (const m of members) {
    const name = rolesOf(repo, m.role)[0];
    if (!name) continue;
    const expires = repo.signed(name).expires;
    if (typeof expires === 'string') m.renewedExpires = expires;
    const r = signingResult(repo, name);
    m.threshold = r.threshold;
    m.needs = describeNeeds(needOf(r), r.previous ? needOf(r.previous) : undefined);
  }
}

function groupMessage(members: readonly GroupMember[], days: number, base: string): string {
  const tokens = members.map((m) => memberToken({ role: m.role, version: m.version - 1 }));
  const named = members.map((m) => `${m.role} v${m.version}`).join(', ');
  const subject = `sign: renew ${named}`.length <= 72 ? `sign: renew ${named}` : `sign: renew ${members.length} offline roles together`;
  const lines = [
    subject,
    '',
    `Offline roles whose signing periods start within ${days} day(s) of each other, renewed together so their key holders sign once.`,
    '',
  ];
  for (const m of members) {
    lines.push(`- ${m.role} v${m.version}: ${m.reason}; expires ${m.expires}, renewed until ${m.renewedExpires ?? '?'}.`);
    lines.push(`  Threshold ${m.threshold ?? '?'}; signatures needed from ${m.needs || 'nobody'}.`);
  }
  const explicit = members.every((m) => !m.role.endsWith('-*'));
  lines.push(
    '',
    explicit
      ? `Sign with: tufctl sign ${members.map((m) => m.role).join(' ')} --key <your key> --commit`
      : `Sign with: tufctl sign --base ${base.slice(0, 12)} --key <your key> --commit`,
    '',
    ...tokens.map((t) => `${TRAILER}: ${t}`),
    '',
  );
  return lines.join('\n');
}

/**
 * Grouped signing branches (signing-groups.ts) for the candidates no branch
 * renews yet; the others are reported under the branch that has them. With
 * `open` false, the groups are only planned. `later`: roles that wait for a
 * later run (not within `days` of a due role).
 */
export async function openSigningGroups(
  repoDir: string,
  candidates: readonly GroupCandidate[],
  options: { now: Date; days: number; remote?: string; push?: boolean; open: boolean },
): Promise<{ groups: SigningGroup[]; later: GroupCandidate[] }> {
  const git = await gitClient(repoDir);
  const remote = options.remote ?? 'origin';
  const existing = await existingBranches(git, remote);
  const kept = new Map<string, GroupCandidate[]>();
  const uncovered: GroupCandidate[] = [];
  for (const c of candidates) {
    const covering = coveringBranch(existing, memberToken(c));
    if (covering) kept.set(covering, [...(kept.get(covering) ?? []), c]);
    else uncovered.push(c);
  }
  const groups: SigningGroup[] = [...kept].map(([branch, members]) => ({
    branch,
    created: false,
    note: 'exists, kept',
    roles: members.map((c) => ({
      role: c.role,
      version: c.version + 1,
      state: c.state,
      signingPeriodStart: c.signingPeriodStart,
      expires: c.expires,
      reason: 'being renewed on this branch',
    })),
  }));
  const planned = groupCandidates(uncovered, options.now, options.days);
  for (const members of planned.groups) {
    const branch = groupBranchName(members);
    const roles = groupMembers(members, options.days);
    if (!options.open) {
      groups.push({ branch, created: false, note: 'planned (no --open-branches)', roles });
      continue;
    }
    const renewals = roles.map((m) => ({ role: m.role, description: `${m.role}: renew for re-signing (${m.reason})` }));
    const message = (repo: Repository, base: string): string => {
      fillSigners(repo, roles);
      return groupMessage(roles, options.days, base);
    };
    const { pushed } = await openBranch(repoDir, branch, renewals, message, { ...options, remote });
    groups.push({ branch, created: true, ...(pushed ? { pushed } : {}), roles });
  }
  return { groups, later: planned.later };
}

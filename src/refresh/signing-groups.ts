/**
 * Signing groups: offline roles whose signing periods start within a few
 * days of each other, renewed on one branch so their key holders sign once.
 *
 * The roles are sorted by signing-period start. The first group starts at the
 * earliest one and takes every role whose period starts within DAYS of it;
 * the next group starts at the first role left, and so on. Only groups whose
 * first role is due now (in its signing period or expired) are opened: a
 * group of roles that are all still ahead waits for its first role. A role
 * can only join a group if its period starts at most DAYS from now, since
 * the first role of any open group is due already.
 */
import { createHash } from 'node:crypto';
import { formatExpiry, parseExpiry, signingPeriodStart, signingState } from '../metadata/expiry.js';
import type { OfflineRoleState } from './decide.js';

/** An offline role and where its signing period stands now. */
export interface GroupCandidate {
  /** Role name, or `prefix-*` for a set of hashed bins. */
  role: string;
  /** Current version; the branch renews it at version + 1. */
  version: number;
  expires: string;
  signingPeriodStart: string;
  /** `upcoming`: the signing period starts later, within the group window. */
  state: 'in-signing-period' | 'expired' | 'upcoming';
}

/** The widest group window, in days (`--group`, `signingGroupDays`): a year, beyond it every role is one group. */
export const MAX_GROUP_DAYS = 365;

/** A group window as tufctl takes it: a whole number of days from 0 (no grouping) to MAX_GROUP_DAYS. */
export function isGroupDays(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_GROUP_DAYS;
}

/** Longest group branch name that lists its roles; beyond it the name is summarised. */
export const MAX_LISTED_BRANCH_NAME = 120;

const DAY_MS = 24 * 60 * 60 * 1000;

const startOf = (c: GroupCandidate): number => parseExpiry(c.signingPeriodStart)?.getTime() ?? 0;

/** The offline roles due now, and those whose signing period starts within `days` from now. */
export function groupCandidatesOf(roles: readonly OfflineRoleState[], now: Date, days: number): GroupCandidate[] {
  const candidates: GroupCandidate[] = [];
  for (const role of roles) {
    const start = signingPeriodStart(role.expires, role.periods);
    const state = signingState(role.expires, role.periods, now);
    if (state === 'valid' && start.getTime() > now.getTime() + days * DAY_MS) continue;
    candidates.push({
      role: role.role,
      version: role.version,
      expires: formatExpiry(role.expires),
      signingPeriodStart: formatExpiry(start),
      state: state === 'valid' ? 'upcoming' : state,
    });
  }
  return candidates;
}

/** Root first, then targets, then the other roles by name (code-point order: the same on every machine). */
export function compareRoles(a: string, b: string): number {
  const rank = (r: string): number => (r === 'root' ? 0 : r === 'targets' ? 1 : 2);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Splits the candidates into the groups to open now (each in branch order:
 * root, targets, then by name) and the roles that wait for a later run.
 */
export function groupCandidates(
  candidates: readonly GroupCandidate[],
  now: Date,
  days: number,
): { groups: GroupCandidate[][]; later: GroupCandidate[] } {
  const window = days * DAY_MS;
  const sorted = [...candidates].sort((a, b) => startOf(a) - startOf(b) || compareRoles(a.role, b.role));
  const groups: GroupCandidate[][] = [];
  let rest = sorted.filter((c) => startOf(c) <= now.getTime() + window);
  const later = sorted.filter((c) => !rest.includes(c));
  while (rest.length > 0 && startOf(rest[0]!) <= now.getTime()) {
    const until = startOf(rest[0]!) + window;
    groups.push(rest.filter((c) => startOf(c) <= until).sort((a, b) => compareRoles(a.role, b.role)));
    rest = rest.filter((c) => startOf(c) > until);
  }
  return { groups, later: [...rest, ...later] };
}

/** `root-v3`, `targets-v7`, `bins-bins-v2` for the bin set `bins-*`: the role and the version its branch signs. */
export function memberToken(candidate: Pick<GroupCandidate, 'role' | 'version'>): string {
  const role = candidate.role.endsWith('-*') ? `${candidate.role.slice(0, -2)}-bins` : candidate.role;
  return `${role}-v${candidate.version + 1}`;
}

/**
 * The branch of a group: `sign/<token>` for one role (as without grouping),
 * `sign/<token>+<token>…` for several, in group order; a name longer than
 * MAX_LISTED_BRANCH_NAME (or with a role name holding `+`) is summarised as
 * `sign/group-<date the first period started>-<8 hex digits of the tokens' SHA-256>`.
 */
export function groupBranchName(group: readonly GroupCandidate[]): string {
  const tokens = group.map(memberToken);
  if (tokens.length === 1) return `sign/${tokens[0]}`;
  const listed = `sign/${tokens.join('+')}`;
  if (listed.length <= MAX_LISTED_BRANCH_NAME && group.every((c) => !c.role.includes('+'))) return listed;
  const first = Math.min(...group.map(startOf));
  const digest = createHash('sha256').update(tokens.join('\n')).digest('hex').slice(0, 8);
  return `sign/group-${new Date(first).toISOString().slice(0, 10)}-${digest}`;
}

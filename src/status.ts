/**
 * Repository status per role: version, expiry, signing-period state,
 * signatures against the threshold and whose signatures are still missing
 * (for root, against both the previous and the new root's threshold).
 * Hashed bins are summarised as one line per bin set.
 */
import { signingPeriodStart, signingState, parseExpiry, type SigningState } from './metadata/expiry.js';
import type { Repository } from './metadata/repository.js';
import { RoleIndex } from './metadata/role-index.js';
import { ownersOf } from './edit/signing.js';

export interface RoleStatus {
  role: string;
  version: number;
  expires: string;
  signingPeriodStarts: string;
  state: SigningState;
  valid: number;
  threshold: number;
  missing: string[];
  /** Root: the previous root's threshold that this root must also meet. */
  previous?: { version: number; valid: number; threshold: number; missing: string[] };
  /** For a set of hashed bins: how many bins this line stands for, and how many are unsigned. */
  bins?: { count: number; unsigned: number; prefix: string };
}

export interface RepositoryStatus {
  now: string;
  /** The root version clients embed: the root chain is checked from there. */
  trustedRootVersion: number;
  roles: RoleStatus[];
  ok: boolean;
}

function statusOf(repo: Repository, role: string, trustedRootVersion = 1): RoleStatus {
  const signed = repo.signed(role);
  const expires = parseExpiry(signed.expires) ?? new Date(0);
  const periods = repo.periods(role);
  const sig = repo.signatureStatus(role);
  const status: RoleStatus = {
    role,
    version: signed.version as number,
    expires: signed.expires as string,
    signingPeriodStarts: signingPeriodStart(expires, periods)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    state: signingState(expires, periods, repo.now),
    valid: sig.valid.length,
    threshold: sig.threshold,
    missing: sig.ok ? [] : ownersOf(sig),
  };
  // The root clients embed is not checked against its predecessor.
  if (role === 'root' && status.version > trustedRootVersion) {
    const previousTrust = repo.previousRootTrust();
    if (previousTrust) {
      const prev = repo.signatureStatus('root', previousTrust);
      status.previous = {
        version: status.version - 1,
        valid: prev.valid.length,
        threshold: prev.threshold,
        missing: prev.ok ? [] : ownersOf(prev),
      };
    }
  }
  return status;
}

export function repositoryStatus(repo: Repository, options: { trustedRootVersion?: number } = {}): RepositoryStatus {
  const trustedRootVersion = options.trustedRootVersion ?? repo.config.trustedRootVersion ?? 1;
  const roles: RoleStatus[] = ['root', 'timestamp', 'snapshot'].map((r) => statusOf(repo, r, trustedRootVersion));
  const index = new RoleIndex(repo);
  const walk = index.walk();
  index.persist();
  const binParents = new Map<string, string>();
  for (const { role, info } of walk) if (info?.bins) binParents.set(role, info.bins[0]);
  const binGroups = new Map<string, RoleStatus>();
  for (const { role, parent, info } of walk) {
    if (!info) continue;
    const prefix = parent ? binParents.get(parent) : undefined;
    const s = statusOf(repo, role);
    if (!prefix) {
      roles.push(s);
      continue;
    }
    const group = binGroups.get(prefix);
    const unsigned = s.valid < s.threshold ? 1 : 0;
    if (!group) {
      binGroups.set(prefix, { ...s, role: `${prefix}-*`, bins: { count: 1, unsigned, prefix } });
    } else {
      group.bins!.count++;
      group.bins!.unsigned += unsigned;
      if (s.expires < group.expires) {
        group.expires = s.expires;
        group.signingPeriodStarts = s.signingPeriodStarts;
        group.state = s.state;
      }
      group.version = Math.max(group.version, s.version);
      if (unsigned) group.missing = [...new Set([...group.missing, ...s.missing])];
      group.valid = Math.min(group.valid, s.valid);
    }
  }
  roles.push(...binGroups.values());
  const ok = roles.every(
    (r) =>
      r.valid >= r.threshold && r.state !== 'expired' && (!r.previous || r.previous.valid >= r.previous.threshold) && !r.bins?.unsigned,
  );
  return { now: repo.now.toISOString(), trustedRootVersion, roles, ok };
}

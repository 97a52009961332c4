/**
 * Signing roles with the keys at hand, and reporting what is still missing.
 *
 * Without explicit roles, the roles to sign are those whose metadata changed
 * relative to the base ref (plus any changed in this session). A key a role
 * does not trust is ignored for that role; a key no role trusts is an error.
 */
import { KeyError } from '../errors.js';
import { changedMetadataSince } from '../git/git-repo.js';
import type { Signer } from '../keys/signer.js';
import { KEYOWNER_FIELD } from '../keys/tuf-key.js';
import type { Repository, SignatureStatus } from '../metadata/repository.js';

export interface RoleSigningResult {
  role: string;
  version: number;
  signedWith: string[];
  valid: number;
  threshold: number;
  /** Owners (or key ids) whose signature is still needed to reach the threshold. */
  missing: string[];
  /** Root only: the previous root's threshold, which root N+1 must also meet. */
  previous?: { valid: number; threshold: number; missing: string[] };
}

/** Roles whose metadata changed since the base ref, or in this session (root_history excluded). */
export function pendingRoles(repo: Repository, baseRef: string = repo.config.baseRef): string[] {
  const paths = changedMetadataSince(repo.dir, baseRef);
  const roles = new Set<string>(repo.changedRoles().filter((r) => repo.has(r)));
  for (const path of paths) {
    const match = /^metadata\/([^/]+)\.json$/.exec(path);
    if (match && repo.has(match[1]!)) roles.add(match[1]!);
  }
  const order = ['root', 'targets'];
  return [...roles].sort((a, b) => {
    const ia = order.indexOf(a) === -1 ? (a === 'snapshot' ? 10 : a === 'timestamp' ? 11 : 5) : order.indexOf(a);
    const ib = order.indexOf(b) === -1 ? (b === 'snapshot' ? 10 : b === 'timestamp' ? 11 : 5) : order.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
}

export function ownersOf(status: SignatureStatus): string[] {
  return status.missing.map((id) => {
    const owner = status.keys[id]?.[KEYOWNER_FIELD];
    return typeof owner === 'string' ? owner : id.slice(0, 12);
  });
}

export function signingResult(repo: Repository, role: string, signedWith: string[] = []): RoleSigningResult {
  const status = repo.signatureStatus(role);
  const result: RoleSigningResult = {
    role,
    version: repo.version(role),
    signedWith,
    valid: status.valid.length,
    threshold: status.threshold,
    missing: status.ok ? [] : ownersOf(status),
  };
  if (role === 'root') {
    const previousTrust = repo.previousRootTrust();
    if (previousTrust) {
      const previous = repo.signatureStatus('root', previousTrust);
      result.previous = { valid: previous.valid.length, threshold: previous.threshold, missing: previous.ok ? [] : ownersOf(previous) };
    }
  }
  return result;
}

/**
 * Signs `roles` (default: the pending ones) with every given signer each role
 * trusts. Throws KEY_NOT_TRUSTED when no given key is trusted by any of them.
 */
export async function signRoles(repo: Repository, signers: readonly Signer[], roles?: readonly string[]): Promise<RoleSigningResult[]> {
  repo.finalize();
  const explicit = roles !== undefined && roles.length > 0;
  const targets = explicit ? [...roles] : pendingRoles(repo);
  for (const role of targets) if (!repo.has(role)) repo.signed(role); // raises ROLE_UNKNOWN
  repo.checkUnversionedEdits(targets);
  const results: RoleSigningResult[] = [];
  let any = false;
  for (const role of targets) {
    const used = await repo.sign(role, signers, false);
    if (used.length > 0) any = true;
    results.push(signingResult(repo, role, used));
  }
  if (!any && (explicit || targets.length > 0)) {
    const given = signers.map((s) => `${s.source} (${s.keyId.slice(0, 12)})`).join(', ') || 'none';
    throw new KeyError('KEY_NOT_TRUSTED', `none of the given keys [${given}] is trusted by ${targets.join(', ')}`);
  }
  return results;
}

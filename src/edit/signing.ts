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
  /** Given keys whose valid signature the role already had (not signed again). */
  alreadySigned?: string[];
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
 * Signs `roles` (default: the pending ones, changed since `options.baseRef`,
 * by default the configured base ref) with every given signer each role
 * trusts whose valid signature the role does not have yet: a key owner signs
 * only what is still missing from them. Throws KEY_NOT_TRUSTED when no given
 * key is trusted by any of them.
 */
export async function signRoles(
  repo: Repository,
  signers: readonly Signer[],
  roles?: readonly string[],
  options: { baseRef?: string } = {},
): Promise<RoleSigningResult[]> {
  repo.finalize();
  const explicit = roles !== undefined && roles.length > 0;
  const targets = explicit ? [...roles] : pendingRoles(repo, options.baseRef);
  for (const role of targets) if (!repo.has(role)) repo.signed(role); // raises ROLE_UNKNOWN
  repo.checkUnversionedEdits(targets);
  repo.finalize();
  const results: RoleSigningResult[] = [];
  let any = false;
  for (const role of targets) {
    const done = validSignatures(repo, role);
    const needed = signers.filter((s) => !done.has(s.keyId));
    const already = signers.filter((s) => done.has(s.keyId)).map((s) => s.keyId);
    const used = needed.length > 0 ? await repo.sign(role, needed, false) : [];
    if (used.length > 0 || already.length > 0) any = true;
    const result = signingResult(repo, role, used);
    if (already.length > 0) result.alreadySigned = already;
    results.push(result);
  }
  if (!any && (explicit || targets.length > 0)) {
    const given = signers.map((s) => `${s.source} (${s.keyId.slice(0, 12)})`).join(', ') || 'none';
    throw new KeyError('KEY_NOT_TRUSTED', `none of the given keys [${given}] is trusted by ${targets.join(', ')}`);
  }
  return results;
}

/** Key ids whose signature on the role verifies now (root: with its own or the previous root's keys). */
function validSignatures(repo: Repository, role: string): Set<string> {
  const valid = new Set(repo.signatureStatus(role).valid);
  if (role === 'root') {
    const previous = repo.previousRootTrust();
    if (previous) for (const id of repo.signatureStatus('root', previous).valid) valid.add(id);
  }
  return valid;
}

/** Signatures a threshold still needs: `needed` more from any of `from`. */
export interface SignatureNeed {
  needed: number;
  from: string[];
}

/** What a count against a threshold still needs, or undefined when it is met. */
export function needOf(s: { valid: number; threshold: number; missing: string[] }): SignatureNeed | undefined {
  return s.valid >= s.threshold ? undefined : { needed: s.threshold - s.valid, from: s.missing };
}

function needText(need: SignatureNeed): string {
  const from = need.from.join(', ');
  return need.needed >= need.from.length ? from : `${need.needed} more of ${from}`;
}

/**
 * Who still has to sign, as a person reads it: `@bob`, `2 more of @a, @b, @c`,
 * and for root, whose new version needs the old root's threshold too:
 * `2 more of @a, @b, @c, @d (old and new root)` when both need the same, else
 * `1 more of @a, @b (old root); @e (new root)`.
 */
export function describeNeeds(own: SignatureNeed | undefined, oldRoot?: SignatureNeed): string {
  if (!oldRoot) return own ? needText(own) : '';
  if (!own) return `${needText(oldRoot)} (old root)`;
  const same = own.needed === oldRoot.needed && own.from.length === oldRoot.from.length && own.from.every((f) => oldRoot.from.includes(f));
  if (same) return `${needText(own)} (old and new root)`;
  return `${needText(oldRoot)} (old root); ${needText(own)} (new root)`;
}

/** What is still missing after signing, per role: `targets from @bob`, `root from 1 more of @a, @b (old and new root)`. */
export function remainingSignatures(results: readonly RoleSigningResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const text = describeNeeds(needOf(r), r.previous ? needOf(r.previous) : undefined);
    if (text) lines.push(`${r.role} from ${text}`);
  }
  return lines;
}

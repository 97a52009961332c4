/**
 * Signing roles with the keys at hand, and reporting what is still missing.
 *
 * Without explicit roles, the roles to sign are those whose metadata changed
 * relative to the base ref (plus any changed in this session). A key a role
 * does not trust is ignored for that role; a key no role trusts is an error.
 */
import { KeyError } from '../errors.js';
import { changedMetadataSince } from '../git/git-repo.js';
import { LocalKeySigner, type Signer } from '../keys/signer.js';
import { PooledSigner, SigningPool } from '../keys/signing-pool.js';
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

export function signingResult(
  repo: Repository,
  role: string,
  signedWith: string[] = [],
  status: SignatureStatus = repo.signatureStatus(role),
): RoleSigningResult {
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
  let any = false;
  let active: readonly Signer[] = signers;
  const signOne = async (role: string): Promise<RoleSigningResult> => {
    const done = validSignatures(repo, role);
    const needed = active.filter((s) => !done.has(s.keyId));
    const already = active.filter((s) => done.has(s.keyId)).map((s) => s.keyId);
    let result: RoleSigningResult;
    if (needed.length > 0) {
      const { used, status } = await repo.signWithStatus(role, needed, false);
      result = signingResult(repo, role, used, status);
    } else result = signingResult(repo, role, []);
    if (result.signedWith.length > 0 || already.length > 0) any = true;
    if (already.length > 0) result.alreadySigned = already;
    return result;
  };
  const results = await withSigningPool(signers, targets.length, (pooled, parallel) => {
    active = pooled;
    return inParallel(targets, signOne, parallel);
  });
  if (!any && (explicit || targets.length > 0)) {
    const given = signers.map((s) => `${s.source} (${s.keyId.slice(0, 12)})`).join(', ') || 'none';
    throw new KeyError('KEY_NOT_TRUSTED', `none of the given keys [${given}] is trusted by ${targets.join(', ')}`);
  }
  return results;
}

/** From this many roles on, local keys sign on worker threads (starting them costs some 30 ms). */
const POOL_MIN_ROLES = 64;
/** Roles awaiting a worker at once: enough to keep every worker busy while the next roles are encoded. */
const POOL_IN_FLIGHT = 32;

/**
 * Runs `sign` with the signers to use and how many roles may await them at
 * once: for many roles, local keys are replaced by signers on worker threads
 * (the pool is closed afterwards); otherwise the signers as given, one role at a time.
 */
async function withSigningPool<R>(
  signers: readonly Signer[],
  roles: number,
  sign: (signers: readonly Signer[], parallel: number) => Promise<R>,
): Promise<R> {
  const keys = signers.map((s) => LocalKeySigner.privateKeyOf(s));
  if (roles < POOL_MIN_ROLES || keys.every((k) => k === undefined)) return sign(signers, 1);
  const local = keys.flatMap((key, i) => (key ? [{ key, scheme: signers[i]!.publicKey.scheme }] : []));
  const pool = SigningPool.start(local);
  try {
    let index = 0;
    const pooled = signers.map((s, i) => (keys[i] ? new PooledSigner(s, pool, index++) : s));
    return await sign(pooled, POOL_IN_FLIGHT);
  } finally {
    await pool.close();
  }
}

/** `run` over `items` with at most `limit` unfinished at a time; results in the order of `items`. */
async function inParallel<T, R>(items: readonly T[], run: (item: T) => Promise<R>, limit: number): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await run(items[i]!);
      } catch (error) {
        failed = true; // the other lanes stop at their next role
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
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

/**
 * The only places that decide whether snapshot and timestamp change
 * (python-tuf's `do_snapshot` / `do_timestamp`).
 *
 * Snapshot: a new version when any targets role's meta differs from what
 * snapshot lists, when snapshot is not validly signed by its threshold, when
 * it is inside its signing period, or when forced. Every role ever listed
 * stays listed; a targets role whose version is lower than the listed one is
 * a rollback and is refused.
 *
 * Timestamp: a new version when snapshot changed (version or bytes), when
 * timestamp is not validly signed, inside its signing period, or forced.
 */
import { createHash } from 'node:crypto';
import { MetadataError, RuleError } from '../errors.js';
import type { Signer } from '../keys/signer.js';
import { parseExpiry, signingState } from './expiry.js';
import { isJSONObject, sameCanonical, type JSONObject } from './json.js';
import type { Repository, SignatureStatus } from './repository.js';
import { RoleIndex } from './role-index.js';
import { own, setOwn } from './strict-json.js';

export interface OnlineRoleOptions {
  /** Re-sign even when nothing calls for it. */
  force?: boolean;
  /** The new version is at least this (the refresh job's floor + 1, above what a registry already serves). */
  versionAtLeast?: number;
}

export interface OnlineRoleResult {
  role: 'snapshot' | 'timestamp';
  /** Whether a new version was produced. */
  updated: boolean;
  version: number;
  /** Why it changed (or why not). */
  reasons: string[];
  signedWith: string[];
}

function reasonsToResign(repo: Repository, role: 'snapshot' | 'timestamp'): string[] {
  const reasons: string[] = [];
  const status = repo.signatureStatus(role);
  if (!status.ok) reasons.push(`${role} is signed by ${status.valid.length}/${status.threshold} trusted keys`);
  const expires = parseExpiry(repo.signed(role).expires);
  if (expires) {
    const state = signingState(expires, repo.periods(role), repo.now);
    if (state === 'expired') reasons.push(`${role} expired ${expires.toISOString()}`);
    else if (state === 'in-signing-period') reasons.push(`${role} is in its signing period (expires ${expires.toISOString()})`);
  }
  return reasons;
}

/**
 * The snapshot meta the current targets roles call for, and which roles
 * differ from what snapshot lists (e.g. "targets v3"). Refuses rollbacks and
 * missing role files.
 */
export function snapshotChanges(repo: Repository): { meta: JSONObject; changed: string[] } {
  const index = new RoleIndex(repo, { fileHashes: repo.config.snapshotMetaHashes });
  const entries = index.walk();
  index.persist();
  const current = repo.signed('snapshot').meta as JSONObject;
  const meta: JSONObject = { ...current };
  const changed: string[] = [];
  const missing = entries.filter((e) => !e.info).map((e) => e.role);
  if (missing.length > 0) {
    throw new RuleError(
      'VERSION_ROLLBACK',
      `delegated role file(s) missing: ${missing
        .slice(0, 5)
        .map((r) => `metadata/${r}.json`)
        .join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
    );
  }
  for (const { role, info } of entries) {
    if (!info) continue;
    const name = `${role}.json`;
    const listed = own(current, name);
    const listedVersion = isJSONObject(listed) && typeof listed.version === 'number' ? listed.version : undefined;
    if (listedVersion !== undefined && info.version < listedVersion) {
      throw new RuleError(
        'VERSION_ROLLBACK',
        `metadata/${name} has version ${info.version} but snapshot already lists version ${listedVersion}; versions never go down`,
      );
    }
    const entry: JSONObject = { version: info.version };
    if (repo.config.snapshotMetaHashes) {
      entry.length = info.length!;
      entry.hashes = { sha256: info.sha256! };
    }
    if (!sameJSON(listed, entry)) {
      setOwn(meta, name, entry);
      changed.push(`${role} v${info.version}`);
    }
  }
  return { meta, changed };
}

/** Computes snapshot meta from the current targets roles; updates and signs snapshot if needed. */
export async function doSnapshot(repo: Repository, signers: readonly Signer[], options: OnlineRoleOptions = {}): Promise<OnlineRoleResult> {
  const { meta, changed } = snapshotChanges(repo);
  const reasons = changed.length > 0 ? [`targets roles changed: ${summarise(changed)}`] : [];
  reasons.push(...reasonsToResign(repo, 'snapshot'));
  if (options.force) reasons.push('forced');
  if (reasons.length === 0) {
    return { role: 'snapshot', updated: false, version: repo.version('snapshot'), reasons: ['up to date'], signedWith: [] };
  }
  const contentChanged = repo.edit(
    'snapshot',
    `snapshot: ${reasons.join('; ')}`,
    (signed) => {
      signed.meta = meta;
    },
    // A listed role's entry differs (compared entry by entry above): no need to compare the whole 1 MB role again.
    { replaces: ['meta'], knownChanged: changed.length > 0 },
  );
  // Content identical: re-signing still needs a fresh version and expiry.
  if (!contentChanged) repo.renew('snapshot', `snapshot: ${reasons.join('; ')}`);
  raiseVersion(repo, 'snapshot', options.versionAtLeast);
  repo.finalize();
  const { used: signedWith, status } = await repo.signWithStatus('snapshot', signers);
  assertThreshold(repo, 'snapshot', status);
  return { role: 'snapshot', updated: true, version: repo.version('snapshot'), reasons, signedWith };
}

/** Points timestamp at the current snapshot bytes; updates and signs it if needed. */
export async function doTimestamp(
  repo: Repository,
  signers: readonly Signer[],
  options: OnlineRoleOptions = {},
): Promise<OnlineRoleResult> {
  const snapshotBytes = repo.fileBytes('snapshot');
  const entry: JSONObject = { version: repo.version('snapshot') };
  if (repo.config.timestampMetaHashes) {
    entry.length = snapshotBytes.length;
    entry.hashes = { sha256: createHash('sha256').update(snapshotBytes).digest('hex') };
  }
  const meta = repo.signed('timestamp').meta as JSONObject;
  const listed = meta['snapshot.json'];
  const reasons: string[] = [];
  if (isJSONObject(listed) && typeof listed.version === 'number' && listed.version > (entry.version as number)) {
    throw new RuleError(
      'VERSION_ROLLBACK',
      `snapshot version ${String(entry.version)} is lower than the ${listed.version} timestamp already lists`,
    );
  }
  if (!sameJSON(listed, entry)) {
    const listedVersion = isJSONObject(listed) ? listed.version : undefined;
    reasons.push(
      listedVersion === entry.version
        ? `snapshot.json meta (length/hashes) updated for v${String(entry.version)}`
        : `snapshot changed (v${String(entry.version)})`,
    );
  }
  reasons.push(...reasonsToResign(repo, 'timestamp'));
  if (options.force) reasons.push('forced');
  if (reasons.length === 0) {
    return { role: 'timestamp', updated: false, version: repo.version('timestamp'), reasons: ['up to date'], signedWith: [] };
  }
  const changed = repo.edit('timestamp', `timestamp: ${reasons.join('; ')}`, (signed) => {
    signed.meta = { 'snapshot.json': entry };
  });
  if (!changed) repo.renew('timestamp', `timestamp: ${reasons.join('; ')}`);
  raiseVersion(repo, 'timestamp', options.versionAtLeast);
  repo.finalize();
  const { used: signedWith, status } = await repo.signWithStatus('timestamp', signers);
  assertThreshold(repo, 'timestamp', status);
  return { role: 'timestamp', updated: true, version: repo.version('timestamp'), reasons, signedWith };
}

/** Lifts the working version so finalize keeps it (it keeps any working version above the base's). */
function raiseVersion(repo: Repository, role: 'snapshot' | 'timestamp', atLeast: number | undefined): void {
  if (atLeast === undefined || repo.version(role) >= atLeast) return;
  if (!Number.isSafeInteger(atLeast)) {
    throw new MetadataError(
      'METADATA_MALFORMED',
      `${role}: the new version would have to be at least ${atLeast}, above 9007199254740991 (2^53 - 1), where versions stop`,
    );
  }
  repo.edit(role, `${role}: version ${atLeast} (above the published one)`, (signed) => {
    signed.version = atLeast;
  });
}

function assertThreshold(repo: Repository, role: 'snapshot' | 'timestamp', status: SignatureStatus): void {
  if (!status.ok) {
    throw new RuleError(
      'THRESHOLD_UNMET',
      `${role} v${repo.version(role)} is signed by ${status.valid.length}/${status.threshold} keys; give the missing online key(s) ${status.missing.map((k) => k.slice(0, 12)).join(', ')}`,
    );
  }
}

function summarise(items: string[]): string {
  return items.length <= 5 ? items.join(', ') : `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`;
}

/** Order-insensitive equality of two meta entries (files store keys sorted). */
function sameJSON(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameCanonical(a, b);
}

/**
 * Editing who may sign a role: keys, thresholds, and expiry periods.
 *
 * Top-level roles are edited in root (`keys`, `roles.<role>`); delegated
 * roles in the delegating role's `delegations`. For succinct hashed bins the
 * trust is shared by every bin and is edited through the bin name prefix or
 * any bin name.
 */
import { KeyError, UsageError } from '../errors.js';
import { KEYOWNER_FIELD, ONLINE_URI_FIELD, publicKeyObjectOf, spkiDerOf, type TufKeyJSON } from '../keys/tuf-key.js';
import { DEFAULT_KEY_ID_RULE, detectKeyIdRule, keyIdByRule, type KeyIdRule } from '../keys/key-ids.js';
import { ATTESTATION_FIELD, deviceLabelOf } from '../keys/piv-attestation.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import { assertPeriods, writePeriods, type Periods } from '../metadata/expiry.js';
import type { Repository } from '../metadata/repository.js';
import { isTopLevelRole } from '../metadata/role-names.js';

interface TrustLocation {
  /** The role whose metadata holds the keys and the role entry. */
  holder: string;
  /** Finds the entry (with keyids and threshold) inside the holder's signed. */
  entry: (signed: JSONObject) => JSONObject;
  /** Finds the key table inside the holder's signed. */
  keys: (signed: JSONObject) => JSONObject;
  label: string;
}

/** Where the keys and threshold of `role` live. */
export function locateTrust(repo: Repository, role: string): TrustLocation {
  if (isTopLevelRole(role)) {
    return {
      holder: 'root',
      entry: (s) => (s.roles as JSONObject)[role] as JSONObject,
      keys: (s) => s.keys as JSONObject,
      label: role,
    };
  }
  // A succinct bin prefix (e.g. "bins") names the shared trust of all its bins.
  const parent = repo.delegatorOf(role) ?? findSuccinctByPrefix(repo, role);
  if (!parent) throw new UsageError(`unknown role "${role}": no role delegates to it`, 'ROLE_UNKNOWN');
  const delegations = repo.signed(parent).delegations as JSONObject;
  const succinct = isJSONObject(delegations.succinct_roles);
  return {
    holder: parent,
    entry: (s) => {
      const d = s.delegations as JSONObject;
      if (succinct) return d.succinct_roles as JSONObject;
      return (d.roles as JSONObject[]).find((r) => r.name === role)!;
    },
    keys: (s) => {
      const d = s.delegations as JSONObject;
      if (!isJSONObject(d.keys)) d.keys = {};
      return d.keys;
    },
    label: succinct ? `bins ${String((delegations.succinct_roles as JSONObject).name_prefix)}-*` : role,
  };
}

/** Every delegating role reachable from targets, breadth-first, targets first. Hashed bins are leaves. */
export function delegatingRoles(repo: Repository): string[] {
  const holders: string[] = [];
  const queue = ['targets'];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (seen.has(current) || !repo.has(current)) continue;
    seen.add(current);
    const d = repo.signed(current).delegations;
    if (!isJSONObject(d)) continue;
    holders.push(current);
    // tufctl never delegates from a bin.
    if (isJSONObject(d.succinct_roles)) continue;
    for (const entry of (Array.isArray(d.roles) ? d.roles : []) as JSONObject[]) queue.push(String(entry.name));
  }
  return holders;
}

function findSuccinctByPrefix(repo: Repository, prefix: string): string | undefined {
  return delegatingRoles(repo).find((role) => {
    const d = repo.signed(role).delegations as JSONObject;
    return isJSONObject(d.succinct_roles) && d.succinct_roles.name_prefix === prefix;
  });
}

function keyInUse(signed: JSONObject, keyId: string, holderIsRoot: boolean): boolean {
  if (holderIsRoot) {
    return Object.values(signed.roles as JSONObject).some((r) => ((r as JSONObject).keyids as string[]).includes(keyId));
  }
  const d = signed.delegations as JSONObject;
  if (isJSONObject(d.succinct_roles)) return (d.succinct_roles.keyids as string[]).includes(keyId);
  return ((d.roles ?? []) as JSONObject[]).some((r) => (r.keyids as string[]).includes(keyId));
}

export interface AddKeyOptions {
  owner?: string;
  onlineUri?: string;
  /** Verified hardware attestation facts (attestationRecord), stored as ATTESTATION_FIELD. */
  attestation?: JSONObject;
}

/** How this repository computes new key ids: tufctl.json's keyIdRule, else the rule its keys follow. */
export function repositoryKeyIdRule(repo: Repository): KeyIdRule {
  if (repo.config.keyIdRule) return repo.config.keyIdRule;
  const tables = [repo.root().keys, ...delegatingRoles(repo).map((role) => (repo.signed(role).delegations as JSONObject).keys)];
  return detectKeyIdRule(tables) ?? DEFAULT_KEY_ID_RULE;
}

/** The id a key table already lists this key's material under, if any. */
export function existingIdOf(table: JSONObject, key: TufKeyJSON): string | undefined {
  const mine = spkiDerOf(publicKeyObjectOf(key));
  for (const [id, entry] of Object.entries(table)) {
    if (!isJSONObject(entry)) continue;
    try {
      if (spkiDerOf(publicKeyObjectOf(entry as TufKeyJSON)).equals(mine)) return id;
    } catch {
      // An undecodable key is not this key.
    }
  }
  return undefined;
}

/** `key` with the owner, online URI and attestation fields as they will be stored. */
export function keyRecord(key: TufKeyJSON, options: AddKeyOptions = {}): JSONObject {
  if (options.owner !== undefined && !/^@?[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.owner)) {
    throw new UsageError(`owner "${options.owner}" is not a user handle like @alice`);
  }
  const record: JSONObject = { ...key };
  if (options.owner) record[KEYOWNER_FIELD] = options.owner.startsWith('@') ? options.owner : `@${options.owner}`;
  if (options.onlineUri) record[ONLINE_URI_FIELD] = options.onlineUri;
  if (options.attestation) record[ATTESTATION_FIELD] = options.attestation;
  return record;
}

/**
 * Lets `role` trust a public key. A key the key table already holds keeps its
 * id (one key is never listed under two ids); a new key gets its id by the
 * repository's rule, computed over the record as stored.
 */
export function addKey(repo: Repository, role: string, key: TufKeyJSON, options: AddKeyOptions = {}): { added: boolean; keyId: string } {
  const where = locateTrust(repo, role);
  const fresh = keyRecord(key, options);
  const holder = repo.signed(where.holder);
  const table = (where.holder === 'root' ? holder.keys : (holder.delegations as JSONObject).keys) ?? {};
  const keyId = existingIdOf(table as JSONObject, key) ?? keyIdByRule(fresh, repositoryKeyIdRule(repo));
  const who = [options.owner, deviceLabelOf(fresh)].filter((w): w is string => w !== undefined && w !== '');
  const added = repo.edit(
    where.holder,
    `${where.label}: add key ${keyId.slice(0, 12)}${who.length > 0 ? ` (${who.join(', ')})` : ''}`,
    (signed) => {
      const keys = where.keys(signed);
      const existing = keys[keyId];
      const record: JSONObject = isJSONObject(existing) ? { ...existing } : fresh;
      if (options.owner) record[KEYOWNER_FIELD] = fresh[KEYOWNER_FIELD]!;
      if (options.onlineUri) record[ONLINE_URI_FIELD] = options.onlineUri;
      if (options.attestation) record[ATTESTATION_FIELD] = options.attestation;
      keys[keyId] = record;
      const entry = where.entry(signed);
      const ids = entry.keyids as string[];
      if (!ids.includes(keyId)) ids.push(keyId);
    },
  );
  return { added, keyId };
}

/** Resolves a key id or unique prefix (>= 8 hex characters) among the keys `role` trusts. */
export function resolveKeyId(repo: Repository, role: string, keyIdOrPrefix: string): string {
  const where = locateTrust(repo, role);
  const ids = where.entry(repo.signed(where.holder)).keyids as string[];
  if (ids.includes(keyIdOrPrefix)) return keyIdOrPrefix;
  if (keyIdOrPrefix.length >= 8) {
    const matches = ids.filter((id) => id.startsWith(keyIdOrPrefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new KeyError('KEY_UNKNOWN', `key id prefix ${keyIdOrPrefix} is ambiguous for ${role}`);
  }
  throw new KeyError('KEY_UNKNOWN', `${role} does not trust a key ${keyIdOrPrefix}`);
}

/** Stops `role` trusting a key; refuses if the remaining keys cannot meet the threshold. */
export function removeKey(repo: Repository, role: string, keyIdOrPrefix: string): string {
  const keyId = resolveKeyId(repo, role, keyIdOrPrefix);
  const where = locateTrust(repo, role);
  repo.edit(where.holder, `${where.label}: remove key ${keyId.slice(0, 12)}`, (signed) => {
    const entry = where.entry(signed);
    const remaining = (entry.keyids as string[]).filter((id) => id !== keyId);
    if (remaining.length < (entry.threshold as number)) {
      throw new UsageError(
        `removing ${keyId.slice(0, 12)} would leave ${where.label} with ${remaining.length} key(s) for a threshold of ${entry.threshold as number}; lower the threshold or add a key first`,
        'THRESHOLD_INVALID',
      );
    }
    entry.keyids = remaining;
    if (!keyInUse(signed, keyId, where.holder === 'root')) delete where.keys(signed)[keyId];
  });
  // A role whose threshold was met only with this key's signature gets a new version to be signed again:
  // re-signing the same version would give clients two different files under one version.
  if (repo.has(role) && repo.envelope(role).signatures.some((s) => s.keyid === keyId && s.sig !== '') && !repo.signatureStatus(role).ok) {
    repo.renew(role, `${role}: new version to be signed without removed key ${keyId.slice(0, 12)}`);
  }
  return keyId;
}

export function setThreshold(repo: Repository, role: string, threshold: number): boolean {
  const where = locateTrust(repo, role);
  return repo.edit(where.holder, `${where.label}: threshold ${threshold}`, (signed) => {
    const entry = where.entry(signed);
    const count = (entry.keyids as string[]).length;
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new UsageError(`threshold must be a whole number >= 1 (got ${threshold})`, 'THRESHOLD_INVALID');
    }
    if (threshold > count) {
      throw new UsageError(`threshold ${threshold} is larger than the ${count} key(s) ${where.label} trusts`, 'THRESHOLD_INVALID');
    }
    entry.threshold = threshold;
  });
}

/** Sets a role's expiry and signing periods (snapshot/timestamp: in root, as tuf-on-ci does). */
export function setPeriods(repo: Repository, role: string, periods: Periods): boolean {
  assertPeriods(periods);
  const description = `${role}: expiry period ${periods.expiryDays} days, signing period ${periods.signingDays} days`;
  if (role === 'snapshot' || role === 'timestamp') {
    return repo.edit('root', description, (signed) => writePeriods((signed.roles as JSONObject)[role] as JSONObject, periods));
  }
  if (!repo.has(role)) throw new UsageError(`unknown role "${role}"`, 'ROLE_UNKNOWN');
  return repo.edit(role, description, (signed) => writePeriods(signed, periods));
}

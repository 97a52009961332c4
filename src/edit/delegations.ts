/**
 * Delegations: adding and removing delegated targets roles, by path patterns
 * or as TAP 15 succinct hashed bins.
 *
 * A role's delegations hold either explicit roles or one set of succinct
 * bins, never both (the TUF format allows one or the other).
 */
import { DelegationError, UsageError } from '../errors.js';
import type { TufKeyJSON } from '../keys/tuf-key.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import { DEFAULT_PERIODS, EXPIRY_FIELD, SIGNING_FIELD, expiryFrom, type Periods } from '../metadata/expiry.js';
import type { Repository } from '../metadata/repository.js';
import { assertDelegatedRoleName } from '../metadata/role-names.js';
import { binNames } from '../metadata/role-index.js';
import { keyIdByRule } from '../keys/key-ids.js';
import { existingIdOf, keyRecord, repositoryKeyIdRule } from './role-trust.js';

export interface DelegationKey {
  key: TufKeyJSON;
  owner?: string;
}

export interface AddDelegationOptions {
  /** The delegating role (default `targets`). */
  from?: string;
  paths?: string[];
  /** Number of succinct hashed bins (a power of two). */
  bins?: number;
  /** Bin name prefix (default: the role name). */
  prefix?: string;
  keys: DelegationKey[];
  threshold?: number;
  terminating?: boolean;
  periods?: Periods;
}

const MAX_BINS = 2 ** 20;

function ancestorsOf(repo: Repository, role: string): string[] {
  const chain: string[] = [];
  let current: string | undefined = role;
  while (current && current !== 'targets') {
    current = repo.delegatorOf(current);
    if (current) {
      if (chain.includes(current)) break;
      chain.push(current);
    }
  }
  return chain;
}

function newTargetsSigned(repo: Repository, periods: Periods): JSONObject {
  return {
    _type: 'targets',
    spec_version: '1.0.31',
    version: 1,
    expires: expiryFrom(repo.now, periods.expiryDays),
    targets: {},
    [EXPIRY_FIELD]: periods.expiryDays,
    [SIGNING_FIELD]: periods.signingDays,
  };
}

/** Adds a delegated role (or a set of hashed bins) and creates its metadata file(s). Returns the new role names. */
export function addDelegation(repo: Repository, role: string, options: AddDelegationOptions): string[] {
  const from = options.from ?? 'targets';
  if (!repo.has(from)) throw new UsageError(`unknown delegating role "${from}"`, 'ROLE_UNKNOWN');
  if (from === 'root' || from === 'snapshot' || from === 'timestamp') {
    throw new DelegationError('DELEGATION_INVALID', `${from} cannot delegate targets; delegate from targets or a delegated role`);
  }
  const byPaths = options.paths !== undefined && options.paths.length > 0;
  const byBins = options.bins !== undefined;
  if (byPaths === byBins) throw new UsageError('give either --paths PATTERN... or --bins N');
  if (options.keys.length === 0) throw new UsageError('a delegation needs at least one --key PUBKEY');
  const threshold = options.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > options.keys.length) {
    throw new UsageError(`threshold ${threshold} must be between 1 and the ${options.keys.length} key(s) given`, 'THRESHOLD_INVALID');
  }
  const periods = options.periods ?? DEFAULT_PERIODS.delegated;
  const existing = repo.signed(from).delegations;
  // Keys the delegating role already lists keep their ids; new ones get ids by the repository's rule.
  const listed = (isJSONObject(existing) && isJSONObject(existing.keys) ? existing.keys : {}) as JSONObject;
  const rule = repositoryKeyIdRule(repo);
  const keyTable: JSONObject = {};
  const keyIds: string[] = [];
  for (const k of options.keys) {
    const record = keyRecord(k.key, k.owner ? { owner: k.owner } : {});
    const keyId = existingIdOf(listed, k.key) ?? existingIdOf(keyTable, k.key) ?? keyIdByRule(record, rule);
    if (!listed[keyId] && !keyTable[keyId]) keyTable[keyId] = record;
    if (!keyIds.includes(keyId)) keyIds.push(keyId);
  }
  if (threshold > keyIds.length) {
    throw new UsageError(`threshold ${threshold} is more than the ${keyIds.length} distinct key(s) given`, 'THRESHOLD_INVALID');
  }

  if (byPaths) {
    assertDelegatedRoleName(role);
    if (role === from || ancestorsOf(repo, from).includes(role)) {
      throw new DelegationError(
        'DELEGATION_CYCLE',
        `delegating ${role} from ${from} would create a cycle (${role} is ${role === from ? 'the delegating role itself' : `an ancestor of ${from}`})`,
      );
    }
    if (repo.has(role) || repo.delegatorOf(role)) throw new UsageError(`role "${role}" already exists`, 'ROLE_EXISTS');
    if (isJSONObject(existing) && isJSONObject(existing.succinct_roles)) {
      throw new DelegationError(
        'DELEGATION_INVALID',
        `${from} already delegates to hashed bins; a role delegates either by paths or by bins, not both`,
      );
    }
    for (const pattern of options.paths!) {
      if (pattern === '' || pattern.startsWith('/') || pattern.includes('\\') || pattern.split('/').includes('..')) {
        throw new DelegationError('DELEGATION_INVALID', `path pattern "${pattern}" is invalid (relative, "/"-separated, no "..")`);
      }
    }
    repo.edit(from, `${from}: delegate ${options.paths!.join(' ')} to ${role}`, (signed) => {
      const d: JSONObject = isJSONObject(signed.delegations) ? signed.delegations : { keys: {}, roles: [] };
      d.keys = { ...(d.keys as JSONObject), ...keyTable };
      const roles = (Array.isArray(d.roles) ? d.roles : []) as JSONObject[];
      roles.push({ name: role, keyids: keyIds, threshold, terminating: options.terminating ?? false, paths: [...options.paths!] });
      d.roles = roles;
      signed.delegations = d;
    });
    repo.createRole(role, newTargetsSigned(repo, periods), `create role ${role}`);
    return [role];
  }

  const bins = options.bins!;
  if (!Number.isInteger(bins) || bins < 2 || bins > MAX_BINS || (bins & (bins - 1)) !== 0) {
    throw new UsageError(`--bins must be a power of two between 2 and ${MAX_BINS} (got ${bins})`);
  }
  const prefix = options.prefix ?? role;
  assertDelegatedRoleName(prefix);
  if (isJSONObject(existing) && ((Array.isArray(existing.roles) && existing.roles.length > 0) || isJSONObject(existing.succinct_roles))) {
    throw new DelegationError(
      'DELEGATION_INVALID',
      `${from} already has delegations; hashed bins need a delegating role of their own (create one with --paths, then use --from it)`,
    );
  }
  const bitLength = Math.log2(bins);
  const names = binNames(prefix, bitLength);
  for (const name of names) if (repo.has(name)) throw new UsageError(`role "${name}" already exists`, 'ROLE_EXISTS');
  repo.edit(from, `${from}: delegate to ${bins} hashed bins ${prefix}-*`, (signed) => {
    signed.delegations = {
      keys: keyTable,
      succinct_roles: { bit_length: bitLength, name_prefix: prefix, keyids: keyIds, threshold },
    };
  });
  for (const name of names) repo.createRole(name, newTargetsSigned(repo, periods), `create bin ${name}`);
  return names;
}

/** Removes a delegated role (or a whole set of bins, by prefix) and deletes its metadata file(s). */
export function removeDelegation(repo: Repository, role: string): string[] {
  const parent = repo.delegatorOf(role);
  if (parent) {
    const d = repo.signed(parent).delegations as JSONObject;
    if (isJSONObject(d.succinct_roles)) {
      throw new UsageError(
        `${role} is one hashed bin; remove the whole set with "delegate remove ${String(d.succinct_roles.name_prefix)}"`,
      );
    }
    const childDelegations = repo.has(role) ? repo.signed(role).delegations : undefined;
    if (isJSONObject(childDelegations) && ((childDelegations.roles as unknown[] | undefined)?.length || childDelegations.succinct_roles)) {
      throw new DelegationError('DELEGATION_INVALID', `${role} delegates further; remove its delegations first`);
    }
    repo.edit(parent, `${parent}: remove delegation to ${role}`, (signed) => {
      const del = signed.delegations as JSONObject;
      const roles = (del.roles as JSONObject[]).filter((r) => r.name !== role);
      del.roles = roles;
      const used = new Set(roles.flatMap((r) => r.keyids as string[]));
      for (const id of Object.keys(del.keys as JSONObject)) if (!used.has(id)) delete (del.keys as JSONObject)[id];
      if (roles.length === 0) delete signed.delegations;
    });
    if (repo.has(role)) repo.deleteRole(role, `delete role ${role}`);
    return [role];
  }
  // A bin prefix: find the role delegating to these bins.
  for (const candidate of [
    'targets',
    ...repo.listMetadataFiles().filter((f) => !['root', 'snapshot', 'timestamp', 'targets'].includes(f)),
  ]) {
    const d = repo.has(candidate) ? repo.signed(candidate).delegations : undefined;
    if (isJSONObject(d) && isJSONObject(d.succinct_roles) && d.succinct_roles.name_prefix === role) {
      const names = binNames(role, d.succinct_roles.bit_length as number);
      repo.edit(candidate, `${candidate}: remove hashed bins ${role}-*`, (signed) => {
        delete signed.delegations;
      });
      for (const name of names) if (repo.has(name)) repo.deleteRole(name, `delete bin ${name}`);
      return names;
    }
  }
  throw new UsageError(`unknown role "${role}": no role delegates to it`, 'ROLE_UNKNOWN');
}

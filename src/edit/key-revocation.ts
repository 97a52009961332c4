/**
 * Revoking a key everywhere it is trusted (`tufctl key revoke`).
 *
 * A key may be trusted by several roles at once: root's roles (root, targets,
 * snapshot, timestamp) and every delegation of every delegating role (path
 * delegations and succinct hashed bins). Revoking removes it from each of
 * them, and from every key table where no role uses it any more, in one edit
 * per changed metadata file (the editor applies the version rule: one bump
 * per change relative to the base ref).
 *
 * A role left with fewer keys than its threshold is refused (THRESHOLD_INVALID)
 * unless the caller lowers the threshold to the keys left; a role left with no
 * key is always refused. The online key (snapshot/timestamp) is never revoked
 * here: it is replaced with `rotateOnlineKey` (src/edit/online-key.ts).
 *
 * A role that was signed by the revoked key and no longer meets its threshold
 * without that signature gets a new version (its old signatures are dropped),
 * so that the re-signed metadata never has the same version as the published
 * one. The result lists every role that must be (re-)signed, by whom.
 */
import { KeyError, RuleError, UsageError } from '../errors.js';
import { KEYOWNER_FIELD } from '../keys/tuf-key.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import type { Repository } from '../metadata/repository.js';
import { binNames } from '../metadata/role-index.js';
import { ownersOf } from './signing.js';
import { delegatingRoles } from './role-trust.js';

/** One place where a role's keys and threshold are listed. */
interface TrustSite {
  /** The role, or `PREFIX-*` for a set of hashed bins. */
  label: string;
  /** The metadata files verified with this entry: the role itself, or every bin. */
  roles: string[];
  /** The role whose metadata holds the entry: root, or the delegating role. */
  holder: string;
  kind: 'root' | 'delegated' | 'bins';
  /** The entry's name in root.roles or delegations.roles (bins: the name prefix). */
  name: string;
  keyids: string[];
  threshold: number;
}

/** What a changed or invalidated role now needs. */
export interface ResignNeed {
  /** A role, or `PREFIX-*` for hashed bins (`files` says how many bins). */
  role: string;
  files: number;
  /** The role's version now (omitted for a set of bins). */
  version?: number;
  /** Why it must be signed. */
  why: string;
  threshold: number;
  /** Owners (x-tuf-on-ci-keyowner, else a short key id) of the trusted keys that have not signed yet. */
  signers: string[];
  /** Root only: root N+1 must also meet root N's threshold. */
  previous?: { threshold: number; signers: string[] };
}

export interface RevokedFrom {
  /** The role (or `PREFIX-*` for hashed bins) that trusted the key. */
  role: string;
  /** The metadata file that lists the role's keys. */
  holder: string;
  keysLeft: number;
  thresholdBefore: number;
  threshold: number;
}

export interface KeyRevocationResult {
  keyId: string;
  owner?: string;
  /** Every role that trusted the key, with its threshold before and after. */
  revokedFrom: RevokedFrom[];
  /** Metadata files whose key table no longer lists the key. */
  keyTables: string[];
  /** Everything that must now be signed, by whom. */
  resign: ResignNeed[];
}

export interface RevokeKeyOptions {
  /** Lower the threshold of a role left with fewer keys than its threshold to the keys left (never to 0). */
  lowerThreshold?: boolean;
}

function trustSites(repo: Repository, holders: readonly string[]): TrustSite[] {
  const sites: TrustSite[] = [];
  const site = (holder: string, kind: TrustSite['kind'], name: string, entry: JSONObject, roles: string[], label = name): TrustSite => ({
    label,
    roles,
    holder,
    kind,
    name,
    keyids: Array.isArray(entry.keyids) ? [...(entry.keyids as string[])] : [],
    threshold: typeof entry.threshold === 'number' ? entry.threshold : 1,
  });
  for (const [name, entry] of Object.entries(repo.root().roles as JSONObject)) {
    if (isJSONObject(entry)) sites.push(site('root', 'root', name, entry, [name]));
  }
  for (const holder of holders) {
    const d = repo.signed(holder).delegations as JSONObject;
    if (isJSONObject(d.succinct_roles)) {
      const prefix = String(d.succinct_roles.name_prefix);
      const names = binNames(prefix, d.succinct_roles.bit_length as number);
      sites.push(site(holder, 'bins', prefix, d.succinct_roles, names, `${prefix}-*`));
      continue;
    }
    for (const entry of (Array.isArray(d.roles) ? d.roles : []) as JSONObject[]) {
      sites.push(site(holder, 'delegated', String(entry.name), entry, [String(entry.name)]));
    }
  }
  return sites;
}

function keyTableOf(signed: JSONObject, holder: string): JSONObject | undefined {
  if (holder === 'root') return isJSONObject(signed.keys) ? signed.keys : undefined;
  const d = signed.delegations;
  return isJSONObject(d) && isJSONObject(d.keys) ? d.keys : undefined;
}

function entryOf(signed: JSONObject, site: TrustSite): JSONObject {
  if (site.kind === 'root') return (signed.roles as JSONObject)[site.name] as JSONObject;
  const d = signed.delegations as JSONObject;
  if (site.kind === 'bins') return d.succinct_roles as JSONObject;
  return (d.roles as JSONObject[]).find((r) => r.name === site.name)!;
}

/** Whether any role listed in `holder`'s metadata still uses the key. */
function keyUsed(signed: JSONObject, holder: string, keyId: string): boolean {
  const uses = (entry: unknown): boolean => isJSONObject(entry) && Array.isArray(entry.keyids) && entry.keyids.includes(keyId);
  if (holder === 'root') return Object.values(signed.roles as JSONObject).some(uses);
  const d = signed.delegations as JSONObject;
  if (isJSONObject(d.succinct_roles)) return uses(d.succinct_roles);
  return ((Array.isArray(d.roles) ? d.roles : []) as unknown[]).some(uses);
}

/**
 * Resolves a full key id or a unique prefix of at least 8 characters among
 * every key the repository lists (root's and every delegating role's).
 */
export function resolveRepositoryKeyId(repo: Repository, keyIdOrPrefix: string): string {
  const holders = ['root', ...delegatingRoles(repo)];
  const known = new Set<string>();
  for (const site of trustSites(repo, holders.slice(1))) for (const id of site.keyids) known.add(id);
  for (const holder of holders) for (const id of Object.keys(keyTableOf(repo.signed(holder), holder) ?? {})) known.add(id);
  const wanted = keyIdOrPrefix.trim().toLowerCase();
  if (known.has(wanted)) return wanted;
  if (wanted.length < 8) {
    throw new KeyError(
      'KEY_UNKNOWN',
      `no key ${keyIdOrPrefix} in this repository (give the full key id or a unique prefix of at least 8 characters)`,
    );
  }
  const matches = [...known].filter((id) => id.startsWith(wanted)).sort();
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new KeyError(
      'KEY_UNKNOWN',
      `key id prefix ${keyIdOrPrefix} is ambiguous: it matches ${matches.map((id) => id.slice(0, 16)).join(', ')}; give more characters`,
    );
  }
  throw new KeyError('KEY_UNKNOWN', `no key ${keyIdOrPrefix} in this repository`);
}

/** What `role` (edited, renewed, or just re-signed) needs now, by whom. */
export function resignNeed(repo: Repository, role: string, why: string): ResignNeed {
  const status = repo.signatureStatus(role);
  const need: ResignNeed = {
    role,
    files: 1,
    version: repo.version(role),
    why,
    threshold: status.threshold,
    signers: status.ok ? [] : ownersOf(status),
  };
  if (role === 'root') {
    const previousTrust = repo.previousRootTrust();
    if (previousTrust && repo.version('root') > 1) {
      const previous = repo.signatureStatus('root', previousTrust);
      need.previous = { threshold: previous.threshold, signers: previous.ok ? [] : ownersOf(previous) };
    }
  }
  return need;
}

/**
 * Stops every role trusting a key. See the file comment for the rules.
 * Nothing is changed when it throws.
 */
export function revokeKey(repo: Repository, keyIdOrPrefix: string, options: RevokeKeyOptions = {}): KeyRevocationResult {
  const keyId = resolveRepositoryKeyId(repo, keyIdOrPrefix);
  const short = keyId.slice(0, 12);
  const holders = ['root', ...delegatingRoles(repo)];
  const sites = trustSites(repo, holders.slice(1));
  const trusting = sites.filter((s) => s.keyids.includes(keyId));

  const online = trusting.filter((s) => s.kind === 'root' && (s.name === 'snapshot' || s.name === 'timestamp')).map((s) => s.name);
  if (online.length > 0) {
    throw new UsageError(
      `key ${short} is the online key of ${online.join(' and ')}; replace it with "tufctl key rotate-online --new-key PUB.pem" ` +
        `(or "tufctl recover --fast-forward --new-key PUB.pem" if it leaked and versions were pushed up, see docs/recovery.md)`,
    );
  }

  const problems: string[] = [];
  for (const site of trusting) {
    const left = site.keyids.length - 1;
    if (left === 0) problems.push(`${site.label} would be left with no key; add another key to it first`);
    else if (left < site.threshold && !options.lowerThreshold) {
      problems.push(
        `${site.label} would be left with ${left} key(s) for a threshold of ${site.threshold}; add a key first, or give --lower-threshold to lower it to ${left}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new RuleError(
      'THRESHOLD_INVALID',
      problems.length === 1
        ? `cannot revoke ${short}: ${problems[0]!}`
        : `cannot revoke ${short}: ${problems.length} roles would be left unable to meet their threshold`,
      problems.length === 1 ? [] : problems,
    );
  }

  let owner: string | undefined;
  const tableHolders = holders.filter((h) => keyTableOf(repo.signed(h), h)?.[keyId] !== undefined);
  for (const holder of tableHolders) {
    const value = (keyTableOf(repo.signed(holder), holder)![keyId] as JSONObject)[KEYOWNER_FIELD];
    if (typeof value === 'string') owner ??= value;
  }

  const revokedFrom: RevokedFrom[] = [];
  const keyTables: string[] = [];
  const changed: string[] = [];
  for (const holder of holders) {
    const here = trusting.filter((s) => s.holder === holder);
    if (here.length === 0 && !tableHolders.includes(holder)) continue;
    const labels = here.map((s) => s.label).join(', ');
    const description = `revoke key ${short}${owner ? ` (${owner})` : ''}${labels ? `: no longer trusted for ${labels}` : ` from ${holder}'s key table`}`;
    const edited = repo.edit(holder, description, (signed) => {
      for (const site of here) {
        const entry = entryOf(signed, site);
        const keyids = (entry.keyids as string[]).filter((id) => id !== keyId);
        entry.keyids = keyids;
        if ((entry.threshold as number) > keyids.length) entry.threshold = keyids.length;
      }
      const table = keyTableOf(signed, holder);
      if (table && table[keyId] !== undefined && !keyUsed(signed, holder, keyId)) {
        delete table[keyId];
        keyTables.push(holder);
      }
    });
    if (edited) changed.push(holder);
    for (const site of here) {
      const keysLeft = site.keyids.length - 1;
      revokedFrom.push({
        role: site.label,
        holder,
        keysLeft,
        thresholdBefore: site.threshold,
        threshold: Math.min(site.threshold, keysLeft),
      });
    }
  }

  // Roles whose threshold was met only with the revoked key's signature: a new version, signed again.
  const renewed = new Map<string, string[]>();
  for (const site of trusting) {
    for (const role of site.roles) {
      if (changed.includes(role) || !repo.has(role)) continue;
      if (!repo.envelope(role).signatures.some((s) => s.keyid === keyId && s.sig !== '')) continue;
      if (repo.signatureStatus(role).ok) continue;
      repo.renew(role, `${role}: new version to be signed without revoked key ${short}`);
      renewed.set(site.label, [...(renewed.get(site.label) ?? []), role]);
    }
  }
  repo.finalize();

  const resign: ResignNeed[] = [];
  for (const holder of changed) {
    resign.push(resignNeed(repo, holder, holder === 'root' ? 'root changed: key revoked' : `${holder}'s delegations changed: key revoked`));
  }
  for (const [label, roles] of renewed) {
    const site = trusting.find((s) => s.label === label)!;
    const why = `its signature by revoked key ${short} no longer counts`;
    if (site.kind !== 'bins') resign.push(resignNeed(repo, roles[0]!, why));
    else {
      const first = resignNeed(repo, roles[0]!, why);
      resign.push({ role: label, files: roles.length, why, threshold: first.threshold, signers: first.signers });
    }
  }
  return { keyId, ...(owner ? { owner } : {}), revokedFrom, keyTables, resign };
}

/** Human lines for a list of signing needs. */
export function describeResign(needs: readonly ResignNeed[]): string[] {
  const lines: string[] = [];
  for (const need of needs) {
    const what =
      need.files > 1 ? `${need.role} (${need.files} bins)` : `${need.role}${need.version !== undefined ? ` v${need.version}` : ''}`;
    const own = `${need.threshold} of ${need.signers.length > 0 ? need.signers.join(', ') : '(signed)'}`;
    const who = need.previous
      ? `old root: ${need.previous.threshold} of ${need.previous.signers.join(', ') || '(signed)'} — new root: ${own}`
      : own;
    lines.push(`  ${what}: needs ${who} (${need.why})`);
  }
  return lines;
}

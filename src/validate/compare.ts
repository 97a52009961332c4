/**
 * What changes for clients between two trees' metadata, role by role:
 * targets, keys and thresholds, delegations, expiry and versions. A version
 * that went down, or changed content without a version bump, is an error.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, isJSONObject, type JSONObject } from '../metadata/json.js';
import { roleKind } from '../metadata/repository.js';
import { parseJSON } from '../metadata/strict-json.js';
import { KEYOWNER_FIELD } from '../keys/tuf-key.js';
import { ATTESTATION_FIELD, deviceLabelOf } from '../keys/piv-attestation.js';

export interface TargetItem {
  path: string;
  sha256?: string;
  length?: number;
}

export interface TargetModification {
  path: string;
  from: { sha256?: string; length?: number };
  to: { sha256?: string; length?: number };
}

export interface KeyChange {
  /** The role that trusts (or stops trusting) the key. */
  role: string;
  change: 'added' | 'removed';
  keyId: string;
  owner?: string;
  /** The attested device recorded with the key (`YubiKey 25515003`). */
  device?: string;
}

export interface ThresholdChange {
  role: string;
  from: number;
  to: number;
}

export interface SignatureSummary {
  valid: number;
  threshold: number;
  /** Key owners (or key id prefixes) still to sign. */
  missing: string[];
  /** Root: the previous root's threshold, which the new root must also meet. */
  previous?: { version: number; valid: number; threshold: number; missing: string[] };
}

export interface RoleChange {
  role: string;
  change: 'added' | 'removed' | 'modified' | 'signatures';
  version: { from?: number; to?: number };
  expires: { from?: string; to?: string };
  targets: { added: TargetItem[]; modified: TargetModification[]; removed: TargetItem[] };
  keys: KeyChange[];
  thresholds: ThresholdChange[];
  delegations: { added: string[]; removed: string[] };
  /** Other changes in words (e.g. delegated paths). */
  other: string[];
  signatures?: SignatureSummary;
  /** Rule violations (version went down, content changed without a bump, …). */
  errors: string[];
}

type Envelope = { signed: JSONObject; signatures: unknown[] };

/** Every metadata file of a tree by role name (unparsable files: null). */
export function readMetadata(dir: string): Map<string, Envelope | null> {
  const result = new Map<string, Envelope | null>();
  const metaDir = join(dir, 'metadata');
  if (!existsSync(metaDir)) return result;
  for (const name of readdirSync(metaDir).sort()) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const role = name.slice(0, -'.json'.length);
    try {
      const json = parseJSON(readFileSync(join(metaDir, name)));
      result.set(role, isJSONObject(json) && isJSONObject(json.signed) ? (json as Envelope) : null);
    } catch {
      result.set(role, null);
    }
  }
  return result;
}

function targetInfo(path: string, entry: unknown): TargetItem {
  const e = isJSONObject(entry) ? entry : {};
  const hashes = isJSONObject(e.hashes) ? e.hashes : {};
  return {
    path,
    ...(typeof hashes.sha256 === 'string' ? { sha256: hashes.sha256 } : {}),
    ...(typeof e.length === 'number' ? { length: e.length } : {}),
  };
}

function diffTargets(before: JSONObject | undefined, after: JSONObject | undefined): RoleChange['targets'] {
  const a = isJSONObject(before?.targets) ? before.targets : {};
  const b = isJSONObject(after?.targets) ? after.targets : {};
  const out: RoleChange['targets'] = { added: [], modified: [], removed: [] };
  for (const path of Object.keys(b).sort()) {
    // (own members only: a target may be called "constructor")
    if (!Object.hasOwn(a, path)) out.added.push(targetInfo(path, b[path]));
    else if (canonicalize(a[path]!) !== canonicalize(b[path]!)) {
      const { path: _p, ...from } = targetInfo(path, a[path]);
      const { path: _q, ...to } = targetInfo(path, b[path]);
      out.modified.push({ path, from, to });
    }
  }
  for (const path of Object.keys(a).sort()) if (!Object.hasOwn(b, path)) out.removed.push(targetInfo(path, a[path]));
  return out;
}

interface TrustEntry {
  keyIds: string[];
  threshold: number;
  keys: JSONObject;
  paths?: string;
}

/** The key tables a role holds: root's roles, or a targets role's delegations (bins as one entry). */
function trustEntries(signed: JSONObject | undefined): Map<string, TrustEntry> {
  const result = new Map<string, TrustEntry>();
  if (!signed) return result;
  const entry = (keys: JSONObject, e: JSONObject, paths?: string): TrustEntry => ({
    keyIds: Array.isArray(e.keyids) ? (e.keyids as string[]) : [],
    threshold: typeof e.threshold === 'number' ? e.threshold : 1,
    keys,
    ...(paths !== undefined ? { paths } : {}),
  });
  if (signed._type === 'root' && isJSONObject(signed.roles)) {
    const keys = isJSONObject(signed.keys) ? signed.keys : {};
    for (const [role, e] of Object.entries(signed.roles)) if (isJSONObject(e)) result.set(role, entry(keys, e));
    return result;
  }
  const delegations = signed.delegations;
  if (!isJSONObject(delegations)) return result;
  const keys = isJSONObject(delegations.keys) ? delegations.keys : {};
  if (isJSONObject(delegations.succinct_roles)) {
    const s = delegations.succinct_roles;
    result.set(`${String(s.name_prefix)}-*`, entry(keys, s, `${2 ** Number(s.bit_length)} hashed bins`));
  }
  if (Array.isArray(delegations.roles)) {
    for (const e of delegations.roles) {
      if (!isJSONObject(e) || typeof e.name !== 'string') continue;
      const paths = Array.isArray(e.paths)
        ? (e.paths as string[]).join(', ')
        : Array.isArray(e.path_hash_prefixes)
          ? `hash prefixes ${(e.path_hash_prefixes as string[]).join(', ')}`
          : '';
      result.set(e.name, entry(keys, e, paths));
    }
  }
  return result;
}

function ownerOf(keys: JSONObject, keyId: string): string | undefined {
  const key = keys[keyId];
  const owner = isJSONObject(key) ? key[KEYOWNER_FIELD] : undefined;
  return typeof owner === 'string' ? owner : undefined;
}

/** Whether root, from base to head, trusts none of the keys it trusted for `role` (the fast-forward recovery exemption). */
function keysRotated(baseRoot: JSONObject | undefined, headRoot: JSONObject | undefined, role: string): boolean {
  const ids = (root: JSONObject | undefined): string[] => trustEntries(root).get(role)?.keyIds ?? [];
  const before = ids(baseRoot);
  const after = ids(headRoot);
  return before.length > 0 && after.length > 0 && !after.some((id) => before.includes(id));
}

const ROLE_ORDER = ['root', 'targets'];

function roleRank(role: string): number {
  const i = ROLE_ORDER.indexOf(role);
  if (i !== -1) return i;
  return role === 'snapshot' ? 10 : role === 'timestamp' ? 11 : 5;
}

/** Role-by-role differences between two trees' metadata (roles unchanged in bytes and meaning are left out). */
export function compareMetadata(baseDir: string, headDir: string): RoleChange[] {
  const base = readMetadata(baseDir);
  const head = readMetadata(headDir);
  const baseRoot = base.get('root')?.signed;
  const headRoot = head.get('root')?.signed;
  const roles = [...new Set([...base.keys(), ...head.keys()])].sort((a, b) => roleRank(a) - roleRank(b) || a.localeCompare(b));
  const changes: RoleChange[] = [];
  for (const role of roles) {
    const before = base.get(role);
    const after = head.get(role);
    if (before !== undefined && after !== undefined && canonicalize(before as never) === canonicalize(after as never)) continue;
    const b = before?.signed;
    const a = after?.signed;
    const change: RoleChange = {
      role,
      change: before === undefined ? 'added' : after === undefined ? 'removed' : 'modified',
      version: {
        ...(typeof b?.version === 'number' ? { from: b.version } : {}),
        ...(typeof a?.version === 'number' ? { to: a.version } : {}),
      },
      expires: {
        ...(typeof b?.expires === 'string' ? { from: b.expires } : {}),
        ...(typeof a?.expires === 'string' ? { to: a.expires } : {}),
      },
      targets: { added: [], modified: [], removed: [] },
      keys: [],
      thresholds: [],
      delegations: { added: [], removed: [] },
      other: [],
      errors: [],
    };
    if (before === null || after === null) {
      change.errors.push(`metadata/${role}.json is not valid metadata${after === null ? '' : ' at the base'}`);
      changes.push(change);
      continue;
    }
    const contentChanged = !b || !a || canonicalize(b) !== canonicalize(a);
    if (change.change === 'modified' && !contentChanged) change.change = 'signatures';
    if (roleKind(role) === 'targets') change.targets = diffTargets(b, a);
    // keys, thresholds and delegations
    const tb = trustEntries(b);
    const ta = trustEntries(a);
    for (const [name, e] of ta) {
      const old = tb.get(name);
      if (!old) {
        if (a?._type !== 'root') change.delegations.added.push(e.paths ? `${name} (${e.paths})` : name);
        for (const id of e.keyIds) change.keys.push({ role: name, change: 'added', keyId: id, ...ownerField(e.keys, id) });
        continue;
      }
      for (const id of e.keyIds)
        if (!old.keyIds.includes(id)) change.keys.push({ role: name, change: 'added', keyId: id, ...ownerField(e.keys, id) });
      for (const id of old.keyIds)
        if (!e.keyIds.includes(id)) change.keys.push({ role: name, change: 'removed', keyId: id, ...ownerField(old.keys, id) });
      if (old.threshold !== e.threshold) change.thresholds.push({ role: name, from: old.threshold, to: e.threshold });
      if ((old.paths ?? '') !== (e.paths ?? '')) change.other.push(`paths of ${name}: ${old.paths || '—'} → ${e.paths || '—'}`);
    }
    const tables = (signed: JSONObject | undefined): JSONObject | undefined => {
      if (!signed) return undefined;
      if (signed._type === 'root') return isJSONObject(signed.keys) ? signed.keys : undefined;
      return isJSONObject(signed.delegations) && isJSONObject(signed.delegations.keys) ? signed.delegations.keys : undefined;
    };
    const keysBefore = tables(b);
    const keysAfter = tables(a);
    if (keysBefore && keysAfter) change.other.push(...attestationChanges(keysBefore, keysAfter));
    for (const [name, e] of tb) {
      if (ta.has(name)) continue;
      if (b?._type !== 'root') change.delegations.removed.push(name);
      for (const id of e.keyIds) change.keys.push({ role: name, change: 'removed', keyId: id, ...ownerField(e.keys, id) });
    }
    if (a && b && (a._type === 'snapshot' || a._type === 'timestamp')) {
      const mb = isJSONObject(b.meta) ? b.meta : {};
      const ma = isJSONObject(a.meta) ? a.meta : {};
      for (const name of Object.keys(ma).sort()) {
        const vb = isJSONObject(mb[name]) ? mb[name].version : undefined;
        const va = isJSONObject(ma[name]) ? ma[name].version : undefined;
        if (vb !== va) change.other.push(`lists ${name} ${vb === undefined ? 'new' : `v${String(vb)} →`} v${String(va)}`);
      }
      for (const name of Object.keys(mb).sort()) if (!(name in ma)) change.other.push(`no longer lists ${name}`);
    }
    if (a && b && a._type === 'root') {
      for (const role of ['snapshot', 'timestamp'])
        if (periodOf(b, role) !== periodOf(a, role))
          change.other.push(`${role} expiry period: ${periodOf(b, role)} → ${periodOf(a, role)}`);
    }
    // version rules
    const from = change.version.from;
    const to = change.version.to;
    if (change.change === 'removed' && roleKind(role) !== 'targets') change.errors.push(`${role} was removed`);
    if (from !== undefined && to !== undefined) {
      if (to < from && !(role !== 'root' && roleKind(role) !== 'targets' && keysRotated(baseRoot, headRoot, role))) {
        change.errors.push(`${role} version went down: v${from} → v${to} (versions never go down; clients refuse a rollback)`);
      } else if (contentChanged && to === from) {
        change.errors.push(`${role} changed without a version bump (still v${to}): clients would never fetch the change`);
      }
    }
    changes.push(change);
  }
  return changes;
}

function periodOf(rootSigned: JSONObject, role: string): string {
  const entry = isJSONObject(rootSigned.roles) ? rootSigned.roles[role] : undefined;
  const value = isJSONObject(entry) ? entry['x-tuf-on-ci-expiry-period'] : undefined;
  return value === undefined ? 'default' : String(value);
}

function ownerField(keys: JSONObject, keyId: string): { owner?: string; device?: string } {
  const owner = ownerOf(keys, keyId);
  const device = deviceLabelOf(keys[keyId]);
  return { ...(owner ? { owner } : {}), ...(device ? { device } : {}) };
}

/** Keys listed in both tables whose recorded attestation was added, changed or removed (the key id stays). */
function attestationChanges(before: JSONObject, after: JSONObject): string[] {
  const lines: string[] = [];
  for (const [id, key] of Object.entries(after)) {
    const old = before[id];
    if (!isJSONObject(key) || !isJSONObject(old)) continue;
    const a = key[ATTESTATION_FIELD];
    const b = old[ATTESTATION_FIELD];
    if (a === undefined && b === undefined) continue;
    if (a !== undefined && b !== undefined && canonicalize(a) === canonicalize(b)) continue;
    const owner = ownerOf(after, id);
    const who = `key ${id.slice(0, 8)}${owner ? ` (${owner})` : ''}`;
    if (b === undefined) lines.push(`${who}: attestation recorded, ${deviceLabelOf(key) ?? 'device'}`);
    else if (a === undefined) lines.push(`${who}: recorded attestation removed (was ${deviceLabelOf(old) ?? 'a device'})`);
    else lines.push(`${who}: recorded attestation changed, ${deviceLabelOf(old) ?? 'device'} → ${deviceLabelOf(key) ?? 'device'}`);
  }
  return lines;
}

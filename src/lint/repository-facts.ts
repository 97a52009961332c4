/**
 * The repository as the client-compatibility lint looks at it: every
 * metadata file clients fetch with its exact size, the keys and who trusts
 * them, each targets role's target names and delegations. Read straight from
 * `metadata/` (strictly parsed), without verifying signatures: the lint
 * says what clients would do with the files as they are.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Targets } from '@tufjs/models';
import { MetadataError } from '../errors.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import { parseEnvelope, type Envelope } from '../metadata/repository.js';
import { own } from '../metadata/strict-json.js';
import { binNames } from '../metadata/role-index.js';
import type { KeyFacts } from './client-rules.js';

export interface MetadataFile {
  role: string;
  /** Path relative to the repository, e.g. `metadata/snapshot.json`. */
  file: string;
  /** Bytes clients download. */
  size: number;
  envelope: Envelope;
}

/** A role that trusts keys: its keys, threshold and the file holding its key table. */
export interface TrustingRole {
  role: string;
  keyIds: string[];
  threshold: number;
  /** The role whose metadata lists the keys (root, or the delegating targets role). */
  listedIn: string;
}

export interface LintModel {
  dir: string;
  root: MetadataFile;
  /** Root versions published for clients to walk (root_history plus the current one), ascending. */
  rootVersions: { version: number; size: number; file: string }[];
  timestamp: MetadataFile;
  snapshot: MetadataFile;
  /** Targets roles reachable from `targets`, in delegation order; a role without a file is absent. */
  targetsRoles: Map<string, MetadataFile>;
  /** Delegations of each targets role that has any (as tuf-js reads them). */
  delegations: Map<string, NonNullable<Targets['delegations']>>;
  /** Every key of every key table, by the role whose metadata lists it. */
  keys: { keyId: string; listedIn: string; facts: KeyFacts }[];
  /** Every role that trusts keys, with its keys and threshold. */
  trusting: TrustingRole[];
}

function readMetadata(dir: string, role: string, rel: string): MetadataFile {
  const path = join(dir, rel);
  if (!existsSync(path)) throw new MetadataError('METADATA_MISSING', `${rel} is missing`);
  const bytes = readFileSync(path);
  return { role, file: rel, size: bytes.length, envelope: parseEnvelope(bytes, role, rel) };
}

/** How `keyval.public` is written, and the curve or modulus length when the key can be read. */
export function keyFactsOf(keyId: string, key: JSONObject): KeyFacts {
  const keytype = typeof key.keytype === 'string' ? key.keytype : '';
  const scheme = typeof key.scheme === 'string' ? key.scheme : '';
  const keyval = isJSONObject(key.keyval) ? key.keyval : {};
  const value = typeof keyval.public === 'string' ? keyval.public : '';
  const encoding = value.startsWith('-----BEGIN PUBLIC KEY-----') ? 'pem' : /^([0-9a-fA-F]{2})+$/.test(value) ? 'hex' : 'other';
  const facts: KeyFacts = { keyId, keytype, scheme, encoding };
  try {
    if (encoding === 'pem') {
      const details = createPublicKey(value).asymmetricKeyDetails;
      const curve = details?.namedCurve;
      if (curve) facts.curve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : curve;
      if (details?.modulusLength) facts.rsaBits = details.modulusLength;
    } else if (encoding === 'hex' && keytype !== 'ed25519') {
      // An uncompressed EC point: 0x04 then both coordinates.
      const bytes = value.length / 2;
      if (value.startsWith('04') && bytes === 65) facts.curve = 'P-256';
      if (value.startsWith('04') && bytes === 97) facts.curve = 'P-384';
    }
  } catch {
    // An unreadable key keeps what its text says; the clients' rules decide.
  }
  return facts;
}

function keyTable(listedIn: string, keys: unknown): LintModel['keys'] {
  if (!isJSONObject(keys)) return [];
  return Object.keys(keys).flatMap((keyId) => {
    const key = own<unknown>(keys, keyId);
    return isJSONObject(key) ? [{ keyId, listedIn, facts: keyFactsOf(keyId, key) }] : [];
  });
}

function trustingEntry(role: string, listedIn: string, entry: unknown): TrustingRole | undefined {
  if (!isJSONObject(entry)) return undefined;
  const keyIds = Array.isArray(entry.keyids) ? entry.keyids.filter((k): k is string => typeof k === 'string') : [];
  const threshold = typeof entry.threshold === 'number' ? entry.threshold : 1;
  return { role, keyIds, threshold, listedIn };
}

/** Root versions in `metadata/root_history/N.root.json`, plus the current root. */
function rootVersions(dir: string, root: MetadataFile): LintModel['rootVersions'] {
  const versions = new Map<number, { version: number; size: number; file: string }>();
  const historyDir = join(dir, 'metadata', 'root_history');
  if (existsSync(historyDir)) {
    for (const name of readdirSync(historyDir)) {
      const match = /^(\d+)\.root\.json$/.exec(name);
      if (!match) continue;
      const version = Number(match[1]);
      versions.set(version, { version, size: readFileSync(join(historyDir, name)).length, file: `metadata/root_history/${name}` });
    }
  }
  const current = root.envelope.signed.version as number;
  versions.set(current, { version: current, size: root.size, file: root.file });
  return [...versions.values()].sort((a, b) => a.version - b.version);
}

/** The delegations of a targets role as tuf-js reads them (its targets are left out: only the delegations are needed). */
function delegationsOf(file: MetadataFile): NonNullable<Targets['delegations']> | undefined {
  const signed = file.envelope.signed;
  if (!isJSONObject(signed.delegations)) return undefined;
  const model = Targets.fromJSON({
    _type: 'targets',
    spec_version: signed.spec_version as string,
    version: signed.version as number,
    expires: signed.expires as string,
    targets: {},
    delegations: signed.delegations,
  });
  return model.delegations;
}

/** The names of the roles `file` delegates to, in order (a hashed-bin set lists every bin). */
function childRoles(file: MetadataFile): string[] {
  const delegations = file.envelope.signed.delegations;
  if (!isJSONObject(delegations)) return [];
  if (isJSONObject(delegations.succinct_roles)) {
    const { name_prefix: prefix, bit_length: bits } = delegations.succinct_roles;
    return typeof prefix === 'string' && typeof bits === 'number' ? binNames(prefix, bits) : [];
  }
  return Array.isArray(delegations.roles)
    ? delegations.roles.flatMap((r) => (isJSONObject(r) && typeof r.name === 'string' ? [r.name] : []))
    : [];
}

function trustingOfDelegations(file: MetadataFile): TrustingRole[] {
  const delegations = file.envelope.signed.delegations;
  if (!isJSONObject(delegations)) return [];
  if (isJSONObject(delegations.succinct_roles)) {
    const entry = trustingEntry(`${String(delegations.succinct_roles.name_prefix)}-*`, file.role, delegations.succinct_roles);
    return entry ? [entry] : [];
  }
  const roles = Array.isArray(delegations.roles) ? delegations.roles : [];
  return roles.flatMap((r) => {
    const entry = isJSONObject(r) ? trustingEntry(String(r.name), file.role, r) : undefined;
    return entry ? [entry] : [];
  });
}

/** Reads the repository in `dir` for the lint. */
export function readLintModel(dir: string): LintModel {
  if (!existsSync(join(dir, 'metadata', 'root.json'))) {
    throw new MetadataError('METADATA_MISSING', `no TUF repository at ${dir} (metadata/root.json is missing)`);
  }
  const root = readMetadata(dir, 'root', 'metadata/root.json');
  const timestamp = readMetadata(dir, 'timestamp', 'metadata/timestamp.json');
  const snapshot = readMetadata(dir, 'snapshot', 'metadata/snapshot.json');
  const model: LintModel = {
    dir,
    root,
    rootVersions: rootVersions(dir, root),
    timestamp,
    snapshot,
    targetsRoles: new Map(),
    delegations: new Map(),
    keys: keyTable('root', root.envelope.signed.keys),
    trusting: [],
  };
  const rootRoles = isJSONObject(root.envelope.signed.roles) ? root.envelope.signed.roles : {};
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
    const entry = trustingEntry(role, 'root', own(rootRoles, role));
    if (entry) model.trusting.push(entry);
  }
  // Breadth-first from targets: each role once, in the order delegations name them.
  const queue = ['targets'];
  const seen = new Set(queue);
  for (let i = 0; i < queue.length; i++) {
    const role = queue[i]!;
    const rel = `metadata/${role}.json`;
    if (!existsSync(join(dir, rel))) continue;
    const file = readMetadata(dir, role, rel);
    model.targetsRoles.set(role, file);
    const delegations = delegationsOf(file);
    if (!delegations) continue;
    model.delegations.set(role, delegations);
    model.keys.push(...keyTable(role, (file.envelope.signed.delegations as JSONObject).keys));
    model.trusting.push(...trustingOfDelegations(file));
    for (const child of childRoles(file)) {
      if (!seen.has(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
  return model;
}

/** The target names a targets role lists. */
export function targetNames(file: MetadataFile): string[] {
  const targets = file.envelope.signed.targets;
  return isJSONObject(targets) ? Object.keys(targets) : [];
}

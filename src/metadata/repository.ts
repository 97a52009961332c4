/**
 * The metadata editor: a TUF repository kept in git, opened, edited, signed
 * and saved.
 *
 * Shape (after python-tuf's repository design): `edit(role, ...)` changes a
 * role's content; `finalize()` applies the version and expiry rules to every
 * role whose content changed; `sign(role, signers)` adds signatures; `save()`
 * writes the changed files atomically and stages them. This file is the one
 * place where a version gets bumped:
 *
 *   A role's version goes up by exactly one per change relative to the base
 *   ref (HEAD by default), however many commands edit it before it is
 *   committed. Versions never go down. Changed content drops its signatures.
 */
import { readFileSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { loadConfig, type RepositoryConfig } from '../config.js';
import { MetadataError, KeyError, RuleError, UsageError, TufctlError } from '../errors.js';
import { writeTemporary } from '../fs-atomic.js';
import { assertNoSecret } from '../secrets.js';
import { assertGitRepository, ObjectPrehasher, openBaseSnapshot, stagePaths, type BaseSnapshot } from '../git/git-repo.js';
import { type Signer } from '../keys/signer.js';
import { type TufKeyJSON, assertTufKey, publicKeyObjectOf, spkiDerOf, verifyWithKey } from '../keys/tuf-key.js';
import { canonicalBytes, canonicalText, isJSONObject, sameCanonicalText, toFileBytes, type JSONObject } from './json.js';
import { DEFAULT_PERIODS, expiryFrom, readPeriods, type Periods } from './expiry.js';
import { isTopLevelRole } from './role-names.js';
import { checkWithModels } from './model-check.js';
import { displayName, isObjectPrototypeName, jsonProblem, own, parseJSON, setOwn } from './strict-json.js';

export type RoleKind = 'root' | 'timestamp' | 'snapshot' | 'targets';

export interface SignatureJSON extends JSONObject {
  keyid: string;
  sig: string;
}

export interface Envelope extends JSONObject {
  signed: JSONObject;
  signatures: SignatureJSON[];
}

export interface RepositoryOptions {
  /** The current time (injectable for tests and drills). */
  now?: Date;
  /** Overrides the configured base ref. */
  baseRef?: string;
  /** Require a git repository (default true; read-only commands pass false). */
  git?: boolean;
}

/** Keys and threshold a role is verified against. */
export interface RoleTrust {
  keys: Record<string, TufKeyJSON>;
  keyIds: string[];
  threshold: number;
}

export interface SignatureStatus {
  role: string;
  threshold: number;
  /** Key ids whose signature verifies. */
  valid: string[];
  /** Trusted key ids that have not (validly) signed. */
  missing: string[];
  keys: Record<string, TufKeyJSON>;
  ok: boolean;
}

interface LoadedRole {
  name: string;
  relPath: string;
  /** Bytes as read from disk (undefined for a role created in this session, or when `dropped`). */
  diskBytes: Buffer | undefined;
  /** save() wrote the file and let go of its bytes (a bulk save): they are read again when needed. */
  dropped: boolean;
  /** signed.version in diskBytes, if a number (kept with diskBytes rather than parsed out of them again). */
  diskVersion: number | undefined;
  envelope: Envelope;
  contentChanged: boolean;
  signaturesChanged: boolean;
  finalized: boolean;
  deleted: boolean;
}

export function roleKind(role: string): RoleKind {
  if (role === 'root' || role === 'timestamp' || role === 'snapshot') return role;
  return 'targets';
}

const MODEL_KIND: Record<RoleKind, MetadataKind> = {
  root: MetadataKind.Root,
  timestamp: MetadataKind.Timestamp,
  snapshot: MetadataKind.Snapshot,
  targets: MetadataKind.Targets,
};

/**
 * Parses and validates metadata bytes for `role`, with errors that name the
 * file. Parsing is strict (a member that appears twice is refused: parsers
 * disagree on which one counts); validation is @tufjs/models' own, plus the
 * checks it leaves out.
 */
export function parseEnvelope(bytes: Buffer, role: string, where: string): Envelope {
  let json: unknown;
  try {
    json = parseJSON(bytes);
  } catch (error) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: ${jsonProblem(error)}`);
  }
  return validateEnvelope(json, role, where);
}

/** One role's part of a save: its temporary files and their destinations, and the bytes to keep. */
interface SaveStep {
  loaded: LoadedRole;
  temporaries: Array<[string, string]>;
  bytes?: Buffer;
  drop: boolean;
}

function removeTemporaries(steps: readonly SaveStep[]): void {
  for (const { temporaries } of steps) for (const [tmp] of temporaries) rmSync(tmp, { force: true });
}

/** From this many files written by one save(), their bytes are not kept in memory afterwards. */
const DROP_BYTES_FROM = 256;

/** 2^53 - 1 as written in messages. */
const MAX_SAFE_TEXT = '9007199254740991 (2^53 - 1, the largest integer JavaScript reads exactly)';

/**
 * Versions, lengths and thresholds must be safe integers: above 2^53 - 1
 * JSON numbers lose precision (a version + 1 is the same version), and
 * clients in other languages read them differently. The first offending
 * field, or undefined.
 */
function unsafeIntegerField(kind: RoleKind, signed: JSONObject): string | undefined {
  const unsafe = (value: unknown): boolean => typeof value === 'number' && !Number.isSafeInteger(value);
  const member = (name: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `.${name}` : `[${displayName(name)}]`);
  if (kind === 'targets') {
    const targets = signed.targets as JSONObject;
    for (const path in targets) {
      const entry = targets[path];
      if (isJSONObject(entry) && unsafe(entry.length)) return `signed.targets${member(path)}.length`;
    }
    const delegations = signed.delegations;
    if (isJSONObject(delegations) && Array.isArray(delegations.roles)) {
      for (const [i, entry] of delegations.roles.entries()) {
        if (isJSONObject(entry) && unsafe(entry.threshold)) return `signed.delegations.roles[${i}].threshold`;
      }
    }
  } else if (kind === 'snapshot' || kind === 'timestamp') {
    const meta = signed.meta;
    if (isJSONObject(meta)) {
      for (const name in meta) {
        const entry = meta[name];
        if (!isJSONObject(entry)) continue;
        if (unsafe(entry.version)) return `signed.meta${member(name)}.version`;
        if (unsafe(entry.length)) return `signed.meta${member(name)}.length`;
      }
    }
  } else if (isJSONObject(signed.roles)) {
    for (const name in signed.roles) {
      const entry = signed.roles[name];
      if (isJSONObject(entry) && unsafe(entry.threshold)) return `signed.roles${member(name)}.threshold`;
    }
  }
  return undefined;
}

/**
 * Key ids and delegated role names that JavaScript clients cannot use: tuf-js
 * keeps signatures by key id and loaded roles by name in plain objects, where
 * `__proto__`, `constructor`, `toString` … already exist (it then reports
 * "multiple signatures found", or takes a built-in function for a role).
 */
function prototypeNameField(kind: RoleKind, envelope: Envelope): string | undefined {
  const bad = (name: unknown): name is string => typeof name === 'string' && isObjectPrototypeName(name);
  const keyTable = (keys: unknown, field: string): string | undefined => {
    if (!isJSONObject(keys)) return undefined;
    for (const id of Object.keys(keys)) if (bad(id)) return `${field}: key id ${displayName(id)}`;
    return undefined;
  };
  const keyIds = (entry: unknown, field: string): string | undefined => {
    const ids = isJSONObject(entry) ? entry.keyids : undefined;
    if (Array.isArray(ids)) for (const id of ids) if (bad(id)) return `${field}.keyids: key id ${displayName(id)}`;
    return undefined;
  };
  for (const signature of envelope.signatures) {
    if (isJSONObject(signature) && bad(signature.keyid)) return `signatures: key id ${displayName(signature.keyid)}`;
  }
  const signed = envelope.signed;
  if (kind === 'root') {
    const found = keyTable(signed.keys, 'signed.keys');
    if (found) return found;
    if (isJSONObject(signed.roles)) {
      for (const name of Object.keys(signed.roles)) {
        const inRole = keyIds(signed.roles[name], `signed.roles.${name}`);
        if (inRole) return inRole;
      }
    }
  } else if (kind === 'targets' && isJSONObject(signed.delegations)) {
    const delegations = signed.delegations;
    const found = keyTable(delegations.keys, 'signed.delegations.keys');
    if (found) return found;
    if (Array.isArray(delegations.roles)) {
      for (const [i, entry] of delegations.roles.entries()) {
        if (isJSONObject(entry) && bad(entry.name)) return `signed.delegations.roles[${i}].name: role name ${displayName(entry.name)}`;
        const inRole = keyIds(entry, `signed.delegations.roles[${i}]`);
        if (inRole) return inRole;
      }
    }
    const inBins = keyIds(delegations.succinct_roles, 'signed.delegations.succinct_roles');
    if (inBins) return inBins;
  }
  return undefined;
}

export function validateEnvelope(json: unknown, role: string, where: string): Envelope {
  if (!isJSONObject(json) || !isJSONObject(json.signed) || !Array.isArray(json.signatures)) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: expected an object with "signed" (object) and "signatures" (array)`);
  }
  const kind = roleKind(role);
  const signed = json.signed;
  if (signed._type !== kind) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: signed._type is ${JSON.stringify(signed._type)}, expected "${kind}"`);
  }
  if (typeof signed.version !== 'number' || !Number.isInteger(signed.version) || signed.version < 1) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: signed.version must be an integer >= 1`);
  }
  if (!Number.isSafeInteger(signed.version)) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: signed.version must be an integer >= 1 and at most ${MAX_SAFE_TEXT}`);
  }
  if (typeof signed.expires !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(signed.expires)) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: signed.expires must be an ISO 8601 UTC time like 2030-01-01T00:00:00Z`);
  }
  if (kind === 'targets' && !isJSONObject(signed.targets)) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: signed.targets must be an object (path -> target info)`);
  }
  const unsafe = unsafeIntegerField(kind, signed);
  if (unsafe) throw new MetadataError('METADATA_MALFORMED', `${where}: ${unsafe} must be a whole number at most ${MAX_SAFE_TEXT}`);
  const prototypeName = prototypeNameField(kind, json as Envelope);
  if (prototypeName) {
    throw new MetadataError(
      'METADATA_MALFORMED',
      `${where}: ${prototypeName} is the name of a built-in member of JavaScript objects; JavaScript TUF clients (tuf-js) cannot use it`,
    );
  }
  try {
    checkWithModels(MODEL_KIND[kind], json);
  } catch (error) {
    throw new MetadataError('METADATA_MALFORMED', `${where}: ${(error as Error).message}`);
  }
  for (const signature of json.signatures) {
    if (!isJSONObject(signature) || typeof signature.keyid !== 'string' || typeof signature.sig !== 'string') {
      throw new MetadataError('METADATA_MALFORMED', `${where}: each signature needs string "keyid" and "sig"`);
    }
  }
  if (kind === 'root' && signed.consistent_snapshot !== true) {
    // Allowed to load (so it can be fixed), reported by verify.
  }
  return json as Envelope;
}

export class Repository {
  readonly dir: string;
  readonly config: RepositoryConfig;
  readonly now: Date;
  readonly #roles = new Map<string, LoadedRole>();
  readonly #baseRef: string;
  readonly #useGit: boolean;
  #base: BaseSnapshot | undefined;
  /**
   * Signatures sign() just made and verified, with the exact bytes they cover:
   * signatureStatus() finding the same signature by the same key over equal
   * bytes need not verify it a second time (signing 16,384 bins would
   * otherwise verify every signature twice). Used once, and only the latest few kept.
   */
  readonly #verified = new Map<string, Buffer>();
  /**
   * Whether some role may await finalize(): set wherever a role's content is
   * marked changed, so that finalize() (called by every sign()) is not a scan
   * of every loaded role each time, which is quadratic when signing thousands.
   */
  #finalizePending = true;
  /** meta of snapshot.json at the base ref (null: none or unreadable), read on first use. */
  #baseSnapshotMeta: Record<string, { version?: number } | null> | null | undefined;
  /** signed of root.json at the base ref (null: none or unreadable), read on first use. */
  #baseRoot: JSONObject | null | undefined;
  readonly #changes: string[] = [];
  readonly #extraPaths = new Set<string>();

  private constructor(dir: string, options: RepositoryOptions) {
    this.dir = dir;
    this.config = loadConfig(dir);
    this.now = options.now ?? new Date();
    this.#baseRef = options.baseRef ?? this.config.baseRef;
    this.#useGit = options.git !== false;
  }

  /** Opens the repository in `dir`; throws if there is none (or no git repository when required). */
  static open(dir: string, options: RepositoryOptions = {}): Repository {
    if (!existsSync(join(dir, 'metadata', 'root.json'))) {
      throw new MetadataError('METADATA_MISSING', `no TUF repository at ${dir} (metadata/root.json is missing)`);
    }
    if (options.git !== false) assertGitRepository(dir);
    return new Repository(dir, options);
  }

  /** Creates an editor for a directory that has no metadata yet (used by init). */
  static create(dir: string, options: RepositoryOptions = {}): Repository {
    return new Repository(dir, options);
  }

  // ---------------------------------------------------------------- reading

  metadataPath(role: string): string {
    return join(this.dir, 'metadata', `${role}.json`);
  }

  has(role: string): boolean {
    const loaded = this.#roles.get(role);
    if (loaded) return !loaded.deleted;
    return existsSync(this.metadataPath(role));
  }

  #load(role: string): LoadedRole {
    const cached = this.#roles.get(role);
    if (cached) {
      if (cached.deleted) throw new MetadataError('METADATA_MISSING', `role "${role}" has been removed`);
      return cached;
    }
    const relPath = `metadata/${role}.json`;
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.metadataPath(role));
    } catch {
      throw new UsageError(
        isTopLevelRole(role) ? `${relPath} is missing` : `unknown role "${role}" (no ${relPath})`,
        isTopLevelRole(role) ? 'METADATA_MISSING' : 'ROLE_UNKNOWN',
      );
    }
    const envelope = parseEnvelope(bytes, role, relPath);
    const loaded: LoadedRole = {
      name: role,
      relPath,
      diskBytes: bytes,
      dropped: false,
      diskVersion: versionOf(envelope.signed),
      envelope,
      contentChanged: false,
      signaturesChanged: false,
      finalized: false,
      deleted: false,
    };
    this.#roles.set(role, loaded);
    return loaded;
  }

  envelope(role: string): Envelope {
    return this.#load(role).envelope;
  }

  signed(role: string): JSONObject {
    return this.#load(role).envelope.signed;
  }

  root(): JSONObject {
    return this.signed('root');
  }

  version(role: string): number {
    return this.signed(role).version as number;
  }

  /** Bytes the role's file has now (after pending edits, as `save()` would write them). */
  fileBytes(role: string): Buffer {
    const loaded = this.#load(role);
    const disk = !loaded.contentChanged && !loaded.signaturesChanged ? this.#diskBytes(loaded) : undefined;
    return disk ?? toFileBytes(loaded.envelope);
  }

  /** The role's bytes on disk as last read or written (read again when save() let go of them). */
  #diskBytes(loaded: LoadedRole): Buffer | undefined {
    if (loaded.diskBytes || !loaded.dropped) return loaded.diskBytes;
    try {
      return readFileSync(this.metadataPath(loaded.name));
    } catch {
      return undefined;
    }
  }

  /** Roles edited or signed in this session. */
  changedRoles(): string[] {
    return [...this.#roles.values()].filter((r) => r.contentChanged || r.signaturesChanged || r.deleted).map((r) => r.name);
  }

  contentChangedRoles(): string[] {
    return [...this.#roles.values()].filter((r) => r.contentChanged && !r.deleted).map((r) => r.name);
  }

  /** Human-readable list of what this session changed (used for commit messages). */
  changeLog(): string[] {
    return this.#changes.filter((change) => change !== '');
  }

  note(change: string): void {
    this.#changes.push(change);
  }

  /** Also stage this repository-relative path on save (e.g. a target file). */
  stageAlso(relPath: string): void {
    this.#extraPaths.add(relPath);
  }

  // ---------------------------------------------------------------- editing

  /**
   * Applies `mutate` to the role's `signed`. Returns whether the content
   * changed; unchanged content keeps its version and signatures.
   */
  edit(
    role: string,
    description: string,
    mutate: (signed: JSONObject) => void,
    options: {
      /**
       * Top-level fields `mutate` replaces with new values without reading or
       * modifying the old ones: they are not copied into the draft (snapshot's
       * `meta` lists every targets role; copying it per edit is wasted work).
       */
      replaces?: readonly string[];
      /**
       * The caller has established that the content differs (e.g. a new target
       * entry), so the two canonical encodings of the whole role that decide
       * "changed or not" are skipped.
       */
      knownChanged?: boolean;
    } = {},
  ): boolean {
    const loaded = this.#load(role);
    const before = options.knownChanged ? '' : canonicalText(loaded.envelope.signed);
    const draft = draftOf(loaded.envelope.signed, options.replaces ?? []);
    mutate(draft);
    const candidate: Envelope = { ...loaded.envelope, signed: draft };
    validateEnvelope(candidate, role, loaded.relPath);
    if (!options.knownChanged && sameCanonicalText(canonicalText(draft), before)) return false;
    loaded.envelope = candidate;
    loaded.contentChanged = true;
    loaded.finalized = false;
    this.#finalizePending = true;
    this.#changes.push(description);
    return true;
  }

  /** Gives a role a new version and expiry although its content is unchanged (re-signing). */
  renew(role: string, description: string): void {
    const loaded = this.#load(role);
    loaded.contentChanged = true;
    loaded.finalized = false;
    this.#finalizePending = true;
    this.#changes.push(description);
  }

  /** Adds a new role file (a new delegated role, or a top-level role during init). */
  createRole(role: string, signed: JSONObject, description: string): void {
    if (this.has(role)) throw new UsageError(`role "${role}" already exists`, 'ROLE_EXISTS');
    const envelope: Envelope = { signed, signatures: [] };
    validateEnvelope(envelope, role, `metadata/${role}.json`);
    this.#roles.set(role, {
      name: role,
      relPath: `metadata/${role}.json`,
      diskBytes: undefined,
      dropped: false,
      diskVersion: undefined,
      envelope,
      contentChanged: true,
      signaturesChanged: false,
      finalized: false,
      deleted: false,
    });
    this.#finalizePending = true;
    this.#changes.push(description);
  }

  /** Removes a delegated role's file on save. */
  deleteRole(role: string, description: string): void {
    const loaded = this.#load(role);
    loaded.deleted = true;
    this.#changes.push(description);
  }

  /** Expiry and signing periods of a role. */
  periods(role: string): Periods {
    const kind = roleKind(role);
    if (kind === 'snapshot' || kind === 'timestamp') {
      const roles = this.root().roles as JSONObject;
      return readPeriods(roles[role] as JSONObject, DEFAULT_PERIODS[kind]);
    }
    return readPeriods(this.signed(role), role === 'root' || role === 'targets' ? DEFAULT_PERIODS[role] : DEFAULT_PERIODS.delegated);
  }

  #base_(): BaseSnapshot {
    if (!this.#base) this.#base = openBaseSnapshot(this.dir, this.#baseRef, this.#baseRef !== 'HEAD');
    return this.#base;
  }

  /**
   * Versions of roles at the base ref (undefined when the role is new there),
   * read in bulk: unchanged files are recognised by blob id without reading git.
   */
  #baseVersions(roles: LoadedRole[]): Map<string, number | undefined> {
    const result = new Map<string, number | undefined>();
    if (!this.#useGit) {
      for (const r of roles) result.set(r.name, r.diskBytes || r.dropped ? r.diskVersion : undefined);
      return result;
    }
    const base = this.#base_();
    // snapshot and timestamp are finalized right after nearly every edit: look them up now too.
    base.prefetch([...roles.map((r) => r.relPath), 'metadata/snapshot.json', 'metadata/timestamp.json']);
    const toRead = new Map<string, string>();
    for (const r of roles) {
      const blob = base.blobId(r.relPath);
      const disk = blob ? this.#diskBytes(r) : undefined;
      if (!blob) result.set(r.name, undefined);
      else if (disk && base.blobIdOf(disk) === blob) result.set(r.name, r.diskVersion);
      else toRead.set(r.name, blob);
    }
    const blobs = base.readBlobs([...toRead.values()]);
    for (const [name, blob] of toRead) {
      const version = parseVersion(blobs.get(blob)!);
      if (version === undefined)
        throw new MetadataError('METADATA_MALFORMED', `metadata/${name}.json at ${this.#baseRef} has no valid version`);
      result.set(name, version);
    }
    return result;
  }

  /** The version the base snapshot lists for a targets role, if any (guards re-added roles). */
  #baseSnapshotListed(role: string): number | undefined {
    if (!this.#useGit) return undefined;
    // Read and parsed once per session (the base does not move), not once per new role:
    // creating 16,384 hashed bins would otherwise run 16,384 git processes.
    if (this.#baseSnapshotMeta === undefined) {
      let listed: Record<string, { version?: number } | null> | null = null;
      const base = this.#base_();
      const blob = base.blobId('metadata/snapshot.json');
      if (blob) {
        const bytes = base.readBlobs([blob]).get(blob)!;
        try {
          listed = (parseJSON(bytes) as { signed?: { meta?: Record<string, { version?: number }> } }).signed?.meta ?? null;
        } catch {
          // unparsable: nothing listed
        }
      }
      this.#baseSnapshotMeta = listed;
    }
    const version = own<{ version?: number } | null>(this.#baseSnapshotMeta, `${role}.json`)?.version;
    return Number.isSafeInteger(version) ? version : undefined;
  }

  /**
   * The one exemption from "versions never go down" (fast-forward attack
   * recovery, TUF specification 5.3.11): snapshot or timestamp may go below
   * its version at the base ref only when root, in the same change, trusts
   * none of the keys the base ref's root trusted for that role. Clients then
   * cannot verify their cached copy with the new root and discard it, so they
   * accept the lower version. Any key kept, any other role, no root at the
   * base ref, or no git: no exemption.
   */
  #onlineKeysRotatedSinceBase(role: string): boolean {
    if ((role !== 'snapshot' && role !== 'timestamp') || !this.#useGit) return false;
    if (this.#baseRoot === undefined) {
      this.#baseRoot = null;
      const base = this.#base_();
      const blob = base.blobId('metadata/root.json');
      if (blob) {
        try {
          const signed = (parseJSON(base.readBlobs([blob]).get(blob)!) as Envelope).signed;
          if (isJSONObject(signed)) this.#baseRoot = signed;
        } catch {
          // unparsable: no exemption
        }
      }
    }
    const keyIds = (root: JSONObject | null): string[] => {
      const entry = isJSONObject(root?.roles) ? root.roles[role] : undefined;
      return isJSONObject(entry) && Array.isArray(entry.keyids) ? (entry.keyids as string[]) : [];
    };
    const before = keyIds(this.#baseRoot);
    const now = keyIds(this.root());
    return before.length > 0 && now.length > 0 && !now.some((id) => before.includes(id));
  }

  /**
   * Applies the version and expiry rules to every role whose content changed
   * and drops its (now invalid) signatures. Idempotent.
   */
  finalize(): void {
    if (!this.#finalizePending) return;
    const pending = [...this.#roles.values()].filter((r) => r.contentChanged && !r.finalized && !r.deleted);
    if (pending.length === 0) {
      this.#finalizePending = false;
      return;
    }
    const baseVersions = this.#baseVersions(pending);
    for (const loaded of pending) {
      const signed = loaded.envelope.signed;
      const working = signed.version as number;
      const baseVersion = baseVersions.get(loaded.name);
      let next: number;
      if (baseVersion !== undefined) {
        if (working < baseVersion && !this.#onlineKeysRotatedSinceBase(loaded.name)) {
          throw new RuleError(
            'VERSION_ROLLBACK',
            `${loaded.relPath}: version ${working} is lower than ${baseVersion} at ${this.#baseRef}; versions never go down`,
          );
        }
        // A working version below the base's gets here only by the exemption above: it stands as set (the reset).
        next = working === baseVersion ? baseVersion + 1 : working;
      } else {
        const listed = roleKind(loaded.name) === 'targets' ? this.#baseSnapshotListed(loaded.name) : undefined;
        next = Math.max(working, (listed ?? 0) + 1);
      }
      if (!Number.isSafeInteger(next)) {
        throw new MetadataError(
          'METADATA_MALFORMED',
          `${loaded.relPath}: version ${working} cannot go up by one: versions stop at ${MAX_SAFE_TEXT}`,
        );
      }
      signed.version = next;
      signed.expires = expiryFrom(this.now, this.periods(loaded.name).expiryDays);
      loaded.envelope.signatures = [];
      loaded.finalized = true;
    }
    this.#finalizePending = false;
  }

  /**
   * A role edited by hand (outside tufctl) must still follow the version rule
   * before it is signed: a version below the base is refused, and content that
   * differs from the base at the same version gets its bump now. Base
   * contents are read in one batch.
   */
  checkUnversionedEdits(roles: readonly string[]): void {
    if (!this.#useGit) return;
    const base = this.#base_();
    const pending: Array<{ loaded: LoadedRole; blob: string }> = [];
    for (const role of roles) {
      const loaded = this.#load(role);
      const disk = loaded.contentChanged ? undefined : this.#diskBytes(loaded);
      if (!disk) continue;
      const blob = base.blobId(loaded.relPath);
      if (blob && base.blobIdOf(disk) !== blob) pending.push({ loaded, blob });
    }
    const blobs = base.readBlobs(pending.map((p) => p.blob));
    for (const { loaded, blob } of pending) {
      let baseSigned: JSONObject;
      try {
        baseSigned = (parseJSON(blobs.get(blob)!) as Envelope).signed;
      } catch {
        continue;
      }
      const working = loaded.envelope.signed.version as number;
      const baseVersion = baseSigned.version as number;
      if (working < baseVersion && !this.#onlineKeysRotatedSinceBase(loaded.name)) {
        throw new RuleError(
          'VERSION_ROLLBACK',
          `${loaded.relPath}: version ${working} is lower than ${baseVersion} at ${this.#baseRef}; versions never go down`,
        );
      }
      if (working === baseVersion && !canonicalBytes(baseSigned).equals(canonicalBytes(loaded.envelope.signed))) {
        loaded.contentChanged = true;
        loaded.finalized = false;
        this.#finalizePending = true;
        this.#changes.push(`${loaded.name}: content edited outside tufctl, new version`);
      }
    }
  }

  // ---------------------------------------------------------------- trust

  /** The delegating role of a delegated targets role (breadth-first from targets). */
  delegatorOf(role: string): string | undefined {
    const queue = ['targets'];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const current = queue.shift()!;
      if (seen.has(current)) continue;
      seen.add(current);
      if (!this.has(current)) continue;
      const delegations = this.signed(current).delegations;
      if (!isJSONObject(delegations)) continue;
      const succinct = delegations.succinct_roles;
      if (isJSONObject(succinct)) {
        if (isSuccinctBin(succinct, role)) return current;
        continue; // bins are leaves as far as tufctl's lookups go
      }
      const roles = Array.isArray(delegations.roles) ? (delegations.roles as JSONObject[]) : [];
      for (const entry of roles) {
        if (entry.name === role) return current;
      }
      for (const entry of roles) queue.push(entry.name as string);
    }
    return undefined;
  }

  /** Keys and threshold `role` is verified against (root: the new root's own). */
  trustFor(role: string): RoleTrust {
    const kind = roleKind(role);
    if (kind !== 'targets' || role === 'targets') {
      const root = this.root();
      const entry = (root.roles as JSONObject)[role] as JSONObject | undefined;
      if (!entry) throw new MetadataError('METADATA_MALFORMED', `root has no "${role}" role`);
      return trustFromEntry(root.keys as JSONObject, entry);
    }
    const parent = this.delegatorOf(role);
    if (!parent) throw new UsageError(`role "${role}" is not delegated by any role`, 'ROLE_UNKNOWN');
    const delegations = this.signed(parent).delegations as JSONObject;
    const keys = delegations.keys as JSONObject;
    if (isJSONObject(delegations.succinct_roles)) return trustFromEntry(keys, delegations.succinct_roles);
    const entry = (delegations.roles as JSONObject[]).find((r) => r.name === role)!;
    return trustFromEntry(keys, entry);
  }

  /** For root version N > 1: the trust of root N-1, which must also sign root N. */
  previousRootTrust(): RoleTrust | undefined {
    const version = this.version('root');
    if (version <= 1) return undefined;
    const path = join(this.dir, 'metadata', 'root_history', `${version - 1}.root.json`);
    if (!existsSync(path)) {
      throw new MetadataError(
        'METADATA_MISSING',
        `metadata/root_history/${version - 1}.root.json is missing (root ${version} must be signed by root ${version - 1})`,
      );
    }
    const previous = parseEnvelope(readFileSync(path), 'root', `metadata/root_history/${version - 1}.root.json`);
    return trustFromEntry(previous.signed.keys as JSONObject, (previous.signed.roles as JSONObject).root as JSONObject);
  }

  /** Which trusted keys have validly signed the role as it is now. */
  signatureStatus(role: string, trust: RoleTrust = this.trustFor(role)): SignatureStatus {
    const envelope = this.envelope(role);
    // The canonical form is built only when some trusted key has a signature to check
    // (a role whose content just changed has none).
    let data: Buffer | undefined;
    const valid: string[] = [];
    for (const keyId of trust.keyIds) {
      const key = trust.keys[keyId];
      const signature = envelope.signatures.find((s) => s.keyid === keyId);
      if (!key || !signature || signature.sig === '') continue;
      data ??= canonicalBytes(envelope.signed);
      const memoKey = verifiedKey(keyId, key, signature.sig);
      const memo = this.#verified.get(memoKey);
      if (memo !== undefined && memo.equals(data)) {
        this.#verified.delete(memoKey);
        valid.push(keyId);
      } else if (verifyWithKey(key, data, signature.sig)) valid.push(keyId);
    }
    return statusOf(role, trust, valid);
  }

  /**
   * Signs `role` with every given signer the role trusts (for root: the new
   * root's keys and the previous root's). Returns the key ids used. Throws
   * KEY_NOT_TRUSTED when `requireTrusted` and no signer is trusted.
   */
  async sign(role: string, signers: readonly Signer[], requireTrusted = true): Promise<string[]> {
    return (await this.signWithStatus(role, signers, requireTrusted)).used;
  }

  /**
   * sign(), and the role's signature status against its own trust (what
   * signatureStatus(role) reports) over the same canonical bytes, so that
   * signing thousands of roles encodes each one once.
   */
  async signWithStatus(
    role: string,
    signers: readonly Signer[],
    requireTrusted = true,
  ): Promise<{ used: string[]; status: SignatureStatus }> {
    this.checkUnversionedEdits([role]);
    this.finalize();
    const loaded = this.#load(role);
    const trusted = new Map<string, TufKeyJSON>();
    const own = this.trustFor(role);
    for (const id of own.keyIds) if (own.keys[id]) trusted.set(id, own.keys[id]);
    if (role === 'root') {
      const previous = this.previousRootTrust();
      if (previous) for (const id of previous.keyIds) if (previous.keys[id]) trusted.set(id, previous.keys[id]);
    }
    const data = canonicalBytes(loaded.envelope.signed);
    const used: string[] = [];
    const fresh = new Map<string, string>();
    // Signatures by keys the role no longer trusts (revoked keys) are dropped.
    const kept = loaded.envelope.signatures.filter((s) => trusted.has(s.keyid));
    if (kept.length !== loaded.envelope.signatures.length && signers.some((s) => matchKeyId(s, trusted))) {
      loaded.envelope.signatures = kept;
      loaded.signaturesChanged = true;
    }
    // The change-log entry keeps its place when several roles are signed at once.
    const slot = this.#changes.push('') - 1;
    for (const signer of signers) {
      const keyId = matchKeyId(signer, trusted);
      if (!keyId) continue;
      const key = trusted.get(keyId)!;
      const sig = await signer.sign(data);
      // A signer that verified its signature with its own public key need not be checked again
      // when that key is exactly the trusted one.
      const checked = signer.verifiesOwnSignatures === true && keyId === signer.keyId && samePublicKey(signer.publicKey, key);
      if (!checked && !verifyWithKey(key, data, sig)) {
        this.#changes[slot] = '';
        throw new KeyError('KEY_INVALID', `signature by ${signer.source} does not verify with key ${keyId}`);
      }
      this.#verified.set(verifiedKey(keyId, key, sig), data);
      // Only the latest few are kept: the status check comes right after signing.
      if (this.#verified.size > 8) this.#verified.delete(this.#verified.keys().next().value!);
      fresh.set(keyId, sig);
      loaded.envelope.signatures = [...loaded.envelope.signatures.filter((s) => s.keyid !== keyId), { keyid: keyId, sig }];
      loaded.envelope.signatures.sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
      loaded.signaturesChanged = true;
      used.push(keyId);
    }
    if (used.length === 0 && requireTrusted) {
      const wanted = [...trusted.keys()].map((id) => id.slice(0, 12)).join(', ');
      throw new KeyError(
        'KEY_NOT_TRUSTED',
        signers.length === 0
          ? `no signing key given for ${role} (use --key FILE or TUFCTL_KEY_<NAME>${role === 'snapshot' || role === 'timestamp' ? ", TUFCTL_ONLINE_KEY or the key's x-tuf-on-ci-online-uri" : ''}); it trusts ${wanted}`
          : `none of the given keys is trusted for ${role} (it trusts ${wanted})`,
      );
    }
    if (used.length > 0) this.#changes[slot] = `sign ${role} v${loaded.envelope.signed.version as number}`;
    // The status over the bytes just signed: fresh signatures count as verified.
    const valid: string[] = [];
    for (const keyId of own.keyIds) {
      const key = own.keys[keyId];
      const signature = loaded.envelope.signatures.find((s) => s.keyid === keyId);
      if (!key || !signature || signature.sig === '') continue;
      if (fresh.get(keyId) === signature.sig) {
        this.#verified.delete(verifiedKey(keyId, key, signature.sig));
        valid.push(keyId);
      } else if (verifyWithKey(key, data, signature.sig)) valid.push(keyId);
    }
    return { used, status: statusOf(role, own, valid) };
  }

  // ---------------------------------------------------------------- saving

  /**
   * Writes every changed role atomically (root also to root_history) and
   * stages the written paths in git. Returns the repository-relative paths.
   */
  save(options: { stage?: boolean } = {}): string[] {
    const steps = this.#writeTemporaries();
    return this.#replaceAndStage(steps, options);
  }

  /**
   * save(), with git storing the objects of a bulk save (256 files or more)
   * on another core while the files are still being encoded and written.
   * Same files, same staging.
   */
  async saveAsync(options: { stage?: boolean } = {}): Promise<string[]> {
    const prehash = options.stage !== false && this.#useGit && this.#changedCount() >= DROP_BYTES_FROM;
    const prehasher = prehash ? ObjectPrehasher.start(this.dir) : undefined;
    let steps: SaveStep[];
    try {
      steps = this.#writeTemporaries((tmp) => prehasher?.add(tmp));
    } finally {
      await prehasher?.finish();
    }
    return this.#replaceAndStage(steps, options);
  }

  #changedCount(): number {
    let count = 0;
    for (const loaded of this.#roles.values()) if (!loaded.deleted && (loaded.contentChanged || loaded.signaturesChanged)) count++;
    return count;
  }

  /**
   * Every changed file encoded, scanned for private key material and written
   * to a temporary file beside its destination, before the first one replaces
   * its destination; only one file's bytes are held at a time in a bulk save.
   */
  #writeTemporaries(onTemporary?: (path: string) => void): SaveStep[] {
    this.finalize();
    const steps: SaveStep[] = [];
    // A bulk save lets go of the bytes it wrote (hundreds of megabytes for 16,384 bins).
    const drop = this.#changedCount() >= DROP_BYTES_FROM;
    try {
      for (const loaded of this.#roles.values()) {
        if (loaded.deleted) {
          steps.push({ loaded, temporaries: [], drop });
          continue;
        }
        if (!loaded.contentChanged && !loaded.signaturesChanged) continue;
        const bytes = toFileBytes(loaded.envelope);
        assertNoSecret(loaded.relPath, bytes);
        const step: SaveStep = { loaded, temporaries: [], drop, ...(drop ? {} : { bytes }) };
        steps.push(step);
        const rels = [loaded.relPath];
        if (loaded.name === 'root') rels.push(`metadata/root_history/${loaded.envelope.signed.version as number}.root.json`);
        for (const rel of rels) {
          const tmp = writeTemporary(join(this.dir, rel), bytes);
          step.temporaries.push([tmp, rel]);
          onTemporary?.(tmp);
        }
      }
    } catch (error) {
      removeTemporaries(steps);
      throw error;
    }
    return steps;
  }

  /** Puts the written files in place, removes deleted roles' files, and stages it all. */
  #replaceAndStage(steps: SaveStep[], options: { stage?: boolean }): string[] {
    const written: string[] = [];
    for (const { loaded, temporaries, bytes, drop } of steps) {
      if (loaded.deleted) {
        rmSync(this.metadataPath(loaded.name), { force: true });
        written.push(loaded.relPath);
        continue;
      }
      for (const [tmp, rel] of temporaries) {
        try {
          renameSync(tmp, join(this.dir, rel));
        } catch (error) {
          removeTemporaries(steps);
          throw error;
        }
        written.push(rel);
      }
      loaded.diskBytes = bytes;
      loaded.dropped = drop;
      loaded.diskVersion = versionOf(loaded.envelope.signed);
      loaded.contentChanged = false;
      loaded.signaturesChanged = false;
    }
    for (const [name, loaded] of this.#roles) if (loaded.deleted) this.#roles.delete(name);
    const all = [...written, ...this.#extraPaths];
    this.#extraPaths.clear();
    if (options.stage !== false && this.#useGit && all.length > 0) stagePaths(this.dir, all);
    return all;
  }

  /** Names of all metadata files present in metadata/ (without .json), top-level included. */
  listMetadataFiles(): string[] {
    const dir = join(this.dir, 'metadata');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  }
}

function statusOf(role: string, trust: RoleTrust, valid: string[]): SignatureStatus {
  return {
    role,
    threshold: trust.threshold,
    valid,
    missing: trust.keyIds.filter((id) => !valid.includes(id)),
    keys: trust.keys,
    ok: valid.length >= trust.threshold,
  };
}

/** Whether two TUF keys verify alike: same key type, scheme and public key. */
function samePublicKey(a: TufKeyJSON, b: TufKeyJSON): boolean {
  return a.keytype === b.keytype && a.scheme === b.scheme && a.keyval?.public === b.keyval?.public;
}

/** What a signature's verification depends on besides the data: the key's id and material, and the signature. */
function verifiedKey(keyId: string, key: TufKeyJSON, sig: string): string {
  return `${keyId}\n${String(key.keytype)}\n${String(key.scheme)}\n${String(key.keyval?.public)}\n${sig}`;
}

/** A deep copy of `signed` for edit(), sharing (not copying) the fields the edit replaces. */
function draftOf(signed: JSONObject, replaces: readonly string[]): JSONObject {
  if (replaces.length === 0) return structuredClone(signed);
  const rest: JSONObject = { ...signed };
  for (const field of replaces) delete rest[field];
  const draft = structuredClone(rest);
  for (const field of replaces) if (Object.hasOwn(signed, field)) draft[field] = signed[field]!;
  return draft;
}

export function trustFromEntry(keys: JSONObject, entry: JSONObject): RoleTrust {
  const keyIds = Array.isArray(entry.keyids) ? (entry.keyids as string[]) : [];
  const typed: Record<string, TufKeyJSON> = {};
  for (const id of keyIds) {
    const key = own<JSONObject>(keys, id);
    if (key !== undefined) {
      try {
        setOwn(typed, id, assertTufKey(key, `key ${id}`));
      } catch (error) {
        if (!(error instanceof TufctlError)) throw error;
      }
    }
  }
  return { keys: typed, keyIds, threshold: typeof entry.threshold === 'number' ? entry.threshold : 1 };
}

export function isSuccinctBin(succinct: JSONObject, role: string): boolean {
  const prefix = succinct.name_prefix as string;
  const bits = succinct.bit_length as number;
  if (!role.startsWith(`${prefix}-`)) return false;
  const suffix = role.slice(prefix.length + 1);
  const suffixLen = Math.max(1, Math.ceil((2 ** bits - 1).toString(16).length));
  if (suffix.length !== suffixLen || !/^[0-9a-f]+$/.test(suffix)) return false;
  return parseInt(suffix, 16) < 2 ** bits;
}

/** What parseVersion() finds in the file form of an envelope with this `signed` (JSON turns non-finite numbers into null). */
function versionOf(signed: JSONObject): number | undefined {
  const version = signed.version;
  return typeof version === 'number' && Number.isFinite(version) ? version : undefined;
}

function parseVersion(bytes: Buffer): number | undefined {
  try {
    const version = (parseJSON(bytes) as { signed?: { version?: unknown } }).signed?.version;
    return Number.isSafeInteger(version) ? (version as number) : undefined;
  } catch {
    return undefined;
  }
}

/** Finds the trusted key id of a signer: by id, else by equal public key (for legacy key ids). */
function matchKeyId(signer: Signer, trusted: Map<string, TufKeyJSON>): string | undefined {
  if (trusted.has(signer.keyId)) return signer.keyId;
  const mine = spkiDerOf(publicKeyObjectOf(signer.publicKey));
  for (const [id, key] of trusted) {
    try {
      if (spkiDerOf(publicKeyObjectOf(key)).equals(mine)) return id;
    } catch {
      // an unparsable trusted key cannot match
    }
  }
  return undefined;
}

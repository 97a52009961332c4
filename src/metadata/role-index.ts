/**
 * A fast index of the targets-role files: for each role reachable from
 * `targets`, its version, length, sha256 and the roles it delegates to.
 *
 * Snapshot needs this for every role. Reading 16,384 hashed-bin files on each
 * edit would cost seconds, so entries are cached in `.git/tufctl/role-index.json`
 * and trusted only while the file's size, mtime and inode are unchanged and
 * its mtime predates the cache (the rule git uses for its index). Files the
 * current session changed are taken from memory. The cache file is rewritten
 * only once enough entries were refreshed from their files (a one-target edit
 * re-reads the one or two bins changed since, rather than rewriting megabytes).
 * `verify` never uses this cache: it reads every file.
 */
import { createHash, hash } from 'node:crypto';
import type { Targets } from '@tufjs/models';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { MetadataError } from '../errors.js';
import { isJSONObject, type JSONObject } from './json.js';
import { jsonProblem, own, parseJSON, setOwn } from './strict-json.js';
import type { Repository } from './repository.js';

export interface RoleFileInfo {
  version: number;
  /** Length and sha256 of the file; absent for roles changed in this session when the index does not need them. */
  length?: number;
  sha256?: string;
  /** Explicitly delegated child roles. */
  children: string[];
  /** Succinct hashed bins delegated by this role: [name prefix, bit length]. */
  bins?: [string, number];
}

interface CacheEntry extends RoleFileInfo {
  size: number;
  mtimeMs: number;
  ino: number;
}

interface CacheFile {
  format: 1;
  writtenAt: number;
  entries: Record<string, CacheEntry>;
}

function describe(bytes: Buffer, role: string): RoleFileInfo {
  let parsed: unknown;
  try {
    parsed = parseJSON(bytes);
  } catch (error) {
    throw new MetadataError('METADATA_MALFORMED', `metadata/${role}.json: ${jsonProblem(error)}`);
  }
  if (!isJSONObject(parsed) || !isJSONObject(parsed.signed)) {
    throw new MetadataError('METADATA_MALFORMED', `metadata/${role}.json: no signed object`);
  }
  const signed = parsed.signed;
  return describeSigned(signed, bytes);
}

/**
 * Info from a role's `signed`; length and sha256 from its file bytes when
 * given. (A role changed in this session is described from memory: its file
 * bytes are the serialisation of that same `signed`, so parsing them back
 * would only cost time.)
 */
function describeSigned(signed: JSONObject, bytes: Buffer | undefined): RoleFileInfo {
  const info: RoleFileInfo = {
    version: typeof signed.version === 'number' ? signed.version : 0,
    children: [],
  };
  if (bytes) {
    info.length = bytes.length;
    info.sha256 = createHash('sha256').update(bytes).digest('hex');
  }
  const delegations = signed.delegations;
  if (isJSONObject(delegations)) {
    if (isJSONObject(delegations.succinct_roles)) {
      info.bins = [String(delegations.succinct_roles.name_prefix), Number(delegations.succinct_roles.bit_length)];
    } else if (Array.isArray(delegations.roles)) {
      info.children = (delegations.roles as JSONObject[]).map((r) => String(r.name));
    }
  }
  return info;
}

type Succinct = NonNullable<NonNullable<Targets['delegations']>['succinctRoles']>;

/** Bin names by index, for bin sets small enough to list (the name of every bin, computed once). */
const BIN_NAMES = new WeakMap<Succinct, string[]>();

/**
 * The hashed bin `path` belongs to: exactly `succinct.getRoleForTarget(path)`
 * (the leftmost bit_length bits of the path's sha256), with a one-shot hash and
 * the bin names listed once, which halves the cost for a million targets.
 */
export function binForTarget(succinct: Succinct, path: string): string {
  // The digest as one character per byte ('binary' is latin1): no Buffer per call, a third of the time.
  const digest = hash('sha256', path, 'binary');
  const first = ((digest.charCodeAt(0) << 24) | (digest.charCodeAt(1) << 16) | (digest.charCodeAt(2) << 8) | digest.charCodeAt(3)) >>> 0;
  const index = first >>> (32 - succinct.bitLength);
  if (succinct.bitLength > 16) return `${succinct.namePrefix}-${index.toString(16).padStart(succinct.suffixLen, '0')}`;
  let names = BIN_NAMES.get(succinct);
  if (!names) BIN_NAMES.set(succinct, (names = [...succinct.getRoles()]));
  return names[index]!;
}

/** The cache is rewritten once at least this many entries had to be read from their files. */
const PERSIST_AFTER = 32;

export function binNames(prefix: string, bits: number): string[] {
  const count = 2 ** bits;
  const width = (count - 1).toString(16).length;
  const names: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) names[i] = `${prefix}-${i.toString(16).padStart(width, '0')}`;
  return names;
}

export class RoleIndex {
  readonly #repo: Repository;
  readonly #cachePath: string | undefined;
  #cache: CacheFile;
  /** Entries read from their files since the cache was loaded or written. */
  #refreshed = 0;
  readonly #metadataDir: string;
  readonly #fileHashes: boolean;

  /**
   * `fileHashes: false`: the caller does not use length and sha256 of roles
   * changed in this session, which then need not be serialised to describe them.
   */
  constructor(repo: Repository, options: { fileHashes?: boolean } = {}) {
    this.#repo = repo;
    this.#fileHashes = options.fileHashes ?? true;
    this.#metadataDir = join(repo.dir, 'metadata');
    const gitDir = join(repo.dir, '.git');
    this.#cachePath = existsSync(gitDir) && statSync(gitDir).isDirectory() ? join(gitDir, 'tufctl', 'role-index.json') : undefined;
    this.#cache = { format: 1, writtenAt: 0, entries: {} };
    if (this.#cachePath && existsSync(this.#cachePath)) {
      try {
        const parsed = JSON.parse(readFileSync(this.#cachePath, 'utf8')) as CacheFile;
        if (parsed.format === 1 && isJSONObject(parsed.entries as unknown)) this.#cache = parsed;
      } catch {
        // a broken cache is simply rebuilt
      }
    }
  }

  /** Info for one role's file as it is now (including unsaved edits). */
  info(role: string): RoleFileInfo | undefined {
    return this.#info(role, new Set(this.#repo.changedRoles()));
  }

  #info(role: string, changed: ReadonlySet<string>): RoleFileInfo | undefined {
    const repo = this.#repo;
    if (changed.has(role)) {
      if (!repo.has(role)) return undefined;
      return describeSigned(repo.signed(role), this.#fileHashes ? repo.fileBytes(role) : undefined);
    }
    // (what repo.metadataPath() returns, without a path.join per role: there may be thousands)
    const path = role.includes('/') || role.includes('\\') ? repo.metadataPath(role) : `${this.#metadataDir}${sep}${role}.json`;
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return undefined;
    }
    const cached = own<CacheEntry>(this.#cache.entries, role);
    if (
      cached &&
      cached.size === stat.size &&
      cached.mtimeMs === stat.mtimeMs &&
      cached.ino === stat.ino &&
      stat.mtimeMs < this.#cache.writtenAt
    ) {
      return cached;
    }
    const info = describe(readFileSync(path), role);
    setOwn(this.#cache.entries, role, { ...info, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino });
    this.#refreshed++;
    return info;
  }

  /**
   * Every targets role reachable from `targets`, breadth-first, with its info.
   * Delegated roles whose file is missing are reported with `info` undefined.
   */
  walk(): Array<{ role: string; parent: string | undefined; info: RoleFileInfo | undefined }> {
    const out: Array<{ role: string; parent: string | undefined; info: RoleFileInfo | undefined }> = [];
    const seen = new Set<string>();
    const queue: Array<[string, string | undefined]> = [['targets', undefined]];
    // Roles changed in this session, computed once (not per role: there may be thousands).
    const changed = new Set(this.#repo.changedRoles());
    // An index into the queue rather than shift(), which is linear per call on large arrays.
    for (let next = 0; next < queue.length; next++) {
      const [role, parent] = queue[next]!;
      if (seen.has(role)) continue;
      seen.add(role);
      const info = this.#info(role, changed);
      out.push({ role, parent, info });
      if (!info) continue;
      for (const child of info.children) queue.push([child, role]);
      if (info.bins) for (const bin of binNames(info.bins[0], info.bins[1])) queue.push([bin, role]);
    }
    return out;
  }

  /** Persists the cache (best effort; the cache is only an accelerator). */
  persist(): void {
    // Rewriting the whole cache (megabytes for thousands of bins) to record a handful of
    // changed files costs more than reading those files again next time.
    if (!this.#cachePath || this.#refreshed < PERSIST_AFTER) return;
    try {
      mkdirSync(join(this.#cachePath, '..'), { recursive: true });
      // Entries are trusted only for files last modified before this moment.
      this.#cache.writtenAt = Date.now();
      writeFileAtomic(this.#cachePath, JSON.stringify(this.#cache));
      this.#refreshed = 0;
    } catch {
      // ignore: a missing cache only costs time
    }
  }
}

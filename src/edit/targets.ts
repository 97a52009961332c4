/**
 * Adding and removing targets, and deciding which role signs a target path.
 *
 * A target path is assigned the way a client looks it up: starting from
 * `targets`, descend into the first delegation whose paths match (or the
 * hashed bin the path falls in), until no delegation matches.
 */
import { closeSync, existsSync, openSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { digestFile } from '../targets/file-digest.js';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Targets } from '@tufjs/models';
import { TargetError, UsageError } from '../errors.js';
import { canonicalize, isJSONObject, type JSONObject } from '../metadata/json.js';
import type { Repository } from '../metadata/repository.js';
import { assertTargetPath } from '../targets/target-paths.js';
import { binForTarget } from '../metadata/role-index.js';
import { JSONParseError, isObjectPrototypeName, own, parseJSON, setOwn } from '../metadata/strict-json.js';

export interface TargetDescription {
  path: string;
  length: number;
  hashes: Record<string, string>;
  custom?: JSONObject;
}

export interface AddedTarget extends TargetDescription {
  role: string;
}

/** Decides which role signs `path`: the deepest matching delegation, as a client would search. */
export class RoleResolver {
  readonly #repo: Repository;
  /** Each role's delegations as models (null: it delegates nothing). */
  readonly #models = new Map<string, NonNullable<Targets['delegations']> | null>();
  /** Roles passed on the way down in resolve(), kept between calls (cleared, not allocated, per target). */
  readonly #seen = new Set<string>();
  /** Role existence, remembered only when the caller guarantees no role is created or removed meanwhile. */
  readonly #exists: Map<string, boolean> | undefined;

  constructor(repo: Repository, options: { rolesFixed?: boolean } = {}) {
    this.#repo = repo;
    this.#exists = options.rolesFixed ? new Map() : undefined;
  }

  #has(role: string): boolean {
    if (!this.#exists) return this.#repo.has(role);
    let exists = this.#exists.get(role);
    if (exists === undefined) this.#exists.set(role, (exists = this.#repo.has(role)));
    return exists;
  }

  #delegations(role: string): NonNullable<Targets['delegations']> | null {
    let models = this.#models.get(role);
    if (models === undefined) {
      const signed = this.#repo.signed(role);
      models = (isJSONObject(signed.delegations) ? Targets.fromJSON({ ...signed, targets: {} }).delegations : undefined) ?? null;
      this.#models.set(role, models);
    }
    return models;
  }

  resolve(path: string): string {
    let role = 'targets';
    const seen = this.#seen;
    seen.clear();
    for (;;) {
      seen.add(role);
      const delegations = this.#delegations(role);
      if (!delegations) return role;
      let next: string | undefined;
      if (delegations.succinctRoles) next = binForTarget(delegations.succinctRoles, path);
      else if (delegations.roles) {
        next = Object.values(delegations.roles).find((r) => r.isDelegatedPath(path))?.name;
      }
      if (!next || seen.has(next) || !this.#has(next)) return role;
      role = next;
    }
  }

  /** Whether a target path may be signed by `role` (every delegation on the way allows it). */
  allows(role: string, path: string): boolean {
    return this.resolve(path) === role || this.#chainAllows(role, path);
  }

  #chainAllows(role: string, path: string): boolean {
    let current = role;
    const seen = new Set<string>();
    while (current !== 'targets') {
      if (seen.has(current)) return false;
      seen.add(current);
      const parent = this.#repo.delegatorOf(current);
      if (!parent) return false;
      const delegations = this.#delegations(parent);
      if (delegations?.succinctRoles) {
        if (binForTarget(delegations.succinctRoles, path) !== current) return false;
      } else if (!delegations?.roles?.[current]?.isDelegatedPath(path)) return false;
      current = parent;
    }
    return true;
  }
}

/** A copy of a target's hashes: `{ ...hashes }`, without the spread for the usual sha256 alone. */
function copyOfHashes(hashes: Record<string, string>): Record<string, string> {
  for (const algorithm in hashes) {
    if (algorithm !== 'sha256' || !Object.hasOwn(hashes, algorithm)) return { ...hashes };
  }
  return hashes.sha256 === undefined ? { ...hashes } : { sha256: hashes.sha256 };
}

/**
 * `{ ...target, role }`. V8 makes an object spread followed by another
 * property a dictionary-mode object (about 290 bytes, against 64): for a
 * million targets that is 220 MB more and half a second. A target of the
 * usual shape is therefore copied property by property, in the same order.
 */
function withRole(target: TargetDescription, role: string): AddedTarget {
  const keys = Object.keys(target);
  if (
    keys.length >= 3 &&
    keys.length <= 4 &&
    keys[0] === 'path' &&
    keys[1] === 'length' &&
    keys[2] === 'hashes' &&
    (keys.length === 3 || keys[3] === 'custom') &&
    Object.getOwnPropertySymbols(target).length === 0
  ) {
    return keys.length === 3
      ? { path: target.path, length: target.length, hashes: target.hashes, role }
      : { path: target.path, length: target.length, hashes: target.hashes, custom: target.custom, role };
  }
  return { ...target, role };
}

const DIGEST_SIZES = { sha256: 64, sha384: 96, sha512: 128 };

/** Digest patterns by expected length, built once rather than per target. */
const DIGEST_PATTERNS = new Map<string, RegExp>();

function digestPattern(size: unknown): RegExp {
  const key = String(size);
  let pattern = DIGEST_PATTERNS.get(key);
  if (!pattern) DIGEST_PATTERNS.set(key, (pattern = new RegExp(`^[0-9a-f]{${key}}$`)));
  return pattern;
}

/** Adds (or updates) target entries; one edit per role. Returns the entries with their role. */
export function addTargets(repo: Repository, targets: readonly TargetDescription[], options: { role?: string } = {}): AddedTarget[] {
  const placer = new TargetPlacer(repo, options);
  const added: AddedTarget[] = [];
  for (const target of targets) added.push(withRole(target, placer.place(target)));
  placer.apply();
  return added;
}

/**
 * Adds (or updates) target entries read one at a time (a JSON Lines file of a
 * million entries is never held whole); one edit per role. Returns how many
 * targets were added and in how many roles.
 */
export async function addTargetEntries(
  repo: Repository,
  targets: AsyncIterable<TargetDescription> | Iterable<TargetDescription>,
  options: { role?: string } = {},
): Promise<{ added: number; roles: number }> {
  const placer = new TargetPlacer(repo, options);
  let added = 0;
  if (Symbol.iterator in targets) {
    // Iterable without a promise per entry where the source allows it (targetEntries does).
    for (const target of targets) {
      placer.place(target);
      added++;
    }
  } else {
    for await (const target of targets) {
      placer.place(target);
      added++;
    }
  }
  const roles = placer.apply();
  return { added, roles };
}

/** Checks targets and collects them by the role that signs them, then edits each role once. */
class TargetPlacer {
  readonly #repo: Repository;
  readonly #role: string | undefined;
  // No role is created or removed until every target is assigned: existence checks can be remembered.
  readonly #resolver: RoleResolver;
  readonly #byRole = new Map<string, Array<[string, JSONObject]>>();

  constructor(repo: Repository, options: { role?: string }) {
    this.#repo = repo;
    this.#role = options.role;
    this.#resolver = new RoleResolver(repo, { rolesFixed: true });
  }

  /** Checks one target and assigns it to its role; returns the role. */
  place(target: TargetDescription): string {
    assertTargetPath(target.path);
    if (!Number.isSafeInteger(target.length) || target.length < 0) {
      throw new TargetError('TARGET_PATH_INVALID', `target "${target.path}": length must be a whole number >= 0`);
    }
    for (const [algorithm, digest] of Object.entries(target.hashes)) {
      const size = own<number>(DIGEST_SIZES, algorithm);
      if (!size) throw new TargetError('TARGET_PATH_INVALID', `target "${target.path}": unsupported hash algorithm ${algorithm}`);
      if (!digestPattern(size).test(digest)) {
        throw new TargetError('TARGET_PATH_INVALID', `target "${target.path}": ${algorithm} must be ${size} lowercase hex characters`);
      }
    }
    let role: string;
    if (this.#role) {
      if (!this.#repo.has(this.#role)) throw new UsageError(`unknown role "${this.#role}"`, 'ROLE_UNKNOWN');
      if (!this.#resolver.allows(this.#role, target.path)) {
        throw new TargetError('TARGET_PATH_INVALID', `role ${this.#role} is not delegated the path "${target.path}"`);
      }
      role = this.#role;
    } else {
      role = this.#resolver.resolve(target.path);
    }
    if (role !== 'targets' && isObjectPrototypeName(target.path)) {
      // tuf-js looks a path up role by role from targets, in plain objects: "constructor" is found in
      // targets (the built-in) before the delegated role is reached. Only targets itself can hold it.
      throw new TargetError(
        'TARGET_PATH_INVALID',
        `target path "${target.path}" is the name of a built-in member of JavaScript objects: tuf-js clients find it only in the top-level targets role, not in ${role}`,
      );
    }
    let list = this.#byRole.get(role);
    if (!list) this.#byRole.set(role, (list = []));
    // Keys in sorted order: the file form then needs no sorted copy of every entry.
    list.push([
      target.path,
      target.custom
        ? { custom: target.custom, hashes: copyOfHashes(target.hashes), length: target.length }
        : { hashes: copyOfHashes(target.hashes), length: target.length },
    ]);
    return role;
  }

  /** Edits every role that received targets; returns how many roles received any. */
  apply(): number {
    const repo = this.#repo;
    for (const [role, entries] of this.#byRole) {
      const description = entries.length === 1 ? `${role}: add target ${entries[0]![0]}` : `${role}: add ${entries.length} targets`;
      // Whether anything changes is decided per entry (cheap), not over the whole role.
      const current = repo.signed(role).targets as JSONObject;
      const knownChanged = entries.some(([path, entry]) => {
        const existing = own(current, path);
        return existing === undefined || canonicalize(existing) !== canonicalize(entry);
      });
      if (!knownChanged) continue;
      repo.edit(
        role,
        description,
        (signed) => {
          signed.targets = mergedTable(signed.targets as JSONObject, entries);
        },
        { knownChanged },
      );
    }
    const roles = this.#byRole.size;
    this.#byRole.clear();
    return roles;
  }
}

/**
 * `table` with `entries` set (a later entry for a path wins), as a new object
 * whose keys come in sorted order: the canonical form is then JSON.stringify's
 * (src/metadata/json.ts canonicalText) and the file form needs no sorted copy.
 */
function mergedTable(table: JSONObject, entries: ReadonlyArray<[string, JSONObject]>): JSONObject {
  const added = new Map<string, JSONObject>();
  for (const [path, entry] of entries) added.set(path, entry);
  const paths = Object.keys(table);
  for (const path of added.keys()) if (!Object.hasOwn(table, path)) paths.push(path);
  paths.sort();
  // Without a prototype V8 builds the table as a dictionary from the start, rather than through a
  // hidden class per path added (a million paths: about a second less).
  const merged = Object.create(null) as JSONObject;
  for (const path of paths) setOwn(merged, path, added.get(path) ?? table[path]!);
  return merged;
}

/** Describes files lying under the repository's targets/ directory, refusing anything else. */
export function describeTargetFiles(
  repo: Repository,
  files: readonly string[],
  cwd: string = process.cwd(),
): Array<TargetDescription & { file: string }> {
  const targetsDir = resolve(repo.dir, 'targets');
  const realTargetsDir = existsSync(targetsDir) ? realpathSync(targetsDir) : targetsDir;
  return files.map((given) => {
    const absolute = isAbsolute(given) ? given : resolve(cwd, given);
    if (!existsSync(absolute)) throw new TargetError('TARGET_NOT_FOUND', `${given}: no such file`);
    const real = realpathSync(absolute);
    const resolvedRel = relative(realTargetsDir, real);
    if (resolvedRel === '' || resolvedRel.startsWith('..') || isAbsolute(resolvedRel)) {
      throw new TargetError('TARGET_OUTSIDE_TARGETS_DIR', `${given} is not under the repository's targets/ directory`);
    }
    // A symlink inside targets/ is named by its own path; where it resolves decides whether it is allowed.
    const linkRel = relative(realTargetsDir, join(realpathSync(dirname(absolute)), basename(absolute)));
    const rel = linkRel !== '' && !linkRel.startsWith('..') && !isAbsolute(linkRel) ? linkRel : resolvedRel;
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new TargetError('TARGET_OUTSIDE_TARGETS_DIR', `${given} is not under the repository's targets/ directory`);
    }
    if (!statSync(real).isFile()) throw new TargetError('TARGET_NOT_FOUND', `${given} is not a regular file`);
    const path = rel.split(sep).join('/');
    assertTargetPath(path);
    // Read in one streaming pass: any size, and a private key anywhere in the file is found.
    const digest = digestFile(real);
    if (digest.privateKey) {
      throw new TargetError('TARGET_CONTAINS_PRIVATE_KEY', `${given} contains a private key; refusing to sign and stage it`);
    }
    return { path, file: real, length: digest.length, hashes: { sha256: digest.digests.sha256! } };
  });
}

/** Adds target files (under targets/) and stages them. */
export function addTargetFiles(
  repo: Repository,
  files: readonly string[],
  options: { custom?: JSONObject; role?: string; cwd?: string } = {},
): AddedTarget[] {
  const described = describeTargetFiles(repo, files, options.cwd);
  const added = addTargets(
    repo,
    described.map(({ file: _file, ...d }) => (options.custom ? { ...d, custom: options.custom } : d)),
    options.role ? { role: options.role } : {},
  );
  for (const d of described) repo.stageAlso(`targets/${d.path}`);
  return added;
}

/** Reads target descriptions from a JSON Lines file: one `{"path","length","sha256"|"hashes","custom"?}` per line. */
export async function readTargetEntries(file: string): Promise<TargetDescription[]> {
  const entries: TargetDescription[] = [];
  for await (const entry of targetEntries(file)) entries.push(entry);
  return entries;
}

/**
 * The target descriptions of a JSON Lines file, one at a time, as
 * readTargetEntries() reads them. A missing file is refused here, before the
 * first entry is asked for. The result can be iterated with `for` as well as
 * `for await` (a million entries cost half a second less without a promise
 * per entry).
 */
export function targetEntries(file: string): AsyncIterable<TargetDescription> & Iterable<TargetDescription> {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  return {
    [Symbol.iterator]: () => readLines(file),
    [Symbol.asyncIterator]: () => {
      const lines = readLines(file);
      // return(): a consumer that stops early closes the file, as with `for`.
      return {
        next: () => Promise.resolve().then(() => lines.next()),
        return: (value?: unknown) => Promise.resolve(lines.return(value as undefined)),
      };
    },
  };
}

/**
 * The usual line, `{"path":"…","length":N,"sha256":"…"}` with nothing to
 * unescape: read without the general parser (a million lines per bulk add).
 * It cannot hold a member twice; anything else goes to parseJSON.
 */
// eslint-disable-next-line no-control-regex
const PLAIN_LINE = /^\{"path":"([^"\\\u0000-\u001f]*)","length":(0|[1-9][0-9]{0,14}),"sha256":"([^"\\\u0000-\u001f]*)"\}$/;

/** Bytes read at a time: the file is never held whole. */
const CHUNK = 1 << 20;

/**
 * The lines of a file as readline splits them (at "\n", "\r\n" and a lone
 * "\r"), read in chunks with a decoder that keeps characters split between
 * chunks whole.
 */
function* fileLines(file: string): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      const text = rest + (read === 0 ? decoder.end() : decoder.write(buffer.subarray(0, read)));
      let start = 0;
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
        yield* splitAtCarriageReturns(text.slice(start, newline > start && text[newline - 1] === '\r' ? newline - 1 : newline));
        start = newline + 1;
      }
      rest = text.slice(start);
      if (read === 0) break;
    }
    if (rest !== '') yield* splitAtCarriageReturns(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  } finally {
    closeSync(fd);
  }
}

function splitAtCarriageReturns(line: string): string[] {
  return line.includes('\r') ? line.split('\r') : [line];
}

function* readLines(file: string): Generator<TargetDescription> {
  let lineNumber = 0;
  for (const line of fileLines(file)) {
    lineNumber++;
    const plain = PLAIN_LINE.exec(line);
    if (plain) {
      yield { path: plain[1]!, length: Number(plain[2]), hashes: { sha256: plain[3]! } };
      continue;
    }
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = parseJSON(line);
    } catch (error) {
      const duplicate = error instanceof JSONParseError && error.kind === 'duplicate';
      throw new UsageError(`${file}:${lineNumber}: ${duplicate ? error.message : 'not valid JSON'}`);
    }
    if (!isJSONObject(value) || typeof value.path !== 'string' || typeof value.length !== 'number') {
      throw new UsageError(`${file}:${lineNumber}: expected {"path": string, "length": number, "sha256": hex}`);
    }
    const hashes = isJSONObject(value.hashes)
      ? (value.hashes as Record<string, string>)
      : typeof value.sha256 === 'string'
        ? { sha256: value.sha256 }
        : undefined;
    if (!hashes) throw new UsageError(`${file}:${lineNumber}: "${value.path}" needs "sha256" or "hashes"`);
    const entry: TargetDescription = { path: value.path, length: value.length, hashes };
    if (isJSONObject(value.custom)) entry.custom = value.custom;
    yield entry;
  }
}

/** Removes targets from whichever role holds them; deletes their files under targets/ unless keepFiles. */
export function removeTargets(
  repo: Repository,
  paths: readonly string[],
  options: { keepFiles?: boolean } = {},
): Array<{ path: string; role: string }> {
  const resolver = new RoleResolver(repo);
  const removed: Array<{ path: string; role: string }> = [];
  for (const path of paths) {
    assertTargetPath(path);
    const role = findHolder(repo, resolver, path);
    if (!role) throw new TargetError('TARGET_NOT_FOUND', `no role signs a target "${path}"`);
    repo.edit(role, `${role}: remove target ${path}`, (signed) => {
      delete (signed.targets as JSONObject)[path];
    });
    const file = resolve(repo.dir, 'targets', ...path.split('/'));
    if (!options.keepFiles && existsSync(file)) {
      rmSync(file);
      repo.stageAlso(`targets/${path}`);
    }
    removed.push({ path, role });
  }
  return removed;
}

function findHolder(repo: Repository, resolver: RoleResolver, path: string): string | undefined {
  const likely = resolver.resolve(path);
  if (isJSONObject(own(repo.signed(likely).targets as JSONObject, path))) return likely;
  if (isJSONObject(own(repo.signed('targets').targets as JSONObject, path))) return 'targets';
  return undefined;
}

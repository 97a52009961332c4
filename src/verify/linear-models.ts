/**
 * Linear-time tables for @tufjs/models, installed into the copy tuf-js uses
 * before tufctl runs a tuf-js client.
 *
 * @tufjs/models builds every keyed table (snapshot `meta`, a targets role's
 * `targets`, delegated `keys` and `roles`) with
 * `reduce((acc, x) => ({ ...acc, [k]: v }), {})`, copying the accumulator
 * once per entry: quadratic in the number of entries. A client reading a
 * snapshot that lists 16,384 hashed bins spends over a minute in
 * `Snapshot.fromJSON` and `toJSON` (the latter to check the snapshot's
 * signature). This module replaces those four `fromJSON` and `toJSON`
 * functions with versions that build the same objects in linear time.
 *
 * The replacements leave every decision to the library's own code: each
 * entry goes through the models' `MetaFile.fromJSON`, `TargetFile.fromJSON`,
 * `Key.fromJSON`, `DelegatedRole.fromJSON` or `toJSON`; the original
 * `fromJSON` then runs on the document with the large table replaced by a
 * stand-in with the same outcome — empty when every entry is valid, else the
 * first invalid entry (or the two entries of a duplicate role) — so the same
 * error, in the same order, is thrown for invalid input, and the table built
 * here is put in place of the stand-in for valid input. Anything unexpected
 * (an entry whose `toJSON` throws, a table that is not an object) goes to the
 * original function unchanged.
 *
 * The replacements are installed only into @tufjs/models PATCHED_MODELS_VERSION,
 * the version test/unit/linear-models.test.ts checks them against (same
 * objects, same errors, on real and edge-case metadata); any other version
 * is left alone, correct but slow, until that test is re-run against it.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The @tufjs/models version the replacements were checked against. */
export const PATCHED_MODELS_VERSION = '5.0.2';

type Obj = Record<string, unknown>;
type FromJSON = (...args: unknown[]) => unknown;
type ToJSON = (this: unknown) => unknown;
interface ClassLike {
  fromJSON: FromJSON;
  prototype: { toJSON: ToJSON };
  new (options: Obj): unknown;
}

/** The parts of one loaded copy of @tufjs/models the replacements use. */
export interface ModelsModule {
  dir: string;
  version: string;
  Snapshot: ClassLike;
  Targets: ClassLike;
  Delegations: ClassLike;
  MetaFile: ClassLike;
  TargetFile: ClassLike;
  Key: ClassLike;
  DelegatedRole: ClassLike;
}

export interface Replacements {
  snapshotFromJSON: FromJSON;
  snapshotToJSON: ToJSON;
  targetsFromJSON: FromJSON;
  targetsToJSON: ToJSON;
  delegationsFromJSON: FromJSON;
  delegationsToJSON: ToJSON;
}

const require = createRequire(import.meta.url);

/** Loads the copy of @tufjs/models that `from` (a resolved module file) requires. */
export function loadModels(from: string): ModelsModule {
  const index = createRequire(from).resolve('@tufjs/models');
  const load = createRequire(index);
  const dir = dirname(dirname(index));
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const main = load(index) as Record<string, ClassLike>;
  const delegations = load('./delegations.js') as Record<string, ClassLike>;
  const role = load('./role.js') as Record<string, ClassLike>;
  return {
    dir,
    version,
    Snapshot: main.Snapshot!,
    Targets: main.Targets!,
    Delegations: delegations.Delegations!,
    MetaFile: main.MetaFile!,
    TargetFile: main.TargetFile!,
    Key: main.Key!,
    DelegatedRole: role.DelegatedRole!,
  };
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null;
}

/** The models' `guard.isObjectRecord`, exactly. */
function isObjectRecord(value: unknown): value is Record<string, Obj> {
  return isObject(value) && Object.keys(value).every((k) => typeof k === 'string') && Object.values(value).every(isObject);
}

/** The models' `guard.isObjectArray`, exactly. */
function isObjectArray(value: unknown): value is Obj[] {
  return Array.isArray(value) && value.every(isObject);
}

/** What object destructuring (`const { name } = { ...rest }`) reads: an own enumerable member, else undefined. */
function member(object: Obj, name: string): unknown {
  return Object.prototype.propertyIsEnumerable.call(object, name) ? object[name] : undefined;
}

/** Stores an own member, also when it is named `__proto__` (as `{ ...acc, [name]: value }` does). */
function setOwn(object: Obj, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
  else object[name] = value;
}

/** `{ [name]: value }` for any name, `__proto__` included. */
function single(name: string, value: unknown): Obj {
  const object: Obj = {};
  setOwn(object, name, value);
  return object;
}

/** A table parsed entry by entry: the parsed table, or the stand-in that fails the same way. */
function parseTable(table: Record<string, Obj>, parse: (name: string, entry: Obj) => unknown): { built?: Obj; standIn: Obj } {
  const built: Obj = {};
  for (const [name, entry] of Object.entries(table)) {
    try {
      setOwn(built, name, parse(name, entry));
    } catch {
      return { standIn: single(name, entry) };
    }
  }
  return { built, standIn: {} };
}

/** `table` with every entry's `toJSON()`, or undefined if anything about it is unusual (the original then decides). */
function tableToJSON(table: unknown): Obj | undefined {
  if (!isObject(table)) return undefined;
  const out: Obj = {};
  try {
    for (const [name, entry] of Object.entries(table)) setOwn(out, name, (entry as { toJSON(): unknown }).toJSON());
  } catch {
    return undefined;
  }
  return out;
}

/**
 * A `toJSON` that lets the original build everything but `field` (read from a
 * view of the object whose `field` is empty) and puts the linearly built
 * table in its place, unless the object's unrecognized fields override it.
 */
function linearToJSON(original: ToJSON, field: string): ToJSON {
  return function (this: unknown) {
    const self = this as Obj;
    const table = isObject(self) ? tableToJSON(self[field]) : undefined;
    if (!table) return original.call(this);
    const view = Object.create(self, { [field]: { value: {}, enumerable: true } }) as Obj;
    const json = original.call(view) as Obj;
    const extra = self.unrecognizedFields;
    if (!(isObject(extra) && Object.prototype.propertyIsEnumerable.call(extra, field))) json[field] = table;
    return json;
  };
}

/**
 * A `fromJSON` for a signed role whose table `field` is parsed here: the
 * original runs on the document with the stand-in (it throws what it would
 * have thrown for the whole document), then the built table replaces it.
 */
function linearSignedFromJSON(
  original: FromJSON,
  field: string,
  parse: (name: string, entry: Obj) => unknown,
): (this: unknown, data: unknown) => unknown {
  return function (this: unknown, data: unknown) {
    const table = isObject(data) ? member(data, field) : undefined;
    if (!isObject(data) || !isObjectRecord(table)) return original.call(this, data);
    const { built, standIn } = parseTable(table, parse);
    const input = { ...data, [field]: standIn };
    if (!built) return failWith(this, original, input, data);
    const result = original.call(this, input) as Obj;
    result[field] = built;
    return result;
  };
}

/** Delegated roles parsed one by one: the role table, or the stand-in list that fails the same way. */
function parseRoles(models: ModelsModule, roles: Obj[]): { built?: Obj; standIn: Obj[] } {
  const built: Obj = {};
  const entryOf = new Map<string, Obj>();
  for (const entry of roles) {
    let name: string;
    let role: unknown;
    try {
      role = models.DelegatedRole.fromJSON(entry);
      name = (role as { name: string }).name;
    } catch {
      return { standIn: [entry] };
    }
    if (Object.hasOwn(built, name)) return { standIn: [entryOf.get(name)!, entry] };
    setOwn(built, name, role);
    entryOf.set(name, entry);
  }
  return { built, standIn: [] };
}

/** Runs the original on the failing stand-in (which throws); should it not throw, the original decides on the real input. */
function failWith(self: unknown, original: FromJSON, standIn: Obj, data: Obj): unknown {
  original.call(self, standIn);
  return original.call(self, data);
}

function linearDelegationsFromJSON(models: ModelsModule, original: FromJSON): FromJSON {
  return function (this: unknown, data: unknown) {
    if (!isObject(data)) return original.call(this, data);
    const keys = member(data, 'keys');
    const roles = member(data, 'roles');
    const input: Obj = { ...data };
    let builtKeys: Obj | undefined;
    let builtRoles: Obj | undefined;
    if (isObjectRecord(keys)) {
      const parsed = parseTable(keys, (id, entry) => models.Key.fromJSON(id, entry));
      input.keys = parsed.standIn;
      builtKeys = parsed.built;
      if (!builtKeys) return failWith(this, original, input, data);
    }
    if (isObjectArray(roles)) {
      const parsed = parseRoles(models, roles);
      input.roles = parsed.standIn;
      builtRoles = parsed.built;
      if (!builtRoles) return failWith(this, original, input, data);
    }
    const result = original.call(this, input) as Obj;
    if (builtRoles) {
      // The constructor's own check of the role names (none may be a top-level role's), on the real table.
      new models.Delegations({ keys: {}, roles: builtRoles });
      result.roles = builtRoles;
    }
    if (builtKeys) result.keys = builtKeys;
    return result;
  };
}

/** The linear functions for one copy of the models (not installed). */
export function linearReplacements(models: ModelsModule): Replacements {
  return {
    snapshotFromJSON: linearSignedFromJSON(models.Snapshot.fromJSON, 'meta', (_name, entry) => models.MetaFile.fromJSON(entry)),
    snapshotToJSON: linearToJSON(models.Snapshot.prototype.toJSON, 'meta'),
    targetsFromJSON: linearSignedFromJSON(models.Targets.fromJSON, 'targets', (name, entry) => models.TargetFile.fromJSON(name, entry)),
    targetsToJSON: linearToJSON(models.Targets.prototype.toJSON, 'targets'),
    delegationsFromJSON: linearDelegationsFromJSON(models, models.Delegations.fromJSON),
    delegationsToJSON: linearToJSON(models.Delegations.prototype.toJSON, 'keys'),
  };
}

const INSTALLED = Symbol.for('tufctl.linearModels');

function replace(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true });
}

export interface LinearModelsState {
  /** Every copy of @tufjs/models in use has the linear functions. */
  installed: boolean;
  /** Copies left alone, with the reason. */
  skipped: string[];
}

let state: LinearModelsState | undefined;

/**
 * Installs the linear functions into the @tufjs/models that tuf-js loads
 * (and tufctl's own, if it is another copy); idempotent. A copy of another
 * version than PATCHED_MODELS_VERSION is left as it is.
 */
export function useLinearModels(): LinearModelsState {
  if (state) return state;
  const copies = new Map<string, ModelsModule>();
  for (const from of [require.resolve('tuf-js'), fileURLToPath(import.meta.url)]) {
    const models = loadModels(from);
    copies.set(models.dir, models);
  }
  const skipped: string[] = [];
  for (const models of copies.values()) {
    if (models.version !== PATCHED_MODELS_VERSION) {
      skipped.push(`${models.dir}: @tufjs/models ${models.version}, not ${PATCHED_MODELS_VERSION}`);
      continue;
    }
    const marked = models.Snapshot as unknown as Record<symbol, boolean>;
    if (marked[INSTALLED]) continue;
    const r = linearReplacements(models);
    replace(models.Snapshot, 'fromJSON', r.snapshotFromJSON);
    replace(models.Snapshot.prototype, 'toJSON', r.snapshotToJSON);
    replace(models.Targets, 'fromJSON', r.targetsFromJSON);
    replace(models.Targets.prototype, 'toJSON', r.targetsToJSON);
    replace(models.Delegations, 'fromJSON', r.delegationsFromJSON);
    replace(models.Delegations.prototype, 'toJSON', r.delegationsToJSON);
    marked[INSTALLED] = true;
  }
  state = { installed: skipped.length === 0, skipped };
  return state;
}

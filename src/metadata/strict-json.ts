/**
 * Strict JSON: every JSON document tufctl reads from a file, a git blob, a
 * registry or the network goes through `parseJSON`.
 *
 * JSON.parse keeps the last of two members with the same name, other parsers
 * keep the first (or refuse): a document with `"sha256"` twice means one thing
 * to tufctl and another to a client. `parseJSON` refuses such documents,
 * naming the member and where it is (`signed.targets["a.txt"].hashes: member
 * "sha256" appears twice`). Values come from JSON.parse itself (native, and
 * it creates a member named `__proto__` as an own property); a second pass
 * over the text, which relies on the text being valid JSON, checks member
 * names. That pass skips string contents with indexOf, compares the names of
 * small objects and counts the members of large ones, so it costs a fraction
 * of JSON.parse (docs/decisions.md); only when it finds a likely duplicate
 * does an exact pass locate and name it.
 *
 * Names are compared after unescaping (`"a"` and `"\u0061"` are the same
 * member), as every parser compares them.
 *
 * Member names are data: a target may be called `constructor` or
 * `__proto__`. `own` and `setOwn` look members up and store them without
 * ever reaching Object.prototype.
 */

/** Why a document was refused: not JSON at all, or a member that appears twice. */
export class JSONParseError extends Error {
  readonly kind: 'syntax' | 'duplicate';
  /** For 'duplicate': where the object is (`signed.targets["a.txt"].hashes`, '' for the top level) and the member's name. */
  readonly path: string;
  readonly member: string;

  constructor(kind: 'syntax' | 'duplicate', message: string, path = '', member = '') {
    super(message);
    this.name = 'JSONParseError';
    this.kind = kind;
    this.path = path;
    this.member = member;
  }
}

/**
 * Parses JSON text, refusing duplicate members at any depth. Throws
 * JSONParseError: kind 'syntax' with JSON.parse's message, or kind
 * 'duplicate' with a message like `signed.targets["a.txt"].hashes: member
 * "sha256" appears twice`.
 */
export function parseJSON(text: string | Buffer): unknown {
  const source = typeof text === 'string' ? text : text.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new JSONParseError('syntax', cut((error as Error).message, 200));
  }
  if (mayHaveDuplicates(source, value)) {
    const duplicate = findDuplicateMember(source);
    if (duplicate) {
      const { path, member } = duplicate;
      const shown = `member ${displayName(member)} appears twice`;
      throw new JSONParseError('duplicate', path ? `${path}: ${shown}` : shown, path, member);
    }
  }
  return value;
}

const OBJECT = 1;
const ARRAY = 2;
/** Objects with up to this many members are checked name by name; larger ones by counting. */
const LIST_LIMIT = 8;

/**
 * The end of the string whose opening quote is at `start` (the index of its
 * closing quote): a quote preceded by an odd number of backslashes is escaped.
 */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (text.charCodeAt(end - 1) === 0x5c /* \ */) {
    let k = end - 1;
    while (text.charCodeAt(k) === 0x5c) k--;
    if ((end - 1 - k) % 2 === 0) break;
    end = text.indexOf('"', end + 1);
  }
  return end;
}

/** The name a member's quoted text stands for. */
function nameAt(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end + 1)) as string) : raw;
}

/** The index of the first character at or after `i` that is not JSON whitespace. */
function skipSpace(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return i;
}

/** Whether the raw (undecoded) texts text[a, aEnd) and text[b, bEnd) are equal. */
function sameText(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  while (a < aEnd) if (text.charCodeAt(a++) !== text.charCodeAt(b++)) return false;
  return true;
}

/**
 * The fast check, over valid JSON `text` and its parsed `value`: false when
 * no object has a member twice. It allocates nothing per member: names are
 * compared where they are in the text. Small objects (most objects in
 * metadata have two or three members) are checked name by name; a large
 * object (a targets table, snapshot meta) by its member count in the text
 * against the number of distinct members of the object JSON.parse made,
 * found by the path the scan is at. (A Set of the names of a million targets
 * would cost more than parsing them.) true means a duplicate may exist (or a
 * name is written with escapes, or a path did not lead to an object, which
 * only a duplicate higher up causes): findDuplicateMember then decides, and
 * names the member.
 */
export function mayHaveDuplicates(text: string, value: unknown): boolean {
  const length = text.length;
  const kinds: number[] = [];
  const counts: number[] = [];
  /** Offsets of the first LIST_LIMIT names (between their quotes) of the object at each depth. */
  const starts: number[] = [];
  const ends: number[] = [];
  /** Offsets of the name of the member being read, per depth. */
  const keyStarts: number[] = [];
  const keyEnds: number[] = [];
  const indexes: number[] = [];
  let depth = -1;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c <= 0x20) {
      // whitespace: outside strings, valid JSON has no other character this low
      i++;
      continue;
    }
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const next = skipSpace(text, end + 1);
      if (text.charCodeAt(next) === 0x3a /* : */) {
        const start = i + 1;
        for (let k = start; k < end; k++) if (text.charCodeAt(k) === 0x5c /* \\ */) return true;
        const count = ++counts[depth]!;
        if (count <= LIST_LIMIT) {
          const base = depth * LIST_LIMIT;
          for (let k = base; k < base + count - 1; k++) if (sameText(text, starts[k]!, ends[k]!, start, end)) return true;
          starts[base + count - 1] = start;
          ends[base + count - 1] = end;
        }
        keyStarts[depth] = start;
        keyEnds[depth] = end;
        i = next + 1;
      } else i = next;
      continue;
    }
    if (c === 0x7b /* { */) {
      depth++;
      kinds[depth] = OBJECT;
      counts[depth] = 0;
    } else if (c === 0x5b /* [ */) {
      depth++;
      kinds[depth] = ARRAY;
      indexes[depth] = 0;
    } else if (c === 0x2c /* , */) {
      if (kinds[depth] === ARRAY) indexes[depth]!++;
    } else if (c === 0x7d /* } */) {
      if (counts[depth]! > LIST_LIMIT) {
        let node: unknown = value;
        for (let d = 0; d < depth && node !== undefined; d++) {
          if (kinds[d] === ARRAY) node = Array.isArray(node) ? (node[indexes[d]!] as unknown) : undefined;
          else node = typeof node === 'object' && node !== null ? own(node, text.slice(keyStarts[d]!, keyEnds[d]!)) : undefined;
        }
        if (typeof node !== 'object' || node === null || Object.keys(node).length !== counts[depth]) return true;
      }
      depth--;
    } else if (c === 0x5d /* ] */) depth--;
    i++;
  }
  return false;
}

/**
 * The first member (in text order) whose name already appeared in the same
 * object, with the path of that object; undefined when there is none.
 * `text` must be valid JSON (it is parsed first): the scan only tracks
 * nesting, member names and array positions. Exact but slower than the
 * fast check (a Set of names per large object): run once a duplicate is likely.
 */
export function findDuplicateMember(text: string): { path: string; member: string } | undefined {
  const length = text.length;
  const kinds: number[] = [];
  const names: Array<Set<string>> = [];
  const keys: string[] = [];
  const indexes: number[] = [];
  let depth = -1;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c <= 0x20) {
      // whitespace: outside strings, valid JSON has no other character this low
      i++;
      continue;
    }
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const next = skipSpace(text, end + 1);
      if (text.charCodeAt(next) === 0x3a /* : */) {
        const name = nameAt(text, i, end);
        const set = names[depth]!;
        if (set.has(name)) return { path: pathOf(depth, kinds, keys, indexes), member: name };
        set.add(name);
        keys[depth] = name;
        i = next + 1;
      } else i = next;
      continue;
    }
    if (c === 0x7b /* { */) {
      depth++;
      kinds[depth] = OBJECT;
      names[depth] = new Set();
    } else if (c === 0x5b /* [ */) {
      depth++;
      kinds[depth] = ARRAY;
      indexes[depth] = 0;
    } else if (c === 0x2c /* , */) {
      if (kinds[depth] === ARRAY) indexes[depth]!++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    i++;
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `signed.targets["a.txt"].hashes`: the members and indexes leading to the object at `depth`. */
function pathOf(depth: number, kinds: number[], keys: string[], indexes: number[]): string {
  let path = '';
  for (let d = 0; d < depth; d++) {
    if (kinds[d] === ARRAY) path += `[${indexes[d]!}]`;
    else {
      const key = keys[d]!;
      path += key.length <= 80 && IDENTIFIER.test(key) ? (path ? `.${key}` : key) : `[${displayName(key)}]`;
    }
  }
  // (a document nested a thousand levels deep has a path of thousands of characters: its end says where)
  return path.length <= 300 ? path : `…${path.slice(-300)}`;
}

/** A member name as shown in messages: JSON-quoted (control characters escaped), long names cut. */
export function displayName(name: string): string {
  return JSON.stringify(cut(name, 80));
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

// ---------------------------------------------------------------- member names as data

/** The value of `object`'s own member `name` (never one inherited from Object.prototype). */
export function own<T = unknown>(object: object | undefined | null, name: string): T | undefined {
  if (object === undefined || object === null || !Object.hasOwn(object, name)) return undefined;
  return (object as Record<string, T>)[name];
}

/** Sets `object`'s own member `name`, also when it is `__proto__` (where `object[name] = value` would change the prototype instead). */
export function setOwn<T>(object: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
  else object[name] = value;
}

/**
 * Names that JavaScript objects have without being given them (Object.prototype's
 * members). JavaScript TUF clients (tuf-js) keep roles and signatures in plain
 * objects and cannot tell a role, key id or signature of one of these names
 * from the built-in member.
 */
export const OBJECT_PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

export function isObjectPrototypeName(name: string): boolean {
  return OBJECT_PROTOTYPE_NAMES.has(name);
}

/** What is wrong with a document parseJSON refused, for `${file}: ${jsonProblem(error)}`. */
export function jsonProblem(error: unknown): string {
  if (error instanceof JSONParseError && error.kind === 'duplicate') return error.message;
  return `not valid JSON (${error instanceof Error ? error.message : String(error)})`;
}

/** The largest integer every JSON parser and client reads exactly (2^53 - 1): the bound of versions, lengths and thresholds. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

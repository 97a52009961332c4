/**
 * Byte forms of metadata: the human-diffable file form kept in git and the
 * canonical form that signatures cover.
 *
 * File form: 2-space indent, keys sorted at every level, trailing newline.
 * It is stable: the same document always serialises to the same bytes.
 * Canonical form: OLPC canonical JSON, as every TUF implementation signs.
 */
import { setOwn } from './strict-json.js';

export type JSONValue = string | number | boolean | null | JSONValue[] | JSONObject;
export interface JSONObject {
  [key: string]: JSONValue;
}

/**
 * `value` with the keys of every object in sorted order and undefined members
 * left out (what the file form serialises): a copy where something is out of
 * order, the value itself where it is in file order already (parsed metadata
 * is; copying a million target entries only to serialise them costs seconds).
 * JSON.stringify gives the same text for either.
 */
function sortKeys(value: unknown): unknown {
  if (inKeyOrder(value, false)) return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input).sort()) {
      const v = input[key];
      // (setOwn: a member named __proto__ is data, not the copy's prototype)
      if (v !== undefined) setOwn(out, key, sortKeys(v));
    }
    return out;
  }
  return value;
}

/**
 * Whether JSON.stringify renders `value` with the structure the file form and
 * canonical JSON give it: only JSON values; plain objects whose own keys come
 * in sorted order, with no undefined members; plain arrays without holes; and,
 * with `integersOnly` (canonical JSON), no numbers but integers. For the file
 * form that is rendering it as sortKeys' copy of it would be rendered.
 */
function inKeyOrder(value: unknown, integersOnly: boolean): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return !integersOnly || Number.isInteger(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!(i in value) || !inKeyOrder(value[i], integersOnly)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const object = value as Record<string, unknown>;
  let previous: string | undefined;
  // for-in: no array of keys per object; an inherited enumerable key is refused (JSON.stringify skips it)
  for (const key in object) {
    if (!Object.hasOwn(object, key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    // (an undefined member is refused: typeof gives 'undefined')
    if (!inKeyOrder(object[key], integersOnly)) return false;
  }
  return true;
}

/** The file form written to git: sorted keys, 2-space indent, trailing newline. */
export function toFileBytes(document: unknown): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(document), null, 2) + '\n', 'utf8');
}

/** The canonical bytes a signature covers. */
export function canonicalBytes(signed: unknown): Buffer {
  return Buffer.from(canonicalText(signed), 'utf8');
}

/**
 * Whether two canonical texts encode to the same bytes: `canonicalBytes(a).equals(canonicalBytes(b))`
 * without encoding both in the common case of equal text.
 */
export function sameCanonicalText(a: string, b: string): boolean {
  if (a === b) return true;
  // Different texts encode to different bytes unless lone surrogates (all encoded as U+FFFD) are involved.
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return false;
  return Buffer.from(a, 'utf8').equals(Buffer.from(b, 'utf8'));
}

const SURROGATE = /[\ud800-\udfff]/;

/** `canonicalBytes(a).equals(canonicalBytes(b))`, cheaper. */
export function sameCanonical(a: unknown, b: unknown): boolean {
  const simple = simpleEqual(a, b);
  return simple !== undefined ? simple : sameCanonicalText(canonicalize(a), canonicalize(b));
}

/**
 * Equality of two values made of plain objects, arrays without holes,
 * integers, booleans, null and strings without surrogates: exactly when their
 * canonical forms are equal, decided without building them (snapshot compares
 * 16,384 meta entries per edit). undefined when anything else is met.
 */
function simpleEqual(a: unknown, b: unknown): boolean | undefined {
  if (typeof a === 'string' && typeof b === 'string') {
    if (a === b) return true;
    return SURROGATE.test(a) || SURROGATE.test(b) ? undefined : false;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    return Number.isInteger(a) && Number.isInteger(b) ? a === b : undefined;
  }
  if (a === null || typeof a === 'boolean') {
    if (b === null || typeof b === 'boolean' || typeof b === 'string' || (typeof b === 'number' && Number.isInteger(b))) return a === b;
    return undefined;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || b === null) return undefined;
  if (Array.isArray(a) !== Array.isArray(b)) {
    return plainJSON(a) && plainJSON(b) ? false : undefined;
  }
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (Object.getPrototypeOf(a) !== Array.prototype || Object.getPrototypeOf(other) !== Array.prototype) return undefined;
    let result = a.length === other.length;
    for (let i = 0; i < Math.max(a.length, other.length); i++) {
      if (!(i in a) || !(i in other)) return undefined;
      const equal = simpleEqual(a[i], other[i]);
      if (equal === undefined) return undefined;
      if (!equal) result = false;
    }
    return result;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  if (!plainObject(x) || !plainObject(y)) return undefined;
  const keys = Object.keys(x);
  const otherKeys = Object.keys(y);
  let result = keys.length === otherKeys.length;
  for (const key of keys) {
    if (SURROGATE.test(key)) return undefined;
    if (!isOwnEnumerable(y, key)) {
      if (!plainJSON(x[key])) return undefined;
      result = false;
      continue;
    }
    const equal = simpleEqual(x[key], y[key]);
    if (equal === undefined) return undefined;
    if (!equal) result = false;
  }
  for (const key of otherKeys) {
    if (SURROGATE.test(key) || (!isOwnEnumerable(x, key) && !plainJSON(y[key]))) return undefined;
  }
  return result;
}

/** Whether canonicalize (which takes Object.keys) would include `key` of `object`. */
function isOwnEnumerable(object: object, key: string): boolean {
  return Object.prototype.propertyIsEnumerable.call(object, key);
}

function plainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Whether canonicalize encodes `value` without throwing and simpleEqual understands it. */
function plainJSON(value: unknown): boolean {
  if (typeof value === 'string') return !SURROGATE.test(value);
  if (typeof value === 'number') return Number.isInteger(value);
  if (typeof value === 'boolean' || value === null) return true;
  if (typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!(i in value) || !plainJSON(value[i])) return false;
    return true;
  }
  if (!plainObject(value)) return false;
  for (const key of Object.keys(value)) if (SURROGATE.test(key) || !plainJSON((value as Record<string, unknown>)[key])) return false;
  return true;
}

const NEEDS_ESCAPE = /[\\"]/;

function canonicalString(value: string): string {
  return NEEDS_ESCAPE.test(value) ? `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${value}"`;
}

/**
 * OLPC canonical JSON, exactly as @tufjs/canonical-json's `canonicalize`
 * produces it (same output, same errors for values it cannot encode), in
 * about a third of the time: strings are escaped only when they need it and
 * the text is built by concatenation rather than arrays joined per level.
 */
export function canonicalize(value: unknown): string {
  if (typeof value === 'string') return canonicalString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Number.isInteger(value)) return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    let first = true;
    // forEach (not a for loop) skips holes, as the reference implementation does
    value.forEach((element) => {
      if (!first) out += ',';
      first = false;
      out += canonicalize(element);
    });
    return `${out}]`;
  }
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out += ',';
      const key = keys[i]!;
      out += canonicalString(key);
      out += ':';
      out += canonicalize(object[key]);
    }
    return `${out}}`;
  }
  throw new TypeError('cannot encode ' + (value as { toString(): string }).toString());
}

export function isJSONObject(value: unknown): value is JSONObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------- canonical form, the fast way

/*
 * The canonical text is taken from JSON.stringify where it provably gives the
 * same text: parsed metadata and the targets tables tufctl builds have their
 * keys in sorted order already, and JSON.stringify is native and several
 * times faster than building canonical JSON in JavaScript (16,384 hashed bins
 * are 200 MB of it).
 *
 * OLPC canonical JSON (`canonicalize` above) and JSON.stringify agree on a
 * value when every object's own keys come in sorted order (what canonicalize
 * sorts them into), every number is an integer, and no string needs an escape
 * other than `\"` and `\\` (JSON.stringify also escapes control characters
 * and lone surrogates, canonical JSON does not). The first two are checked on
 * the value (inKeyOrder), the last on the text (no backslash at all);
 * anything else goes to `canonicalize`, with its exact output and errors.
 */

/** canonicalize(value), via JSON.stringify when that is provably the same text. */
export function canonicalText(value: unknown): string {
  if (inKeyOrder(value, true)) {
    const text = JSON.stringify(value);
    if (!text.includes('\\')) return text;
  }
  return canonicalize(value);
}

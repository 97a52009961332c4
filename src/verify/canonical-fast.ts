/**
 * The canonical bytes a signature covers, taken from JSON.stringify where it
 * provably gives the same text: parsed metadata written by tufctl (and by most
 * TUF tools) has its keys in sorted order already, and JSON.stringify is
 * native and several times faster than building canonical JSON in JavaScript
 * (verifying 16,384 hashed bins encodes 200 MB).
 *
 * OLPC canonical JSON (src/metadata/json.ts `canonicalize`) and JSON.stringify
 * agree on a value when every object's own keys come in sorted order (what
 * canonicalize sorts them into), every number is an integer, and no string
 * needs an escape other than `\"` and `\\` (JSON.stringify also escapes
 * control characters and lone surrogates, canonical JSON does not). The first
 * two are checked on the value, the last on the text (no backslash at all);
 * anything else goes to `canonicalize`, with its exact output and errors.
 */
import { canonicalize } from '../metadata/json.js';

/** Whether JSON.stringify(value) has the structure canonicalize gives it: sorted own keys, integers, plain arrays. */
function inCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isInteger(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!(i in value) || !inCanonicalOrder(value[i])) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const object = value as Record<string, unknown>;
  let previous: string | undefined;
  // for-in: no array of keys per object; an inherited enumerable key is refused
  for (const key in object) {
    if (!Object.hasOwn(object, key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!inCanonicalOrder(object[key])) return false;
  }
  return true;
}

/** canonicalize(value), via JSON.stringify when that is provably the same text. */
export function canonicalText(value: unknown): string {
  if (inCanonicalOrder(value)) {
    const text = JSON.stringify(value);
    if (!text.includes('\\')) return text;
  }
  return canonicalize(value);
}

/** The canonical bytes of `value` (what `canonicalBytes` in src/metadata/json.ts returns). */
export function canonicalBytesFast(value: unknown): Buffer {
  return Buffer.from(canonicalText(value), 'utf8');
}

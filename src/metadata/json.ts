/**
 * Byte forms of metadata: the human-diffable file form kept in git and the
 * canonical form that signatures cover.
 *
 * File form: 2-space indent, keys sorted at every level, trailing newline.
 * It is stable: the same document always serialises to the same bytes.
 * Canonical form: OLPC canonical JSON, as every TUF implementation signs.
 */
export type JSONValue = string | number | boolean | null | JSONValue[] | JSONObject;
export interface JSONObject {
  [key: string]: JSONValue;
}

/**
 * A copy of `value` with the keys of every object in sorted order and
 * undefined members left out (what the file form serialises). Plain objects
 * and arrays that are already in that form are returned as they are instead
 * of copied: parsed metadata is sorted already, and copying a million target
 * entries only to serialise them costs seconds. JSON.stringify gives the same
 * text for either.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined = Object.getPrototypeOf(value) === Array.prototype ? undefined : [];
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      const sorted = sortKeys(element);
      if (out === undefined && (sorted !== element || !reusable(element) || !(i in value))) out = value.slice(0, i);
      if (out !== undefined) out[i] = sorted;
    }
    if (out !== undefined) out.length = value.length;
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    const input = value as Record<string, unknown>;
    const keys = Object.keys(input);
    let sortedKeys = keys;
    for (let i = 1; i < keys.length; i++) {
      if (keys[i - 1]! > keys[i]!) {
        sortedKeys = [...keys].sort();
        break;
      }
    }
    const proto: unknown = Object.getPrototypeOf(input);
    let same = sortedKeys === keys && (proto === Object.prototype || proto === null);
    const values: unknown[] = new Array<unknown>(sortedKeys.length);
    for (let i = 0; i < sortedKeys.length; i++) {
      const v = input[sortedKeys[i]!];
      const sorted = v === undefined ? undefined : sortKeys(v);
      if (same && (sorted !== v || !reusable(v))) same = false;
      values[i] = sorted;
    }
    if (same) return input;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < sortedKeys.length; i++) if (values[i] !== undefined) out[sortedKeys[i]!] = values[i];
    return out;
  }
  return value;
}

/** Values JSON.stringify renders the same whether or not they sit in a copy. */
function reusable(value: unknown): boolean {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'object';
}

/** The file form written to git: sorted keys, 2-space indent, trailing newline. */
export function toFileBytes(document: unknown): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(document), null, 2) + '\n', 'utf8');
}

/** The canonical bytes a signature covers. */
export function canonicalBytes(signed: unknown): Buffer {
  return Buffer.from(canonicalize(signed), 'utf8');
}

/**
 * Whether two canonical texts encode to the same bytes: `canonicalBytes(a).equals(canonicalBytes(b))`
 * without encoding both in the common case of equal text.
 */
export function sameCanonicalText(a: string, b: string): boolean {
  return a === b || Buffer.from(a, 'utf8').equals(Buffer.from(b, 'utf8'));
}

/** `canonicalBytes(a).equals(canonicalBytes(b))`, cheaper. */
export function sameCanonical(a: unknown, b: unknown): boolean {
  return sameCanonicalText(canonicalize(a), canonicalize(b));
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

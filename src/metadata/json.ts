/**
 * Byte forms of metadata: the human-diffable file form kept in git and the
 * canonical form that signatures cover.
 *
 * File form: 2-space indent, keys sorted at every level, trailing newline.
 * It is stable: the same document always serialises to the same bytes.
 * Canonical form: OLPC canonical JSON, as every TUF implementation signs.
 */
import { canonicalize } from '@tufjs/canonical-json';

export type JSONValue = string | number | boolean | null | JSONValue[] | JSONObject;
export interface JSONObject {
  [key: string]: JSONValue;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input).sort()) {
      const v = input[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The file form written to git: sorted keys, 2-space indent, trailing newline. */
export function toFileBytes(document: unknown): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(document), null, 2) + '\n', 'utf8');
}

/** The canonical bytes a signature covers. */
export function canonicalBytes(signed: unknown): Buffer {
  return Buffer.from(canonicalize(signed as Parameters<typeof canonicalize>[0]));
}

export function isJSONObject(value: unknown): value is JSONObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

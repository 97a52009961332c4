/**
 * Key ids: the two rules repositories compute them by, and which rule a
 * repository follows.
 *
 * TUF clients never recompute a key id: they look keys up by the id written in
 * the metadata. Repositories differ in how they computed it:
 * - `without-custom-fields`: sha256 of the canonical key object without its
 *   `x-` fields (tufctl's default; adding an owner never changes the id);
 * - `with-custom-fields`: sha256 of the canonical key object as stored,
 *   `x-tuf-on-ci-*` fields included (tuf-on-ci). Keys without custom fields
 *   have the same id under both rules.
 * New keys get ids by the repository's rule: `keyIdRule` in tufctl.json, or
 * else the rule its existing keys follow.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes, isJSONObject, type JSONObject } from '../metadata/json.js';
import { ATTESTATION_FIELD } from './piv-attestation.js';

export type KeyIdRule = 'without-custom-fields' | 'with-custom-fields';
export const KEY_ID_RULES: readonly KeyIdRule[] = ['without-custom-fields', 'with-custom-fields'];
export const DEFAULT_KEY_ID_RULE: KeyIdRule = 'without-custom-fields';

function hasCustomFields(key: JSONObject): boolean {
  return Object.keys(key).some((name) => name.startsWith('x-'));
}

/** The key id of `key` under `rule`. */
export function keyIdByRule(key: JSONObject, rule: KeyIdRule): string {
  let object = key;
  if (rule === 'without-custom-fields' && hasCustomFields(key)) {
    object = {};
    for (const [name, value] of Object.entries(key)) if (!name.startsWith('x-')) object[name] = value;
  }
  return createHash('sha256').update(canonicalBytes(object)).digest('hex');
}

/**
 * The rules under which `keyId` is the recomputed id of `key` (empty:
 * neither). A key whose attestation tufctl recorded after its id was made
 * (`key add --attestation` on a key the table already holds keeps its id)
 * also matches `with-custom-fields` by its fields without that record.
 */
export function rulesMatching(keyId: string, key: JSONObject): KeyIdRule[] {
  return KEY_ID_RULES.filter((rule) => {
    if (keyIdByRule(key, rule) === keyId) return true;
    if (rule !== 'with-custom-fields' || !(ATTESTATION_FIELD in key)) return false;
    const { [ATTESTATION_FIELD]: _recordedLater, ...before } = key;
    return keyIdByRule(before, rule) === keyId;
  });
}

/**
 * The rule most keys with custom fields in these key tables follow, or
 * undefined when no key tells the rules apart.
 */
export function detectKeyIdRule(tables: readonly unknown[]): KeyIdRule | undefined {
  const votes: Record<KeyIdRule, number> = { 'without-custom-fields': 0, 'with-custom-fields': 0 };
  for (const table of tables) {
    if (!isJSONObject(table)) continue;
    for (const [keyId, key] of Object.entries(table)) {
      if (!isJSONObject(key) || !hasCustomFields(key)) continue;
      for (const rule of rulesMatching(keyId, key)) votes[rule]++;
    }
  }
  if (votes['with-custom-fields'] > votes['without-custom-fields']) return 'with-custom-fields';
  if (votes['without-custom-fields'] > votes['with-custom-fields']) return 'without-custom-fields';
  return undefined;
}

/**
 * Rules for a signer keys list (keys.yaml) beyond its JSON Schema: each key
 * is a PEM public key ("PUBLIC KEY", SubjectPublicKeyInfo, as the reference
 * client reads it), its id is the sha256 of its DER SubjectPublicKeyInfo,
 * ids are unique, validity windows end after they start, and a revoked key
 * says when it stopped being valid.
 *
 * A private key pasted where the public key belongs is an error whose
 * message never repeats the key.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { TrustProblem } from './problems.js';
import { asArray, isObject, Reporter, str, timeOf } from './check-helpers.js';
import type { SourceDocument } from './yaml-source.js';

/** True when the text holds private key material (any PEM "… PRIVATE KEY" block). */
export function looksLikePrivateKey(text: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/.test(text) || /PuTTY-User-Key-File/.test(text);
}

/** The id of a public key: sha256 hex of its DER SubjectPublicKeyInfo (what DSSE signatures carry as keyid). */
export function signerKeyId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** Parses a PEM public key as the reference client does (first PEM block, type "PUBLIC KEY"); a reason when it cannot. */
export function parseSignerPublicKey(pem: string): { key: KeyObject } | { problem: string } {
  if (looksLikePrivateKey(pem)) {
    return {
      problem:
        'private key where a public key belongs: remove it, and treat the key pair as compromised (it is in the repository history): ' +
        'generate a new one and list only its public key',
    };
  }
  const block = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem);
  if (!block) return { problem: 'not a PEM public key (no -----BEGIN PUBLIC KEY----- block)' };
  if (block[1] !== 'PUBLIC KEY') {
    return { problem: `a PEM "${block[1]}" block; the reference client reads only "PUBLIC KEY" blocks (SubjectPublicKeyInfo)` };
  }
  try {
    return { key: createPublicKey({ key: pem, format: 'pem' }) };
  } catch (e) {
    return { problem: `not a valid PEM public key (${(e as Error).message.split('\n')[0]})` };
  }
}

/** Problems of a parsed keys.yaml beyond its schema. */
export function signerKeyProblems(doc: SourceDocument): TrustProblem[] {
  if (!isObject(doc.value)) return [];
  const report = new Reporter(doc);
  const ids = new Map<string, number>();
  asArray(doc.value.keys).forEach((entry, i) => {
    if (!isObject(entry)) return;
    const id = str(entry.id);
    if (id !== undefined) {
      const first = ids.get(id);
      if (first !== undefined) report.error(['keys', i, 'id'], `duplicate key id ${id} (also keys[${first}])`);
      else ids.set(id, i);
    }
    const pem = str(entry.key);
    if (pem !== undefined && pem !== '') {
      const parsed = parseSignerPublicKey(pem);
      if ('problem' in parsed) report.error(['keys', i, 'key'], parsed.problem);
      else {
        const expected = signerKeyId(parsed.key);
        if (id !== undefined && id !== expected) {
          report.error(
            ['keys', i, 'id'],
            `id does not match the key: the key's id is ${expected} (sha256 of its DER SubjectPublicKeyInfo)`,
          );
        }
        if (parsed.key.asymmetricKeyType !== 'ec') {
          report.warning(
            ['keys', i, 'key'],
            `${parsed.key.asymmetricKeyType ?? 'unknown'} key: the reference client verifies only ECDSA signatures, so this key's signatures will not verify there`,
          );
        }
      }
    }
    const from = timeOf(entry.from);
    const to = timeOf(entry.to);
    if (from !== undefined && to !== undefined && to <= from) {
      report.error(['keys', i, 'to'], `"to" (${String(entry.to)}) must be later than "from" (${String(entry.from)})`);
    }
    if (entry.status === 'revoked' && (entry.to === null || entry.to === undefined)) {
      report.error(['keys', i, 'to'], 'a revoked key needs "to": the time from which its signatures no longer count');
    }
    if (entry.status === 'retired' && (entry.to === null || entry.to === undefined)) {
      report.warning(['keys', i, 'to'], 'a retired key should say in "to" when it stopped being used');
    }
  });
  return report.problems;
}

/**
 * The revocation list target (`revocations.json`): digests of attestation
 * envelopes (as stored in the registry: the OCI descriptor digest of the DSSE
 * envelope) and of images that verifiers must reject, each with a reason and
 * the time it was revoked. The default Rego policy consults it through the
 * generated policy data file.
 */
import { TufctlError } from '../errors.js';
import { isJSONObject, toFileBytes } from '../metadata/json.js';
import { formatExpiry } from '../metadata/expiry.js';
import { jsonProblem, parseJSON } from '../metadata/strict-json.js';
import { REVOCATIONS_FILE, type RevocationListFile, type RevokedDigest } from './model.js';

export type RevocationKind = 'envelopes' | 'images';
type RevocationList = RevocationListFile;
type RevocationEntry = RevokedDigest;

export function emptyRevocationList(): RevocationList {
  return { version: 'v1', kind: 'revocation-list', envelopes: [], images: [] };
}

/** `sha256:<hex>` from `sha256:<hex>` or a bare 64-hex digest; anything else is refused. */
export function normalizeDigest(value: string): string {
  const trimmed = value.trim().toLowerCase();
  const hex = trimmed.startsWith('sha256:') ? trimmed.slice('sha256:'.length) : trimmed;
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new TufctlError('REVOCATION_INVALID', `"${value}" is not a sha256 digest (expected sha256:<64 hex digits>)`);
  }
  return `sha256:${hex}`;
}

/**
 * Parses revocations.json leniently enough to edit it; full validation (JSON
 * Schema, ordering, uniqueness) is the trust validator's job and runs on the
 * result of every edit.
 */
export function parseRevocationList(bytes: Buffer | undefined, where = `targets/${REVOCATIONS_FILE}`): RevocationList {
  if (bytes === undefined) return emptyRevocationList();
  let value: unknown;
  try {
    value = parseJSON(bytes);
  } catch (error) {
    throw new TufctlError('REVOCATION_INVALID', `${where}: ${jsonProblem(error)}`);
  }
  if (!isJSONObject(value) || !Array.isArray(value.envelopes) || !Array.isArray(value.images)) {
    throw new TufctlError(
      'REVOCATION_INVALID',
      `${where}: expected {"version": "v1", "kind": "revocation-list", "envelopes": [], "images": []}`,
    );
  }
  return value as unknown as RevocationList;
}

export interface RevocationResult {
  added: boolean;
  entry: RevocationEntry;
}

/** Adds a digest (idempotent: an already revoked digest keeps its first reason and time). */
export function addRevocation(list: RevocationList, kind: RevocationKind, digest: string, reason: string, now: Date): RevocationResult {
  if (reason.trim() === '') throw new TufctlError('REVOCATION_INVALID', 'a revocation needs a reason (--reason TEXT)');
  const normalized = normalizeDigest(digest);
  const existing = list[kind].find((e) => e.digest === normalized);
  if (existing) return { added: false, entry: existing };
  const entry: RevocationEntry = { digest: normalized, reason: reason.trim(), revoked_at: formatExpiry(now) };
  list[kind] = [...list[kind], entry].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { added: true, entry };
}

export function serializeRevocationList(list: RevocationList): Buffer {
  return toFileBytes(list);
}

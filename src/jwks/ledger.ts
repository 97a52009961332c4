/**
 * The key ledger of one issuer and the rules that move keys through it, as
 * pure functions of the previous ledger, the live keys and the time.
 *
 * A key is `active` while the issuer serves it, `archived` once it disappears
 * (still published, so tokens it signed keep verifying, until the retention
 * ends) and `revoked` when a person says so (never published again, never
 * forgotten, so that a reappearance is noticed). A kid is bound to its key
 * material for good: the same kid with another thumbprint is a conflict that
 * needs human review.
 */
import { JwksError } from '../errors.js';
import { toFileBytes, sameCanonical } from '../metadata/json.js';
import { compareKids, type CheckedKey, type PublicJwk } from './jwk-checks.js';
import { own, setOwn } from '../metadata/strict-json.js';

export type KeyStatus = 'active' | 'archived' | 'revoked';

export interface LedgerEntry {
  /** RFC 7638 SHA-256 thumbprint, base64url. */
  thumbprint: string;
  status: KeyStatus;
  first_seen: string;
  last_seen: string;
  archived_at?: string;
  revoked_at?: string;
  reason?: string;
  jwk: PublicJwk;
}

export interface Ledger {
  issuer: string;
  jwks_uri: string;
  updated: string;
  keys: Record<string, LedgerEntry>;
}

/** What a sync or revocation did to one issuer's keys (kids, sorted). */
export interface LedgerChanges {
  added: string[];
  archived: string[];
  reactivated: string[];
  dropped: string[];
  revoked: string[];
  notes: string[];
}

export const ARCHIVE_REASON = "no longer in the issuer's JWKS";
const DAY_MS = 24 * 60 * 60 * 1000;

/** Second-precision UTC: `YYYY-MM-DDTHH:MM:SSZ`. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function noChanges(): LedgerChanges {
  return { added: [], archived: [], reactivated: [], dropped: [], revoked: [], notes: [] };
}

/** The live state of an issuer: its configured identifier, where its JWKS was found, and its validated keys. */
export interface LiveKeys {
  issuer: string;
  jwksUri: string;
  keys: CheckedKey[];
}

export interface LedgerUpdate {
  /** The new ledger; `previous` itself when nothing changed. */
  ledger: Ledger;
  changes: LedgerChanges;
  changed: boolean;
}

/**
 * Brings `previous` (undefined for a new issuer) up to date with the live
 * keys at `now`. Archived keys older than `retentionDays` (0: never) are
 * dropped. Throws JWKS_KID_CONFLICT when a kid is served with key material
 * other than the ledger's, whatever its status.
 */
export function syncLedger(previous: Ledger | undefined, live: LiveKeys, options: { now: Date; retentionDays: number }): LedgerUpdate {
  if (previous && previous.issuer !== live.issuer) {
    throw new JwksError('JWKS_ISSUER_MISMATCH', `ledger of issuer ${previous.issuer} cannot be synced with keys of ${live.issuer}`);
  }
  const now = formatTime(options.now);
  const keys: Record<string, LedgerEntry> = structuredClone(previous?.keys ?? {});
  // Key ids are the issuer's choice: looked up and stored as own members (a kid may be "constructor").
  for (const key of live.keys) {
    const entry = own<LedgerEntry>(keys, key.kid);
    if (entry && entry.thumbprint !== key.thumbprint) {
      throw new JwksError(
        'JWKS_KID_CONFLICT',
        `issuer ${live.issuer}: kid ${JSON.stringify(key.kid)} is now served with thumbprint ${key.thumbprint}, ` +
          `but the ledger has it (${entry.status}) with thumbprint ${entry.thumbprint}. A kid must never change its key; ` +
          'this needs human review (nothing was written for this issuer)',
      );
    }
  }
  const changes = noChanges();
  let changed = previous === undefined || previous.jwks_uri !== live.jwksUri;
  const liveKids = new Set(live.keys.map((key) => key.kid));
  for (const key of live.keys) {
    const entry = own<LedgerEntry>(keys, key.kid);
    if (!entry) {
      setOwn(keys, key.kid, { thumbprint: key.thumbprint, status: 'active', first_seen: now, last_seen: now, jwk: key.jwk });
      changes.added.push(key.kid);
    } else if (entry.status === 'revoked') {
      changes.notes.push(`key ${JSON.stringify(key.kid)} is revoked but the issuer still serves it; it stays revoked and unpublished`);
      continue;
    } else if (entry.status === 'archived') {
      setOwn(keys, key.kid, { thumbprint: entry.thumbprint, status: 'active', first_seen: entry.first_seen, last_seen: now, jwk: key.jwk });
      changes.reactivated.push(key.kid);
    } else if (!sameCanonical(entry.jwk, key.jwk)) {
      // Same key material, other public members (alg, use, x5c, ...): keep what the issuer now says.
      entry.jwk = key.jwk;
      changes.notes.push(`key ${JSON.stringify(key.kid)}: public members other than the key itself changed`);
    } else {
      continue;
    }
    changed = true;
  }
  // Measured from `now` as recorded (whole seconds), like the archived_at it is compared with.
  const cutoff = options.retentionDays > 0 ? Date.parse(now) - options.retentionDays * DAY_MS : undefined;
  for (const [kid, entry] of Object.entries(keys)) {
    if (entry.status === 'active' && !liveKids.has(kid)) {
      Object.assign(entry, { status: 'archived', archived_at: now, reason: ARCHIVE_REASON });
      changes.archived.push(kid);
      changed = true;
    } else if (entry.status === 'archived' && cutoff !== undefined && Date.parse(entry.archived_at ?? now) < cutoff) {
      delete keys[kid];
      changes.dropped.push(kid);
      changed = true;
    }
  }
  if (!changed) return { ledger: previous!, changes, changed };
  for (const kid of liveKids) keys[kid]!.last_seen = now;
  for (const list of [changes.added, changes.archived, changes.reactivated, changes.dropped]) list.sort(compareKids);
  return { ledger: { issuer: live.issuer, jwks_uri: live.jwksUri, updated: now, keys }, changes, changed };
}

/** Marks `kid` revoked at `now`: it leaves jwks.json but stays in the ledger for good. */
export function revokeKey(ledger: Ledger, kid: string, reason: string, now: Date): LedgerUpdate {
  const entry = own<LedgerEntry>(ledger.keys, kid);
  if (!entry) {
    const known = Object.keys(ledger.keys).sort(compareKids);
    throw new JwksError(
      'KEY_UNKNOWN',
      `issuer ${ledger.issuer} has no key ${JSON.stringify(kid)} in its ledger (known: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  if (entry.status === 'revoked') {
    throw new JwksError('USAGE', `key ${JSON.stringify(kid)} of issuer ${ledger.issuer} was already revoked at ${entry.revoked_at}`);
  }
  if (reason.trim() === '') throw new JwksError('USAGE', 'a revocation needs a reason');
  const time = formatTime(now);
  const revoked: LedgerEntry = {
    thumbprint: entry.thumbprint,
    status: 'revoked',
    first_seen: entry.first_seen,
    last_seen: entry.last_seen,
    revoked_at: time,
    reason,
    jwk: entry.jwk,
  };
  return {
    ledger: { ...ledger, updated: time, keys: { ...ledger.keys, [kid]: revoked } },
    changes: { ...noChanges(), revoked: [kid] },
    changed: true,
  };
}

/** The keys a verifier should accept: active and archived, sorted by kid. */
export function publishedJwks(ledger: Ledger): { keys: PublicJwk[] } {
  const kids = Object.keys(ledger.keys)
    .filter((kid) => ledger.keys[kid]!.status !== 'revoked')
    .sort(compareKids);
  return { keys: kids.map((kid) => ledger.keys[kid]!.jwk) };
}

/** The bytes of `jwks.json` and `ledger.json` for a ledger (sorted keys, 2-space indent, trailing newline). */
export function issuerFileBytes(ledger: Ledger): { jwks: Buffer; ledger: Buffer } {
  return { jwks: toFileBytes(publishedJwks(ledger)), ledger: toFileBytes(ledger) };
}

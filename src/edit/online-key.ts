/**
 * Replacing the online key (snapshot and timestamp) and recovering from a
 * fast-forward attack.
 *
 * `rotateOnlineKey` makes root trust one new key for snapshot and timestamp
 * (threshold 1) instead of the old online key(s): a new root version, signed
 * by root's keys (root N's threshold and root N+1's). The old snapshot and
 * timestamp signatures are worthless under the new root, so both roles need
 * new versions signed by the new key: `signRotatedRoles` does it when that
 * key is at hand (`doSnapshot`/`doTimestamp` forced).
 *
 * `recoverFastForward` (TUF specification 5.3.11; python-tuf's "fast-forward
 * attack recovery") does the same rotation and also resets snapshot and
 * timestamp to version 1. A client that updates to the new root can no longer
 * verify its cached timestamp and snapshot (their keys were rotated), discards
 * them, and accepts version 1. The editor allows the lower versions only in
 * this case (see Repository.finalize); so does publishing (src/oci/publish.ts).
 */
import { KeyError, UsageError } from '../errors.js';
import type { Signer } from '../keys/signer.js';
import { ONLINE_URI_FIELD, type TufKeyJSON } from '../keys/tuf-key.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import type { Repository } from '../metadata/repository.js';
import { doSnapshot, doTimestamp, type OnlineRoleResult } from '../metadata/snapshot-timestamp.js';
import { resignNeed, type ResignNeed } from './key-revocation.js';
import { signingResult, type RoleSigningResult } from './signing.js';
import { existingIdOf, keyRecord, repositoryKeyIdRule } from './role-trust.js';
import { keyIdByRule } from '../keys/key-ids.js';

const ONLINE = ['snapshot', 'timestamp'] as const;

export interface OnlineKeyOptions {
  /** x-tuf-on-ci-online-uri of the new key (where its signer lives: awskms:…, gcpkms:…). */
  onlineUri?: string;
}

export interface OnlineKeyRotation {
  /** The new online key. */
  keyId: string;
  /** The online key(s) snapshot and timestamp trusted before. */
  previous: string[];
  /** Previous keys dropped from root's key table (no other role used them). */
  removed: string[];
  onlineUri?: string;
  /** The online URI the previous key had (a new key needs its own). */
  previousOnlineUri?: string;
  rootVersion: number;
  /** Everything that must now be signed, by whom. */
  resign: ResignNeed[];
}

export interface FastForwardRecovery extends OnlineKeyRotation {
  /** Versions of snapshot and timestamp before and after the reset. */
  reset: { snapshot: { from: number; to: number }; timestamp: { from: number; to: number } };
}

function keyIdsOf(root: JSONObject, role: string): string[] {
  const entry = (root.roles as JSONObject)[role];
  return isJSONObject(entry) && Array.isArray(entry.keyids) ? (entry.keyids as string[]) : [];
}

/** Edits root only; see the file comment. Nothing is changed when it throws. */
function rotateInRoot(repo: Repository, key: TufKeyJSON, options: OnlineKeyOptions): Omit<OnlineKeyRotation, 'rootVersion' | 'resign'> {
  const root = repo.root();
  if (options.onlineUri !== undefined && options.onlineUri.trim() === '') throw new UsageError('--online-uri must not be empty');
  const keyId =
    existingIdOf(root.keys as JSONObject, key) ??
    keyIdByRule(keyRecord(key, options.onlineUri ? { onlineUri: options.onlineUri } : {}), repositoryKeyIdRule(repo));
  const previous = [...new Set(ONLINE.flatMap((role) => keyIdsOf(root, role)))];
  if (previous.includes(keyId)) {
    throw new KeyError(
      'KEY_INVALID',
      `key ${keyId.slice(0, 12)} is already an online key; a rotation needs a new key (tufctl key generate)`,
    );
  }
  const elsewhere = Object.keys(root.roles as JSONObject).filter(
    (role) => !(ONLINE as readonly string[]).includes(role) && keyIdsOf(root, role).includes(keyId),
  );
  if (elsewhere.length > 0) {
    throw new KeyError(
      'KEY_INVALID',
      `key ${keyId.slice(0, 12)} is trusted for ${elsewhere.join(', ')}; the online key must be a key of its own`,
    );
  }
  const keys = root.keys as JSONObject;
  const oldUris = previous
    .map((id) => (isJSONObject(keys[id]) ? keys[id][ONLINE_URI_FIELD] : undefined))
    .filter((u) => typeof u === 'string');
  const removed: string[] = [];
  repo.edit(
    'root',
    `rotate online key ${previous.map((id) => id.slice(0, 12)).join(', ')} → ${keyId.slice(0, 12)} (snapshot, timestamp)`,
    (signed) => {
      const table = signed.keys as JSONObject;
      const record: JSONObject = { ...key };
      delete record[ONLINE_URI_FIELD];
      if (options.onlineUri) record[ONLINE_URI_FIELD] = options.onlineUri;
      table[keyId] = record;
      for (const role of ONLINE) {
        const entry = (signed.roles as JSONObject)[role] as JSONObject;
        entry.keyids = [keyId];
        entry.threshold = 1;
      }
      for (const id of previous) {
        const used = Object.values(signed.roles as JSONObject).some(
          (entry) => isJSONObject(entry) && (entry.keyids as string[]).includes(id),
        );
        if (!used && table[id] !== undefined) {
          delete table[id];
          removed.push(id);
        }
      }
    },
  );
  return {
    keyId,
    previous,
    removed,
    ...(options.onlineUri ? { onlineUri: options.onlineUri } : {}),
    ...(oldUris.length > 0 ? { previousOnlineUri: oldUris[0] as string } : {}),
  };
}

function needs(repo: Repository): ResignNeed[] {
  repo.finalize();
  return [
    resignNeed(repo, 'root', 'root changed: online key rotated'),
    ...ONLINE.map((role) => resignNeed(repo, role, 'a new version signed by the new online key')),
  ];
}

/** Replaces the online key of snapshot and timestamp with `key` in a new root version. */
export function rotateOnlineKey(repo: Repository, key: TufKeyJSON, options: OnlineKeyOptions = {}): OnlineKeyRotation {
  const rotation = rotateInRoot(repo, key, options);
  const resign = needs(repo);
  return { ...rotation, rootVersion: repo.version('root'), resign };
}

/**
 * Fast-forward attack recovery: rotates the online key (as rotateOnlineKey)
 * and resets snapshot and timestamp to version 1 (timestamp pointing at
 * snapshot v1 until it is signed). Where the base ref already has version 1,
 * the version rule makes it 2.
 */
export function recoverFastForward(repo: Repository, key: TufKeyJSON, options: OnlineKeyOptions = {}): FastForwardRecovery {
  const from = { snapshot: repo.version('snapshot'), timestamp: repo.version('timestamp') };
  const rotation = rotateInRoot(repo, key, options);
  repo.edit('snapshot', 'snapshot: version reset to 1 (fast-forward recovery, online key rotated)', (signed) => {
    signed.version = 1;
  });
  repo.finalize();
  // timestamp points at the snapshot version the editor settled on (1, or 2 where the base already has 1).
  const snapshotVersion = repo.version('snapshot');
  repo.edit('timestamp', 'timestamp: version reset to 1 (fast-forward recovery, online key rotated)', (signed) => {
    signed.version = 1;
    signed.meta = { 'snapshot.json': { version: snapshotVersion } };
  });
  const resign = needs(repo);
  return {
    ...rotation,
    rootVersion: repo.version('root'),
    resign,
    reset: {
      snapshot: { from: from.snapshot, to: repo.version('snapshot') },
      timestamp: { from: from.timestamp, to: repo.version('timestamp') },
    },
  };
}

export interface RotatedSigning {
  signing: RoleSigningResult[];
  /** Set when the new online key was given: snapshot and timestamp, new versions signed by it. */
  online?: OnlineRoleResult[];
}

/**
 * After a rotation: signs root with every given key root N or N+1 trusts and,
 * when the new online key is among the signers, makes new snapshot and
 * timestamp versions signed by it. Throws KEY_NOT_TRUSTED when no given key
 * is of use.
 */
export async function signRotatedRoles(repo: Repository, signers: readonly Signer[]): Promise<RotatedSigning> {
  const used = await repo.sign('root', signers, false);
  const result: RotatedSigning = { signing: [signingResult(repo, 'root', used)] };
  const online = repo.trustFor('snapshot').keyIds;
  if (signers.some((s) => online.includes(s.keyId))) {
    result.online = [await doSnapshot(repo, signers, { force: true }), await doTimestamp(repo, signers, { force: true })];
  } else if (used.length === 0) {
    const given = signers.map((s) => `${s.source} (${s.keyId.slice(0, 12)})`).join(', ') || 'none';
    throw new KeyError('KEY_NOT_TRUSTED', `none of the given keys [${given}] is a root key or the new online key`);
  }
  return result;
}

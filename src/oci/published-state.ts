/**
 * What a registry (or layout directory) currently serves, read the way a
 * client would start: the `latest` manifest of the metadata repository, its
 * file names (hence every role's published version), and the timestamp
 * itself. Publish checks its state against it; the refresh job takes the
 * higher of git's and the registry's versions as the floor for every role.
 */
import { TufctlError } from '../errors.js';
import type { Descriptor, OciRepository } from './store.js';
import { FILENAME_ANNOTATION, LATEST_TAG, MANIFEST_MEDIA_TYPE, parseManifest } from './tuf-layout.js';

export interface PublishedRole {
  version: number;
  expires?: string;
  /** The file's bytes (the timestamp always; others once loaded with loadPublishedRole). */
  bytes?: Buffer;
  digest: string;
}

export interface PublishedState {
  /** Digest of the `latest` manifest; undefined when nothing is published. */
  latestDigest?: string;
  /** The `latest` manifest's layers by file name. */
  layers: Map<string, Descriptor>;
  /** Highest published version per top-level role (root, snapshot, targets, timestamp). */
  roles: Map<string, PublishedRole>;
}

const MAX_METADATA_BYTES = 64 * 1024 * 1024;

function parseSigned(bytes: Buffer, name: string, where: string): { version: number; expires?: string } {
  try {
    const signed = (JSON.parse(bytes.toString('utf8')) as { signed?: { version?: unknown; expires?: unknown } }).signed;
    if (signed && typeof signed.version === 'number') {
      return typeof signed.expires === 'string' ? { version: signed.version, expires: signed.expires } : { version: signed.version };
    }
  } catch {
    // reported below
  }
  throw new TufctlError('REGISTRY_ERROR', `${where}: the published ${name} is not TUF metadata`);
}

/**
 * The registry's published state. The timestamp is read (its version and
 * expiry matter to every publish and refresh; `localBytes` can supply bytes
 * the caller already has, by digest); other roles' versions come from the
 * file names, and their contents only on demand (loadPublishedRole).
 */
export async function readPublishedState(
  meta: OciRepository,
  options: { localBytes?: (digest: string) => Buffer | undefined } = {},
): Promise<PublishedState> {
  const latest = await meta.getManifest(LATEST_TAG);
  const state: PublishedState = { layers: new Map(), roles: new Map() };
  if (!latest) return state;
  if (latest.mediaType && latest.mediaType !== MANIFEST_MEDIA_TYPE) {
    throw new TufctlError('PUBLISH_REFUSED', `${meta.name}:${LATEST_TAG} is a ${latest.mediaType}, not TUF metadata; refusing to use it`);
  }
  state.latestDigest = latest.digest;
  for (const layer of parseManifest(latest.bytes).layers) {
    const name = layer.annotations?.[FILENAME_ANNOTATION];
    if (!name) continue;
    state.layers.set(name, layer);
    const match = /^(?:(\d+)\.)?(root|snapshot|targets|timestamp)\.json$/.exec(name);
    if (!match) continue;
    const role = match[2]!;
    let entry: PublishedRole;
    if (role === 'timestamp') {
      // The caller may hold these exact bytes already (a registry in step with the checkout): no download.
      const bytes = options.localBytes?.(layer.digest) ?? (await meta.getBlob(layer.digest, MAX_METADATA_BYTES));
      entry = { ...parseSigned(bytes, name, `${meta.name}:${LATEST_TAG}`), bytes, digest: layer.digest };
    } else {
      entry = { version: Number(match[1]), digest: layer.digest };
    }
    const known = state.roles.get(role);
    if (!known || entry.version > known.version) state.roles.set(role, entry);
  }
  return state;
}

/** Fills in a published role's expiry and bytes by downloading it. */
export async function loadPublishedRole(meta: OciRepository, role: PublishedRole, name: string): Promise<PublishedRole> {
  if (role.bytes) return role;
  const bytes = await meta.getBlob(role.digest, MAX_METADATA_BYTES);
  return { ...parseSigned(bytes, name, `${meta.name}:${LATEST_TAG}`), bytes, digest: role.digest };
}

/**
 * Whether `role`'s keys were rotated away between two roots: the newer root
 * trusts none of the keys the older one trusted for it. After such a
 * rotation (fast-forward recovery, docs/recovery.md) snapshot and timestamp
 * may start again below the versions the old keys signed.
 */
export function keysRotatedAway(olderRoot: Buffer, newerRoot: Buffer, role: string): boolean {
  const keyIds = (bytes: Buffer): string[] => {
    const root = JSON.parse(bytes.toString('utf8')) as { signed?: { roles?: Record<string, { keyids?: unknown }> } };
    const ids = root.signed?.roles?.[role]?.keyids;
    return Array.isArray(ids) ? (ids as string[]) : [];
  };
  const before = keyIds(olderRoot);
  const now = keyIds(newerRoot);
  return before.length > 0 && now.length > 0 && !now.some((id) => before.includes(id));
}

/**
 * What a registry (or layout directory) currently serves, read the way a
 * client would start: the `latest` manifest of the metadata repository, its
 * file names (hence every role's published version), and the timestamp and
 * snapshot themselves. The refresh job takes the higher of git's and the
 * registry's versions as the floor for every role.
 */
import { TufctlError } from '../errors.js';
import type { OciTarget } from './store.js';
import { FILENAME_ANNOTATION, LATEST_TAG, MANIFEST_MEDIA_TYPE, parseManifest } from './tuf-layout.js';

export interface PublishedRole {
  version: number;
  expires?: string;
  /** The file's bytes (timestamp and snapshot only). */
  bytes?: Buffer;
  digest: string;
}

export interface PublishedState {
  /** Digest of the `latest` manifest; undefined when nothing is published. */
  latestDigest?: string;
  /** Highest published version per role (root, snapshot, targets, timestamp). */
  roles: Map<string, PublishedRole>;
}

const MAX_METADATA_BYTES = 64 * 1024 * 1024;

function parseSigned(bytes: Buffer, name: string, location: string): { version: number; expires?: string } {
  try {
    const signed = (JSON.parse(bytes.toString('utf8')) as { signed?: { version?: unknown; expires?: unknown } }).signed;
    if (signed && typeof signed.version === 'number') {
      return typeof signed.expires === 'string' ? { version: signed.version, expires: signed.expires } : { version: signed.version };
    }
  } catch {
    // reported below
  }
  throw new TufctlError('REGISTRY_ERROR', `${location}: the published ${name} is not TUF metadata`);
}

/** Fills in a published role's expiry (and bytes) by downloading it: snapshot, only when a caller needs it. */
export async function loadPublishedRole(
  target: OciTarget,
  role: PublishedRole,
  name: string,
  metadataRepository = 'tuf-metadata',
): Promise<PublishedRole> {
  if (role.bytes) return role;
  const bytes = await target.repository(metadataRepository).getBlob(role.digest, MAX_METADATA_BYTES);
  return { ...parseSigned(bytes, name, target.location), bytes, digest: role.digest };
}

/**
 * The registry's published state. The timestamp is downloaded (its version
 * and expiry matter to every refresh); other roles' versions come from the
 * file names, and their contents only on demand (loadPublishedRole).
 */
export async function readPublishedState(target: OciTarget, metadataRepository = 'tuf-metadata'): Promise<PublishedState> {
  const meta = target.repository(metadataRepository);
  const latest = await meta.getManifest(LATEST_TAG);
  const roles = new Map<string, PublishedRole>();
  if (!latest) return { roles };
  if (latest.mediaType && latest.mediaType !== MANIFEST_MEDIA_TYPE) {
    throw new TufctlError('PUBLISH_REFUSED', `${meta.name}:${LATEST_TAG} is a ${latest.mediaType}, not TUF metadata`);
  }
  for (const layer of parseManifest(latest.bytes).layers) {
    const name = layer.annotations?.[FILENAME_ANNOTATION];
    if (!name) continue;
    const match = /^(?:(\d+)\.)?(root|snapshot|targets|timestamp)\.json$/.exec(name);
    if (!match) continue;
    const role = match[2]!;
    let entry: PublishedRole;
    if (role === 'timestamp') {
      const bytes = await meta.getBlob(layer.digest, MAX_METADATA_BYTES);
      entry = { ...parseSigned(bytes, name, target.location), bytes, digest: layer.digest };
    } else {
      entry = { version: Number(match[1]), digest: layer.digest };
    }
    const known = roles.get(role);
    if (!known || entry.version > known.version) roles.set(role, entry);
  }
  return { latestDigest: latest.digest, roles };
}

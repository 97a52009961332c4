/**
 * The TUF-in-OCI layout registry clients read (docs: oci-layout.md): media
 * types, the empty config, `tuf.io/filename` annotations, and deterministic
 * manifest and index bytes. Same input, byte-identical output.
 */
import { digestOf } from './digest.js';
import type { Descriptor } from './store.js';
import { JSONParseError, parseJSON } from '../metadata/strict-json.js';

export const METADATA_LAYER_MEDIA_TYPE = 'application/vnd.tuf.metadata+json';
export const TARGET_LAYER_MEDIA_TYPE = 'application/vnd.tuf.target';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const FILENAME_ANNOTATION = 'tuf.io/filename';
export const LATEST_TAG = 'latest';

export const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

export { digestOf } from './digest.js';

/** A blob to place in a layer, with the file name clients look it up by. */
export interface LayerFile {
  name: string;
  bytes: Buffer;
  mediaType: string;
}

export interface BuiltManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  layers: Descriptor[];
}

function descriptorJSON(d: Descriptor): Record<string, unknown> {
  // Fixed key order: the bytes (and so the digest) never depend on how a descriptor was built.
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations) out.annotations = Object.fromEntries(Object.entries(d.annotations).sort(([a], [b]) => (a < b ? -1 : 1)));
  return out;
}

export function layerDescriptor(file: { name: string; digest: string; size: number; mediaType: string }): Descriptor {
  return { mediaType: file.mediaType, digest: file.digest, size: file.size, annotations: { [FILENAME_ANNOTATION]: file.name } };
}

/** An image manifest with the empty config and the given layers, sorted by file name. */
export function buildManifest(layers: Descriptor[]): BuiltManifest {
  const sorted = [...layers].sort((a, b) => {
    const x = a.annotations?.[FILENAME_ANNOTATION] ?? '';
    const y = b.annotations?.[FILENAME_ANNOTATION] ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const json = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: descriptorJSON(EMPTY_CONFIG),
    layers: sorted.map(descriptorJSON),
  };
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, digest: digestOf(bytes), mediaType: MANIFEST_MEDIA_TYPE, layers: sorted };
}

/** An image index whose entries are annotated with the full consistent target path, sorted by it. */
export function buildIndex(entries: Descriptor[]): { bytes: Buffer; digest: string; mediaType: string; manifests: Descriptor[] } {
  const sorted = [...entries].sort((a, b) => {
    const x = a.annotations?.[FILENAME_ANNOTATION] ?? '';
    const y = b.annotations?.[FILENAME_ANNOTATION] ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const json = { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: sorted.map(descriptorJSON) };
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, digest: digestOf(bytes), mediaType: INDEX_MEDIA_TYPE, manifests: sorted };
}

/**
 * Parses a stored manifest or index, returning its layers (manifest) or
 * entries (index). Strictly: a member that appears twice (two "layers", two
 * annotations of one name) is refused, as registries and other clients may
 * read the other one. Throws JSONParseError.
 */
export function parseManifest(bytes: Buffer): { mediaType: string; layers: Descriptor[]; manifests: Descriptor[] } {
  const parsed = parseJSON(bytes);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new JSONParseError('syntax', 'not a JSON object');
  const json = parsed as { mediaType?: string; layers?: Descriptor[]; manifests?: Descriptor[] };
  return { mediaType: json.mediaType ?? '', layers: json.layers ?? [], manifests: json.manifests ?? [] };
}

/** The consistent file name of a target: `<dir>/<sha256>.<name>`. */
export function consistentTargetName(path: string, sha256: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? `${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}` : `${sha256}.${path}`;
}

/**
 * A tuf-js `Fetcher` that reads TUF files from the registry layout, mapping
 * each request as registry clients do (oci-layout.md):
 *
 *   N.root.json, timestamp.json, N.snapshot.json, N.targets.json
 *        -> metadata repository, tag `latest`, the layer annotated with the name
 *   N.ROLE.json -> metadata repository, tag ROLE (the 2nd `.`-separated part)
 *   <sha256>.<name> -> targets repository, tag `<sha256>.<name>`
 *   <sub>/…/<sha256>.<name> -> targets repository, tag <sub>, then the index
 *        entry annotated with the full path
 *
 * A file that is not there is a 404 (how a client ends its root-chain walk).
 * Manifests are read once per fetcher; blobs are verified by digest.
 */
import { BaseFetcher } from 'tuf-js';
import { notFound, streamOf } from '../verify/tuf-js-fetch.js';
import type { OciRepository, Descriptor } from './store.js';
import { FILENAME_ANNOTATION, INDEX_MEDIA_TYPE, LATEST_TAG, MANIFEST_MEDIA_TYPE, parseManifest } from './tuf-layout.js';

export const REGISTRY_METADATA_URL = 'tufctl-oci:/metadata';
export const REGISTRY_TARGETS_URL = 'tufctl-oci:/targets';

const TOP_LEVEL = /^(\d+\.(root|snapshot|targets)\.json|timestamp\.json)$/;

export class RegistryFetcher extends BaseFetcher {
  readonly #meta: OciRepository;
  readonly #targets: OciRepository;
  readonly #manifests = new Map<string, Promise<Descriptor[] | undefined>>();

  constructor(meta: OciRepository, targets: OciRepository) {
    super();
    this.#meta = meta;
    this.#targets = targets;
  }

  #entries(repository: OciRepository, tag: string, kind: 'manifest' | 'index'): Promise<Descriptor[] | undefined> {
    const key = `${repository.name}:${tag}`;
    let cached = this.#manifests.get(key);
    if (!cached) {
      cached = repository.getManifest(tag).then((m) => {
        if (!m) return undefined;
        const expected = kind === 'manifest' ? MANIFEST_MEDIA_TYPE : INDEX_MEDIA_TYPE;
        const parsed = parseManifest(m.bytes);
        const mediaType = m.mediaType || parsed.mediaType;
        if (mediaType !== expected) return undefined;
        return kind === 'manifest' ? parsed.layers : parsed.manifests;
      });
      this.#manifests.set(key, cached);
    }
    return cached;
  }

  async #layer(repository: OciRepository, tag: string, name: string): Promise<Buffer | undefined> {
    const layers = await this.#entries(repository, tag, 'manifest');
    const layer = layers?.find((l) => l.annotations?.[FILENAME_ANNOTATION] === name);
    return layer ? repository.getBlob(layer.digest) : undefined;
  }

  async #resolve(url: string): Promise<Buffer | undefined> {
    if (url.startsWith(`${REGISTRY_METADATA_URL}/`)) {
      const name = url.slice(REGISTRY_METADATA_URL.length + 1);
      if (TOP_LEVEL.test(name)) return this.#layer(this.#meta, LATEST_TAG, name);
      const role = name.split('.')[1];
      if (!role || name.split('.').length !== 3) return undefined;
      return this.#layer(this.#meta, role, name);
    }
    if (url.startsWith(`${REGISTRY_TARGETS_URL}/`)) {
      const path = decodeURIComponent(url.slice(REGISTRY_TARGETS_URL.length + 1));
      const slash = path.indexOf('/');
      if (slash < 0) return this.#layer(this.#targets, path, path);
      const entries = await this.#entries(this.#targets, path.slice(0, slash), 'index');
      const entry = entries?.find((e) => e.annotations?.[FILENAME_ANNOTATION] === path);
      if (!entry) return undefined;
      const manifest = await this.#targets.getManifest(entry.digest);
      const layer = manifest ? parseManifest(manifest.bytes).layers[0] : undefined;
      return layer ? this.#targets.getBlob(layer.digest) : undefined;
    }
    return undefined;
  }

  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const bytes = await this.#resolve(url);
    if (!bytes) throw notFound(`not found in the registry: ${url}`);
    return streamOf(bytes);
  }
}

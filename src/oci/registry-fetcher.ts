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
 * Manifests are read once per fetcher; blobs are verified by digest. Every
 * blob read is capped at the maximum length tuf-js names (the length in
 * trusted metadata, or the client's default for that kind of file): a layer
 * whose manifest declares more is refused without a request, and a blob
 * larger than its manifest said is cut at the cap while it streams.
 */
import { BoundedFetcher } from '../verify/tuf-js-fetch.js';
import { metadataKindOf, ResponseTooLargeError } from './limits.js';
import type { OciRepository, Descriptor } from './store.js';
import { FILENAME_ANNOTATION, INDEX_MEDIA_TYPE, LATEST_TAG, MANIFEST_MEDIA_TYPE, parseManifest } from './tuf-layout.js';

export const REGISTRY_METADATA_URL = 'tufctl-oci:/metadata';
export const REGISTRY_TARGETS_URL = 'tufctl-oci:/targets';

const TOP_LEVEL = /^(\d+\.(root|snapshot|targets)\.json|timestamp\.json)$/;

export class RegistryFetcher extends BoundedFetcher {
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

  /** The layer's blob, read up to `maxLength` bytes; the error names the file, the tag and the cap. */
  async #blob(repository: OciRepository, layer: Descriptor, name: string, where: string, maxLength: number): Promise<Buffer> {
    const what = `${name} (${repository.name}${where} ${layer.digest})`;
    const kind = repository === this.#meta ? metadataKindOf(name) : undefined;
    const hint =
      kind === 'snapshot' || kind === 'targets'
        ? 'if the repository really has metadata this large, raise --max-metadata-bytes'
        : kind === undefined
          ? 'the target is larger than its signed length'
          : undefined;
    if (typeof layer.size === 'number' && layer.size > maxLength) throw new ResponseTooLargeError(what, maxLength, layer.size, hint);
    try {
      return await repository.getBlob(layer.digest, maxLength);
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw new ResponseTooLargeError(what, maxLength, error.size, hint);
      throw error;
    }
  }

  async #layer(repository: OciRepository, tag: string, name: string, maxLength: number): Promise<Buffer | undefined> {
    const layers = await this.#entries(repository, tag, 'manifest');
    const layer = layers?.find((l) => l.annotations?.[FILENAME_ANNOTATION] === name);
    return layer ? this.#blob(repository, layer, name, `:${tag}`, maxLength) : undefined;
  }

  protected async download(url: string, maxLength: number): Promise<Buffer | undefined> {
    if (url.startsWith(`${REGISTRY_METADATA_URL}/`)) {
      const name = url.slice(REGISTRY_METADATA_URL.length + 1);
      if (TOP_LEVEL.test(name)) return this.#layer(this.#meta, LATEST_TAG, name, maxLength);
      const role = name.split('.')[1];
      if (!role || name.split('.').length !== 3) return undefined;
      return this.#layer(this.#meta, role, name, maxLength);
    }
    if (url.startsWith(`${REGISTRY_TARGETS_URL}/`)) {
      const path = decodeURIComponent(url.slice(REGISTRY_TARGETS_URL.length + 1));
      const slash = path.indexOf('/');
      if (slash < 0) return this.#layer(this.#targets, path, path, maxLength);
      const entries = await this.#entries(this.#targets, path.slice(0, slash), 'index');
      const entry = entries?.find((e) => e.annotations?.[FILENAME_ANNOTATION] === path);
      if (!entry) return undefined;
      const manifest = await this.#targets.getManifest(entry.digest);
      const layer = manifest ? parseManifest(manifest.bytes).layers[0] : undefined;
      return layer ? this.#blob(this.#targets, layer, path, `@${entry.digest}`, maxLength) : undefined;
    }
    return undefined;
  }
}

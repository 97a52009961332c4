/**
 * An OCI image-layout directory as a publish target (`oci-layout:DIR`): the
 * on-disk format of the OCI image spec, one layout per repository
 * (`DIR/tuf-metadata/`, `DIR/tuf-targets/`), tags kept as
 * `org.opencontainers.image.ref.name` annotations in each `index.json`.
 * It is the embedded default when no registry is configured, and any
 * OCI-layout-aware tool (skopeo, oras, crane) can copy it to a registry.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TufctlError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { DEFAULT_BLOB_LIMIT, MANIFEST_LIMIT, ResponseTooLargeError } from './limits.js';
import type { Descriptor, OciRepository, OciStats, OciTarget, StoredManifest } from './store.js';
import { jsonProblem, parseJSON } from '../metadata/strict-json.js';

export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';

interface IndexFile {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function assertDigest(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw new TufctlError('REGISTRY_ERROR', `invalid digest ${digest}`);
  return match[1]!;
}

/** A file's bytes, reading at most `maxBytes` of it (a larger file is refused, not read). */
function readCapped(path: string, maxBytes: number, what: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new ResponseTooLargeError(what, maxBytes, size);
    // The file may grow after the stat: read one byte past the cap at most.
    const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, total, buffer.length - total, null);
      if (n === 0) break;
      total += n;
      if (total === buffer.length) {
        if (total > maxBytes) throw new ResponseTooLargeError(what, maxBytes);
        break;
      }
    }
    return buffer.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}

/** A parsed index.json, with its tags looked up by name, for as long as the file is the same one. */
interface CachedIndex {
  /** Inode, size and modification time (ns) of the file it was read from. */
  identity: string;
  index: IndexFile;
  tags: Map<string, Descriptor>;
}

/** What identifies one version of a file: every write replaces index.json (a new inode) and changes its mtime. */
function fileIdentity(path: string): string | undefined {
  const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeNs}` : undefined;
}

function cacheOf(index: IndexFile, identity: string): CachedIndex {
  const tags = new Map<string, Descriptor>();
  for (const m of index.manifests) {
    const name = m.annotations?.[REF_NAME];
    if (name !== undefined && !tags.has(name)) tags.set(name, m);
  }
  return { identity, index, tags };
}

class LayoutRepository implements OciRepository {
  readonly name: string;
  readonly #dir: string;
  readonly #stats: OciStats;
  /** index.json parsed once, not once per tag looked up (a layout of 16,384 hashed bins has a 3 MB index). */
  #cached: CachedIndex | undefined;
  /** Tag moves of the open batch, written to index.json together when it ends (see LayoutTarget.batchTags). */
  #pending: Map<string, Descriptor> | undefined;

  constructor(dir: string, name: string, stats: OciStats) {
    this.#dir = dir;
    this.name = name;
    this.#stats = stats;
  }

  #blobPath(digest: string): string {
    return join(this.#dir, 'blobs', 'sha256', assertDigest(digest));
  }

  #readIndex(): CachedIndex {
    const path = join(this.#dir, 'index.json');
    const identity = fileIdentity(path);
    if (identity === undefined) return cacheOf({ schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: [] }, '');
    if (this.#cached?.identity === identity) return this.#cached;
    let index: IndexFile;
    try {
      index = parseJSON(readFileSync(path)) as IndexFile;
    } catch (error) {
      throw new TufctlError('REGISTRY_ERROR', `${path}: not a valid OCI index (${jsonProblem(error)})`);
    }
    // (read again if the file was replaced while it was read)
    this.#cached = fileIdentity(path) === identity ? cacheOf(index, identity) : undefined;
    return this.#cached ?? cacheOf(index, '');
  }

  #ensureLayout(): void {
    mkdirSync(join(this.#dir, 'blobs', 'sha256'), { recursive: true });
    const marker = join(this.#dir, 'oci-layout');
    if (!existsSync(marker)) writeFileAtomic(marker, '{"imageLayoutVersion":"1.0.0"}');
  }

  hasBlob(digest: string): Promise<boolean> {
    this.#stats.requests++;
    return Promise.resolve(existsSync(this.#blobPath(digest)));
  }

  getBlob(digest: string, maxBytes = DEFAULT_BLOB_LIMIT): Promise<Buffer> {
    this.#stats.requests++;
    const path = this.#blobPath(digest);
    if (!existsSync(path)) return Promise.reject(new TufctlError('REGISTRY_ERROR', `${this.name}: blob ${digest} not found`));
    let bytes: Buffer;
    try {
      bytes = readCapped(path, maxBytes, `blob ${this.name}@${digest} (in ${this.#dir})`);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (sha256(bytes) !== digest) {
      return Promise.reject(
        new TufctlError('DIGEST_MISMATCH', `${this.name}: blob ${digest} is corrupt (its content does not match its digest)`),
      );
    }
    return Promise.resolve(bytes);
  }

  putBlob(digest: string, bytes: Buffer): Promise<void> {
    this.#stats.requests++;
    if (sha256(bytes) !== digest) return Promise.reject(new TufctlError('REGISTRY_ERROR', `blob content does not match ${digest}`));
    this.#ensureLayout();
    writeFileAtomic(this.#blobPath(digest), bytes);
    this.#stats.blobsUploaded++;
    this.#stats.bytesUploaded += bytes.length;
    return Promise.resolve();
  }

  #resolve(reference: string): Descriptor | undefined {
    if (reference.startsWith('sha256:')) {
      return existsSync(this.#blobPath(reference)) ? { mediaType: '', digest: reference, size: 0 } : undefined;
    }
    return this.#pending?.get(reference) ?? this.#readIndex().tags.get(reference);
  }

  /** From now on, tag moves are held until endBatch(). */
  beginBatch(): void {
    this.#pending ??= new Map();
  }

  /** Writes the tag moves held since beginBatch() in one index.json write. */
  endBatch(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending && pending.size > 0) this.#writeTags(pending);
  }

  /** Points `tags` at their manifests in index.json (read afresh, so tags others moved meanwhile are kept). */
  #writeTags(tags: Map<string, Descriptor>): void {
    const index = this.#readIndex().index;
    const manifests = index.manifests.filter((m) => !tags.has(m.annotations?.[REF_NAME] ?? ''));
    manifests.push(...tags.values());
    manifests.sort((a, b) => (a.annotations![REF_NAME]! < b.annotations![REF_NAME]! ? -1 : 1));
    writeFileAtomic(
      join(this.#dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests }, null, 2) + '\n',
    );
  }

  getManifest(reference: string): Promise<StoredManifest | undefined> {
    this.#stats.requests++;
    const descriptor = this.#resolve(reference);
    if (!descriptor) return Promise.resolve(undefined);
    let bytes: Buffer;
    try {
      bytes = readCapped(this.#blobPath(descriptor.digest), MANIFEST_LIMIT, `manifest ${this.name}:${reference} (in ${this.#dir})`);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (sha256(bytes) !== descriptor.digest)
      return Promise.reject(new TufctlError('REGISTRY_ERROR', `${this.name}: manifest ${descriptor.digest} is corrupt`));
    const mediaType = descriptor.mediaType || ((parseJSON(bytes) as { mediaType?: string }).mediaType ?? '');
    return Promise.resolve({ digest: descriptor.digest, mediaType, bytes });
  }

  async headManifest(reference: string): Promise<{ digest: string; mediaType: string } | undefined> {
    const manifest = await this.getManifest(reference);
    return manifest ? { digest: manifest.digest, mediaType: manifest.mediaType } : undefined;
  }

  putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    this.#stats.requests++;
    this.#ensureLayout();
    const digest = sha256(bytes);
    writeFileAtomic(this.#blobPath(digest), bytes);
    this.#stats.manifestsPut++;
    this.#stats.bytesUploaded += bytes.length;
    if (!reference.startsWith('sha256:')) {
      const descriptor: Descriptor = { mediaType, digest, size: bytes.length, annotations: { [REF_NAME]: reference } };
      if (this.#pending) this.#pending.set(reference, descriptor);
      else this.#writeTags(new Map([[reference, descriptor]]));
    }
    return Promise.resolve(digest);
  }
}

export class LayoutTarget implements OciTarget {
  readonly location: string;
  readonly #dir: string;
  readonly #stats: OciStats = { requests: 0, bytesUploaded: 0, blobsUploaded: 0, manifestsPut: 0 };
  readonly #repositories = new Map<string, LayoutRepository>();

  constructor(dir: string) {
    this.#dir = resolve(dir);
    this.location = `oci-layout:${this.#dir}`;
  }

  repository(name: string): OciRepository {
    if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(name)) {
      throw new TufctlError('REGISTRY_ERROR', `invalid repository name "${name}"`);
    }
    let repository = this.#repositories.get(name);
    if (!repository) {
      repository = new LayoutRepository(join(this.#dir, ...name.split('/')), name, this.#stats);
      this.#repositories.set(name, repository);
    }
    return repository;
  }

  /**
   * Runs `run` with every tag move it makes held in memory and written to
   * each repository's index.json once at the end (also when it fails, so the
   * tags of content already written are not lost): one write instead of one
   * per tag, which at 16,384 hashed bins is the difference between seconds
   * and an hour (each write is the whole 3 MB index).
   */
  async batchTags(run: () => Promise<void>): Promise<void> {
    for (const repository of this.#repositories.values()) repository.beginBatch();
    try {
      await run();
    } finally {
      for (const repository of this.#repositories.values()) repository.endBatch();
    }
  }

  stats(): OciStats {
    return { ...this.#stats };
  }
}

/**
 * The storage interface tufctl publishes TUF metadata through: an OCI
 * registry (see registry-client.ts) or an OCI image-layout directory.
 */

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<64 hex>` */
  digest: string;
  /** Size of the referenced content in bytes. */
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** A manifest as stored: its digest, media type and exact bytes. */
export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** One OCI repository (e.g. NAMESPACE/tuf-metadata) in a registry or an OCI image-layout directory. */
export interface OciRepository {
  readonly name: string;
  /** Whether a blob with this digest exists. */
  hasBlob(digest: string): Promise<boolean>;
  /**
   * The blob's bytes, verified against the digest. Reading stops at maxBytes
   * (default DEFAULT_BLOB_LIMIT, limits.ts): a larger blob fails with
   * RESPONSE_TOO_LARGE without being read whole.
   */
  getBlob(digest: string, maxBytes?: number): Promise<Buffer>;
  /** Uploads a blob (whole, in one request where the registry allows, else POST then PUT); the digest is verified by the store. */
  putBlob(digest: string, bytes: Buffer): Promise<void>;
  /** The manifest a tag or digest points to (at most MANIFEST_LIMIT bytes), or undefined when it does not exist (404). */
  getManifest(reference: string): Promise<StoredManifest | undefined>;
  /** Digest and media type of a tag or digest without the body, or undefined (404). */
  headManifest(reference: string): Promise<{ digest: string; mediaType: string } | undefined>;
  /** Stores a manifest under a tag (or its digest); returns its digest. */
  putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string>;
}

/** Counters of the traffic a target has caused since it was created. */
export interface OciStats {
  /** HTTP requests sent (including retries and token requests) or store operations. */
  requests: number;
  /** Bytes of blob and manifest bodies uploaded. */
  bytesUploaded: number;
  /** Blobs uploaded (blobs that already existed and were skipped are not counted). */
  blobsUploaded: number;
  /** Manifests stored. */
  manifestsPut: number;
}

/** A place OCI repositories live: a registry namespace or a layout directory. */
export interface OciTarget {
  /** e.g. "oci://127.0.0.1:5000/acme" */
  readonly location: string;
  /** The repository NAME under this target (e.g. "tuf-metadata" → NAMESPACE/tuf-metadata). */
  repository(name: string): OciRepository;
  stats(): OciStats;
  /**
   * Runs one publish step with its tag moves written together at its end
   * (layout directories, where every tag move rewrites index.json); absent
   * where each tag move is its own request.
   */
  batchTags?(run: () => Promise<void>): Promise<void>;
}

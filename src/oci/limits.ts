/**
 * How much tufctl reads from a registry, layout directory or mirror at most.
 * Every network read is bounded: the body is streamed and cut at the cap
 * (never read whole and then checked), so a registry serving a huge file
 * costs a few kilobytes of memory, not the file.
 *
 * The client takes TUF's length from the trusted metadata where it is known
 * (tuf-js passes it to the fetcher); otherwise these defaults apply.
 */
import { TufctlError } from '../errors.js';

const KiB = 1024;
const MiB = 1024 * 1024;

/** Caps of metadata files whose length no trusted metadata gives. */
export const METADATA_LIMITS = {
  /** As tuf-js: a root with dozens of keys is a few tens of kilobytes. */
  root: 512 * KiB,
  /** As tuf-js: one meta entry and a few signatures. */
  timestamp: 16 * KiB,
  /** 16,384 hashed bins make a 1 MB snapshot. */
  snapshot: 8 * MiB,
  /** Any targets role, delegated ones included (tuf-js parses a 5,000-target role in seconds). */
  targets: 8 * MiB,
} as const;

/** An OCI manifest or index (distribution's own limit is 4 MiB). */
export const MANIFEST_LIMIT = 4 * MiB;

/** A blob read without a cap named by the caller. */
export const DEFAULT_BLOB_LIMIT = 64 * MiB;

/** What a fetcher reads at most when tuf-js names no length (it always does). */
export const UNKNOWN_LENGTH_LIMIT = 8 * MiB;

export type MetadataKind = keyof typeof METADATA_LIMITS;

/** The kind of metadata a TUF file name holds: `N.root.json`, `timestamp.json`, `N.snapshot.json`, anything else is targets. */
export function metadataKindOf(name: string): MetadataKind {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (/^(\d+\.)?root\.json$/.test(base)) return 'root';
  if (/^(\d+\.)?timestamp\.json$/.test(base)) return 'timestamp';
  if (/^(\d+\.)?snapshot\.json$/.test(base)) return 'snapshot';
  return 'targets';
}

/**
 * The cap for reading a published copy of a metadata file when the local
 * copy of the same role is `ownSize` bytes: the default, or twice the local
 * size for repositories larger than the defaults.
 */
export function publishedMetadataLimit(kind: MetadataKind, ownSize = 0): number {
  return Math.max(METADATA_LIMITS[kind], 2 * ownSize);
}

function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} bytes`;
}

/**
 * A response (or a file in a layout directory) larger than its cap; nothing
 * beyond the cap was read. `what` names the file and where it came from.
 */
export class ResponseTooLargeError extends TufctlError {
  constructor(
    readonly what: string,
    readonly limit: number,
    readonly size?: number,
    hint?: string,
  ) {
    super(
      'RESPONSE_TOO_LARGE',
      `${what} is larger than the limit of ${formatBytes(limit)}${limit >= KiB ? ` (${limit} bytes)` : ''}${size !== undefined ? `: it has ${size} bytes` : ''}; stopped reading at the limit${hint ? ` — ${hint}` : ''}`,
    );
  }
}

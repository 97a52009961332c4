/**
 * The shape of a client-compatibility finding: which client (and versions)
 * would refuse or mishandle what in this repository, the limit it runs into
 * and the client source that limit comes from.
 */
import type { ClientId, Library } from './client-rules.js';
import { sourceText, type Source } from './client-rules.js';

export const LINT_RULES = [
  'metadata-size',
  'root-rotations',
  'delegations-visited',
  'key-support',
  'signature-encoding',
  'registry-layout',
  'expiry-refresh',
] as const;
export type LintRule = (typeof LINT_RULES)[number];

export interface ClientFinding {
  rule: LintRule;
  /** The client asked for (`--clients`). */
  client: ClientId;
  /** The library and release the fact was read from, e.g. `go-tuf v2.4.2`, or the sigstore clients built on it. */
  library: string;
  /** Which releases are affected, e.g. `tuf-js before 6.0.2`. */
  versions: string;
  /** What in this repository: a file, a key, a role, a target. */
  subject: string;
  /** `refuses`: the client stops with an error (or never finds the target); `mishandles`: it goes on with part of the repository ignored. */
  effect: 'refuses' | 'mishandles';
  /** One sentence: what the client does and why. */
  message: string;
  /** The limit, named as the client names it, with its value. */
  limit: string;
  /** `repository path (name, version)` of the client source. */
  source: string;
}

/** A finding of one library before it is attributed to the client asked for. */
export type LibraryFinding = Omit<ClientFinding, 'client' | 'library'>;

export function finding(
  library: Library,
  rule: LintRule,
  fields: { subject: string; effect: ClientFinding['effect']; message: string; limit: string; source: Source; versions?: string },
): LibraryFinding {
  return {
    rule,
    versions: fields.versions ?? library.label,
    subject: fields.subject,
    effect: fields.effect,
    message: fields.message,
    limit: fields.limit,
    source: sourceText(fields.source),
  };
}

/** 2000000 → `2,000,000 bytes`; with the binary unit when it is a whole number of them. */
export function bytesText(n: number): string {
  const plain = `${n.toLocaleString('en-US')} bytes`;
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB (${plain})`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB (${plain})`;
  return plain;
}

/** The first 8 characters of a key id, as tufctl shows key ids elsewhere. */
export const shortKeyId = (id: string): string => id.slice(0, 8);

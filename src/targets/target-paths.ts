/**
 * Target paths: the rules every target name must satisfy before it is
 * signed or written, so that no client can be steered outside its target
 * directory. What the registry layout can carry is narrower and is checked
 * by publish (src/oci/layout-rules.ts).
 */
import { TargetError } from '../errors.js';

/** Paths of one or more segments of plain characters, none empty, "." or "..". */
const PLAIN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/** Returns a reason the path is unacceptable, or undefined when it is fine. */
export function targetPathProblem(path: string): string | undefined {
  // The common case, checked at once: every rule below holds for these (verify checks a million paths).
  if (PLAIN.test(path)) return undefined;
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\\')) return 'contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) return 'contains control characters';
  if (/[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/.test(path)) {
    return 'contains invisible or bidirectional-override characters (a name must read as it is)';
  }
  // Clients build URLs from target paths: these would be read as a query, a fragment or an escape.
  if (/[?#%]/.test(path)) return 'contains "?", "#" or "%" (clients put target paths in URLs, where these change the meaning)';
  if (path.normalize('NFC') !== path) return 'is not in Unicode normal form C (two spellings of one name would be two targets)';
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'has an empty path segment';
  if (segments.some((s) => s === '..')) return 'contains a ".." segment';
  if (segments.some((s) => s === '.')) return 'contains a "." segment';
  return undefined;
}

/** Hash algorithm names as TUF metadata uses them (sha256, sha512, blake2b-256, …). */
const HASH_ALGORITHM = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Hash values: hex digits, an even number of them, at most 1,024 bits. */
const HASH_VALUE = /^(?:[0-9a-f]{2}){1,128}$/;

/**
 * Why a target's hash entry is unacceptable, or undefined. Hash values become
 * file names (`<hash>.<name>` in consistent snapshots), so they are held to
 * hex digits whatever the algorithm, known or not.
 */
export function hashProblem(algorithm: string, value: unknown): string | undefined {
  if (!HASH_ALGORITHM.test(algorithm))
    return `has a hash algorithm name ${JSON.stringify(algorithm.slice(0, 40))} that is not a plain name`;
  if (typeof value !== 'string' || !HASH_VALUE.test(value)) return `has a ${algorithm} value that is not lowercase hex`;
  const sizes: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  const size = Object.hasOwn(sizes, algorithm) ? sizes[algorithm] : undefined;
  if (size !== undefined && value.length !== size) return `has a ${algorithm} value of ${value.length} hex digits (expected ${size})`;
  return undefined;
}

export function assertTargetPath(path: string): void {
  const problem = targetPathProblem(path);
  if (problem) throw new TargetError('TARGET_PATH_INVALID', `target path "${path}" ${problem}`);
}

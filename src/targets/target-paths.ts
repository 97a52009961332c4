/**
 * Target paths: the rules every target name must satisfy before it is
 * signed, so that no client can be steered outside its target directory and
 * every target can be carried by the registry layout.
 */
import { TargetError } from '../errors.js';

/** Longest top-level target name the OCI layout can tag (`<64 hex>.<name>` in 128 characters). */
export const MAX_TOP_LEVEL_NAME = 63;

/** Paths of two or more segments of plain characters, none empty, "." or "..". */
const PLAIN_NESTED = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+$/;
/** Top-level names of plain characters (registry tag characters), not "." or "..", within the length limit. */
const PLAIN_TOP_LEVEL = new RegExp(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,${MAX_TOP_LEVEL_NAME - 1}}$`);

/** Returns a reason the path is unacceptable, or undefined when it is fine. */
export function targetPathProblem(path: string): string | undefined {
  // The common case, checked at once: every rule below holds for these (verify checks a million paths).
  if (PLAIN_NESTED.test(path) || PLAIN_TOP_LEVEL.test(path)) return undefined;
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\\')) return 'contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) return 'contains control characters';
  if (/[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/.test(path)) {
    return 'contains invisible or bidirectional-override characters (a name must read as it is)';
  }
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'has an empty path segment';
  if (segments.some((s) => s === '..')) return 'contains a ".." segment';
  if (segments.some((s) => s === '.')) return 'contains a "." segment';
  if (segments.length === 1 && !/^[A-Za-z0-9_.-]+$/.test(path)) {
    return 'is a top-level target name with characters a registry tag cannot carry (use A-Z a-z 0-9 _ . -)';
  }
  if (segments.length === 1 && path.length > MAX_TOP_LEVEL_NAME) {
    return `is ${path.length} characters long; top-level target names are limited to ${MAX_TOP_LEVEL_NAME} so the registry tag <sha256>.<name> fits in 128 characters`;
  }
  return undefined;
}

export function assertTargetPath(path: string): void {
  const problem = targetPathProblem(path);
  if (problem) throw new TargetError('TARGET_PATH_INVALID', `target path "${path}" ${problem}`);
}

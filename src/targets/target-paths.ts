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
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'has an empty path segment';
  if (segments.some((s) => s === '..')) return 'contains a ".." segment';
  if (segments.some((s) => s === '.')) return 'contains a "." segment';
  return undefined;
}

export function assertTargetPath(path: string): void {
  const problem = targetPathProblem(path);
  if (problem) throw new TargetError('TARGET_PATH_INVALID', `target path "${path}" ${problem}`);
}

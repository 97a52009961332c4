/**
 * Every write stays inside its directory: file names derived from data
 * (target paths, role names, hash values, digests) are joined to their root
 * here, and a result that resolves outside the root is refused before
 * anything is written. The rules that keep such names safe are checked where
 * data enters (target-paths.ts, role-names.ts); this is the second line, at
 * the point of writing.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { TufctlError } from './errors.js';

/** `root/segments…`, or PATH_OUTSIDE when a segment is unsafe or the result leaves `root`. */
export function pathInside(root: string, ...segments: string[]): string {
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) {
      throw new TufctlError(
        'PATH_OUTSIDE',
        `refusing to write: ${JSON.stringify(segment.slice(0, 80))} is not a single file or directory name`,
      );
    }
  }
  const base = resolve(root);
  const path = resolve(join(base, ...segments));
  const rel = relative(base, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new TufctlError(
      'PATH_OUTSIDE',
      `refusing to write ${JSON.stringify(segments.join('/').slice(0, 120))}: it resolves outside ${root}`,
    );
  }
  return path;
}

/**
 * Role names: which names tufctl accepts and how they map to files.
 *
 * A delegated role name is whatever the TUF specification allows, as long as
 * it is one safe file name (`metadata/<role>.json`): `registry.npmjs.org` is
 * a real one. The registry layout is narrower (registry clients take the role
 * as the second `.`-separated part of `VERSION.ROLE.json` and tag it by
 * name): `publish` applies that rule (src/oci/layout-rules.ts), and new
 * roles are warned about it.
 */
import { UsageError } from '../errors.js';
import { isObjectPrototypeName } from './strict-json.js';

export const TOP_LEVEL_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];
export const ONLINE_ROLES = ['snapshot', 'timestamp'] as const;

/** Longest role name: `VERSION.ROLE.json` must stay a file name most file systems take (255 bytes). */
export const MAX_ROLE_NAME_BYTES = 200;

export function isTopLevelRole(name: string): name is TopLevelRole {
  return (TOP_LEVEL_ROLES as readonly string[]).includes(name);
}

/** Why `name` cannot be a delegated role's name (a safe single file name), or undefined when it can. */
export function roleNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (isTopLevelRole(name)) return 'is a top-level role name';
  if (isObjectPrototypeName(name)) {
    return 'is the name of a built-in member of JavaScript objects (tuf-js keeps loaded roles in a plain object and would take the built-in for the role)';
  }
  if (Buffer.byteLength(name) > MAX_ROLE_NAME_BYTES) return `is longer than ${MAX_ROLE_NAME_BYTES} bytes`;
  if (name === '.' || name === '..') return 'is "." or ".."';
  if (name.startsWith('.')) return 'starts with "."';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'contains control characters';
  if (/[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/.test(name)) return 'contains invisible or bidirectional-override characters';
  return undefined;
}

/** Throws unless `name` is acceptable for a new delegated role. */
export function assertDelegatedRoleName(name: string): void {
  const problem = roleNameProblem(name);
  if (problem) throw new UsageError(`role name ${JSON.stringify(name)} ${problem}`, 'ROLE_NAME_INVALID');
}

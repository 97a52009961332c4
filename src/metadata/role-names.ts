/**
 * Role names: which names tufctl accepts and how they map to files.
 *
 * Delegated role names must be usable as a file name, as an OCI tag (the
 * registry layout tags each delegated role by its name) and in the
 * `VERSION.ROLE.json` file names of consistent snapshots, where registry
 * clients take the role as the second `.`-separated part: so no `.`, no `/`,
 * and only `[A-Za-z0-9_-]`, at most 100 characters.
 */
import { UsageError } from '../errors.js';

export const TOP_LEVEL_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];
export const ONLINE_ROLES = ['snapshot', 'timestamp'] as const;

const DELEGATED_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$/;

export function isTopLevelRole(name: string): name is TopLevelRole {
  return (TOP_LEVEL_ROLES as readonly string[]).includes(name);
}

/** Throws unless `name` is acceptable for a new delegated role. */
export function assertDelegatedRoleName(name: string): void {
  if (isTopLevelRole(name)) {
    throw new UsageError(`"${name}" is a top-level role name and cannot be delegated`, 'ROLE_NAME_INVALID');
  }
  if (name.includes('.')) {
    throw new UsageError(
      `role name "${name}" contains "."; registry clients read the role from VERSION.ROLE.json, so role names cannot contain "."`,
      'ROLE_NAME_INVALID',
    );
  }
  if (!DELEGATED_NAME.test(name)) {
    throw new UsageError(
      `role name "${name}" is invalid: use 1-100 characters from A-Z a-z 0-9 _ - (not starting with -)`,
      'ROLE_NAME_INVALID',
    );
  }
}

/**
 * What the registry TUF layout can carry (shared/oci-layout rules, enforced by
 * publish before anything is written). The repository itself may hold more:
 * role and target names follow the TUF specification; only publishing to a
 * registry narrows them.
 *
 * - a delegated role is fetched as `VERSION.ROLE.json`, and registry clients
 *   take the role from the second `.`-separated part: no `.` in role names;
 *   each role is also a tag of the metadata repository;
 * - a top-level target is the tag `<sha256>.<name>`: at most 128 characters,
 *   so names of at most 63 tag characters;
 * - a nested target is found through the tag of its first path segment.
 */
import type { RepositoryView } from '../verify/verify-repository.js';

/** OCI distribution tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const MAX_TAG_LENGTH = 128;
/** Longest top-level target name the layout can tag (`<64 hex>.<name>` in 128 characters). */
export const MAX_TOP_LEVEL_NAME = MAX_TAG_LENGTH - 65;

const TOP_LEVEL = new Set(['root', 'targets', 'snapshot', 'timestamp']);

export interface LayoutProblem {
  /** `role NAME` or `target PATH`. */
  subject: string;
  rule: string;
}

/** Why a delegated role cannot be published to a registry, or undefined. */
export function roleLayoutProblem(role: string): string | undefined {
  if (role.includes('.')) {
    return 'contains "."; registry clients read the role name from VERSION.ROLE.json as the part between the first two dots';
  }
  if (!TAG.test(role)) return `is not a registry tag (1-${MAX_TAG_LENGTH} characters of A-Z a-z 0-9 _ . -, not starting with . or -)`;
  return undefined;
}

/** Why a target path cannot be published to a registry, or undefined. */
export function targetLayoutProblem(path: string): string | undefined {
  const slash = path.indexOf('/');
  if (slash < 0) {
    if (!TAG.test(path)) return 'is a top-level name with characters a registry tag cannot carry (A-Z a-z 0-9 _ . -)';
    if (path.length > MAX_TOP_LEVEL_NAME) {
      return `is ${path.length} characters long; top-level names can have at most ${MAX_TOP_LEVEL_NAME} so the tag <sha256>.<name> fits in ${MAX_TAG_LENGTH}`;
    }
    return undefined;
  }
  const first = path.slice(0, slash);
  if (!TAG.test(first))
    return `starts with "${first}", which is not a registry tag (clients find nested targets by the tag of their first path segment)`;
  return undefined;
}

/** Every role and target of the view that the registry layout cannot carry. */
export function layoutProblems(view: RepositoryView): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  for (const role of view.roles.keys()) {
    if (TOP_LEVEL.has(role)) continue;
    const rule = roleLayoutProblem(role);
    if (rule) problems.push({ subject: `role ${JSON.stringify(role)}`, rule });
  }
  for (const target of view.targets) {
    const rule = targetLayoutProblem(target.path);
    if (rule) problems.push({ subject: `target ${JSON.stringify(target.path)} (${target.role})`, rule });
  }
  return problems;
}

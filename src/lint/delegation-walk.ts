/**
 * The target lookup of go-tuf, python-tuf and tuf-js, replayed: a pre-order
 * depth-first walk of the delegations from `targets` that visits at most a
 * fixed number of roles (32 delegations past `targets` by default). Targets
 * the walk reaches only after that many roles are never found by them.
 */
import type { LintModel } from './repository-facts.js';
import { targetNames } from './repository-facts.js';

export interface UnreachableTargets {
  /** The role that lists the targets. */
  role: string;
  /** How many of its targets the walk gives up on. */
  count: number;
  /** A few of them. */
  examples: string[];
  /** The most roles visited before reaching one of them (when the walk was followed to the end). */
  visitedBefore: number;
}

/** How many roles are visited before `path` is found, or undefined when no role lists it; stops counting past `cap`. */
function rolesVisitedBefore(model: LintModel, path: string, cap: number): { role: string; visited: number } | undefined {
  const stack = ['targets'];
  const visited = new Set<string>();
  while (stack.length > 0) {
    const role = stack.pop()!;
    if (visited.has(role)) continue;
    const file = model.targetsRoles.get(role);
    const targets = file?.envelope.signed.targets as Record<string, unknown> | undefined;
    if (targets && Object.prototype.hasOwnProperty.call(targets, path)) return { role, visited: visited.size };
    visited.add(role);
    if (visited.size > cap) return { role: '', visited: visited.size };
    const delegations = model.delegations.get(role);
    if (!delegations) continue;
    const children: string[] = [];
    for (const { role: child, terminating } of delegations.rolesForTarget(path)) {
      children.push(child);
      if (terminating) {
        stack.length = 0;
        break;
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

/**
 * An upper bound of the roles one lookup visits: `targets`, every role
 * named in a `roles` list, and one bin per hashed-bin set (a lookup visits
 * only the bin its path hashes to). Repositories of hashed bins stay at a
 * handful, so their targets need no walk.
 */
function mostRolesOneLookupVisits(model: LintModel): number {
  let named = 0;
  let binSets = 0;
  for (const delegations of model.delegations.values()) {
    if (delegations.succinctRoles) binSets++;
    else named += Object.keys(delegations.roles ?? {}).length;
  }
  return 1 + named + binSets;
}

/**
 * Targets that a walk visiting at most `maxDelegations` roles past `targets`
 * does not reach, grouped by the role listing them. Repositories with no
 * more roles than the walk may visit are not walked at all.
 */
export function unreachableTargets(model: LintModel, maxDelegations: number, examples = 3): UnreachableTargets[] {
  if (model.targetsRoles.size <= maxDelegations + 1 || mostRolesOneLookupVisits(model) <= maxDelegations + 1) return [];
  const byRole = new Map<string, UnreachableTargets>();
  for (const [role, file] of model.targetsRoles) {
    for (const path of targetNames(file)) {
      const found = rolesVisitedBefore(model, path, maxDelegations);
      // Found in another role first (shadowed), or reached in time: nothing to say here.
      if (!found || (found.role !== '' && found.role !== role) || found.visited <= maxDelegations) continue;
      let entry = byRole.get(role);
      if (!entry) byRole.set(role, (entry = { role, count: 0, examples: [], visitedBefore: found.visited }));
      entry.count++;
      if (entry.examples.length < examples) entry.examples.push(path);
      entry.visitedBefore = Math.max(entry.visitedBefore, found.visited);
    }
  }
  return [...byRole.values()];
}

/**
 * The client rule of registry readers: role and target names the registry
 * TUF layout cannot carry (src/oci/layout-rules.ts holds the layout's rules;
 * this only attributes them to the clients that read registries).
 */
import type { Library } from './client-rules.js';
import { finding, type LibraryFinding } from './findings.js';
import { targetNames, type LintModel } from './repository-facts.js';
import { roleLayoutProblem, targetLayoutProblem, MAX_TAG_LENGTH } from '../oci/layout-rules.js';
import { isTopLevelRole } from '../metadata/role-names.js';

/** Targets listed one by one; past this, one finding counts the rest. */
export const MAX_LISTED_TARGETS = 50;

export function layoutFindings(library: Library, model: LintModel): LibraryFinding[] {
  const layout = library.registryLayout;
  if (!layout) return [];
  const findings: LibraryFinding[] = [];
  const roleLimit = 'the role is the second "."-separated part of VERSION.ROLE.json and a registry tag';
  const limit = `OCI tags of at most ${MAX_TAG_LENGTH} characters (A-Z a-z 0-9 _ . -): a top-level target's tag is <sha256>.<name>, a nested target's the first path segment`;
  const versions = `${library.label} through docker/attest's registry fetcher`;
  for (const role of model.targetsRoles.keys()) {
    if (isTopLevelRole(role)) continue;
    const problem = roleLayoutProblem(role);
    if (!problem) continue;
    findings.push(
      finding(library, 'registry-layout', {
        subject: `role ${JSON.stringify(role)}`,
        effect: 'refuses',
        message: `role name ${JSON.stringify(role)} ${problem}: read ${layout.how}, its metadata is looked up under the wrong tag and the update fails`,
        limit: roleLimit,
        versions,
        source: layout.source,
      }),
    );
  }
  let more = 0;
  for (const [role, file] of model.targetsRoles) {
    for (const path of targetNames(file)) {
      const problem = targetLayoutProblem(path);
      if (!problem) continue;
      if (findings.length >= MAX_LISTED_TARGETS) {
        more++;
        continue;
      }
      findings.push(
        finding(library, 'registry-layout', {
          subject: `target ${JSON.stringify(path)} (${role})`,
          effect: 'refuses',
          message: `target ${JSON.stringify(path)} ${problem}: read ${layout.how}, it cannot be downloaded (tufctl publish refuses it)`,
          limit,
          versions,
          source: layout.source,
        }),
      );
    }
  }
  if (more > 0) {
    findings.push(
      finding(library, 'registry-layout', {
        subject: `${more} more target(s)`,
        effect: 'refuses',
        message: `${more} more target name(s) the registry layout cannot carry (tufctl publish lists them all)`,
        limit,
        versions,
        source: layout.source,
      }),
    );
  }
  return findings;
}

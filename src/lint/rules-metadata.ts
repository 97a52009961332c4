/**
 * Client rules about the shape of the metadata: file sizes against each
 * client's default download caps, the root chain against its cap on root
 * rotations, and targets the capped delegation walk never reaches.
 */
import type { Library, MetadataKind } from './client-rules.js';
import { unreachableTargets, type UnreachableTargets } from './delegation-walk.js';
import { bytesText, finding, type LibraryFinding } from './findings.js';
import type { LintModel, MetadataFile } from './repository-facts.js';
import { isJSONObject } from '../metadata/json.js';

/** The length that the referring meta gives a file, if any: clients then read that many bytes instead of their cap. */
function metaLength(file: MetadataFile | undefined, entry: string): number | undefined {
  const meta = file?.envelope.signed.meta;
  const item = isJSONObject(meta) ? meta[entry] : undefined;
  return isJSONObject(item) && typeof item.length === 'number' ? item.length : undefined;
}

function overCap(library: Library, kind: MetadataKind, file: string, size: number, when: string, hint: string): LibraryFinding[] {
  const cap = library.sizes[kind];
  if (size <= cap.bytes) return [];
  return [
    finding(library, 'metadata-size', {
      subject: file,
      effect: 'refuses',
      message: `${file} is ${bytesText(size)}, over the ${bytesText(cap.bytes)} it reads ${when}: the download fails and the update stops${hint}`,
      limit: `${cap.name} = ${cap.bytes}`,
      source: cap.source,
    }),
  ];
}

/** Sizes: root and timestamp always meet their caps; snapshot and targets roles only when no meta gives their length. */
export function sizeFindings(library: Library, model: LintModel, trustedRootVersion: number): LibraryFinding[] {
  const findings: LibraryFinding[] = [];
  for (const root of model.rootVersions) {
    if (root.version <= trustedRootVersion && root.version !== model.rootVersions.at(-1)?.version) continue;
    findings.push(...overCap(library, 'root', root.file, root.size, 'for any root (no metadata gives its length)', ''));
  }
  findings.push(
    ...overCap(library, 'timestamp', model.timestamp.file, model.timestamp.size, 'for timestamp (no metadata gives its length)', ''),
  );
  if (metaLength(model.timestamp, 'snapshot.json') === undefined) {
    findings.push(
      ...overCap(
        library,
        'snapshot',
        model.snapshot.file,
        model.snapshot.size,
        'for snapshot when timestamp meta gives no length',
        ' (timestampMetaHashes: true in tufctl.json records the length)',
      ),
    );
  }
  for (const [role, file] of model.targetsRoles) {
    if (metaLength(model.snapshot, `${role}.json`) !== undefined) continue;
    findings.push(
      ...overCap(
        library,
        'targets',
        file.file,
        file.size,
        'for a targets role when snapshot meta gives no length',
        ' (snapshotMetaHashes: true in tufctl.json records the lengths)',
      ),
    );
  }
  return findings;
}

/** Root rotations between the root clients embed and the current one, against the client's cap (and older releases' caps). */
export function rootRotationFindings(library: Library, model: LintModel, trustedRootVersion: number): LibraryFinding[] {
  const current = model.rootVersions.at(-1)?.version ?? 1;
  const rotations = current - trustedRootVersion;
  const cap = library.rootRotations;
  const findings: LibraryFinding[] = [];
  const subject = `root chain v${trustedRootVersion} → v${current}`;
  const stops = (max: number): string =>
    `clients embedding root v${trustedRootVersion} need ${rotations} root updates to reach v${current}; it fetches at most ${max} per update and goes on with root v${trustedRootVersion + max}, so metadata signed by later root keys fails verification`;
  if (cap.overflow === 'fails' && rotations >= cap.max) {
    findings.push(
      finding(library, 'root-rotations', {
        subject,
        effect: 'refuses',
        message: `clients embedding root v${trustedRootVersion} need ${rotations} root updates to reach v${current}; it ends the update with an error once it has taken ${cap.max}`,
        limit: `${cap.source.name} = ${cap.max}`,
        source: cap.source,
      }),
    );
  } else if (cap.overflow === 'stops' && rotations > cap.max) {
    findings.push(
      finding(library, 'root-rotations', {
        subject,
        effect: 'refuses',
        message: stops(cap.max),
        limit: `${cap.source.name} = ${cap.max}`,
        source: cap.source,
      }),
    );
  } else if (cap.earlier && rotations > cap.earlier.max) {
    findings.push(
      finding(library, 'root-rotations', {
        subject,
        effect: 'refuses',
        versions: cap.earlier.versions,
        message: stops(cap.earlier.max),
        limit: `${cap.source.name} = ${cap.earlier.max} in ${cap.earlier.versions}`,
        source: cap.source,
      }),
    );
  }
  return findings;
}

function walkMessage(u: UnreachableTargets, max: number): string {
  const examples = u.examples.map((e) => JSON.stringify(e)).join(', ');
  return `${u.count} target(s) of role ${JSON.stringify(u.role)} (e.g. ${examples}) are reached only after visiting ${u.visitedBefore} or more roles; the target lookup visits at most ${max} delegated roles past targets and reports them as not found`;
}

/** Targets beyond the client's delegation-walk cap; `walks` caches the walk per cap (the clients share 32). */
export function delegationFindings(library: Library, model: LintModel, walks: Map<number, UnreachableTargets[]>): LibraryFinding[] {
  const cap = library.delegationsVisited;
  if (!cap) return [];
  let unreachable = walks.get(cap.max);
  if (!unreachable) walks.set(cap.max, (unreachable = unreachableTargets(model, cap.max)));
  return unreachable.map((u) =>
    finding(library, 'delegations-visited', {
      subject: `role ${JSON.stringify(u.role)}`,
      effect: 'refuses',
      message: walkMessage(u, cap.max),
      limit: `${cap.source.name.split(', ').at(-1)} = ${cap.max}`,
      source: cap.source,
    }),
  );
}

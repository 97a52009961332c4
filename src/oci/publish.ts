/**
 * Publishing a verified repository to an OCI target. This file decides the
 * publish order, so that every state a client can observe verifies:
 *
 *   1. targets repository: content-addressed target images (top-level
 *      `<sha256>.<name>` tags; one index per first path segment holding the
 *      old and the new entries),
 *   2. metadata repository: one tag per changed delegated role, holding the
 *      previously published version AND the new one,
 *   3. `latest` last: every root, snapshot, targets and timestamp in one
 *      manifest, so the switch to the new state is a single tag move.
 *
 * Before anything is written the registry's current state is read: a version
 * lower than the published one (for any role; the one exemption: snapshot and
 * timestamp after a rotation of their keys, for fast-forward recovery), the
 * same version with other bytes (a fork), or a root chain that does not lead
 * to ours is refused, and nothing is changed. Blobs and manifests already
 * present are not uploaded again; what is unchanged since the published
 * snapshot is not even looked at, so a timestamp-only republish costs one blob
 * and one manifest.
 */
import { readFileSync } from 'node:fs';
import { LayoutError, TufctlError, VerificationError } from '../errors.js';
import { layoutProblems } from './layout-rules.js';
import { keysRotatedAway, readPublishedState, type PublishedState } from './published-state.js';
import { verifyRepository, type RepositoryView, type TargetEntry } from '../verify/verify-repository.js';
import type { OciRepository, OciStats, OciTarget, Descriptor } from './store.js';
import {
  FILENAME_ANNOTATION,
  LATEST_TAG,
  METADATA_LAYER_MEDIA_TYPE,
  MANIFEST_MEDIA_TYPE,
  TARGET_LAYER_MEDIA_TYPE,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  buildIndex,
  buildManifest,
  consistentTargetName,
  digestOf,
  layerDescriptor,
  parseManifest,
} from './tuf-layout.js';

export const VERSION_CONSTRAINTS_TARGET = 'version-constraints';

export interface PublishOptions {
  metadataRepository?: string;
  targetsRepository?: string;
  now?: Date;
  /** The registry's state read just before (the refresh job has it already): saves reading it twice. */
  published?: PublishedState;
  /** The root version clients embed (verification starts there; default from tufctl.json). */
  trustedRootVersion?: number;
  /** Called for every file as it is uploaded, skipped or tagged (progress display). */
  onProgress?: (event: PublishEvent) => void;
}

export interface PublishEvent {
  action: 'upload' | 'skip' | 'tag';
  repository: string;
  name: string;
}

export interface PublishReport {
  location: string;
  /** Whether the registry changed at all. */
  changed: boolean;
  uploaded: string[];
  tagged: string[];
  skipped: number;
  versions: { root: number; timestamp: number; snapshot: number; targets: number };
  /** Digest of the `latest` manifest this publish left (or found) in place. */
  latestDigest?: string;
  /** Targets described without a local file (e.g. image digests): signed, but nothing to upload. */
  targetsWithoutFiles: number;
  stats: OciStats;
}

function versionFromName(name: string): number | undefined {
  const match = /^(\d+)\./.exec(name);
  return match ? Number(match[1]) : undefined;
}

function metadataFileName(role: string, version: number): string {
  return role === 'timestamp' ? 'timestamp.json' : `${version}.${role}.json`;
}

class Publisher {
  readonly report: PublishReport;
  readonly #onProgress: ((event: PublishEvent) => void) | undefined;

  constructor(location: string, onProgress: PublishOptions['onProgress']) {
    this.#onProgress = onProgress;
    this.report = {
      location,
      changed: false,
      uploaded: [],
      tagged: [],
      skipped: 0,
      versions: { root: 0, timestamp: 0, snapshot: 0, targets: 0 },
      targetsWithoutFiles: 0,
      stats: { requests: 0, bytesUploaded: 0, blobsUploaded: 0, manifestsPut: 0 },
    };
  }

  event(action: PublishEvent['action'], repository: OciRepository, name: string): void {
    if (action === 'skip') this.report.skipped++;
    else this.report.changed = true;
    if (action === 'upload') this.report.uploaded.push(`${repository.name}@${name}`);
    if (action === 'tag') this.report.tagged.push(`${repository.name}:${name}`);
    this.#onProgress?.({ action, repository: repository.name, name });
  }

  async uploadBlob(repository: OciRepository, digest: string, bytes: Buffer, name: string): Promise<void> {
    await repository.putBlob(digest, bytes);
    this.event('upload', repository, name);
  }

  /** Uploads a blob unless `known` says it is present, or the registry has it. */
  async ensureBlob(repository: OciRepository, digest: string, bytes: () => Buffer, name: string, known = false): Promise<void> {
    if (known || (await repository.hasBlob(digest))) {
      this.event('skip', repository, name);
      return;
    }
    await repository.putBlob(digest, bytes());
    this.event('upload', repository, name);
  }

  async ensureEmptyConfig(repository: OciRepository, checked: Set<OciRepository>): Promise<void> {
    if (checked.has(repository)) return;
    checked.add(repository);
    await this.ensureBlob(repository, EMPTY_CONFIG.digest, () => EMPTY_CONFIG_BYTES, 'config {}');
  }
}

function latestVersion(layers: Map<string, Descriptor>, role: string): { version: number; digest: string } | undefined {
  let best: { version: number; digest: string } | undefined;
  for (const [name, layer] of layers) {
    if (!name.endsWith(`.${role}.json`)) continue;
    const version = versionFromName(name);
    if (version !== undefined && (!best || version > best.version)) best = { version, digest: layer.digest };
  }
  return best;
}

/** Refuses rollbacks, forks and foreign repositories before anything is written. */
async function checkAgainstPublished(published: PublishedState, view: RepositoryView, meta: OciRepository): Promise<Set<string> | 'all'> {
  const layers = published.layers;
  if (published.latestDigest === undefined) return 'all';
  const where = `${meta.name}:${LATEST_TAG}`;
  // Root chain: the published roots must be ours.
  const ourRoot = Math.max(...view.rootHistory.keys());
  for (const [name, layer] of layers) {
    const match = /^(\d+)\.root\.json$/.exec(name);
    if (!match) continue;
    const version = Number(match[1]);
    const ours = view.rootHistory.get(version);
    if (!ours) {
      throw new TufctlError(
        'VERSION_ROLLBACK',
        `${where} already serves root v${version}; this checkout has root v${ourRoot} only (pull the newer repository first)`,
      );
    }
    if (digestOf(ours) !== layer.digest) {
      throw new TufctlError(
        'PUBLISH_REFUSED',
        `${where} holds a different repository: its root v${version} is not ours; refusing to publish over it`,
      );
    }
  }
  // The one exemption from "never publish an older version" (fast-forward attack recovery, TUF
  // specification 5.3.11, `tufctl recover --fast-forward`): snapshot or timestamp may go below the
  // published version only when our newest root trusts none of the keys the newest published root
  // trusted for that role. Clients that update to our root can no longer verify their cached copy,
  // discard it, and accept the lower version.
  const publishedRoots = [...layers.keys()].map((name) => /^(\d+)\.root\.json$/.exec(name)).filter((m) => m !== null);
  const publishedRoot = view.rootHistory.get(Math.max(...publishedRoots.map((m) => Number(m[1]))));
  const keysRotated = (role: string): boolean =>
    (role === 'snapshot' || role === 'timestamp') &&
    publishedRoot !== undefined &&
    keysRotatedAway(publishedRoot, view.rootHistory.get(ourRoot)!, role);
  const check = (
    role: string,
    ours: { version: number; bytes: Buffer },
    published: { version: number; digest: string } | undefined,
  ): boolean => {
    if (!published) return true;
    if (ours.version < published.version && keysRotated(role)) return true;
    if (ours.version < published.version) {
      throw new TufctlError(
        'VERSION_ROLLBACK',
        `${where} already serves ${role} v${published.version}; refusing to publish the older v${ours.version}`,
      );
    }
    if (ours.version === published.version && digestOf(ours.bytes) !== published.digest) {
      throw new TufctlError(
        'PUBLISH_REFUSED',
        `${where} already serves a different ${role} v${ours.version}; a new version is needed (run tufctl ${role === 'timestamp' || role === 'snapshot' ? role : 'sign'})`,
      );
    }
    return ours.version !== published.version;
  };
  const timestamp = view.roles.get('timestamp')!;
  const publishedTimestamp = published.roles.get('timestamp');
  if (publishedTimestamp) check('timestamp', timestamp, publishedTimestamp);
  check('targets', view.roles.get('targets')!, latestVersion(layers, 'targets'));
  const snapshot = view.roles.get('snapshot')!;
  const publishedSnapshot = latestVersion(layers, 'snapshot');
  const snapshotChanged = check('snapshot', snapshot, publishedSnapshot);
  if (!snapshotChanged) return new Set();
  if (!publishedSnapshot) return 'all';
  // Which targets roles differ from the published snapshot; refuse any that went backwards.
  const bytes = await meta.getBlob(publishedSnapshot.digest, 512 * 1024 * 1024);
  const publishedMeta = (JSON.parse(bytes.toString('utf8')) as { signed: { meta: Record<string, { version: number }> } }).signed.meta;
  const ourMeta = (JSON.parse(snapshot.bytes.toString('utf8')) as { signed: { meta: Record<string, { version: number }> } }).signed.meta;
  const changed = new Set<string>();
  for (const [file, entry] of Object.entries(ourMeta)) {
    const role = file.slice(0, -'.json'.length);
    const before = publishedMeta[file]?.version;
    if (before !== undefined && entry.version < before) {
      throw new TufctlError(
        'VERSION_ROLLBACK',
        `${where} already serves ${role} v${before}; refusing to publish the older v${entry.version}`,
      );
    }
    if (before !== entry.version) changed.add(role);
  }
  return changed;
}

/** Refuses, before anything is written, what registry clients could not read: every problem at once. */
function assertPublishable(view: RepositoryView): void {
  const constraints = view.targets.find((t) => t.role === 'targets' && t.path === VERSION_CONSTRAINTS_TARGET);
  const missingConstraints = constraints?.file
    ? undefined
    : `the repository has no "${VERSION_CONSTRAINTS_TARGET}" target file; registry TUF clients refuse to start without it (add targets/${VERSION_CONSTRAINTS_TARGET}, e.g. ">= v0.1.7-0", with tufctl target add)`;
  const problems = layoutProblems(view);
  if (problems.length > 0) {
    throw new LayoutError(
      `refusing to publish: the registry layout cannot carry ${problems.length === 1 ? problems[0]!.subject : `${problems.length} roles or targets`}; nothing was written`,
      [...problems.map((p) => `${p.subject} ${p.rule}`), ...(missingConstraints ? [missingConstraints] : [])],
    );
  }
  if (missingConstraints) throw new TufctlError('PUBLISH_REFUSED', missingConstraints);
}

/** Verifies the repository in `repoDir` and publishes it to `target`. */
export async function publishRepository(repoDir: string, target: OciTarget, options: PublishOptions = {}): Promise<PublishReport> {
  // Our verifier checks every file, signature and target; the tuf-js pass is limited to the
  // metadata refresh so a timestamp-only publish stays fast at thousands of targets.
  const { report: verification, view } = await verifyRepository(repoDir, {
    client: 'metadata',
    ...(options.now ? { now: options.now } : {}),
    ...(options.trustedRootVersion ? { trustedRootVersion: options.trustedRootVersion } : {}),
  });
  if (!verification.ok) {
    throw new VerificationError(
      `refusing to publish: the repository does not verify (${verification.problems.length} problem${verification.problems.length === 1 ? '' : 's'})`,
      verification.problems.map((p) => p.message),
    );
  }
  assertPublishable(view);
  const meta = target.repository(options.metadataRepository ?? 'tuf-metadata');
  const targetsRepo = target.repository(options.targetsRepository ?? 'tuf-targets');
  const publisher = new Publisher(target.location, options.onProgress);
  const rootVersion = Math.max(...view.rootHistory.keys());
  publisher.report.versions = {
    root: rootVersion,
    timestamp: view.roles.get('timestamp')!.version,
    snapshot: view.roles.get('snapshot')!.version,
    targets: view.roles.get('targets')!.version,
  };

  const published = options.published ?? (await readPublishedState(meta));
  const changedRoles = await checkAgainstPublished(published, view, meta);
  const isChanged = (role: string): boolean => changedRoles === 'all' || changedRoles.has(role);
  const configChecked = new Set<OciRepository>();

  // ---- 1. targets repository: content-addressed, so adding never disturbs what clients read now.
  const groups = new Map<string, TargetEntry[]>();
  for (const t of view.targets) {
    if (!isChanged(t.role)) continue;
    if (!t.file) {
      publisher.report.targetsWithoutFiles++;
      continue;
    }
    const sha256 = t.hashes.sha256;
    if (!sha256) throw new TufctlError('PUBLISH_REFUSED', `target ${t.path} has no sha256; the registry layout names targets by sha256`);
    if (!t.path.includes('/')) {
      const name = consistentTargetName(t.path, sha256);
      const layer = layerDescriptor({ name, digest: `sha256:${sha256}`, size: t.length, mediaType: TARGET_LAYER_MEDIA_TYPE });
      const manifest = buildManifest([layer]);
      const existing = await targetsRepo.headManifest(name);
      if (existing?.digest === manifest.digest) {
        publisher.event('skip', targetsRepo, name);
        continue;
      }
      await publisher.ensureEmptyConfig(targetsRepo, configChecked);
      await publisher.ensureBlob(targetsRepo, layer.digest, () => readFileSync(t.file!), name);
      await targetsRepo.putManifest(name, manifest.bytes, manifest.mediaType);
      publisher.event('tag', targetsRepo, name);
    } else {
      const segment = t.path.slice(0, t.path.indexOf('/'));
      if (!groups.has(segment)) groups.set(segment, []);
      groups.get(segment)!.push(t);
    }
  }
  for (const [segment, entries] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const old = await targetsRepo.getManifest(segment);
    const byPath = new Map<string, Descriptor>();
    if (old)
      for (const d of parseManifest(old.bytes).manifests)
        if (d.annotations?.[FILENAME_ANNOTATION]) byPath.set(d.annotations[FILENAME_ANNOTATION], d);
    const toPush: Array<{ entry: TargetEntry; manifest: ReturnType<typeof buildManifest>; bare: string }> = [];
    for (const t of entries) {
      const sha256 = t.hashes.sha256!;
      const full = consistentTargetName(t.path, sha256);
      const bare = `${sha256}.${t.path.slice(t.path.lastIndexOf('/') + 1)}`;
      const manifest = buildManifest([
        layerDescriptor({ name: bare, digest: `sha256:${sha256}`, size: t.length, mediaType: TARGET_LAYER_MEDIA_TYPE }),
      ]);
      if (byPath.get(full)?.digest === manifest.digest) continue;
      byPath.set(full, {
        mediaType: MANIFEST_MEDIA_TYPE,
        digest: manifest.digest,
        size: manifest.bytes.length,
        annotations: { [FILENAME_ANNOTATION]: full },
      });
      toPush.push({ entry: t, manifest, bare });
    }
    if (toPush.length === 0) {
      publisher.event('skip', targetsRepo, segment);
      continue;
    }
    await publisher.ensureEmptyConfig(targetsRepo, configChecked);
    for (const { entry, manifest, bare } of toPush) {
      await publisher.ensureBlob(targetsRepo, `sha256:${entry.hashes.sha256!}`, () => readFileSync(entry.file!), bare);
      await targetsRepo.putManifest(manifest.digest, manifest.bytes, manifest.mediaType);
    }
    const index = buildIndex([...byPath.values()]);
    await targetsRepo.putManifest(segment, index.bytes, index.mediaType);
    publisher.event('tag', targetsRepo, segment);
  }

  // ---- 2. delegated roles: each tag holds the previously published version and the new one.
  for (const [role, { bytes, version }] of view.roles) {
    if (role === 'timestamp' || role === 'snapshot' || role === 'targets' || !isChanged(role)) continue;
    const name = metadataFileName(role, version);
    const layer = layerDescriptor({ name, digest: digestOf(bytes), size: bytes.length, mediaType: METADATA_LAYER_MEDIA_TYPE });
    const old = await meta.getManifest(role);
    const oldLayers = old ? parseManifest(old.bytes).layers : [];
    if (oldLayers.some((l) => l.annotations?.[FILENAME_ANNOTATION] === name && l.digest === layer.digest)) {
      publisher.event('skip', meta, role);
      continue;
    }
    const previous = oldLayers
      .filter((l) => (versionFromName(l.annotations?.[FILENAME_ANNOTATION] ?? '') ?? 0) < version)
      .sort(
        (a, b) =>
          (versionFromName(b.annotations![FILENAME_ANNOTATION]!) ?? 0) - (versionFromName(a.annotations![FILENAME_ANNOTATION]!) ?? 0),
      )[0];
    await publisher.ensureEmptyConfig(meta, configChecked);
    await publisher.ensureBlob(meta, layer.digest, () => bytes, name);
    const manifest = buildManifest(previous ? [previous, layer] : [layer]);
    await meta.putManifest(role, manifest.bytes, manifest.mediaType);
    publisher.event('tag', meta, role);
  }

  // ---- 3. latest, last: the single switch to the new state.
  const files: Array<{ name: string; bytes: Buffer }> = [];
  for (const [version, bytes] of view.rootHistory) files.push({ name: `${version}.root.json`, bytes });
  for (const role of ['snapshot', 'targets', 'timestamp']) {
    const { bytes, version } = view.roles.get(role)!;
    files.push({ name: metadataFileName(role, version), bytes });
  }
  const layers = files.map((f) =>
    layerDescriptor({ name: f.name, digest: digestOf(f.bytes), size: f.bytes.length, mediaType: METADATA_LAYER_MEDIA_TYPE }),
  );
  const latest = buildManifest(layers);
  publisher.report.latestDigest = latest.digest;
  if (published.latestDigest === latest.digest) {
    publisher.event('skip', meta, LATEST_TAG);
  } else {
    const publishedDigests = new Set([...published.layers.values()].map((l) => l.digest));
    if (published.latestDigest === undefined) await publisher.ensureEmptyConfig(meta, configChecked);
    for (const [i, file] of files.entries()) {
      const digest = layers[i]!.digest;
      if (publishedDigests.has(digest)) publisher.event('skip', meta, file.name);
      // A metadata file the registry does not serve is nearly always new (a fresh timestamp): upload it
      // without asking first; uploading a blob that exists is harmless and costs the same two requests.
      else await publisher.uploadBlob(meta, digest, file.bytes, file.name);
    }
    // Registries have no compare-and-swap: check right before the tag move that nobody moved it since we read it.
    const current = await meta.headManifest(LATEST_TAG);
    if (current?.digest !== published.latestDigest) {
      throw new TufctlError(
        'PUBLISH_CONFLICT',
        `${meta.name}:${LATEST_TAG} changed while publishing timestamp v${publisher.report.versions.timestamp} (another publisher?); nothing was switched — run again to publish above it`,
      );
    }
    await meta.putManifest(LATEST_TAG, latest.bytes, latest.mediaType);
    publisher.event('tag', meta, LATEST_TAG);
  }
  publisher.report.stats = target.stats();
  return publisher.report;
}

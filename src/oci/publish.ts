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
 * Each step finishes before the next starts; within a step, up to
 * `concurrency` uploads run at once (target images, then the indexes that
 * list them, then the role tags), so the order above is what a client
 * polling the registry sees, however many requests are in flight.
 *
 * Nothing is written before everything is read and checked (the plan): the
 * registry's `latest` through the signature checks of published-state.ts,
 * then every tag this publish would move. A version lower than the validly
 * published one (for any role; the one exemption: snapshot and timestamp
 * after a rotation of their keys, for fast-forward recovery), the same
 * version with other validly signed bytes (a fork), or a root chain that
 * does not lead to ours is refused. What the signed metadata does not vouch
 * for — files in `latest` not validly signed, a delegated role's tag holding
 * a forged file, a target tag or index entry whose content is not the signed
 * target — is tampering (REGISTRY_TAMPERED), never a rollback; `repair`
 * rewrites those tags, after the same checks, never below a validly signed
 * version. Blobs and manifests already present are not uploaded again; what
 * is unchanged since the published snapshot is not even looked at (except by
 * `repair`, which looks at every tag), so a timestamp-only republish costs one
 * blob and one manifest. A blob is looked for (HEAD) before it is uploaded
 * only when what is published references it; any other is new to the
 * registry as far as its published state tells, and is uploaded straight
 * away (uploading a blob the registry has anyway is harmless).
 */
import { readFileSync } from 'node:fs';
import { LayoutError, TufctlError, VerificationError } from '../errors.js';
import { allSettledOrThrow, DEFAULT_CONCURRENCY, MAX_CONCURRENCY, MIN_CONCURRENCY, mapBounded, runBounded } from './bounded.js';
import { isJSONObject } from '../metadata/json.js';
import { layoutProblems } from './layout-rules.js';
import { publishedMetadataLimit } from './limits.js';
import {
  delegatedTrust,
  keysRotatedAway,
  light,
  readPublishedState,
  tamperedError,
  validSignatures,
  type PublishedState,
  type Tampering,
} from './published-state.js';
import { verifyRepository, type RepositoryView, type TargetEntry } from '../verify/verify-repository.js';
import type { OciRepository, OciStats, OciTarget, Descriptor, StoredManifest } from './store.js';
import {
  FILENAME_ANNOTATION,
  INDEX_MEDIA_TYPE,
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
import { own, parseJSON } from '../metadata/strict-json.js';

export const VERSION_CONSTRAINTS_TARGET = 'version-constraints';

export interface PublishOptions {
  metadataRepository?: string;
  targetsRepository?: string;
  now?: Date;
  /** The registry's state read (and verified) just before (the refresh job has it already): saves reading it twice. */
  published?: PublishedState;
  /** The root version clients embed (verification starts there; default from tufctl.json). */
  trustedRootVersion?: number;
  /**
   * Rewrite tags whose content the signed metadata does not vouch for instead
   * of refusing (REGISTRY_TAMPERED); every tag is checked, not only those of
   * changed roles. Rollback and fork checks stay: a validly signed version is
   * never lowered.
   */
  repair?: boolean;
  /** Read and check everything and return the plan, but write nothing. */
  dryRun?: boolean;
  /** Called for every file as it is uploaded, skipped or tagged (progress display). */
  onProgress?: (event: PublishEvent) => void;
  /** Called with the checked plan before anything is written. */
  onPlan?: (plan: TagMove[], tampered: Tampering[]) => void;
  /** Registry requests in flight at once, 1..64 (default 8). The publish order holds at any value. */
  concurrency?: number;
}

export interface PublishEvent {
  action: 'upload' | 'skip' | 'tag';
  repository: string;
  name: string;
}

/** One tag the publish moves (or would move). */
export interface TagMove {
  /** `repository:tag` */
  tag: string;
  /** The digest it points to now; absent when the tag is new. */
  from?: string;
  to: string;
  reason: string;
  /** Whether the move replaces content the signed metadata does not vouch for. */
  repair: boolean;
}

export interface PublishReport {
  location: string;
  /** Whether the registry changed at all. */
  changed: boolean;
  dryRun: boolean;
  uploaded: string[];
  tagged: string[];
  skipped: number;
  versions: { root: number; timestamp: number; snapshot: number; targets: number };
  /** Digest of the `latest` manifest this publish left (or found, or would leave) in place. */
  latestDigest?: string;
  /** Every tag moved (or, with dryRun, to be moved), in order, and why. */
  plan: TagMove[];
  /** What the registry served that the signed metadata did not vouch for (repaired by `repair`). */
  tampered: Tampering[];
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
      dryRun: false,
      uploaded: [],
      tagged: [],
      skipped: 0,
      versions: { root: 0, timestamp: 0, snapshot: 0, targets: 0 },
      plan: [],
      tampered: [],
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

  /**
   * Makes sure a blob is in the repository, once per publish whoever asks.
   * It is looked for first (HEAD) only when `referenced` lists it — what is
   * published refers to it, so it is likely there; any other blob is
   * uploaded straight away.
   */
  blob(repository: OciRepository, digest: string, bytes: () => Buffer, name: string): Promise<void> {
    const key = `${repository.name}@${digest}`;
    let done = this.#blobs.get(key);
    if (!done) {
      done = (async () => {
        if (this.referenced.has(digest) && (await repository.hasBlob(digest))) {
          this.event('skip', repository, name);
          return;
        }
        await repository.putBlob(digest, bytes());
        this.event('upload', repository, name);
      })();
      this.#blobs.set(key, done);
    }
    return done;
  }

  /** The OCI empty config every manifest names. */
  config(repository: OciRepository): Promise<void> {
    return this.blob(repository, EMPTY_CONFIG.digest, () => EMPTY_CONFIG_BYTES, 'config {}');
  }

  /** Digests of blobs what is published refers to (see blob). */
  readonly referenced = new Set<string>();
  readonly #blobs = new Map<string, Promise<void>>();

  /** Adds the target files a targets role's metadata lists to `referenced`. */
  referTargets(envelope: Envelope | undefined): void {
    const targets = envelope && isJSONObject(envelope.signed.targets) ? envelope.signed.targets : {};
    for (const entry of Object.values(targets)) {
      const hashes = isJSONObject(entry) && isJSONObject(entry.hashes) ? entry.hashes : undefined;
      if (typeof hashes?.sha256 === 'string') this.referenced.add(`sha256:${hashes.sha256}`);
    }
  }
}

/**
 * Refuses rollbacks, forks and foreign repositories (judged on what the
 * registry validly serves) before anything is written; returns the targets
 * roles that differ from the published snapshot.
 */
function checkAgainstPublished(published: PublishedState, view: RepositoryView, meta: OciRepository): Set<string> | 'all' {
  if (published.latestDigest === undefined) return 'all';
  const where = `${meta.name}:${LATEST_TAG}`;
  const ourRoot = Math.max(...view.rootHistory.keys());
  if (published.foreignRoots.length > 0) {
    throw new TufctlError(
      'PUBLISH_REFUSED',
      `${where} holds a different repository: its root v${published.foreignRoots[0]} is not ours; refusing to publish over it`,
    );
  }
  const publishedRoot = published.roles.get('root');
  if (publishedRoot && publishedRoot.version > ourRoot) {
    throw new TufctlError(
      'VERSION_ROLLBACK',
      `${where} already serves root v${publishedRoot.version}; this checkout has root v${ourRoot} only (pull the newer repository first)`,
    );
  }
  // The one exemption from "never publish an older version" (fast-forward attack recovery, TUF
  // specification 5.3.11, `tufctl recover --fast-forward`): snapshot or timestamp may go below the
  // published version only when our newest root trusts none of the keys the newest published root
  // trusted for that role. Clients that update to our root can no longer verify their cached copy,
  // discard it, and accept the lower version.
  const keysRotated = (role: string): boolean =>
    (role === 'snapshot' || role === 'timestamp') &&
    publishedRoot?.bytes !== undefined &&
    keysRotatedAway(publishedRoot.bytes, view.rootHistory.get(ourRoot)!, role);
  const check = (role: string, ours: { version: number; bytes: Buffer }): boolean => {
    const theirs = published.roles.get(role);
    if (!theirs) return true;
    if (ours.version < theirs.version && keysRotated(role)) return true;
    if (ours.version < theirs.version) {
      throw new TufctlError(
        'VERSION_ROLLBACK',
        `${where} already serves ${role} v${theirs.version}; refusing to publish the older v${ours.version}`,
      );
    }
    if (ours.version === theirs.version && digestOf(ours.bytes) !== theirs.digest) {
      throw new TufctlError(
        'PUBLISH_REFUSED',
        `${where} already serves a different ${role} v${ours.version}; a new version is needed (run tufctl ${role === 'timestamp' || role === 'snapshot' ? role : 'sign'})`,
      );
    }
    return ours.version !== theirs.version;
  };
  check('timestamp', view.roles.get('timestamp')!);
  check('targets', view.roles.get('targets')!);
  const snapshot = view.roles.get('snapshot')!;
  const snapshotChanged = check('snapshot', snapshot);
  if (!snapshotChanged) return new Set();
  const publishedSnapshot = published.roles.get('snapshot');
  const theirs = publishedSnapshot?.bytes && light(publishedSnapshot.bytes, 'snapshot');
  if (!theirs) return 'all';
  // Which targets roles differ from the published snapshot; refuse any that went backwards.
  const publishedMeta = isJSONObject(theirs.signed.meta) ? theirs.signed.meta : {};
  const ourMeta = (parseJSON(snapshot.bytes) as { signed: { meta: Record<string, { version: number }> } }).signed.meta;
  const changed = new Set<string>();
  for (const [file, entry] of Object.entries(ourMeta)) {
    const role = file.slice(0, -'.json'.length);
    const listed = own(publishedMeta, file);
    const before = isJSONObject(listed) && typeof listed.version === 'number' ? listed.version : undefined;
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

/**
 * A tag's stored manifest parsed, when it is of media type `expected`; else
 * only the media type it has instead (undefined when it is not JSON).
 */
function manifestOfType(
  stored: StoredManifest,
  expected: string,
): { parsed?: ReturnType<typeof parseManifest>; mediaType: string | undefined } {
  let parsed: ReturnType<typeof parseManifest> | undefined;
  try {
    parsed = parseManifest(stored.bytes);
  } catch {
    parsed = undefined;
  }
  const mediaType = stored.mediaType || parsed?.mediaType;
  return parsed && mediaType === expected ? { parsed, mediaType } : { mediaType };
}

/** Why a stored manifest does not carry the signed target (sha256, length), or undefined when it does. */
function targetContentProblem(stored: StoredManifest | undefined, sha256: string, length: number, layerName?: string): string | undefined {
  if (!stored) return 'points to a manifest the registry does not have';
  let parsed: ReturnType<typeof parseManifest>;
  try {
    parsed = parseManifest(stored.bytes);
  } catch {
    return 'is not a JSON manifest';
  }
  const mediaType = stored.mediaType || parsed.mediaType;
  if (mediaType !== MANIFEST_MEDIA_TYPE) return `is a ${mediaType || 'manifest of no media type'}, not an image manifest`;
  const layer = layerName ? parsed.layers.find((l) => l?.annotations?.[FILENAME_ANNOTATION] === layerName) : parsed.layers[0];
  if (!layer) return `has no layer${layerName ? ` named ${layerName}` : ''}`;
  if (layer.digest !== `sha256:${sha256}`) return `serves ${String(layer.digest)}, not the signed sha256:${sha256}`;
  if (layer.size !== length) return `declares ${String(layer.size)} bytes, not the signed ${length}`;
  return undefined;
}

type Envelope = NonNullable<ReturnType<typeof light>>;

/**
 * The delegated roles' tags as the registry holds them, and the checks of
 * their layers: a layer is trusted when it is our file, or targets metadata
 * of the version its name says, signed by the keys its delegator trusts — as
 * our checkout delegates (the usual case), else as the registry's published
 * delegator does (after a key change for the role).
 */
class DelegatedTags {
  readonly #meta: OciRepository;
  readonly #view: RepositoryView;
  readonly #published: PublishedState;
  readonly #tags = new Map<string, Promise<StoredManifest | undefined>>();
  readonly #files = new Map<string, Promise<Envelope | undefined>>();
  readonly #envelopes = new Map<string, Envelope | undefined>();
  #delegators: Map<string, string> | undefined;

  constructor(meta: OciRepository, view: RepositoryView, published: PublishedState) {
    this.#meta = meta;
    this.#view = view;
    this.#published = published;
  }

  tag(role: string): Promise<StoredManifest | undefined> {
    let tag = this.#tags.get(role);
    if (!tag) this.#tags.set(role, (tag = this.#meta.getManifest(role)));
    return tag;
  }

  /** The version of `role` the registry's validly signed snapshot names. */
  registryVersion(role: string): number | undefined {
    const bytes = this.#published.roles.get('snapshot')?.bytes;
    const snapshot = bytes && this.#envelope(`published snapshot`, bytes, 'snapshot');
    const meta = snapshot && isJSONObject(snapshot.signed.meta) ? snapshot.signed.meta[`${role}.json`] : undefined;
    return isJSONObject(meta) && typeof meta.version === 'number' ? meta.version : undefined;
  }

  #envelope(key: string, bytes: Buffer, type: string): Envelope | undefined {
    if (!this.#envelopes.has(key)) this.#envelopes.set(key, light(bytes, type));
    return this.#envelopes.get(key);
  }

  /** Our checkout's delegator of each delegated role. */
  #delegatorOf(role: string): string | undefined {
    if (!this.#delegators) {
      this.#delegators = new Map();
      const bins: Array<{ delegator: string; envelope: Envelope }> = [];
      for (const [name, { bytes }] of this.#view.roles) {
        if (name === 'timestamp' || name === 'snapshot') continue;
        const envelope = this.#envelope(`our ${name}`, bytes, 'targets');
        const delegations = envelope?.signed.delegations;
        if (!envelope || !isJSONObject(delegations)) continue;
        if (isJSONObject(delegations.succinct_roles)) bins.push({ delegator: name, envelope });
        for (const entry of Array.isArray(delegations.roles) ? delegations.roles : []) {
          if (isJSONObject(entry) && typeof entry.name === 'string') this.#delegators.set(entry.name, name);
        }
      }
      for (const [name] of this.#view.roles) {
        if (this.#delegators.has(name)) continue;
        const bin = bins.find((b) => delegatedTrust(b.envelope, name));
        if (bin) this.#delegators.set(name, bin.delegator);
      }
    }
    return this.#delegators.get(role);
  }

  /** Why a layer of `role`'s tag is not trustworthy, or its envelope. */
  async check(role: string, layer: Descriptor, name: string): Promise<{ envelope: Envelope } | { problem: string }> {
    const own = this.#view.roles.get(role)?.bytes;
    if (own && layer.digest === digestOf(own)) {
      const envelope = this.#envelope(`our ${role}`, own, 'targets');
      if (envelope) return { envelope };
    }
    const cap = publishedMetadataLimit('targets', own?.length ?? 0);
    if (typeof layer.size === 'number' && layer.size > cap) return { problem: `is ${layer.size} bytes, more than the ${cap} allowed here` };
    let bytes: Buffer;
    try {
      bytes = await this.#meta.getBlob(layer.digest, cap);
    } catch (error) {
      if (error instanceof TufctlError && (error.code === 'RESPONSE_TOO_LARGE' || error.code === 'DIGEST_MISMATCH')) {
        return { problem: error.message };
      }
      throw error;
    }
    const envelope = light(bytes, 'targets');
    if (!envelope) return { problem: 'is not targets metadata' };
    if (versionFromName(name) !== envelope.signed.version) return { problem: `holds ${role} v${envelope.signed.version}` };
    const delegator = this.#delegatorOf(role);
    const ours = delegator ? this.#trustIn(`our ${delegator}`, this.#view.roles.get(delegator)?.bytes, role) : undefined;
    if (ours && validSignatures(envelope, ours) >= ours.threshold) return { envelope };
    // Keys for the role may have changed since the registry's version: the registry's own delegator decides then.
    const theirs = delegator ? await this.#publishedFile(delegator) : undefined;
    const trust = theirs ? delegatedTrust(theirs, role) : undefined;
    if (trust && validSignatures(envelope, trust) >= trust.threshold) return { envelope };
    const used = trust ?? ours;
    return {
      problem: `(v${envelope.signed.version}) is not signed by the keys ${delegator ?? 'its delegator'} trusts for ${role}${used ? ` (${validSignatures(envelope, used)}/${used.threshold} valid signatures)` : ''}`,
    };
  }

  #trustIn(key: string, bytes: Buffer | undefined, role: string): ReturnType<typeof delegatedTrust> {
    const envelope = bytes && this.#envelope(key, bytes, 'targets');
    return envelope ? delegatedTrust(envelope, role) : undefined;
  }

  /** The registry's current file of a targets role (the version its snapshot names), when it checks out. */
  #publishedFile(role: string): Promise<Envelope | undefined> {
    let file = this.#files.get(role);
    if (!file) {
      file = (async () => {
        if (role === 'targets') {
          const bytes = this.#published.roles.get('targets')?.bytes;
          return bytes ? this.#envelope('published targets', bytes, 'targets') : undefined;
        }
        const version = this.registryVersion(role);
        const stored = version === undefined ? undefined : await this.tag(role);
        if (!stored) return undefined;
        const name = `${version}.${role}.json`;
        let layer: Descriptor | undefined;
        try {
          layer = parseManifest(stored.bytes).layers.find((l) => l?.annotations?.[FILENAME_ANNOTATION] === name);
        } catch {
          return undefined;
        }
        const result = layer ? await this.check(role, layer, name) : undefined;
        return result && 'envelope' in result ? result.envelope : undefined;
      })();
      this.#files.set(role, file);
    }
    return file;
  }
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
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < MIN_CONCURRENCY || concurrency > MAX_CONCURRENCY) {
    throw new TufctlError(
      'USAGE',
      `concurrency must be a whole number from ${MIN_CONCURRENCY} to ${MAX_CONCURRENCY} (got ${String(options.concurrency)})`,
    );
  }
  assertPublishable(view);
  const meta = target.repository(options.metadataRepository ?? 'tuf-metadata');
  const targetsRepo = target.repository(options.targetsRepository ?? 'tuf-targets');
  const publisher = new Publisher(target.location, options.onProgress);
  const report = publisher.report;
  report.dryRun = options.dryRun === true;
  const rootVersion = Math.max(...view.rootHistory.keys());
  report.versions = {
    root: rootVersion,
    timestamp: view.roles.get('timestamp')!.version,
    snapshot: view.roles.get('snapshot')!.version,
    targets: view.roles.get('targets')!.version,
  };

  // ================= the plan: every read and check, nothing written
  const published =
    options.published ??
    (await readPublishedState(meta, {
      roots: view.rootHistory,
      timestamp: view.roles.get('timestamp')!.bytes,
      snapshot: view.roles.get('snapshot')!.bytes,
      targets: view.roles.get('targets')!.bytes,
    }));
  const tampered: Tampering[] = [...published.tampered];
  const changedRoles = checkAgainstPublished(published, view, meta);
  // Repair looks at every tag; otherwise only the roles that differ from the published snapshot.
  const isChanged = (role: string): boolean => options.repair === true || changedRoles === 'all' || changedRoles.has(role);
  const plan: TagMove[] = [];
  // The writes, by step: target images, the indexes listing them, delegated role tags, `latest`.
  const images: Array<() => Promise<void>> = [];
  const indexes: Array<() => Promise<void>> = [];
  const roleTags: Array<() => Promise<void>> = [];
  const switchLatest: Array<() => Promise<void>> = [];
  if (published.latestDigest !== undefined) {
    // What the registry publishes refers to these blobs; every other one is new to it.
    publisher.referenced.add(EMPTY_CONFIG.digest);
    for (const layer of published.layers.values()) publisher.referenced.add(layer.digest);
    const publishedTargets = published.roles.get('targets')?.bytes;
    publisher.referTargets(publishedTargets && light(publishedTargets, 'targets'));
  }
  const move = (repository: OciRepository, tag: string, from: string | undefined, to: string, reason: string, repair = false): void =>
    void plan.push({ tag: `${repository.name}:${tag}`, ...(from ? { from } : {}), to, reason, repair });
  const flag = (repository: OciRepository, tag: string, subject: string, problem: string): string => {
    tampered.push({ tag: `${repository.name}:${tag}`, subject, problem });
    return `${subject} ${problem}`;
  };

  // ---- 1. targets repository: content-addressed, so adding never disturbs what clients read now.
  const groups = new Map<string, TargetEntry[]>();
  const topLevel: Array<{ t: TargetEntry; file: string; sha256: string; name: string }> = [];
  for (const t of view.targets) {
    if (!isChanged(t.role)) {
      // Unchanged since the published snapshot: the registry has these files.
      if (t.hashes.sha256) publisher.referenced.add(`sha256:${t.hashes.sha256}`);
      continue;
    }
    if (!t.file) {
      report.targetsWithoutFiles++;
      continue;
    }
    const sha256 = t.hashes.sha256;
    if (!sha256) throw new TufctlError('PUBLISH_REFUSED', `target ${t.path} has no sha256; the registry layout names targets by sha256`);
    if (t.path.includes('/')) {
      const segment = t.path.slice(0, t.path.indexOf('/'));
      if (!groups.has(segment)) groups.set(segment, []);
      groups.get(segment)!.push(t);
      continue;
    }
    topLevel.push({ t, file: t.file, sha256, name: consistentTargetName(t.path, sha256) });
  }
  // One tag per top-level target to look at: read in parallel, judged in order.
  const heads = await mapBounded(topLevel, concurrency, ({ name }) => targetsRepo.headManifest(name));
  for (const [i, { t, file, sha256, name }] of topLevel.entries()) {
    const layer = layerDescriptor({ name, digest: `sha256:${sha256}`, size: t.length, mediaType: TARGET_LAYER_MEDIA_TYPE });
    const manifest = buildManifest([layer]);
    const existing = heads[i];
    if (existing?.digest === manifest.digest) {
      publisher.event('skip', targetsRepo, name);
      continue;
    }
    let reason = `target ${t.path}`;
    if (existing) {
      // Another tool may have written the same content differently: only other content is tampering.
      const problem = targetContentProblem(await targetsRepo.getManifest(name), sha256, t.length, name);
      if (!problem) {
        publisher.event('skip', targetsRepo, name);
        continue;
      }
      reason = flag(targetsRepo, name, `target ${t.path}:`, `the tag ${problem}`);
    }
    move(targetsRepo, name, existing?.digest, manifest.digest, reason, existing !== undefined);
    images.push(async () => {
      await allSettledOrThrow([publisher.config(targetsRepo), publisher.blob(targetsRepo, layer.digest, () => readFileSync(file), name)]);
      await targetsRepo.putManifest(name, manifest.bytes, manifest.mediaType);
      publisher.event('tag', targetsRepo, name);
    });
  }
  for (const [segment, entries] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const old = await targetsRepo.getManifest(segment);
    const byPath = new Map<string, Descriptor>();
    const problems: string[] = [];
    if (old) {
      const seen = manifestOfType(old, INDEX_MEDIA_TYPE);
      if (!seen.parsed)
        problems.push(flag(targetsRepo, segment, 'the tag', `is a ${seen.mediaType ?? 'non-JSON manifest'}, not an image index`));
      else
        for (const d of seen.parsed.manifests) {
          const path = d?.annotations?.[FILENAME_ANNOTATION];
          if (path && typeof d.digest === 'string') byPath.set(path, d);
        }
    }
    const toPush: Array<{ entry: TargetEntry; manifest: ReturnType<typeof buildManifest>; bare: string }> = [];
    for (const t of entries) {
      const sha256 = t.hashes.sha256!;
      const full = consistentTargetName(t.path, sha256);
      const bare = `${sha256}.${t.path.slice(t.path.lastIndexOf('/') + 1)}`;
      const manifest = buildManifest([
        layerDescriptor({ name: bare, digest: `sha256:${sha256}`, size: t.length, mediaType: TARGET_LAYER_MEDIA_TYPE }),
      ]);
      const listed = byPath.get(full);
      if (listed?.digest === manifest.digest) continue;
      if (listed) {
        const problem = targetContentProblem(await targetsRepo.getManifest(listed.digest), sha256, t.length);
        if (!problem) continue;
        problems.push(flag(targetsRepo, segment, `entry ${full}`, problem));
      }
      byPath.set(full, {
        mediaType: MANIFEST_MEDIA_TYPE,
        digest: manifest.digest,
        size: manifest.bytes.length,
        annotations: { [FILENAME_ANNOTATION]: full },
      });
      toPush.push({ entry: t, manifest, bare });
    }
    if (toPush.length === 0 && problems.length === 0) {
      publisher.event('skip', targetsRepo, segment);
      continue;
    }
    const index = buildIndex([...byPath.values()]);
    move(
      targetsRepo,
      segment,
      old?.digest,
      index.digest,
      problems.length > 0 ? problems.join('; ') : `${toPush.length} target${toPush.length === 1 ? '' : 's'} under ${segment}/`,
      problems.length > 0,
    );
    for (const { entry, manifest, bare } of toPush) {
      images.push(async () => {
        await allSettledOrThrow([
          publisher.config(targetsRepo),
          publisher.blob(targetsRepo, `sha256:${entry.hashes.sha256!}`, () => readFileSync(entry.file!), bare),
        ]);
        await targetsRepo.putManifest(manifest.digest, manifest.bytes, manifest.mediaType);
      });
    }
    // The index only once every image it lists is there (the registry checks, and so do clients).
    indexes.push(async () => {
      await targetsRepo.putManifest(segment, index.bytes, index.mediaType);
      publisher.event('tag', targetsRepo, segment);
    });
  }

  // ---- 2. delegated roles: each tag holds the version the registry's snapshot names and the new one.
  const delegated = new DelegatedTags(meta, view, published);
  const changedDelegated = [...view.roles.keys()].filter(
    (role) => role !== 'timestamp' && role !== 'snapshot' && role !== 'targets' && isChanged(role),
  );
  // Their tags are read in parallel (kept by DelegatedTags), then judged in order.
  await mapBounded(changedDelegated, concurrency, (role) => delegated.tag(role));
  for (const [role, { bytes, version }] of view.roles) {
    if (role === 'timestamp' || role === 'snapshot' || role === 'targets' || !isChanged(role)) continue;
    const name = metadataFileName(role, version);
    const layer = layerDescriptor({ name, digest: digestOf(bytes), size: bytes.length, mediaType: METADATA_LAYER_MEDIA_TYPE });
    const old = await delegated.tag(role);
    const problems: string[] = [];
    let oldLayers: Descriptor[] = [];
    if (old) {
      const seen = manifestOfType(old, MANIFEST_MEDIA_TYPE);
      if (!seen.parsed) problems.push(flag(meta, role, 'the tag', `is a ${seen.mediaType ?? 'non-JSON manifest'}, not an image manifest`));
      else oldLayers = seen.parsed.layers;
    }
    const registryVersion = delegated.registryVersion(role);
    let hasOurs = false;
    let previous: { layer: Descriptor; version: number } | undefined;
    for (const l of oldLayers) {
      const file = l?.annotations?.[FILENAME_ANNOTATION];
      if (typeof l?.digest === 'string') publisher.referenced.add(l.digest);
      if (file === name && l.digest === layer.digest) {
        hasOurs = true;
        continue;
      }
      const v = file ? versionFromName(file) : undefined;
      if (!file || v === undefined || file !== `${v}.${role}.json`) {
        problems.push(flag(meta, role, file ?? String(l?.digest), `is not a ${role} metadata file`));
        continue;
      }
      // Older layers other than the one clients of the current `latest` read are dropped unread, and so is
      // a layer of our version that no published snapshot names (left by an interrupted publish).
      if (v < version && registryVersion !== undefined && v !== registryVersion) continue;
      if (v === version && registryVersion !== version) continue;
      const checked = await delegated.check(role, l, file);
      if ('problem' in checked) {
        problems.push(flag(meta, role, file, checked.problem));
        continue;
      }
      publisher.referTargets(checked.envelope);
      if (v > version) {
        throw new TufctlError(
          'VERSION_ROLLBACK',
          `${meta.name}:${role} already holds a validly signed ${role} v${v}; refusing to publish the older v${version} (pull the newer repository first)`,
        );
      }
      if (v === version) {
        throw new TufctlError(
          'PUBLISH_REFUSED',
          `${meta.name}:${role} already holds a different, validly signed ${role} v${version}; a new version is needed (run tufctl sign)`,
        );
      }
      if (!previous || v > previous.version) previous = { layer: l, version: v };
    }
    // The file clients of the current `latest` read must be there (publish writes tags before `latest`).
    const needed = registryVersion === undefined ? undefined : `${registryVersion}.${role}.json`;
    const present = registryVersion === version ? hasOurs : previous?.version === registryVersion;
    if (needed && !present && !problems.some((p) => p.startsWith(`${needed} `))) {
      problems.push(flag(meta, role, needed, 'is missing, though the published snapshot names it'));
    }
    if (hasOurs && problems.length === 0) {
      publisher.event('skip', meta, role);
      continue;
    }
    const manifest = buildManifest(previous ? [previous.layer, layer] : [layer]);
    move(meta, role, old?.digest, manifest.digest, problems.length > 0 ? problems.join('; ') : `${role} v${version}`, problems.length > 0);
    roleTags.push(async () => {
      await allSettledOrThrow([publisher.config(meta), publisher.blob(meta, layer.digest, () => bytes, name)]);
      await meta.putManifest(role, manifest.bytes, manifest.mediaType);
      publisher.event('tag', meta, role);
    });
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
  report.latestDigest = latest.digest;
  if (published.latestDigest === latest.digest) {
    publisher.event('skip', meta, LATEST_TAG);
  } else {
    const publishedDigests = new Set([...published.layers.values()].map((l) => l.digest));
    const inLatest = published.tampered.filter((t) => t.tag === `${meta.name}:${LATEST_TAG}`);
    const newFiles = files.filter((_, i) => !publishedDigests.has(layers[i]!.digest)).map((f) => f.name);
    move(
      meta,
      LATEST_TAG,
      published.latestDigest,
      latest.digest,
      inLatest.length > 0
        ? inLatest.map((t) => `${t.subject} ${t.problem}`).join('; ')
        : published.latestDigest === undefined
          ? 'first publish'
          : `new ${newFiles.join(', ') || 'layer set'}`,
      inLatest.length > 0,
    );
    switchLatest.push(async () => {
      const uploads: Array<() => Promise<void>> = published.latestDigest === undefined ? [() => publisher.config(meta)] : [];
      for (const [i, file] of files.entries()) {
        const digest = layers[i]!.digest;
        if (publishedDigests.has(digest)) publisher.event('skip', meta, file.name);
        // A metadata file `latest` does not hold is new (a fresh timestamp): uploaded without asking first.
        else uploads.push(() => publisher.blob(meta, digest, () => file.bytes, file.name));
      }
      await runBounded(uploads, concurrency);
      // Registries have no compare-and-swap: check right before the tag move that nobody moved it since we read it.
      const current = await meta.headManifest(LATEST_TAG);
      if (current?.digest !== published.latestDigest) {
        throw new TufctlError(
          'PUBLISH_CONFLICT',
          `${meta.name}:${LATEST_TAG} changed while publishing timestamp v${report.versions.timestamp} (another publisher?); nothing was switched — run again to publish above it`,
        );
      }
      await meta.putManifest(LATEST_TAG, latest.bytes, latest.mediaType);
      publisher.event('tag', meta, LATEST_TAG);
    });
  }

  report.plan = plan;
  report.tampered = tampered;
  if (tampered.length > 0 && !options.repair) {
    throw tamperedError(target.location, tampered, 'refusing to publish, nothing was written');
  }
  options.onPlan?.(plan, tampered);
  // ================= the writes, in publish order: each step done before the next starts
  if (!options.dryRun) {
    const batched = (step: Array<() => Promise<void>>): Promise<void> =>
      target.batchTags ? target.batchTags(() => runBounded(step, concurrency)) : runBounded(step, concurrency);
    // `latest` moves alone, right after its conflict check.
    for (const step of [images, indexes, roleTags]) await batched(step);
    await runBounded(switchLatest, concurrency);
  }
  report.stats = target.stats();
  return report;
}

/**
 * The scheduled refresh job (`tufctl refresh`): the heartbeat that keeps the
 * timestamp (and snapshot) fresh, ratcheting forward only.
 *
 *   1. read the checkout and what the registry serves; for snapshot and
 *      timestamp the floor is the higher of the two versions;
 *   2. decide per role (decide.ts, docs/refresh.md);
 *   3. sign new snapshot/timestamp with the online key at floor + 1, verify,
 *      publish, re-read the registry to detect a concurrent publisher, then
 *      commit (and push);
 *   4. report. Nothing due: nothing written, exit 0.
 *
 * A checkout older than the registry in an offline role (targets, root,
 * delegations) is refused: it cannot be fixed without offline keys.
 */
import { readFileSync, existsSync } from 'node:fs';
import { TufctlError, VerificationError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { commitStaged, pushBranch } from '../git/git-repo.js';
import type { Signer } from '../keys/signer.js';
import { parseExpiry } from '../metadata/expiry.js';
import { Repository } from '../metadata/repository.js';
import { doSnapshot, doTimestamp, snapshotChanges, type OnlineRoleResult } from '../metadata/snapshot-timestamp.js';
import { publishRepository, type PublishReport } from '../oci/publish.js';
import {
  keysRotatedAway,
  localMetadata,
  readPublishedState,
  tamperedError,
  type PublishedRole,
  type PublishedState,
} from '../oci/published-state.js';
import type { OciRepository, OciTarget } from '../oci/store.js';
import { LATEST_TAG } from '../oci/tuf-layout.js';
import { repositoryStatus } from '../status.js';
import { verifyRepository } from '../verify/verify-repository.js';
import { groupCandidatesOf, type GroupCandidate } from './signing-groups.js';
import { decideRefresh, offlineNotices, type OfflineNotice, type OnlineRoleState, type RefreshPlan } from './decide.js';

export interface RefreshOptions {
  repoDir: string;
  now?: Date;
  /** Where clients read from: its state sets the floor, and the result is published there. */
  target?: OciTarget;
  metadataRepository?: string;
  targetsRepository?: string;
  /** Registry uploads in flight at once when publishing (publish.ts; default 8). */
  concurrency?: number;
  /** The online signer(s), asked for only when something is to be signed. */
  signers: (repo: Repository) => Promise<Signer[]>;
  dryRun?: boolean;
  /** Re-sign the timestamp even when it is not due. */
  force?: boolean;
  /** Use git (base versions, commit); false for a plain directory. */
  git?: boolean;
  commit?: boolean;
  /** Without a target, verify the refreshed repository before keeping it (default true). */
  verify?: boolean;
  /** Push the commit to this remote (the current branch). */
  push?: string;
  /** The root version clients embed (verification starts there; default from tufctl.json). */
  trustedRootVersion?: number;
  onProgress?: (line: string) => void;
}

export interface RefreshReport {
  now: string;
  plan: RefreshPlan;
  dryRun: boolean;
  signed: OnlineRoleResult[];
  /** Repository-relative files written. */
  written: string[];
  published?: Pick<PublishReport, 'location' | 'changed' | 'uploaded' | 'tagged' | 'versions' | 'stats'>;
  commit?: string;
  pushed?: string;
  /** What the registry held before the run. */
  registry?: { timestamp?: number; snapshot?: number };
}

function onlineState(repo: Repository, role: 'snapshot' | 'timestamp', published: PublishedRole | undefined): OnlineRoleState {
  const version = repo.version(role);
  const clientsSee = published && published.version > version ? published.expires : (repo.signed(role).expires as string);
  const state: OnlineRoleState = {
    version,
    expires: parseExpiry(clientsSee) ?? new Date(0),
    periods: repo.periods(role),
    validlySigned: repo.signatureStatus(role).ok,
  };
  if (published) state.publishedVersion = published.version;
  return state;
}

/**
 * After a rotation of the online keys (`tufctl recover --fast-forward`, `key
 * rotate-online`) not yet published, the registry's snapshot/timestamp were
 * signed by keys our root no longer trusts: their versions are no floor (a
 * fast-forwarded version must not be carried on). Same rule as publish's.
 */
function forgetRotatedRoles(published: PublishedState, repo: Repository): void {
  const publishedRoot = published.roles.get('root');
  if (!publishedRoot?.bytes || publishedRoot.version >= repo.version('root')) return;
  for (const role of ['snapshot', 'timestamp'] as const) {
    if (keysRotatedAway(publishedRoot.bytes, repo.fileBytes('root'), role)) published.roles.delete(role);
  }
}

/** A checkout behind the registry in a role refresh cannot sign is an operator error, not something to paper over. */
function assertNotBehind(repo: Repository, published: PublishedState): void {
  for (const role of ['root', 'targets'] as const) {
    const remote = published.roles.get(role);
    if (remote && remote.version > repo.version(role)) {
      throw new TufctlError(
        'VERSION_ROLLBACK',
        `the checkout is older than the registry: ${role} v${remote.version} is published, the checkout has v${repo.version(role)}; refresh from the newest commit`,
      );
    }
  }
}

/** Offline roles (root, targets, delegations; bin sets as one) inside their signing period or expired. */
export function dueOfflineRoles(repo: Repository): OfflineNotice[] {
  return offlineNotices(offlineStates(repo), repo.now);
}

/** Offline roles due now or whose signing period starts within `days` (signing-groups.ts). */
export function signingGroupCandidates(repo: Repository, days: number): GroupCandidate[] {
  return groupCandidatesOf(offlineStates(repo), repo.now, days);
}

function offlineStates(repo: Repository): Parameters<typeof decideRefresh>[0]['offline'] {
  return repositoryStatus(repo)
    .roles.filter((r) => r.role !== 'snapshot' && r.role !== 'timestamp')
    .map((r) => ({
      role: r.role,
      version: r.version,
      expires: parseExpiry(r.expires) ?? new Date(0),
      periods: repo.periods(r.bins ? `${r.bins.prefix}-0` : r.role),
    }));
}

export async function refresh(options: RefreshOptions): Promise<RefreshReport> {
  const now = options.now ?? new Date();
  const useGit = options.git !== false;
  const progress = options.onProgress ?? (() => {});
  const repo = Repository.open(options.repoDir, { now, git: useGit });
  const meta = options.target?.repository(options.metadataRepository ?? 'tuf-metadata');
  // What the registry serves counts only where it is ours or validly signed (published-state.ts, the same
  // checks publish makes): otherwise anyone able to write to the registry could push the job's versions to
  // 2^63 (a fast-forward attack done by our own job). Files equal to the checkout's are not downloaded.
  const published: PublishedState = meta
    ? await readPublishedState(meta, localMetadata(options.repoDir))
    : { layers: new Map(), roles: new Map(), tampered: [], foreignRoots: [] };
  if (published.tampered.length > 0) {
    throw tamperedError(options.target!.location, published.tampered, 'refusing to take its versions as floors, nothing was signed');
  }
  assertNotBehind(repo, published);
  if (meta) forgetRotatedRoles(published, repo);
  const plan = decideRefresh({
    now,
    changedTargetsRoles: snapshotChanges(repo).changed,
    snapshot: onlineState(repo, 'snapshot', published.roles.get('snapshot')),
    timestamp: onlineState(repo, 'timestamp', published.roles.get('timestamp')),
    offline: offlineStates(repo),
    force: options.force ?? false,
  });
  const report: RefreshReport = { now: now.toISOString(), plan, dryRun: options.dryRun ?? false, signed: [], written: [] };
  if (options.target) {
    report.registry = {};
    const ts = published.roles.get('timestamp')?.version;
    const snap = published.roles.get('snapshot')?.version;
    if (ts !== undefined) report.registry.timestamp = ts;
    if (snap !== undefined) report.registry.snapshot = snap;
  }
  // The registry may also lag the checkout (a publish that failed earlier): then publishing alone catches it up.
  const registryBehind = options.target !== undefined && (published.roles.get('timestamp')?.version ?? 0) < repo.version('timestamp');
  if (options.dryRun || (!plan.snapshot.sign && !plan.timestamp.sign && !registryBehind)) return report;

  const previous = new Map(
    ['snapshot', 'timestamp'].map((role) => [
      role,
      existsSync(repo.metadataPath(role)) ? readFileSync(repo.metadataPath(role)) : undefined,
    ]),
  );
  const restore = (): void => {
    for (const [role, bytes] of previous) if (bytes) writeFileAtomic(repo.metadataPath(role), bytes);
  };
  if (plan.snapshot.sign || plan.timestamp.sign) {
    const signers = await options.signers(repo);
    if (plan.snapshot.sign) {
      report.signed.push(await doSnapshot(repo, signers, { force: true, versionAtLeast: plan.snapshot.version }));
    }
    report.signed.push(await doTimestamp(repo, signers, { force: true, versionAtLeast: plan.timestamp.version }));
    report.written = repo.save({ stage: useGit });
    progress(report.signed.map((r) => `${r.role} v${r.version}`).join(', ') + ' signed');
  }

  try {
    if (options.target) {
      const result = await publishRepository(options.repoDir, options.target, {
        now,
        ...(options.trustedRootVersion ? { trustedRootVersion: options.trustedRootVersion } : {}),
        // Unless this run signed nothing (it only catches a lagging registry up), the state just read is still current.
        published,
        ...(options.metadataRepository ? { metadataRepository: options.metadataRepository } : {}),
        ...(options.targetsRepository ? { targetsRepository: options.targetsRepository } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      });
      report.published = {
        location: result.location,
        changed: result.changed,
        uploaded: result.uploaded,
        tagged: result.tagged,
        versions: result.versions,
        stats: result.stats,
      };
      await assertStillOurs(meta!, result.latestDigest, repo.version('timestamp'), options.repoDir);
      report.published.stats = options.target.stats();
      progress(`published to ${result.location}`);
    } else if (options.verify !== false) {
      const { report: verification } = await verifyRepository(options.repoDir, {
        now,
        client: 'metadata',
        ...(options.trustedRootVersion ? { trustedRootVersion: options.trustedRootVersion } : {}),
      });
      if (!verification.ok) {
        throw new VerificationError(
          `the refreshed repository does not verify (${verification.problems.length} problem(s)); nothing was kept`,
          verification.problems.map((p) => p.message),
        );
      }
    }
  } catch (error) {
    // Nothing reached clients (or a concurrent publisher won): keep the checkout as it was only if unpublished.
    if (!(error instanceof TufctlError && error.code === 'PUBLISH_CONFLICT')) {
      restore();
      report.written = [];
    }
    throw error;
  }

  if (useGit && options.commit && report.written.length > 0) {
    report.commit = await commitStaged(options.repoDir, commitMessage(report));
    if (options.push) report.pushed = await pushBranch(options.repoDir, options.push);
  }
  return report;
}

/** After publishing: the registry must still serve our `latest`; anything else means a concurrent publisher. */
async function assertStillOurs(meta: OciRepository, ours: string | undefined, version: number, repoDir: string): Promise<void> {
  const served = await meta.headManifest(LATEST_TAG);
  if (served && served.digest === ours) return;
  const now = served ? (await readPublishedState(meta, localMetadata(repoDir))).roles.get('timestamp') : undefined;
  throw new TufctlError(
    'PUBLISH_CONFLICT',
    now
      ? `another publisher changed the registry during this refresh: it serves timestamp v${now.version}, not this run's v${version}; this run lost — the registry holds the other run's state, and the next run signs above it`
      : `the registry no longer serves ${meta.name}:${LATEST_TAG} after publishing timestamp v${version}`,
  );
}

function commitMessage(report: RefreshReport): string {
  const subject = `refresh: ${report.signed.map((r) => `${r.role} v${r.version}`).join(', ')}`;
  const body = report.signed.map((r) => `- ${r.role} v${r.version}: ${r.reasons.join('; ')}`);
  if (report.published) body.push(`- published to ${report.published.location}`);
  return `${subject}\n\n${body.join('\n')}\n`;
}

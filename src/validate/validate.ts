/**
 * `tufctl validate`: the pull-request check. Compares the head tree with the
 * base tree, role by role and trust file by trust file, runs the checks a
 * client would run on the head tree, and decides:
 *
 *   ready    valid, and every offline role it changes meets its threshold
 *            (root: the old and the new one) (exit 0)
 *   invalid  a client would reject it, trust data does not validate, a
 *            version went down or a change has no version bump (exit 1)
 *   waiting  valid, but signatures are missing (exit 2)
 *
 * Snapshot and timestamp are signed by the online key after the merge (the
 * publish workflow does it): a branch that leaves them alone lists them as
 * "after merge", not as a wait. A branch that changes them itself is checked
 * as it is.
 */
import { compareMetadata, type RoleChange, type SignatureSummary } from './compare.js';
import { compareTrustFiles, type TrustFileChange } from './trust-diff.js';
import type { Tree } from './trees.js';
import { Repository } from '../metadata/repository.js';
import { describeNeeds, needOf, signingResult, type SignatureNeed } from '../edit/signing.js';
import { formatProblem } from '../trust/problems.js';
import type { PolicyImpactReport } from '../trust/policy-impact.js';
import { validateImpact } from './impact.js';
import type { ClientFinding } from '../lint/findings.js';

export type ValidateResult = 'ready' | 'invalid' | 'waiting';

export interface WaitingItem {
  role: string;
  /** Who still has to sign (owners, key id prefixes, or "the online key"). */
  from: string[];
  /** How many more of `from` must sign. */
  needed: number;
  /** Root: the previous root's key owners still needed, and how many more of them. */
  oldRoot?: string[];
  oldRootNeeded?: number;
}

export interface ValidateReport {
  result: ValidateResult;
  /** The one-line verdict. */
  verdict: string;
  base: { label: string; ref?: string; commit?: string };
  head: { label: string; ref?: string; commit?: string };
  checkedAt: string;
  roles: RoleChange[];
  trust: TrustFileChange[];
  /** Why the change is invalid (empty unless result is invalid). */
  errors: string[];
  waiting: WaitingItem[];
  /** Online roles the publish workflow signs after the merge (this branch leaves them alone). */
  afterMerge: string[];
  warnings: string[];
  /** What the change does to sample images, shadowed rules, unreachable policies (src/trust/policy-impact.ts). */
  impact?: PolicyImpactReport;
  /** What widely used TUF clients would refuse or mishandle in the head tree (`tufctl lint`); warnings only. */
  clients: ClientFinding[];
}

const ONLINE_ROLES = new Set(['snapshot', 'timestamp']);

function signatureSummary(repo: Repository, role: string): SignatureSummary | undefined {
  try {
    const r = signingResult(repo, role);
    const summary: SignatureSummary = { valid: r.valid, threshold: r.threshold, missing: r.missing };
    if (r.previous) summary.previous = { version: r.version - 1, ...r.previous };
    return summary;
  } catch {
    return undefined; // an unreadable role or trust: verify reports it
  }
}

/** Who a waiting item still needs: `@bob`, `2 more of @a, @b, @c (old and new root)`. */
function whoIsNeeded(w: WaitingItem): string {
  const own: SignatureNeed | undefined = w.from.length > 0 ? { needed: w.needed, from: w.from } : undefined;
  const old: SignatureNeed | undefined = w.oldRoot?.length ? { needed: w.oldRootNeeded ?? w.oldRoot.length, from: w.oldRoot } : undefined;
  return describeNeeds(own, old);
}

function describeWaiting(w: WaitingItem): string {
  if (ONLINE_ROLES.has(w.role)) return `${w.role} from the online key`;
  return `${w.role} signatures from ${whoIsNeeded(w)}`;
}

function waitingFor(role: string, own: SignatureNeed | undefined, old?: SignatureNeed): WaitingItem {
  return {
    role,
    from: own?.from ?? [],
    needed: own?.needed ?? 0,
    ...(old ? { oldRoot: old.from, oldRootNeeded: old.needed } : {}),
  };
}

const ONLINE_KEY: SignatureNeed = { needed: 1, from: ['the online key'] };

export function verdictOf(result: ValidateResult, errors: string[], waiting: WaitingItem[], afterMerge: string[] = []): string {
  if (result === 'ready') {
    return afterMerge.length > 0 ? `✅ ready to merge (${afterMerge.join(' and ')} after merge, by the online key)` : '✅ ready to merge';
  }
  if (result === 'invalid')
    return `❌ invalid: ${errors[0] ?? 'see the report'}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`;
  const offline = waiting.filter((w) => !ONLINE_ROLES.has(w.role)).map(describeWaiting);
  const online = waiting.filter((w) => ONLINE_ROLES.has(w.role)).map((w) => w.role);
  const parts = [...offline];
  if (online.length) parts.push(`${online.join(' and ')} from the online key`);
  return `⏳ waiting for ${parts.join('; ')}`;
}

/** Compares `head` with `base` and checks `head` as a client would. */
export async function validateChange(base: Tree, head: Tree, options: { now: Date; trustedRootVersion?: number }): Promise<ValidateReport> {
  const { verifyRepository } = await import('../verify/verify-repository.js');
  const { trustFilePaths, trustProblems } = await import('../trust/trust-files.js');
  const { unrecordedProblems } = await import('../edit/trust-data.js');

  const roles = compareMetadata(base.dir, head.dir);
  const errors: string[] = roles.flatMap((r) => r.errors);
  const warnings: string[] = [];
  const waiting = new Map<string, WaitingItem>();

  const safeList = (dir: string): string[] => {
    try {
      return trustFilePaths(dir);
    } catch {
      return [];
    }
  };
  const trust = compareTrustFiles(base.dir, head.dir, [...safeList(base.dir), ...safeList(head.dir)]);

  // Signatures of every changed role, as a client would count them.
  let repo: Repository | undefined;
  try {
    repo = Repository.open(head.dir, { git: false, now: options.now });
  } catch (error) {
    errors.push((error as Error).message);
  }
  const headRootVersion = roles.find((r) => r.role === 'root')?.version.to;
  if (repo) {
    for (const change of roles) {
      if (change.change === 'removed' || change.errors.length > 0) continue;
      const summary = signatureSummary(repo, change.role);
      if (!summary) continue;
      change.signatures = summary;
      const own = summary.valid >= summary.threshold;
      const prevOk = !summary.previous || summary.previous.valid >= summary.previous.threshold;
      if (own && !prevOk) {
        // Signed by the new root's keys only: the classic rotation mistake. Clients holding the old root reject it.
        errors.push(
          `root v${change.version.to ?? '?'} is not signed by the old root's threshold: old root: ${summary.previous!.valid} of ${summary.previous!.threshold} ✗ — new root: ${summary.valid} of ${summary.threshold} ✓ (clients trusting root v${summary.previous!.version} reject it; still needed from ${summary.previous!.missing.join(', ')})`,
        );
      } else if (!own || !prevOk) {
        waiting.set(change.role, waitingFor(change.role, needOf(summary), summary.previous ? needOf(summary.previous) : undefined));
      }
    }
  }

  // What a client would check, on the head tree (reported after the trust data's more specific problems).
  const clientErrors: string[] = [];
  // Online roles: after the merge, unless this branch signs them itself.
  const branchSignsOnline = roles.some((r) => ONLINE_ROLES.has(r.role));
  const afterMerge = new Set<string>();
  const onlineNeeds = (role: string): void => {
    if (!branchSignsOnline) afterMerge.add(role);
    else if (!waiting.has(role)) waiting.set(role, waitingFor(role, ONLINE_KEY));
  };
  const { report } = await verifyRepository(head.dir, {
    now: options.now,
    client: 'never',
    trustData: false,
    ...(options.trustedRootVersion ? { trustedRootVersion: options.trustedRootVersion } : {}),
  });
  for (const problem of report.problems) {
    const role = problem.role;
    if (problem.code === 'THRESHOLD_UNMET' && role) {
      const chainVersion = /^root v(\d+) /.exec(problem.message);
      if (role === 'root' && chainVersion && headRootVersion !== undefined && Number(chainVersion[1]) !== headRootVersion) {
        clientErrors.push(problem.message);
        continue;
      }
      if (role === 'root' && roles.some((r) => r.role === 'root')) continue; // decided above from both thresholds
      if (ONLINE_ROLES.has(role)) onlineNeeds(role);
      else if (!waiting.has(role)) {
        const summary = repo ? signatureSummary(repo, role) : undefined;
        waiting.set(role, waitingFor(role, summary ? needOf(summary) : undefined));
      }
      continue;
    }
    if (problem.code === 'SNAPSHOT_MISMATCH' && role && isStale(problem.message)) {
      // Snapshot or timestamp do not cover the change yet: the online key (tufctl snapshot/timestamp, or the refresh job) signs new ones.
      const by = /^(snapshot|timestamp) lists/.exec(problem.message)?.[1] ?? (role === 'snapshot' ? 'timestamp' : 'snapshot');
      for (const r of by === 'snapshot' ? ['snapshot', 'timestamp'] : [by]) onlineNeeds(r);
      continue;
    }
    if (problem.code === 'EXPIRED' && role && ONLINE_ROLES.has(role)) {
      onlineNeeds(role);
      if (branchSignsOnline) warnings.push(problem.message);
      continue;
    }
    clientErrors.push(problem.message);
  }
  warnings.push(...report.warnings);

  // Trust data: formats and rules, and that clients receive every trust file as it is.
  for (const problem of trustProblems(head.dir)) {
    if (problem.severity === 'error') errors.push(formatProblem(problem));
    else warnings.push(formatProblem(problem));
  }
  if (repo) {
    try {
      for (const problem of unrecordedProblems(repo)) errors.push(formatProblem(problem));
    } catch (error) {
      errors.push((error as Error).message);
    }
  }

  const clients = await clientFindings(head.dir, options.trustedRootVersion);
  const uniqueErrors = [...new Set([...errors, ...clientErrors])];
  const waitingList = [...waiting.values()].sort((a, b) => rank(a.role) - rank(b.role) || a.role.localeCompare(b.role));
  const result: ValidateResult = uniqueErrors.length > 0 ? 'invalid' : waitingList.length > 0 ? 'waiting' : 'ready';
  return {
    result,
    verdict: verdictOf(
      result,
      uniqueErrors,
      waitingList,
      ['snapshot', 'timestamp'].filter((r) => afterMerge.has(r)),
    ),
    base: { label: base.label, ...(base.ref ? { ref: base.ref } : {}), ...(base.commit ? { commit: base.commit } : {}) },
    head: { label: head.label, ...(head.ref ? { ref: head.ref } : {}), ...(head.commit ? { commit: head.commit } : {}) },
    checkedAt: options.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    roles,
    trust,
    errors: uniqueErrors,
    waiting: waitingList,
    afterMerge: ['snapshot', 'timestamp'].filter((r) => afterMerge.has(r)),
    warnings: [...new Set(warnings)],
    ...validateImpact(base, head, options.now),
    clients,
  };
}

/** Client-compatibility findings of the head tree; none when it cannot be read (the checks above report why). */
async function clientFindings(dir: string, trustedRootVersion?: number): Promise<ClientFinding[]> {
  const { lintClients } = await import('../lint/lint.js');
  try {
    return lintClients(dir, trustedRootVersion ? { trustedRootVersion } : {}).findings;
  } catch {
    return [];
  }
}

function rank(role: string): number {
  return role === 'root' ? 0 : role === 'targets' ? 1 : role === 'snapshot' ? 10 : role === 'timestamp' ? 11 : 5;
}

/** A snapshot/timestamp entry that lists an older version (or no entry, or other bytes): a refresh fixes it. */
function isStale(message: string): boolean {
  const versions = /lists \S+ v(\d+) but \S+ is v(\d+)/.exec(message);
  if (versions) return Number(versions[1]) < Number(versions[2]);
  return /does not list|with length|does not match the file/.test(message);
}

/** Exit code of a result: 0 ready, 1 invalid, 2 waiting for signatures. */
export function exitCodeOf(result: ValidateResult): number {
  return result === 'ready' ? 0 : result === 'invalid' ? 1 : 2;
}

export { describeWaiting, whoIsNeeded };

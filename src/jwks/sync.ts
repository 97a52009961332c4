/**
 * The JWKS mirror as a whole: adding an issuer, syncing issuers, revoking a
 * key, listing what is mirrored. Everything is fetched and checked before
 * anything is written; files are written atomically and only when their
 * bytes change, so a sync that changes nothing touches nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, writeJwksIssuerSettings } from '../config.js';
import { JwksError, TufctlError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { assertNoSecret } from '../secrets.js';
import { pathInside } from '../fs-paths.js';
import { errorsOf, formatProblem } from '../trust/problems.js';
import { fetchIssuerKeys } from './discovery.js';
import { issuerDirectory, issuerFiles, mirroredDirectories } from './issuer.js';
import { checkJwksDocument } from './jwk-checks.js';
import { issuerFileBytes, revokeKey, syncLedger, type Ledger, type LedgerChanges, type LedgerUpdate, type LiveKeys } from './ledger.js';
import { readLedger } from './validate-files.js';

export { issuerDirectory } from './issuer.js';

/** What happened to one issuer. `dir` is `<issuer-dir>`, under `targets/jwks/`. */
export interface IssuerSummary extends LedgerChanges {
  issuer: string;
  dir: string;
}

export interface JwksResult {
  /** Files written, relative to `targets/` (e.g. `jwks/host/jwks.json`), sorted. */
  changed: string[];
  /** Whether tufctl.json was written (an issuer's settings were recorded). */
  configChanged: boolean;
  issuers: IssuerSummary[];
}

/** A mirrored issuer as recorded in the repository. */
export interface MirroredIssuer {
  issuer: string;
  dir: string;
  ledger: Ledger;
}

/** Every mirrored issuer, by directory. Throws JWKS_INVALID when a ledger is unusable. */
export function listIssuers(repoDir: string): MirroredIssuer[] {
  const issuers: MirroredIssuer[] = [];
  for (const { dir, hasLedger } of mirroredDirectories(repoDir)) {
    if (!hasLedger) continue;
    const { ledger, problems } = readLedger(repoDir, dir);
    if (!ledger) {
      const lines = errorsOf(problems).map(formatProblem);
      throw new JwksError('JWKS_INVALID', `${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more problems)` : ''}`, lines);
    }
    issuers.push({ issuer: ledger.issuer, dir, ledger });
  }
  return issuers;
}

/** The mirrored issuer named exactly `issuer`, or ISSUER_UNKNOWN. */
function findIssuer(mirrored: MirroredIssuer[], issuer: string): MirroredIssuer {
  const found = mirrored.find((m) => m.issuer === issuer);
  if (found) return found;
  const similar = mirrored.find((m) => m.issuer.replace(/\/$/, '') === issuer.replace(/\/$/, ''));
  const hint = similar
    ? ` (did you mean ${similar.issuer}?)`
    : ` (mirrored: ${mirrored.length ? mirrored.map((m) => m.issuer).join(', ') : 'none'}; add it with \`tufctl jwks add\`)`;
  throw new JwksError('ISSUER_UNKNOWN', `issuer ${issuer} is not mirrored in this repository${hint}`);
}

/** Fetches and checks an issuer's live keys. */
async function fetchLiveKeys(issuer: string, allowHttpLoopback: boolean): Promise<LiveKeys> {
  const { jwksUri, document } = await fetchIssuerKeys(issuer, { allowHttpLoopback });
  return { issuer, jwksUri, keys: await checkJwksDocument(issuer, document) };
}

/**
 * Where changed files go: `(target path, bytes)`, the target path relative to
 * `targets/`. The default writes atomically under the repository's
 * `targets/`; an editor passes its own to keep the change undoable.
 */
export type JwksFileWriter = (target: string, bytes: Buffer) => void;

function diskWriter(repoDir: string): JwksFileWriter {
  return (target, bytes) => {
    assertNoSecret(`targets/${target}`, bytes);
    writeFileAtomic(pathInside(join(repoDir, 'targets'), ...target.split('/')), bytes);
  };
}

/** Writes an issuer's two files where their bytes differ; returns the targets written. */
function writeIssuerFiles(repoDir: string, dir: string, ledger: Ledger, write: JwksFileWriter): string[] {
  const files = issuerFiles(repoDir, dir);
  const bytes = issuerFileBytes(ledger);
  const written: string[] = [];
  for (const [path, target, data] of [
    [files.jwksPath, files.jwksTarget, bytes.jwks],
    [files.ledgerPath, files.ledgerTarget, bytes.ledger],
  ] as const) {
    if (existsSync(path) && readFileSync(path).equals(data)) continue;
    write(target, data);
    written.push(target);
  }
  return written;
}

/** One issuer's computed update, not yet written. */
interface IssuerUpdate {
  issuer: string;
  dir: string;
  update: LedgerUpdate;
}

/** Writes the outcome of updates that all succeeded. */
function writeAll(repoDir: string, updates: IssuerUpdate[], write: JwksFileWriter = diskWriter(repoDir)): JwksResult {
  const changed = updates.flatMap(({ dir, update }) => writeIssuerFiles(repoDir, dir, update.ledger, write)).sort();
  return { changed, configChanged: false, issuers: updates.map(({ issuer, dir, update }) => ({ issuer, dir, ...update.changes })) };
}

export interface AddIssuerOptions {
  repoDir: string;
  /** Where changed files go (default: written under targets/). */
  write?: JwksFileWriter;
  issuer: string;
  /** Allow plain HTTP to a loopback issuer; recorded in tufctl.json so later syncs need no flag. */
  allowHttpLoopback?: boolean;
  now?: Date;
  /** Overrides tufctl.json's jwks.retentionDays. */
  retentionDays?: number;
}

/** Starts mirroring `issuer`: fetches, checks and writes its keys. Refuses an issuer already mirrored. */
export async function addIssuer(options: AddIssuerOptions): Promise<JwksResult> {
  const { repoDir, issuer } = options;
  const allowHttpLoopback = options.allowHttpLoopback ?? false;
  const config = loadConfig(repoDir);
  const dir = issuerDirectory(issuer);
  const existing = listIssuers(repoDir).find((m) => m.dir === dir);
  if (existing) {
    const which =
      existing.issuer === issuer
        ? `issuer ${issuer} is already mirrored`
        : `targets/jwks/${dir}/ already mirrors issuer ${existing.issuer}`;
    throw new JwksError('USAGE', `${which}; use \`tufctl jwks sync\` to update it`);
  }
  const live = await fetchLiveKeys(issuer, allowHttpLoopback);
  const update = syncLedger(undefined, live, {
    now: options.now ?? new Date(),
    retentionDays: options.retentionDays ?? config.jwks.retentionDays,
  });
  const result = writeAll(repoDir, [{ issuer, dir, update }], options.write);
  if (allowHttpLoopback) result.configChanged = writeJwksIssuerSettings(repoDir, issuer, { allowHttpLoopback: true });
  return result;
}

export interface SyncIssuersOptions {
  repoDir: string;
  /** Where changed files go (default: written under targets/). */
  write?: JwksFileWriter;
  /** Issuers to sync, exactly as mirrored; every mirrored issuer when absent or empty. */
  issuers?: string[];
  now?: Date;
  /** Overrides tufctl.json's jwks.retentionDays. */
  retentionDays?: number;
}

/**
 * Re-discovers and re-fetches each issuer's keys and updates its ledger.
 * All issuers are fetched and checked first; if any fails, nothing is
 * written and the error names the failing issuer (every failure is in
 * `details`).
 */
export async function syncIssuers(options: SyncIssuersOptions): Promise<JwksResult> {
  const { repoDir } = options;
  const config = loadConfig(repoDir);
  const mirrored = listIssuers(repoDir);
  const selected = options.issuers?.length ? [...new Set(options.issuers)].map((issuer) => findIssuer(mirrored, issuer)) : mirrored;
  const now = options.now ?? new Date();
  const retentionDays = options.retentionDays ?? config.jwks.retentionDays;
  const outcomes = await Promise.allSettled(
    selected.map(async ({ issuer, dir, ledger }): Promise<IssuerUpdate> => {
      const live = await fetchLiveKeys(issuer, config.jwks.issuers[issuer]?.allowHttpLoopback ?? false);
      return { issuer, dir, update: syncLedger(ledger, live, { now, retentionDays }) };
    }),
  );
  const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
  if (failures.length > 0) throw combinedFailure(failures);
  return writeAll(
    repoDir,
    outcomes.map((outcome) => (outcome as PromiseFulfilledResult<IssuerUpdate>).value),
    options.write,
  );
}

/** One error for all failed issuers: the only one, or the first with every message in `details`. */
function combinedFailure(failures: unknown[]): unknown {
  const unexpected = failures.find((failure) => !(failure instanceof TufctlError));
  if (unexpected !== undefined || failures.length === 1) return unexpected ?? failures[0];
  const errors = failures as TufctlError[];
  const first = errors[0]!;
  const message = `${first.message} (and ${errors.length - 1} more failing issuers; nothing was written)`;
  return new JwksError(
    first.code,
    message,
    errors.map((error) => error.message),
  );
}

export interface RevokeJwkOptions {
  repoDir: string;
  /** Where changed files go (default: written under targets/). */
  write?: JwksFileWriter;
  issuer: string;
  kid: string;
  reason: string;
  now?: Date;
}

/** Revokes one key of a mirrored issuer: it leaves jwks.json and stays revoked in the ledger. */
export function revokeJwk(options: RevokeJwkOptions): JwksResult {
  const { issuer, dir, ledger } = findIssuer(listIssuers(options.repoDir), options.issuer);
  const update = revokeKey(ledger, options.kid, options.reason, options.now ?? new Date());
  return writeAll(options.repoDir, [{ issuer, dir, update }], options.write);
}

/**
 * What every command shares: global options, opening the repository,
 * collecting signing keys, the edit-then-save flow of mutating commands, and
 * output (human lines or one JSON document with --json).
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isPkcs11Uri } from '../keys/pkcs11-uri.js';
import { removeStaleTemporaryFiles } from '../fs-atomic.js';
import { GitError, KeyError, UsageError } from '../errors.js';
import { isRootVersion } from '../config.js';
import { changedPaths, commitStaged, stagePaths } from '../git/git-repo.js';
import { clearPendingCommit, readPendingCommit, recordPendingCommit } from '../git/pending-commit.js';
import { collectSigners, type Signer } from '../keys/signer.js';
import type { TufKeyJSON } from '../keys/tuf-key.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import { Repository } from '../metadata/repository.js';
import { doSnapshot, doTimestamp, type OnlineRoleResult } from '../metadata/snapshot-timestamp.js';
import { signRoles, type RoleSigningResult } from '../edit/signing.js';
import type { TrustApplyResult, TrustFileEdit } from '../edit/trust-data.js';
import { formatProblemLine } from '../trust/problems.js';

export interface GlobalArgs {
  repo: string;
  json: boolean;
  now?: string;
  'trusted-root-version'?: number;
}

export interface EditArgs extends GlobalArgs {
  commit: boolean;
  sign: boolean;
  key: string[];
}

export function nowFrom(args: GlobalArgs): Date {
  if (!args.now) return new Date();
  const date = new Date(args.now);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--now "${args.now}" is not a valid time (use ISO 8601, e.g. 2030-01-01T00:00:00Z)`);
  return date;
}

/** --trusted-root-version N, checked; undefined leaves tufctl.json's trustedRootVersion (or 1) in force. */
export function trustedRootFrom(args: GlobalArgs): { trustedRootVersion?: number } {
  const value = args['trusted-root-version'];
  if (value === undefined) return {};
  if (!isRootVersion(value)) throw new UsageError(`--trusted-root-version must be a whole number, 1 or more (got ${String(value)})`);
  return { trustedRootVersion: value };
}

export function repoDir(args: GlobalArgs): string {
  return resolve(args.repo);
}

export function openRepository(args: GlobalArgs, options: { git?: boolean } = {}): Repository {
  const repo = Repository.open(repoDir(args), { now: nowFrom(args), ...options });
  // What a killed run left half-written is cleaned up by the next one.
  removeStaleTemporaryFiles([join(repo.dir, 'metadata'), join(repo.dir, 'metadata', 'root_history')]);
  removeStaleTemporaryFiles([join(repo.dir, 'targets')], { recursive: true });
  return repo;
}

/**
 * Signers for every key snapshot and timestamp trust: --key files and
 * TUFCTL_KEY_* first, then (unless --key files were named) TUFCTL_ONLINE_KEY
 * or the key's online URI. A key
 * with no source is left out (signing then names it as missing); a source
 * that fails (a wrong key, an unreachable KMS) is an error.
 */
export async function onlineSigners(repo: Repository, keyFiles: string[]): Promise<Signer[]> {
  const root = repo.root();
  const roles = root.roles as JSONObject;
  const keys = root.keys as JSONObject;
  const ids = new Set<string>();
  for (const role of ['snapshot', 'timestamp']) {
    const entry = roles[role];
    if (isJSONObject(entry) && Array.isArray(entry.keyids)) for (const id of entry.keyids) ids.add(id as string);
  }
  const given = collectSigners(keyFiles);
  warnLooseKeyFiles(keyFiles);
  const { onlineSignerFor } = await import('../keys/online-signer.js');
  const signers: Signer[] = [];
  for (const id of ids) {
    const local = given.find((s) => s.keyId === id);
    if (local) signers.push(local);
    // Key files named on the command line are what the user means: no silent fall-back to another source.
    else if (keyFiles.length > 0) signers.push(...given.filter((s) => !signers.includes(s)));
    else if (isJSONObject(keys[id])) {
      try {
        signers.push(await onlineSignerFor(keys[id] as unknown as TufKeyJSON, { env: process.env, keyId: id }));
      } catch (error) {
        // No source for this key at all: signing reports the unmet threshold if a signature is needed.
        if (!(error instanceof KeyError && error.code === 'USAGE')) throw error;
      }
    } else throw new KeyError('KEY_UNKNOWN', `root trusts online key ${id.slice(0, 12)} but does not list it in keys`);
  }
  return signers;
}

export function signersFrom(args: { key?: string[] }): Signer[] {
  const signers = collectSigners(args.key ?? []);
  // Warned about once the keys are known to be usable: an unusable key gets its one error line only.
  warnLooseKeyFiles(args.key ?? []);
  return signers;
}

/** A private key file others can read is used, with a warning naming the fix (never the key). */
export function warnLooseKeyFiles(paths: readonly string[]): void {
  for (const path of paths) {
    if (isPkcs11Uri(path)) continue;
    let mode: number;
    try {
      mode = statSync(path).mode;
      // Only a file that holds a private key is a secret (a public key given by mistake is reported when read).
      if (!(mode & 0o077) || !readFileSync(path, 'latin1').includes('PRIVATE KEY-----')) continue;
    } catch {
      continue; // reading it reports the problem
    }
    process.stderr.write(
      `tufctl: warning: key file ${path} can be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 ${path}\n`,
    );
  }
}

/** Output sink: human text to stdout, or a JSON document when --json. */
export function emit(args: GlobalArgs, lines: string[], json: unknown): void {
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  else if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
}

export function assertCommittable(dir: string): void {
  const outside = changedPaths(dir).filter((p) => !p.startsWith('metadata/') && !p.startsWith('targets/'));
  if (outside.length > 0) {
    throw new GitError(
      'GIT_DIRTY',
      `--commit needs a clean working tree outside metadata/ and targets/; uncommitted: ${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ' …' : ''}`,
    );
  }
}

export function commitMessage(changes: string[]): string {
  const unique = [...new Set(changes)];
  const first = unique[0] ?? 'update metadata';
  const subject = unique.length > 1 ? `${first} (+${unique.length - 1} more)` : first;
  const body = unique.slice(0, 60).map((c) => `- ${c}`);
  if (unique.length > 60) body.push(`- … and ${unique.length - 60} more`);
  return `${subject.length > 72 ? `${subject.slice(0, 69)}...` : subject}\n\n${body.join('\n')}\n`;
}

export interface EditOutcome {
  written: string[];
  commit?: string;
  /** An earlier run's commit that was interrupted and is finished by this one. */
  finished?: { commit: string; subject: string };
  signing?: RoleSigningResult[];
  online?: OnlineRoleResult[];
}

/**
 * The flow of every mutating command: open, edit, optionally sign what changed
 * (and refresh snapshot/timestamp if an online key is at hand), save atomically,
 * stage, optionally commit.
 */
export async function runEdit(
  args: EditArgs,
  edit: (repo: Repository) => Promise<void> | void,
  hooks: { beforeSave?: () => void } = {},
): Promise<EditOutcome> {
  const repo = openRepository(args);
  const outcome: EditOutcome = { written: [] };
  if (args.commit) {
    assertCommittable(repo.dir);
    outcome.finished = await finishInterruptedCommit(repo.dir);
  }
  await edit(repo);
  if (args.sign) {
    const signers = signersFrom(args);
    if (signers.length === 0) throw new UsageError('--sign needs keys: --key FILE or TUFCTL_KEY_<NAME>');
    const changed = repo.contentChangedRoles().filter((r) => r !== 'snapshot' && r !== 'timestamp');
    outcome.signing = changed.length > 0 ? await signRoles(repo, signers, changed) : [];
    const online = repo.trustFor('snapshot').keyIds;
    if (signers.some((s) => online.includes(s.keyId))) {
      outcome.online = [await doSnapshot(repo, signers), await doTimestamp(repo, signers)];
    }
  }
  hooks.beforeSave?.();
  // With --commit, the commit is recorded before anything is written: a run killed before it
  // commits is finished by the next one (git/pending-commit.ts).
  const message = args.commit ? commitMessage(repo.changeLog()) : undefined;
  if (message) recordPendingCommit(repo.dir, message);
  outcome.written = await repo.saveAsync();
  if (message && outcome.written.length > 0) outcome.commit = await commitStaged(repo.dir, message);
  if (message) clearPendingCommit(repo.dir);
  return outcome;
}

/** Commits what an interrupted `--commit` run left staged, with its own message; returns that commit. */
async function finishInterruptedCommit(dir: string): Promise<EditOutcome['finished']> {
  const pending = readPendingCommit(dir);
  if (!pending) return undefined;
  stagePaths(dir, pending.paths);
  const commit = await commitStaged(dir, pending.message);
  clearPendingCommit(dir);
  return { commit, subject: pending.message.split('\n')[0]! };
}

/**
 * The flow of every trust data command: the edit changes files through a
 * TrustFileEdit, then policy data is regenerated, everything validated and
 * the changed trust files recorded as targets; signing, saving and
 * committing follow as in runEdit. Any failure before the save puts every
 * changed file back.
 */
export async function runTrustEdit(
  args: EditArgs,
  edit: (files: TrustFileEdit, repo: Repository) => Promise<void> | void,
): Promise<EditOutcome & { trust: TrustApplyResult }> {
  const { applyTrustData, TrustFileEdit } = await import('../edit/trust-data.js');
  const files = new TrustFileEdit(repoDir(args));
  let trust: TrustApplyResult | undefined;
  let saving = false;
  try {
    const outcome = await runEdit(
      args,
      async (repo) => {
        await edit(files, repo);
        trust = applyTrustData(repo, files);
      },
      { beforeSave: () => (saving = true) },
    );
    return { ...outcome, trust: trust! };
  } catch (error) {
    if (!saving) files.restore();
    throw error;
  }
}

export function describeTrust(result: TrustApplyResult): string[] {
  const lines: string[] = [];
  for (const target of result.regenerated) lines.push(`regenerated ${target}`);
  for (const t of result.recorded) lines.push(`${t.role}: target ${t.path} (sha256 ${t.hashes.sha256?.slice(0, 12) ?? '?'}…)`);
  for (const target of result.removed) lines.push(`removed ${target}`);
  for (const warning of result.warnings) lines.push(formatProblemLine(warning));
  return lines;
}

export function describeOutcome(outcome: EditOutcome): string[] {
  const lines: string[] = [];
  if (outcome.finished) lines.push(`finished an interrupted commit ${outcome.finished.commit.slice(0, 7)}: ${outcome.finished.subject}`);
  const signing = outcome.signing ?? [];
  if (signing.length <= 20) for (const s of signing) lines.push(formatSigning(s));
  else {
    const complete = signing.filter((s) => s.valid >= s.threshold).length;
    lines.push(`signed ${signing.length} roles: ${complete} complete, ${signing.length - complete} still waiting for signatures`);
    for (const s of signing.filter((r) => r.valid < r.threshold).slice(0, 10)) lines.push(formatSigning(s));
  }
  for (const o of outcome.online ?? [])
    lines.push(o.updated ? `${o.role} v${o.version}: ${o.reasons.join('; ')}` : `${o.role}: up to date`);
  if (outcome.written.length > 0)
    lines.push(`wrote ${outcome.written.length} file(s)${outcome.commit ? `, committed ${outcome.commit}` : ', staged'}`);
  else lines.push('nothing changed');
  return lines;
}

export function formatSigning(s: RoleSigningResult): string {
  const mark = (ok: boolean): string => (ok ? '✓' : '✗');
  const own = `${s.valid} of ${s.threshold} ${mark(s.valid >= s.threshold)}`;
  let line = `${s.role} v${s.version}: `;
  if (s.previous) {
    line += `old root: ${s.previous.valid} of ${s.previous.threshold} ${mark(s.previous.valid >= s.previous.threshold)} — new root: ${own}`;
  } else {
    line += `signed ${own}`;
  }
  if (s.signedWith.length > 0) line += ` (signed now with ${s.signedWith.map((k) => k.slice(0, 8)).join(', ')})`;
  const missing = [...new Set([...(s.previous?.missing ?? []), ...s.missing])];
  if (missing.length > 0) line += ` — waiting for ${missing.join(', ')}`;
  return line;
}

/**
 * Trust data edits as repository edits.
 *
 * A trust command (revoking a key or signature, syncing a JWKS, promoting a
 * channel, applying hand edits) changes files under `targets/`, regenerates
 * the policy data files derived from them, validates the whole trust data,
 * and records every changed trust file as a target of the role a client
 * would look it up in. Files are changed through a `TrustFileEdit`, which
 * remembers what it replaced so that a failed edit (invalid result, missing
 * signing key) puts every file back as it was.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TrustDataError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { assertNoSecret } from '../secrets.js';
import { pathInside } from '../fs-paths.js';
import type { JwksFileWriter } from '../jwks/sync.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import type { Repository } from '../metadata/repository.js';
import { errorsOf, formatProblem, type TrustProblem } from '../trust/problems.js';
import { stalePolicyData, trustFilePaths, trustProblems } from '../trust/trust-files.js';
import { addTargetFiles, RoleResolver, type AddedTarget } from './targets.js';

/** Changes to files of the repository that can be undone until the edit is saved. */
export class TrustFileEdit {
  readonly #repoDir: string;
  /** Repository-relative path → bytes before the edit (null: did not exist). */
  readonly #originals = new Map<string, Buffer | null>();
  /** Target paths (relative to targets/) written or removed by this edit. */
  readonly changed = new Set<string>();

  constructor(repoDir: string) {
    this.#repoDir = repoDir;
  }

  /** Remembers a repository-relative file's current bytes (once) so restore() can put them back. */
  backup(relPath: string): void {
    if (this.#originals.has(relPath)) return;
    const file = join(this.#repoDir, relPath);
    this.#originals.set(relPath, existsSync(file) ? readFileSync(file) : null);
  }

  read(target: string): Buffer | undefined {
    const file = join(this.#repoDir, 'targets', ...target.split('/'));
    return existsSync(file) ? readFileSync(file) : undefined;
  }

  /** Writes a target file atomically (no-op when the bytes are the same). */
  write(target: string, bytes: Buffer): void {
    const current = this.read(target);
    if (current && current.equals(bytes)) return;
    const rel = `targets/${target}`;
    assertNoSecret(rel, bytes);
    this.backup(rel);
    const file = pathInside(join(this.#repoDir, 'targets'), ...target.split('/'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, bytes);
    this.changed.add(target);
  }

  remove(target: string): void {
    const rel = `targets/${target}`;
    this.backup(rel);
    rmSync(join(this.#repoDir, rel), { force: true });
    this.changed.add(target);
  }

  /** A writer for the JWKS mirror that goes through this edit. */
  get writer(): JwksFileWriter {
    return (target, bytes) => this.write(target, bytes);
  }

  /** Puts every file this edit changed back as it was. */
  restore(): void {
    for (const [relPath, bytes] of this.#originals) {
      const file = join(this.#repoDir, relPath);
      if (bytes === null) rmSync(file, { force: true });
      else writeFileAtomic(file, bytes);
    }
    this.#originals.clear();
    this.changed.clear();
  }
}

export interface UnrecordedTrustFile {
  target: string;
  role: string;
  reason: 'not a target' | 'changed';
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Trust files that are not targets of the role a client looks them up in, or whose entry no longer matches the file. */
export function unrecordedTrustFiles(repo: Repository): UnrecordedTrustFile[] {
  const resolver = new RoleResolver(repo);
  const found: UnrecordedTrustFile[] = [];
  for (const target of trustFilePaths(repo.dir)) {
    const role = resolver.resolve(target);
    // A client takes a role's own entry before searching its delegations: an entry still in the top-level role counts.
    const holder = [role, 'targets'].find((r) => isJSONObject((repo.signed(r).targets as JSONObject | undefined)?.[target])) ?? role;
    const entry = (repo.signed(holder).targets as JSONObject | undefined)?.[target];
    if (!isJSONObject(entry)) {
      found.push({ target, role, reason: 'not a target' });
      continue;
    }
    const bytes = readFileSync(join(repo.dir, 'targets', ...target.split('/')));
    const hashes = isJSONObject(entry.hashes) ? entry.hashes : {};
    if (entry.length !== bytes.length || hashes.sha256 !== sha256(bytes)) found.push({ target, role: holder, reason: 'changed' });
  }
  return found;
}

/** Problems for trust files not recorded as targets (for validation with metadata at hand). */
export function unrecordedProblems(repo: Repository): TrustProblem[] {
  return unrecordedTrustFiles(repo).map(({ target, role, reason }) => ({
    severity: 'error',
    file: `targets/${target}`,
    message:
      reason === 'not a target'
        ? `is trust data but not a target of ${role}, so clients never receive it: run \`tufctl policy apply\``
        : `changed since it was recorded as a target of ${role}: run \`tufctl policy apply\``,
  }));
}

export interface TrustApplyResult {
  /** Policy data files regenerated. */
  regenerated: string[];
  /** Trust files recorded as targets (added or updated). */
  recorded: AddedTarget[];
  /** Trust files removed from disk and from their role. */
  removed: string[];
  warnings: TrustProblem[];
}

/**
 * Finishes a trust edit on `repo`: regenerates stale policy data files,
 * validates everything (throwing TRUST_INVALID with one detail per problem),
 * and records each changed or unrecorded trust file as a target.
 */
export function applyTrustData(repo: Repository, edit: TrustFileEdit): TrustApplyResult {
  const regenerated: string[] = [];
  for (const { target, bytes } of stalePolicyData(repo.dir)) {
    edit.write(target, bytes);
    regenerated.push(target);
  }
  const problems = trustProblems(repo.dir);
  const errors = errorsOf(problems);
  if (errors.length > 0) {
    throw new TrustDataError(
      'TRUST_INVALID',
      `the trust data does not validate (${errors.length} problem${errors.length === 1 ? '' : 's'}); nothing was changed`,
      errors.map(formatProblem),
    );
  }
  const toRecord = new Set([...edit.changed].filter((target) => edit.read(target) !== undefined));
  for (const { target } of unrecordedTrustFiles(repo)) toRecord.add(target);
  const removed = [...edit.changed].filter((target) => edit.read(target) === undefined);
  const recorded =
    toRecord.size === 0
      ? []
      : addTargetFiles(
          repo,
          [...toRecord].sort().map((target) => join(repo.dir, 'targets', ...target.split('/'))),
        );
  for (const target of removed) repo.stageAlso(`targets/${target}`);
  // A trust file now signed by a delegated role leaves the top-level role (e.g. after `delegate add doi --paths 'doi/*'`).
  const moved = recorded.filter((t) => t.role !== 'targets' && isJSONObject((repo.signed('targets').targets as JSONObject)[t.path]));
  if (moved.length > 0) {
    repo.edit('targets', `targets: ${moved.length} trust file(s) moved to delegated roles`, (signed) => {
      for (const t of moved) delete (signed.targets as JSONObject)[t.path];
    });
  }
  return { regenerated, recorded, removed, warnings: problems.filter((p) => p.severity === 'warning') };
}

/**
 * Refuses to go on (TRUST_INVALID, one detail per problem) when the trust
 * data does not validate or a trust file is not recorded as it is on disk:
 * nothing invalid gets signed.
 */
export function assertTrustDataValid(repo: Repository): void {
  const errors = errorsOf([...trustProblems(repo.dir), ...unrecordedProblems(repo)]);
  if (errors.length === 0) return;
  throw new TrustDataError(
    'TRUST_INVALID',
    `the trust data does not validate (${errors.length} problem${errors.length === 1 ? '' : 's'}); refusing to sign`,
    errors.map(formatProblem),
  );
}

/**
 * The git side of a tufctl repository: is there one, is it clean, what did a
 * metadata file look like at the base ref, and staging/committing changes.
 *
 * Reading the base state is done in bulk (one `git ls-tree`, one
 * `git cat-file --batch`) so that an edit touching thousands of delegated
 * roles costs two git processes, not thousands.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitError } from '../errors.js';

function git(dir: string, args: string[], input?: Buffer | string): Buffer {
  try {
    return execFileSync('git', args, {
      cwd: dir,
      input,
      maxBuffer: 1024 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new GitError('GIT_MISSING', 'git is not installed or not on PATH');
    const stderr = e.stderr?.toString().trim().split('\n')[0] ?? e.message;
    throw new GitError('GIT_FAILED', `git ${args[0]} failed: ${stderr}`);
  }
}

export function isGitRepository(dir: string): boolean {
  if (!existsSync(dir)) return false;
  try {
    return git(dir, ['rev-parse', '--is-inside-work-tree']).toString().trim() === 'true';
  } catch {
    return false;
  }
}

export function assertGitRepository(dir: string): void {
  if (!isGitRepository(dir)) {
    throw new GitError('GIT_MISSING', `${dir} is not a git repository (run "tufctl init" or "git init" first)`);
  }
}

/** The commit a ref points to, or undefined if it does not resolve (e.g. no commits yet). */
export function resolveRef(dir: string, ref: string): string | undefined {
  try {
    return (
      git(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * Metadata files as they were at a base commit, loaded lazily: blob ids of
 * every file below `metadata/` from one `ls-tree`, contents on demand in one
 * batch.
 */
export class BaseSnapshot {
  readonly commit: string | undefined;
  readonly #dir: string;
  #blobs: Map<string, string> | undefined;
  #objectFormat: 'sha1' | 'sha256' | undefined;

  constructor(dir: string, commit: string | undefined) {
    this.#dir = dir;
    this.commit = commit;
  }

  /** Blob id of `path` (repository-relative, `/`-separated) at the base, if it existed. */
  blobId(path: string): string | undefined {
    if (!this.commit) return undefined;
    if (!this.#blobs) {
      this.#blobs = new Map();
      const out = git(this.#dir, ['ls-tree', '-r', '-z', '--full-tree', this.commit, '--', 'metadata/']).toString();
      for (const entry of out.split('\0')) {
        if (!entry) continue;
        const tab = entry.indexOf('\t');
        const [, type, id] = entry.slice(0, tab).split(' ');
        if (type === 'blob' && id) this.#blobs.set(entry.slice(tab + 1), id);
      }
    }
    return this.#blobs.get(path);
  }

  /** The git blob id the given bytes would have in this repository. */
  blobIdOf(bytes: Uint8Array): string {
    if (!this.#objectFormat) {
      const format = this.commit ? git(this.#dir, ['rev-parse', '--show-object-format']).toString().trim() : 'sha1';
      this.#objectFormat = format === 'sha256' ? 'sha256' : 'sha1';
    }
    return createHash(this.#objectFormat).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
  }

  /** Contents of several blobs in one git process. */
  readBlobs(ids: readonly string[]): Map<string, Buffer> {
    const result = new Map<string, Buffer>();
    if (ids.length === 0) return result;
    const out = git(this.#dir, ['cat-file', '--batch'], ids.join('\n') + '\n');
    let offset = 0;
    for (const id of ids) {
      const newline = out.indexOf(0x0a, offset);
      const header = out.subarray(offset, newline).toString().split(' ');
      if (header[1] === 'missing') throw new GitError('GIT_FAILED', `git object ${id} is missing`);
      const size = Number(header[2]);
      result.set(id, out.subarray(newline + 1, newline + 1 + size));
      offset = newline + 1 + size + 1;
    }
    return result;
  }
}

export function openBaseSnapshot(dir: string, ref: string, required: boolean): BaseSnapshot {
  const commit = resolveRef(dir, ref);
  if (!commit && required) throw new GitError('GIT_FAILED', `base ref "${ref}" does not resolve to a commit`);
  return new BaseSnapshot(dir, commit);
}

/** Paths (repository-relative) with uncommitted changes, staged or not, including untracked files. */
export function changedPaths(dir: string): string[] {
  const out = git(dir, ['status', '--porcelain=v1', '-z', '--untracked-files=all']).toString();
  const paths: string[] = [];
  const entries = out.split('\0');
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (!entry) continue;
    paths.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') i++; // skip the rename source
  }
  return paths;
}

export function gitClient(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: [] });
}

/** Stages the given repository-relative paths (additions, modifications and deletions). */
export function stagePaths(dir: string, paths: readonly string[]): void {
  const unique = [...new Set(paths)];
  for (let i = 0; i < unique.length; i += 500) {
    git(dir, ['add', '--all', '--', ...unique.slice(i, i + 500)]);
  }
}

export async function initRepository(dir: string): Promise<void> {
  await gitClient(dir).init(['--initial-branch=main', '--quiet']);
}

/** Commits what is staged; throws GIT_FAILED with git's reason (e.g. missing identity). */
export async function commitStaged(dir: string, message: string): Promise<string> {
  try {
    const result = await gitClient(dir).commit(message);
    return result.commit;
  } catch (error) {
    throw new GitError('GIT_FAILED', `git commit failed: ${(error as Error).message.split('\n')[0]}`);
  }
}

export function repositoryPath(...parts: string[]): string {
  return join(...parts)
    .split('\\')
    .join('/');
}

/**
 * Repository-relative metadata paths that differ between `ref` and the
 * working tree (tracked changes plus untracked files). With no commit at
 * `ref`, every metadata file counts as changed.
 */
export function changedMetadataSince(dir: string, ref: string): string[] {
  const commit = resolveRef(dir, ref);
  const untracked = git(dir, ['ls-files', '--others', '--exclude-standard', '-z', '--', 'metadata/']).toString().split('\0');
  if (!commit) {
    const tracked = git(dir, ['ls-files', '-z', '--', 'metadata/']).toString().split('\0');
    return [...new Set([...tracked, ...untracked])].filter(Boolean);
  }
  const diff = git(dir, ['diff', '--name-only', '-z', '--no-renames', commit, '--', 'metadata/']).toString().split('\0');
  return [...new Set([...diff, ...untracked])].filter(Boolean);
}

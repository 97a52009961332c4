/**
 * The git side of a tufctl repository: is there one, is it clean, what did a
 * metadata file look like at the base ref, and staging/committing changes.
 *
 * Reading the base state is done in bulk (one `git ls-tree`, one
 * `git cat-file --batch`) so that an edit touching thousands of delegated
 * roles costs two git processes, not thousands.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
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

/** A file directly in metadata/ with a plain name (what BaseSnapshot.prefetch looks up). */
const PLAIN_METADATA_FILE = /^metadata\/[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json$/;

/**
 * Metadata files as they were at a base commit, loaded lazily: blob ids of
 * every file below `metadata/` from one `ls-tree`, contents on demand in one
 * batch.
 */
export class BaseSnapshot {
  readonly commit: string | undefined;
  readonly #dir: string;
  #blobs: Map<string, string> | undefined;
  /** Paths looked up one by one (prefetch) while the full listing is not loaded. */
  readonly #some = new Map<string, string | undefined>();
  #objectFormat: 'sha1' | 'sha256' | undefined;

  constructor(dir: string, commit: string | undefined) {
    this.#dir = dir;
    this.commit = commit;
  }

  /**
   * Looks up a few files directly in metadata/ with one small `git ls-tree`,
   * so that blobId() need not list all of metadata/ (with 16,384 hashed bins
   * that listing is the slowest part of a one-target edit). Does nothing for
   * long lists or other paths: blobId() then loads the full listing as before.
   */
  prefetch(paths: readonly string[]): void {
    if (!this.commit || this.#blobs) return;
    const wanted = [...new Set(paths)].filter((p) => !this.#some.has(p));
    if (wanted.length === 0 || wanted.length > 32 || !wanted.every((p) => PLAIN_METADATA_FILE.test(p))) return;
    const out = git(this.#dir, ['ls-tree', '-z', '--full-tree', this.commit, '--', ...wanted]).toString();
    for (const path of wanted) this.#some.set(path, undefined);
    for (const entry of out.split('\0')) {
      if (!entry) continue;
      const tab = entry.indexOf('\t');
      const [, type, id] = entry.slice(0, tab).split(' ');
      const path = entry.slice(tab + 1);
      if (type === 'blob' && id && this.#some.has(path)) this.#some.set(path, id);
    }
  }

  /** Blob id of `path` (repository-relative, `/`-separated) at the base, if it existed. */
  blobId(path: string): string | undefined {
    if (!this.commit) return undefined;
    if (!this.#blobs && this.#some.has(path)) return this.#some.get(path);
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
    // The object format shows in the length of the commit id (40 or 64 hex digits).
    if (!this.#objectFormat) this.#objectFormat = this.commit?.length === 64 ? 'sha256' : 'sha1';
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

/** A simple-git client (loaded on first use: most commands never need it). */
export async function gitClient(dir: string): Promise<SimpleGit> {
  const { simpleGit } = await import('simple-git');
  return simpleGit({ baseDir: dir, config: [] });
}

/** From this many paths on, regular files are staged with `git update-index` (see stagePaths). */
const BULK_STAGE_MIN = 256;

/** Characters that make a git pathspec more than a literal path. */
const PATHSPEC_MAGIC = /[*?[\\]|^:/;

/**
 * Stages the given repository-relative paths (additions, modifications and deletions).
 *
 * `git add -- PATH...` matches every pathspec against every index entry, which
 * for 16,384 hashed bins costs seconds of CPU on top of hashing the files. In
 * bulk, the paths that are regular files are therefore given to one
 * `git update-index --add --remove --stdin` (literal paths, the same clean and
 * end-of-line filters as `git add`), once `git check-ignore` has confirmed that
 * none matches an ignore rule (git add refuses ignored untracked files). Everything
 * else (deleted files, directories, symbolic links, paths that look like
 * pathspec patterns, or any ignored file) goes through `git add --all`, as
 * does every small set of paths.
 */
export function stagePaths(dir: string, paths: readonly string[]): void {
  const unique = [...new Set(paths)];
  let viaAdd = unique;
  if (unique.length >= BULK_STAGE_MIN) {
    const files: string[] = [];
    viaAdd = [];
    for (const path of unique) {
      let regular = false;
      if (!PATHSPEC_MAGIC.test(path)) {
        try {
          regular = lstatSync(join(dir, path)).isFile();
        } catch {
          // missing: a deletion, staged by git add
        }
      }
      (regular ? files : viaAdd).push(path);
    }
    if (files.length > 0 && anyIgnored(dir, files)) viaAdd = unique;
    else if (files.length > 0) git(dir, ['update-index', '--add', '--remove', '-z', '--stdin'], files.join('\0') + '\0');
  }
  for (let i = 0; i < viaAdd.length; i += 500) {
    git(dir, ['add', '--all', '--', ...viaAdd.slice(i, i + 500)]);
  }
}

/**
 * Writes the objects of files into the repository's object store while they
 * are still being written, so that git's hashing and compression of a bulk
 * save runs on another core meanwhile: one `git hash-object -w --stdin-paths`
 * fed a path at a time. It only saves work: the index is updated afterwards
 * by stagePaths as ever (git then finds each object already stored), so a
 * path it could not read, or its failure, changes nothing.
 */
export class ObjectPrehasher {
  readonly #child: ChildProcess;
  readonly #done: Promise<void>;

  private constructor(dir: string) {
    this.#child = spawn('git', ['hash-object', '-w', '--stdin-paths'], {
      cwd: dir,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
    this.#done = new Promise((resolve) => {
      this.#child.on('close', () => resolve());
      this.#child.on('error', () => resolve());
    });
    // A git that has gone (or cannot start) closes the pipe: later writes are dropped, not thrown.
    this.#child.stdin?.on('error', () => undefined);
  }

  static start(dir: string): ObjectPrehasher {
    return new ObjectPrehasher(dir);
  }

  /** Queues a file (absolute, or relative to the repository; no newline in it). */
  add(path: string): void {
    if (!path.includes('\n') && this.#child.stdin?.writable) this.#child.stdin.write(`${path}\n`);
  }

  /** Waits until git has stored every queued file (or given up). */
  finish(): Promise<void> {
    this.#child.stdin?.end();
    return this.#done;
  }
}

/**
 * Whether any of these paths matches an ignore rule. `--no-index` (much
 * faster: without it git looks each path up in the index) also reports
 * tracked files, which git add would accept: those then take the slower path.
 */
function anyIgnored(dir: string, paths: readonly string[]): boolean {
  const result = spawnSync('git', ['check-ignore', '-z', '--stdin', '--no-index'], {
    cwd: dir,
    input: paths.join('\0') + '\0',
    maxBuffer: 1024 * 1024 * 1024,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
  });
  // 0: some path is ignored; 1: none is; anything else: let git add decide (and report).
  return result.status !== 1;
}

export async function initRepository(dir: string): Promise<void> {
  await (await gitClient(dir)).init(['--initial-branch=main', '--quiet']);
}

/** Commits what is staged; throws GIT_FAILED with git's reason (e.g. missing identity). */
export async function commitStaged(dir: string, message: string): Promise<string> {
  try {
    const result = await (await gitClient(dir)).commit(message);
    return result.commit;
  } catch (error) {
    throw new GitError('GIT_FAILED', `git commit failed: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** Pushes the current branch to `remote`; returns "remote/branch". A rejected push is a clear error. */
export async function pushBranch(dir: string, remote: string): Promise<string> {
  const client = await gitClient(dir);
  const branch = (await client.revparse(['--abbrev-ref', 'HEAD'])).trim();
  try {
    await client.push(remote, `HEAD:refs/heads/${branch}`);
  } catch (error) {
    throw new GitError('GIT_FAILED', `git push ${remote} ${branch} failed: ${(error as Error).message.split('\n')[0]}`);
  }
  return `${remote}/${branch}`;
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

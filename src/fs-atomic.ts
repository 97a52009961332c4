/**
 * Atomic file writes: write a temporary file in the same directory, then
 * rename it over the destination. A process killed at any point leaves either
 * the old file or the new one, never a torn one. (No fsync per file: the
 * guarantee is against killed processes; durability comes from the git commit.)
 */
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

// Temporary names: unique per process (pid and a random tag) and per write (a counter),
// without drawing random bytes for each of thousands of files.
const PROCESS_TAG = `${process.pid}.${randomBytes(4).toString('hex')}`;
let sequence = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = writeTemporary(path, data, mode);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * The first half of writeFileAtomic: writes `data` to a new temporary file
 * beside `path` and returns its name; renameSync(tmp, path) completes the
 * write, rmSync(tmp) abandons it. (Many files can so be written in full
 * before any of them replaces its destination.)
 */
export function writeTemporary(path: string, data: string | Uint8Array, mode = 0o644): string {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${PROCESS_TAG}.${(sequence++).toString(36)}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w', mode);
  } catch (error) {
    // The directory is created only when missing (one system call less per file otherwise).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w', mode);
  }
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  return tmp;
}

/** Temporary names written above: `.<name>.<pid>.<tag>.<n>.tmp`. */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{8}\.[0-9a-z]+\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files a killed writer left in `dirs` (and, with
 * `recursive`, below them, up to `limit` directories): only ours, and only
 * those whose process is gone. Returns how many were removed.
 */
export function removeStaleTemporaryFiles(dirs: readonly string[], options: { recursive?: boolean; limit?: number } = {}): number {
  let removed = 0;
  let visited = 0;
  const queue = [...dirs];
  while (queue.length > 0 && visited < (options.limit ?? 1000)) {
    const dir = queue.shift()!;
    visited++;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (options.recursive && !entry.name.startsWith('.')) queue.push(join(dir, entry.name));
        continue;
      }
      const match = TEMPORARY.exec(entry.name);
      if (match && entry.isFile() && !processAlive(Number(match[1]))) {
        rmSync(join(dir, entry.name), { force: true });
        removed++;
      }
    }
  }
  return removed;
}

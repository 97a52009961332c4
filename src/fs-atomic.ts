/**
 * Atomic file writes: write a temporary file in the same directory, then
 * rename it over the destination. A process killed at any point leaves either
 * the old file or the new one, never a torn one. (No fsync per file: the
 * guarantee is against killed processes; durability comes from the git commit.)
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

// Temporary names: unique per process (pid and a random tag) and per write (a counter),
// without drawing random bytes for each of thousands of files.
const PROCESS_TAG = `${process.pid}.${randomBytes(4).toString('hex')}`;
let sequence = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
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
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

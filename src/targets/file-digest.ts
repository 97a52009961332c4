/**
 * Target files of any size, read once: their length, their digests, and
 * whether they hold a PEM private key, in one streaming pass of 1 MiB
 * chunks (files past 2 GiB cannot be read into one buffer).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';

const CHUNK = 1024 * 1024;
const PEM_PRIVATE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;

export interface FileDigest {
  length: number;
  digests: Record<string, string>;
  /** The file holds a PEM private key (of any kind). */
  privateKey: boolean;
}

export function digestFile(path: string, algorithms: readonly string[] = ['sha256']): FileDigest {
  const hashes: Array<[string, Hash]> = algorithms.map((a) => [a, createHash(a)]);
  const buffer = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  let length = 0;
  let privateKey = false;
  let tail = '';
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      const chunk = buffer.subarray(0, read);
      for (const [, hash] of hashes) hash.update(chunk);
      length += read;
      if (!privateKey) {
        // A marker inside the chunk, or straddling the previous one's end.
        const seam = tail + chunk.subarray(0, 64).toString('latin1');
        privateKey = PEM_PRIVATE.test(seam) || (chunk.indexOf('PRIVATE KEY-----') >= 0 && PEM_PRIVATE.test(chunk.toString('latin1')));
      }
      tail = chunk.subarray(Math.max(0, read - 64)).toString('latin1');
    }
  } finally {
    closeSync(fd);
  }
  return { length, digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])), privateKey };
}

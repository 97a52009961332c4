/** OCI content digests (`sha256:<hex>`, or `sha512:<hex>` when verifying a digest of that form). */
import { createHash } from 'node:crypto';

/** The digest of `bytes`, in the algorithm of `like` (a digest or an algorithm prefix; sha256 by default). */
export function digestOf(bytes: Uint8Array, like = 'sha256:'): string {
  const algorithm = like.startsWith('sha512:') ? 'sha512' : 'sha256';
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

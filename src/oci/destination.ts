/**
 * Where to publish or read from: `oci://HOST[:PORT]/NAMESPACE` (a registry)
 * or `oci-layout:DIR` (an OCI image-layout directory, the embedded default).
 */
import { UsageError } from '../errors.js';
import { LayoutTarget } from './layout-dir.js';
import { RegistryTarget, parseOciUrl } from './registry-client.js';
import type { OciTarget } from './store.js';

export const DEFAULT_DESTINATION = 'oci-layout:oci-layout';

export interface DestinationOptions {
  plainHttp?: boolean;
  /** Deadline of one HTTP exchange, in milliseconds. */
  timeoutMs?: number;
  /** Retries of a failed request. */
  retries?: number;
  /** Directory relative `oci-layout:` paths are resolved against (default: the current directory). */
  baseDir?: string;
}

export function openOciTarget(destination: string, options: DestinationOptions = {}): OciTarget {
  if (destination.startsWith('oci://')) {
    const { host, namespace } = parseOciUrl(destination);
    return new RegistryTarget({
      host,
      namespace,
      ...(options.plainHttp ? { plainHttp: true } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
    });
  }
  if (destination.startsWith('oci-layout:')) {
    const dir = destination.slice('oci-layout:'.length);
    if (dir === '') throw new UsageError('oci-layout: needs a directory, e.g. oci-layout:./published');
    return new LayoutTarget(options.baseDir && !dir.startsWith('/') ? `${options.baseDir}/${dir}` : dir);
  }
  throw new UsageError(`unsupported destination "${destination}": use oci://HOST[:PORT]/NAMESPACE or oci-layout:DIR`);
}

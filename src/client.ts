/**
 * A TUF client for what tufctl publishes: tuf-js's `Updater` reading from a
 * registry (`oci://HOST/NAMESPACE`), an OCI layout directory
 * (`oci-layout:DIR`) or a static HTTP mirror (`https://…`, as written by
 * `tufctl export`), with a persistent local cache so that a rollback or
 * freeze is detected across runs, not just within one.
 */
import { pinReferenceTime } from './verify/reference-time.js';
import { useLinearModels } from './verify/linear-models.js';
import { pathInside } from './fs-paths.js';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Updater } from 'tuf-js';
import { TufctlError, UsageError } from './errors.js';
import { parseExpiry } from './metadata/expiry.js';
import { RegistryFetcher, REGISTRY_METADATA_URL, REGISTRY_TARGETS_URL } from './oci/registry-fetcher.js';
import { openOciTarget } from './oci/destination.js';
import { isLoopbackHost } from './oci/registry-client.js';
import { METADATA_LIMITS } from './oci/limits.js';
import { MirrorFetcher } from './verify/mirror-fetcher.js';
import type { BoundedFetcher } from './verify/tuf-js-fetch.js';
import { JSONParseError, jsonProblem, parseJSON } from './metadata/strict-json.js';

export interface ClientOptions {
  /** oci://HOST[:PORT]/NAMESPACE, oci-layout:DIR, or an https:// (or loopback http://) mirror. */
  from: string;
  /** The trusted root to start from (used when the cache holds none yet). */
  root: string;
  /** Local cache of trusted metadata (default: ~/.cache/tufctl/client/<hash of source>). */
  cacheDir?: string;
  plainHttp?: boolean;
  metadataRepository?: string;
  targetsRepository?: string;
  /** Check expiry against this time instead of the clock (drills; see verify/reference-time.ts). */
  now?: Date;
  /**
   * The most bytes read for a snapshot or targets role whose length the
   * trusted metadata does not give (default METADATA_LIMITS, oci/limits.ts);
   * timestamp (16 KiB) and root (512 KiB) keep their caps.
   */
  maxMetadataBytes?: number;
}

interface OpenClient {
  updater: Updater;
  fetcher: BoundedFetcher;
  cacheDir: string;
  metadataDir: string;
  targetDir: string;
}

export function defaultCacheDir(from: string): string {
  const base = process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'tufctl', 'client', createHash('sha256').update(from).digest('hex').slice(0, 16));
}

function openClient(options: ClientOptions): OpenClient {
  // tuf-js reads a snapshot of 16,384 bins in well under a second instead of over a minute (linear-models.ts).
  useLinearModels();
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir(options.from));
  const metadataDir = join(cacheDir, 'metadata');
  const targetDir = join(cacheDir, 'targets');
  mkdirSync(metadataDir, { recursive: true });
  mkdirSync(targetDir, { recursive: true });
  if (!existsSync(join(metadataDir, 'root.json'))) {
    if (!existsSync(options.root)) throw new UsageError(`trusted root ${options.root} does not exist`);
    const text = readFileSync(options.root, 'utf8');
    try {
      if ((parseJSON(text) as { signed?: { _type?: string } }).signed?._type !== 'root') throw new Error('not root metadata');
    } catch (error) {
      const problem = error instanceof JSONParseError ? jsonProblem(error) : (error as Error).message;
      throw new TufctlError('METADATA_MALFORMED', `${options.root} is not TUF root metadata (${problem})`);
    }
    copyFileSync(options.root, join(metadataDir, 'root.json'));
  }
  let fetcher: BoundedFetcher;
  let metadataBaseUrl: string;
  let targetBaseUrl: string;
  if (/^https?:\/\//.test(options.from)) {
    const url = new URL(options.from);
    if (url.protocol === 'http:' && !isLoopbackHost(url.host) && !options.plainHttp) {
      throw new UsageError(`refusing plain HTTP to ${url.host}; use https:// (or --plain-http if you really mean it)`);
    }
    const base = options.from.replace(/\/+$/, '');
    metadataBaseUrl = `${base}/metadata`;
    targetBaseUrl = `${base}/targets`;
    fetcher = new MirrorFetcher({ metadataBaseUrl, allowPlainHttp: (u) => options.plainHttp === true || isLoopbackHost(u.host) });
  } else {
    const target = openOciTarget(options.from, { plainHttp: options.plainHttp });
    fetcher = new RegistryFetcher(
      target.repository(options.metadataRepository ?? 'tuf-metadata'),
      target.repository(options.targetsRepository ?? 'tuf-targets'),
    );
    metadataBaseUrl = REGISTRY_METADATA_URL;
    targetBaseUrl = REGISTRY_TARGETS_URL;
  }
  const updater = new Updater({
    metadataDir,
    targetDir,
    metadataBaseUrl,
    targetBaseUrl,
    fetcher,
    // Every download is capped: by the length in trusted metadata where it is given, else by these.
    config: {
      rootMaxLength: METADATA_LIMITS.root,
      timestampMaxLength: METADATA_LIMITS.timestamp,
      snapshotMaxLength: options.maxMetadataBytes ?? METADATA_LIMITS.snapshot,
      targetsMaxLength: options.maxMetadataBytes ?? METADATA_LIMITS.targets,
    },
  });
  return { updater, fetcher, cacheDir, metadataDir, targetDir };
}

function clientError(error: unknown, client: OpenClient): TufctlError {
  if (error instanceof TufctlError) return error;
  // tuf-js reports a failed snapshot or targets download in a message of its own: keep the download's error and code.
  if (client.fetcher.failure) return client.fetcher.failure;
  const e = error as Error;
  return new TufctlError('VERIFICATION_FAILED', `the TUF client rejected the repository: ${e.name}: ${e.message}`);
}

export interface FetchResult {
  target: string;
  length: number;
  sha256: string | undefined;
  out: string;
}

/** Refreshes metadata, then downloads and verifies one target. */
export async function clientFetch(options: ClientOptions & { target: string; out?: string }): Promise<FetchResult> {
  const client = openClient(options);
  try {
    if (options.now) pinReferenceTime(client.updater, options.now);
    await client.updater.refresh();
    const info = await client.updater.getTargetInfo(options.target);
    if (!info) throw new TufctlError('TARGET_NOT_FOUND', `no trusted target "${options.target}" in ${options.from}`);
    const out = resolve(options.out ?? pathInside(client.targetDir, ...options.target.split('/')));
    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.download`;
    await client.updater.downloadTarget(info, tmp);
    renameSync(tmp, out);
    return { target: options.target, length: info.length, sha256: info.hashes.sha256, out };
  } catch (error) {
    throw clientError(error, client);
  }
}

export interface ClientVerifyResult {
  ok: boolean;
  roles: Array<{ role: string; version: number; expires: string }>;
  problems: string[];
}

/** Refreshes metadata and checks every top-level role stays valid for `validForDays`. */
export async function clientVerify(options: ClientOptions & { validForDays?: number }): Promise<ClientVerifyResult> {
  const client = openClient(options);
  try {
    if (options.now) pinReferenceTime(client.updater, options.now);
    await client.updater.refresh();
  } catch (error) {
    throw clientError(error, client);
  }
  const deadline = (options.now ?? new Date()).getTime() + (options.validForDays ?? 0) * 24 * 60 * 60 * 1000;
  const roles: ClientVerifyResult['roles'] = [];
  const problems: string[] = [];
  for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
    const signed = (parseJSON(readFileSync(join(client.metadataDir, `${role}.json`))) as { signed: { version: number; expires: string } })
      .signed;
    roles.push({ role, version: signed.version, expires: signed.expires });
    const expires = parseExpiry(signed.expires);
    if (!expires || expires.getTime() <= deadline) {
      problems.push(
        `${role} v${signed.version} expires ${signed.expires}${options.validForDays ? `, within ${options.validForDays} days` : ''}`,
      );
    }
  }
  return { ok: problems.length === 0, roles, problems };
}

/**
 * Runs a real TUF client (tuf-js's `Updater`) over a repository view, the
 * way a client would see the repository once exported or published: it
 * starts from the root clients embed (`1.root.json`, or the trusted root
 * version), at the real time or a given one, walks the root chain, loads timestamp, snapshot
 * and targets, walks delegations and downloads targets, checking every
 * signature, version, expiry, length and hash itself.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { BaseFetcher, Updater } from 'tuf-js';
import { notFound, streamOf } from './tuf-js-fetch.js';
import type { RepositoryView } from './verify-repository.js';
import { pinReferenceTime } from './reference-time.js';
import { useLinearModels } from './linear-models.js';

export interface ClientCheckResult {
  ran: boolean;
  ok?: boolean;
  reason?: string;
  rootVersion?: number;
  targetsDownloaded?: number;
}

const METADATA_URL = 'tufctl-view:/metadata';
const TARGETS_URL = 'tufctl-view:/targets';

/** Serves a RepositoryView by consistent-snapshot file names, as an HTTP mirror would. */
export class ViewFetcher extends BaseFetcher {
  readonly #files = new Map<string, () => Buffer>();

  constructor(view: RepositoryView) {
    super();
    for (const [version, bytes] of view.rootHistory) this.#files.set(`${METADATA_URL}/${version}.root.json`, () => bytes);
    for (const [role, { bytes, version }] of view.roles) {
      const name = role === 'timestamp' ? 'timestamp.json' : `${version}.${role}.json`;
      this.#files.set(`${METADATA_URL}/${name}`, () => bytes);
    }
    for (const target of view.targets) {
      if (!target.file) continue;
      const file = target.file;
      const slash = target.path.lastIndexOf('/');
      const dir = slash >= 0 ? target.path.slice(0, slash + 1) : '';
      const base = target.path.slice(slash + 1);
      for (const hash of Object.values(target.hashes)) {
        this.#files.set(`${TARGETS_URL}/${dir}${hash}.${base}`, () => readFileSync(file));
      }
    }
  }

  fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    // tuf-js percent-encodes target paths in URLs, as a web server would receive them.
    let key = url;
    try {
      key = decodeURIComponent(url);
    } catch {
      return Promise.reject(notFound(`not found: ${url}`));
    }
    const get = this.#files.get(key);
    if (!get) return Promise.reject(notFound(`not found: ${url}`));
    return Promise.resolve(streamOf(get()));
  }
}

export async function runClientCheck(
  view: RepositoryView,
  options: { downloadTargets: boolean; fullWalk: boolean; trustedRootVersion?: number; now?: Date },
): Promise<ClientCheckResult> {
  const trusted = options.trustedRootVersion ?? 1;
  const first = view.rootHistory.get(trusted);
  if (!first) return { ran: false, reason: `no ${trusted}.root.json to start from` };
  useLinearModels();
  const workDir = mkdtempSync(join(tmpdir(), 'tufctl-client-'));
  try {
    const metadataDir = join(workDir, 'metadata');
    const targetDir = join(workDir, 'targets');
    mkdirSync(metadataDir);
    mkdirSync(targetDir);
    writeFileSync(join(metadataDir, 'root.json'), first);
    const updater = new Updater({
      metadataDir,
      targetDir,
      metadataBaseUrl: METADATA_URL,
      targetBaseUrl: TARGETS_URL,
      fetcher: new ViewFetcher(view),
      config: {
        maxDelegations: Math.max(32, view.roles.size + 1),
        targetsMaxLength: 512 * 1024 * 1024,
        snapshotMaxLength: 256 * 1024 * 1024,
      },
    });
    if (options.now) pinReferenceTime(updater, options.now);
    await updater.refresh();
    let downloaded = 0;
    if (options.fullWalk) {
      for (const target of view.targets) {
        const info = await updater.getTargetInfo(target.path);
        if (!info) return { ran: true, ok: false, reason: `target ${target.path} is not reachable through the delegations` };
        if (options.downloadTargets && target.file) {
          await updater.downloadTarget(info, join(targetDir, `${downloaded}`));
          downloaded++;
        }
      }
    }
    return { ran: true, ok: true, rootVersion: Math.max(...view.rootHistory.keys()), targetsDownloaded: downloaded };
  } catch (error) {
    return { ran: true, ok: false, reason: `${(error as Error).name}: ${(error as Error).message}` };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

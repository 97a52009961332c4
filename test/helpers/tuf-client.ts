/**
 * A real TUF client (tuf-js's Updater) over a static mirror, with a
 * persistent cache: refreshes from `base` (at the real time, or `now`) and
 * downloads `paths`, checking their bytes against the repository's files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { pinReferenceTime } from '../../src/verify/reference-time.js';

export async function clientDownloads(
  base: string,
  cacheDir: string,
  paths: string[],
  rootFile: string,
  repoDir: string,
  options: { now?: Date } = {},
): Promise<void> {
  const metadataDir = join(cacheDir, 'metadata');
  const targetDir = join(cacheDir, 'targets');
  if (!existsSync(metadataDir)) {
    mkdirSync(metadataDir, { recursive: true });
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(join(metadataDir, 'root.json'), readFileSync(rootFile));
  }
  const updater = new Updater({ metadataDir, targetDir, metadataBaseUrl: `${base}/metadata`, targetBaseUrl: `${base}/targets` });
  // Real repositories' fixtures are checked at a time inside their validity (the client's reference time).
  if (options.now) pinReferenceTime(updater, options.now);
  await updater.refresh();
  for (const path of paths) {
    const info = await updater.getTargetInfo(path);
    assert.ok(info, `client finds ${path}`);
    const out = join(targetDir, path.replaceAll('/', '_'));
    rmSync(out, { force: true });
    await updater.downloadTarget(info, out);
    assert.deepEqual(readFileSync(out), readFileSync(join(repoDir, 'targets', path)), `client downloads ${path} intact`);
  }
}

/**
 * Export: the publishable consistent-snapshot tree for static HTTP hosting.
 *
 *   OUTDIR/metadata/N.root.json (every root), timestamp.json,
 *   V.snapshot.json, V.targets.json, V.<role>.json
 *   OUTDIR/targets/<dir>/<sha256>.<name> for every target with a local file
 *   OUTDIR/status.html: the status page (src/status-page.ts), published with the repository
 *
 * Only a repository that verifies is exported, and the exact bytes from the
 * working tree are written (never re-serialised), so hashes in snapshot and
 * timestamp meta stay valid.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathInside } from './fs-paths.js';
import { VerificationError, UsageError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { Repository } from './metadata/repository.js';
import { repositoryStatus } from './status.js';
import { renderStatusPage } from './status-page.js';
import { verifyRepository, type VerifyOptions, type VerifyReport } from './verify/verify-repository.js';

export interface ExportResult {
  outDir: string;
  metadataFiles: number;
  targetFiles: number;
  /** OUTDIR/status.html */
  statusPage: string;
  report: VerifyReport;
}

export async function exportRepository(
  repoDir: string,
  outDir: string,
  options: VerifyOptions & { allowNonEmpty?: boolean } = {},
): Promise<ExportResult> {
  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !options.allowNonEmpty) {
    throw new UsageError(`${outDir} is not empty; export into a new or empty directory`, 'DIRECTORY_NOT_EMPTY');
  }
  const { report, view } = await verifyRepository(repoDir, options);
  if (!report.ok) {
    throw new VerificationError(
      `refusing to export: the repository does not verify (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})`,
      report.problems.map((p) => p.message),
    );
  }
  // Every file name below comes from the metadata: each is joined inside its root or refused (fs-paths.ts).
  const metadataDir = pathInside(outDir, 'metadata');
  mkdirSync(metadataDir, { recursive: true });
  let metadataFiles = 0;
  for (const [version, bytes] of view.rootHistory) {
    writeFileAtomic(pathInside(metadataDir, `${version}.root.json`), bytes);
    metadataFiles++;
  }
  for (const [role, { bytes, version }] of view.roles) {
    writeFileAtomic(pathInside(metadataDir, role === 'timestamp' ? 'timestamp.json' : `${version}.${role}.json`), bytes);
    metadataFiles++;
  }
  let targetFiles = 0;
  for (const target of view.targets) {
    if (!target.file) continue;
    const segments = target.path.split('/');
    const name = segments.pop()!;
    const dir = pathInside(outDir, 'targets', ...segments);
    mkdirSync(dir, { recursive: true });
    for (const hash of new Set(Object.values(target.hashes))) {
      copyFileSync(target.file, pathInside(dir, `${hash}.${name}`));
      targetFiles++;
    }
  }
  const statusPage = pathInside(outDir, 'status.html');
  const status = repositoryStatus(Repository.open(repoDir, { now: options.now ?? new Date(), git: false }));
  writeFileAtomic(statusPage, renderStatusPage(status, { repositoryName: basename(resolve(repoDir)) }));
  return { outDir, metadataFiles, targetFiles, statusPage, report };
}

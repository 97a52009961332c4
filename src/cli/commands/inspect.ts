/** `tufctl status`, `tufctl verify`, `tufctl export`: look at the repository as signers and clients do. */
import { basename, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { VerificationError } from '../../errors.js';
import { exportRepository } from '../../export.js';
import { writeFileAtomic } from '../../fs-atomic.js';
import { renderStatusPage } from '../../status-page.js';
import { repositoryStatus, type RoleStatus } from '../../status.js';
import { describeNeeds, needOf } from '../../edit/signing.js';
import { readPendingCommit } from '../../git/pending-commit.js';
import { verifyRepository, type VerifyReport } from '../../verify/verify-repository.js';
import { emit, nowFrom, openRepository, repoDir, trustedRootFrom, type GlobalArgs } from '../context.js';

function statusLine(r: RoleStatus): string {
  const mark = (ok: boolean): string => (ok ? '✓' : '✗');
  const sig = r.previous
    ? `old root: ${r.previous.valid} of ${r.previous.threshold} ${mark(r.previous.valid >= r.previous.threshold)} — new root: ${r.valid} of ${r.threshold} ${mark(r.valid >= r.threshold)}`
    : r.bins
      ? `${r.bins.count - r.bins.unsigned}/${r.bins.count} bins signed ${mark(r.bins.unsigned === 0)}`
      : `signed ${r.valid} of ${r.threshold} ${mark(r.valid >= r.threshold)}`;
  const state =
    r.state === 'valid'
      ? `signing period from ${r.signingPeriodStarts}`
      : r.state === 'expired'
        ? 'EXPIRED'
        : 'IN SIGNING PERIOD: re-sign now';
  // Owners shown with their attested device: `@alice (YubiKey 25515003)`.
  const named = <T extends { missing: string[]; missingDevices?: (string | null)[] }>(s: T): T => ({
    ...s,
    missing: s.missing.map((m, i) => (s.missingDevices?.[i] ? `${m} (${s.missingDevices[i]})` : m)),
  });
  const who = describeNeeds(needOf(named(r)), r.previous ? needOf(named(r.previous)) : undefined);
  return `${r.role.padEnd(12)} v${String(r.version).padEnd(5)} expires ${r.expires} (${state})  ${sig}${who ? `  waiting for ${who}` : ''}`;
}

function reportLines(report: VerifyReport): string[] {
  const lines: string[] = [];
  for (const p of report.problems) lines.push(`✗ ${p.message}`);
  for (const w of report.warnings) lines.push(`! ${w}`);
  const client = report.client.ran
    ? report.client.ok
      ? `tuf-js client accepted it (root v${report.client.rootVersion}, ${report.client.targetsDownloaded ?? 0} target file(s) downloaded and checked)`
      : 'tuf-js client rejected it'
    : `tuf-js client check ${report.client.reason}`;
  if (report.ok) {
    lines.push(
      `✓ repository verifies: ${report.roles.length} role(s), ${report.targets.total} target(s) (${report.targets.withFiles} with local files); ${client}`,
    );
  }
  return lines;
}

export function register(cli: Argv): Argv {
  return cli
    .command(
      'status',
      'Per role: version, expiry, signing period, signatures against the threshold, who still has to sign',
      (y) =>
        y.option('html', {
          type: 'string',
          requiresArg: true,
          describe: 'Also write a self-contained HTML status page (table and expiry timeline) to FILE',
        }),
      (argv) => {
        const args = argv as unknown as GlobalArgs & { html?: string };
        const repo = openRepository(args, { git: false });
        const status = repositoryStatus(repo, trustedRootFrom(args));
        const lines = status.roles.map(statusLine);
        if (status.attestedKeys) {
          lines.push('keys with a verified YubiKey attestation:');
          for (const k of status.attestedKeys) {
            lines.push(`  ${k.keyId.slice(0, 12)}  ${[k.owner, k.device].filter(Boolean).join(', ')}  ${k.roles.join(', ')}`);
          }
        }
        if (status.trustedRootVersion > 1) lines.push(`clients embed root v${status.trustedRootVersion}: older roots are not checked`);
        const pending = readPendingCommit(repo.dir);
        if (pending) {
          lines.push(
            `interrupted: "${pending.message.split('\n')[0]}" (${pending.startedAt}) was saved but not committed (${pending.paths.length} file(s)); rerun the command with --commit, or review and git commit`,
          );
        }
        if (args.html !== undefined) {
          const file = resolve(args.html);
          writeFileAtomic(file, renderStatusPage(status, { repositoryName: basename(resolve(repo.dir)) }));
          lines.push(`wrote ${args.html}`);
        }
        emit(args, lines, pending ? { ...status, interruptedCommit: pending } : status);
      },
    )
    .command(
      'verify',
      'Verify the whole working tree as a TUF client would; exit 0 only if a client accepts everything',
      (y) =>
        y
          .option('valid-for', { type: 'number', default: 0, describe: 'Also require every role to stay valid for this many days' })
          .option('client', {
            choices: ['auto', 'always', 'never'] as const,
            default: 'auto' as const,
            describe: 'Run the tuf-js client over the repository (auto: skipped for very large ones)',
          }),
      async (argv) => {
        const args = argv as unknown as GlobalArgs & { 'valid-for': number; client: 'auto' | 'always' | 'never' };
        const { report } = await verifyRepository(repoDir(args), {
          now: args.now ? nowFrom(args) : undefined,
          validForDays: args['valid-for'],
          client: args.client,
          ...trustedRootFrom(args),
        });
        if (!report.ok) {
          if (args.json) {
            emit(args, [], report);
            process.exitCode = 1;
            return;
          }
          throw new VerificationError(
            `repository does not verify (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})`,
            report.problems.map((p) => p.message),
          );
        }
        emit(args, reportLines(report), report);
      },
    )
    .command(
      'export <outdir>',
      'Write the consistent-snapshot tree (metadata/N.root.json, V.role.json, targets/<sha256>.<name>) and status.html for static hosting',
      (y) => y.positional('outdir', { type: 'string', demandOption: true }),
      async (argv) => {
        const args = argv as unknown as GlobalArgs & { outdir: string };
        const result = await exportRepository(repoDir(args), args.outdir, {
          now: args.now ? nowFrom(args) : undefined,
          ...trustedRootFrom(args),
        });
        emit(
          args,
          [
            `exported ${result.metadataFiles} metadata file(s) and ${result.targetFiles} target file(s) to ${result.outDir}`,
            `wrote status page ${result.statusPage}`,
          ],
          {
            ok: true,
            outDir: result.outDir,
            metadataFiles: result.metadataFiles,
            targetFiles: result.targetFiles,
            statusPage: result.statusPage,
          },
        );
      },
    );
}

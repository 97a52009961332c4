/** `tufctl jwks …`: mirror OIDC issuers' signing keys (JWKS) into the repository as targets. */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import type { IssuerSummary, JwksResult } from '../../jwks/sync.js';

/** The JWKS mirror (jose, Ajv) is loaded only when a jwks command runs. */
const mirror = (): Promise<typeof import('../../jwks/sync.js')> => import('../../jwks/sync.js');
import { CONFIG_FILE } from '../../config.js';
import { describeOutcome, describeTrust, emit, nowFrom, repoDir, runTrustEdit, type EditArgs, type GlobalArgs } from '../context.js';

function retention(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0)
    throw new UsageError('--retention-days must be a whole number >= 0 (0 keeps archived keys forever)');
  return value;
}

function summaryLines(issuers: IssuerSummary[]): string[] {
  const lines: string[] = [];
  for (const s of issuers) {
    const parts = [
      ...s.added.map((k) => `added ${k}`),
      ...s.reactivated.map((k) => `reactivated ${k}`),
      ...s.archived.map((k) => `archived ${k}`),
      ...s.dropped.map((k) => `dropped ${k} (past retention)`),
      ...s.revoked.map((k) => `revoked ${k}`),
    ];
    lines.push(`${s.issuer}: ${parts.length > 0 ? parts.join(', ') : 'no change'}`);
    for (const note of s.notes) lines.push(`${s.issuer}: note: ${note}`);
  }
  return lines;
}

function report(args: EditArgs, result: JwksResult, outcome: Awaited<ReturnType<typeof runTrustEdit>>): void {
  emit(args, [...summaryLines(result.issuers), ...describeTrust(outcome.trust), ...describeOutcome(outcome)], {
    ok: true,
    ...result,
    ...outcome,
  });
}

export function register(cli: Argv): Argv {
  return cli.command('jwks', "Mirror OIDC issuers' JWKS as signed targets (jwks/<issuer>/jwks.json and ledger.json)", (y) =>
    y
      .command(
        'add-issuer <issuer>',
        'Start mirroring an issuer: OIDC discovery, fetch and check its JWKS, write its JWKS and ledger',
        (t) =>
          t
            .positional('issuer', { type: 'string', demandOption: true, describe: 'Issuer URL, exactly as in its tokens (https://…)' })
            .option('allow-http-loopback', {
              type: 'boolean',
              default: false,
              describe: 'Allow plain HTTP to a loopback issuer (tests, local issuers); recorded in tufctl.json',
            })
            .option('retention-days', { type: 'number', describe: 'Drop archived keys after this many days (default: tufctl.json, 365)' })
            .example('$0 jwks add-issuer https://token.actions.githubusercontent.com --commit', 'Mirror GitHub Actions OIDC keys'),
        async (argv) => {
          const args = argv as unknown as EditArgs & { issuer: string; allowHttpLoopback: boolean; retentionDays?: number };
          let result: JwksResult | undefined;
          const outcome = await runTrustEdit(args, async (files, repo) => {
            files.backup(CONFIG_FILE);
            const { addIssuer } = await mirror();
            result = await addIssuer({
              repoDir: repo.dir,
              issuer: args.issuer,
              allowHttpLoopback: args.allowHttpLoopback,
              now: nowFrom(args),
              retentionDays: retention(args.retentionDays),
              write: files.writer,
            });
            if (result.configChanged) repo.stageAlso(CONFIG_FILE);
          });
          report(args, result!, outcome);
        },
      )
      .command(
        'sync [issuers..]',
        'Re-fetch mirrored issuers (all by default); new keys become active, vanished keys archived; no change writes nothing',
        (t) =>
          t
            .positional('issuers', { type: 'string', array: true, describe: 'Issuers to sync (default: every mirrored issuer)' })
            .option('retention-days', { type: 'number', describe: 'Drop archived keys after this many days (default: tufctl.json, 365)' }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { issuers?: string[]; retentionDays?: number };
          let result: JwksResult | undefined;
          const outcome = await runTrustEdit(args, async (files, repo) => {
            const { syncIssuers } = await mirror();
            result = await syncIssuers({
              repoDir: repo.dir,
              issuers: args.issuers ?? [],
              now: nowFrom(args),
              retentionDays: retention(args.retentionDays),
              write: files.writer,
            });
          });
          report(args, result!, outcome);
        },
      )
      .command(
        'revoke <issuer> <kid>',
        "Remove a key from an issuer's mirrored JWKS and mark it revoked in the ledger",
        (t) =>
          t
            .positional('issuer', { type: 'string', demandOption: true })
            .positional('kid', { type: 'string', demandOption: true })
            .option('reason', { type: 'string', demandOption: true, describe: 'Why (recorded in the ledger)' }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { issuer: string; kid: string; reason: string };
          let result: JwksResult | undefined;
          const { revokeJwk } = await mirror();
          const outcome = await runTrustEdit(args, (files, repo) => {
            result = revokeJwk({
              repoDir: repo.dir,
              issuer: args.issuer,
              kid: args.kid,
              reason: args.reason,
              now: nowFrom(args),
              write: files.writer,
            });
          });
          report(args, result!, outcome);
        },
      )
      .command(
        'list',
        'List mirrored issuers and their keys',
        () => {},
        async (argv) => {
          const args = argv as unknown as GlobalArgs;
          const { listIssuers } = await mirror();
          const issuers = listIssuers(repoDir(args));
          const lines: string[] = [];
          for (const { issuer, dir, ledger } of issuers) {
            lines.push(`${issuer} (targets/jwks/${dir}/)`);
            for (const [kid, entry] of Object.entries(ledger.keys)) lines.push(`  ${kid}: ${entry.status}, first seen ${entry.first_seen}`);
          }
          if (issuers.length === 0) lines.push('no issuers mirrored (tufctl jwks add-issuer URL)');
          emit(args, lines, { ok: true, issuers: issuers.map(({ issuer, dir, ledger }) => ({ issuer, dir, keys: ledger.keys })) });
        },
      )
      .demandCommand(1, 'name a jwks command (see tufctl jwks --help)'),
  );
}

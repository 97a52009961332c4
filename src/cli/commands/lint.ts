/** `tufctl lint`: what each widely used TUF client would refuse or mishandle in this repository (docs/clients.md). */
import type { Argv } from 'yargs';
import { TufctlError, UsageError } from '../../errors.js';
import { lintClients, parseClientList } from '../../lint/lint.js';
import { findingLine, findingLines } from '../../lint/format.js';
import { CLIENT_IDS } from '../../lint/client-rules.js';
import { emit, repoDir, trustedRootFrom, type GlobalArgs } from '../context.js';

interface LintArgs extends GlobalArgs {
  clients?: string;
  strict: boolean;
  'refresh-every'?: number;
}

/** Longest refresh interval accepted: a year of hours. */
const MAX_REFRESH_HOURS = 8760;

export function register(cli: Argv): Argv {
  return cli.command(
    'lint',
    'Client compatibility: what go-tuf, python-tuf, tuf-js, tough and sigstore clients would refuse or mishandle in this repository',
    (y) =>
      y
        .option('clients', { type: 'string', describe: `Comma-separated clients to check (default all: ${CLIENT_IDS.join(',')})` })
        .option('strict', { type: 'boolean', default: false, describe: 'Exit 1 with CLIENT_INCOMPATIBLE when there is any finding' })
        .option('refresh-every', {
          type: 'number',
          describe: 'Hours between refresh runs (default: the schedule in .github/workflows/refresh.yml, else 6)',
        })
        .example('$0 lint --clients go-tuf,tuf-js --strict', 'Fail when Docker or npm-style clients would trip over the repository'),
    (argv) => {
      const args = argv as unknown as LintArgs;
      const clients = args.clients !== undefined ? parseClientList(args.clients) : undefined;
      const hours = args['refresh-every'];
      if (hours !== undefined && !(Number.isFinite(hours) && hours > 0 && hours <= MAX_REFRESH_HOURS)) {
        throw new UsageError(`--refresh-every must be a number of hours above 0 and at most ${MAX_REFRESH_HOURS} (got ${String(hours)})`);
      }
      const report = lintClients(repoDir(args), {
        ...(clients ? { clients } : {}),
        ...trustedRootFrom(args),
        ...(hours !== undefined ? { refreshHours: hours } : {}),
      });
      if (args.strict && report.findings.length > 0) {
        throw new TufctlError(
          'CLIENT_INCOMPATIBLE',
          `${report.findings.length} client-compatibility finding(s) for ${report.clients.join(', ')} (--strict)`,
          report.findings.map(findingLine),
        );
      }
      emit(args, findingLines(report.findings), { ok: true, ...report });
    },
  );
}

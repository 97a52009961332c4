/** `tufctl refresh` (the scheduled job) and `tufctl expiring` (offline roles due for re-signing, their signing branches). */
import type { Argv } from 'yargs';
import { loadConfig } from '../../config.js';
import type { OnlineDecision } from '../../refresh/decide.js';
import type { Repository } from '../../metadata/repository.js';
import type { SigningBranch, SigningGroup } from '../../refresh/signing-branches.js';
import { MAX_GROUP_DAYS, type GroupCandidate } from '../../refresh/signing-groups.js';
import { emit, nowFrom, onlineSigners, openRepository, repoDir, trustedRootFrom, type GlobalArgs } from '../context.js';

interface RefreshArgs extends GlobalArgs {
  publish?: string;
  'dry-run': boolean;
  force: boolean;
  commit: boolean;
  push?: string;
  key: string[];
  'plain-http': boolean;
  timeout: number;
  retries: number;
  concurrency?: number;
}

export function register(cli: Argv): Argv {
  return cli
    .command(
      'refresh',
      'The scheduled job: re-sign snapshot/timestamp with the online key when due, above what the registry serves; publish; commit',
      (y) =>
        y
          .option('publish', {
            type: 'string',
            describe: 'Read the floor from and publish to oci://HOST/NS or oci-layout:DIR ("" = publishTo in tufctl.json)',
          })
          .option('dry-run', { type: 'boolean', default: false, describe: 'Decide and report; sign, write and publish nothing' })
          .option('force', { type: 'boolean', default: false, describe: 'Re-sign the timestamp even when it is not due (drills)' })
          .option('push', { type: 'string', describe: 'After --commit, push the branch to this remote (default origin when given empty)' })
          .option('plain-http', { type: 'boolean', default: false, describe: 'Allow plain HTTP to a non-loopback registry' })
          .option('timeout', { type: 'number', default: 60, describe: 'Seconds one registry request may take' })
          .option('retries', { type: 'number', default: 3, describe: 'Retries of a failed registry request' })
          .option('concurrency', {
            type: 'number',
            describe: 'Registry uploads in flight at once when publishing, 1..64 (default: publishConcurrency in tufctl.json, else 8)',
          })
          .example('$0 refresh --publish oci://ghcr.io/acme --commit --push', 'The 6-hourly job')
          .example('TUFCTL_ONLINE_KEY="$(cat online.pem)" $0 refresh --dry-run --json', 'What would be signed now'),
      async (argv) => {
        const args = argv as unknown as RefreshArgs;
        const dir = repoDir(args);
        const config = loadConfig(dir);
        const { refresh } = await import('../../refresh/refresh.js');
        let target;
        if (args.publish !== undefined) {
          const { openOciTarget } = await import('../../oci/destination.js');
          target = openOciTarget(args.publish === '' ? config.publishTo : args.publish, {
            plainHttp: args['plain-http'],
            baseDir: dir,
            timeoutMs: args.timeout * 1000,
            retries: args.retries,
          });
        }
        const report = await refresh({
          repoDir: dir,
          now: nowFrom(args),
          ...trustedRootFrom(args),
          ...(target ? { target } : {}),
          metadataRepository: config.metadataRepository,
          targetsRepository: config.targetsRepository,
          concurrency: args.concurrency ?? config.publishConcurrency,
          signers: (repo) => onlineSigners(repo, args.key),
          dryRun: args['dry-run'],
          force: args.force,
          commit: args.commit,
          ...(args.push !== undefined ? { push: args.push === '' ? 'origin' : args.push } : {}),
        });
        const lines: string[] = [];
        const describe = (role: string, d: OnlineDecision): string =>
          d.sign
            ? `${role}: ${args['dry-run'] ? 'would sign' : 'signed'} v${d.version} — ${d.reasons.join('; ')}`
            : `${role} v${d.version}: up to date`;
        lines.push(describe('snapshot', report.plan.snapshot), describe('timestamp', report.plan.timestamp));
        for (const o of report.plan.offline)
          lines.push(
            `${o.role} v${o.version}: ${o.state === 'expired' ? 'EXPIRED' : 'in its signing period'} (expires ${o.expires}) — needs offline signing`,
          );
        if (report.published) lines.push(`published to ${report.published.location} (${report.published.stats.requests} requests)`);
        if (report.commit) lines.push(`committed ${report.commit}`);
        if (report.pushed) lines.push(`pushed ${report.pushed}`);
        if (!report.plan.snapshot.sign && !report.plan.timestamp.sign && !report.published) lines.push('nothing due');
        emit(args, lines, { ok: true, ...report });
      },
    )
    .command(
      'expiring',
      'List offline roles in their signing period (or expired); --open-branches creates sign/<role>-v<N> branches, --group DAYS one branch per group of roles',
      (y) =>
        y
          .option('open-branches', {
            type: 'boolean',
            default: false,
            describe: 'Create a signing branch per due role, or per group with --group (existing ones are kept)',
          })
          .option('group', {
            type: 'number',
            describe: `Renew on one branch the roles whose signing periods start within DAYS of the first due one (0..${MAX_GROUP_DAYS}; 0 = one branch per role; default: signingGroupDays in tufctl.json, else 0)`,
          })
          .option('push', { type: 'string', describe: 'Push new branches to this remote (default origin when given empty)' })
          .example('$0 expiring --open-branches --group 14 --push', 'One signing branch for the roles due within two weeks of each other'),
      async (argv) => {
        const args = argv as unknown as GlobalArgs & { 'open-branches': boolean; push?: string; group?: number };
        const repo = openRepository(args);
        const days = args.group ?? loadConfig(repo.dir).signingGroupDays ?? 0;
        const { dueOfflineRoles } = await import('../../refresh/refresh.js');
        const notices = dueOfflineRoles(repo);
        const lines = notices.map(
          (o) =>
            `${o.role} v${o.version}: ${o.state === 'expired' ? 'EXPIRED' : 'in its signing period since'} ${o.state === 'expired' ? o.expires : o.signingPeriodStart} (expires ${o.expires})`,
        );
        const push = args.push !== undefined ? { push: true, remote: args.push === '' ? 'origin' : args.push } : {};
        if (days > 0) {
          const grouped = await expiringGroups(repo, days, { now: nowFrom(args), open: args['open-branches'], ...push });
          lines.push(...grouped.lines);
          if (notices.length === 0) lines.push('no offline role is in its signing period');
          emit(args, lines, { ok: true, roles: notices, groupDays: days, groups: grouped.groups, later: grouped.later });
          return;
        }
        let branches: SigningBranch[] = [];
        if (args['open-branches'] && notices.length > 0) {
          const { openSigningBranches } = await import('../../refresh/signing-branches.js');
          branches = await openSigningBranches(repo.dir, notices, { now: nowFrom(args), ...push });
          for (const b of branches)
            lines.push(
              b.created
                ? `created ${b.branch}${b.pushed ? `, pushed ${b.pushed}` : ''}`
                : b.note === 'branch exists'
                  ? `${b.branch}: exists, kept`
                  : `${b.role}: ${b.note ?? 'kept'}`,
            );
        }
        if (notices.length === 0) lines.push('no offline role is in its signing period');
        emit(args, lines, { ok: true, roles: notices, branches });
      },
    );
}

/** `expiring --group DAYS`: the groups (opened with --open-branches) and the roles left for a later run, with their lines. */
async function expiringGroups(
  repo: Repository,
  days: number,
  options: { now: Date; open: boolean; push?: boolean; remote?: string },
): Promise<{ groups: SigningGroup[]; later: GroupCandidate[]; lines: string[] }> {
  const { signingGroupCandidates } = await import('../../refresh/refresh.js');
  const { openSigningGroups } = await import('../../refresh/signing-branches.js');
  const candidates = signingGroupCandidates(repo, days);
  const { groups, later } = await openSigningGroups(repo.dir, candidates, { ...options, days });
  const lines: string[] = [];
  for (const g of groups) {
    const state = g.created ? `created${g.pushed ? `, pushed ${g.pushed}` : ''}` : (g.note ?? 'kept');
    lines.push(`group ${g.branch}: ${state}`);
    for (const m of g.roles) {
      const who = m.needs ? `; threshold ${m.threshold}, needs ${m.needs}` : '';
      lines.push(`  ${m.role} v${m.version}: ${m.reason}${who}`);
    }
  }
  for (const c of later)
    lines.push(
      `${c.role} v${c.version}: signing period starts ${c.signingPeriodStart}, not within ${days} day(s) of a due role: a later branch`,
    );
  return { groups, later, lines };
}

/** `tufctl delegate …`: delegated targets roles by path patterns or hashed bins. */
import type { Argv } from 'yargs';
import { addDelegation, removeDelegation } from '../../edit/delegations.js';
import { readPublicKeyFile } from '../../keys/key-files.js';
import { roleLayoutProblem } from '../../oci/layout-rules.js';
import { describeOutcome, emit, runEdit, type EditArgs } from '../context.js';

export function register(cli: Argv): Argv {
  return cli.command('delegate', 'Add and remove delegated targets roles', (y) =>
    y
      .command(
        'add <role>',
        'Delegate target paths (--paths) or succinct hashed bins (--bins) to a new role',
        (d) =>
          d
            .positional('role', { type: 'string', demandOption: true, describe: 'Role name (for --bins: the bin name prefix)' })
            .option('paths', {
              type: 'string',
              array: true,
              describe: 'Path patterns (go-tuf style: * never crosses /), e.g. doi/* doi/*/*',
            })
            .option('bins', { type: 'number', describe: 'Number of TAP 15 succinct hashed bins (a power of two)' })
            .option('prefix', { type: 'string', describe: 'Bin name prefix (default: ROLE)' })
            .option('from', { type: 'string', default: 'targets', describe: 'Delegating role' })
            .option('key', {
              type: 'string',
              array: true,
              demandOption: true,
              describe: 'Public key file(s) the new role trusts (signing keys for --sign come from TUFCTL_KEY_*)',
            })
            .option('owner', { type: 'string', describe: 'Owner handle recorded on the keys' })
            .option('threshold', { type: 'number', default: 1 })
            .option('terminating', { type: 'boolean', default: false, describe: 'Clients stop searching other roles for matching paths' })
            .example('$0 delegate add doi --paths "doi/*" "doi/*/*" --key doi.pub.pem', 'Delegate doi/… to a new role')
            .example('$0 delegate add bins --bins 1024 --key bins.pub.pem', 'Spread all targets over 1024 hashed bins'),
        async (argv) => {
          const args = argv as unknown as EditArgs & {
            role: string;
            paths?: string[];
            bins?: number;
            prefix?: string;
            from: string;
            key: string[];
            owner?: string;
            threshold: number;
            terminating: boolean;
          };
          const keys = args.key.map((file) => ({ ...readPublicKeyFile(file), ...(args.owner ? { owner: args.owner } : {}) }));
          let created: string[] = [];
          const outcome = await runEdit({ ...args, key: [] }, (repo) => {
            created = addDelegation(repo, args.role, {
              from: args.from,
              paths: args.paths,
              bins: args.bins,
              prefix: args.prefix,
              keys,
              threshold: args.threshold,
              terminating: args.terminating,
            });
          });
          const what =
            created.length === 1 ? `role ${created[0]}` : `${created.length} hashed bins ${created[0]} … ${created[created.length - 1]}`;
          const layout = created[0] === undefined ? undefined : roleLayoutProblem(created[0]);
          const warnings = layout ? [`role name ${JSON.stringify(created[0])} ${layout}: publish to a registry will refuse it`] : [];
          emit(args, [`${args.from} now delegates to ${what}`, ...warnings.map((w) => `warning: ${w}`), ...describeOutcome(outcome)], {
            ok: true,
            created: created.length <= 64 ? created : created.length,
            warnings,
            ...outcome,
          });
        },
      )
      .command(
        'remove <role>',
        'Remove a delegated role (or a set of bins, by prefix) and its metadata',
        (d) => d.positional('role', { type: 'string', demandOption: true }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { role: string };
          let removed: string[] = [];
          const outcome = await runEdit(args, (repo) => {
            removed = removeDelegation(repo, args.role);
          });
          emit(args, [`removed ${removed.length === 1 ? removed[0] : `${removed.length} roles`}`, ...describeOutcome(outcome)], {
            ok: true,
            removed: removed.length,
            ...outcome,
          });
        },
      )
      .demandCommand(1, 'name a delegate subcommand: add or remove'),
  );
}

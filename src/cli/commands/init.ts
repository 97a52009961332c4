/** `tufctl init`: create a new repository. */
import type { Argv } from 'yargs';
import { initRepositoryAt } from '../../init.js';
import { KEY_TYPES, type KeyType } from '../../keys/tuf-key.js';
import { emit, nowFrom, type GlobalArgs } from '../context.js';

interface InitArgs extends GlobalArgs {
  dir?: string;
  'generate-keys'?: string;
  'key-type': KeyType;
  'root-key'?: string[];
  'root-threshold'?: number;
  'targets-key'?: string[];
  'targets-threshold'?: number;
  'online-key'?: string;
  'online-uri'?: string;
  key?: string[];
  owner?: string;
  commit: boolean;
  policies: boolean;
}

export function register(cli: Argv): Argv {
  return cli.command(
    'init [dir]',
    'Create a new git-backed TUF repository (root, targets, snapshot, timestamp), signed and committed',
    (y) =>
      y
        .positional('dir', { type: 'string', describe: 'Directory to create (default: --repo)' })
        .option('generate-keys', {
          type: 'string',
          describe: 'Generate root, targets and online keys into KEYDIR (must be outside the repository)',
        })
        .option('key-type', { choices: KEY_TYPES, default: 'ed25519' as KeyType, describe: 'Type of generated keys' })
        .option('root-key', { type: 'string', array: true, describe: 'Public key file(s) for root' })
        .option('root-threshold', { type: 'number', describe: 'Root signature threshold (default 1)' })
        .option('targets-key', { type: 'string', array: true, describe: 'Public key file(s) for targets' })
        .option('targets-threshold', { type: 'number', describe: 'Targets signature threshold (default 1)' })
        .option('online-key', { type: 'string', describe: 'Public key file of the online key (snapshot and timestamp)' })
        .option('online-uri', { type: 'string', describe: 'x-tuf-on-ci-online-uri of the online key (e.g. awskms:…)' })
        .option('key', { type: 'string', array: true, describe: 'Private key file(s) to sign the new repository with (public-key mode)' })
        .option('owner', { type: 'string', describe: 'Key owner handle for root and targets keys (e.g. @alice)' })
        .option('commit', { type: 'boolean', default: true, describe: 'Make the initial commit (--no-commit to skip)' })
        .option('policies', {
          type: 'boolean',
          default: true,
          describe: 'Install the default trust policy set as targets (--no-policies for an empty repository)',
        })
        .example('$0 init my-tuf --generate-keys ~/tuf-keys', 'New repository with fresh ed25519 keys'),
    async (argv) => {
      const args = argv as unknown as InitArgs;
      const result = await initRepositoryAt(args.dir ?? args.repo, {
        generateKeys: args['generate-keys'],
        keyType: args['key-type'],
        rootKeys: args['root-key'],
        rootThreshold: args['root-threshold'],
        targetsKeys: args['targets-key'],
        targetsThreshold: args['targets-threshold'],
        onlineKey: args['online-key'],
        onlineUri: args['online-uri'],
        signingKeys: args.key,
        owner: args.owner,
        commit: args.commit,
        policies: args.policies,
        now: nowFrom(args),
      });
      const lines = [`initialized TUF repository in ${result.dir}`];
      for (const [role, ids] of Object.entries(result.keys)) lines.push(`  ${role} key(s): ${ids.join(', ')}`);
      if (result.generated) {
        for (const [role, paths] of Object.entries(result.generated)) lines.push(`  ${role} private key: ${paths.privatePath}`);
      }
      lines.push(
        result.signed
          ? `  signed and verified${result.commit ? `; committed ${result.commit.slice(0, 12)} on main` : ''}`
          : '  not fully signed yet: run "tufctl status" to see which signatures are missing',
      );
      emit(args, lines, {
        ok: true,
        ...result,
        report: result.report ? { ok: result.report.ok, problems: result.report.problems } : undefined,
      });
    },
  );
}

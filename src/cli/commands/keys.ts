/** `tufctl key …`, `tufctl threshold`, `tufctl expiry`: who may sign a role, and for how long. */
import type { Argv } from 'yargs';
import { resolve } from 'node:path';
import { addKey, removeKey, setPeriods, setThreshold } from '../../edit/role-trust.js';
import { generateKeyPair, readPublicKeyFile, writeKeyPair } from '../../keys/key-files.js';
import { KEY_TYPES, type KeyType } from '../../keys/tuf-key.js';
import { isTopLevelRole } from '../../metadata/role-names.js';
import { UsageError } from '../../errors.js';
import { describeOutcome, emit, runEdit, type EditArgs, type GlobalArgs } from '../context.js';

export function register(cli: Argv): Argv {
  return cli
    .command('key', 'Generate keys and change which keys a role trusts', (y) =>
      y
        .command(
          'generate',
          'Generate a key pair: PKCS#8 PEM private key (mode 0600) and the public key beside it (.pub.pem)',
          (k) =>
            k.option('type', { choices: KEY_TYPES, default: 'ed25519' as KeyType, describe: 'Key type' }).option('out', {
              type: 'string',
              demandOption: true,
              describe: 'Private key file to write (the public key goes to FILE.pub.pem)',
            }),
          (argv) => {
            const args = argv as unknown as GlobalArgs & { type: KeyType; out: string };
            const pair = generateKeyPair(args.type);
            const paths = writeKeyPair(pair, resolve(args.out));
            const lines = [
              `generated ${pair.key.scheme} key ${pair.keyId}`,
              `  private key: ${paths.privatePath}`,
              `  public key:  ${paths.publicPath}`,
            ];
            if (args.type === 'ecdsa-p384')
              lines.push('  note: tuf-js clients cannot verify ecdsa-sha2-nistp384 signatures; see docs/keys.md');
            emit(args, lines, { ok: true, keyId: pair.keyId, scheme: pair.key.scheme, ...paths });
          },
        )
        .command(
          'add <role> <pubkey>',
          'Trust a public key for a role',
          (k) =>
            k
              .positional('role', { type: 'string', demandOption: true })
              .positional('pubkey', { type: 'string', demandOption: true, describe: 'Public key file (SPKI PEM)' })
              .option('owner', { type: 'string', describe: 'Key owner handle, e.g. @alice (x-tuf-on-ci-keyowner)' })
              .option('online-uri', { type: 'string', describe: 'Online key URI (x-tuf-on-ci-online-uri), for snapshot/timestamp keys' }),
          async (argv) => {
            const args = argv as unknown as EditArgs & { role: string; pubkey: string; owner?: string; 'online-uri'?: string };
            const { keyId, key } = readPublicKeyFile(args.pubkey);
            let added = false;
            const outcome = await runEdit(args, (repo) => {
              added = addKey(repo, args.role, keyId, key, { owner: args.owner, onlineUri: args['online-uri'] });
            });
            emit(args, [added ? `${args.role} now trusts ${keyId}` : `${args.role} already trusts ${keyId}`, ...describeOutcome(outcome)], {
              ok: true,
              keyId,
              added,
              ...outcome,
            });
          },
        )
        .command(
          'remove <role> <keyid>',
          'Stop trusting a key for a role (key id or a unique prefix of at least 8 characters)',
          (k) => k.positional('role', { type: 'string', demandOption: true }).positional('keyid', { type: 'string', demandOption: true }),
          async (argv) => {
            const args = argv as unknown as EditArgs & { role: string; keyid: string };
            let removed = '';
            const outcome = await runEdit(args, (repo) => {
              removed = removeKey(repo, args.role, args.keyid);
            });
            emit(args, [`${args.role} no longer trusts ${removed}`, ...describeOutcome(outcome)], { ok: true, keyId: removed, ...outcome });
          },
        )
        .demandCommand(1, 'name a key subcommand: generate, add or remove'),
    )
    .command(
      'threshold <role> <n>',
      'Set how many signatures a role needs',
      (y) => y.positional('role', { type: 'string', demandOption: true }).positional('n', { type: 'number', demandOption: true }),
      async (argv) => {
        const args = argv as unknown as EditArgs & { role: string; n: number };
        let changed = false;
        const outcome = await runEdit(args, (repo) => {
          changed = setThreshold(repo, args.role, args.n);
        });
        emit(
          args,
          [changed ? `${args.role} threshold is now ${args.n}` : `${args.role} threshold already ${args.n}`, ...describeOutcome(outcome)],
          { ok: true, changed, ...outcome },
        );
      },
    )
    .command(
      'expiry <role>',
      "Set a role's expiry and signing periods (days)",
      (y) =>
        y
          .positional('role', { type: 'string', demandOption: true })
          .option('period', { type: 'number', demandOption: true, describe: 'Days from signing to expiry' })
          .option('signing-period', { type: 'number', describe: 'Days before expiry when re-signing is due (default: half the period)' }),
      async (argv) => {
        const args = argv as unknown as EditArgs & { role: string; period: number; 'signing-period'?: number };
        if (!isTopLevelRole(args.role) && args.role.includes('.')) throw new UsageError(`unknown role "${args.role}"`, 'ROLE_UNKNOWN');
        const periods = { expiryDays: args.period, signingDays: args['signing-period'] ?? Math.max(1, Math.floor(args.period / 2)) };
        let changed = false;
        const outcome = await runEdit(args, (repo) => {
          changed = setPeriods(repo, args.role, periods);
        });
        emit(
          args,
          [
            changed
              ? `${args.role}: expiry period ${periods.expiryDays} days, signing period ${periods.signingDays} days`
              : `${args.role}: periods unchanged`,
            ...describeOutcome(outcome),
          ],
          { ok: true, changed, periods, ...outcome },
        );
      },
    );
}

/** `tufctl recover --fast-forward`: recovery from a fast-forward attack on snapshot/timestamp (docs/recovery.md). */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { recoverFastForward } from '../../edit/online-key.js';
import { readPublicKeyFile } from '../../keys/key-files.js';
import { describeOutcome, emit, type EditArgs } from '../context.js';
import { describeRotation, runRotation } from './keys.js';

export function register(cli: Argv): Argv {
  return cli.command(
    'recover',
    'Recover from a leaked online key or snapshot/timestamp versions pushed up by an attacker: rotate the online key, reset both to version 1',
    (y) =>
      y
        .option('fast-forward', {
          type: 'boolean',
          default: false,
          describe: 'Fast-forward attack recovery (TUF spec 5.3.11): new online key, snapshot and timestamp reset to version 1',
        })
        .option('new-key', { type: 'string', describe: 'The new online public key (SPKI PEM); required' })
        .option('online-uri', { type: 'string', describe: "The new key's signer (x-tuf-on-ci-online-uri: awskms:…, gcpkms:…)" })
        .example(
          '$0 recover --fast-forward --new-key online2.pub.pem --sign --key root.pem --key online2.pem --commit',
          'Rotate the online key, reset snapshot and timestamp, sign root and the reset roles; then tufctl publish',
        ),
    async (argv) => {
      const args = argv as unknown as EditArgs & { 'fast-forward': boolean; 'new-key'?: string; 'online-uri'?: string };
      if (!args['fast-forward']) throw new UsageError('name the recovery: --fast-forward (see docs/recovery.md)');
      if (!args['new-key']) {
        throw new UsageError(
          'recover --fast-forward needs --new-key PUB.pem: the online key must be rotated, or clients would keep refusing the reset versions (tufctl key generate --out online2.pem)',
        );
      }
      const { key } = readPublicKeyFile(args['new-key']);
      const { result, outcome } = await runRotation(args, (repo) =>
        recoverFastForward(repo, key, args['online-uri'] !== undefined ? { onlineUri: args['online-uri'] } : {}),
      );
      const lines = [
        ...describeRotation(result, outcome),
        `snapshot: v${result.reset.snapshot.from} → v${result.reset.snapshot.to}, timestamp: v${result.reset.timestamp.from} → v${result.reset.timestamp.to} (reset; clients accept it because the keys rotated)`,
        ...describeOutcome(outcome),
        'next: commit, then tufctl publish (it accepts the lower versions because the online key changed)',
      ];
      emit(args, lines, { ok: true, ...result, ...outcome });
    },
  );
}

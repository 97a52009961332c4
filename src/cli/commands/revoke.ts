/** `tufctl revoke …`: one-command revocation of attestation signer keys and of single signatures or images. */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { REVOCATIONS_FILE } from '../../trust/model.js';
import { addRevocation, parseRevocationList, serializeRevocationList, type RevocationResult } from '../../trust/revocation-list.js';
import type { SignerKeyRevocation } from '../../trust/signer-key-revocation.js';
import { describeOutcome, describeTrust, emit, nowFrom, runTrustEdit, type EditArgs } from '../context.js';

function timeOption(value: string | undefined, fallback: Date): Date {
  if (value === undefined) return fallback;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--at "${value}" is not a valid time (use ISO 8601, e.g. 2030-01-01T00:00:00Z)`);
  return date;
}

export function register(cli: Argv): Argv {
  return cli.command('revoke', 'Revoke an attestation signer key, or one signature / image digest', (y) =>
    y
      .command(
        'key <keyid>',
        "End an attestation signer key's validity in every signer keys list that has it",
        (t) =>
          t
            .positional('keyid', { type: 'string', demandOption: true, describe: 'Signer key id (or a unique prefix of >= 8 hex digits)' })
            .option('reason', { type: 'string', demandOption: true, describe: 'Why (recorded in the keys list)' })
            .option('at', { type: 'string', describe: 'End of validity (ISO 8601; default: now). Signatures logged before it stay valid' })
            .option('distrust', { type: 'boolean', default: false, describe: 'Reject every signature by this key, whenever made' })
            .example('$0 revoke key 3f1c9a2b --reason "key leaked" --distrust --commit', 'Distrust a leaked key'),
        async (argv) => {
          const args = argv as unknown as EditArgs & { keyid: string; reason: string; at?: string; distrust: boolean };
          const at = timeOption(args.at, nowFrom(args));
          const { revokeSignerKeyEverywhere } = await import('../../trust/signer-key-revocation.js');
          let revoked: Array<SignerKeyRevocation & { file: string }> = [];
          const outcome = await runTrustEdit(args, (files, repo) => {
            revoked = revokeSignerKeyEverywhere(repo.dir, args.keyid, { at, reason: args.reason, distrust: args.distrust }, files);
          });
          const lines = revoked.map(
            (r) =>
              `${r.file}: key ${r.id.slice(0, 16)}… ${r.changed ? 'revoked' : 'already revoked'}: valid until ${r.to}${r.distrust ? ', distrusted' : ''}`,
          );
          emit(args, [...lines, ...describeTrust(outcome.trust), ...describeOutcome(outcome)], { ok: true, revoked, ...outcome });
        },
      )
      .command(
        'signature <digest>',
        'Add an attestation envelope digest (or with --image an image digest) to the revocation list',
        (t) =>
          t
            .positional('digest', {
              type: 'string',
              demandOption: true,
              describe: 'sha256:<hex> of the envelope as stored in the registry',
            })
            .option('reason', { type: 'string', demandOption: true, describe: 'Why (recorded in the revocation list)' })
            .option('image', { type: 'boolean', default: false, describe: 'The digest is an image manifest digest: reject the image' })
            .example('$0 revoke signature sha256:5e1f… --reason "signed by a compromised workflow" --commit', 'Revoke one attestation'),
        async (argv) => {
          const args = argv as unknown as EditArgs & { digest: string; reason: string; image: boolean };
          const kind = args.image ? 'images' : 'envelopes';
          let result: RevocationResult | undefined;
          const outcome = await runTrustEdit(args, (files) => {
            const list = parseRevocationList(files.read(REVOCATIONS_FILE));
            result = addRevocation(list, kind, args.digest, args.reason, nowFrom(args));
            if (result.added) files.write(REVOCATIONS_FILE, serializeRevocationList(list));
          });
          const what = args.image ? 'image' : 'envelope';
          const line = result!.added
            ? `revoked ${what} ${result!.entry.digest}`
            : `${what} ${result!.entry.digest} was already revoked at ${result!.entry.revoked_at} (${result!.entry.reason})`;
          emit(args, [line, ...describeTrust(outcome.trust), ...describeOutcome(outcome)], { ok: true, kind, ...result, ...outcome });
        },
      )
      .demandCommand(1, 'name what to revoke: key or signature'),
  );
}

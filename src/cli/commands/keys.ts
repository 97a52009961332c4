/** `tufctl key …`, `tufctl threshold`, `tufctl expiry`: who may sign a role, and for how long. */
import type { Argv } from 'yargs';
import { resolve } from 'node:path';
import { addKey, removeKey, setPeriods, setThreshold } from '../../edit/role-trust.js';
import { generateKeyPair, readPublicKeyFile, writeKeyPair } from '../../keys/key-files.js';
import { KEY_TYPES, type KeyType } from '../../keys/tuf-key.js';
import type { Repository } from '../../metadata/repository.js';
import { isTopLevelRole, roleNameProblem } from '../../metadata/role-names.js';
import { UsageError } from '../../errors.js';
import { describeResign, revokeKey, type KeyRevocationResult } from '../../edit/key-revocation.js';
import { rotateOnlineKey, signRotatedRoles, type OnlineKeyRotation, type RotatedSigning } from '../../edit/online-key.js';
import { describeOutcome, emit, runEdit, signersFrom, type EditArgs, type EditOutcome, type GlobalArgs } from '../context.js';
import { attestationLines, attestationOptions, keyAttestCommand, verifyAttestationArgs, type AttestationArgs } from './key-attest.js';
import { attestationRecord } from '../../keys/piv-attestation.js';

/**
 * runEdit for an online key rotation: --sign signs root and, with the new
 * online key at hand, makes new snapshot and timestamp versions signed by it
 * (forced: their old signatures are worthless under the new root).
 */
export async function runRotation<T extends OnlineKeyRotation>(
  args: EditArgs,
  edit: (repo: Repository) => T,
): Promise<{ result: T; outcome: EditOutcome }> {
  let result: T | undefined;
  let signed: RotatedSigning | undefined;
  const signers = args.sign ? signersFrom(args) : [];
  if (args.sign && signers.length === 0) throw new UsageError('--sign needs keys: --key FILE or TUFCTL_KEY_<NAME>');
  const outcome = await runEdit({ ...args, sign: false }, async (repo) => {
    result = edit(repo);
    if (args.sign) signed = await signRotatedRoles(repo, signers);
  });
  return {
    result: result!,
    outcome: { ...outcome, ...(signed ? { signing: signed.signing } : {}), ...(signed?.online ? { online: signed.online } : {}) },
  };
}

/** Lines shared by `key rotate-online` and `recover --fast-forward`. */
export function describeRotation(rotation: OnlineKeyRotation, outcome: EditOutcome): string[] {
  const lines = [
    `root v${rotation.rootVersion}: snapshot and timestamp now trust ${rotation.keyId}${rotation.onlineUri ? ` (${rotation.onlineUri})` : ''} instead of ${rotation.previous.map((id) => id.slice(0, 12)).join(', ')}`,
  ];
  if (rotation.previousOnlineUri && !rotation.onlineUri) {
    lines.push(`  note: the previous key's signer was ${rotation.previousOnlineUri}; give --online-uri for the new key's signer`);
  }
  // What --sign did is described by describeOutcome; list what is left.
  const left = rotation.resign.filter((need) => (need.role === 'root' ? !outcome.signing : !outcome.online));
  if (left.length > 0) lines.push('to be signed:', ...describeResign(left));
  if (!outcome.online) {
    lines.push(
      `then: tufctl snapshot --key NEW-ONLINE.pem && tufctl timestamp --key NEW-ONLINE.pem (new versions signed by ${rotation.keyId.slice(0, 12)})`,
    );
  }
  return lines;
}

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
              lines.push('  note: clients built on tuf-js before 6.0 cannot verify ecdsa-sha2-nistp384 signatures; see docs/keys.md');
            emit(args, lines, { ok: true, keyId: pair.keyId, scheme: pair.key.scheme, ...paths });
          },
        )
        .command(
          'add <role> <pubkey>',
          'Trust a public key for a role',
          (k) =>
            k
              .positional('role', { type: 'string', demandOption: true })
              .positional('pubkey', {
                type: 'string',
                demandOption: true,
                describe: 'Public key file (SPKI PEM), or a hardware key as a pkcs11: URI (read from the token, no PIN needed)',
              })
              .option('owner', { type: 'string', describe: 'Key owner handle, e.g. @alice (x-tuf-on-ci-keyowner)' })
              .option('online-uri', { type: 'string', describe: 'Online key URI (x-tuf-on-ci-online-uri), for snapshot/timestamp keys' })
              .options(attestationOptions(false)),
          async (argv) => {
            const args = argv as unknown as EditArgs &
              AttestationArgs & { role: string; pubkey: string; owner?: string; 'online-uri'?: string };
            const { key } = readPublicKeyFile(args.pubkey);
            // Verified before anything is edited: a refused attestation changes nothing.
            const attestation = verifyAttestationArgs(args, { key, label: `the key in ${args.pubkey.split('?')[0]!}` });
            let added = false;
            let keyId = '';
            const outcome = await runEdit(args, (repo) => {
              ({ added, keyId } = addKey(repo, args.role, key, {
                owner: args.owner,
                onlineUri: args['online-uri'],
                ...(attestation ? { attestation: attestationRecord(attestation) } : {}),
              }));
            });
            emit(
              args,
              [
                ...(attestation ? attestationLines(attestation) : []),
                added ? `${args.role} now trusts ${keyId}` : `${args.role} already trusts ${keyId}`,
                ...describeOutcome(outcome),
              ],
              { ok: true, keyId, added, ...(attestation ? { attestation: attestationRecord(attestation) } : {}), ...outcome },
            );
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
        .command(
          'revoke <keyid>',
          'Stop trusting a key everywhere: in root and in every delegation (key id or a unique prefix of at least 8 characters)',
          (k) =>
            k.positional('keyid', { type: 'string', demandOption: true }).option('lower-threshold', {
              type: 'boolean',
              default: false,
              describe: 'Lower the threshold of a role left with fewer keys than its threshold to the keys left',
            }),
          async (argv) => {
            const args = argv as unknown as EditArgs & { keyid: string; 'lower-threshold': boolean };
            let result: KeyRevocationResult | undefined;
            const outcome = await runEdit(args, (repo) => {
              result = revokeKey(repo, args.keyid, { lowerThreshold: args['lower-threshold'] });
            });
            const r = result!;
            const lines = [`revoked key ${r.keyId}${r.owner ? ` (${r.owner})` : ''}`];
            for (const t of r.revokedFrom) {
              const lowered = t.threshold < t.thresholdBefore ? ` (lowered from ${t.thresholdBefore})` : '';
              lines.push(`  ${t.role}: ${t.keysLeft} key(s) left, threshold ${t.threshold}${lowered}`);
            }
            if (r.resign.length > 0) lines.push('to be signed:', ...describeResign(r.resign));
            emit(args, [...lines, ...describeOutcome(outcome)], { ok: true, ...r, ...outcome });
          },
        )
        .command(
          'rotate-online',
          'Replace the online key of snapshot and timestamp (a new root; then new snapshot and timestamp signed by the new key)',
          (k) =>
            k
              .option('new-key', { type: 'string', demandOption: true, describe: 'The new online public key (SPKI PEM)' })
              .option('online-uri', { type: 'string', describe: "The new key's signer (x-tuf-on-ci-online-uri: awskms:…, gcpkms:…)" })
              .example(
                '$0 key rotate-online --new-key online2.pub.pem --sign --key root.pem --key online2.pem --commit',
                'Rotate, sign root, re-sign snapshot and timestamp with the new key',
              ),
          async (argv) => {
            const args = argv as unknown as EditArgs & { 'new-key': string; 'online-uri'?: string };
            const { key } = readPublicKeyFile(args['new-key']);
            const { result, outcome } = await runRotation(args, (repo) =>
              rotateOnlineKey(repo, key, args['online-uri'] !== undefined ? { onlineUri: args['online-uri'] } : {}),
            );
            emit(args, [...describeRotation(result, outcome), ...describeOutcome(outcome)], { ok: true, ...result, ...outcome });
          },
        )
        .command(keyAttestCommand)
        .demandCommand(1, 'name a key subcommand: generate, add, attest, remove, revoke or rotate-online'),
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
        if (!isTopLevelRole(args.role) && roleNameProblem(args.role))
          throw new UsageError(`unknown role ${JSON.stringify(args.role)}`, 'ROLE_UNKNOWN');
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

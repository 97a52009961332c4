/**
 * `tufctl key attest` and the attestation options of `tufctl key add`:
 * verify a YubiKey PIV attestation of a key (docs/keys.md, "Key ceremony").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule, Options } from 'yargs';
import { UsageError } from '../../errors.js';
import { delegatingRoles, existingIdOf, locateTrust, resolveKeyId } from '../../edit/role-trust.js';
import { readPublicKeyFile } from '../../keys/key-files.js';
import {
  ATTESTATION_FIELD,
  attestationRecord,
  describeAttestation,
  readCertificateFile,
  verifyPivAttestation,
  type PivAttestation,
} from '../../keys/piv-attestation.js';
import { KEYOWNER_FIELD, type TufKeyJSON } from '../../keys/tuf-key.js';
import { canonicalize, isJSONObject, type JSONObject } from '../../metadata/json.js';
import type { Repository } from '../../metadata/repository.js';
import { emit, nowFrom, openRepository, repoDir, type GlobalArgs } from '../context.js';

export interface AttestationArgs {
  attestation?: string;
  intermediate?: string[];
  ca?: string[];
  slot?: string;
}

/** The options naming an attestation's certificates, shared by `key attest` and `key add`. */
export function attestationOptions(required: boolean): Record<string, Options> {
  return {
    attestation: {
      type: 'string',
      requiresArg: true,
      demandOption: required,
      describe: "The slot's attestation certificate (yubico-piv-tool --action=attest --slot=9c > Slot9CAttestation.pem)",
    },
    intermediate: {
      type: 'string',
      array: true,
      requiresArg: true,
      describe:
        "The YubiKey's attestation certificate from slot f9 (yubico-piv-tool --action=read-certificate --slot=f9), and any further vendor intermediates",
    },
    ca: {
      type: 'string',
      array: true,
      requiresArg: true,
      describe: "The vendor's root CA certificate, e.g. Yubico's piv-attestation-ca.pem (a bundle may hold several)",
    },
    slot: { type: 'string', requiresArg: true, describe: 'Require the attestation to be for this PIV slot, e.g. 9c' },
  };
}

/** Verifies the attestation the options name against `expected`; undefined when no --attestation was given. */
export function verifyAttestationArgs(
  args: GlobalArgs & AttestationArgs,
  expected?: { key: TufKeyJSON; label: string },
): PivAttestation | undefined {
  const intermediates = args.intermediate ?? [];
  const cas = args.ca ?? [];
  if (args.attestation === undefined) {
    if (intermediates.length > 0 || cas.length > 0 || args.slot !== undefined) {
      throw new UsageError('--intermediate, --ca and --slot belong to --attestation: give the attestation certificate too');
    }
    return undefined;
  }
  if (intermediates.length === 0) throw new UsageError("--attestation needs --intermediate (the YubiKey's slot f9 certificate)");
  if (cas.length === 0) throw new UsageError("--attestation needs --ca (the vendor's root CA certificate)");
  if (args.slot !== undefined && !/^[0-9a-fA-F]{2}$/.test(args.slot))
    throw new UsageError(`--slot "${args.slot}" is not a PIV slot like 9c`);
  return verifyPivAttestation(
    {
      attestation: readCertificateFile(args.attestation),
      intermediates: intermediates.map(readCertificateFile),
      ca: cas.map(readCertificateFile),
    },
    { now: nowFrom(args), ...(expected ? { expectedKey: expected } : {}), ...(args.slot !== undefined ? { slot: args.slot } : {}) },
  );
}

/** Human lines for a verified attestation. */
export function attestationLines(a: PivAttestation): string[] {
  return [
    `✓ YubiKey PIV attestation verified (at ${a.checkedAt}): ${describeAttestation(a)}`,
    `  chain: ${a.chain.map((c) => c.subject).join(' → ')} (CA sha256 ${a.ca.sha256.slice(0, 16)}…)`,
  ];
}

interface TrustedAs {
  role: string;
  keyId: string;
  owner?: string;
  /** Whether the key object already records an attestation, and whether it is the same facts. */
  recorded?: 'same' | 'different';
}

/** Where the repository trusts `key`: root's roles and every delegation. */
function whereTrusted(repo: Repository, key: TufKeyJSON, record: JSONObject): TrustedAs[] {
  const found: TrustedAs[] = [];
  const describe = (role: string, keyId: string, entry: unknown): TrustedAs => {
    const owner = isJSONObject(entry) && typeof entry[KEYOWNER_FIELD] === 'string' ? entry[KEYOWNER_FIELD] : undefined;
    const recorded = isJSONObject(entry) && isJSONObject(entry[ATTESTATION_FIELD]) ? entry[ATTESTATION_FIELD] : undefined;
    return {
      role,
      keyId,
      ...(owner ? { owner } : {}),
      ...(recorded ? { recorded: canonicalize(recorded) === canonicalize(record) ? 'same' : 'different' } : {}),
    };
  };
  const root = repo.root();
  const rootId = existingIdOf(root.keys as JSONObject, key);
  if (rootId) {
    for (const [role, entry] of Object.entries(root.roles as JSONObject)) {
      if (isJSONObject(entry) && (entry.keyids as string[]).includes(rootId))
        found.push(describe(role, rootId, (root.keys as JSONObject)[rootId]));
    }
  }
  for (const holder of delegatingRoles(repo)) {
    const d = repo.signed(holder).delegations as JSONObject;
    const table = isJSONObject(d.keys) ? d.keys : {};
    const id = existingIdOf(table, key);
    if (!id) continue;
    const entries = isJSONObject(d.succinct_roles)
      ? [{ name: `${String(d.succinct_roles.name_prefix)}-*`, keyids: d.succinct_roles.keyids }]
      : ((d.roles ?? []) as JSONObject[]);
    for (const e of entries) if ((e.keyids as string[]).includes(id)) found.push(describe(String(e.name), id, table[id]));
  }
  return found;
}

function trustedLine(t: TrustedAs): string {
  const recorded =
    t.recorded === 'same' ? '; recorded with the key' : t.recorded === 'different' ? '; the key records other attestation facts' : '';
  return `${t.role} (${t.keyId.slice(0, 12)}…${t.owner ? `, ${t.owner}` : ''}${recorded})`;
}

export const keyAttestCommand: CommandModule = {
  command: 'attest [pubkey]',
  describe: "Verify a YubiKey PIV attestation: the chain to the vendor's CA, validity, device facts, and that it attests the key",
  builder: (k) =>
    k
      .positional('pubkey', { type: 'string', describe: 'The public key the attestation must attest (SPKI PEM)' })
      .option('key-id', {
        type: 'string',
        requiresArg: true,
        describe: 'Instead of PUBKEY: a key the repository trusts (id or unique prefix)',
      })
      .option('role', { type: 'string', requiresArg: true, describe: 'With --key-id: the role that trusts the key' })
      .options(attestationOptions(true))
      .example(
        '$0 key attest root.pub.pem --attestation Slot9CAttestation.pem --intermediate SlotF9Intermediate.pem --ca piv-attestation-ca.pem --slot 9c',
        'Check a key before adding it',
      )
      .example(
        '$0 key attest --key-id cda750ab --role root --attestation Slot9CAttestation.pem --intermediate SlotF9Intermediate.pem --ca piv-attestation-ca.pem',
        'Check a key the repository already trusts',
      ),
  handler: (argv) => {
    const args = argv as unknown as GlobalArgs & AttestationArgs & { pubkey?: string; 'key-id'?: string; role?: string };
    const keyId = args['key-id'];
    if (args.pubkey !== undefined && keyId !== undefined) throw new UsageError('give either PUBKEY or --key-id, not both');
    if ((keyId === undefined) !== (args.role === undefined)) throw new UsageError('--key-id and --role go together');
    let expected: { key: TufKeyJSON; label: string } | undefined;
    let match: JSONObject | undefined;
    if (args.pubkey !== undefined) {
      expected = { key: readPublicKeyFile(args.pubkey).key, label: `the key in ${args.pubkey.split('?')[0]!}` };
      match = { source: args.pubkey };
    } else if (keyId !== undefined) {
      const repo = openRepository(args, { git: false });
      const id = resolveKeyId(repo, args.role!, keyId);
      const where = locateTrust(repo, args.role!);
      const entry = where.keys(repo.signed(where.holder))[id] as TufKeyJSON;
      const owner = typeof entry[KEYOWNER_FIELD] === 'string' ? ` (${entry[KEYOWNER_FIELD]})` : '';
      expected = { key: entry, label: `the ${args.role!} key ${id.slice(0, 12)}…${owner}` };
      match = { role: args.role!, keyId: id };
    }
    const attestation = verifyAttestationArgs(args, expected)!;
    const lines = attestationLines(attestation);
    lines.push(`  attested key: ${attestation.publicKey.scheme} ${attestation.keyId.slice(0, 12)}… (key id without custom fields)`);
    if (expected) lines.push(`✓ attested key matches ${expected.label}`);
    // Inside a repository, say where it trusts the attested key.
    let trustedBy: TrustedAs[] | undefined;
    if (existsSync(join(repoDir(args), 'metadata', 'root.json'))) {
      trustedBy = whereTrusted(openRepository(args, { git: false }), attestation.publicKey, attestationRecord(attestation));
      lines.push(
        trustedBy.length > 0
          ? `  trusted by ${trustedBy.map(trustedLine).join('; ')}`
          : '  the repository trusts no such key yet (tufctl key add ROLE PUBKEY --attestation … records these facts with it)',
      );
    }
    emit(args, lines, {
      ok: true,
      attestation,
      record: attestationRecord(attestation),
      ...(match ? { matches: match } : {}),
      ...(trustedBy ? { trustedBy } : {}),
    });
  },
};

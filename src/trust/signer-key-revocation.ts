/**
 * Ending an attestation signer key's validity in a signer keys list
 * (`keys.yaml` next to a policy): `to` becomes the revocation time, `status`
 * becomes `revoked` with the reason, and `--distrust` sets `distrust: true`
 * so even signatures made before that time are rejected. The file is edited
 * in place with its comments and layout kept.
 */
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { TufctlError } from '../errors.js';
import { formatExpiry } from '../metadata/expiry.js';
import { loadChannel, trustChannels } from './validate-trust.js';

export interface SignerKeyRevocation {
  /** The full key id found. */
  id: string;
  /** Previous `to` (null when the key had no end). */
  previousTo: string | null;
  to: string;
  distrust: boolean;
  /** False when the key was already revoked exactly like this. */
  changed: boolean;
}

function parseKeysDocument(text: string, where: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new TufctlError('TRUST_INVALID', `${where}: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc;
}

/** Key ids listed in a keys.yaml text (for lookups by prefix). */
export function signerKeyIds(text: string, where: string): string[] {
  const keys = parseKeysDocument(text, where).get('keys');
  if (!isSeq(keys)) return [];
  return keys.items.flatMap((item) => (isMap(item) && typeof item.get('id') === 'string' ? [item.get('id') as string] : []));
}

/**
 * Revokes key `id` in the keys.yaml text; returns the new text and what
 * changed. Refuses to move an existing end of validity later (that would
 * re-validate signatures) and an end before the key's start.
 */
export function revokeSignerKey(
  text: string,
  where: string,
  id: string,
  options: { at: Date; reason: string; distrust: boolean },
): { text: string; revocation: SignerKeyRevocation } {
  if (options.reason.trim() === '') throw new TufctlError('USAGE', 'a revocation needs a reason (--reason TEXT)');
  const doc = parseKeysDocument(text, where);
  const keys = doc.get('keys');
  const entry = isSeq(keys) ? keys.items.find((item) => isMap(item) && item.get('id') === id) : undefined;
  if (!isMap(entry)) throw new TufctlError('SIGNER_KEY_UNKNOWN', `${where}: no signer key with id ${id}`);
  const at = formatExpiry(options.at);
  const from = entry.get('from');
  const fromText = from instanceof Date ? formatExpiry(from) : typeof from === 'string' ? from : undefined;
  if (fromText !== undefined && Date.parse(fromText) >= options.at.getTime()) {
    throw new TufctlError(
      'USAGE',
      `${where}: key ${id.slice(0, 12)}… is valid from ${fromText}; a revocation time (${at}) must be later (use --distrust to reject it outright)`,
    );
  }
  const previous = entry.get('to');
  const previousTo = previous instanceof Date ? formatExpiry(previous) : typeof previous === 'string' ? previous : null;
  let to = at;
  if (previousTo !== null && Date.parse(previousTo) <= options.at.getTime()) {
    if (!options.distrust && entry.get('status') === 'revoked') {
      return { text, revocation: { id, previousTo, to: previousTo, distrust: entry.get('distrust') === true, changed: false } };
    }
    // An earlier end stays: moving it later would make signatures valid again.
    to = previousTo;
  }
  const alreadyDistrusted = entry.get('distrust') === true;
  entry.set('to', to);
  entry.set('status', 'revoked');
  entry.set('reason', options.reason.trim());
  if (options.distrust || alreadyDistrusted) entry.set('distrust', true);
  const newText = doc.toString({ lineWidth: 0 });
  return {
    text: newText,
    revocation: { id, previousTo, to, distrust: options.distrust || alreadyDistrusted, changed: newText !== text },
  };
}

export interface SignerKeyFileAccess {
  read(target: string): Buffer | undefined;
  write(target: string, bytes: Buffer): void;
}

/**
 * Revokes a signer key (full id or a unique prefix of at least 8 hex digits)
 * in every signer keys list of every channel that lists it.
 */
export function revokeSignerKeyEverywhere(
  repoDir: string,
  idOrPrefix: string,
  options: { at: Date; reason: string; distrust: boolean },
  files: SignerKeyFileAccess,
): Array<SignerKeyRevocation & { file: string }> {
  const wanted = idOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(wanted)) {
    throw new TufctlError('USAGE', `"${idOrPrefix}" is not a signer key id (64 hex digits, or a unique prefix of at least 8)`);
  }
  const keysFiles = new Set<string>();
  for (const channel of trustChannels(repoDir)) {
    for (const policy of loadChannel(repoDir, channel).policies) if (policy.keysPath) keysFiles.add(policy.keysPath);
  }
  const holders = new Map<string, string[]>();
  for (const target of keysFiles) {
    const text = files.read(target)?.toString('utf8') ?? '';
    for (const id of signerKeyIds(text, `targets/${target}`)) {
      if (!id.startsWith(wanted)) continue;
      holders.set(id, [...(holders.get(id) ?? []), target]);
    }
  }
  if (holders.size === 0) {
    throw new TufctlError(
      'SIGNER_KEY_UNKNOWN',
      `no signer keys list (${[...keysFiles].map((f) => `targets/${f}`).join(', ') || 'none'}) has a key ${wanted}`,
    );
  }
  if (holders.size > 1) {
    throw new TufctlError(
      'USAGE',
      `"${wanted}" matches several signer keys (${[...holders.keys()].map((id) => id.slice(0, 16)).join(', ')}): give more digits`,
    );
  }
  const [id, targets] = [...holders][0]!;
  return targets.map((target) => {
    const where = `targets/${target}`;
    const { text, revocation } = revokeSignerKey(files.read(target)!.toString('utf8'), where, id, options);
    if (revocation.changed) files.write(target, Buffer.from(text));
    return { ...revocation, file: where };
  });
}

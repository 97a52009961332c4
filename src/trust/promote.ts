/**
 * Promoting the `testing/` release channel: the top level takes the testing
 * channel's mapping, required attestation list, policy files and signer keys
 * lists (paths inside the channel are relative to it, so they carry over
 * unchanged); top-level policy files the new mapping no longer names are
 * removed. The revocation list and mirrored JWKS are shared by all channels
 * and are not touched; policy data files are regenerated afterwards.
 */
import { TrustDataError } from '../errors.js';
import { ATTESTATIONS_FILE, MAPPING_FILE } from './model.js';
import { channelPrefix, loadChannel, trustChannels, type ChannelModel } from './validate-trust.js';

export interface TrustFileWriter {
  read(target: string): Buffer | undefined;
  write(target: string, bytes: Buffer): void;
  remove(target: string): void;
}

/** Channel-relative paths of a channel's own trust files. */
function channelFiles(model: ChannelModel, exists: (target: string) => boolean): Set<string> {
  const prefix = channelPrefix(model.channel);
  const files = new Set<string>([MAPPING_FILE]);
  if (exists(`${prefix}${ATTESTATIONS_FILE}`)) files.add(ATTESTATIONS_FILE);
  for (const policy of model.mapping.policies) for (const file of policy.files) files.add(file.path);
  for (const policy of model.policies) if (policy.keysPath) files.add(policy.keysPath.slice(prefix.length));
  return files;
}

export interface PromoteResult {
  copied: string[];
  removed: string[];
}

export function promoteChannel(repoDir: string, channel: 'testing', files: TrustFileWriter): PromoteResult {
  if (!trustChannels(repoDir).includes(channel)) {
    throw new TrustDataError(
      'TRUST_INVALID',
      `there is no ${channel} channel to promote (targets/${channel}/${MAPPING_FILE} does not exist)`,
    );
  }
  const exists = (target: string): boolean => files.read(target) !== undefined;
  const source = loadChannel(repoDir, channel);
  const incoming = channelFiles(source, exists);
  const outgoing = trustChannels(repoDir).includes('') ? channelFiles(loadChannel(repoDir, ''), exists) : new Set<string>();
  const prefix = channelPrefix(channel);
  const copied: string[] = [];
  for (const path of [...incoming].sort()) {
    const bytes = files.read(`${prefix}${path}`);
    if (!bytes) continue; // a missing file is a validation problem of the testing channel, reported afterwards
    const before = files.read(path);
    if (!before || !before.equals(bytes)) {
      files.write(path, bytes);
      copied.push(path);
    }
  }
  const removed: string[] = [];
  for (const path of [...outgoing].sort()) {
    if (incoming.has(path) || !exists(path)) continue;
    files.remove(path);
    removed.push(path);
  }
  return { copied, removed };
}

/**
 * Validation of a repository's trust data, and the parsed model of a channel.
 *
 * Trust files are TUF targets under `targets/`. A channel is the top level
 * (`targets/`) or the `testing/` release channel that mirrors it
 * (`targets/testing/`, whose mapping's paths are relative to `testing/`).
 * Each channel present (it has a mapping.yaml) is validated: the mapping,
 * the required attestation list (attestations.yaml), every policy's files
 * (the .rego module lexically, the .yaml data file against its schema) and
 * each policy directory's signer keys list (keys.yaml); then the shared
 * revocation list (targets/revocations.json). A repository with no trust
 * files has no problems.
 *
 * Validation never throws on bad content: every finding is a TrustProblem.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { TrustDataError } from '../errors.js';
import { targetPathProblem } from '../targets/target-paths.js';
import { attestationProblems, type PolicyKeyInfo } from './attestation-rules.js';
import { isObject, str } from './check-helpers.js';
import { channelLabel, mappingProblems, policyFiles } from './mapping-rules.js';
import {
  ATTESTATIONS_FILE,
  MAPPING_FILE,
  REVOCATIONS_FILE,
  SIGNER_KEYS_FILE,
  type Channel,
  type PolicyMappingFile,
  type RequiredAttestation,
  type RequiredAttestationsFile,
  type SignerKey,
  type SignerKeysFile,
} from './model.js';
import { errorsOf, formatProblem, type TrustProblem } from './problems.js';
import { regoProblems } from './rego-check.js';
import { revocationProblems } from './revocation-rules.js';
import { schemaProblems, type SchemaName } from './schemas.js';
import { signerKeyProblems } from './signer-key-rules.js';
import { readSource, type SourceDocument } from './yaml-source.js';

export const CHANNELS: readonly Channel[] = ['', 'testing'];

export interface ValidateTrustOptions {
  /** More checks, run after the built-in ones (e.g. JWKS files, data.yaml staleness). */
  extraChecks?: Array<(repoDir: string) => TrustProblem[]>;
}

/** `testing/` for the testing channel, '' for the top level: the prefix of the channel's paths relative to targets/. */
export function channelPrefix(channel: Channel): string {
  return channel === '' ? '' : `${channel}/`;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Channels that have a mapping.yaml. */
export function trustChannels(repoDir: string): Channel[] {
  return CHANNELS.filter((channel) => isFile(join(repoDir, 'targets', channel, MAPPING_FILE)));
}

/** A policy file path of a mapping that can be read (a valid target path that exists), or undefined. */
function usablePath(channelDir: string, channel: Channel, path: string): string | undefined {
  if (targetPathProblem(path) || (channel !== '' && targetPathProblem(`${channel}/${path}`))) return undefined;
  const absolute = join(channelDir, path);
  return isFile(absolute) ? absolute : undefined;
}

/** Directory of a channel-relative path ('' for the channel root). */
function dirOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

function keysPathIn(dir: string): string {
  return dir === '' ? SIGNER_KEYS_FILE : `${dir}/${SIGNER_KEYS_FILE}`;
}

function readChecked(absolute: string, file: string, schema: SchemaName, json = false): { doc: SourceDocument; problems: TrustProblem[] } {
  const doc = readSource(absolute, file, { json });
  return { doc, problems: [...doc.problems, ...schemaProblems(schema, doc)] };
}

function keyInfo(doc: SourceDocument | undefined): Map<string, { status?: string; distrust?: boolean }> {
  const keys = new Map<string, { status?: string; distrust?: boolean }>();
  const list = doc && isObject(doc.value) && Array.isArray(doc.value.keys) ? doc.value.keys : [];
  for (const entry of list) {
    if (!isObject(entry) || str(entry.id) === undefined) continue;
    const info: { status?: string; distrust?: boolean } = {};
    if (typeof entry.status === 'string') info.status = entry.status;
    if (typeof entry.distrust === 'boolean') info.distrust = entry.distrust;
    keys.set(entry.id as string, info);
  }
  return keys;
}

function validateChannel(repoDir: string, channel: Channel): TrustProblem[] {
  const prefix = channelPrefix(channel);
  const channelDir = join(repoDir, 'targets', channel);
  const mappingFile = `targets/${prefix}${MAPPING_FILE}`;
  const mapping = readChecked(join(channelDir, MAPPING_FILE), mappingFile, 'mapping');
  const problems = [...mapping.problems, ...mappingProblems(mapping.doc, channelDir, channel)];

  const keysByPolicy = new Map<string, PolicyKeyInfo>();
  const keysDocs = new Map<string, SourceDocument | undefined>();
  // Policies whose Rego names the attestations it requires itself, and those that read them from attestations.yaml.
  const ownRequirements = new Set<string>();
  const readsRequirements: string[] = [];
  for (const policy of policyFiles(mapping.doc.value)) {
    for (const path of policy.rego) {
      const absolute = usablePath(channelDir, channel, path);
      if (!absolute) continue;
      const source = readFileSync(absolute, 'utf8');
      problems.push(...regoProblems(source, `targets/${prefix}${path}`));
      const requires = regoRequirements(source);
      if (requires === 'own') ownRequirements.add(policy.id);
      else if (requires === 'attestations-file') readsRequirements.push(policy.id);
    }
    for (const path of policy.yaml) {
      const absolute = usablePath(channelDir, channel, path);
      if (!absolute || path.endsWith(`/${SIGNER_KEYS_FILE}`) || path === SIGNER_KEYS_FILE) continue;
      const data = readChecked(absolute, `targets/${prefix}${path}`, 'data');
      problems.push(...data.problems);
      const policyId = isObject(data.doc.value) ? data.doc.value['policy-id'] : undefined;
      if (typeof policyId === 'string' && policyId !== policy.id) {
        const line = data.doc.lineOf(['policy-id']);
        problems.push({
          severity: 'error',
          file: data.doc.file,
          ...(line !== undefined ? { line } : {}),
          field: 'policy-id',
          message: `"${policyId}" is not the policy that lists this file ("${policy.id}"); regenerate it`,
        });
      }
    }
    const rego = policy.rego[0];
    if (rego === undefined) continue;
    const keysPath = keysPathIn(dirOf(rego));
    if (!keysDocs.has(keysPath)) {
      const absolute = join(channelDir, keysPath);
      if (isFile(absolute)) {
        const keys = readChecked(absolute, `targets/${prefix}${keysPath}`, 'signer-keys');
        problems.push(...keys.problems, ...signerKeyProblems(keys.doc));
        keysDocs.set(keysPath, keys.doc);
      } else keysDocs.set(keysPath, undefined);
    }
    const keysDoc = keysDocs.get(keysPath);
    keysByPolicy.set(policy.id, {
      ...(keysDoc ? { keysFile: keysDoc.file } : {}),
      expectedKeysFile: `targets/${prefix}${keysPath}`,
      keys: keyInfo(keysDoc),
    });
  }

  const attestationsAbsolute = join(channelDir, ATTESTATIONS_FILE);
  if (isFile(attestationsAbsolute)) {
    const attestations = readChecked(attestationsAbsolute, `targets/${prefix}${ATTESTATIONS_FILE}`, 'attestations');
    // When the mapping's policy list cannot be read, policy ids are not checked (its own problems say why).
    const readable = isObject(mapping.doc.value) && Array.isArray(mapping.doc.value.policies);
    const mappedPolicyIds = readable ? policyFiles(mapping.doc.value).map((p) => p.id) : undefined;
    problems.push(
      ...attestations.problems,
      ...attestationProblems(attestations.doc, { mappingFile, mappedPolicyIds, keysByPolicy, ownRequirements }),
    );
  } else if (readsRequirements.length > 0) {
    // Only policies that read their requirements from the attestation list are affected by its absence.
    problems.push({
      severity: 'warning',
      file: mappingFile,
      message: `no ${ATTESTATIONS_FILE} in ${channelLabel(channel)}: ${readsRequirements.map((id) => `"${id}"`).join(', ')} read${readsRequirements.length === 1 ? 's its' : ' their'} required attestations from it, so ${readsRequirements.length === 1 ? 'it accepts' : 'they accept'} no image`,
    });
  }
  return problems;
}

/**
 * Where a policy's Rego takes its required attestations from: `own` when it
 * fetches literal predicate types itself (`attest.fetch("https://…")`, as
 * the production policies do), `attestations-file` when it reads
 * `data.required_attestations` (tufctl's generated policy data), else
 * undefined.
 */
export function regoRequirements(source: string): 'own' | 'attestations-file' | undefined {
  if (/\battest\.fetch\(\s*"[^"]+"\s*\)/.test(source)) return 'own';
  if (/\bdata\.required_attestations\b/.test(source)) return 'attestations-file';
  return undefined;
}

/** Trust files in a channel directory that has no mapping.yaml (they would never be used). */
function orphanProblems(repoDir: string, channel: Channel): TrustProblem[] {
  const prefix = channelPrefix(channel);
  if (!isFile(join(repoDir, 'targets', channel, ATTESTATIONS_FILE))) return [];
  return [
    {
      severity: 'error',
      file: `targets/${prefix}${ATTESTATIONS_FILE}`,
      message: `there is no ${MAPPING_FILE} in ${channelLabel(channel)}, so no policy uses this required attestation list`,
    },
  ];
}

function revocationFileProblems(repoDir: string): TrustProblem[] {
  const problems: TrustProblem[] = [];
  const absolute = join(repoDir, 'targets', REVOCATIONS_FILE);
  if (isFile(absolute)) {
    const revocations = readChecked(absolute, `targets/${REVOCATIONS_FILE}`, 'revocations', true);
    problems.push(...revocations.problems, ...revocationProblems(revocations.doc));
  }
  for (const channel of CHANNELS) {
    if (channel === '' || !isFile(join(repoDir, 'targets', channel, REVOCATIONS_FILE))) continue;
    problems.push({
      severity: 'warning',
      file: `targets/${channelPrefix(channel)}${REVOCATIONS_FILE}`,
      message: `ignored: revocations are shared by all channels and read from targets/${REVOCATIONS_FILE}`,
    });
  }
  return problems;
}

/** Every problem of the repository's trust data (errors and warnings); never throws on bad content. */
export function validateTrustData(repoDir: string, options: ValidateTrustOptions = {}): TrustProblem[] {
  const problems: TrustProblem[] = [];
  for (const channel of CHANNELS) {
    if (isFile(join(repoDir, 'targets', channel, MAPPING_FILE))) problems.push(...validateChannel(repoDir, channel));
    else problems.push(...orphanProblems(repoDir, channel));
  }
  problems.push(...revocationFileProblems(repoDir));
  for (const check of options.extraChecks ?? []) {
    try {
      problems.push(...check(repoDir));
    } catch (e) {
      problems.push({ severity: 'error', file: 'targets/', message: `a trust check failed: ${(e as Error).message}` });
    }
  }
  return problems;
}

/** A policy of a channel, with paths relative to `targets/` (e.g. `testing/doi/policy.rego`). */
export interface ChannelPolicy {
  id: string;
  /** Directory of the policy's .rego file ('' for targets/ itself, `testing` for the testing channel root). */
  dir: string;
  regoPath: string;
  /** The policy's .yaml data file, when it lists one. */
  dataPath?: string;
  /** The signer keys list next to the .rego file, when it exists. */
  keysPath?: string;
  /** The signer keys list's keys ([] without one). */
  keys: SignerKey[];
  /** The policy's entries in the channel's attestations.yaml ([] without any). */
  requiredAttestations: RequiredAttestation[];
}

export interface ChannelModel {
  channel: Channel;
  mapping: PolicyMappingFile;
  /** The channel's attestations.yaml, when it has one. */
  attestations?: RequiredAttestationsFile;
  policies: ChannelPolicy[];
}

function structural(what: string, problems: TrustProblem[]): TrustDataError {
  return new TrustDataError('TRUST_INVALID', `${what} cannot be read`, problems.map(formatProblem));
}

/**
 * The parsed trust model of a channel, for generating policy data. Throws
 * TrustDataError (TRUST_INVALID, one detail per problem) when the channel
 * has no mapping.yaml, when its mapping.yaml, attestations.yaml or a keys.yaml
 * does not parse or fails its schema, or when a policy has no .rego file;
 * other (semantic) problems do not stop it — run validateTrustData for those.
 */
export function loadChannel(repoDir: string, channel: Channel): ChannelModel {
  const prefix = channelPrefix(channel);
  const channelDir = join(repoDir, 'targets', channel);
  const mappingFile = `targets/${prefix}${MAPPING_FILE}`;
  if (!isFile(join(channelDir, MAPPING_FILE))) throw new TrustDataError('TRUST_INVALID', `${mappingFile} does not exist`);
  const mapping = readChecked(join(channelDir, MAPPING_FILE), mappingFile, 'mapping');
  if (errorsOf(mapping.problems).length > 0) throw structural(mappingFile, errorsOf(mapping.problems));
  const mappingValue = mapping.doc.value as PolicyMappingFile;

  let attestations: RequiredAttestationsFile | undefined;
  const attestationsAbsolute = join(channelDir, ATTESTATIONS_FILE);
  if (isFile(attestationsAbsolute)) {
    const file = `targets/${prefix}${ATTESTATIONS_FILE}`;
    const read = readChecked(attestationsAbsolute, file, 'attestations');
    if (errorsOf(read.problems).length > 0) throw structural(file, errorsOf(read.problems));
    attestations = read.doc.value as RequiredAttestationsFile;
  }

  const keysCache = new Map<string, SignerKey[] | undefined>();
  const policies = mappingValue.policies.map((policy): ChannelPolicy => {
    const paths = policy.files.map((f) => f.path);
    const rego = paths.find((p) => p.endsWith('.rego'));
    if (rego === undefined) throw new TrustDataError('TRUST_INVALID', `${mappingFile}: policy "${policy.id}" has no .rego file`);
    const data = paths.find((p) => p.endsWith('.yaml') && posix.basename(p) !== SIGNER_KEYS_FILE);
    const dir = dirOf(rego);
    const keysPath = keysPathIn(dir);
    if (!keysCache.has(keysPath)) {
      const absolute = join(channelDir, keysPath);
      if (isFile(absolute)) {
        const file = `targets/${prefix}${keysPath}`;
        const read = readChecked(absolute, file, 'signer-keys');
        if (errorsOf(read.problems).length > 0) throw structural(file, errorsOf(read.problems));
        keysCache.set(keysPath, (read.doc.value as SignerKeysFile).keys);
      } else keysCache.set(keysPath, undefined);
    }
    const keys = keysCache.get(keysPath);
    const model: ChannelPolicy = {
      id: policy.id,
      dir: `${prefix}${dir}`.replace(/\/$/, ''),
      regoPath: `${prefix}${rego}`,
      keys: keys ?? [],
      requiredAttestations: attestations?.policies[policy.id]?.attestations ?? [],
    };
    if (data !== undefined) model.dataPath = `${prefix}${data}`;
    if (keys !== undefined) model.keysPath = `${prefix}${keysPath}`;
    return model;
  });

  return { channel, mapping: mappingValue, ...(attestations ? { attestations } : {}), policies };
}

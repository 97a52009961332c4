/**
 * What a registry (or layout directory) currently serves, read the way a
 * client would start — the `latest` manifest of the metadata repository and
 * its files — and checked the way a client would check it, before anything
 * is built on it. Publish checks its state against it; the refresh job takes
 * the higher of git's and the registry's versions as the floor for every
 * role. Both read it here, through the same signature checks:
 *
 * - a file byte-identical to the checkout's (already verified) is trusted
 *   without being downloaded; anything else is downloaded (capped, limits.ts)
 *   and its signatures checked against the newest root the registry validly
 *   serves: a root of ours, or a root that validly continues our chain;
 * - the timestamp must name a snapshot that `latest` holds (with its hashes
 *   and length when the timestamp gives them), the snapshot a targets file;
 * - only what is ours or validly signed counts as published: its versions
 *   are floors (rollback, fork). Everything else is tampering, reported as
 *   such (REGISTRY_TAMPERED, fixed by `tufctl publish --repair`) and never
 *   as a rollback: a forged timestamp v99 must not make us refuse v3, nor
 *   become the refresh job's floor.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { TufctlError } from '../errors.js';
import { verifyWithKey } from '../keys/tuf-key.js';
import { canonicalBytes, isJSONObject, type JSONObject } from '../metadata/json.js';
import { isSuccinctBin, trustFromEntry, type RoleTrust } from '../metadata/repository.js';
import { publishedMetadataLimit, type MetadataKind } from './limits.js';
import type { Descriptor, OciRepository } from './store.js';
import { digestOf, FILENAME_ANNOTATION, LATEST_TAG, MANIFEST_MEDIA_TYPE, parseManifest } from './tuf-layout.js';
import { own, parseJSON } from '../metadata/strict-json.js';

export interface PublishedRole {
  version: number;
  expires?: string;
  /** The file's bytes (ours, or as downloaded and verified). */
  bytes?: Buffer;
  digest: string;
}

/** Something the registry serves that the signed metadata does not vouch for. */
export interface Tampering {
  /** `repository:tag` that serves it. */
  tag: string;
  /** The file, role or target concerned. */
  subject: string;
  problem: string;
}

export interface PublishedState {
  /** Digest of the `latest` manifest; undefined when nothing is published. */
  latestDigest?: string;
  /** The `latest` manifest's layers by file name. */
  layers: Map<string, Descriptor>;
  /**
   * Highest published version per top-level role (root, snapshot, targets,
   * timestamp) among the files that are ours or validly signed.
   */
  roles: Map<string, PublishedRole>;
  /** What in `latest` is neither ours nor validly signed. */
  tampered: Tampering[];
  /** Root versions in `latest` that are not ours but validly self-signed: another repository. */
  foreignRoots: number[];
}

/** The checkout's metadata the registry is compared with: trusted as it is (publish verified it). */
export interface LocalMetadata {
  roots: Map<number, Buffer>;
  timestamp: Buffer;
  snapshot: Buffer;
  targets: Buffer;
}

/** The checkout's root history and top-level files, read from `repoDir/metadata`. */
export function localMetadata(repoDir: string): LocalMetadata {
  const dir = join(repoDir, 'metadata');
  const roots = new Map<number, Buffer>();
  const history = join(dir, 'root_history');
  if (existsSync(history)) {
    for (const name of readdirSync(history)) {
      const match = /^(\d+)\.root\.json$/.exec(name);
      if (match) roots.set(Number(match[1]), readFileSync(join(history, name)));
    }
  }
  const root = readFileSync(join(dir, 'root.json'));
  const version = light(root, 'root')?.signed.version;
  if (typeof version === 'number' && !roots.has(version)) roots.set(version, root);
  return {
    roots,
    timestamp: readFileSync(join(dir, 'timestamp.json')),
    snapshot: readFileSync(join(dir, 'snapshot.json')),
    targets: readFileSync(join(dir, 'targets.json')),
  };
}

interface LightEnvelope {
  signed: JSONObject & { version: number };
  signatures: Array<{ keyid: string; sig: string }>;
}

/**
 * The envelope of metadata of `type`, checked only for what the checks here
 * read (no @tufjs/models parse: that is quadratic in a snapshot's entries).
 */
export function light(bytes: Buffer, type: string): LightEnvelope | undefined {
  try {
    const json = parseJSON(bytes);
    if (!isJSONObject(json) || !isJSONObject(json.signed) || !Array.isArray(json.signatures)) return undefined;
    const signed = json.signed;
    if (signed._type !== type || typeof signed.version !== 'number' || !Number.isSafeInteger(signed.version) || signed.version < 1)
      return undefined;
    const signatures = json.signatures.filter(
      (s): s is { keyid: string; sig: string } => isJSONObject(s) && typeof s.keyid === 'string' && typeof s.sig === 'string',
    );
    return { signed: signed as LightEnvelope['signed'], signatures };
  } catch {
    return undefined;
  }
}

/** Valid signatures over `envelope` by distinct keys `trust` lists. */
export function validSignatures(envelope: LightEnvelope, trust: RoleTrust): number {
  const data = canonicalBytes(envelope.signed);
  let valid = 0;
  for (const id of new Set(trust.keyIds)) {
    const key = trust.keys[id];
    const signature = envelope.signatures.find((s) => s.keyid === id);
    if (key && signature?.sig && verifyWithKey(key, data, signature.sig)) valid++;
  }
  return valid;
}

/** The keys and threshold `root` gives a top-level role. */
export function rootTrust(root: LightEnvelope, role: string): RoleTrust {
  const roles = isJSONObject(root.signed.roles) ? root.signed.roles : {};
  const entry = roles[role];
  return trustFromEntry(isJSONObject(root.signed.keys) ? root.signed.keys : {}, isJSONObject(entry) ? entry : {});
}

/** The keys and threshold a targets role's `delegations` give `role`, if it delegates it. */
export function delegatedTrust(delegator: LightEnvelope, role: string): RoleTrust | undefined {
  const delegations = delegator.signed.delegations;
  if (!isJSONObject(delegations)) return undefined;
  const keys = isJSONObject(delegations.keys) ? delegations.keys : {};
  if (isJSONObject(delegations.succinct_roles)) {
    return isSuccinctBin(delegations.succinct_roles, role) ? trustFromEntry(keys, delegations.succinct_roles) : undefined;
  }
  const entry = Array.isArray(delegations.roles) ? delegations.roles.find((r) => isJSONObject(r) && r.name === role) : undefined;
  return isJSONObject(entry) ? trustFromEntry(keys, entry) : undefined;
}

/** Why `envelope` is not validly signed under `trust`, or undefined when it is. */
export function signatureProblem(envelope: LightEnvelope, trust: RoleTrust, whose: string): string | undefined {
  const valid = validSignatures(envelope, trust);
  if (valid >= trust.threshold) return undefined;
  return `is not signed by ${whose} (${valid}/${trust.threshold} valid signatures)`;
}

/** A meta entry's length and sha256 (when given) checked against bytes. */
function metaMismatch(entry: JSONObject, bytes: Buffer): string | undefined {
  if (typeof entry.length === 'number' && entry.length !== bytes.length) return `length ${bytes.length}, not the ${entry.length} signed`;
  const hashes = isJSONObject(entry.hashes) ? entry.hashes : {};
  if (typeof hashes.sha256 === 'string' && createHash('sha256').update(bytes).digest('hex') !== hashes.sha256)
    return 'a sha256 other than the one signed';
  return undefined;
}

/** The `latest` manifest, unverified: its digest and layers by file name. */
async function readLatest(meta: OciRepository): Promise<{ digest?: string; layers: Map<string, Descriptor> }> {
  const latest = await meta.getManifest(LATEST_TAG);
  const layers = new Map<string, Descriptor>();
  if (!latest) return { layers };
  if (latest.mediaType && latest.mediaType !== MANIFEST_MEDIA_TYPE) {
    throw new TufctlError('PUBLISH_REFUSED', `${meta.name}:${LATEST_TAG} is a ${latest.mediaType}, not TUF metadata; refusing to use it`);
  }
  let parsed: Descriptor[];
  try {
    parsed = parseManifest(latest.bytes).layers;
  } catch {
    throw new TufctlError('PUBLISH_REFUSED', `${meta.name}:${LATEST_TAG} is not a JSON image manifest; refusing to use it`);
  }
  for (const layer of parsed) {
    const name = layer?.annotations?.[FILENAME_ANNOTATION];
    if (name && typeof layer.digest === 'string') layers.set(name, layer);
  }
  return { digest: latest.digest, layers };
}

/**
 * The registry's published state, verified against the checkout's metadata
 * as described at the top of this file. Downloads only files that differ
 * from the checkout's: a registry in step with the checkout costs one
 * request (the manifest), a timestamp-only change one more.
 */
export async function readPublishedState(meta: OciRepository, local: LocalMetadata): Promise<PublishedState> {
  const latest = await readLatest(meta);
  const state: PublishedState = { layers: latest.layers, roles: new Map(), tampered: [], foreignRoots: [] };
  if (latest.digest === undefined) return state;
  state.latestDigest = latest.digest;
  const where = `${meta.name}:${LATEST_TAG}`;
  const flag = (subject: string, problem: string): void => void state.tampered.push({ tag: where, subject, problem });

  /** A layer's bytes, within the cap for its kind; problems reaching them are tampering when the layer is not ours. */
  const load = async (name: string, layer: Descriptor, kind: MetadataKind, ownSize: number): Promise<Buffer | undefined> => {
    const cap = publishedMetadataLimit(kind, ownSize);
    if (typeof layer.size === 'number' && layer.size > cap) {
      flag(name, `is ${layer.size} bytes, more than the ${cap} a ${kind} file may have here`);
      return undefined;
    }
    try {
      return await meta.getBlob(layer.digest, cap);
    } catch (error) {
      if (error instanceof TufctlError && (error.code === 'RESPONSE_TOO_LARGE' || error.code === 'DIGEST_MISMATCH')) {
        flag(name, error.message);
        return undefined;
      }
      throw error;
    }
  };

  // ---- roots: ours, or a valid continuation of our chain; a different root that signs itself is another repository.
  const ourNewest = Math.max(...local.roots.keys());
  const rootLayers = [...latest.layers]
    .map(([name, layer]) => ({ name, layer, version: Number(/^(\d+)\.root\.json$/.exec(name)?.[1] ?? NaN) }))
    .filter((r) => Number.isInteger(r.version))
    .sort((a, b) => a.version - b.version);
  let trusted: { version: number; envelope: LightEnvelope; bytes: Buffer } | undefined;
  const newer = new Map<number, { name: string; layer: Descriptor }>();
  for (const { name, layer, version } of rootLayers) {
    const ours = local.roots.get(version);
    if (!ours) {
      if (version > ourNewest) newer.set(version, { name, layer });
      else flag(name, `is not in the checkout's root history (1..${ourNewest})`);
      continue;
    }
    if (digestOf(ours) === layer.digest) {
      trusted = { version, envelope: light(ours, 'root')!, bytes: ours };
      continue;
    }
    const bytes = await load(name, layer, 'root', ours.length);
    if (!bytes) continue;
    const envelope = light(bytes, 'root');
    if (envelope && envelope.signed.version === version && !signatureProblem(envelope, rootTrust(envelope, 'root'), 'itself')) {
      state.foreignRoots.push(version);
    } else flag(name, `differs from the checkout's root v${version} and is not validly signed root metadata`);
  }
  if (newer.size > 0) {
    let previous = light(local.roots.get(ourNewest)!, 'root')!;
    for (let version = ourNewest + 1; newer.has(version); version++) {
      const { name, layer } = newer.get(version)!;
      newer.delete(version);
      const bytes = await load(name, layer, 'root', local.roots.get(ourNewest)!.length);
      const envelope = bytes && light(bytes, 'root');
      const problem = !envelope
        ? 'is not root metadata'
        : envelope.signed.version !== version
          ? `holds version ${envelope.signed.version}`
          : (signatureProblem(envelope, rootTrust(previous, 'root'), `the root keys of root v${version - 1}`) ??
            signatureProblem(envelope, rootTrust(envelope, 'root'), 'its own root keys'));
      if (problem || !envelope || !bytes) {
        if (bytes) flag(name, problem!);
        break;
      }
      trusted = { version, envelope, bytes };
      previous = envelope;
    }
    for (const [version, { name }] of newer) flag(name, `does not follow from a validly signed root v${version - 1}`);
  }
  if (rootLayers.length === 0) flag('N.root.json', 'latest holds no root metadata');
  if (trusted) state.roles.set('root', { version: trusted.version, bytes: trusted.bytes, digest: digestOf(trusted.bytes) });
  // The registry's files are checked against the newest root it validly serves (else our newest).
  const trustedRoot = trusted ?? {
    version: ourNewest,
    envelope: light(local.roots.get(ourNewest)!, 'root')!,
    bytes: local.roots.get(ourNewest)!,
  };
  const keysOf = (role: string): string => `the ${role} key(s) of root v${trustedRoot.version}`;

  /** Checks one top-level file that is not ours: shape, version, signatures. Its envelope when valid. */
  const check = async (
    name: string,
    layer: Descriptor,
    kind: MetadataKind,
    own: Buffer,
  ): Promise<{ envelope: LightEnvelope; bytes: Buffer } | undefined> => {
    const bytes = await load(name, layer, kind, own.length);
    if (!bytes) return undefined;
    const envelope = light(bytes, kind);
    if (!envelope) {
      flag(name, `is not ${kind} metadata`);
      return undefined;
    }
    const named = /^(\d+)\./.exec(name)?.[1];
    if (named !== undefined && Number(named) !== envelope.signed.version) {
      flag(name, `holds ${kind} v${envelope.signed.version}`);
      return undefined;
    }
    const problem = signatureProblem(envelope, rootTrust(trustedRoot.envelope, kind), keysOf(kind));
    if (problem) {
      flag(name, `(v${envelope.signed.version}) ${problem}`);
      return undefined;
    }
    return { envelope, bytes };
  };
  const entry = (envelope: LightEnvelope, bytes: Buffer, digest: string): PublishedRole => ({
    version: envelope.signed.version,
    ...(typeof envelope.signed.expires === 'string' ? { expires: envelope.signed.expires } : {}),
    bytes,
    digest,
  });

  // ---- timestamp
  const timestampLayer = latest.layers.get('timestamp.json');
  let timestamp: LightEnvelope | undefined;
  if (!timestampLayer) flag('timestamp.json', 'is missing from latest');
  else if (timestampLayer.digest === digestOf(local.timestamp)) {
    timestamp = light(local.timestamp, 'timestamp');
    if (timestamp) state.roles.set('timestamp', entry(timestamp, local.timestamp, timestampLayer.digest));
  } else {
    const valid = await check('timestamp.json', timestampLayer, 'timestamp', local.timestamp);
    if (valid) {
      timestamp = valid.envelope;
      state.roles.set('timestamp', entry(valid.envelope, valid.bytes, timestampLayer.digest));
    }
  }

  // ---- snapshot and targets: every such layer of latest, then what the valid timestamp and snapshot name.
  const validFiles = new Map<string, { envelope: LightEnvelope; bytes: Buffer }>();
  for (const kind of ['snapshot', 'targets'] as const) {
    const own = kind === 'snapshot' ? local.snapshot : local.targets;
    const ownDigest = digestOf(own);
    for (const [name, layer] of latest.layers) {
      if (!new RegExp(`^\\d+\\.${kind}\\.json$`).test(name)) continue;
      let valid: { envelope: LightEnvelope; bytes: Buffer } | undefined;
      if (layer.digest === ownDigest) {
        const envelope = light(own, kind);
        if (envelope) valid = { envelope, bytes: own };
      } else valid = await check(name, layer, kind, own);
      if (!valid) continue;
      validFiles.set(name, valid);
      const known = state.roles.get(kind);
      if (!known || valid.envelope.signed.version > known.version) state.roles.set(kind, entry(valid.envelope, valid.bytes, layer.digest));
    }
  }
  const follow = (from: string, parent: LightEnvelope | undefined, file: string, kind: string): LightEnvelope | undefined => {
    if (!parent) return undefined;
    const metaEntry = isJSONObject(parent.signed.meta) ? parent.signed.meta[file] : undefined;
    if (!isJSONObject(metaEntry) || typeof metaEntry.version !== 'number') {
      flag(from, `(v${parent.signed.version}) names no ${file}`);
      return undefined;
    }
    const name = `${metaEntry.version}.${kind}.json`;
    const target = validFiles.get(name);
    if (!target) {
      if (!latest.layers.has(name))
        flag(from, `(v${parent.signed.version}) names ${kind} v${metaEntry.version}, which latest does not hold`);
      return undefined;
    }
    const mismatch = metaMismatch(metaEntry, target.bytes);
    if (mismatch) {
      flag(name, `has ${mismatch} in ${from} v${parent.signed.version}`);
      return undefined;
    }
    return target.envelope;
  };
  const snapshot = follow('timestamp.json', timestamp, 'snapshot.json', 'snapshot');
  follow(`${snapshot?.signed.version}.snapshot.json`, snapshot, 'targets.json', 'targets');
  return state;
}

/** The error for a registry that serves what the signed metadata does not vouch for. */
export function tamperedError(location: string, tampered: Tampering[], context: string): TufctlError {
  return new TufctlError(
    'REGISTRY_TAMPERED',
    `${location} serves ${tampered.length === 1 ? 'a file or tag' : `${tampered.length} files or tags`} that the signed metadata does not vouch for (tampering, or a broken upload); ${context}. Find out who could write to the registry, then run \`tufctl publish --repair\` to rewrite the tags from the signed metadata (it prints which tags move and why)`,
    tampered.map((t) => `${t.tag}: ${t.subject} ${t.problem}`),
  );
}

/**
 * Whether `role`'s keys were rotated away between two roots: the newer root
 * trusts none of the keys the older one trusted for it. After such a
 * rotation (fast-forward recovery, docs/recovery.md) snapshot and timestamp
 * may start again below the versions the old keys signed.
 */
export function keysRotatedAway(olderRoot: Buffer, newerRoot: Buffer, role: string): boolean {
  const keyIds = (bytes: Buffer): string[] => {
    const root = parseJSON(bytes) as { signed?: { roles?: Record<string, { keyids?: unknown }> } };
    const ids = own<{ keyids?: unknown }>(root.signed?.roles, role)?.keyids;
    return Array.isArray(ids) ? (ids as string[]) : [];
  };
  const before = keyIds(olderRoot);
  const now = keyIds(newerRoot);
  return before.length > 0 && now.length > 0 && !now.some((id) => before.includes(id));
}

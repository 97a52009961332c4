/**
 * Creating a new repository: lay out repo-template/, create and sign root,
 * targets, snapshot and timestamp (version 1), and make the initial commit
 * on `main`.
 *
 * Keys are either generated into a key directory outside the repository (one
 * root key, one targets key, one online key shared by snapshot and
 * timestamp) or given as public key files, in which case the repository is
 * signed only with the private keys supplied.
 */
import {
  cpSync,
  writeFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DirectoryError, KeyError, UsageError } from './errors.js';
import { commitStaged, initRepository, stagePaths } from './git/git-repo.js';
import { generateKeyPair, readPublicKeyFile, writeKeyPair, type GeneratedKey } from './keys/key-files.js';
import { createPrivateKey } from 'node:crypto';
import { KEYOWNER_FIELD, ONLINE_URI_FIELD, type KeyType, type TufKeyJSON } from './keys/tuf-key.js';
import { collectSigners, LocalKeySigner, type Signer } from './keys/signer.js';
import { DEFAULT_PERIODS, EXPIRY_FIELD, SIGNING_FIELD, expiryFrom } from './metadata/expiry.js';
import type { JSONObject } from './metadata/json.js';
import { Repository } from './metadata/repository.js';
import { doSnapshot, doTimestamp } from './metadata/snapshot-timestamp.js';
import { verifyRepository, type VerifyReport } from './verify/verify-repository.js';
import { addTargetFiles } from './edit/targets.js';
import { VERSION_CONSTRAINTS_TARGET } from './oci/publish.js';

export const TEMPLATE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'repo-template');
/** The default trust policy set (policies/ in the package; its README and schemas stay behind). */
export const DEFAULT_POLICIES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'policies');

/** Copies the default policy set into targets/, generates its policy data files and records everything as targets. */
async function installDefaultPolicies(repo: Repository): Promise<void> {
  const { stalePolicyData, trustFilePaths } = await import('./trust/trust-files.js');
  const targetsDir = join(repo.dir, 'targets');
  cpSync(DEFAULT_POLICIES_DIR, targetsDir, {
    recursive: true,
    filter: (source) => {
      const rel = relative(DEFAULT_POLICIES_DIR, source);
      return rel !== 'README.md' && rel !== 'schemas' && !rel.startsWith(`schemas/`);
    },
  });
  for (const { target, bytes } of stalePolicyData(repo.dir)) writeFileSync(join(targetsDir, ...target.split('/')), bytes);
  addTargetFiles(
    repo,
    trustFilePaths(repo.dir).map((target) => join(targetsDir, ...target.split('/'))),
  );
}

/** Seeds the sample image list (images.txt) from the mapping just installed: policy impact is measured on it. */
async function writeImageSamples(dir: string): Promise<void> {
  const { DEFAULT_IMAGE_SAMPLES, initialImageSamples } = await import('./trust/image-samples.js');
  writeFileSync(join(dir, DEFAULT_IMAGE_SAMPLES), initialImageSamples(dir));
}

export interface InitOptions {
  /** Generate keys into this directory (must be outside the repository). */
  generateKeys?: string;
  keyType?: KeyType;
  rootKeys?: string[];
  rootThreshold?: number;
  targetsKeys?: string[];
  targetsThreshold?: number;
  onlineKey?: string;
  /** Private key files to sign the new repository with (when public keys are given). */
  signingKeys?: string[];
  /** Key owner handle recorded on offline keys (x-tuf-on-ci-keyowner). */
  owner?: string;
  /** x-tuf-on-ci-online-uri for the online key (e.g. awskms:...). */
  onlineUri?: string;
  commit?: boolean;
  /** Copy the default trust policy set into targets/ (default true). */
  policies?: boolean;
  now?: Date;
  /** Content of the version-constraints target (default from tufctl.json: ">= v0.1.7-0"). */
  versionConstraints?: string;
}

export interface InitResult {
  dir: string;
  keys: Record<'root' | 'targets' | 'online', string[]>;
  generated?: Record<'root' | 'targets' | 'online', { privatePath: string; publicPath: string }>;
  commit?: string;
  signed: boolean;
  report?: VerifyReport;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false; // missing, or a path through a symlink loop
  }
}

function realpathOfNearest(path: string): string {
  let current = resolve(path);
  const rest: string[] = [];
  for (let hops = 0; !existsSync(current);) {
    // A dangling symlink (e.g. KEYDIR -> REPO/keys before REPO exists): follow it, its target decides.
    if (isSymlink(current) && hops++ < 40) {
      current = resolve(dirname(current), readlinkSync(current));
      continue;
    }
    rest.unshift(current.slice(dirname(current).length + 1));
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return join(realpathSync(current), ...rest);
}

export function isInside(child: string, parent: string): boolean {
  const rel = relative(realpathOfNearest(parent), realpathOfNearest(child));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function keyRecord(key: TufKeyJSON, extra: JSONObject): JSONObject {
  return { ...key, ...extra };
}

export async function initRepositoryAt(dirArg: string, options: InitOptions): Promise<InitResult> {
  const dir = resolve(dirArg);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new DirectoryError(`${dir} is not empty; tufctl init needs a new or empty directory`);
  }
  const givenPublic = (options.rootKeys?.length ?? 0) + (options.targetsKeys?.length ?? 0) + (options.onlineKey ? 1 : 0) > 0;
  if (options.generateKeys && givenPublic)
    throw new UsageError('give either --generate-keys KEYDIR or public keys (--root-key, --targets-key, --online-key), not both');
  if (!options.generateKeys && !givenPublic)
    throw new UsageError('give --generate-keys KEYDIR, or public keys with --root-key, --targets-key and --online-key');
  if (givenPublic && (!options.rootKeys?.length || !options.targetsKeys?.length || !options.onlineKey)) {
    throw new UsageError('with public keys, give all of --root-key, --targets-key and --online-key');
  }
  if (options.generateKeys && isInside(options.generateKeys, dir)) {
    throw new KeyError(
      'KEYDIR_INSIDE_REPO',
      `key directory ${options.generateKeys} is inside the repository ${dir}; private keys must never live in the repository`,
    );
  }
  const owner = options.owner ? (options.owner.startsWith('@') ? options.owner : `@${options.owner}`) : undefined;

  // ---- keys
  const keys: Record<'root' | 'targets' | 'online', Array<{ keyId: string; key: TufKeyJSON }>> = { root: [], targets: [], online: [] };
  let signers: Signer[] = [];
  let generated: InitResult['generated'];
  const pending: Array<{ name: 'root' | 'targets' | 'online'; pair: GeneratedKey; path: string }> = [];
  if (options.generateKeys) {
    const keyDir = resolve(options.generateKeys);
    for (const name of ['root', 'targets', 'online'] as const) {
      if (existsSync(join(keyDir, `${name}.pem`)))
        throw new KeyError('KEY_INVALID', `${join(keyDir, `${name}.pem`)} already exists; refusing to overwrite a key`);
    }
    for (const name of ['root', 'targets', 'online'] as const) {
      const pair = generateKeyPair(options.keyType ?? 'ed25519');
      pending.push({ name, pair, path: join(keyDir, `${name}.pem`) });
      keys[name].push({ keyId: pair.keyId, key: pair.key });
      signers.push(new LocalKeySigner(createPrivateKey(pair.privateKeyPem), join(keyDir, `${name}.pem`)));
    }
  } else {
    keys.root = options.rootKeys!.map(readPublicKeyFile);
    keys.targets = options.targetsKeys!.map(readPublicKeyFile);
    keys.online = [readPublicKeyFile(options.onlineKey!)];
    signers = collectSigners(options.signingKeys ?? []);
  }
  const rootThreshold = options.rootThreshold ?? 1;
  const targetsThreshold = options.targetsThreshold ?? 1;
  for (const [role, threshold, list] of [
    ['root', rootThreshold, keys.root],
    ['targets', targetsThreshold, keys.targets],
  ] as const) {
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > list.length) {
      throw new UsageError(`${role} threshold ${threshold} must be between 1 and the ${list.length} ${role} key(s)`, 'THRESHOLD_INVALID');
    }
  }

  // ---- layout and git, built in a staging directory and moved into place at the end,
  // so a failure (or a kill) never leaves a half-made repository behind.
  const finalDir = dir;
  mkdirSync(dirname(finalDir), { recursive: true });
  const stagingDir = mkdtempSync(join(dirname(finalDir), `.${basename(finalDir)}.tufctl-init-`));
  // Keys are written before the repository is built and removed again if building fails:
  // a repository never exists without the keys that signed it, and a failure leaves nothing behind.
  const writtenKeys: string[] = [];
  let keyDirCreated = false;
  try {
    let written: InitResult['generated'];
    if (pending.length > 0) {
      const keyDir = resolve(options.generateKeys!);
      keyDirCreated = !existsSync(keyDir);
      mkdirSync(keyDir, { recursive: true, mode: 0o700 });
      written = {} as NonNullable<InitResult['generated']>;
      for (const { name, pair, path } of pending) {
        written[name] = writeKeyPair(pair, path);
        writtenKeys.push(written[name].privatePath, written[name].publicPath);
      }
    }
    const prepared = { keys, signers, generated, owner, rootThreshold, targetsThreshold };
    const result = await buildRepository(stagingDir, finalDir, options, prepared);
    if (written) result.generated = written;
    return result;
  } catch (error) {
    for (const file of writtenKeys) rmSync(file, { force: true });
    if (keyDirCreated) rmSync(resolve(options.generateKeys!), { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
  }
}

interface Prepared {
  keys: Record<'root' | 'targets' | 'online', Array<{ keyId: string; key: TufKeyJSON }>>;
  signers: Signer[];
  generated: InitResult['generated'];
  owner: string | undefined;
  rootThreshold: number;
  targetsThreshold: number;
}

async function buildRepository(dir: string, finalDir: string, options: InitOptions, prepared: Prepared): Promise<InitResult> {
  const { keys, signers, generated, owner, rootThreshold, targetsThreshold } = prepared;
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  mkdirSync(join(dir, 'metadata', 'root_history'), { recursive: true });
  await initRepository(dir);

  const now = options.now ?? new Date();
  const repo = Repository.create(dir, { now });
  const keyTable: JSONObject = {};
  for (const { keyId, key } of [...keys.root, ...keys.targets]) keyTable[keyId] = keyRecord(key, owner ? { [KEYOWNER_FIELD]: owner } : {});
  for (const { keyId, key } of keys.online)
    keyTable[keyId] = keyRecord(key, options.onlineUri ? { [ONLINE_URI_FIELD]: options.onlineUri } : {});
  const onlineIds = keys.online.map((k) => k.keyId);
  const p = DEFAULT_PERIODS;
  repo.createRole(
    'root',
    {
      _type: 'root',
      spec_version: '1.0.31',
      version: 1,
      expires: expiryFrom(now, p.root.expiryDays),
      consistent_snapshot: true,
      keys: keyTable,
      roles: {
        root: { keyids: [...new Set(keys.root.map((k) => k.keyId))], threshold: rootThreshold },
        targets: { keyids: [...new Set(keys.targets.map((k) => k.keyId))], threshold: targetsThreshold },
        snapshot: { keyids: onlineIds, threshold: 1, [EXPIRY_FIELD]: p.snapshot.expiryDays, [SIGNING_FIELD]: p.snapshot.signingDays },
        timestamp: { keyids: onlineIds, threshold: 1, [EXPIRY_FIELD]: p.timestamp.expiryDays, [SIGNING_FIELD]: p.timestamp.signingDays },
      },
      [EXPIRY_FIELD]: p.root.expiryDays,
      [SIGNING_FIELD]: p.root.signingDays,
    },
    'create root',
  );
  repo.createRole(
    'targets',
    {
      _type: 'targets',
      spec_version: '1.0.31',
      version: 1,
      expires: expiryFrom(now, p.targets.expiryDays),
      targets: {},
      [EXPIRY_FIELD]: p.targets.expiryDays,
      [SIGNING_FIELD]: p.targets.signingDays,
    },
    'create targets',
  );
  // Registry TUF clients refuse to start without a version-constraints target.
  const constraints = options.versionConstraints ?? repo.config.versionConstraints;
  writeFileSync(join(dir, 'targets', VERSION_CONSTRAINTS_TARGET), constraints);
  addTargetFiles(repo, [join(dir, 'targets', VERSION_CONSTRAINTS_TARGET)]);
  if (options.policies !== false) await installDefaultPolicies(repo);
  await writeImageSamples(dir);
  repo.createRole(
    'snapshot',
    {
      _type: 'snapshot',
      spec_version: '1.0.31',
      version: 1,
      expires: expiryFrom(now, p.snapshot.expiryDays),
      meta: { 'targets.json': { version: 1 } },
    },
    'create snapshot',
  );
  repo.createRole(
    'timestamp',
    {
      _type: 'timestamp',
      spec_version: '1.0.31',
      version: 1,
      expires: expiryFrom(now, p.timestamp.expiryDays),
      meta: { 'snapshot.json': { version: 1 } },
    },
    'create timestamp',
  );
  repo.finalize();
  await repo.sign('root', signers, false);
  await repo.sign('targets', signers, false);
  const onlineAvailable = signers.some((s) => onlineIds.includes(s.keyId));
  if (onlineAvailable) {
    await doSnapshot(repo, signers, { force: true });
    await doTimestamp(repo, signers, { force: true });
  }
  repo.save({ stage: false });
  stagePaths(dir, ['.']);
  const signed = ['root', 'targets', 'snapshot', 'timestamp'].every((r) => repo.signatureStatus(r).ok);
  let commit: string | undefined;
  if (options.commit !== false)
    commit = await commitStaged(dir, 'Initialize TUF repository\n\nCreated by tufctl init: root, targets, snapshot and timestamp v1.');
  if (existsSync(finalDir)) rmdirSync(finalDir);
  renameSync(dir, finalDir);
  dir = finalDir;
  const result: InitResult = {
    dir,
    keys: { root: keys.root.map((k) => k.keyId), targets: keys.targets.map((k) => k.keyId), online: onlineIds },
    signed,
  };
  if (generated) result.generated = generated;
  if (commit) result.commit = commit;
  if (signed) result.report = (await verifyRepository(dir, { now })).report;
  return result;
}

/**
 * The repository configuration file, `tufctl.json` at the repository root.
 *
 * It holds only what tuf-on-ci's metadata fields cannot: the git ref edits
 * are counted against, the meta-hash choices for snapshot and timestamp, and
 * the settings of the mirrored OIDC JWKS (retention, per-issuer options).
 * A repository without the file (e.g. one written by tuf-on-ci) uses the
 * defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TufctlError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { assertNoSecret } from './secrets.js';
import { parseIssuer } from './jwks/issuer.js';
import { KEY_ID_RULES, type KeyIdRule } from './keys/key-ids.js';
import { jsonProblem, parseJSON } from './metadata/strict-json.js';
import { targetPathProblem } from './targets/target-paths.js';
import { isGroupDays, MAX_GROUP_DAYS } from './refresh/signing-groups.js';

export const CONFIG_FILE = 'tufctl.json';

export interface RepositoryConfig {
  /** Git ref the "one version bump per change" rule is measured against. */
  baseRef: string;
  /** Record length and sha256 of each targets role in snapshot meta. */
  snapshotMetaHashes: boolean;
  /** Record length and sha256 of snapshot.json in timestamp meta. */
  timestampMetaHashes: boolean;
  /** Where `tufctl publish` publishes by default (oci://HOST/NAMESPACE or oci-layout:DIR). */
  publishTo: string;
  /** Repository names under the registry namespace. */
  metadataRepository: string;
  targetsRepository: string;
  /** Content of the version-constraints target `init` creates (a semver range registry clients check). */
  versionConstraints: string;
  /** Mirrored OIDC JWKS (`tufctl jwks`). */
  jwks: JwksSettings;
  /** How new keys get their ids (src/keys/key-ids.ts); unset: the rule the repository's keys follow. */
  keyIdRule?: KeyIdRule;
  /**
   * The root version clients embed: verification starts the root chain there.
   * Older roots are reported, not failed (early roots of long-lived
   * repositories predate today's formats). Unset: 1.
   */
  trustedRootVersion?: number;
  /** The sample image list policy impact is measured on (a path in the repository; unset: images.txt). */
  imageSamples?: string;
  /** Registry uploads in flight at once for `publish` and `refresh --publish` (1..64; `--concurrency` wins). */
  publishConcurrency: number;
  /**
   * `expiring --open-branches` groups offline roles whose signing periods
   * start within this many days of each other on one branch (as `--group`);
   * unset or 0: one branch per role.
   */
  signingGroupDays?: number;
}

/** Per-issuer settings of a mirrored OIDC issuer. */
export interface JwksIssuerSettings {
  /** Plain HTTP is allowed to this (loopback) issuer, so syncs need no flag. */
  allowHttpLoopback: boolean;
}

export interface JwksSettings {
  /** Days an archived key stays published; 0 keeps it forever. */
  retentionDays: number;
  /** Keyed by the issuer URL exactly as configured. */
  issuers: Record<string, JwksIssuerSettings>;
}

export const DEFAULT_CONFIG: RepositoryConfig = {
  baseRef: 'HEAD',
  snapshotMetaHashes: false,
  timestampMetaHashes: true,
  publishTo: 'oci-layout:oci-layout',
  metadataRepository: 'tuf-metadata',
  targetsRepository: 'tuf-targets',
  versionConstraints: '>= v0.1.7-0',
  publishConcurrency: 8,
  jwks: { retentionDays: 365, issuers: {} },
};

const KNOWN_KEYS = new Set([
  '$schema',
  'version',
  'keyIdRule',
  'trustedRootVersion',
  'imageSamples',
  'signingGroupDays',
  ...Object.keys(DEFAULT_CONFIG),
]);

export function loadConfig(repoDir: string): RepositoryConfig {
  const path = join(repoDir, CONFIG_FILE);
  if (!existsSync(path)) return { ...DEFAULT_CONFIG, jwks: parseJwksSettings(undefined) };
  let raw: unknown;
  try {
    raw = parseJSON(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: ${jsonProblem(error)}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: must be a JSON object`);
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: unknown setting "${key}"`);
  }
  const config = { ...DEFAULT_CONFIG, jwks: parseJwksSettings(input.jwks) };
  if (input.baseRef !== undefined) {
    if (typeof input.baseRef !== 'string' || input.baseRef === '') {
      throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: baseRef must be a non-empty string`);
    }
    config.baseRef = input.baseRef;
  }
  for (const key of ['publishTo', 'metadataRepository', 'targetsRepository', 'versionConstraints'] as const) {
    if (input[key] !== undefined) {
      if (typeof input[key] !== 'string' || input[key] === '')
        throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: ${key} must be a non-empty string`);
      config[key] = input[key];
    }
  }
  for (const key of ['metadataRepository', 'targetsRepository'] as const) {
    if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(config[key])) {
      throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: ${key} "${config[key]}" is not a valid OCI repository name`);
    }
  }
  for (const key of ['snapshotMetaHashes', 'timestampMetaHashes'] as const) {
    if (input[key] !== undefined) {
      if (typeof input[key] !== 'boolean') throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: ${key} must be true or false`);
      config[key] = input[key];
    }
  }
  if (input.keyIdRule !== undefined) {
    if (!(KEY_ID_RULES as readonly unknown[]).includes(input.keyIdRule)) {
      throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: keyIdRule must be one of ${KEY_ID_RULES.join(', ')}`);
    }
    config.keyIdRule = input.keyIdRule as KeyIdRule;
  }
  if (input.publishConcurrency !== undefined) {
    const value = input.publishConcurrency;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 64) {
      throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: publishConcurrency must be a whole number from 1 to 64`);
    }
    config.publishConcurrency = value;
  }
  if (input.trustedRootVersion !== undefined) {
    if (!isRootVersion(input.trustedRootVersion)) {
      throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: trustedRootVersion must be a whole number, 1 or more`);
    }
    config.trustedRootVersion = input.trustedRootVersion;
  }
  if (input.imageSamples !== undefined) {
    const problem = typeof input.imageSamples === 'string' ? targetPathProblem(input.imageSamples) : 'is not a string';
    if (problem)
      throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: imageSamples must be a relative path inside the repository (it ${problem})`);
    config.imageSamples = input.imageSamples as string;
  }
  if (input.signingGroupDays !== undefined) {
    if (!isGroupDays(input.signingGroupDays)) {
      throw new TufctlError(
        'CONFIG_INVALID',
        `${CONFIG_FILE}: signingGroupDays must be a whole number of days from 0 to ${MAX_GROUP_DAYS} (got ${JSON.stringify(input.signingGroupDays)})`,
      );
    }
    config.signingGroupDays = input.signingGroupDays;
  }
  return config;
}

/** A root version number as clients accept it: a safe integer >= 1. */
export function isRootVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The `jwks` setting, strictly: unknown keys are refused at every level. */
function parseJwksSettings(value: unknown): JwksSettings {
  const settings: JwksSettings = { retentionDays: DEFAULT_CONFIG.jwks.retentionDays, issuers: {} };
  if (value === undefined) return settings;
  const invalid = (message: string): never => {
    throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: ${message}`);
  };
  if (!isPlainObject(value)) return invalid('jwks must be an object');
  for (const key of Object.keys(value)) if (key !== 'retentionDays' && key !== 'issuers') invalid(`unknown setting "jwks.${key}"`);
  if (value.retentionDays !== undefined) {
    if (typeof value.retentionDays !== 'number' || !Number.isSafeInteger(value.retentionDays) || value.retentionDays < 0) {
      invalid('jwks.retentionDays must be a whole number of days, 0 or more (0 keeps archived keys forever)');
    }
    settings.retentionDays = value.retentionDays as number;
  }
  if (value.issuers !== undefined) {
    if (!isPlainObject(value.issuers)) return invalid('jwks.issuers must be an object keyed by issuer URL');
    for (const [issuer, entry] of Object.entries(value.issuers)) {
      const field = `jwks.issuers[${JSON.stringify(issuer)}]`;
      try {
        parseIssuer(issuer);
      } catch (error) {
        invalid(`${field}: ${(error as Error).message}`);
      }
      if (!isPlainObject(entry)) return invalid(`${field} must be an object`);
      for (const key of Object.keys(entry)) if (key !== 'allowHttpLoopback') invalid(`unknown setting "${field}.${key}"`);
      if (typeof entry.allowHttpLoopback !== 'boolean') invalid(`${field}.allowHttpLoopback must be true or false`);
      settings.issuers[issuer] = { allowHttpLoopback: entry.allowHttpLoopback as boolean };
    }
  }
  return settings;
}

/**
 * Records `issuer`'s settings under `jwks.issuers` in tufctl.json, keeping
 * every other setting as written (2-space JSON, trailing newline). Returns
 * whether the file changed.
 */
export function writeJwksIssuerSettings(repoDir: string, issuer: string, issuerSettings: JwksIssuerSettings): boolean {
  loadConfig(repoDir); // refuse to edit a file that is already invalid
  const path = join(repoDir, CONFIG_FILE);
  const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const raw = (before === undefined ? {} : parseJSON(before)) as Record<string, unknown>;
  const jwks = isPlainObject(raw.jwks) ? raw.jwks : {};
  const issuers = isPlainObject(jwks.issuers) ? jwks.issuers : {};
  raw.jwks = { ...jwks, issuers: { ...issuers, [issuer]: { ...issuerSettings } } };
  const after = JSON.stringify(raw, null, 2) + '\n';
  if (after === before) return false;
  assertNoSecret(CONFIG_FILE, after);
  writeFileAtomic(path, after);
  return true;
}

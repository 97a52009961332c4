/**
 * The repository configuration file, `tufctl.json` at the repository root.
 *
 * It holds only what tuf-on-ci's metadata fields cannot: the git ref edits
 * are counted against, and the meta-hash choices for snapshot and timestamp.
 * A repository without the file (e.g. one written by tuf-on-ci) uses the
 * defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TufctlError } from './errors.js';

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
}

export const DEFAULT_CONFIG: RepositoryConfig = {
  baseRef: 'HEAD',
  snapshotMetaHashes: false,
  timestampMetaHashes: true,
  publishTo: 'oci-layout:oci-layout',
  metadataRepository: 'tuf-metadata',
  targetsRepository: 'tuf-targets',
  versionConstraints: '>= v0.1.7-0',
};

const KNOWN_KEYS = new Set(['$schema', 'version', ...Object.keys(DEFAULT_CONFIG)]);

export function loadConfig(repoDir: string): RepositoryConfig {
  const path = join(repoDir, CONFIG_FILE);
  if (!existsSync(path)) return { ...DEFAULT_CONFIG };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: not valid JSON (${(error as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: must be a JSON object`);
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) throw new TufctlError('CONFIG_INVALID', `${CONFIG_FILE}: unknown setting "${key}"`);
  }
  const config = { ...DEFAULT_CONFIG };
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
  return config;
}

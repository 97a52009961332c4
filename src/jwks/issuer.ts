/**
 * OIDC issuer identifiers and where their mirrored keys live.
 *
 * An issuer is an http(s) URL without query, fragment or userinfo. Its files
 * live under `targets/jwks/<issuer-dir>/`, where `<issuer-dir>` is the host
 * (`HOST_PORT` with an explicit port) followed by the path segments as nested
 * directories. The issuer string itself is kept exactly as configured (OIDC
 * compares it byte for byte); only the directory name ignores a trailing slash.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JwksError } from '../errors.js';

/** The directory under `targets/` that holds every mirrored issuer. */
export const JWKS_TARGETS_DIR = 'jwks';
export const JWKS_FILE = 'jwks.json';
export const LEDGER_FILE = 'ledger.json';

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** The parsed issuer URL; throws a USAGE JwksError naming what is wrong. */
export function parseIssuer(issuer: string): URL {
  const refuse = (why: string): never => {
    throw new JwksError('USAGE', `issuer ${JSON.stringify(issuer)}: ${why}`);
  };
  // Never echo userinfo: it may hold a password.
  if (/^[a-z][a-z0-9+.-]*:\/*[^/?#]*@/i.test(issuer)) throw new JwksError('USAGE', 'an issuer URL must not contain userinfo (user@)');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return refuse('not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse(`must be an https URL, not ${url.protocol}`);
  if (!/^https?:\/\/[^\\\s]+$/i.test(issuer)) refuse('must be written https://HOST[:PORT][/PATH] without spaces or backslashes');
  if (url.search !== '' || issuer.includes('?')) refuse('must not have a query');
  if (url.hash !== '' || issuer.includes('#')) refuse('must not have a fragment');
  if (url.hostname.startsWith('[')) refuse('IPv6 address literals are not supported as issuer hosts');
  if (!SEGMENT.test(url.hostname)) refuse(`host "${url.hostname}" has characters outside [A-Za-z0-9._~-]`);
  // The URL parser resolves "." and ".." and percent-encodes odd characters: inspect the path as written.
  const rawPath = issuer.replace(/^[a-z]+:\/\/[^/]*/i, '');
  for (const segment of pathSegments(rawPath)) {
    if (segment === '.' || segment === '..') refuse(`path segment "${segment}" is not allowed`);
    if (segment === '') refuse('path has an empty segment');
    if (!SEGMENT.test(segment)) refuse(`path segment "${segment}" has characters outside [A-Za-z0-9._~-]`);
  }
  return url;
}

/** The segments of a URL path, ignoring the leading slash and one trailing slash. */
function pathSegments(path: string): string[] {
  const trimmed = path.replace(/^\//, '').replace(/\/$/, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** `<issuer-dir>`: the issuer's directory under `targets/jwks/`, '/'-separated. */
export function issuerDirectory(issuer: string): string {
  const url = parseIssuer(issuer);
  const host = url.port === '' ? url.hostname : `${url.hostname}_${url.port}`;
  return [host, ...pathSegments(url.pathname)].join('/');
}

/** The issuer's discovery document URL: `<issuer>/.well-known/openid-configuration`. */
export function discoveryUrl(issuer: string): URL {
  parseIssuer(issuer);
  return new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
}

/** Where an issuer's files live: paths relative to `targets/` and absolute paths in the repository. */
export interface IssuerFiles {
  dir: string;
  /** e.g. `jwks/host/jwks.json`, relative to `targets/`. */
  jwksTarget: string;
  ledgerTarget: string;
  jwksPath: string;
  ledgerPath: string;
}

export function issuerFiles(repoDir: string, dir: string): IssuerFiles {
  const jwksTarget = `${JWKS_TARGETS_DIR}/${dir}/${JWKS_FILE}`;
  const ledgerTarget = `${JWKS_TARGETS_DIR}/${dir}/${LEDGER_FILE}`;
  return {
    dir,
    jwksTarget,
    ledgerTarget,
    jwksPath: join(repoDir, 'targets', ...jwksTarget.split('/')),
    ledgerPath: join(repoDir, 'targets', ...ledgerTarget.split('/')),
  };
}

/** An issuer directory found under `targets/jwks/`, and which of the two files it holds. */
export interface MirroredDirectory {
  dir: string;
  hasLedger: boolean;
  hasJwks: boolean;
}

/** Every directory under `targets/jwks/` holding a ledger.json or jwks.json, sorted (symbolic links are not followed). */
export function mirroredDirectories(repoDir: string): MirroredDirectory[] {
  const found: MirroredDirectory[] = [];
  const visit = (dir: string): void => {
    const entries = readdirSync(join(repoDir, 'targets', JWKS_TARGETS_DIR, ...dir.split('/').filter(Boolean)), { withFileTypes: true });
    const files = new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
    if (dir !== '' && (files.has(LEDGER_FILE) || files.has(JWKS_FILE))) {
      found.push({ dir, hasLedger: files.has(LEDGER_FILE), hasJwks: files.has(JWKS_FILE) });
    }
    for (const entry of entries) if (entry.isDirectory()) visit(dir === '' ? entry.name : `${dir}/${entry.name}`);
  };
  if (existsSync(join(repoDir, 'targets', JWKS_TARGETS_DIR))) visit('');
  return found.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

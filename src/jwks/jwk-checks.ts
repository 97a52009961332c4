/**
 * What a mirrored key must be: a public, asymmetric signing JWK (RSA of at
 * least 2048 bits, EC P-256/384/521, or Ed25519) with a non-empty kid unique
 * in its document, no private or symmetric members, and importable by jose.
 * Keys are stored reduced to their public members, identified by their
 * RFC 7638 SHA-256 thumbprint.
 */
import { createHash } from 'node:crypto';
import { JwksError, describeError } from '../errors.js';

/** The members kept from a published key; everything else is dropped. */
export const PUBLIC_MEMBERS = ['kty', 'kid', 'use', 'alg', 'key_ops', 'crv', 'x', 'y', 'n', 'e', 'x5c', 'x5t', 'x5t#S256'] as const;
/** Members that only private or symmetric keys have. */
export const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
export const MAX_KEYS = 100;
export const MIN_RSA_BITS = 2048;

export type KeyType = 'RSA' | 'EC' | 'OKP';

/** A key reduced to its public members. */
export interface PublicJwk {
  kty: KeyType;
  kid: string;
  use?: string;
  alg?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  x5c?: string[];
  x5t?: string;
  'x5t#S256'?: string;
}

/** A validated key of a live JWKS. */
export interface CheckedKey {
  kid: string;
  thumbprint: string;
  jwk: PublicJwk;
}

/** The signature algorithms each key type (and curve) may declare; the first is used when it declares none. */
const SIGNING_ALGORITHMS: Record<string, readonly string[]> = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'EC P-256': ['ES256'],
  'EC P-384': ['ES384'],
  'EC P-521': ['ES512'],
  'OKP Ed25519': ['EdDSA', 'Ed25519'],
};

/** The members that make up each key type's public key (RFC 7638 thumbprint input). */
const KEY_MEMBERS: Record<KeyType, readonly string[]> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };

const STRING_MEMBERS = ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y', 'n', 'e', 'x5t', 'x5t#S256'];
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** How messages name a key: by kid when it has one, else by its position. */
function keyLabel(value: unknown, index: number): string {
  const kid = isObject(value) ? value.kid : undefined;
  return typeof kid === 'string' && kid !== '' ? `key ${JSON.stringify(kid)}` : `key #${index + 1}`;
}

/** The signature algorithms a key of this type and curve may declare (undefined: unsupported curve). */
function algorithmsFor(jwk: Record<string, unknown>): readonly string[] | undefined {
  return SIGNING_ALGORITHMS[jwk.kty === 'RSA' ? 'RSA' : `${String(jwk.kty)} ${String(jwk.crv)}`];
}

/** Bits of an RSA modulus given in base64url. */
export function rsaModulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + bytes[i]!.toString(2).length;
}

/**
 * Why `value` (entry `index` of a JWKS `keys` array) is not an acceptable
 * public signing key, judged on its members alone; undefined when it is.
 */
export function jwkProblem(value: unknown, index: number): string | undefined {
  const label = keyLabel(value, index);
  if (!isObject(value)) return `${label} is not a JSON object`;
  const secret = SECRET_MEMBERS.filter((member) => Object.hasOwn(value, member));
  if (value.kty === 'oct') return `symmetric key (kty "oct") in ${label}`;
  if (secret.length > 0) return `private key material (${secret.join(', ')}) in ${label}`;
  if (typeof value.kid !== 'string' || value.kid === '') return `${label} has no kid (a non-empty string is required)`;
  if (value.kty !== 'RSA' && value.kty !== 'EC' && value.kty !== 'OKP') {
    return `${label} has kty ${JSON.stringify(value.kty)}; only RSA, EC and OKP keys are accepted`;
  }
  for (const member of STRING_MEMBERS) {
    if (Object.hasOwn(value, member) && typeof value[member] !== 'string') return `${label}: "${member}" must be a string`;
  }
  for (const member of ['key_ops', 'x5c']) {
    const list = value[member];
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === 'string'))) {
      return `${label}: "${member}" must be an array of strings`;
    }
  }
  if (value.use !== undefined && value.use !== 'sig') return `${label} has use ${JSON.stringify(value.use)}; only "sig" keys are mirrored`;
  const algorithms = algorithmsFor(value);
  if (!algorithms) return `${label} has an unsupported curve ${JSON.stringify(value.crv)} for kty ${value.kty}`;
  if (typeof value.alg === 'string') {
    if (value.alg === 'none' || /^HS\d+$/.test(value.alg))
      return `${label} declares alg "${value.alg}", which is not an asymmetric signature`;
    if (!algorithms.includes(value.alg)) return `${label} declares alg "${value.alg}", which does not fit a ${value.kty} key`;
  }
  for (const member of KEY_MEMBERS[value.kty]) {
    if (typeof value[member] !== 'string' || (member !== 'kty' && member !== 'crv' && !BASE64URL.test(value[member] as string))) {
      return `${label}: "${member}" is missing or not base64url`;
    }
  }
  if (value.kty === 'RSA') {
    const bits = rsaModulusBits(value.n as string);
    if (bits < MIN_RSA_BITS) return `${label} is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`;
  }
  return undefined;
}

/** The key reduced to its public members (call after jwkProblem accepted it). */
export function reducePublicJwk(value: Record<string, unknown>): PublicJwk {
  const out: Record<string, unknown> = {};
  for (const member of [...PUBLIC_MEMBERS].sort()) if (value[member] !== undefined) out[member] = value[member];
  return out as unknown as PublicJwk;
}

/**
 * RFC 7638 SHA-256 thumbprint, base64url: the same value as jose's
 * calculateJwkThumbprint, computed synchronously so that file validation
 * needs no promise.
 */
export function jwkThumbprint(jwk: PublicJwk): string {
  const required: Record<string, unknown> = {};
  for (const member of KEY_MEMBERS[jwk.kty]) required[member] = jwk[member as keyof PublicJwk];
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

/**
 * Checks a whole JWKS document from `issuer` and returns its keys, sorted by
 * kid. The first unacceptable key ends the check with one JwksError.
 */
export async function checkJwksDocument(issuer: string, document: unknown): Promise<CheckedKey[]> {
  const fail = (code: 'JWKS_INVALID' | 'JWKS_TOO_LARGE', message: string): never => {
    throw new JwksError(code, `issuer ${issuer}: ${message}`);
  };
  if (!isObject(document) || !Array.isArray(document.keys))
    return fail('JWKS_INVALID', 'the JWKS is not a JSON object with a "keys" array');
  const keys: unknown[] = document.keys;
  if (keys.length > MAX_KEYS) fail('JWKS_TOO_LARGE', `the JWKS has ${keys.length} keys; at most ${MAX_KEYS} are accepted`);
  const seen = new Set<string>();
  const checked: CheckedKey[] = [];
  for (const [index, value] of keys.entries()) {
    const problem = jwkProblem(value, index);
    if (problem) fail('JWKS_INVALID', problem);
    const jwk = reducePublicJwk(value as Record<string, unknown>);
    if (seen.has(jwk.kid)) fail('JWKS_INVALID', `kid ${JSON.stringify(jwk.kid)} appears more than once in the JWKS`);
    seen.add(jwk.kid);
    try {
      // jose is loaded only when keys are fetched: validating committed files (every verify) does not need it.
      const { importJWK } = await import('jose');
      await importJWK({ ...jwk }, jwk.alg ?? algorithmsFor(jwk as unknown as Record<string, unknown>)![0]);
    } catch (error) {
      fail('JWKS_INVALID', `key ${JSON.stringify(jwk.kid)} cannot be imported: ${describeError(error)}`);
    }
    checked.push({ kid: jwk.kid, thumbprint: jwkThumbprint(jwk), jwk });
  }
  return checked.sort((a, b) => compareKids(a.kid, b.kid));
}

/** The one order of kids in every file: by UTF-16 code units, like JSON key sorting. */
export function compareKids(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

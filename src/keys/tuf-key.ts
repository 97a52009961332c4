/**
 * TUF public keys: conversion between PEM/Node key objects and the TUF key
 * object (`{keytype, scheme, keyval: {public}}`), key ids, and signature
 * verification per scheme.
 *
 * Key ids follow the specification: the hex SHA-256 of the canonical JSON of
 * the key object. tufctl's custom fields on keys (`x-tuf-on-ci-keyowner`,
 * `x-tuf-on-ci-online-uri`, any other `x-` field) are left out of the hash, so
 * adding or changing an owner never changes a key id and every client that
 * recomputes ids from `keytype`/`scheme`/`keyval` agrees with ours.
 */
import { createHash, createPublicKey, verify as cryptoVerify, constants, KeyObject } from 'node:crypto';
import { canonicalBytes, type JSONObject, isJSONObject } from '../metadata/json.js';
import { KeyError } from '../errors.js';

export type KeyType = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-pss';
export const KEY_TYPES: readonly KeyType[] = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-pss'];

/** The JSON form of a TUF key as it appears in root or delegations. */
export interface TufKeyJSON extends JSONObject {
  keytype: string;
  scheme: string;
  keyval: { public: string };
}

export const KEYOWNER_FIELD = 'x-tuf-on-ci-keyowner';
export const ONLINE_URI_FIELD = 'x-tuf-on-ci-online-uri';

const SCHEMES: Record<string, { keytype: string[]; hash: string | null; pss?: boolean }> = {
  ed25519: { keytype: ['ed25519'], hash: null },
  'ecdsa-sha2-nistp256': { keytype: ['ecdsa', 'ecdsa-sha2-nistp256'], hash: 'sha256' },
  'ecdsa-sha2-nistp384': { keytype: ['ecdsa', 'ecdsa-sha2-nistp384'], hash: 'sha384' },
  'rsassa-pss-sha256': { keytype: ['rsa'], hash: 'sha256', pss: true },
};

/** The key id: sha256 over the canonical key object without custom (`x-`) fields. */
export function keyIdOf(key: JSONObject): string {
  const core: JSONObject = {};
  for (const [name, value] of Object.entries(key)) {
    if (!name.startsWith('x-')) core[name] = value;
  }
  return createHash('sha256').update(canonicalBytes(core)).digest('hex');
}

/** Describes a Node public key object as a TUF key, or throws for unsupported kinds. */
export function tufKeyFromPublicKey(publicKey: KeyObject): TufKeyJSON {
  const type = publicKey.asymmetricKeyType;
  if (type === 'ed25519') {
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.from(String(jwk.x), 'base64url');
    return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  }
  const spki = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  if (type === 'ec') {
    const curve = publicKey.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') {
      return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: spki } };
    }
    if (curve === 'secp384r1') {
      return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp384', keyval: { public: spki } };
    }
    throw new KeyError('KEY_UNSUPPORTED', `unsupported elliptic curve ${curve ?? 'unknown'} (use P-256 or P-384)`);
  }
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new KeyError('KEY_UNSUPPORTED', `RSA key of ${bits} bits is too small (at least 2048)`);
    const pem = type === 'rsa-pss' ? rsaPssAsRsaSpki(publicKey) : spki;
    return { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem } };
  }
  throw new KeyError('KEY_UNSUPPORTED', `unsupported key type ${type ?? 'unknown'} (use ed25519, ecdsa-p256, ecdsa-p384 or rsa-pss)`);
}

function rsaPssAsRsaSpki(publicKey: KeyObject): string {
  // TUF clients expect an rsaEncryption SPKI. Node cannot export an RSA-PSS key as JWK or
  // PKCS#1, so take the RSAPublicKey (modulus, exponent) out of the SPKI's BIT STRING:
  // SEQUENCE { AlgorithmIdentifier, BIT STRING { 0x00, RSAPublicKey } }.
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const element = (offset: number): { start: number; end: number } => {
    let length = der[offset + 1]!;
    let start = offset + 2;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      length = 0;
      for (let i = 0; i < bytes; i++) length = length * 256 + der[start++]!;
    }
    return { start, end: start + length };
  };
  const algorithm = element(element(0).start);
  const bits = element(algorithm.end);
  return createPublicKey({ key: der.subarray(bits.start + 1, bits.end), format: 'der', type: 'pkcs1' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
}

/** Node key object for a TUF key (hex or PEM encoded), or throws KeyError. */
export function publicKeyObjectOf(key: TufKeyJSON): KeyObject {
  const value = key.keyval?.public;
  // Decoding (PEM or JWK import) costs more than an ed25519 verification: remember
  // decoded keys, since verifying thousands of hashed bins uses the same few keys.
  const cacheKey = typeof value === 'string' ? `${String(key.keytype)}\n${value}` : undefined;
  const cached = cacheKey === undefined ? undefined : KEY_OBJECTS.get(cacheKey);
  if (cached) return cached;
  const decoded = decodePublicKey(key);
  if (cacheKey !== undefined) {
    if (KEY_OBJECTS.size >= 1024) KEY_OBJECTS.clear();
    KEY_OBJECTS.set(cacheKey, decoded);
  }
  return decoded;
}

/** Decoded public keys by key type and keyval.public (what decodePublicKey depends on). */
const KEY_OBJECTS = new Map<string, KeyObject>();

/** SPKI DER of a key object, remembered per object (matching signers to trusted keys compares these). */
const SPKI_DER = new WeakMap<KeyObject, Buffer>();

export function spkiDerOf(keyObject: KeyObject): Buffer {
  let der = SPKI_DER.get(keyObject);
  if (!der) {
    der = keyObject.export({ format: 'der', type: 'spki' });
    SPKI_DER.set(keyObject, der);
  }
  return der;
}

function decodePublicKey(key: TufKeyJSON): KeyObject {
  const value = key.keyval?.public;
  if (typeof value !== 'string' || value.length === 0) {
    throw new KeyError('KEY_INVALID', 'key has no keyval.public');
  }
  try {
    if (value.includes('-----BEGIN')) {
      if (value.includes('PRIVATE KEY')) throw new KeyError('KEY_IS_PRIVATE', 'keyval.public holds a private key');
      return createPublicKey(value);
    }
    if (!/^[0-9a-f]+$/i.test(value)) throw new KeyError('KEY_INVALID', 'keyval.public is neither PEM nor hex');
    const raw = Buffer.from(value, 'hex');
    if (key.keytype === 'ed25519') {
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
    if (raw[0] === 0x04 && (raw.length === 65 || raw.length === 97)) {
      const n = (raw.length - 1) / 2;
      return createPublicKey({
        key: {
          kty: 'EC',
          crv: n === 32 ? 'P-256' : 'P-384',
          x: raw.subarray(1, 1 + n).toString('base64url'),
          y: raw.subarray(1 + n).toString('base64url'),
        },
        format: 'jwk',
      });
    }
    throw new KeyError('KEY_INVALID', `cannot decode hex ${key.keytype} key`);
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError('KEY_INVALID', `cannot parse ${key.keytype} public key: ${(error as Error).message}`);
  }
}

/** Checks the structure and scheme of a TUF key object; returns it typed. */
export function assertTufKey(value: unknown, where: string): TufKeyJSON {
  if (!isJSONObject(value)) throw new KeyError('KEY_INVALID', `${where}: key is not an object`);
  const { keytype, scheme, keyval } = value;
  if (typeof keytype !== 'string' || typeof scheme !== 'string' || !isJSONObject(keyval)) {
    throw new KeyError('KEY_INVALID', `${where}: key needs string keytype, scheme and an object keyval`);
  }
  const known = SCHEMES[scheme];
  if (!known || !known.keytype.includes(keytype)) {
    throw new KeyError('KEY_UNSUPPORTED', `${where}: unsupported key type/scheme ${keytype}/${scheme}`);
  }
  return value as TufKeyJSON;
}

/** Verifies one signature (hex) over `data` with a TUF key, per its scheme. */
export function verifyWithKey(key: TufKeyJSON, data: Buffer, signatureHex: string): boolean {
  const scheme = SCHEMES[key.scheme];
  if (!scheme || !/^[0-9a-f]*$/i.test(signatureHex)) return false;
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyObjectOf(key);
  } catch {
    return false;
  }
  const signature = Buffer.from(signatureHex, 'hex');
  try {
    if (scheme.pss) {
      return cryptoVerify(
        scheme.hash,
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        signature,
      );
    }
    return cryptoVerify(scheme.hash, data, publicKey, signature);
  } catch {
    return false;
  }
}

/** A short human description of a key: `ed25519 4f1c…a9 (@alice)`. */
export function describeKey(keyId: string, key?: JSONObject): string {
  const owner = key?.[KEYOWNER_FIELD];
  const kind = typeof key?.scheme === 'string' ? `${key.scheme} ` : '';
  return `${kind}${keyId.slice(0, 8)}${typeof owner === 'string' ? ` (${owner})` : ''}`;
}

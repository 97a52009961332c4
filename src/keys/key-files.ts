/**
 * Key files on disk: generating key pairs (PKCS#8 private + SPKI public PEM)
 * and reading public or private key files with a precise error when the wrong
 * kind is given. Private key material is never included in any message.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { KeyError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { type KeyType, type TufKeyJSON, KEY_TYPES, keyIdOf, tufKeyFromPublicKey } from './tuf-key.js';
import { isPkcs11Uri } from './pkcs11-uri.js';
import { readPkcs11PublicKey } from './pkcs11-signer.js';

export interface GeneratedKey {
  keyId: string;
  key: TufKeyJSON;
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateKeyPair(type: KeyType): GeneratedKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (type) {
    case 'ed25519':
      pair = generateKeyPairSync('ed25519');
      break;
    case 'ecdsa-p256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'ecdsa-p384':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      break;
    case 'rsa-pss':
      pair = generateKeyPairSync('rsa', { modulusLength: 3072 });
      break;
    default:
      throw new KeyError('KEY_UNSUPPORTED', `unsupported key type ${String(type)} (use ${KEY_TYPES.join(', ')})`);
  }
  const key = tufKeyFromPublicKey(pair.publicKey);
  return {
    keyId: keyIdOf(key),
    key,
    privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** The conventional public key file name beside a private key file. */
export function publicKeyPathFor(privatePath: string): string {
  return privatePath.endsWith('.pem') ? privatePath.replace(/\.pem$/, '.pub.pem') : `${privatePath}.pub`;
}

/** Writes a generated key pair: private key with mode 0600, public key beside it. */
export function writeKeyPair(generated: GeneratedKey, privatePath: string, overwrite = false): { privatePath: string; publicPath: string } {
  const publicPath = publicKeyPathFor(privatePath);
  if (!overwrite && (existsSync(privatePath) || existsSync(publicPath))) {
    throw new KeyError('KEY_INVALID', `refusing to overwrite existing key file ${existsSync(privatePath) ? privatePath : publicPath}`);
  }
  writeFileAtomic(privatePath, generated.privateKeyPem, 0o600);
  writeFileAtomic(publicPath, generated.publicKeyPem, 0o644);
  return { privatePath, publicPath };
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeyError('KEY_INVALID', `cannot read key file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function looksPrivate(text: string): boolean {
  return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
}

/** Parses PEM text that must be a public key; `source` names it in errors. */
export function parsePublicKeyPem(text: string, source: string): { keyId: string; key: TufKeyJSON } {
  if (looksPrivate(text)) {
    throw new KeyError('KEY_IS_PRIVATE', `${source} holds a private key; give the public key (SPKI PEM, e.g. the .pub.pem file)`);
  }
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new KeyError('KEY_INVALID', `${source} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(text);
  } catch (error) {
    throw new KeyError('KEY_INVALID', `${source} is not a valid public key: ${(error as Error).message}`);
  }
  const key = tufKeyFromPublicKey(publicKey);
  return { keyId: keyIdOf(key), key };
}

/** A public key from a PEM file, or from a hardware token when `path` is a `pkcs11:` URI. */
export function readPublicKeyFile(path: string): { keyId: string; key: TufKeyJSON } {
  if (isPkcs11Uri(path)) return readPkcs11PublicKey(path);
  return parsePublicKeyPem(readKeyFile(path), path);
}

/** Parses PEM text that must be a private key; `source` names it in errors (never the content). */
export function parsePrivateKeyPem(text: string, source: string): KeyObject {
  if (text.includes('-----BEGIN PUBLIC KEY-----') && !looksPrivate(text)) {
    throw new KeyError('KEY_IS_PUBLIC', `${source} holds a public key; signing needs the private key`);
  }
  if (text.includes('ENCRYPTED PRIVATE KEY')) {
    throw new KeyError('KEY_INVALID', `${source} is an encrypted private key; decrypt it first or use an online signer`);
  }
  if (!looksPrivate(text)) {
    throw new KeyError('KEY_INVALID', `${source} is not a PEM private key`);
  }
  try {
    return createPrivateKey(text);
  } catch {
    throw new KeyError('KEY_INVALID', `${source} is not a valid private key`);
  }
}

export function readPrivateKeyFile(path: string): KeyObject {
  return parsePrivateKeyPem(readKeyFile(path), path);
}

/**
 * The `Signer` interface every signing path goes through, and the signers of
 * this package: private keys from files and from environment variables, and
 * hardware keys named by `pkcs11:` URIs (pkcs11-signer.ts).
 *
 * A signer knows its public TUF key (hence its key id) and signs bytes
 * asynchronously, so remote signers (cloud KMS, hardware tokens) fit the same
 * seam. Signers never expose or log private key material.
 */
import { createPublicKey, sign as cryptoSign, constants, KeyObject } from 'node:crypto';
import { type TufKeyJSON, keyIdOf, tufKeyFromPublicKey } from './tuf-key.js';
import { parsePrivateKeyPem, readPrivateKeyFile } from './key-files.js';
import { isPkcs11Uri } from './pkcs11-uri.js';
import { Pkcs11Signer } from './pkcs11-signer.js';

export interface Signer {
  /** TUF key id of the public key (sha256 of the canonical key). */
  readonly keyId: string;
  /** The public key in TUF form. */
  readonly publicKey: TufKeyJSON;
  /** Where the key came from, for messages (a path or variable name, never the key). */
  readonly source: string;
  /** Signs `data`, returning the signature as hex, as TUF metadata stores it. */
  sign(data: Uint8Array): Promise<string>;
  /** Set when every signature sign() returns has been verified with `publicKey` (the editor then skips its own check). */
  readonly verifiesOwnSignatures?: boolean;
}

/** A signer over a private key held in this process (file or environment). */
export class LocalKeySigner implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject, source: string) {
    this.#privateKey = privateKey;
    this.source = source;
    this.publicKey = tufKeyFromPublicKey(createPublicKey(privateKey));
    this.keyId = keyIdOf(this.publicKey);
  }

  sign(data: Uint8Array): Promise<string> {
    const key = this.#privateKey;
    let signature: Buffer;
    switch (this.publicKey.scheme) {
      case 'ed25519':
        signature = cryptoSign(null, data, key);
        break;
      case 'ecdsa-sha2-nistp256':
        signature = cryptoSign('sha256', data, key);
        break;
      case 'ecdsa-sha2-nistp384':
        signature = cryptoSign('sha384', data, key);
        break;
      case 'rsassa-pss-sha256':
        signature = cryptoSign('sha256', data, {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        });
        break;
      default:
        return Promise.reject(new Error(`cannot sign with scheme ${this.publicKey.scheme}`));
    }
    return Promise.resolve(signature.toString('hex'));
  }

  /** The private key of a local signer, for the worker threads of a SigningPool only; undefined for other signers. */
  static privateKeyOf(signer: Signer): KeyObject | undefined {
    return signer instanceof LocalKeySigner ? signer.#privateKey : undefined;
  }

  /** Keeps key material out of logs and JSON dumps. */
  toJSON(): { keyId: string; source: string } {
    return { keyId: this.keyId, source: this.source };
  }
}

/** A signer for a `--key` value: a private key file, or a hardware key named by a `pkcs11:` URI. */
export function signerFromFile(path: string, env: NodeJS.ProcessEnv = process.env): Signer {
  if (isPkcs11Uri(path)) return new Pkcs11Signer(path, env);
  return new LocalKeySigner(readPrivateKeyFile(path), path);
}

/** Environment variables whose value is a PEM private key usable for signing. */
export const KEY_ENV_PREFIX = 'TUFCTL_KEY_';

/**
 * Signers from the environment: every `TUFCTL_KEY_<NAME>` variable holding a
 * PEM private key (for CI, where keys arrive as secrets).
 */
export function signersFromEnvironment(env: NodeJS.ProcessEnv = process.env): Signer[] {
  const signers: Signer[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(KEY_ENV_PREFIX)) continue;
    const value = env[name];
    if (!value || value.trim() === '') continue;
    signers.push(new LocalKeySigner(parsePrivateKeyPem(value, `environment variable ${name}`), `$${name}`));
  }
  return signers;
}

/** Signers from `--key` files plus the environment, de-duplicated by key id. */
export function collectSigners(keyFiles: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Signer[] {
  const byId = new Map<string, Signer>();
  for (const signer of [...keyFiles.map((file) => signerFromFile(file, env)), ...signersFromEnvironment(env)]) {
    if (!byId.has(signer.keyId)) byId.set(signer.keyId, signer);
  }
  return [...byId.values()];
}

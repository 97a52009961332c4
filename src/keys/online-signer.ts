/**
 * The signer of the online (snapshot/timestamp) key, chosen in this order:
 *
 * 1. `--key FILE` (`options.keyFile`): a PEM private key file;
 * 2. the environment variable `TUFCTL_ONLINE_KEY`: a PEM private key;
 * 3. the key's `x-tuf-on-ci-online-uri` in root, by URI scheme:
 *    - `awskms:<key ARN | key id | alias/NAME>` (also `awskms://…`): AWS KMS;
 *    - `gcpkms:projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`:
 *      Google Cloud KMS;
 *    - `azurekms://VAULT.vault.azure.net/keys/NAME/VERSION`: Azure Key Vault (EC keys);
 *    - `file:<path>` (or `file:///abs/path`): a PEM private key file;
 *    - `env:<VAR>`: a PEM private key in that environment variable;
 *    - any scheme added with `registerOnlineSignerScheme` (the extension
 *      point for GCP KMS, Azure Key Vault, PKCS#11, HashiCorp Vault, ...).
 *
 * Whatever the source, the signer's public key must be the key root trusts;
 * anything else is refused with KEY_NOT_TRUSTED naming both key ids. No
 * message ever contains private key material. Cloud SDKs are loaded only when
 * their scheme is used.
 */
import { fileURLToPath } from 'node:url';
import { KeyError } from '../errors.js';
import { AwsKmsSigner, type AwsKmsOptions } from './aws-kms-signer.js';
import { AzureKeyVaultSigner, parseAzureKeyReference, type AzureKeyVaultOptions } from './azure-kv-signer.js';
import { GcpKmsSigner, type GcpKmsOptions } from './gcp-kms-signer.js';
import { parsePrivateKeyPem } from './key-files.js';
import { LocalKeySigner, signerFromFile, type Signer } from './signer.js';
import { type TufKeyJSON, ONLINE_URI_FIELD, keyIdOf, publicKeyObjectOf, spkiDerOf } from './tuf-key.js';

/** Environment variable holding the online key as a PEM private key (second in precedence, after --key). */
export const ONLINE_KEY_ENV = 'TUFCTL_ONLINE_KEY';

export interface OnlineSignerOptions {
  /** `--key FILE`: a PEM private key file; wins over everything else. */
  keyFile?: string;
  /** Environment for TUFCTL_ONLINE_KEY, `env:` URIs and KMS settings; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** AWS KMS settings for `awskms:` URIs (region, endpoint, timeouts, credentials). */
  kms?: AwsKmsOptions;
  /** Google Cloud KMS settings for `gcpkms:` URIs (endpoint, credentials, timeouts). */
  gcpKms?: GcpKmsOptions;
  /** Azure Key Vault settings for `azurekms:` URIs (credential, timeouts). */
  azure?: AzureKeyVaultOptions;
  /** The id root lists the key under (default keyIdOf(key)); the returned signer carries this id. */
  keyId?: string;
}

/** What a scheme's factory is given. */
export interface OnlineSignerRequest {
  /** The whole URI, e.g. `gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1`. */
  readonly uri: string;
  /** The scheme, lower case, without the colon. */
  readonly scheme: string;
  /** The URI after `scheme:` (a leading `//` removed). */
  readonly reference: string;
  /** The key root trusts (with its custom fields). */
  readonly key: TufKeyJSON;
  readonly env: NodeJS.ProcessEnv;
  readonly options: OnlineSignerOptions;
}

/**
 * Makes a signer for a URI of one scheme. It may return a signer for any key:
 * `onlineSignerFor` checks afterwards that its public key is the trusted one.
 */
export type OnlineSignerFactory = (request: OnlineSignerRequest) => Promise<Signer>;

const SCHEME_NAME = /^[a-z][a-z0-9+.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const factories = new Map<string, OnlineSignerFactory>();

/**
 * Adds (or replaces) the signer factory for a URI scheme; returns a function
 * that restores the previous state. Schemes are case-insensitive.
 */
export function registerOnlineSignerScheme(scheme: string, factory: OnlineSignerFactory): () => void {
  const name = scheme.toLowerCase().replace(/:$/, '');
  if (!SCHEME_NAME.test(name)) throw new KeyError('KEY_INVALID', `invalid online key URI scheme ${JSON.stringify(scheme)}`);
  const previous = factories.get(name);
  factories.set(name, factory);
  return () => {
    if (factories.get(name) !== factory) return;
    if (previous) factories.set(name, previous);
    else factories.delete(name);
  };
}

/** The URI schemes online keys can use, sorted. */
export function onlineSignerSchemes(): string[] {
  return [...factories.keys()].sort();
}

/** Splits an online key URI into its lower-case scheme and the reference after `scheme:` (and `//`). */
export function parseOnlineUri(uri: string): { scheme: string; reference: string } {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(uri.trim());
  if (!match) {
    throw new KeyError('KEY_INVALID', `online key URI ${JSON.stringify(uri)} has no scheme (expected e.g. awskms:arn:aws:kms:…)`);
  }
  const rest = match[2]!;
  return { scheme: match[1]!.toLowerCase(), reference: rest.startsWith('//') ? rest.slice(2) : rest };
}

/** The signer of the online key `key` (from root), from --key, TUFCTL_ONLINE_KEY or the key's online URI. */
export async function onlineSignerFor(key: TufKeyJSON, options: OnlineSignerOptions = {}): Promise<Signer> {
  const env = options.env ?? process.env;
  if (options.keyFile) return bindToTrustedKey(signerFromFile(options.keyFile), key, options.keyId);
  const pem = env[ONLINE_KEY_ENV];
  if (pem && pem.trim() !== '') {
    const signer = new LocalKeySigner(parsePrivateKeyPem(pem, `environment variable ${ONLINE_KEY_ENV}`), `$${ONLINE_KEY_ENV}`);
    return bindToTrustedKey(signer, key, options.keyId);
  }
  const id = options.keyId ?? keyIdOf(key);
  const uri = key[ONLINE_URI_FIELD];
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new KeyError(
      'USAGE',
      `no signer for online key ${id.slice(0, 12)}: give --key FILE, set ${ONLINE_KEY_ENV} to the PEM private key, ` +
        `or set ${ONLINE_URI_FIELD} on the key in root (awskms:…, gcpkms:…, azurekms:…, file:…, env:…)`,
    );
  }
  const { scheme, reference } = parseOnlineUri(uri);
  const factory = factories.get(scheme);
  if (!factory) {
    throw new KeyError(
      'KEY_UNSUPPORTED',
      `online key ${id.slice(0, 12)} uses URI scheme "${scheme}:", which tufctl cannot sign with; ` +
        `supported schemes: ${onlineSignerSchemes()
          .map((s) => `${s}:`)
          .join(', ')}. ` +
        `Give the key with --key FILE or ${ONLINE_KEY_ENV} instead, or add a signer for "${scheme}:" with ` +
        'registerOnlineSignerScheme() (docs/keys.md, "Online keys and KMS")',
    );
  }
  const signer = await factory({ uri: uri.trim(), scheme, reference, key, env, options });
  try {
    return bindToTrustedKey(signer, key, options.keyId);
  } catch (error) {
    (signer as { destroy?: () => void }).destroy?.();
    throw error;
  }
}

/** A signer presented under the trusted key's id and JSON form (same public key, other encoding or legacy id). */
class TrustedKeySigner implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  readonly #inner: Signer;

  constructor(inner: Signer, keyId: string, publicKey: TufKeyJSON) {
    this.#inner = inner;
    this.keyId = keyId;
    this.publicKey = publicKey;
    this.source = inner.source;
  }

  sign(data: Uint8Array): Promise<string> {
    return this.#inner.sign(data);
  }

  destroy(): void {
    (this.#inner as { destroy?: () => void }).destroy?.();
  }

  toJSON(): { keyId: string; source: string } {
    return { keyId: this.keyId, source: this.source };
  }
}

function coreKey(key: TufKeyJSON): TufKeyJSON {
  return { keytype: key.keytype, scheme: key.scheme, keyval: { public: key.keyval.public } };
}

/**
 * Checks that `signer` holds the trusted key `key` (same key id, or the same
 * public key and scheme in another encoding); returns a signer carrying the
 * trusted id. Anything else is KEY_NOT_TRUSTED, naming both ids.
 */
export function bindToTrustedKey(signer: Signer, key: TufKeyJSON, trustedId?: string): Signer {
  const expected = trustedId ?? keyIdOf(key);
  if (signer.keyId === expected) return signer;
  let samePublicKey = false;
  try {
    samePublicKey =
      signer.publicKey.scheme === key.scheme && spkiDerOf(publicKeyObjectOf(signer.publicKey)).equals(spkiDerOf(publicKeyObjectOf(key)));
  } catch {
    samePublicKey = false;
  }
  if (samePublicKey) return new TrustedKeySigner(signer, expected, coreKey(key));
  throw new KeyError(
    'KEY_NOT_TRUSTED',
    `the online key from ${signer.source} has key id ${signer.keyId} (${signer.publicKey.scheme}), ` +
      `but root trusts key id ${expected} (${key.scheme}) for it`,
  );
}

function fileSigner(request: OnlineSignerRequest): Promise<Signer> {
  let path = request.uri.trim().slice('file:'.length);
  if (path.startsWith('//')) {
    try {
      path = fileURLToPath(request.uri.trim());
    } catch {
      throw new KeyError('KEY_INVALID', `online key URI ${request.uri} is not a local file URL (use file:PATH or file:///ABSOLUTE/PATH)`);
    }
  }
  if (path === '') throw new KeyError('KEY_INVALID', `online key URI ${request.uri} names no file`);
  return Promise.resolve(signerFromFile(path));
}

function envSigner(request: OnlineSignerRequest): Promise<Signer> {
  const name = request.reference;
  if (!ENV_NAME.test(name))
    throw new KeyError('KEY_INVALID', `online key URI ${request.uri}: ${JSON.stringify(name)} is not a variable name`);
  const value = request.env[name];
  if (!value || value.trim() === '') {
    throw new KeyError('KEY_INVALID', `online key URI ${request.uri}: environment variable ${name} is not set`);
  }
  return Promise.resolve(new LocalKeySigner(parsePrivateKeyPem(value, `environment variable ${name}`), `$${name}`));
}

function awsKmsSigner(request: OnlineSignerRequest): Promise<Signer> {
  // awskms:<ARN|id|alias/NAME>, awskms://<…>, and cosign's awskms:///<…> (empty endpoint).
  const keyRef = request.reference.startsWith('/') ? request.reference.slice(1) : request.reference;
  if (!keyRef.startsWith('arn:') && !keyRef.startsWith('alias/') && keyRef.includes('/')) {
    throw new KeyError(
      'KEY_INVALID',
      `online key URI ${request.uri}: endpoints in the URI are not supported; ` +
        'write awskms:<key ARN, key id or alias/NAME> and set the endpoint with TUFCTL_AWS_KMS_ENDPOINT',
    );
  }
  return AwsKmsSigner.create(keyRef, { env: request.env, ...request.options.kms, source: request.uri });
}

function gcpKmsSigner(request: OnlineSignerRequest): Promise<Signer> {
  // gcpkms:projects/…/cryptoKeyVersions/N as tuf-on-ci (securesystemslib's GCPSigner) writes it; also gcpkms://… and gcpkms:///….
  const name = request.reference.startsWith('/') ? request.reference.slice(1) : request.reference;
  return GcpKmsSigner.create(name, { env: request.env, ...request.options.gcpKms, source: request.uri });
}

function azureKeyVaultSigner(request: OnlineSignerRequest): Promise<Signer> {
  // azurekms://VAULT.vault.azure.net/keys/NAME/VERSION: the key's kid with https: replaced, as tuf-on-ci
  // (securesystemslib's AzureSigner) writes it.
  const reference = parseAzureKeyReference(request.reference);
  return AzureKeyVaultSigner.create(reference, { env: request.env, ...request.options.azure, source: request.uri });
}

registerOnlineSignerScheme('awskms', awsKmsSigner);
registerOnlineSignerScheme('gcpkms', gcpKmsSigner);
registerOnlineSignerScheme('azurekms', azureKeyVaultSigner);
registerOnlineSignerScheme('file', fileSigner);
registerOnlineSignerScheme('env', envSigner);

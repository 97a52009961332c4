/**
 * A `Signer` over an elliptic-curve key in Azure Key Vault (or Managed HSM),
 * through Microsoft's official clients (`@azure/keyvault-keys`,
 * `@azure/identity`).
 *
 * Both are imported lazily the first time an Azure signer is created (they
 * take a few hundred milliseconds to load); this module only imports their
 * types statically.
 *
 * Creation reads the key (`GET /keys/NAME/VERSION`: its JWK becomes the TUF
 * public key; enabled and the `sign` operation checked); `sign` sends the
 * SHA-256 (P-256, ES256) or SHA-384 (P-384, ES384) digest to
 * `POST /keys/NAME/VERSION/sign`. Key Vault returns ECDSA signatures as raw
 * `r‖s`; they are converted to DER, the encoding TUF uses, and verified
 * locally before they are returned. EC keys only, as securesystemslib's
 * AzureSigner (which tuf-on-ci uses) supports.
 *
 * Credentials come from `DefaultAzureCredential`: environment (service
 * principal), workload identity, managed identity, or the Azure CLI's login
 * (in GitHub Actions `azure/login` with OIDC), and are never part of any
 * message.
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { CryptographyClient, KeyClientOptions, KeyVaultKey } from '@azure/keyvault-keys';
import { KeyError, TufctlError } from '../errors.js';
import type { Signer } from './signer.js';
import {
  checkedRemoteSignature,
  cleanServiceMessage,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  isLoopbackHost,
  lazyImport,
  NETWORK_ERROR_CODES,
  type RemoteSignerOptions,
} from './remote-signer.js';
import { type TufKeyJSON, keyIdOf, tufKeyFromPublicKey } from './tuf-key.js';

/** Environment variable redirecting Key Vault requests to a loopback endpoint (tests, local emulators). */
export const AZURE_KEYVAULT_ENDPOINT_ENV = 'TUFCTL_AZURE_KEYVAULT_ENDPOINT';

/**
 * `env` is where TUFCTL_AZURE_KEYVAULT_ENDPOINT is read; `requestTimeoutMs` limits one call (credential included);
 * attempts follow the client's retry policy (429, 5xx, network errors); `source` defaults to
 * `azurekms://<vault host>/keys/<name>/<version>`.
 */
export interface AzureKeyVaultOptions extends RemoteSignerOptions {
  /** Loopback endpoint the vault's requests go to instead (default TUFCTL_AZURE_KEYVAULT_ENDPOINT). */
  endpoint?: string;
  /** A token credential for library callers; default DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Delay before the first retry in milliseconds (default 250). */
  retryDelayMs?: number;
}

/** JWK curve → TUF scheme, Key Vault signature algorithm, digest, and the size of r and s. */
const CURVES: Record<string, { scheme: string; algorithm: 'ES256' | 'ES384'; hash: 'sha256' | 'sha384'; size: number }> = {
  'P-256': { scheme: 'ecdsa-sha2-nistp256', algorithm: 'ES256', hash: 'sha256', size: 32 },
  'P-384': { scheme: 'ecdsa-sha2-nistp384', algorithm: 'ES384', hash: 'sha384', size: 48 },
};

/** What an `azurekms:` URI names. */
export interface AzureKeyReference {
  /** The vault's host, e.g. `myvault.vault.azure.net`. */
  host: string;
  name: string;
  version?: string;
}

const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const NAME = /^[0-9a-zA-Z-]{1,127}$/;

/**
 * Parses the part after `azurekms://` (tuf-on-ci writes the key's `kid` with
 * `https:` replaced: `azurekms://VAULT.vault.azure.net/keys/NAME/VERSION`).
 */
export function parseAzureKeyReference(reference: string): AzureKeyReference {
  const match = /^([^/]+)\/keys\/([^/]+)(?:\/([^/]+))?\/?$/.exec(reference);
  if (!match || !HOST.test(match[1]!) || !NAME.test(match[2]!) || (match[3] !== undefined && !NAME.test(match[3]))) {
    throw new KeyError(
      'KEY_INVALID',
      `invalid Azure Key Vault key ${JSON.stringify(reference)}: expected azurekms://VAULT.vault.azure.net/keys/NAME/VERSION`,
    );
  }
  return { host: match[1]!.toLowerCase(), name: match[2]!, ...(match[3] ? { version: match[3] } : {}) };
}

type KeysModule = typeof import('@azure/keyvault-keys');
type IdentityModule = typeof import('@azure/identity');

/** The clients, loaded on first use only. */
const loadAzure = lazyImport<{ keys: KeysModule; identity: IdentityModule }>(
  () => Promise.all([import('@azure/keyvault-keys'), import('@azure/identity')]).then(([keys, identity]) => ({ keys, identity })),
  'the Azure Key Vault client (@azure/keyvault-keys, @azure/identity)',
);

function resolveEndpoint(options: AzureKeyVaultOptions, env: NodeJS.ProcessEnv): string | undefined {
  const endpoint = options.endpoint || env[AZURE_KEYVAULT_ENDPOINT_ENV] || undefined;
  if (endpoint === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TufctlError('CONFIG_INVALID', `Azure Key Vault endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  const loopback = isLoopbackHost(url.hostname);
  // Only for loopback: the vault's own host is what the access token's audience and the TLS name are checked against.
  if (!loopback || !['http:', 'https:'].includes(url.protocol) || (url.pathname !== '/' && url.pathname !== '') || url.search) {
    throw new TufctlError(
      'CONFIG_INVALID',
      `${AZURE_KEYVAULT_ENDPOINT_ENV} must be a loopback origin such as http://127.0.0.1:8443 (got ${JSON.stringify(endpoint)}); ` +
        'real vaults are reached through the host in the azurekms: URI',
    );
  }
  return url.origin;
}

/** Raw `r‖s` (IEEE P1363, as Key Vault and JOSE return ECDSA signatures) → DER SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new KeyError('KEY_INVALID', `ECDSA signature of ${raw.length} bytes is not r‖s`);
  const integer = (bytes: Uint8Array): Buffer => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const value = Buffer.from(bytes.subarray(start));
    const body = value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const half = raw.length / 2;
  const body = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), length, body]);
}

/** Key Vault's message, without anything shaped like a token, cut to a readable length. */
function sanitize(message: string): string {
  return cleanServiceMessage(message, [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi]);
}

/** Turns a client failure into a KeyError (or TufctlError) saying what to do; never includes credentials. */
export function azureFailure(error: unknown, operation: 'get' | 'sign', where: string): TufctlError {
  if (error instanceof TufctlError) return error;
  const e = (error ?? {}) as { name?: unknown; code?: unknown; statusCode?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const text = typeof e.message === 'string' ? sanitize(e.message) : '';
  const details = [
    `keys/${operation} failed: ${name}${code ? ` ${code}` : ''}${status ? ` (HTTP ${status})` : ''}${text ? `: ${text}` : ''}`,
  ];
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationError' || name === 'AggregateAuthenticationError') {
    return new KeyError(
      'KEY_INVALID',
      `cannot obtain Azure credentials for ${where}: log in with azure/login (OIDC) in GitHub Actions, \`az login\`, ` +
        'or set a service principal or workload identity in the environment (AZURE_CLIENT_ID, AZURE_TENANT_ID, …)',
      details,
    );
  }
  if (name === 'TimeoutError' || name === 'AbortError' || (code !== undefined && NETWORK_ERROR_CODES.has(code))) {
    return new TufctlError('IO_FAILED', `cannot reach Azure Key Vault (${code ?? 'timed out'}) for ${where}`, details);
  }
  if (status === 404 || code === 'KeyNotFound') return new KeyError('KEY_UNKNOWN', `${where} does not exist`, details);
  if (status === 401) return new KeyError('KEY_INVALID', `Azure rejected the credentials used for ${where}`, details);
  if (status === 403) {
    if (/disabled/i.test(text)) return new KeyError('KEY_INVALID', `${where} is disabled; enable it to sign`, details);
    return new KeyError(
      'KEY_INVALID',
      `access denied to ${where}: the identity in use needs the keys get and sign permissions on the vault ` +
        '(the "Key Vault Crypto User" role, or an access policy with get and sign)',
      details,
    );
  }
  if (status === 429 || (status !== undefined && status >= 500)) {
    return new TufctlError('IO_FAILED', `Azure Key Vault is unavailable or throttling requests for ${where}; try again later`, details);
  }
  if (status === 400) return new KeyError('KEY_INVALID', `Azure Key Vault refused the ${operation} request for ${where}`, details);
  return new KeyError('KEY_INVALID', `Azure Key Vault ${operation} failed for ${where}`, details);
}

/** Runs `call` with an overall time limit (the credential included). */
async function withDeadline<T>(timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        reject(error);
      }, timeoutMs);
    });
    return await Promise.race([call(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A signer whose private key never leaves Azure Key Vault. */
export class AzureKeyVaultSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  /** The key's full identifier (`https://VAULT/keys/NAME/VERSION`) as Key Vault reported it. */
  readonly kid: string;
  readonly #client: CryptographyClient;
  readonly #curve: (typeof CURVES)[string];
  readonly #totalTimeoutMs: number;
  readonly #where: string;

  private constructor(fields: {
    client: CryptographyClient;
    publicKey: TufKeyJSON;
    curve: (typeof CURVES)[string];
    kid: string;
    source: string;
    totalTimeoutMs: number;
    where: string;
  }) {
    this.#client = fields.client;
    this.#curve = fields.curve;
    this.#totalTimeoutMs = fields.totalTimeoutMs;
    this.#where = fields.where;
    this.publicKey = fields.publicKey;
    this.keyId = keyIdOf(fields.publicKey);
    this.kid = fields.kid;
    this.source = fields.source;
  }

  /** Reads the key `reference` names and checks it can sign for TUF. */
  static async create(reference: AzureKeyReference, options: AzureKeyVaultOptions = {}): Promise<AzureKeyVaultSigner> {
    const env = options.env ?? process.env;
    const endpoint = resolveEndpoint(options, env);
    const vaultUrl = endpoint ?? `https://${reference.host}`;
    const where = `Azure Key Vault key ${reference.host}/keys/${reference.name}${reference.version ? `/${reference.version}` : ''}${
      endpoint ? ` (endpoint ${endpoint})` : ''
    }`;
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const attempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    // One call's budget: every attempt, the waits between them, and the credential.
    const totalTimeoutMs = attempts * timeoutMs + retryDelayMs * 2 ** attempts + 1000;
    const { keys, identity } = await loadAzure();
    let credential: TokenCredential;
    try {
      credential = options.credential ?? new identity.DefaultAzureCredential();
    } catch (error) {
      throw azureFailure(error, 'get', where);
    }
    const clientOptions: KeyClientOptions = {
      retryOptions: { maxRetries: attempts - 1, retryDelayInMs: retryDelayMs, maxRetryDelayInMs: retryDelayMs * 8 },
      // The loopback endpoint stands in for the vault: its host is not the one the challenge names, and it may be plain http.
      ...(endpoint ? { disableChallengeResourceVerification: true, allowInsecureConnection: endpoint.startsWith('http:') } : {}),
    };
    const requestOptions = { requestOptions: { timeout: timeoutMs } };
    let key: KeyVaultKey;
    try {
      const client = new keys.KeyClient(vaultUrl, credential, clientOptions);
      key = await withDeadline(totalTimeoutMs, () =>
        client.getKey(reference.name, { ...(reference.version ? { version: reference.version } : {}), ...requestOptions }),
      );
    } catch (error) {
      throw azureFailure(error, 'get', where);
    }
    const jwk = key.key;
    const kty = String(jwk?.kty ?? 'unknown');
    const curve = CURVES[String(jwk?.crv ?? '')];
    if (!jwk || !kty.startsWith('EC') || !curve) {
      throw new KeyError(
        'KEY_UNSUPPORTED',
        `${where} is a ${kty}${jwk?.crv ? ` ${jwk.crv}` : ''} key; tufctl signs with Azure Key Vault EC keys on P-256 (recommended) or P-384`,
      );
    }
    if (key.properties.enabled === false) throw new KeyError('KEY_INVALID', `${where} is disabled; enable it to sign`);
    if (key.keyOperations && !key.keyOperations.includes('sign')) {
      throw new KeyError('KEY_UNSUPPORTED', `${where} does not permit the sign operation (key_ops: ${key.keyOperations.join(', ')})`);
    }
    let publicKey: TufKeyJSON;
    try {
      const b64 = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('base64url');
      publicKey = tufKeyFromPublicKey(createPublicKey({ key: { kty: 'EC', crv: jwk.crv!, x: b64(jwk.x), y: b64(jwk.y) }, format: 'jwk' }));
    } catch {
      throw new KeyError('KEY_INVALID', `${where}: Key Vault returned an unreadable public key`);
    }
    const kid = key.id ?? jwk.kid ?? `${vaultUrl}/keys/${reference.name}`;
    // Signing goes to the key's kid; with a loopback endpoint, to the same path there.
    const local = endpoint ? kid.replace(/^https:\/\/[^/]+/, endpoint) : kid;
    const client = new keys.CryptographyClient({ ...key, id: local, key: { ...jwk, kid: local } }, credential, clientOptions);
    return new AzureKeyVaultSigner({
      client,
      publicKey,
      curve,
      kid,
      source: options.source ?? `azurekms://${reference.host}/keys/${reference.name}${reference.version ? `/${reference.version}` : ''}`,
      totalTimeoutMs,
      where,
    });
  }

  /** Signs `data` in Key Vault; returns the DER-encoded ECDSA signature as hex. */
  async sign(data: Uint8Array): Promise<string> {
    const message = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const digest = createHash(this.#curve.hash).update(message).digest();
    let raw: Uint8Array;
    try {
      const out = await withDeadline(this.#totalTimeoutMs, () => this.#client.sign(this.#curve.algorithm, digest));
      raw = out.result;
    } catch (error) {
      throw azureFailure(error, 'sign', this.#where);
    }
    if (!raw || raw.length !== this.#curve.size * 2) {
      throw new KeyError(
        'KEY_INVALID',
        `${this.source}: Key Vault returned a signature of ${raw?.length ?? 0} bytes, not r‖s for ${this.#curve.algorithm}`,
      );
    }
    return checkedRemoteSignature(this.publicKey, message, ecdsaRawToDer(raw).toString('hex'), this.source, 'Key Vault');
  }

  /** Keeps the client and its configuration out of logs and JSON dumps. */
  toJSON(): { keyId: string; source: string; kid: string } {
    return { keyId: this.keyId, source: this.source, kid: this.kid };
  }
}

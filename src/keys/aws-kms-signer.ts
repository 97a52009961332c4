/**
 * A `Signer` over an asymmetric AWS KMS key, through the official AWS SDK for
 * JavaScript v3 (`@aws-sdk/client-kms`).
 *
 * The SDK is imported lazily (`await import(...)`) the first time a KMS signer
 * is created: it takes about 100 ms to load, which no other command should pay.
 * This module only imports the SDK's types statically.
 *
 * Creation calls `GetPublicKey` once (DER SPKI → TUF key, key usage and
 * signing algorithms checked); `sign` calls `Sign` with the algorithm of the
 * key's TUF scheme, `MessageType: 'RAW'` up to KMS's 4096-byte limit and
 * `'DIGEST'` (a locally computed hash) above it. KMS returns ECDSA signatures
 * DER-encoded, which is the encoding TUF and tufctl's verifier use, so
 * signatures are stored as KMS returns them (hex); every signature is verified
 * locally before it is returned.
 *
 * Credentials come from the SDK's default chain (environment, shared config,
 * web identity / GitHub OIDC role, container and instance roles) and are never
 * part of any message.
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { KMSClient, KMSClientConfig, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { KeyError, TufctlError } from '../errors.js';
import type { Signer } from './signer.js';
import {
  checkedRemoteSignature,
  cleanServiceMessage,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  lazyImport,
  NETWORK_ERROR_CODES,
  type RemoteSignerOptions,
  secureEndpointUrl,
} from './remote-signer.js';
import { type TufKeyJSON, keyIdOf, tufKeyFromPublicKey } from './tuf-key.js';

/** KMS signs raw messages of at most this many bytes; larger ones are signed as a digest. */
export const KMS_RAW_MESSAGE_LIMIT = 4096;

/** Environment variable naming a KMS endpoint URL (tests, VPC endpoints, KMS-compatible services). */
export const AWS_KMS_ENDPOINT_ENV = 'TUFCTL_AWS_KMS_ENDPOINT';

/**
 * `env` is where AWS_REGION, AWS_DEFAULT_REGION and TUFCTL_AWS_KMS_ENDPOINT are read; `requestTimeoutMs` limits one
 * HTTP request; attempts use the SDK's standard backoff; `source` defaults to `awskms:<key>`.
 */
export interface AwsKmsOptions extends RemoteSignerOptions {
  /** AWS region; default: the key ARN's region, else AWS_REGION, else AWS_DEFAULT_REGION. */
  region?: string;
  /** KMS endpoint URL; default: TUFCTL_AWS_KMS_ENDPOINT, else the SDK's (which honours AWS_ENDPOINT_URL_KMS). */
  endpoint?: string;
  /** Credentials for library callers; default: the SDK's default provider chain (which reads process.env). */
  credentials?: KMSClientConfig['credentials'];
  /** Time limit to open a connection in milliseconds (default 5000). */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

interface Algorithm {
  /** The KMS SigningAlgorithm. */
  kms: SigningAlgorithmSpec;
  /** Digest for MessageType DIGEST; none for pure Ed25519, which KMS signs only as RAW. */
  hash?: 'sha256' | 'sha384';
}

const ALGORITHMS: Record<string, Algorithm> = {
  'ecdsa-sha2-nistp256': { kms: 'ECDSA_SHA_256', hash: 'sha256' },
  'ecdsa-sha2-nistp384': { kms: 'ECDSA_SHA_384', hash: 'sha384' },
  'rsassa-pss-sha256': { kms: 'RSASSA_PSS_SHA_256', hash: 'sha256' },
  ed25519: { kms: 'ED25519_SHA_512' },
};

/** The KMS signing algorithm for a TUF scheme, or undefined when KMS cannot sign it. */
export function kmsSigningAlgorithmFor(scheme: string): SigningAlgorithmSpec | undefined {
  return ALGORITHMS[scheme]?.kms;
}

type KmsModule = typeof import('@aws-sdk/client-kms');

/** The SDK, loaded on first use only. */
const loadKms = lazyImport<KmsModule>(() => import('@aws-sdk/client-kms'), 'the AWS SDK (@aws-sdk/client-kms)');

/** The region named by a KMS key or alias ARN (`arn:aws:kms:REGION:ACCOUNT:key/…`). */
export function regionOfKmsArn(keyRef: string): string | undefined {
  const match = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyRef);
  return match?.[1];
}

function checkKeyRef(keyRef: string): void {
  if (keyRef === '' || /\s/.test(keyRef)) {
    throw new KeyError('KEY_INVALID', `invalid AWS KMS key reference ${JSON.stringify(keyRef)} (give a key ARN, key id or alias/NAME)`);
  }
}

function resolveRegion(keyRef: string, options: AwsKmsOptions, env: NodeJS.ProcessEnv): string {
  const fromArn = regionOfKmsArn(keyRef);
  if (options.region && fromArn && options.region !== fromArn) {
    throw new TufctlError('CONFIG_INVALID', `AWS KMS key ${keyRef} is in region ${fromArn}, but region ${options.region} was given`);
  }
  const region = options.region || fromArn || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new TufctlError(
      'CONFIG_INVALID',
      `no AWS region for KMS key ${keyRef}: set AWS_REGION (or AWS_DEFAULT_REGION), or use the key ARN, which names its region`,
    );
  }
  if (!/^[a-z0-9-]+$/.test(region)) throw new TufctlError('CONFIG_INVALID', `invalid AWS region ${JSON.stringify(region)}`);
  return region;
}

function resolveEndpoint(options: AwsKmsOptions, env: NodeJS.ProcessEnv): string | undefined {
  const endpoint = options.endpoint || env[AWS_KMS_ENDPOINT_ENV] || undefined;
  if (endpoint === undefined) return undefined;
  const url = secureEndpointUrl(endpoint, 'AWS KMS');
  return url.pathname === '/' && !url.search ? url.origin : url.href;
}

/** Where a KMS call went, for messages. */
interface Target {
  keyRef: string;
  region: string;
  endpoint: string | undefined;
}

const CREDENTIAL_REJECTED = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'MissingAuthenticationTokenException',
  'MissingAuthenticationToken',
  'SignatureDoesNotMatch',
]);
const UNAVAILABLE = new Set([
  'KMSInternalException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KeyUnavailableException',
  'DependencyTimeoutException',
  'ThrottlingException',
  'LimitExceededException',
]);

/** AWS's message, without anything shaped like an access key id, cut to a readable length. */
function sanitize(message: string): string {
  return cleanServiceMessage(message, [/\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b/g]);
}

/** Turns an SDK failure into a KeyError (or TufctlError) saying what to do; never includes credentials. */
export function kmsFailure(error: unknown, operation: 'GetPublicKey' | 'Sign', target: Target): TufctlError {
  if (error instanceof TufctlError) return error;
  const e = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = e.$metadata?.httpStatusCode;
  const key = `key ${target.keyRef} (region ${target.region}${target.endpoint ? `, endpoint ${target.endpoint}` : ''})`;
  const where = `AWS KMS ${key}`;
  const awsMessage = typeof e.message === 'string' ? sanitize(e.message) : '';
  const details = [
    `kms:${operation} failed: ${name}${code && code !== name ? ` ${code}` : ''}${status ? ` (HTTP ${status})` : ''}` +
      `${e.$metadata?.requestId ? `, request id ${e.$metadata.requestId}` : ''}${awsMessage ? `: ${awsMessage}` : ''}`,
  ];
  if (name === 'NotFoundException' || name === 'InvalidArnException') {
    return new KeyError('KEY_UNKNOWN', `${where} does not exist, or is not visible to these credentials in this region`, details);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new KeyError(
      'KEY_INVALID',
      `access denied to ${where}: the AWS identity in use needs kms:GetPublicKey and kms:Sign on the key (key policy or IAM policy)`,
      details,
    );
  }
  if (name === 'DisabledException') {
    return new KeyError('KEY_INVALID', `${where} is disabled; enable it to sign`, details);
  }
  if (name === 'KMSInvalidStateException') {
    return new KeyError('KEY_INVALID', `${where} cannot be used in its current state (pending deletion or import?)`, details);
  }
  if (name === 'InvalidKeyUsageException' || name === 'UnsupportedOperationException') {
    return new KeyError('KEY_UNSUPPORTED', `${where} cannot sign with the algorithm of its TUF scheme`, details);
  }
  if (name === 'CredentialsProviderError') {
    return new KeyError(
      'KEY_INVALID',
      `no AWS credentials for ${where}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or assume a role (e.g. GitHub OIDC)`,
      [`${name}: ${awsMessage}`],
    );
  }
  if (CREDENTIAL_REJECTED.has(name)) {
    return new KeyError(
      'KEY_INVALID',
      `AWS rejected the credentials used for ${where} (invalid, expired or for another partition)`,
      details,
    );
  }
  if (name === 'TimeoutError' || name === 'AbortError' || (code !== undefined && NETWORK_ERROR_CODES.has(code))) {
    return new TufctlError('IO_FAILED', `cannot reach AWS KMS (${code ?? name}) for ${key}`, details);
  }
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500)) {
    return new TufctlError('IO_FAILED', `AWS KMS is unavailable or throttling requests for ${key}; try again later`, details);
  }
  if (name === 'ValidationException') {
    return new KeyError('KEY_INVALID', `AWS KMS refused the ${operation} request for ${key}`, details);
  }
  return new KeyError('KEY_INVALID', `AWS KMS ${operation} failed for ${key}`, details);
}

/** A signer whose private key never leaves AWS KMS. */
export class AwsKmsSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  /** The key ARN KMS reported (aliases resolved at creation; every signature uses this key). */
  readonly keyArn: string;
  readonly region: string;
  readonly #client: KMSClient;
  readonly #sdk: KmsModule;
  readonly #algorithm: Algorithm;
  readonly #target: Target;

  private constructor(fields: {
    client: KMSClient;
    sdk: KmsModule;
    publicKey: TufKeyJSON;
    algorithm: Algorithm;
    keyArn: string;
    source: string;
    target: Target;
  }) {
    this.#client = fields.client;
    this.#sdk = fields.sdk;
    this.#algorithm = fields.algorithm;
    this.#target = fields.target;
    this.publicKey = fields.publicKey;
    this.keyId = keyIdOf(fields.publicKey);
    this.keyArn = fields.keyArn;
    this.region = fields.target.region;
    this.source = fields.source;
  }

  /**
   * Connects to KMS and fetches the public key of `keyRef` (key ARN, key id,
   * alias/NAME or alias ARN). Throws KeyError/TufctlError with a clear message
   * when the key is missing, inaccessible, disabled, not a signing key, or of
   * a kind TUF cannot use.
   */
  static async create(keyRef: string, options: AwsKmsOptions = {}): Promise<AwsKmsSigner> {
    checkKeyRef(keyRef);
    const env = options.env ?? process.env;
    const region = resolveRegion(keyRef, options, env);
    const endpoint = resolveEndpoint(options, env);
    const target: Target = { keyRef, region, endpoint };
    const sdk = await loadKms();
    const client = new sdk.KMSClient({
      region,
      ...(endpoint ? { endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        // Without this the SDK only logs a warning when requestTimeout passes.
        throwOnRequestTimeout: true,
      },
    });
    try {
      const out = await client.send(new sdk.GetPublicKeyCommand({ KeyId: keyRef })).catch((error: unknown) => {
        throw kmsFailure(error, 'GetPublicKey', target);
      });
      const where = `AWS KMS key ${keyRef}`;
      if (out.KeyUsage !== 'SIGN_VERIFY') {
        throw new KeyError('KEY_UNSUPPORTED', `${where} has key usage ${out.KeyUsage ?? 'unknown'}; TUF needs a SIGN_VERIFY key`);
      }
      if (!out.PublicKey || out.PublicKey.length === 0) throw new KeyError('KEY_INVALID', `${where}: GetPublicKey returned no public key`);
      let publicKey: TufKeyJSON;
      try {
        publicKey = tufKeyFromPublicKey(createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' }));
      } catch (error) {
        if (error instanceof KeyError) {
          throw new KeyError(error.code, `${where} (${out.KeySpec ?? 'unknown key spec'}): ${error.message}`);
        }
        throw new KeyError('KEY_INVALID', `${where}: GetPublicKey returned an unreadable public key`);
      }
      const algorithm = ALGORITHMS[publicKey.scheme];
      if (!algorithm) throw new KeyError('KEY_UNSUPPORTED', `${where}: no KMS signing algorithm for TUF scheme ${publicKey.scheme}`);
      if (out.SigningAlgorithms && !out.SigningAlgorithms.includes(algorithm.kms)) {
        throw new KeyError(
          'KEY_UNSUPPORTED',
          `${where} does not offer ${algorithm.kms} (offers ${out.SigningAlgorithms.join(', ') || 'none'}), which TUF scheme ${publicKey.scheme} needs`,
        );
      }
      return new AwsKmsSigner({
        client,
        sdk,
        publicKey,
        algorithm,
        keyArn: out.KeyId || keyRef,
        source: options.source ?? `awskms:${keyRef}`,
        target,
      });
    } catch (error) {
      client.destroy();
      throw error;
    }
  }

  /** Signs `data` in KMS; returns the signature as hex (ECDSA: DER, RSA-PSS: salt length 32, Ed25519: 64 bytes). */
  async sign(data: Uint8Array): Promise<string> {
    const algorithm = this.#algorithm;
    // KMS takes 1 to 4096 bytes RAW; anything else is signed as its digest.
    const raw = data.byteLength > 0 && data.byteLength <= KMS_RAW_MESSAGE_LIMIT;
    if (!raw && !algorithm.hash) {
      throw new KeyError(
        'KEY_UNSUPPORTED',
        `${this.source}: KMS signs 1 to ${KMS_RAW_MESSAGE_LIMIT} bytes with ${algorithm.kms} (this message has ${data.byteLength}); ` +
          'use an ECDSA or RSA KMS key for metadata this large',
      );
    }
    const message = raw ? data : createHash(algorithm.hash!).update(data).digest();
    const command = new this.#sdk.SignCommand({
      KeyId: this.keyArn,
      Message: message,
      MessageType: raw ? 'RAW' : 'DIGEST',
      SigningAlgorithm: algorithm.kms,
    });
    const out = await this.#client.send(command).catch((error: unknown) => {
      throw kmsFailure(error, 'Sign', this.#target);
    });
    if (!out.Signature || out.Signature.length === 0) throw new KeyError('KEY_INVALID', `${this.source}: KMS returned no signature`);
    return checkedRemoteSignature(this.publicKey, data, Buffer.from(out.Signature).toString('hex'), this.source, 'KMS');
  }

  /** Closes the SDK client's connections. */
  destroy(): void {
    this.#client.destroy();
  }

  /** Keeps the client and its configuration out of logs and JSON dumps. */
  toJSON(): { keyId: string; source: string; keyArn: string } {
    return { keyId: this.keyId, source: this.source, keyArn: this.keyArn };
  }
}

/**
 * A `Signer` over an asymmetric Google Cloud KMS key version, through Google's
 * official Node client (`@google-cloud/kms`).
 *
 * The client is imported lazily (`await import(...)`) the first time a GCP KMS
 * signer is created: it takes about 200 ms to load, which no other command
 * should pay. This module only imports its types statically.
 *
 * The client talks to Cloud KMS over its REST transport (`fallback: true`:
 * JSON over HTTP/1.1, the same API as `https://cloudkms.googleapis.com/v1/…`)
 * instead of gRPC: one transport in production and in the tests, through
 * proxies and firewalls that pass HTTPS, and pointable at a KMS-compatible
 * endpoint (`TUFCTL_GCP_KMS_ENDPOINT`).
 *
 * Creation calls `GetPublicKey` once (PEM → TUF key; the algorithm, the
 * resource name and `pemCrc32c` checked); `sign` calls `AsymmetricSign` with
 * the digest of the key's algorithm (SHA-256 for P-256 and RSA-PSS, SHA-384
 * for P-384) or, for Ed25519, the data itself, each with its CRC32C. Cloud
 * KMS returns ECDSA signatures DER-encoded, as TUF stores them; every
 * response's `signatureCrc32c`, `verifiedDigestCrc32c` and `name` are checked
 * and every signature is verified locally before it is returned.
 *
 * Credentials come from Application Default Credentials: the file named by
 * GOOGLE_APPLICATION_CREDENTIALS (in GitHub Actions an `external_account`
 * file written by google-github-actions/auth: workload identity federation
 * through GitHub's OIDC token), gcloud's application default credentials, or
 * the metadata server. They are never part of any message.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { KeyError, TufctlError } from '../errors.js';
import { crc32c } from './crc32c.js';
import type { Signer } from './signer.js';
import {
  checkedRemoteSignature,
  cleanServiceMessage,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  lazyImport,
  NETWORK_ERROR_CODES,
  type RemoteSignerOptions,
  secureEndpointUrl,
} from './remote-signer.js';
import { type TufKeyJSON, keyIdOf, tufKeyFromPublicKey } from './tuf-key.js';

/** Environment variable naming a Cloud KMS endpoint URL (tests, Private Service Connect, regional endpoints). */
export const GCP_KMS_ENDPOINT_ENV = 'TUFCTL_GCP_KMS_ENDPOINT';

/** `projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`: what `gcpkms:` URIs name. */
export const GCP_KEY_VERSION_NAME =
  /^projects\/[^/\s]+\/locations\/[^/\s]+\/keyRings\/[^/\s]+\/cryptoKeys\/[^/\s]+\/cryptoKeyVersions\/[^/\s]+$/;

type ClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;

/**
 * `env` is where GOOGLE_APPLICATION_CREDENTIALS and TUFCTL_GCP_KMS_ENDPOINT are read; `requestTimeoutMs` limits one
 * call (credential exchange included); network errors, timeouts, HTTP 429 and 5xx are retried; `source` defaults to
 * `gcpkms:<key version name>`.
 */
export interface GcpKmsOptions extends RemoteSignerOptions {
  /** Cloud KMS endpoint URL; default TUFCTL_GCP_KMS_ENDPOINT, else the client's (https://cloudkms.googleapis.com). */
  endpoint?: string;
  /**
   * A google-auth-library client (or GoogleAuth) for library callers; default: the credentials file in
   * GOOGLE_APPLICATION_CREDENTIALS, else Application Default Credentials.
   */
  authClient?: ClientOptions['authClient'];
  /** Delay before the first retry in milliseconds, doubled for each further one (default 250). */
  retryDelayMs?: number;
}

interface Algorithm {
  /** The TUF scheme the key signs for. */
  scheme: string;
  /** Digest sent to AsymmetricSign; none for pure Ed25519, which signs the data itself. */
  hash?: 'sha256' | 'sha384';
  /** RSA modulus length the algorithm implies. */
  bits?: number;
}

/** Cloud KMS CryptoKeyVersionAlgorithm → TUF scheme (the ones TUF clients verify). */
const ALGORITHMS: Record<string, Algorithm> = {
  EC_SIGN_P256_SHA256: { scheme: 'ecdsa-sha2-nistp256', hash: 'sha256' },
  EC_SIGN_P384_SHA384: { scheme: 'ecdsa-sha2-nistp384', hash: 'sha384' },
  RSA_SIGN_PSS_2048_SHA256: { scheme: 'rsassa-pss-sha256', hash: 'sha256', bits: 2048 },
  RSA_SIGN_PSS_3072_SHA256: { scheme: 'rsassa-pss-sha256', hash: 'sha256', bits: 3072 },
  RSA_SIGN_PSS_4096_SHA256: { scheme: 'rsassa-pss-sha256', hash: 'sha256', bits: 4096 },
  EC_SIGN_ED25519: { scheme: 'ed25519' },
};

/** The TUF scheme a Cloud KMS algorithm signs for, or undefined when tufctl cannot use it. */
export function gcpKmsSchemeFor(algorithm: string): string | undefined {
  return ALGORITHMS[algorithm]?.scheme;
}

type KmsModule = typeof import('@google-cloud/kms');

/** The client library, loaded on first use only. */
const loadKms = lazyImport<KmsModule>(() => import('@google-cloud/kms'), 'the Google Cloud KMS client (@google-cloud/kms)');

/** Where a call went, for messages. */
interface Target {
  name: string;
  endpoint: string | undefined;
}

interface Endpoint {
  /** For messages: the origin. */
  origin: string;
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
}

function resolveEndpoint(options: GcpKmsOptions, env: NodeJS.ProcessEnv): Endpoint | undefined {
  const endpoint = options.endpoint || env[GCP_KMS_ENDPOINT_ENV] || undefined;
  if (endpoint === undefined) return undefined;
  const url = secureEndpointUrl(endpoint, 'GCP KMS');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username || url.password) {
    throw new TufctlError('CONFIG_INVALID', `GCP KMS endpoint ${JSON.stringify(endpoint)}: give scheme, host and port only`);
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    origin: url.origin,
    apiEndpoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

/**
 * A fetch for the client's HTTP layer with a hard deadline per request that
 * also covers reading the (small) body: gaxios' own `timeout` relies on
 * AbortSignal.any, whose timer does not reliably fire on Node 20.
 */
function fetchWithDeadline(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const outer = init?.signal ?? undefined;
    const forward = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) forward();
    else outer?.addEventListener('abort', forward, { once: true });
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${timeoutMs} ms`);
      error.name = 'TimeoutError';
      controller.abort(error);
    }, timeoutMs);
    try {
      const response = await fetch(input, { ...init, signal: controller.signal });
      const body = await response.arrayBuffer();
      const empty = [101, 204, 205, 304].includes(response.status);
      return new Response(empty ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
    }
  };
}

/** Google's message without anything shaped like a token, cut to a readable length. */
function sanitize(message: string): string {
  return cleanServiceMessage(message, [
    /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, // JWTs (OIDC, STS)
    /\bya29\.[A-Za-z0-9._-]+/g, // OAuth access tokens
    /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi,
  ]);
}

/** What is known about a failed call, from a gaxios/google-gax/google-auth-library error. */
interface Failure {
  /** HTTP status of the answer, if there was one. */
  httpStatus?: number;
  /** google.rpc status name (PERMISSION_DENIED, NOT_FOUND, ...) or OAuth error (invalid_grant, ...). */
  status?: string;
  /** Node / undici error code (ECONNREFUSED, ...). */
  code?: string;
  /** TimeoutError, AbortError, GaxiosError, ... */
  name: string;
  message: string;
  /** The failing request's origin. */
  origin?: string;
  /** No answer: the connection failed (fetch failed), with the innermost reason. */
  network?: string;
}

/** An integrity check of a Cloud KMS response failed (retried like a transport error). */
class IntegrityError extends Error {
  override name = 'IntegrityError';
}

const GRPC_STATUS: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

function describe(error: unknown): Failure {
  const e = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    status?: unknown;
    message?: unknown;
    cause?: unknown;
    error?: unknown;
    config?: { url?: unknown };
    response?: { status?: unknown; data?: unknown };
  };
  const failure: Failure = { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : '' };
  const status = typeof e.response?.status === 'number' ? e.response.status : typeof e.status === 'number' ? e.status : undefined;
  if (status !== undefined) failure.httpStatus = status;
  if (typeof e.code === 'string') failure.code = e.code;
  else if (typeof e.code === 'number' && status === undefined && GRPC_STATUS[e.code]) failure.status = GRPC_STATUS[e.code]; // google-gax GoogleError
  // A network failure carries the socket error code further down (gaxios error → fetch TypeError → socket error).
  let inner: unknown = e.cause ?? e.error;
  for (let depth = 0; inner && typeof inner === 'object' && depth < 5; depth++) {
    const next = inner as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown[] };
    if (!failure.code && typeof next.code === 'string') failure.code = next.code;
    if (next.name === 'TimeoutError' || next.name === 'AbortError') failure.name = next.name;
    const message = (next as { message?: unknown }).message;
    if (typeof message === 'string' && (message === 'fetch failed' || failure.network !== undefined)) failure.network = message;
    inner = next.cause ?? (Array.isArray(next.errors) ? next.errors[0] : undefined);
  }
  if (typeof e.config?.url === 'string' || e.config?.url instanceof URL) {
    try {
      failure.origin = new URL(String(e.config.url)).origin;
    } catch {
      // not a URL: leave the origin out
    }
  }
  // Google APIs answer {"error": {"code", "message", "status"}}; OAuth endpoints {"error", "error_description"}.
  const body = typeof e.response?.data === 'string' ? e.response.data : failure.message;
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    if (parsed.error && typeof parsed.error === 'object') {
      const inner = parsed.error as { message?: unknown; status?: unknown };
      if (typeof inner.status === 'string') failure.status = inner.status;
      if (typeof inner.message === 'string') failure.message = inner.message;
    } else if (typeof parsed.error === 'string') {
      failure.status = parsed.error;
      if (typeof parsed.error_description === 'string') failure.message = parsed.error_description;
    }
  } catch {
    // not JSON (an HTML error page, a plain message): keep the message
  }
  if (/^Error code (\S+): (.*)$/s.test(failure.message)) {
    // google-auth-library's form of OAuth errors from the token exchange
    const [, oauth, text] = /^Error code (\S+): (.*)$/s.exec(failure.message)!;
    failure.status ??= oauth;
    failure.message = text!;
  }
  return failure;
}

function retryable(failure: Failure, error: unknown): boolean {
  if (error instanceof IntegrityError) return true;
  if (failure.name === 'TimeoutError' || failure.name === 'AbortError') return true;
  if ((failure.code !== undefined && NETWORK_ERROR_CODES.has(failure.code)) || failure.network !== undefined) return true;
  if (failure.httpStatus !== undefined) return failure.httpStatus === 429 || failure.httpStatus >= 500;
  return failure.status === 'UNAVAILABLE' || failure.status === 'RESOURCE_EXHAUSTED' || failure.status === 'DEADLINE_EXCEEDED';
}

/** Turns a client failure into a KeyError (or TufctlError) saying what to do; never includes credentials. */
export function gcpKmsFailure(error: unknown, operation: 'GetPublicKey' | 'AsymmetricSign', target: Target): TufctlError {
  if (error instanceof TufctlError) return error;
  const failure = describe(error);
  const where = `GCP KMS key version ${target.name}${target.endpoint ? ` (endpoint ${target.endpoint})` : ''}`;
  const text = sanitize(failure.message);
  const details = [
    `cloudkms ${operation} failed: ${failure.status ?? failure.code ?? failure.name}` +
      `${failure.httpStatus ? ` (HTTP ${failure.httpStatus})` : ''}${text ? `: ${text}` : ''}`,
  ];
  if (error instanceof IntegrityError) {
    return new TufctlError('IO_FAILED', `${where}: the ${operation} response failed its integrity check after retries`, details);
  }
  const timedOut = failure.name === 'TimeoutError' || failure.name === 'AbortError';
  const network = (failure.code !== undefined && NETWORK_ERROR_CODES.has(failure.code)) || failure.network !== undefined;
  const reason = failure.code ?? (failure.network !== undefined && failure.network !== 'fetch failed' ? failure.network : 'network error');
  // A failure of the credential exchange (OIDC token, STS, service account impersonation) rather than of KMS:
  // a request to another origin, or an error of google-auth-library before any request.
  const kmsOrigin = target.endpoint ?? 'https://cloudkms.googleapis.com';
  const credentialPhase =
    failure.origin !== undefined
      ? failure.origin !== kmsOrigin
      : failure.httpStatus === undefined && !timedOut && !network && /credential|token|auth|JWT|ENOENT|client_email/i.test(failure.message);
  if (credentialPhase && (timedOut || network)) {
    return new TufctlError(
      'IO_FAILED',
      `cannot reach ${failure.origin ?? 'the Google credential endpoint'} (${timedOut ? 'timed out' : reason}) to obtain credentials for ${where}`,
      details,
    );
  }
  if (credentialPhase) {
    return new KeyError(
      'KEY_INVALID',
      `cannot obtain Google Cloud credentials for ${where}` +
        `${failure.origin ? ` (${failure.origin} answered ${failure.httpStatus ?? failure.name}${failure.status ? ` ${failure.status}` : ''})` : ''}: ` +
        'set GOOGLE_APPLICATION_CREDENTIALS (in GitHub Actions: google-github-actions/auth with workload identity federation) ' +
        'or run `gcloud auth application-default login`',
      details,
    );
  }
  if (timedOut) return new TufctlError('IO_FAILED', `cannot reach Cloud KMS (timed out) for ${where}`, details);
  if (network) return new TufctlError('IO_FAILED', `cannot reach Cloud KMS (${reason}) for ${where}`, details);
  const status = failure.status ?? (failure.httpStatus !== undefined ? HTTP_STATUS[failure.httpStatus] : undefined);
  switch (status) {
    case 'NOT_FOUND':
      return new KeyError('KEY_UNKNOWN', `${where} does not exist`, details);
    case 'PERMISSION_DENIED':
      return new KeyError(
        'KEY_INVALID',
        `permission denied for ${where} (or it does not exist): the identity in use needs cloudkms.cryptoKeyVersions.viewPublicKey ` +
          'and cloudkms.cryptoKeyVersions.useToSign on the key (roles/cloudkms.signerVerifier)',
        details,
      );
    case 'UNAUTHENTICATED':
      return new KeyError('KEY_INVALID', `Google Cloud rejected the credentials used for ${where} (invalid or expired)`, details);
    case 'FAILED_PRECONDITION':
      return new KeyError('KEY_INVALID', `${where} cannot sign in its current state (disabled, destroyed or not yet generated?)`, details);
    case 'INVALID_ARGUMENT':
      return new KeyError('KEY_INVALID', `Cloud KMS refused the ${operation} request for ${where}`, details);
    case 'UNIMPLEMENTED':
      return new KeyError('KEY_UNSUPPORTED', `Cloud KMS cannot ${operation} with ${where}`, details);
    case 'UNAVAILABLE':
    case 'RESOURCE_EXHAUSTED':
    case 'INTERNAL':
    case 'DEADLINE_EXCEEDED':
      return new TufctlError('IO_FAILED', `Cloud KMS is unavailable or throttling requests for ${where}; try again later`, details);
  }
  if (failure.httpStatus !== undefined && failure.httpStatus >= 500) {
    return new TufctlError('IO_FAILED', `Cloud KMS is unavailable for ${where}; try again later`, details);
  }
  return new KeyError('KEY_INVALID', `Cloud KMS ${operation} failed for ${where}`, details);
}

const HTTP_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Int64Value fields arrive as `{ value: "123" }` (or a plain number/string); undefined when absent. */
function int64Of(field: unknown): number | undefined {
  const value = field !== null && typeof field === 'object' && 'value' in field ? (field as { value: unknown }).value : field;
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A signer whose private key never leaves Google Cloud KMS. */
export class GcpKmsSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  /** The key version's resource name (every signature is made with it). */
  readonly name: string;
  /** The key version's algorithm as Cloud KMS reports it, e.g. EC_SIGN_P256_SHA256. */
  readonly algorithm: string;
  readonly #client: KeyManagementServiceClient;
  readonly #algorithm: Algorithm;
  readonly #target: Target;
  readonly #attempts: number;
  readonly #retryDelayMs: number;
  readonly #timeoutMs: number;

  private constructor(fields: {
    client: KeyManagementServiceClient;
    publicKey: TufKeyJSON;
    algorithmName: string;
    algorithm: Algorithm;
    source: string;
    target: Target;
    attempts: number;
    retryDelayMs: number;
    timeoutMs: number;
  }) {
    this.#client = fields.client;
    this.#algorithm = fields.algorithm;
    this.#target = fields.target;
    this.#attempts = fields.attempts;
    this.#retryDelayMs = fields.retryDelayMs;
    this.#timeoutMs = fields.timeoutMs;
    this.publicKey = fields.publicKey;
    this.keyId = keyIdOf(fields.publicKey);
    this.name = fields.target.name;
    this.algorithm = fields.algorithmName;
    this.source = fields.source;
  }

  /**
   * Connects to Cloud KMS and fetches the public key of the key version `name`
   * (`projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`).
   * Throws KeyError/TufctlError with a clear message when the key version is
   * missing, inaccessible, disabled, or of an algorithm TUF cannot use.
   */
  static async create(name: string, options: GcpKmsOptions = {}): Promise<GcpKmsSigner> {
    if (!GCP_KEY_VERSION_NAME.test(name)) {
      throw new KeyError(
        'KEY_INVALID',
        `invalid GCP KMS key version ${JSON.stringify(name)}: expected projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`,
      );
    }
    const env = options.env ?? process.env;
    const endpoint = resolveEndpoint(options, env);
    const target: Target = { name, endpoint: endpoint?.origin };
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const clientOptions: ClientOptions = {
      fallback: true, // REST (JSON over HTTP/1.1) rather than gRPC
      ...(endpoint ? { apiEndpoint: endpoint.apiEndpoint, port: endpoint.port, protocol: endpoint.protocol } : {}),
      clientOptions: { transporterOptions: { fetchImplementation: fetchWithDeadline(timeoutMs) } },
    } as ClientOptions;
    if (options.authClient) {
      clientOptions.authClient = options.authClient;
    } else {
      const file = env.GOOGLE_APPLICATION_CREDENTIALS;
      if (file !== undefined && file !== '') {
        if (!existsSync(file)) {
          throw new KeyError(
            'KEY_INVALID',
            `GOOGLE_APPLICATION_CREDENTIALS names ${file}, which does not exist (for ${`GCP KMS key version ${name}`})`,
          );
        }
        clientOptions.keyFilename = file;
      }
    }
    const sdk = await loadKms();
    const Client = sdk.KeyManagementServiceClient ?? (sdk as unknown as { default: KmsModule }).default.KeyManagementServiceClient;
    const client = new Client(clientOptions);
    const retry = { attempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS };
    // Resolve the credentials first: every client method starts a floating initialize() that rethrows its
    // failure as an unhandled rejection, so no method may run (and close() may not either) if it fails.
    await callWithRetries('GetPublicKey', target, 1, 0, timeoutMs, () => client.initialize());
    try {
      const where = `GCP KMS key version ${name}`;
      const out = await callWithRetries('GetPublicKey', target, retry.attempts, retry.retryDelayMs, timeoutMs, async () => {
        const [answer] = await client.getPublicKey({ name });
        if (answer.name && answer.name !== name) {
          throw new KeyError('KEY_INVALID', `${where}: GetPublicKey answered for another key version (${answer.name})`);
        }
        const pem = answer.pem ?? '';
        const expected = int64Of(answer.pemCrc32c);
        if (expected !== undefined && expected !== crc32c(pem)) throw new IntegrityError('pemCrc32c does not match the PEM');
        return answer;
      });
      const algorithmName = String(out.algorithm ?? 'unknown');
      const algorithm = ALGORITHMS[algorithmName];
      if (!algorithm) {
        throw new KeyError(
          'KEY_UNSUPPORTED',
          `${where} has algorithm ${algorithmName}, which TUF cannot use; ` +
            `use one of ${Object.keys(ALGORITHMS).join(', ')} (EC_SIGN_P256_SHA256 recommended)`,
        );
      }
      if (!out.pem) throw new KeyError('KEY_INVALID', `${where}: GetPublicKey returned no public key`);
      let publicKey: TufKeyJSON;
      let bits: number | undefined;
      try {
        const keyObject = createPublicKey(out.pem);
        bits = keyObject.asymmetricKeyDetails?.modulusLength;
        publicKey = tufKeyFromPublicKey(keyObject);
      } catch (error) {
        if (error instanceof KeyError) throw new KeyError(error.code, `${where} (${algorithmName}): ${error.message}`);
        throw new KeyError('KEY_INVALID', `${where}: GetPublicKey returned an unreadable public key`);
      }
      if (publicKey.scheme !== algorithm.scheme || (algorithm.bits !== undefined && bits !== algorithm.bits)) {
        throw new KeyError('KEY_INVALID', `${where}: the public key does not match its algorithm ${algorithmName}`);
      }
      return new GcpKmsSigner({
        client,
        publicKey,
        algorithmName,
        algorithm,
        source: options.source ?? `gcpkms:${name}`,
        target,
        timeoutMs,
        ...retry,
      });
    } catch (error) {
      void client.close().catch(() => {});
      throw error;
    }
  }

  /** Signs `data` in Cloud KMS; returns the signature as hex (ECDSA: DER, RSA-PSS: salt length 32, Ed25519: 64 bytes). */
  async sign(data: Uint8Array): Promise<string> {
    const message = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const algorithm = this.#algorithm;
    const request = algorithm.hash
      ? (() => {
          const digest = createHash(algorithm.hash).update(message).digest();
          return { name: this.name, digest: { [algorithm.hash]: digest }, digestCrc32c: { value: crc32c(digest) } };
        })()
      : { name: this.name, data: message, dataCrc32c: { value: crc32c(message) } };
    const out = await callWithRetries('AsymmetricSign', this.#target, this.#attempts, this.#retryDelayMs, this.#timeoutMs, async () => {
      const [answer] = await this.#client.asymmetricSign(request);
      if (algorithm.hash ? answer.verifiedDigestCrc32c !== true : answer.verifiedDataCrc32c !== true) {
        throw new IntegrityError(`Cloud KMS did not confirm the ${algorithm.hash ? 'digest' : 'data'} checksum`);
      }
      if (answer.name && answer.name !== this.name) {
        throw new KeyError('KEY_INVALID', `${this.source}: Cloud KMS signed with another key version (${answer.name})`);
      }
      const signature = answer.signature ? Buffer.from(answer.signature as Uint8Array) : Buffer.alloc(0);
      const expected = int64Of(answer.signatureCrc32c);
      if (expected !== undefined && expected !== crc32c(signature))
        throw new IntegrityError('signatureCrc32c does not match the signature');
      return signature;
    });
    if (out.length === 0) throw new KeyError('KEY_INVALID', `${this.source}: Cloud KMS returned no signature`);
    return checkedRemoteSignature(this.publicKey, message, out.toString('hex'), this.source, 'Cloud KMS');
  }

  /** Closes the client's connections. */
  destroy(): void {
    void this.#client.close().catch(() => {});
  }

  /** Keeps the client and its configuration out of logs and JSON dumps. */
  toJSON(): { keyId: string; source: string; name: string; algorithm: string } {
    return { keyId: this.keyId, source: this.source, name: this.name, algorithm: this.algorithm };
  }
}

/** One call with a deadline per attempt and retries (with doubling delays) for transient failures. */
async function callWithRetries<T>(
  operation: 'GetPublicKey' | 'AsymmetricSign',
  target: Target,
  attempts: number,
  retryDelayMs: number,
  timeoutMs: number,
  call: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let timer: NodeJS.Timeout | undefined;
    try {
      // The fetch deadline ends a hanging KMS request; this one also bounds the credential exchange.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new Error(`no answer within ${timeoutMs} ms`);
          error.name = 'TimeoutError';
          reject(error);
        }, timeoutMs + 250);
      });
      return await Promise.race([call(), deadline]);
    } catch (error) {
      if (error instanceof TufctlError || attempt >= attempts || !retryable(describe(error), error)) {
        throw gcpKmsFailure(error, operation, target);
      }
      await delay(retryDelayMs * 2 ** (attempt - 1));
    } finally {
      clearTimeout(timer);
    }
  }
}

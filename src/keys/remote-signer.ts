/**
 * What the signers over remote key services (AWS KMS, Google Cloud KMS, Azure
 * Key Vault) share: loading their client libraries on first use, the rules for
 * an endpoint override, the network failures that mean "cannot reach it",
 * service messages cut and cleaned for an error line, and the local check of
 * every signature a service returns.
 */
import { TufctlError, KeyError } from '../errors.js';
import { type TufKeyJSON, verifyWithKey } from './tuf-key.js';

/** Options every remote signer takes. */
export interface RemoteSignerOptions {
  /** Where the signer's environment variables are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Time limit of one call in milliseconds (default 10000). */
  requestTimeoutMs?: number;
  /** Attempts per call including the first (default 3). */
  maxAttempts?: number;
  /** How messages name the signer. */
  source?: string;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_MS = 250;

/** Error codes (Node and undici) that mean the service could not be reached, as opposed to refusing the request. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * A loader that imports a client library the first time it is called (they
 * take 100-300 ms to load, which no other command should pay) and turns a
 * failure into KEY_UNSUPPORTED naming `what`; a failed load is retried on the
 * next call.
 */
export function lazyImport<T>(load: () => Promise<T>, what: string): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw new KeyError('KEY_UNSUPPORTED', `cannot load ${what}: ${(error as Error).message}`);
    });
    return loading;
  };
}

/** Whether a URL's hostname is this machine. */
export function isLoopbackHost(hostname: string): boolean {
  return ['127.0.0.1', '[::1]', 'localhost'].includes(hostname);
}

/**
 * Parses an endpoint override for `service`: https anywhere, plain http only
 * on loopback, since plain http would expose the service's credentials (bearer
 * or session tokens) to the network.
 */
export function secureEndpointUrl(endpoint: string, service: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TufctlError('CONFIG_INVALID', `${service} endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new TufctlError('CONFIG_INVALID', `${service} endpoint ${url.origin} must use https (plain http only on loopback)`);
  }
  return url;
}

/** A service's message for an error line: `secrets` replaced by [redacted], whitespace collapsed, cut to 300 characters. */
export function cleanServiceMessage(message: string, secrets: readonly RegExp[]): string {
  let clean = message;
  for (const secret of secrets)
    clean = clean.replace(secret, (match, keep: unknown) => (typeof keep === 'string' ? `${keep} [redacted]` : '[redacted]'));
  clean = clean.replace(/\s+/g, ' ').trim();
  return clean.length > 300 ? `${clean.slice(0, 297)}...` : clean;
}

/**
 * Returns `signature` (hex) when it verifies over `message` with the key's
 * public key: a wrong key, algorithm or encoding must fail here, not in every
 * client. `service` names who returned it.
 */
export function checkedRemoteSignature(
  publicKey: TufKeyJSON,
  message: Uint8Array,
  signature: string,
  source: string,
  service: string,
): string {
  if (!verifyWithKey(publicKey, Buffer.from(message.buffer, message.byteOffset, message.byteLength), signature)) {
    throw new KeyError('KEY_INVALID', `${source}: the signature ${service} returned does not verify with the key's public key`);
  }
  return signature;
}

/**
 * HTTP for the registry client: one exchange with a deadline (headers and
 * body), redirects followed by hand so credentials never leave the
 * registry's origin, and the retry policy (exponential backoff with jitter,
 * Retry-After honoured). Knows nothing about OCI or authentication.
 */

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Refuse (BodyTooLarge) a 2xx body larger than this. */
  maxBytes?: number;
  /** Sent only while the URL's origin is this origin (never to a redirect target elsewhere). */
  authorization?: { origin: string; value: string };
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: URL;
}

export interface ExchangeOptions {
  timeoutMs: number;
  userAgent: string;
  /** Called once per HTTP request sent (redirect hops included). */
  onRequest?: () => void;
  /** Whether a plain-HTTP URL may be used (redirects to http: are refused otherwise). */
  allowPlainHttp: (url: URL) => boolean;
}

/** The request did not get an answer: network error, reset, refused TLS, or timeout. */
export class NetworkFailure extends Error {
  attempts = 1;
  constructor(
    readonly url: URL,
    readonly reason: string,
    readonly retryable: boolean,
    readonly hint?: string,
  ) {
    super(reason);
  }
}

/** An answer worth retrying: 408, 429 or 5xx. */
export class RetryableStatus extends Error {
  attempts = 1;
  constructor(
    readonly method: string,
    readonly response: HttpResponse,
  ) {
    super(`HTTP ${response.status}`);
  }
}

/** A 2xx body above the caller's limit. */
export class BodyTooLarge extends Error {
  constructor(
    readonly url: URL,
    readonly limit: number,
    readonly size?: number,
  ) {
    super(`body larger than ${limit} bytes`);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** Error bodies are read for their OCI error JSON only. */
const ERROR_BODY_LIMIT = 64 * 1024;

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** One request (following redirects) and its whole body, within `timeoutMs`. */
export async function exchange(request: HttpRequest, options: ExchangeOptions): Promise<HttpResponse> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let url = request.url;
  let method = request.method;
  let body = request.body;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'User-Agent': options.userAgent, ...request.headers };
    if (request.authorization && url.origin === request.authorization.origin) headers.Authorization = request.authorization.value;
    let response: Response;
    options.onRequest?.();
    try {
      response = await fetch(url, { method, headers, body, redirect: 'manual', signal });
    } catch (error) {
      throw networkFailure(url, error, options.timeoutMs);
    }
    const location = response.headers.get('location');
    if (REDIRECTS.has(response.status) && location) {
      await response.body?.cancel().catch(() => {});
      if (hop >= MAX_REDIRECTS) throw new NetworkFailure(url, `more than ${MAX_REDIRECTS} redirects`, false);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && options.allowPlainHttp(next))) {
        throw new NetworkFailure(url, `refusing a redirect to ${next.protocol}//${next.host}`, false);
      }
      if (response.status === 303 && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
      }
      url = next;
      continue;
    }
    try {
      const ok = response.status >= 200 && response.status < 300;
      const data = method === 'HEAD' ? Buffer.alloc(0) : await readBody(response, url, ok ? request.maxBytes : ERROR_BODY_LIMIT, ok);
      return { status: response.status, headers: response.headers, body: data, url };
    } catch (error) {
      if (error instanceof BodyTooLarge) throw error;
      throw networkFailure(url, error, options.timeoutMs);
    }
  }
}

/** Reads a body up to `limit` bytes: beyond it, throws (strict) or truncates. */
async function readBody(response: Response, url: URL, limit: number | undefined, strict: boolean): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (strict && limit !== undefined && Number.isFinite(declared) && declared > limit) {
    await response.body.cancel().catch(() => {});
    throw new BodyTooLarge(url, limit, declared);
  }
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (limit !== undefined && total > limit) {
      await reader.cancel().catch(() => {});
      if (strict) throw new BodyTooLarge(url, limit);
      chunks.push(Buffer.from(value.subarray(0, value.byteLength - (total - limit))));
      break;
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

const TLS_CODE = /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/;

/** Names what went wrong without anything from the request itself (headers may hold credentials). */
function networkFailure(url: URL, error: unknown, timeoutMs: number): NetworkFailure {
  const err = error as { name?: string; message?: string; code?: string; cause?: unknown };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new NetworkFailure(url, `no answer within ${timeoutMs} ms`, true);
  }
  let cause = err;
  while (cause && typeof cause === 'object' && cause.cause && typeof cause.cause === 'object' && !cause.code) {
    cause = cause.cause as typeof err;
  }
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (cause?.name === 'TimeoutError' || cause?.name === 'AbortError')
    return new NetworkFailure(url, `no answer within ${timeoutMs} ms`, true);
  if (code && TLS_CODE.test(code)) {
    const hint = url.protocol === 'https:' ? 'if the registry serves plain HTTP, allow it explicitly (plainHttp)' : undefined;
    return new NetworkFailure(url, `TLS failed (${code})`, false, hint);
  }
  if (code === 'ENOTFOUND') return new NetworkFailure(url, `host ${url.hostname} not found (DNS)`, false);
  const described: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed while sending',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    UND_ERR_SOCKET: 'connection closed by the server',
    UND_ERR_CLOSED: 'connection closed',
  };
  const reason = (code && described[code]) ?? (code ? `network error ${code}` : `network error: ${cause?.message ?? String(error)}`);
  return new NetworkFailure(url, reason, true);
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this ends the retries at once. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseDelayMs: 200, maxDelayMs: 3_000, maxRetryAfterMs: 60_000 };

/**
 * Runs `attempt` until it succeeds, retrying NetworkFailure (when retryable)
 * and RetryableStatus with exponential backoff and jitter; a Retry-After
 * header sets the delay. The final error carries the number of attempts.
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = error instanceof NetworkFailure ? error.retryable : error instanceof RetryableStatus;
      if (error instanceof NetworkFailure || error instanceof RetryableStatus) error.attempts = n + 1;
      if (!retryable || n >= policy.retries) throw error;
      let delay = backoffDelay(policy, n);
      if (error instanceof RetryableStatus) {
        const after = parseRetryAfter(error.response.headers.get('retry-after'));
        if (after !== undefined) {
          if (after > policy.maxRetryAfterMs) throw error;
          delay = after + Math.floor(Math.random() * 100);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** base·2^n capped at maxDelay, then a random point in its upper half ("equal jitter"). */
export function backoffDelay(policy: RetryPolicy, n: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
  return Math.floor(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

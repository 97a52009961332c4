/**
 * A tuf-js fetcher for a static HTTP(S) mirror (what `tufctl export`
 * writes): every response body is streamed and cut at the length tuf-js
 * allows (http.ts), retried as registry requests are, redirects to plain
 * HTTP refused unless allowed.
 */
import { TufctlError } from '../errors.js';
import {
  BodyTooLarge,
  DEFAULT_RETRY_POLICY,
  exchange,
  isRetryableStatus,
  NetworkFailure,
  RetryableStatus,
  withRetries,
  type HttpResponse,
} from '../oci/http.js';
import { metadataKindOf, ResponseTooLargeError } from '../oci/limits.js';
import { BoundedFetcher, httpError } from './tuf-js-fetch.js';

export interface MirrorFetcherOptions {
  /** The mirror's metadata URL (`…/metadata`): files under it are metadata, the rest targets. */
  metadataBaseUrl: string;
  /** Whether a plain-HTTP URL may be used (loopback, or --plain-http). */
  allowPlainHttp: (url: URL) => boolean;
  timeoutMs?: number;
  retries?: number;
  userAgent?: string;
}

export class MirrorFetcher extends BoundedFetcher {
  readonly #options: MirrorFetcherOptions;

  constructor(options: MirrorFetcherOptions) {
    super();
    this.#options = options;
  }

  protected async download(url: string, maxLength: number): Promise<Buffer | undefined> {
    const target = new URL(url);
    const isMetadata = url.startsWith(`${this.#options.metadataBaseUrl}/`);
    const name = decodeURIComponent(target.pathname.slice(target.pathname.lastIndexOf('/') + 1));
    let response: HttpResponse;
    try {
      response = await withRetries({ ...DEFAULT_RETRY_POLICY, retries: this.#options.retries ?? 2 }, async () => {
        const answer = await exchange(
          { method: 'GET', url: target, maxBytes: maxLength },
          {
            timeoutMs: this.#options.timeoutMs ?? 60_000,
            userAgent: this.#options.userAgent ?? 'tufctl',
            allowPlainHttp: this.#options.allowPlainHttp,
          },
        );
        if (isRetryableStatus(answer.status)) throw new RetryableStatus('GET', answer);
        return answer;
      });
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        const kind = isMetadata ? metadataKindOf(name) : undefined;
        const hint =
          kind === 'snapshot' || kind === 'targets'
            ? 'if the repository really has metadata this large, raise --max-metadata-bytes'
            : kind === undefined
              ? 'the target is larger than its signed length'
              : undefined;
        throw new ResponseTooLargeError(`${name} (${target.origin}${target.pathname})`, maxLength, error.size, hint);
      }
      if (error instanceof NetworkFailure) {
        const attempts = error.attempts > 1 ? ` after ${error.attempts} attempts` : '';
        throw new TufctlError('REGISTRY_UNREACHABLE', `cannot reach mirror ${target.host}${attempts}: ${error.reason}`, [
          `url: ${target.origin}${target.pathname}`,
          ...(error.hint ? [error.hint] : []),
        ]);
      }
      if (error instanceof RetryableStatus) {
        throw httpError(`${target.origin}${target.pathname}: HTTP ${error.response.status}`, error.response.status);
      }
      throw error;
    }
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw httpError(`${target.origin}${target.pathname}: HTTP ${response.status}`, response.status);
    return response.body;
  }
}

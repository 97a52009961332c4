/**
 * What every tuf-js `Fetcher` of tufctl needs: the "not found" error tuf-js
 * recognises (it ends the root-chain walk on a 404 but does not export the
 * class), a stream over bytes already in memory, and a base class whose
 * downloads honour the maximum length tuf-js passes (the length from trusted
 * metadata, or the client's default for the kind of file): the subclass
 * reads at most that many bytes, so a huge response is cut at the cap
 * instead of being read whole.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseFetcher } from 'tuf-js';
import { TufctlError } from '../errors.js';
import { UNKNOWN_LENGTH_LIMIT } from '../oci/limits.js';

const require = createRequire(import.meta.url);
const { DownloadHTTPError } = require('tuf-js/dist/error.js') as {
  DownloadHTTPError: new (message: string, statusCode: number) => Error;
};

/** The error tuf-js treats as "this file does not exist". */
export function notFound(message: string): Error {
  return new DownloadHTTPError(message, 404);
}

/** Any other HTTP answer, as tuf-js expects it. */
export function httpError(message: string, status: number): Error {
  return new DownloadHTTPError(message, status);
}

export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array<ArrayBuffer>> {
  const data = new Uint8Array(bytes);
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(data);
      controller.close();
    },
  });
}

/**
 * A fetcher whose every download is bounded by tuf-js's `maxLength`.
 * tuf-js wraps errors while loading snapshot and targets roles into its own
 * message strings; the first tufctl error a download threw is kept in
 * `failure`, so the client can report it with its code.
 */
export abstract class BoundedFetcher extends BaseFetcher {
  failure: TufctlError | undefined;

  /** The file's bytes, reading at most `maxLength` of them; `undefined` when it does not exist. */
  protected abstract download(url: string, maxLength: number): Promise<Buffer | undefined>;

  async #bytes(url: string, maxLength: number): Promise<Buffer> {
    let bytes: Buffer | undefined;
    try {
      bytes = await this.download(url, maxLength);
    } catch (error) {
      if (error instanceof TufctlError) this.failure ??= error;
      throw error;
    }
    if (!bytes) throw notFound(`not found: ${url}`);
    return bytes;
  }

  override downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    return this.#bytes(url, maxLength);
  }

  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const bytes = await this.#bytes(url, maxLength);
    const dir = await mkdtemp(join(tmpdir(), 'tufctl-fetch-'));
    try {
      const file = join(dir, 'download');
      await writeFile(file, bytes);
      return await handler(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** tuf-js only calls downloadFile and downloadBytes; a plain fetch is bounded by the fetcher's default. */
  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    return streamOf(await this.#bytes(url, UNKNOWN_LENGTH_LIMIT));
  }
}

/**
 * What every tuf-js `Fetcher` of tufctl needs: the "not found" error tuf-js
 * recognises (it ends the root-chain walk on a 404 but does not export the
 * class), and a stream over bytes already in memory.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { DownloadHTTPError } = require('tuf-js/dist/error.js') as {
  DownloadHTTPError: new (message: string, statusCode: number) => Error;
};

/** The error tuf-js treats as "this file does not exist". */
export function notFound(message: string): Error {
  return new DownloadHTTPError(message, 404);
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

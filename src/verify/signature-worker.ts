/**
 * The worker thread of signature-pool.ts: verifies batches of signatures
 * with the same function the main thread uses (`verifyWithKey`).
 */
import { parentPort } from 'node:worker_threads';
import { verifyWithKey } from '../keys/tuf-key.js';
import type { SignatureBatch } from './signature-pool.js';

parentPort!.on('message', (batch: SignatureBatch) => {
  const results = batch.jobs.map((job) => {
    const data = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
    return job.checks.map((check) => verifyWithKey(check.key, data, check.sig));
  });
  parentPort!.postMessage({ id: batch.id, results });
});

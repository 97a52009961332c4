/**
 * Signature verification on worker threads, for repositories with thousands
 * of roles: `verify` hands each role's canonical bytes and signatures to a
 * small pool and goes on reading and checking the next roles while other
 * cores verify (16,384 ed25519 signatures over 200 MB are the largest single
 * cost of verifying a million targets). Each answer is exactly
 * `verifyWithKey(key, data, sig)`, computed in a worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifyWithKey, type TufKeyJSON } from '../keys/tuf-key.js';

export interface SignatureCheck {
  key: TufKeyJSON;
  sig: string;
}

interface SignatureJob {
  data: Uint8Array;
  checks: SignatureCheck[];
}

export interface SignatureBatch {
  id: number;
  jobs: SignatureJob[];
}

/** Roles per message: one message per role would cost more in messaging than the verifications saved. */
const BATCH = 32;

type Resolve = (results: boolean[]) => void;

export class SignaturePool {
  readonly #workers: Worker[] = [];
  /** Batches sent and not answered yet. */
  readonly #waiting = new Map<number, { jobs: SignatureJob[]; resolvers: Resolve[] }>();
  #jobs: SignatureJob[] = [];
  #resolvers: Resolve[] = [];
  #next = 0;
  #broken = false;

  /** Workers: one per core but one (the main thread keeps reading and parsing), at least one, at most four. */
  constructor(size = Math.max(1, Math.min(availableParallelism() - 1, 4))) {
    // Under tsx (the tests) this module is TypeScript and so is its worker.
    const url = new URL(import.meta.url.endsWith('.ts') ? './signature-worker.ts' : './signature-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.on('message', (message: { id: number; results: boolean[][] }) => {
        const waiting = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        if (this.#waiting.size === 0) this.#idle();
        waiting?.resolvers.forEach((resolve, j) => resolve(message.results[j]!));
      });
      worker.on('error', () => this.#takeOver());
      worker.unref();
      this.#workers.push(worker);
    }
  }

  /** Idle workers do not keep the process alive (a caller that stops waiting need not close the pool); busy ones do. */
  #idle(): void {
    for (const worker of this.#workers) worker.unref();
  }

  /** A worker failed (it cannot start, or ran out of memory): the main thread verifies everything still unanswered, with the same function. */
  #takeOver(): void {
    this.#broken = true;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    this.#idle();
    for (const { jobs, resolvers } of waiting) verifyHere(jobs, resolvers);
  }

  /** Whether each check's signature verifies over `data`, in order. */
  verify(data: Buffer, checks: SignatureCheck[]): Promise<boolean[]> {
    return new Promise((resolve) => {
      this.#jobs.push({ data, checks });
      this.#resolvers.push(resolve);
      if (this.#jobs.length >= BATCH) this.flush();
    });
  }

  /** Sends what is queued (call before waiting for the answers). */
  flush(): void {
    const jobs = this.#jobs;
    const resolvers = this.#resolvers;
    if (jobs.length === 0) return;
    this.#jobs = [];
    this.#resolvers = [];
    if (this.#broken) return verifyHere(jobs, resolvers);
    const id = this.#next++;
    if (this.#waiting.size === 0) for (const worker of this.#workers) worker.ref();
    this.#waiting.set(id, { jobs, resolvers });
    this.#workers[id % this.#workers.length]!.postMessage({ id, jobs } satisfies SignatureBatch);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

function verifyHere(jobs: SignatureJob[], resolvers: Resolve[]): void {
  jobs.forEach((job, j) => resolvers[j]!(job.checks.map((check) => verifyWithKey(check.key, Buffer.from(job.data), check.sig))));
}

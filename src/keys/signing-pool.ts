// Signing with local private keys on worker threads, so that signing thousands of roles uses every core.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { KeyError } from '../errors.js';
import type { TufKeyJSON } from './tuf-key.js';
import type { Signer } from './signer.js';

/**
 * The worker: holds the private keys it was given, signs the bytes of each
 * request with the scheme of the key, verifies the signature with the key's
 * own public key (what the editor would otherwise do on the main thread), and
 * answers with the signature in hex. Plain JavaScript evaluated as the
 * worker's script, so it runs alike from dist/ and from the TypeScript sources.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, sign, verify, constants } = require('node:crypto');
const HASH = { ed25519: null, 'ecdsa-sha2-nistp256': 'sha256', 'ecdsa-sha2-nistp384': 'sha384', 'rsassa-pss-sha256': 'sha256' };
let keys = [];
parentPort.on('message', (message) => {
  if (message.keys) {
    keys = message.keys.map(({ key, scheme }) => ({ key, publicKey: createPublicKey(key), scheme }));
    return;
  }
  const { id, index, data } = message;
  try {
    const { key, publicKey, scheme } = keys[index];
    if (!(scheme in HASH)) throw new Error('cannot sign with scheme ' + scheme);
    const pss = scheme === 'rsassa-pss-sha256';
    const signature = sign(HASH[scheme], data, pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : key);
    const ok = verify(HASH[scheme], data, pss ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : publicKey, signature);
    parentPort.postMessage({ id, sig: signature.toString('hex'), ok });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message ? error.message : error) });
  }
});
`;

interface Pending {
  resolve: (result: { sig: string; ok: boolean }) => void;
  reject: (error: Error) => void;
}

/** Worker threads signing with a fixed set of private keys; requests go to the least busy worker. */
export class SigningPool {
  readonly #workers: Array<{ worker: Worker; busy: number }> = [];
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  private constructor(keys: ReadonlyArray<{ key: KeyObject; scheme: string }>, size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.postMessage({ keys });
      const entry = { worker, busy: 0 };
      worker.on('message', (message: { id: number; sig?: string; ok?: boolean; error?: string }) => {
        entry.busy--;
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        if (message.error !== undefined) pending.reject(new Error(message.error));
        else pending.resolve({ sig: message.sig!, ok: message.ok === true });
      });
      worker.on('error', (error) => this.#failAll(error));
      this.#workers.push(entry);
    }
  }

  /** A pool of `size` workers (default: one per core but one, at least one) for these keys. */
  static start(keys: ReadonlyArray<{ key: KeyObject; scheme: string }>, size = Math.max(1, availableParallelism() - 1)): SigningPool {
    return new SigningPool(keys, size);
  }

  /** Signs `data` with key number `index`; `ok`: the signature verifies with that key's public key. */
  sign(index: number, data: Uint8Array): Promise<{ sig: string; ok: boolean }> {
    const id = this.#next++;
    let target = this.#workers[0]!;
    for (const entry of this.#workers) if (entry.busy < target.busy) target = entry;
    target.busy++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      target.worker.postMessage({ id, index, data });
    });
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
  }
}

/** A signer whose signatures are made (and verified) by a pool's worker. */
export class PooledSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  readonly verifiesOwnSignatures = true;
  readonly #pool: SigningPool;
  readonly #index: number;

  constructor(of: Signer, pool: SigningPool, index: number) {
    this.keyId = of.keyId;
    this.publicKey = of.publicKey;
    this.source = of.source;
    this.#pool = pool;
    this.#index = index;
  }

  async sign(data: Uint8Array): Promise<string> {
    const { sig, ok } = await this.#pool.sign(this.#index, data);
    if (!ok) throw new KeyError('KEY_INVALID', `signature by ${this.source} does not verify with key ${this.keyId}`);
    return sig;
  }

  toJSON(): { keyId: string; source: string } {
    return { keyId: this.keyId, source: this.source };
  }
}

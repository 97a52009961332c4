/**
 * Test helper: an HTTP reverse proxy on 127.0.0.1 in front of a registry
 * that injects faults into matching requests — an error status, a dropped
 * connection, a request never answered, or a connection reset part-way
 * through the request body. Location headers are rewritten so uploads keep
 * going through the proxy. It can also give the registry behind it
 * single-request blob uploads, which Distribution 2.8 lacks.
 *
 * The proxy runs in a worker thread, so it keeps answering while the test's
 * own thread is blocked (e.g. running the CLI with spawnSync); the control
 * calls (setFaults, requests) are synchronous messages to that thread.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isMainThread, MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';

export type Fault =
  /** Answer with this status (default body: an OCI error). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Destroy the connection before answering. */
  | { kind: 'drop' }
  /** Never answer (the client's timeout must end it). */
  | { kind: 'stall' }
  /** Forward the request after this many milliseconds (to make concurrent clients overlap). */
  | { kind: 'delay'; ms: number }
  /** Hold matching requests until `parties` of them wait, then forward them all (concurrent clients meet here). */
  | { kind: 'barrier'; parties: number }
  /** Read `bytes` (default 1) of the request body, then destroy the connection. */
  | { kind: 'reset-mid-upload'; bytes?: number }
  /**
   * Answer 200 with a body of `bytes` zero bytes, generated as it is sent (never held in memory),
   * declared by Content-Length unless `chunked`. How much was sent before the client hung up is
   * in the request's `bytesSent`.
   */
  | { kind: 'huge-body'; bytes: number; chunked?: boolean }
  /**
   * Not a fault: answer `POST …/blobs/uploads/?digest=D` with the blob as its body the way registries with
   * single-request uploads do (OCI distribution spec): store it upstream (POST, then PUT) and answer 201.
   */
  | { kind: 'single-request-upload' };

export interface FaultRule {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Matched against the request path (with query). */
  path: RegExp;
  fault: Fault;
  /** Inject at most this many times (default: always). */
  count?: number;
  /** Let this many matching requests through first. */
  after?: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The fault injected, if any. */
  fault?: Fault['kind'];
  /** For 'huge-body': the body bytes written before the connection closed. */
  bytesSent?: number;
}

export interface FaultProxy {
  /** 127.0.0.1:PORT */
  host: string;
  /** Replaces the rules (and resets their counters). */
  setFaults(rules: FaultRule[]): void;
  /** Every request seen so far, in order (a snapshot). */
  readonly requests: ProxiedRequest[];
  /** Forgets the requests seen so far. */
  clearRequests(): void;
  stop(): Promise<void>;
}

type Command = { cmd: 'setFaults'; rules: FaultRule[] } | { cmd: 'requests' } | { cmd: 'clear' };

interface WorkerInit {
  tufctlFaultProxy: true;
  upstream: string;
  control: MessagePort;
  signal: Int32Array;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const init: WorkerInit = { tufctlFaultProxy: true, upstream, control: port2, signal };
  const worker = startWorker(import.meta.url, init, [port2]);
  const host = await new Promise<string>((resolve, reject) => {
    worker.once('message', (message: { host: string }) => resolve(message.host));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`fault proxy worker exited (${code})`)));
  });
  worker.unref();

  /** A synchronous call: the worker answers on the port and wakes this thread through `signal`. */
  const call = (command: Command): unknown => {
    Atomics.store(signal, 0, 0);
    port1.postMessage(command);
    if (Atomics.wait(signal, 0, 0, 10_000) === 'timed-out') throw new Error('the fault proxy worker did not answer');
    return receiveMessageOnPort(port1)?.message;
  };

  return {
    host,
    setFaults: (rules) => void call({ cmd: 'setFaults', rules }),
    get requests() {
      return call({ cmd: 'requests' }) as ProxiedRequest[];
    },
    clearRequests: () => void call({ cmd: 'clear' }),
    async stop() {
      port1.close();
      await worker.terminate();
    },
  };
}

/** Runs this module in a worker thread, through tsx when the module is TypeScript (workers do not inherit its loader). */
function startWorker(moduleUrl: string, data: unknown, transferList: MessagePort[]): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code =
    `import(${JSON.stringify(tsx)}).then(({ register }) => register())` +
    `.then(() => import(${JSON.stringify(moduleUrl)}))` +
    `.catch((error) => { console.error(error); process.exit(1); });`;
  return new Worker(code, { eval: true, workerData: data, transferList });
}

/** The proxy itself (in the worker thread). */
async function runProxy(init: WorkerInit): Promise<void> {
  const { upstream, control, signal } = init;
  let rules: { rule: FaultRule; seen: number; injected: number }[] = [];
  let requests: ProxiedRequest[] = [];
  let host = '';

  control.on('message', (command: Command) => {
    let reply: unknown = null;
    if (command.cmd === 'setFaults') rules = command.rules.map((rule) => ({ rule, seen: 0, injected: 0 }));
    else if (command.cmd === 'requests') reply = requests;
    else if (command.cmd === 'clear') requests = [];
    control.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });

  const waiting: Array<() => void> = [];
  const choose = (req: IncomingMessage): Fault | undefined => {
    for (const entry of rules) {
      const { rule } = entry;
      if (rule.method && rule.method.toUpperCase() !== req.method) continue;
      if (!rule.path.test(req.url ?? '')) continue;
      entry.seen++;
      if (entry.seen <= (rule.after ?? 0)) continue;
      if (rule.count !== undefined && entry.injected >= rule.count) continue;
      entry.injected++;
      return rule.fault;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstreamReq = httpRequest(
      {
        host: upstream.replace(/:\d+$/, ''),
        port: Number(upstream.split(':').pop()),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream },
      },
      (upstreamRes) => {
        const headers = { ...upstreamRes.headers };
        if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${upstream}/`, `//${host}/`);
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  };

  const server = createServer((req, res) => {
    const fault = choose(req);
    const seen: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '', ...(fault ? { fault: fault.kind } : {}) };
    requests.push(seen);
    if (!fault) return forward(req, res);
    switch (fault.kind) {
      case 'status':
        req.resume();
        req.on('end', () => {
          const body = fault.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${fault.status}` }] });
          res.writeHead(fault.status, { 'Content-Type': 'application/json', ...fault.headers });
          res.end(body);
        });
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'stall':
        req.resume(); // read and ignore; never answer
        return;
      case 'delay':
        req.pause();
        setTimeout(() => forward(req, res), fault.ms);
        return;
      case 'barrier': {
        req.pause();
        waiting.push(() => forward(req, res));
        if (waiting.length >= fault.parties) for (const release of waiting.splice(0)) release();
        return;
      }
      case 'huge-body': {
        req.resume();
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          ...(fault.chunked ? {} : { 'Content-Length': String(fault.bytes) }),
        });
        const zeros = Buffer.alloc(64 * 1024);
        let left = fault.bytes;
        seen.bytesSent = 0;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, zeros.length);
            left -= n;
            seen.bytesSent! += n;
            if (!res.write(n === zeros.length ? zeros : zeros.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('close', () => (left = 0));
        pump();
        return;
      }
      case 'single-request-upload': {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          void storeUpstream(upstream, req.url ?? '/', Buffer.concat(chunks)).then(
            (stored) => {
              res.writeHead(stored.status, stored.headers);
              res.end();
            },
            () => res.destroy(),
          );
        });
        return;
      }
      case 'reset-mid-upload': {
        const limit = fault.bytes ?? 1;
        let received = 0;
        req.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= limit) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        return;
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  parentPort!.postMessage({ host });
}

/** A single-request upload (`POST /v2/NAME/blobs/uploads/?digest=D`, body) done upstream as POST then PUT. */
async function storeUpstream(upstream: string, path: string, body: Buffer): Promise<{ status: number; headers: Record<string, string> }> {
  const url = new URL(path, `http://${upstream}`);
  const digest = url.searchParams.get('digest') ?? '';
  const started = await fetch(new URL(url.pathname, url), { method: 'POST' });
  await started.arrayBuffer();
  const location = new URL(started.headers.get('location') ?? '', url);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream' } });
  await done.arrayBuffer();
  if (started.status !== 202 || done.status !== 201) return { status: 502, headers: {} };
  const name = url.pathname.replace(/^\/v2\/|\/blobs\/uploads\/$/g, '');
  return { status: 201, headers: { 'Docker-Content-Digest': digest, Location: `/v2/${name}/blobs/${digest}` } };
}

if (!isMainThread && (workerData as Partial<WorkerInit> | undefined)?.tufctlFaultProxy) {
  void runProxy(workerData as WorkerInit);
}

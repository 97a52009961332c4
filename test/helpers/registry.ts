/**
 * Test helper: a real OCI registry (Debian's docker-registry, CNCF
 * Distribution 2.8) on 127.0.0.1, anonymous, with htpasswd Basic auth, or
 * with a token service (a small node:http server issuing RS256 JWTs signed
 * with jose, trusted by the registry through a self-signed certificate).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { SignJWT } from 'jose';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  /** http://127.0.0.1:PORT */
  url: string;
  auth: RegistryAuth;
  username: string;
  password: string;
  /** For auth 'token': an identity (refresh) token the token service accepts instead of the password. */
  identityToken: string;
  /** Registry storage root. */
  dataDir: string;
  /** For auth 'token': how many token requests the token service has answered. */
  readonly tokenRequests: number;
  /** For auth 'token': the token service's URL. */
  tokenUrl?: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** For auth 'token': how the JWT names its signing key. Distribution 2.8 accepts both. */
  tokenKeyRef?: 'kid' | 'x5c';
}

const TOKEN_ISSUER = 'tufctl-test-token-issuer';
const TOKEN_SERVICE = 'tufctl-test-registry';

/** Starts a registry and waits until /v2/ answers. Fails (never skips) when the registry binary is missing. */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  if (!existsSync(REGISTRY_BINARY)) {
    throw new Error(`${REGISTRY_BINARY} is missing: install Debian's docker-registry (npm test installs it as root)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tufctl-registry-'));
  const dataDir = join(dir, 'data');
  const username = 'tufctl-tester';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const identityToken = `idt-${randomBytes(12).toString('hex')}`;
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    if (child) await stopProcess(child);
    if (tokenServer) await tokenServer.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    let authYaml = '';
    if (auth === 'htpasswd') {
      const made = spawnSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
      if (made.status !== 0)
        throw new Error(`htpasswd failed (install apache2-utils; npm test installs it as root): ${made.error?.message ?? made.stderr}`);
      writeFileSync(join(dir, 'htpasswd'), made.stdout);
      authYaml = `auth:\n  htpasswd:\n    realm: tufctl-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (auth === 'token') {
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=tufctl-test-token',
          '-days',
          '2',
          '-keyout',
          join(dir, 'token.key'),
          '-out',
          join(dir, 'token.crt'),
        ],
        { encoding: 'utf8' },
      );
      if (made.status !== 0)
        throw new Error(`openssl failed (install openssl; npm test installs it as root): ${made.error?.message ?? made.stderr}`);
      tokenServer = await startTokenServer({
        keyPem: readFileSync(join(dir, 'token.key'), 'utf8'),
        certPem: readFileSync(join(dir, 'token.crt'), 'utf8'),
        username,
        password,
        identityToken,
        keyRef: options.tokenKeyRef ?? 'kid',
      });
      authYaml =
        `auth:\n  token:\n    realm: ${tokenServer.url}/token\n    service: ${TOKEN_SERVICE}\n` +
        `    issuer: ${TOKEN_ISSUER}\n    rootcertbundle: ${join(dir, 'token.crt')}\n`;
    }

    let lastError = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const config = join(dir, 'config.yml');
      writeFileSync(
        config,
        'version: 0.1\n' +
          'log:\n  level: warn\n  accesslog:\n    disabled: true\n' +
          `storage:\n  filesystem:\n    rootdirectory: ${dataDir}\n  delete:\n    enabled: true\n` +
          '  maintenance:\n    uploadpurging:\n      enabled: false\n' +
          `http:\n  addr: ${host}\n  secret: ${randomBytes(16).toString('hex')}\n` +
          authYaml,
      );
      const proc = spawn('sh', ['-c', WATCHDOG, REGISTRY_BINARY, config], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let output = '';
      proc.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
      proc.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
      child = proc;
      const ready = await waitForRegistry(`http://${host}/v2/`, proc, 15_000);
      if (ready === 'ready') {
        const token = tokenServer;
        return {
          host,
          url: `http://${host}`,
          auth,
          username,
          password,
          identityToken,
          dataDir,
          get tokenRequests() {
            return token?.requests ?? 0;
          },
          tokenUrl: token?.url,
          stop: cleanup,
        };
      }
      await stopProcess(proc);
      child = undefined;
      lastError = `${ready}\n${output}`;
      if (!/address already in use/i.test(output)) break;
    }
    throw new Error(`docker-registry did not start: ${lastError}`);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** A port nobody listened on a moment ago (the registry may still lose a race: startRegistry retries). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForRegistry(url: string, proc: ChildProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  proc.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  while (Date.now() < deadline) {
    if (exited) return exited;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return exited ?? `no answer from ${url} within ${timeoutMs} ms`;
}

/**
 * Runs the registry ($0 serve $1) under a shell that kills it when its stdin
 * closes: on stop(), and also when the test process dies without stopping it,
 * so no registry outlives its test run.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$0" serve "$1" </dev/null &',
  'pid=$!',
  '(read _ <&3; kill "$pid" 2>/dev/null) &',
  'watchdog=$!',
  'wait "$pid"; code=$?',
  'kill "$watchdog" 2>/dev/null',
  'exit "$code"',
].join('\n');

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL'); // the shell's whole process group
      } catch {
        // already gone
      }
    }, 5000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.stdin?.end();
  });
}

// ---------------------------------------------------------------------------
// Token service

interface TokenServer {
  url: string;
  readonly requests: number;
  close(): Promise<void>;
}

interface TokenServerInit {
  tufctlTokenServer: true;
  keyPem: string;
  certPem: string;
  username: string;
  password: string;
  identityToken: string;
  keyRef: 'kid' | 'x5c';
  /** [0]: requests answered, readable without the worker's help. */
  counter: Int32Array;
}

/**
 * The key id Distribution 2.8 (libtrust) gives a public key: base32 of the
 * first 240 bits of sha256 over the DER SubjectPublicKeyInfo, in 12 groups
 * of 4 characters joined by ':'.
 */
export function libtrustKeyId(certOrKeyPem: string): string {
  const der = createPublicKey(certOrKeyPem).export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)!.join(':');
}

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The token service runs in a worker thread so it keeps answering while the
 * test's thread is blocked (e.g. in spawnSync running the CLI or skopeo).
 */
async function startTokenServer(options: Omit<TokenServerInit, 'tufctlTokenServer' | 'counter'>): Promise<TokenServer> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const init: TokenServerInit = { tufctlTokenServer: true, counter, ...options };
  const tsx = import.meta.resolve('tsx/esm/api');
  const code =
    `import(${JSON.stringify(tsx)}).then(({ register }) => register())` +
    `.then(() => import(${JSON.stringify(import.meta.url)}))` +
    `.catch((error) => { console.error(error); process.exit(1); });`;
  const worker = new Worker(code, { eval: true, workerData: init });
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('message', (message: { url: string }) => resolve(message.url));
    worker.once('error', reject);
    worker.once('exit', (exitCode) => reject(new Error(`token service worker exited (${exitCode})`)));
  });
  worker.unref();
  return {
    url,
    get requests() {
      return Atomics.load(counter, 0);
    },
    close: async () => void (await worker.terminate()),
  };
}

/** The token service itself (in the worker thread). */
async function runTokenServer(options: TokenServerInit): Promise<void> {
  const privateKey = createPrivateKey(options.keyPem);
  const header: { alg: 'RS256'; typ: 'JWT'; kid?: string; x5c?: string[] } = { alg: 'RS256', typ: 'JWT' };
  if (options.keyRef === 'kid') header.kid = libtrustKeyId(options.certPem);
  else header.x5c = [new X509Certificate(options.certPem).raw.toString('base64')];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        Atomics.add(options.counter, 0, 1);
        const url = new URL(req.url ?? '/', 'http://localhost');
        let params = url.searchParams;
        let subject: string | undefined;
        if (req.method === 'POST') {
          // OAuth2 refresh-token grant (docker's identity tokens).
          params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
          if (params.get('grant_type') !== 'refresh_token' || params.get('refresh_token') !== options.identityToken) return deny(res);
          subject = options.username;
        } else {
          const authorization = req.headers.authorization;
          if (authorization) {
            const [scheme, encoded] = authorization.split(' ');
            const decoded = Buffer.from(encoded ?? '', 'base64').toString('utf8');
            if (scheme !== 'Basic' || decoded !== `${options.username}:${options.password}`) return deny(res);
            subject = options.username;
          }
        }
        // Authenticated users get what they ask for; anonymous users get nothing.
        const access = subject
          ? params.getAll('scope').flatMap((scope) => {
              const match = /^repository:([^:]+):(.+)$/.exec(scope);
              return match ? [{ type: 'repository', name: match[1]!, actions: match[2]!.split(',') }] : [];
            })
          : [];
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ access })
          .setProtectedHeader(header)
          .setIssuer(TOKEN_ISSUER)
          .setSubject(subject ?? '')
          .setAudience(params.get('service') ?? '')
          .setIssuedAt(now)
          .setNotBefore(now - 10)
          .setExpirationTime(now + 300)
          .setJti(randomUUID())
          .sign(privateKey);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify(
            req.method === 'POST'
              ? { access_token: token, expires_in: 300 }
              : { token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() },
          ),
        );
      })().catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  parentPort!.postMessage({ url: `http://127.0.0.1:${port}` });
}

function deny(res: ServerResponse): void {
  res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="tufctl-test-token"' });
  res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
}

if (!isMainThread && (workerData as Partial<TokenServerInit> | undefined)?.tufctlTokenServer) {
  void runTokenServer(workerData as TokenServerInit);
}

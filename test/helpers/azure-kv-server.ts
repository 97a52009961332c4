/**
 * A loopback Azure Key Vault speaking the keys REST API that
 * `@azure/keyvault-keys` uses, with real EC keys generated at test time, and
 * a stand-in for the Azure CLI that `azure/login` leaves logged in on a
 * GitHub runner (`DefaultAzureCredential` → `AzureCliCredential` runs
 * `az account get-access-token`).
 *
 * - every request without a bearer token gets Key Vault's challenge (401 with
 *   `WWW-Authenticate: Bearer authorization="…/TENANT", resource="https://vault.azure.net"`),
 *   as the client's challenge-based authentication expects; only the token
 *   the fake `az` hands out is accepted;
 * - `GET /keys/NAME[/VERSION]?api-version=…` → {key: {kid, kty, crv, x, y, key_ops}, attributes};
 * - `POST /keys/NAME/VERSION/sign` with {alg: ES256|ES384, value: base64url digest}
 *   → {kid, value: base64url r‖s};
 * - errors as {error: {code, message, innererror}}.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ecdsaSignDigest } from './kms-server.js';

export type AzureKeyType = 'P-256' | 'P-384' | 'RSA';

export interface AzureKey {
  name: string;
  version: string;
  type: AzureKeyType;
  privateKey: KeyObject;
  publicKey: KeyObject;
  enabled: boolean;
  keyOps: string[];
  /** Operations the caller lacks permission for. */
  denied: Set<'get' | 'sign'>;
}

export interface AzureRequest {
  method: string;
  path: string;
  operation: string;
  authorization: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  status: number;
}

export interface AzureFault {
  operation?: 'get' | 'sign';
  status?: number;
  code?: string;
  message?: string;
  hang?: boolean;
  /** Answer 200 with a signature of another key. */
  wrongSignature?: boolean;
}

export interface LoopbackKeyVault {
  /** The loopback origin (TUFCTL_AZURE_KEYVAULT_ENDPOINT). */
  endpoint: string;
  /** The vault host the azurekms: URIs name. */
  host: string;
  tenant: string;
  requests: AzureRequest[];
  createKey(type: AzureKeyType, options?: { name?: string; version?: string }): AzureKey;
  /** The URI tuf-on-ci writes for a key: its kid with https: replaced by azurekms:. */
  uriOf(key: AzureKey): string;
  fail(fault: AzureFault, times?: number): void;
  /**
   * A directory with an `az` stand-in answering `az account get-access-token` (put it first on PATH);
   * with `loggedIn: false` it fails as the real CLI does before `az login`.
   */
  azCli(dir: string, options?: { loggedIn?: boolean }): string;
  /** The `az` invocations so far (their arguments). */
  azCalls(dir: string): string[];
  close(): Promise<void>;
}

/** DER ECDSA signature → raw r‖s of `size` bytes each (what Key Vault returns). */
function derToRaw(der: Buffer, size: number): Buffer {
  let offset = 2 + (der[1]! & 0x80 ? der[1]! & 0x7f : 0);
  const read = (): Buffer => {
    const length = der[offset + 1]!;
    const value = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    const trimmed = value[0] === 0 ? value.subarray(1) : value;
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([read(), read()]);
}

class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

export async function startAzureKeyVault(options: { vault?: string } = {}): Promise<LoopbackKeyVault> {
  const vault = options.vault ?? 'tuf-test-vault';
  const host = `${vault}.vault.azure.net`;
  const tenant = '72f988bf-0000-4000-8000-0123456789ab';
  const token = `azcli-${randomBytes(16).toString('hex')}`;
  const keys = new Map<string, AzureKey[]>();
  const requests: AzureRequest[] = [];
  const faults: AzureFault[] = [];
  let endpoint = '';

  const kidOf = (key: AzureKey): string => `https://${host}/keys/${key.name}/${key.version}`;

  function find(name: string, version: string | undefined): AzureKey {
    const versions = keys.get(name) ?? [];
    const key = version ? versions.find((k) => k.version === version) : versions.at(-1);
    if (!key) {
      throw new VaultError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.`,
      );
    }
    return key;
  }

  function allow(key: AzureKey, operation: 'get' | 'sign'): void {
    if (key.denied.has(operation)) {
      throw new VaultError(
        403,
        'Forbidden',
        `The user, group or application 'appid=00000000-aaaa-bbbb-cccc-000000000000;oid=11111111-2222-3333-4444-555555555555;iss=https://sts.windows.net/${tenant}/' does not have keys ${operation} permission on key vault '${vault};location=westeurope'.`,
        'ForbiddenByPolicy',
      );
    }
    if (!key.enabled && operation === 'sign') {
      throw new VaultError(403, 'Forbidden', 'Operation sign is not allowed on a disabled key.', 'KeyDisabled');
    }
  }

  function jwkOf(key: AzureKey): object {
    const jwk = key.publicKey.export({ format: 'jwk' });
    return key.type === 'RSA'
      ? { kid: kidOf(key), kty: 'RSA', key_ops: key.keyOps, n: jwk.n, e: jwk.e }
      : { kid: kidOf(key), kty: 'EC', key_ops: key.keyOps, crv: key.type, x: jwk.x, y: jwk.y };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const get = req.method === 'GET' && /^\/keys\/([^/]+)\/?([^/]*)$/.exec(path);
    const sign = req.method === 'POST' && /^\/keys\/([^/]+)\/([^/]+)\/sign$/.exec(path);
    const operation = get ? 'get' : sign ? 'sign' : '';
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const entry: AzureRequest = { method: req.method ?? '', path, operation, authorization: req.headers.authorization, body, status: 0 };
    requests.push(entry);
    const send = (status: number, payload: object, headers: Record<string, string> = {}): void => {
      entry.status = status;
      const out = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out), ...headers });
      res.end(out);
    };
    try {
      if (!url.searchParams.get('api-version')) throw new VaultError(400, 'BadParameter', 'The api-version query parameter is required.');
      if (req.headers.authorization !== `Bearer ${token}`) {
        // Key Vault's challenge: the client then asks its credential for a token for this resource and tenant.
        send(
          401,
          {
            error: {
              code: 'Unauthorized',
              message: req.headers.authorization ? 'AKV10032: Invalid issuer.' : 'AKV10000: Request is missing a Bearer or PoP token.',
            },
          },
          {
            'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenant}", resource="https://vault.azure.net"`,
          },
        );
        return;
      }
      const index = faults.findIndex((f) => !f.operation || f.operation === operation);
      const fault = index >= 0 ? faults.splice(index, 1)[0] : undefined;
      if (fault?.hang) return;
      if (fault && !fault.wrongSignature) {
        throw new VaultError(fault.status ?? 503, fault.code ?? 'ServiceUnavailable', fault.message ?? 'The service is unavailable.');
      }
      if (get) {
        const key = find(get[1]!, get[2] || undefined);
        allow(key, 'get');
        send(200, {
          key: jwkOf(key),
          attributes: { enabled: key.enabled, created: 1_700_000_000, updated: 1_700_000_000, recoveryLevel: 'Recoverable' },
        });
        return;
      }
      if (sign) {
        const key = find(sign[1]!, sign[2]!);
        allow(key, 'sign');
        const request = body as { alg?: unknown; value?: unknown } | undefined;
        const expected = key.type === 'P-256' ? 'ES256' : key.type === 'P-384' ? 'ES384' : undefined;
        if (!request || request.alg !== expected || typeof request.value !== 'string') {
          throw new VaultError(400, 'BadParameter', `Invalid algorithm ${String(request?.alg)} for key type ${key.type}.`);
        }
        const digest = Buffer.from(request.value, 'base64url');
        const size = key.type === 'P-256' ? 32 : 48;
        if (digest.length !== size) throw new VaultError(400, 'BadParameter', 'Invalid digest length.');
        const signer = fault?.wrongSignature ? generateKeyPairSync('ec', { namedCurve: key.type }).privateKey : key.privateKey;
        send(200, { kid: kidOf(key), value: derToRaw(ecdsaSignDigest(signer, digest), size).toString('base64url') });
        return;
      }
      throw new VaultError(405, 'MethodNotAllowed', `${req.method} ${path} is not supported by the loopback vault.`);
    } catch (error) {
      if (error instanceof VaultError) {
        // Throttling answers say when to come back (Retry-After; here in milliseconds, which the client also reads).
        send(
          error.status,
          { error: { code: error.code, message: error.message, ...(error.inner ? { innererror: { code: error.inner } } : {}) } },
          error.status === 429 ? { 'retry-after-ms': '20' } : {},
        );
      } else {
        send(500, { error: { code: 'InternalServerError', message: (error as Error).message } });
      }
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    host,
    tenant,
    requests,
    createKey: (type, keyOptions = {}) => {
      const pair = type === 'RSA' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: type });
      const key: AzureKey = {
        name: keyOptions.name ?? `online-${randomBytes(3).toString('hex')}`,
        version: keyOptions.version ?? randomBytes(16).toString('hex'),
        type,
        ...pair,
        enabled: true,
        keyOps: type === 'RSA' ? ['sign', 'verify', 'encrypt', 'decrypt'] : ['sign', 'verify'],
        denied: new Set(),
      };
      keys.set(key.name, [...(keys.get(key.name) ?? []), key]);
      return key;
    },
    uriOf: (key) => kidOf(key).replace(/^https:/, 'azurekms:'),
    fail: (fault, times = 1) => {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    azCli: (dir, cliOptions = {}) => {
      mkdirSync(dir, { recursive: true });
      const log = join(dir, 'az.log');
      const answer = JSON.stringify({
        accessToken: token,
        expiresOn: '2099-01-01 00:00:00.000000',
        expires_on: '4070908800',
        subscription: '00000000-1111-2222-3333-444444444444',
        tenant,
        tokenType: 'Bearer',
      });
      const script =
        cliOptions.loggedIn === false
          ? `#!/bin/sh\necho "$*" >> '${log}'\necho "ERROR: Please run 'az login' to setup account." >&2\nexit 1\n`
          : `#!/bin/sh\necho "$*" >> '${log}'\nprintf '%s\\n' '${answer}'\n`;
      writeFileSync(join(dir, 'az'), script);
      chmodSync(join(dir, 'az'), 0o755);
      return dir;
    },
    azCalls: (dir) => {
      try {
        return readFileSync(join(dir, 'az.log'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

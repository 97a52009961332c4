/**
 * A loopback Google Cloud KMS speaking the REST protocol of
 * `cloudkms.googleapis.com/v1` (what `@google-cloud/kms` sends with
 * `fallback: true`), with real keys generated at test time, and the
 * credential path GitHub Actions uses on a second loopback server:
 *
 * - `GET  /github/token?audience=…` — GitHub's OIDC token endpoint
 *   (ACTIONS_ID_TOKEN_REQUEST_URL; needs the request token as a bearer);
 * - `POST /sts/v1/token` — Google STS token exchange (the OIDC token for a
 *   federated access token, audience checked);
 * - `POST /iamcredentials/v1/projects/-/serviceAccounts/SA:generateAccessToken`
 *   — service account impersonation with the federated token.
 *
 * `credentialsFile()` writes the `external_account` file
 * google-github-actions/auth writes (GOOGLE_APPLICATION_CREDENTIALS), so the
 * client exchanges tokens exactly as in a workflow. The KMS endpoints accept
 * only the access token this exchange issued.
 *
 * KMS: `GET /v1/{name}/publicKey` → {pem, algorithm, pemCrc32c, name,
 * protectionLevel}; `POST /v1/{name}:asymmetricSign` with {digest:{sha256|
 * sha384: base64}, digestCrc32c} or {data, dataCrc32c} → {signature,
 * signatureCrc32c, verifiedDigestCrc32c, verifiedDataCrc32c, name,
 * protectionLevel}; errors as {error:{code, message, status}}. Enums are
 * numbers when the request asks `$alt=json;enum-encoding=int`, as the client does.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32c } from '../../src/keys/crc32c.js';
import { ecdsaSignDigest, rsaPssSignDigest } from './kms-server.js';

export type GcpAlgorithm =
  | 'EC_SIGN_P256_SHA256'
  | 'EC_SIGN_P384_SHA384'
  | 'RSA_SIGN_PSS_2048_SHA256'
  | 'RSA_SIGN_PSS_3072_SHA256'
  | 'RSA_SIGN_PSS_4096_SHA256'
  | 'RSA_SIGN_PKCS1_2048_SHA256'
  | 'EC_SIGN_ED25519'
  | 'EC_SIGN_SECP256K1_SHA256';

const ENUM: Record<GcpAlgorithm, number> = {
  RSA_SIGN_PSS_2048_SHA256: 2,
  RSA_SIGN_PSS_3072_SHA256: 3,
  RSA_SIGN_PSS_4096_SHA256: 4,
  RSA_SIGN_PKCS1_2048_SHA256: 5,
  EC_SIGN_P256_SHA256: 12,
  EC_SIGN_P384_SHA384: 13,
  EC_SIGN_SECP256K1_SHA256: 31,
  EC_SIGN_ED25519: 40,
};
const PROTECTION_SOFTWARE = 1;

/** The digest each algorithm signs (none: Ed25519 signs the data). */
const DIGEST: Record<GcpAlgorithm, 'sha256' | 'sha384' | undefined> = {
  RSA_SIGN_PSS_2048_SHA256: 'sha256',
  RSA_SIGN_PSS_3072_SHA256: 'sha256',
  RSA_SIGN_PSS_4096_SHA256: 'sha256',
  RSA_SIGN_PKCS1_2048_SHA256: 'sha256',
  EC_SIGN_P256_SHA256: 'sha256',
  EC_SIGN_P384_SHA384: 'sha384',
  EC_SIGN_SECP256K1_SHA256: 'sha256',
  EC_SIGN_ED25519: undefined,
};

export interface GcpKey {
  name: string;
  algorithm: GcpAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  /** IAM permissions the caller lacks on this key version. */
  denied: Set<'cloudkms.cryptoKeyVersions.viewPublicKey' | 'cloudkms.cryptoKeyVersions.useToSign'>;
}

export interface GcpRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: string;
  /** getPublicKey, asymmetricSign, oidc, sts, generateAccessToken, or '' for anything else. */
  operation: string;
  authorization: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  status: number;
}

export interface GcpFault {
  operation?: string;
  /** HTTP status to answer with (with a google.rpc status name). */
  status?: number;
  rpcStatus?: string;
  message?: string;
  /** Never answer. */
  hang?: boolean;
  /** Answer 200 with a broken integrity field (wrong signatureCrc32c, or verifiedDigestCrc32c false). */
  corrupt?: 'signatureCrc32c' | 'verified' | 'pemCrc32c';
  /** Answer with a signature of another key. */
  wrongSignature?: boolean;
}

export interface LoopbackGcpKms {
  /** The KMS endpoint, http://127.0.0.1:PORT. */
  endpoint: string;
  /** The credential endpoints' origin (OIDC, STS, IAM credentials), another port. */
  authOrigin: string;
  project: string;
  location: string;
  /** The service account the external_account file impersonates. */
  serviceAccount: string;
  /** The workload identity provider audience the STS exchange expects. */
  audience: string;
  /** The GitHub OIDC token the token endpoint hands out (a stand-in JWT; STS compares it). */
  oidcToken: string;
  requests: GcpRequest[];
  keys: Map<string, GcpKey>;
  createKey(algorithm: GcpAlgorithm, options?: { ring?: string; key?: string; version?: number }): GcpKey;
  fail(fault: GcpFault, times?: number): void;
  /**
   * Writes the external_account credentials file google-github-actions/auth writes; with
   * `impersonate: false`, direct workload identity federation (no service account).
   */
  credentialsFile(path: string, options?: { impersonate?: boolean; requestToken?: string; audience?: string }): string;
  close(): Promise<void>;
}

const REQUEST_TOKEN = 'gha-request-token-NOT-REAL';

function generate(algorithm: GcpAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case 'EC_SIGN_P256_SHA256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EC_SIGN_P384_SHA384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'EC_SIGN_SECP256K1_SHA256':
      return generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    case 'EC_SIGN_ED25519':
      return generateKeyPairSync('ed25519');
    case 'RSA_SIGN_PSS_2048_SHA256':
    case 'RSA_SIGN_PKCS1_2048_SHA256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'RSA_SIGN_PSS_3072_SHA256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
    case 'RSA_SIGN_PSS_4096_SHA256':
      return generateKeyPairSync('rsa', { modulusLength: 4096 });
  }
}

class RpcError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly rpcStatus: string,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startGcpKms(options: { project?: string; location?: string } = {}): Promise<LoopbackGcpKms> {
  const project = options.project ?? 'tuf-test';
  const location = options.location ?? 'global';
  const serviceAccount = `tuf-online@${project}.iam.gserviceaccount.com`;
  const audience = `//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/github/providers/acme`;
  const oidcToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'repo:acme/tuf:ref:refs/heads/main' })).toString('base64url')}.c2ln`;
  const federatedTokens = new Set<string>();
  const accessTokens = new Set<string>();
  const keys = new Map<string, GcpKey>();
  const requests: GcpRequest[] = [];
  const faults: GcpFault[] = [];
  let counter = 0;

  const createKey: LoopbackGcpKms['createKey'] = (algorithm, keyOptions = {}) => {
    counter++;
    const name =
      `projects/${project}/locations/${location}/keyRings/${keyOptions.ring ?? 'tuf'}/cryptoKeys/${keyOptions.key ?? `online-${counter}`}` +
      `/cryptoKeyVersions/${keyOptions.version ?? 1}`;
    const key: GcpKey = { name, algorithm, ...generate(algorithm), state: 'ENABLED', denied: new Set() };
    keys.set(name, key);
    return key;
  };

  function takeFault(operation: string): GcpFault | undefined {
    const index = faults.findIndex((f) => !f.operation || f.operation === operation);
    return index >= 0 ? faults.splice(index, 1)[0] : undefined;
  }

  function record(req: IncomingMessage, operation: string, body: unknown): GcpRequest {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: GcpRequest = {
      method: req.method ?? '',
      path: decodeURIComponent(url.pathname),
      query: url.search,
      operation,
      authorization: req.headers.authorization,
      body,
      status: 0,
    };
    requests.push(entry);
    return entry;
  }

  function send(res: ServerResponse, entry: GcpRequest, status: number, payload: object): void {
    entry.status = status;
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  // ------------------------------------------------------------ credential endpoints (OIDC, STS, IAM credentials)

  async function handleAuth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const operation =
      url.pathname === '/github/token'
        ? 'oidc'
        : url.pathname === '/sts/v1/token'
          ? 'sts'
          : url.pathname.endsWith(':generateAccessToken')
            ? 'generateAccessToken'
            : '';
    const entry = record(req, operation, text);
    const fault = takeFault(operation);
    if (fault?.hang) return;
    if (fault) {
      send(res, entry, fault.status ?? 500, {
        error: fault.rpcStatus ?? 'server_error',
        error_description: fault.message ?? 'injected fault',
      });
      return;
    }
    if (operation === 'oidc') {
      if (req.headers.authorization !== `Bearer ${REQUEST_TOKEN}`) {
        send(res, entry, 401, { message: 'Bad credentials' });
        return;
      }
      send(res, entry, 200, { count: 1, value: oidcToken });
      return;
    }
    if (operation === 'sts') {
      const form = new URLSearchParams(text);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') {
        send(res, entry, 400, { error: 'invalid_request', error_description: 'Invalid grant_type' });
      } else if (form.get('audience') !== audience) {
        send(res, entry, 400, {
          error: 'invalid_target',
          error_description: 'The target service indicated by the "audience" parameters is invalid.',
        });
      } else if (form.get('subject_token') !== oidcToken) {
        send(res, entry, 400, {
          error: 'invalid_grant',
          error_description: 'The audience in ID Token [https://github.com/acme] does not match the expected audience.',
        });
      } else {
        const token = `federated-${randomBytes(12).toString('hex')}`;
        federatedTokens.add(token);
        send(res, entry, 200, {
          access_token: token,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: 3600,
        });
      }
      return;
    }
    if (operation === 'generateAccessToken') {
      const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!federatedTokens.has(bearer)) {
        send(res, entry, 401, {
          error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' },
        });
      } else if (!url.pathname.includes(`/serviceAccounts/${serviceAccount}:`)) {
        send(res, entry, 403, {
          error: { code: 403, message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource", status: 'PERMISSION_DENIED' },
        });
      } else {
        const token = `ya29.test-${randomBytes(12).toString('hex')}`;
        accessTokens.add(token);
        send(res, entry, 200, { accessToken: token, expireTime: new Date(Date.now() + 3600_000).toISOString() });
      }
      return;
    }
    send(res, entry, 404, { error: 'not_found' });
  }

  // ------------------------------------------------------------ KMS

  function findKey(name: string): GcpKey {
    const key = keys.get(name);
    if (!key) {
      // Cloud KMS answers a missing key version like a denied one unless the caller may list the ring.
      throw new RpcError(404, 'NOT_FOUND', `CryptoKeyVersion ${name} not found.`);
    }
    return key;
  }

  function checkAccess(key: GcpKey, permission: 'cloudkms.cryptoKeyVersions.viewPublicKey' | 'cloudkms.cryptoKeyVersions.useToSign'): void {
    if (key.denied.has(permission)) {
      throw new RpcError(403, 'PERMISSION_DENIED', `Permission '${permission}' denied on resource '${key.name}' (or it may not exist).`);
    }
    if (key.state !== 'ENABLED') {
      throw new RpcError(
        400,
        'FAILED_PRECONDITION',
        `The request cannot be fulfilled. Resource ${key.name} has value ${key.state} in field crypto_key_version.state.`,
      );
    }
  }

  function getPublicKey(name: string, intEnums: boolean, fault: GcpFault | undefined): object {
    const key = findKey(name);
    checkAccess(key, 'cloudkms.cryptoKeyVersions.viewPublicKey');
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const crc = crc32c(pem) ^ (fault?.corrupt === 'pemCrc32c' ? 1 : 0);
    return {
      pem,
      algorithm: intEnums ? ENUM[key.algorithm] : key.algorithm,
      pemCrc32c: String(crc >>> 0),
      name: key.name,
      protectionLevel: intEnums ? PROTECTION_SOFTWARE : 'SOFTWARE',
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function asymmetricSign(name: string, body: any, intEnums: boolean, fault: GcpFault | undefined): object {
    const key = findKey(name);
    checkAccess(key, 'cloudkms.cryptoKeyVersions.useToSign');
    const hash = DIGEST[key.algorithm];
    let signature: Buffer;
    let verifiedDigest = false;
    let verifiedData = false;
    if (body.digest !== undefined && body.data !== undefined) {
      throw new RpcError(400, 'INVALID_ARGUMENT', 'Only one of digest and data may be set.');
    }
    if (body.data !== undefined) {
      const data = Buffer.from(String(body.data), 'base64');
      if (body.dataCrc32c !== undefined) {
        if (Number(body.dataCrc32c) !== crc32c(data)) {
          throw new RpcError(400, 'INVALID_ARGUMENT', 'The checksum in field data_crc32c did not match the data in field data.');
        }
        verifiedData = true;
      }
      if (key.algorithm !== 'EC_SIGN_ED25519') {
        throw new RpcError(400, 'INVALID_ARGUMENT', `Algorithm ${key.algorithm} requires a digest; use the digest field.`);
      }
      signature = sign(null, data, key.privateKey);
    } else {
      if (!hash) throw new RpcError(400, 'INVALID_ARGUMENT', `Algorithm ${key.algorithm} signs data, not a digest; use the data field.`);
      const given = Object.keys(body.digest ?? {});
      if (given.length !== 1 || given[0] !== hash) {
        throw new RpcError(400, 'INVALID_ARGUMENT', `The digest type does not match the algorithm ${key.algorithm} of the key version.`);
      }
      const digest = Buffer.from(String(body.digest[hash]), 'base64');
      if (digest.length !== createHash(hash).digest().length) throw new RpcError(400, 'INVALID_ARGUMENT', 'Digest has the wrong length.');
      if (body.digestCrc32c !== undefined) {
        if (Number(body.digestCrc32c) !== crc32c(digest)) {
          throw new RpcError(400, 'INVALID_ARGUMENT', 'The checksum in field digest_crc32c did not match the data in field digest.');
        }
        verifiedDigest = true;
      }
      const signer = fault?.wrongSignature ? generate(key.algorithm).privateKey : key.privateKey;
      if (key.algorithm.startsWith('RSA_SIGN_PSS')) signature = rsaPssSignDigest(signer, hash, digest);
      else if (key.algorithm.startsWith('EC_SIGN')) signature = ecdsaSignDigest(signer, digest);
      else throw new RpcError(400, 'INVALID_ARGUMENT', `Algorithm ${key.algorithm} is not supported by the loopback KMS.`);
    }
    if (fault?.wrongSignature && !hash) signature = sign(null, Buffer.from('other'), key.privateKey);
    const crc = crc32c(signature) ^ (fault?.corrupt === 'signatureCrc32c' ? 1 : 0);
    return {
      signature: signature.toString('base64'),
      signatureCrc32c: String(crc >>> 0),
      verifiedDigestCrc32c: fault?.corrupt === 'verified' ? false : verifiedDigest,
      verifiedDataCrc32c: fault?.corrupt === 'verified' ? false : verifiedData,
      name: key.name,
      protectionLevel: intEnums ? PROTECTION_SOFTWARE : 'SOFTWARE',
    };
  }

  async function handleKms(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const publicKey = req.method === 'GET' && /^\/v1\/(.+)\/publicKey$/.exec(path);
    const signing = req.method === 'POST' && /^\/v1\/(.+):asymmetricSign$/.exec(path);
    const operation = publicKey ? 'getPublicKey' : signing ? 'asymmetricSign' : '';
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const entry = record(req, operation, body);
    const intEnums = (url.searchParams.get('$alt') ?? '').includes('enum-encoding=int');
    try {
      const fault = takeFault(operation);
      if (fault?.hang) return;
      if (fault && !fault.corrupt && !fault.wrongSignature) {
        throw new RpcError(fault.status ?? 503, fault.rpcStatus ?? 'UNAVAILABLE', fault.message ?? 'The service is currently unavailable.');
      }
      const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!accessTokens.has(bearer) && !federatedTokens.has(bearer)) {
        throw new RpcError(
          401,
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        );
      }
      if (body === undefined || typeof body !== 'object' || body === null)
        throw new RpcError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload.');
      if (publicKey) send(res, entry, 200, getPublicKey(publicKey[1]!, intEnums, fault));
      else if (signing) send(res, entry, 200, asymmetricSign(signing[1]!, body, intEnums, fault));
      else throw new RpcError(404, 'NOT_FOUND', `${req.method} ${path} is not a method of the loopback KMS.`);
    } catch (error) {
      if (error instanceof RpcError) {
        send(res, entry, error.httpStatus, { error: { code: error.httpStatus, message: error.message, status: error.rpcStatus } });
      } else {
        send(res, entry, 500, { error: { code: 500, message: (error as Error).message, status: 'INTERNAL' } });
      }
    }
  }

  const kmsServer = createServer((req, res) => void handleKms(req, res));
  const authServer = createServer((req, res) => void handleAuth(req, res));
  const endpoint = await listen(kmsServer);
  const authOrigin = await listen(authServer);

  return {
    endpoint,
    authOrigin,
    project,
    location,
    serviceAccount,
    audience,
    oidcToken,
    requests,
    keys,
    createKey,
    fail: (fault, times = 1) => {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    credentialsFile: (path, fileOptions = {}) => {
      const tokenUrl = new URL(`${authOrigin}/github/token`);
      tokenUrl.searchParams.set('audience', `https://iam.googleapis.com${fileOptions.audience ?? audience}`);
      const data: Record<string, unknown> = {
        type: 'external_account',
        audience: fileOptions.audience ?? audience,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${authOrigin}/sts/v1/token`,
        credential_source: {
          url: tokenUrl.href,
          headers: { Authorization: `Bearer ${fileOptions.requestToken ?? REQUEST_TOKEN}` },
          format: { type: 'json', subject_token_field_name: 'value' },
        },
      };
      if (fileOptions.impersonate !== false) {
        data.service_account_impersonation_url = `${authOrigin}/iamcredentials/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`;
      }
      writeFileSync(path, JSON.stringify(data), { mode: 0o600 });
      return path;
    },
    close: async () => {
      for (const server of [kmsServer, authServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

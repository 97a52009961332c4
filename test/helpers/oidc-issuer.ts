/**
 * A real OIDC issuer for tests: an HTTP server on 127.0.0.1 (free port)
 * serving its discovery document (issuer = its own base URL plus an optional
 * path, jwks_uri pointing at itself) and a JWKS, with every response
 * replaceable (raw body, status, headers, chunked bodies, redirects).
 * Keys are generated at test time; no key material is committed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export interface ServedResponse {
  status?: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send the body in 16 KiB chunks without Content-Length. */
  chunked?: boolean;
}

export interface OidcIssuer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The issuer identifier: origin plus the optional path. */
  issuer: string;
  discoveryPath: string;
  jwksPath: string;
  /** Paths requested so far. */
  requests: string[];
  /** Serves this JWKS (a JSON value) at jwksPath. */
  setJwks(jwks: unknown): void;
  /** Serves this discovery document (a JSON value) instead of the default one. */
  setDiscovery(discovery: unknown): void;
  /** Serves `response` at `path` instead of anything else; undefined restores the default. */
  setResponse(path: string, response: ServedResponse | undefined): void;
  /** Answers `path` with a redirect to `location`. */
  redirect(path: string, location: string, status?: number): void;
  close(): Promise<void>;
}

export async function startOidcIssuer(options: { path?: string } = {}): Promise<OidcIssuer> {
  const overrides = new Map<string, ServedResponse>();
  const requests: string[] = [];
  let jwks: unknown = { keys: [] };
  let discovery: unknown;
  const send = (res: ServerResponse, response: ServedResponse): void => {
    const body = typeof response.body === 'string' ? Buffer.from(response.body) : (response.body ?? Buffer.alloc(0));
    const headers = { 'content-type': 'application/json', ...response.headers };
    if (!response.chunked) {
      res.writeHead(response.status ?? 200, { ...headers, 'content-length': String(body.length) }).end(body);
      return;
    }
    res.writeHead(response.status ?? 200, headers);
    for (let offset = 0; offset < body.length; offset += 16 * 1024) res.write(body.subarray(offset, offset + 16 * 1024));
    res.end();
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const override = overrides.get(path);
    if (override) send(res, override);
    else if (path === state.discoveryPath) {
      send(res, { body: JSON.stringify(discovery ?? { issuer: state.issuer, jwks_uri: `${state.origin}${state.jwksPath}` }) });
    } else if (path === state.jwksPath) send(res, { body: JSON.stringify(jwks) });
    else send(res, { status: 404, body: '{"error":"not found"}' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}${options.path ?? ''}`;
  const state: OidcIssuer = {
    origin,
    issuer,
    discoveryPath: `${options.path?.replace(/\/$/, '') ?? ''}/.well-known/openid-configuration`,
    jwksPath: '/jwks',
    requests,
    setJwks: (value) => void (jwks = value),
    setDiscovery: (value) => void (discovery = value),
    setResponse: (path, response) => void (response ? overrides.set(path, response) : overrides.delete(path)),
    redirect: (path, location, status = 302) => void overrides.set(path, { status, headers: { location } }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

export type TestKeyKind = 'RSA' | 'EC' | 'Ed25519';

const ALGORITHM: Record<TestKeyKind, string> = { RSA: 'RS256', EC: 'ES256', Ed25519: 'EdDSA' };

/** A fresh key pair's public JWK (use "sig", alg set), or its private JWK when `withPrivate`. */
export async function newJwk(kid: string, kind: TestKeyKind = 'EC', withPrivate = false): Promise<JWK> {
  const alg = ALGORITHM[kind];
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(withPrivate ? privateKey : publicKey)), kid, use: 'sig', alg };
}

/** A public RSA JWK of `bits` bits (below what jose will generate). */
export function rsaJwkOfSize(kid: string, bits: number): JWK {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig', alg: 'RS256' };
}

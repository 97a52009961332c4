/**
 * Fetching an issuer's keys: its OIDC discovery document, then the JWKS its
 * `jwks_uri` names, over HTTPS (plain HTTP only to a loopback host, and only
 * when allowed), with size caps, a deadline per request and at most three
 * redirects, each hop held to the same scheme rules. Every failure is a
 * JwksError naming the issuer and the URL.
 */
import { JwksError } from '../errors.js';
import { BodyTooLarge, NetworkFailure, exchange } from '../oci/http.js';
import { isLoopbackHost } from '../oci/registry-client.js';
import { discoveryUrl, parseIssuer } from './issuer.js';
import { JSONParseError, parseJSON } from '../metadata/strict-json.js';

export const DISCOVERY_MAX_BYTES = 64 * 1024;
export const JWKS_MAX_BYTES = 256 * 1024;
export const REQUEST_TIMEOUT_MS = 15_000;
export const MAX_REDIRECTS = 3;
const USER_AGENT = 'tufctl (OIDC JWKS mirror)';

export interface FetchOptions {
  /** Allow plain HTTP to loopback hosts (test issuers). */
  allowHttpLoopback: boolean;
  timeoutMs?: number;
}

/** What discovery found: the `jwks_uri` exactly as published, and the parsed JWKS document (not yet checked). */
export interface FetchedKeys {
  jwksUri: string;
  document: unknown;
}

/** Refuses a URL keys must not be fetched from: anything but HTTPS, except plain HTTP to loopback when allowed. */
export function checkKeyUrl(url: URL, issuer: string, what: string, allowHttpLoopback: boolean): void {
  const refuse = (why: string): never => {
    throw new JwksError('JWKS_INSECURE_URL', `issuer ${issuer}: ${why}`);
  };
  // Never echo credentials.
  if (url.username !== '' || url.password !== '') refuse(`the ${what} URL must not contain credentials`);
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') refuse(`the ${what} ${url.href} uses ${url.protocol}; HTTPS is required`);
  if (!isLoopbackHost(url.host)) {
    refuse(`the ${what} ${url.href} is plain HTTP; HTTPS is required (plain HTTP is allowed only to loopback hosts)`);
  }
  if (!allowHttpLoopback) refuse(`the ${what} ${url.href} is plain HTTP; for a loopback test issuer pass --allow-http-loopback`);
}

/** GETs `url` and parses its body as JSON, within `maxBytes`. */
async function fetchJson(issuer: string, url: URL, what: string, maxBytes: number, options: FetchOptions): Promise<unknown> {
  const where = `${what} ${url.href}`;
  let requests = 0;
  let response;
  try {
    response = await exchange(
      { method: 'GET', url, headers: { Accept: 'application/json' }, maxBytes },
      {
        timeoutMs: options.timeoutMs ?? REQUEST_TIMEOUT_MS,
        userAgent: USER_AGENT,
        onRequest: () => {
          if (++requests > MAX_REDIRECTS + 1) {
            throw new JwksError('JWKS_UNREACHABLE', `issuer ${issuer}: cannot fetch the ${where}: more than ${MAX_REDIRECTS} redirects`);
          }
        },
        allowPlainHttp: (next) => {
          checkKeyUrl(next, issuer, `${what} redirect target`, options.allowHttpLoopback);
          return true;
        },
      },
    );
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      throw new JwksError('JWKS_TOO_LARGE', `issuer ${issuer}: the ${where} is larger than ${maxBytes} bytes`);
    }
    if (error instanceof NetworkFailure) {
      const hop = error.url.href !== url.href ? ` (redirected to ${error.url.href})` : '';
      throw new JwksError('JWKS_UNREACHABLE', `issuer ${issuer}: cannot fetch the ${where}${hop}: ${error.reason}`);
    }
    throw error;
  }
  if (response.status < 200 || response.status > 299) {
    throw new JwksError('JWKS_UNREACHABLE', `issuer ${issuer}: cannot fetch the ${where}: the server answered HTTP ${response.status}`);
  }
  try {
    return parseJSON(response.body);
  } catch (error) {
    // A member twice (two "jwks_uri", two "keys") means one thing to us and another to other verifiers.
    const duplicate = error instanceof JSONParseError && error.kind === 'duplicate' ? ` (${error.message})` : '';
    throw new JwksError('JWKS_INVALID', `issuer ${issuer}: the ${where} is not valid JSON${duplicate}`);
  }
}

/**
 * Discovers `issuer`'s `jwks_uri` and fetches its JWKS. The discovery
 * document must name exactly the configured issuer.
 */
export async function fetchIssuerKeys(issuer: string, options: FetchOptions): Promise<FetchedKeys> {
  checkKeyUrl(parseIssuer(issuer), issuer, 'issuer', options.allowHttpLoopback);
  const location = discoveryUrl(issuer);
  const discovery = await fetchJson(issuer, location, 'discovery document', DISCOVERY_MAX_BYTES, options);
  if (discovery === null || typeof discovery !== 'object' || Array.isArray(discovery)) {
    throw new JwksError('JWKS_INVALID', `issuer ${issuer}: the discovery document ${location.href} is not a JSON object`);
  }
  const { issuer: named, jwks_uri: jwksUri } = discovery as Record<string, unknown>;
  if (named !== issuer) {
    throw new JwksError(
      'JWKS_ISSUER_MISMATCH',
      `issuer ${issuer}: the discovery document ${location.href} names issuer ${JSON.stringify(named)}, ` +
        `not ${JSON.stringify(issuer)} (OIDC requires them to be identical)`,
    );
  }
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new JwksError('JWKS_INVALID', `issuer ${issuer}: the discovery document ${location.href} has no absolute "jwks_uri" URL`);
  }
  const jwksUrl = new URL(jwksUri);
  checkKeyUrl(jwksUrl, issuer, 'jwks_uri', options.allowHttpLoopback);
  return { jwksUri, document: await fetchJson(issuer, jwksUrl, 'JWKS', JWKS_MAX_BYTES, options) };
}

/**
 * An OCI distribution-spec registry as an `OciTarget`: the blob and manifest
 * operations tufctl publishes with, over Node's fetch.
 *
 * Authentication works like container tools: every request is first sent
 * as it is; a 401 names the scheme in WWW-Authenticate (Basic, or a Bearer
 * token service), credentials come from a CredentialSource, tokens are
 * cached per scope. Transient failures (network errors, timeouts, 408, 429,
 * 5xx) are retried with backoff (http.ts). Content fetched by digest is
 * verified. Every failure is a TufctlError; no message ever carries a
 * password, token or Authorization header.
 */
import { digestOf } from './digest.js';
import { readFileSync } from 'node:fs';
import { TufctlError } from '../errors.js';
import { defaultCredentials, type CredentialSource, type RegistryCredentials } from './credentials.js';
import {
  BodyTooLarge,
  DEFAULT_RETRY_POLICY,
  exchange,
  isRetryableStatus,
  NetworkFailure,
  RetryableStatus,
  withRetries,
  type HttpRequest,
  type HttpResponse,
  type RetryPolicy,
} from './http.js';
import { DEFAULT_BLOB_LIMIT, MANIFEST_LIMIT, ResponseTooLargeError } from './limits.js';
import type { OciRepository, OciStats, OciTarget, StoredManifest } from './store.js';
import { parseJSON } from '../metadata/strict-json.js';

export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** The largest blob the first upload to a registry may be sent with its POST, to learn whether the registry keeps it. */
const SINGLE_REQUEST_PROBE_BYTES = 64 * 1024;
const MANIFEST_ACCEPT = [MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_LIST].join(', ');

export interface RegistryTargetOptions {
  /** `host[:port]`; `[::1]:5000` for IPv6. */
  host: string;
  /** Path prefix of every repository, e.g. `acme` or `acme/tuf` ('' for none). */
  namespace: string;
  /** Use http:// even for a non-loopback host. Loopback hosts use http:// unless this is false. */
  plainHttp?: boolean;
  /** Where credentials come from after a 401; default env variables, then the docker config. */
  credentials?: CredentialSource;
  /** Deadline of one HTTP exchange (headers and body); default 60 s. */
  timeoutMs?: number;
  /** Retries of a failed operation after the first attempt; default 5 (as oras-go), about 6 s of backoff in all. */
  retries?: number;
  userAgent?: string;
}

/** A registry failure; `status` is set when the registry answered (e.g. 404 for a missing blob). */
export class RegistryError extends TufctlError {
  constructor(
    code: 'REGISTRY_ERROR' | 'REGISTRY_AUTH' | 'REGISTRY_UNREACHABLE' | 'DIGEST_MISMATCH',
    message: string,
    details: string[],
    readonly host: string,
    readonly status?: number,
    readonly ociErrors: { code: string; message: string }[] = [],
  ) {
    super(code, message, details);
  }
}

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'dev';
  }
})();

// ---------------------------------------------------------------------------
// Names, references, URLs

const HOST_PATTERN = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** Splits `oci://HOST[:PORT]/NAMESPACE` into host and namespace. */
export function parseOciUrl(url: string): { host: string; namespace: string } {
  const match = /^oci:\/\/([^/]*)(?:\/(.*))?$/.exec(url.trim());
  if (!match) throw new TufctlError('USAGE', `not an OCI registry location: ${JSON.stringify(url)} (expected oci://HOST[:PORT]/NAMESPACE)`);
  const host = match[1]!;
  // Never echo a URL that holds user info: it may be a password.
  if (host.includes('@')) {
    throw new TufctlError(
      'USAGE',
      'credentials must not be part of an oci:// location; use TUFCTL_REGISTRY_USERNAME/TUFCTL_REGISTRY_PASSWORD or docker login',
    );
  }
  if (/[?#]/.test(url)) throw new TufctlError('USAGE', `an oci:// location has no query or fragment: ${JSON.stringify(url)}`);
  const namespace = (match[2] ?? '').replace(/\/+$/, '');
  checkHost(host);
  if (namespace !== '') checkRepositoryName(namespace, 'namespace');
  return { host: host.toLowerCase(), namespace };
}

/** Whether a `host[:port]` is a loopback address or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower) || lower === '::1' || lower === '::ffff:127.0.0.1';
}

/** The scheme and origin a target uses: https unless the host is loopback (or plainHttp). */
export function registryOrigin(host: string, plainHttp?: boolean): string {
  const http = plainHttp === true || (plainHttp === undefined && isLoopbackHost(host));
  return `${http ? 'http' : 'https'}://${apiHost(host)}`;
}

/** Docker Hub's API lives at registry-1.docker.io. */
function apiHost(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' ? 'registry-1.docker.io' : host;
}

function checkHost(host: string): void {
  const match = HOST_PATTERN.exec(host);
  if (!match || (match[1] !== undefined && Number(match[1]) > 65535)) {
    throw new TufctlError('USAGE', `invalid registry host ${JSON.stringify(host)} (expected HOST or HOST:PORT)`);
  }
}

function checkRepositoryName(name: string, what = 'repository name'): void {
  if (name.length > 255 || !name.split('/').every((part) => NAME_COMPONENT.test(part))) {
    throw new TufctlError(
      'USAGE',
      `invalid OCI ${what} ${JSON.stringify(name)}: lowercase letters, digits and separators (. _ __ -) in /-separated parts, at most 255 characters`,
    );
  }
}

function checkDigest(digest: string): void {
  if (!DIGEST_PATTERN.test(digest))
    throw new TufctlError('USAGE', `invalid digest ${JSON.stringify(digest)} (expected sha256:<64 hex> or sha512:<128 hex>)`);
}

function checkReference(reference: string): void {
  if (!TAG_PATTERN.test(reference) && !DIGEST_PATTERN.test(reference)) {
    throw new TufctlError(
      'USAGE',
      `invalid manifest reference ${JSON.stringify(reference)} (a tag of at most 128 characters, or a digest)`,
    );
  }
}

/** `algorithm:hex` of the bytes, with the algorithm of `like` (default sha256). */

// ---------------------------------------------------------------------------
// WWW-Authenticate

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`); the first challenge wins. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,\s*|$)/gy;
  const rest = match[2]!;
  for (let m = pattern.exec(rest); m; m = pattern.exec(rest)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    if (pattern.lastIndex >= rest.length) break;
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

// ---------------------------------------------------------------------------
// The target

interface Scope {
  repository: string;
  push: boolean;
}

function scopeString(scope: Scope): string {
  return `repository:${scope.repository}:${scope.push ? 'pull,push' : 'pull'}`;
}

interface Operation {
  method: string;
  url: URL;
  scope: Scope;
  headers?: Record<string, string>;
  body?: Buffer;
  maxBytes?: number;
  /** What the operation is, for messages: "PUT manifest ns/repo:latest". */
  what: string;
}

/** An OCI registry namespace: `oci://HOST/NAMESPACE`. */
export class RegistryTarget implements OciTarget {
  readonly location: string;
  readonly host: string;
  readonly namespace: string;
  /** `https://HOST` or `http://HOST`. */
  readonly origin: string;
  private readonly session: RegistrySession;

  constructor(options: RegistryTargetOptions) {
    checkHost(options.host);
    const namespace = options.namespace.replace(/^\/+|\/+$/g, '');
    if (namespace !== '') checkRepositoryName(namespace, 'namespace');
    this.host = options.host.toLowerCase();
    this.namespace = namespace;
    this.location = `oci://${this.host}${namespace ? `/${namespace}` : ''}`;
    this.origin = registryOrigin(this.host, options.plainHttp);
    this.session = new RegistrySession(this.host, this.origin, options);
  }

  /** A target from `oci://HOST[:PORT]/NAMESPACE` plus options. */
  static fromUrl(url: string, options: Omit<RegistryTargetOptions, 'host' | 'namespace'> = {}): RegistryTarget {
    return new RegistryTarget({ ...parseOciUrl(url), ...options });
  }

  repository(name: string): OciRepository {
    const full = this.namespace ? `${this.namespace}/${name}` : name;
    checkRepositoryName(full);
    return new RegistryRepository(this.session, full);
  }

  stats(): OciStats {
    return { ...this.session.counters };
  }
}

/** What the repositories of one target share: transport settings, credentials, cached authorization, counters. */
class RegistrySession {
  readonly counters: OciStats = { requests: 0, bytesUploaded: 0, blobsUploaded: 0, manifestsPut: 0 };
  private readonly credentials: CredentialSource;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly userAgent: string;
  private readonly plainHttp: boolean | undefined;
  private resolved?: Promise<RegistryCredentials | undefined>;
  /** Set once the registry asked for Basic: sent with every later request. */
  private basic?: string;
  /** Where the credentials in use came from (for messages). */
  private credentialSource?: string;
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  /** Token requests under way, by scope: concurrent requests that meet a 401 share one. */
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /**
   * Whether the registry stores a blob sent with the POST that starts its
   * upload (undefined until the first small upload has shown it).
   */
  singleRequestUpload: boolean | undefined;
  /** The upload that is finding that out; other uploads wait for it. */
  uploadProbe: Promise<unknown> | undefined;

  constructor(
    readonly host: string,
    readonly origin: string,
    options: RegistryTargetOptions,
  ) {
    this.plainHttp = options.plainHttp;
    this.credentials = options.credentials ?? defaultCredentials();
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.policy = { ...DEFAULT_RETRY_POLICY, retries: options.retries ?? DEFAULT_RETRY_POLICY.retries };
    this.userAgent = options.userAgent ?? `tufctl/${VERSION}`;
  }

  /** Counts a stored blob or manifest. */
  count(kind: 'blob' | 'manifest', bytes: number): void {
    this.counters.bytesUploaded += bytes;
    if (kind === 'blob') this.counters.blobsUploaded++;
    else this.counters.manifestsPut++;
  }

  /** URL of a registry API path. */
  url(path: string): URL {
    return new URL(path, this.origin);
  }

  /** Runs `attempt` with retries; turns transport failures into TufctlErrors. */
  async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(this.policy, attempt);
    } catch (error) {
      throw this.toTufctlError(error, what);
    }
  }

  /**
   * One attempt of one request: anonymous or with cached
   * authorization first; on 401, authenticate as challenged and send once
   * more. Throws RetryableStatus for 408/429/5xx.
   */
  async send(op: Operation): Promise<HttpResponse> {
    // A token for this scope is on its way (another request met a 401): wait for it rather than meet one too.
    const pending = this.pendingTokens.get(scopeString(op.scope));
    if (pending) await pending.catch(() => undefined);
    let authorization = this.cachedAuthorization(op.scope);
    let response = await this.exchange(op, authorization);
    if (response.status === 401) {
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (authorization?.startsWith('Bearer ')) this.tokens.delete(scopeString(op.scope));
      if (authorization?.startsWith('Basic ') || !challenge) throw this.authFailure(op, response, challenge);
      authorization = await this.authorize(op, challenge);
      response = await this.exchange(op, authorization);
      if (response.status === 401) throw this.authFailure(op, response, challenge);
    }
    if (response.status === 403) throw this.authFailure(op, response, undefined);
    if (isRetryableStatus(response.status)) throw new RetryableStatus(op.method, response);
    return response;
  }

  private exchange(op: Operation, authorization: string | undefined): Promise<HttpResponse> {
    const request: HttpRequest = { method: op.method, url: op.url, headers: op.headers, body: op.body, maxBytes: op.maxBytes };
    if (authorization) request.authorization = { origin: this.origin, value: authorization };
    return exchange(request, {
      timeoutMs: this.timeoutMs,
      userAgent: this.userAgent,
      onRequest: () => this.counters.requests++,
      allowPlainHttp: (url) => this.plainHttp === true || (this.plainHttp === undefined && isLoopbackHost(url.host)),
    });
  }

  private cachedAuthorization(scope: Scope): string | undefined {
    if (this.basic) return this.basic;
    const now = Date.now();
    const wanted = scope.push ? [scopeString(scope)] : [scopeString(scope), scopeString({ ...scope, push: true })];
    for (const key of wanted) {
      const token = this.tokens.get(key);
      if (token && token.expiresAt > now) return `Bearer ${token.value}`;
    }
    return undefined;
  }

  private async resolveCredentials(): Promise<RegistryCredentials | undefined> {
    this.resolved ??= this.credentials.resolve(this.host);
    const credentials = await this.resolved;
    this.credentialSource = credentials ? (credentials.source ?? 'the credential source') : undefined;
    return credentials;
  }

  private async authorize(op: Operation, challenge: Challenge): Promise<string> {
    const credentials = await this.resolveCredentials();
    if (challenge.scheme === 'basic') {
      if (!credentials) throw this.authError(op, 'the registry requires credentials and none were found', undefined, 401);
      if (!('password' in credentials)) {
        throw this.authError(op, 'the registry asks for Basic authentication, which an identity token cannot do', credentials.source, 401);
      }
      const value = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      this.basic = value;
      return value;
    }
    if (challenge.scheme === 'bearer') {
      const key = scopeString(op.scope);
      let token = this.pendingTokens.get(key);
      if (!token) {
        token = this.fetchToken(op, challenge, credentials).finally(() => this.pendingTokens.delete(key));
        this.pendingTokens.set(key, token);
      }
      return `Bearer ${await token}`;
    }
    throw this.authError(op, `the registry asks for unsupported authentication scheme "${challenge.scheme}"`, credentials?.source, 401);
  }

  /** Gets a token from the challenge's realm for the operation's scope (GET, or POST with an identity token). */
  private async fetchToken(op: Operation, challenge: Challenge, credentials: RegistryCredentials | undefined): Promise<string> {
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? '');
    } catch {
      throw this.authError(op, 'the registry named no valid token service (Bearer realm)', credentials?.source, 401);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw this.authError(op, `the token service ${realm.protocol} is not HTTP(S)`, credentials?.source, 401);
    }
    if (credentials && realm.protocol === 'http:' && !(this.plainHttp === true || isLoopbackHost(realm.host))) {
      throw this.authError(op, `refusing to send credentials to plain-HTTP token service ${realm.origin}`, credentials.source, 401);
    }
    const scope = scopeString(op.scope);
    const service = challenge.params.service;
    let request: HttpRequest;
    if (credentials && 'identitytoken' in credentials) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identitytoken,
        client_id: 'tufctl',
        scope,
      });
      if (service) form.set('service', service);
      request = {
        method: 'POST',
        url: realm,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        maxBytes: 1 << 20,
      };
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set('service', service);
      url.searchParams.set('scope', scope);
      if (credentials) url.searchParams.set('account', credentials.username);
      request = { method: 'GET', url, maxBytes: 1 << 20 };
      if (credentials) {
        const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
        request.authorization = { origin: realm.origin, value: `Basic ${basic}` };
      }
    }
    const response = await exchange(request, {
      timeoutMs: this.timeoutMs,
      userAgent: this.userAgent,
      onRequest: () => this.counters.requests++,
      allowPlainHttp: (url) => this.plainHttp === true || isLoopbackHost(url.host),
    });
    if (response.status === 401 || response.status === 403) {
      throw this.authError(
        op,
        credentials
          ? `the token service ${realm.origin} refused the credentials (${response.status})`
          : `the token service ${realm.origin} refused anonymous access (${response.status}) and no credentials were found`,
        credentials?.source,
        response.status,
      );
    }
    if (isRetryableStatus(response.status)) throw new RetryableStatus(request.method, response);
    if (response.status < 200 || response.status >= 300) {
      throw this.authError(op, `the token service ${realm.origin} answered ${response.status}`, credentials?.source, response.status);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = parseJSON(response.body) as typeof body;
    } catch {
      throw this.authError(op, `the token service ${realm.origin} answered with something that is not JSON`, credentials?.source, 401);
    }
    const token =
      typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw this.authError(op, `the token service ${realm.origin} answered without a token`, credentials?.source, 401);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    // Renew a little early so a token does not expire between check and use.
    this.tokens.set(scope, { value: token, expiresAt: Date.now() + Math.max(lifetime - 10, 5) * 1000 });
    return token;
  }

  private authFailure(op: Operation, response: HttpResponse, challenge: Challenge | undefined): RegistryError {
    const errors = ociErrors(response.body);
    const source = this.credentialSource;
    const anonymous = this.resolved !== undefined && source === undefined;
    let why: string;
    if (response.status === 403) why = 'access denied (403)';
    else if (!challenge) why = 'the registry answered 401 without a usable WWW-Authenticate challenge';
    else if (challenge.scheme === 'basic') why = 'the registry rejected the credentials';
    else if (anonymous) why = `anonymous access (scope ${scopeString(op.scope)}) was refused and no credentials were found`;
    else why = `the registry refused the token for scope ${scopeString(op.scope)}`;
    return this.authError(op, why, source, response.status, errors);
  }

  private authError(op: Operation, why: string, source: string | undefined, status: number, errors: OciErrorEntry[] = []): RegistryError {
    const details = [`registry: ${this.host}`, `repository: ${op.scope.repository}`, `operation: ${op.what}`];
    details.push(
      source ? `credentials from: ${source}` : 'credentials: none found (TUFCTL_REGISTRY_USERNAME/TUFCTL_REGISTRY_PASSWORD, docker config)',
    );
    for (const e of errors) details.push(`${e.code}: ${e.message}`);
    return new RegistryError(
      'REGISTRY_AUTH',
      `authentication to ${this.host} failed (${status}) for ${op.scope.repository}: ${why}; check credentials`,
      details,
      this.host,
      status,
      errors,
    );
  }

  /** Transport failures and unexpected answers as TufctlErrors. */
  private toTufctlError(error: unknown, what: string): unknown {
    if (error instanceof TufctlError) return error;
    if (error instanceof NetworkFailure) {
      const attempts = error.attempts > 1 ? ` after ${error.attempts} attempts` : '';
      const details = [`url: ${error.url.origin}${error.url.pathname}`, `operation: ${what}`, `cause: ${error.reason}`];
      if (error.hint) details.push(error.hint);
      return new RegistryError(
        'REGISTRY_UNREACHABLE',
        `cannot reach registry ${this.host}${attempts}: ${error.reason}`,
        details,
        this.host,
      );
    }
    if (error instanceof RetryableStatus) {
      const extra = error.attempts > 1 ? ` (after ${error.attempts} attempts)` : '';
      return unexpectedStatus(this.host, what, error.response, extra);
    }
    if (error instanceof BodyTooLarge) {
      return new ResponseTooLargeError(`${what} (from ${this.host})`, error.limit, error.size);
    }
    return error;
  }
}

interface OciErrorEntry {
  code: string;
  message: string;
}

/** The `errors[]` of an OCI error body, if it is one. */
function ociErrors(body: Buffer): OciErrorEntry[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.slice(0, 5).map((e) => ({
      code: typeof e?.code === 'string' ? e.code.slice(0, 64) : 'UNKNOWN',
      message: typeof e?.message === 'string' ? e.message.slice(0, 300) : '',
    }));
  } catch {
    return [];
  }
}

function unexpectedStatus(host: string, what: string, response: HttpResponse, extra = ''): RegistryError {
  const errors = ociErrors(response.body);
  const summary = errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
  const details = [`url: ${response.url.origin}${response.url.pathname}`, `status: ${response.status}`];
  const retryAfter = response.headers.get('retry-after');
  if (response.status === 429 && retryAfter) details.push(`the registry asks to retry after: ${retryAfter}`);
  for (const e of errors) details.push(`${e.code}: ${e.message}`);
  return new RegistryError(
    'REGISTRY_ERROR',
    `${what}: registry ${host} answered ${response.status}${extra}${summary ? ` (${summary})` : ''}`,
    details,
    host,
    response.status,
    errors,
  );
}

function mediaTypeOf(response: HttpResponse): string | undefined {
  const type = response.headers.get('content-type')?.split(';')[0]?.trim();
  return type || undefined;
}

// ---------------------------------------------------------------------------
// One repository

class RegistryRepository implements OciRepository {
  constructor(
    private readonly session: RegistrySession,
    readonly name: string,
  ) {}

  private op(method: string, path: string, push: boolean, what: string, extra: Partial<Operation> = {}): Operation {
    return { method, url: this.session.url(`/v2/${this.name}/${path}`), scope: { repository: this.name, push }, what, ...extra };
  }

  private fail(what: string, response: HttpResponse): RegistryError {
    return unexpectedStatus(this.session.host, what, response);
  }

  async hasBlob(digest: string): Promise<boolean> {
    checkDigest(digest);
    const what = `HEAD blob ${this.name}@${digest}`;
    return this.session.retrying(what, async () => {
      const response = await this.session.send(this.op('HEAD', `blobs/${digest}`, false, what));
      if (response.status === 200) return true;
      if (response.status === 404) return false;
      throw this.fail(what, response);
    });
  }

  async getBlob(digest: string, maxBytes = DEFAULT_BLOB_LIMIT): Promise<Buffer> {
    checkDigest(digest);
    const what = `GET blob ${this.name}@${digest}`;
    return this.session.retrying(what, async () => {
      const response = await this.session.send(this.op('GET', `blobs/${digest}`, false, what, { maxBytes }));
      if (response.status !== 200) throw this.fail(what, response);
      this.verify(digest, response.body, what);
      return response.body;
    });
  }

  /**
   * Uploads a blob. Where the registry stores a blob sent with the POST that
   * starts the upload (`POST …/blobs/uploads/?digest=` answered 201, OCI
   * distribution spec), that is the whole upload: one request. A registry
   * that answers 202 instead (Distribution 2.8 does: it opens an upload
   * session and drops the body) gets the body again by PUT to the session,
   * and every later upload is the usual POST then PUT. Which one the
   * registry does is learnt once per target, from the first blob of at most
   * SINGLE_REQUEST_PROBE_BYTES (uploads meanwhile wait for the answer), so
   * a registry that ignores the body is never sent a large one twice.
   */
  async putBlob(digest: string, bytes: Buffer): Promise<void> {
    checkDigest(digest);
    if (digestOf(bytes, digest) !== digest) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `cannot upload blob to ${this.name}: the bytes do not have digest ${digest}`,
        [],
        this.session.host,
      );
    }
    const what = `upload blob ${this.name}@${digest}`;
    const session = this.session;
    while (session.singleRequestUpload === undefined && session.uploadProbe) await session.uploadProbe.catch(() => undefined);
    let uploaded: boolean;
    if (session.singleRequestUpload === undefined && bytes.length <= SINGLE_REQUEST_PROBE_BYTES) {
      const probe = this.upload(digest, bytes, what, true);
      session.uploadProbe = probe;
      try {
        uploaded = await probe;
      } finally {
        session.uploadProbe = undefined;
      }
    } else uploaded = await this.upload(digest, bytes, what, session.singleRequestUpload === true);
    if (uploaded) session.count('blob', bytes.length);
  }

  /** One upload, retried as a whole; whether the bytes were stored (false: the registry had the blob). */
  private upload(digest: string, bytes: Buffer, what: string, singleRequest: boolean): Promise<boolean> {
    // POST and PUT are retried together: a PUT cut off mid-body may leave the upload session unusable.
    return this.session.retrying(what, async () => {
      if (singleRequest && this.session.singleRequestUpload !== false) {
        const url = this.session.url(`/v2/${this.name}/blobs/uploads/`);
        url.searchParams.set('digest', digest);
        const response = await this.session.send({
          method: 'POST',
          url,
          scope: { repository: this.name, push: true },
          headers: { 'Content-Type': 'application/octet-stream' },
          body: bytes,
          what,
        });
        if (response.status === 201) {
          this.checkStoredDigest(digest, response, what);
          this.session.singleRequestUpload = true;
          return true;
        }
        if (response.status === 202) {
          this.session.singleRequestUpload = false;
          return this.finishUpload(response, digest, bytes, what);
        }
        // Some registries refuse a body on POST outright (4xx): the two-request upload works there.
        if (response.status < 400 || response.status >= 500) throw this.fail(what, response);
        this.session.singleRequestUpload = false;
      }
      const started = await this.session.send(this.op('POST', 'blobs/uploads/', true, what));
      if (started.status === 201) return false; // the registry already has it
      if (started.status !== 202) throw this.fail(what, started);
      return this.finishUpload(started, digest, bytes, what);
    });
  }

  /** The PUT that completes an upload session the registry opened (202 with a Location). */
  private async finishUpload(started: HttpResponse, digest: string, bytes: Buffer, what: string): Promise<boolean> {
    const location = started.headers.get('location');
    if (!location) {
      throw new RegistryError(
        'REGISTRY_ERROR',
        `${what}: registry ${this.session.host} started an upload without a Location`,
        [],
        this.session.host,
        202,
      );
    }
    const url = new URL(location, started.url);
    url.searchParams.append('digest', digest);
    const done = await this.session.send({
      method: 'PUT',
      url,
      scope: { repository: this.name, push: true },
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
      what,
    });
    if (done.status !== 201 && done.status !== 204) throw this.fail(what, done);
    this.checkStoredDigest(digest, done, what);
    return true;
  }

  /** A registry that names the digest it stored must name ours. */
  private checkStoredDigest(digest: string, response: HttpResponse, what: string): void {
    const stored = response.headers.get('docker-content-digest');
    if (stored && DIGEST_PATTERN.test(stored) && stored !== digest) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `${what}: registry ${this.session.host} stored digest ${stored}`,
        [`sent: ${digest}`],
        this.session.host,
      );
    }
  }

  async getManifest(reference: string): Promise<StoredManifest | undefined> {
    checkReference(reference);
    const what = `GET manifest ${this.name}:${reference}`;
    return this.session.retrying(what, async () => {
      const response = await this.session.send(
        this.op('GET', `manifests/${reference}`, false, what, { headers: { Accept: MANIFEST_ACCEPT }, maxBytes: MANIFEST_LIMIT }),
      );
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw this.fail(what, response);
      const digest = this.manifestDigest(reference, response, what);
      let mediaType = mediaTypeOf(response);
      if (!mediaType || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
        try {
          const declared = (parseJSON(response.body) as { mediaType?: unknown }).mediaType;
          if (typeof declared === 'string') mediaType = declared;
        } catch {
          // not JSON: keep what the header said
        }
      }
      return { digest, mediaType: mediaType ?? MEDIA_TYPE_OCI_MANIFEST, bytes: response.body };
    });
  }

  async headManifest(reference: string): Promise<{ digest: string; mediaType: string } | undefined> {
    checkReference(reference);
    const what = `HEAD manifest ${this.name}:${reference}`;
    const head = await this.session.retrying(what, async () => {
      const response = await this.session.send(
        this.op('HEAD', `manifests/${reference}`, false, what, { headers: { Accept: MANIFEST_ACCEPT } }),
      );
      if (response.status === 404) return null;
      if (response.status !== 200) throw this.fail(what, response);
      return response;
    });
    if (head === null) return undefined;
    const digest = head.headers.get('docker-content-digest');
    const mediaType = mediaTypeOf(head);
    if (digest && DIGEST_PATTERN.test(digest) && mediaType && (!DIGEST_PATTERN.test(reference) || digest === reference)) {
      return { digest, mediaType };
    }
    // Registries need not send the digest on HEAD: fall back to reading the manifest.
    const manifest = await this.getManifest(reference);
    return manifest && { digest: manifest.digest, mediaType: manifest.mediaType };
  }

  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkReference(reference);
    const digest = digestOf(bytes, DIGEST_PATTERN.test(reference) ? reference : 'sha256:');
    if (DIGEST_PATTERN.test(reference) && digest !== reference) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `cannot put manifest ${this.name}@${reference}: the bytes have digest ${digest}`,
        [],
        this.session.host,
      );
    }
    const what = `PUT manifest ${this.name}:${reference}`;
    await this.session.retrying(what, async () => {
      const response = await this.session.send(
        this.op('PUT', `manifests/${reference}`, true, what, { headers: { 'Content-Type': mediaType }, body: bytes }),
      );
      if (response.status !== 201 && response.status !== 200 && response.status !== 204) throw this.fail(what, response);
      const stored = response.headers.get('docker-content-digest');
      if (stored && DIGEST_PATTERN.test(stored) && digestOf(bytes, stored) !== stored) {
        throw new RegistryError(
          'DIGEST_MISMATCH',
          `${what}: registry ${this.session.host} stored digest ${stored}, but the manifest sent has ${digestOf(bytes, stored)}`,
          [],
          this.session.host,
        );
      }
    });
    this.session.count('manifest', bytes.length);
    return digest;
  }

  /** The digest of a fetched manifest, checked against the reference (by digest) or the registry's header (by tag). */
  private manifestDigest(reference: string, response: HttpResponse, what: string): string {
    if (DIGEST_PATTERN.test(reference)) {
      this.verify(reference, response.body, what);
      return reference;
    }
    const header = response.headers.get('docker-content-digest');
    if (header && DIGEST_PATTERN.test(header)) {
      this.verify(header, response.body, what);
      return header;
    }
    return digestOf(response.body);
  }

  private verify(digest: string, bytes: Buffer, what: string): void {
    const actual = digestOf(bytes, digest);
    if (actual !== digest) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `${what}: the content from ${this.session.host} does not match its digest`,
        [`expected: ${digest}`, `received: ${actual} (${bytes.length} bytes)`],
        this.session.host,
      );
    }
  }
}

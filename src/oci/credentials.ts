/**
 * Registry credentials, found the way container tools find them.
 *
 * Order: `TUFCTL_REGISTRY_USERNAME` / `TUFCTL_REGISTRY_PASSWORD`, then the
 * docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`):
 * `credHelpers[host]`, else `auths[host]`, else the `credsStore` helper.
 * Secrets never appear in an error message; errors name where the
 * credentials came from instead.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TufctlError } from '../errors.js';

/** A user name and password (or token used as a password), or an OAuth2 refresh ("identity") token. */
export type RegistryCredentials = ({ username: string; password: string } | { identitytoken: string; username?: string }) & {
  /** Where the credentials came from, for error messages (never the secret itself). */
  source?: string;
};

/** Supplies credentials for a registry host (`host[:port]`), or undefined for anonymous access. */
export interface CredentialSource {
  resolve(host: string): Promise<RegistryCredentials | undefined>;
}

export interface CredentialOptions {
  /** Environment to read; default process.env (also the PATH credential helpers are found on). */
  env?: NodeJS.ProcessEnv;
  /** Directory holding config.json; default $DOCKER_CONFIG, else ~/.docker. */
  dockerConfigDir?: string;
  /** How long a credential helper may run; default 30 s. */
  helperTimeoutMs?: number;
}

export const USERNAME_ENV = 'TUFCTL_REGISTRY_USERNAME';
export const PASSWORD_ENV = 'TUFCTL_REGISTRY_PASSWORD';

/** The docker config key and helper server URL Docker uses for Docker Hub. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Environment variables, then the docker config: what `RegistryTarget` uses when given no source. */
export function defaultCredentials(options: CredentialOptions = {}): CredentialSource {
  return chainCredentials(envCredentials(options.env), dockerConfigCredentials(options));
}

/** Fixed credentials (e.g. from a library caller's own secret store). */
export function staticCredentials(credentials: RegistryCredentials | undefined): CredentialSource {
  return { resolve: async () => credentials };
}

/** The first source that has credentials for the host wins. */
export function chainCredentials(...sources: CredentialSource[]): CredentialSource {
  return {
    async resolve(host) {
      for (const source of sources) {
        const found = await source.resolve(host);
        if (found) return found;
      }
      return undefined;
    },
  };
}

/** `TUFCTL_REGISTRY_USERNAME` and `TUFCTL_REGISTRY_PASSWORD`, for any host. */
export function envCredentials(env: NodeJS.ProcessEnv = process.env): CredentialSource {
  return {
    async resolve() {
      const username = env[USERNAME_ENV];
      const password = env[PASSWORD_ENV];
      if (!username && !password) return undefined;
      if (!username || !password) {
        const missing = username ? PASSWORD_ENV : USERNAME_ENV;
        const present = username ? USERNAME_ENV : PASSWORD_ENV;
        throw new TufctlError('CONFIG_INVALID', `${present} is set but ${missing} is not: set both, or neither`);
      }
      return { username, password, source: `${USERNAME_ENV}/${PASSWORD_ENV}` };
    },
  };
}

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The docker CLI's config file: credHelpers, auths and credsStore, in that order. */
export function dockerConfigCredentials(options: CredentialOptions = {}): CredentialSource {
  const env = options.env ?? process.env;
  return {
    async resolve(host) {
      const dir = options.dockerConfigDir ?? env.DOCKER_CONFIG ?? join(homedir(), '.docker');
      const file = join(dir, 'config.json');
      const config = readDockerConfig(file);
      if (!config) return undefined;
      const serverUrl = DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB_KEY : host;

      const helperName = lookup(config.credHelpers, host);
      if (helperName !== undefined) {
        return runCredentialHelper(helperName, serverUrl, { env, timeoutMs: options.helperTimeoutMs, where: `credHelpers in ${file}` });
      }
      const entry = lookup(config.auths, host);
      if (entry && typeof entry === 'object') {
        const found = fromAuthEntry(entry, `${file} (auths)`);
        if (found) return found;
      }
      if (typeof config.credsStore === 'string' && config.credsStore !== '') {
        return runCredentialHelper(config.credsStore, serverUrl, {
          env,
          timeoutMs: options.helperTimeoutMs,
          where: `credsStore in ${file}`,
        });
      }
      return undefined;
    },
  };
}

function readDockerConfig(file: string): DockerConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TufctlError('IO_FAILED', `cannot read docker config ${file}: ${(error as NodeJS.ErrnoException).code ?? 'read failed'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TufctlError('CONFIG_INVALID', `docker config ${file} is not valid JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TufctlError('CONFIG_INVALID', `docker config ${file} is not a JSON object`);
  }
  return parsed as DockerConfig;
}

/** The host a docker config key names: keys may be `host`, `https://host`, `http://host` or `https://host/v1/`. */
export function dockerConfigKeyHost(key: string): string {
  const host = key
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
}

/** An exact key first, then any key naming the same host. */
function lookup<T>(map: Record<string, T> | undefined, host: string): T | undefined {
  if (!map || typeof map !== 'object') return undefined;
  if (Object.hasOwn(map, host)) return map[host];
  const wanted = dockerConfigKeyHost(host);
  for (const key of Object.keys(map)) if (dockerConfigKeyHost(key) === wanted) return map[key];
  return undefined;
}

function fromAuthEntry(entry: DockerAuthEntry, source: string): RegistryCredentials | undefined {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    const username = typeof entry.username === 'string' && entry.username !== '' ? entry.username : undefined;
    return username ? { identitytoken: entry.identitytoken, username, source } : { identitytoken: entry.identitytoken, source };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new TufctlError('CONFIG_INVALID', `the "auth" value in ${source} is not base64 of "user:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
    return { username: entry.username, password: entry.password, source };
  }
  return undefined;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Runs `docker-credential-NAME get` with the server URL on stdin and parses
 * `{ServerURL, Username, Secret}`; Username `<token>` means Secret is an
 * identity token. "credentials not found" means none (undefined).
 */
export async function runCredentialHelper(
  name: string,
  serverUrl: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; where?: string } = {},
): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${name}`;
  const where = options.where ? ` (${options.where})` : '';
  if (!HELPER_NAME.test(name)) throw new TufctlError('CONFIG_INVALID', `invalid credential helper name ${JSON.stringify(name)}${where}`);
  const fail = (why: string) => new TufctlError('REGISTRY_AUTH', `credential helper ${program} failed for ${serverUrl}: ${why}${where}`);

  const result = await new Promise<{ code: number | null; stdout: string; stderr: string; error?: NodeJS.ErrnoException }>((resolve) => {
    const child = spawn(program, ['get'], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own deadline: spawn's `timeout` option leaves its timer running when the program does not exist.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | undefined;
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {}); // a helper that exits without reading stdin
    child.on('error', (error) => (spawnError = error));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), error: spawnError });
    });
    child.stdin.end(serverUrl);
  });

  if (result.error?.code === 'ENOENT') throw fail(`${program} is not on PATH`);
  if (result.error) throw fail(result.error.code ?? 'could not run it');
  if (result.code !== 0) {
    if (/credentials not found/i.test(result.stdout) || /credentials not found/i.test(result.stderr)) return undefined;
    const firstLine = result.stderr.trim().split('\n')[0]?.slice(0, 200);
    throw fail(result.code === null ? 'it was killed (timeout?)' : `exit code ${result.code}${firstLine ? `: ${firstLine}` : ''}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    throw fail('its output is not JSON'); // never echo the output: it may hold the secret
  }
  if (typeof parsed?.Secret !== 'string' || parsed.Secret === '') throw fail('its output has no "Secret"');
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  const source = `credential helper ${program}`;
  if (username === '<token>') return { identitytoken: parsed.Secret, source };
  return { username, password: parsed.Secret, source };
}

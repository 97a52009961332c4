/**
 * Test harness: temporary directories, running the built CLI as a user
 * would, a fresh repository with generated keys, and serving a directory
 * over HTTP on 127.0.0.1.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync, createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export const PROJECT_DIR = resolve(import.meta.dirname, '..', '..');
export const CLI = join(PROJECT_DIR, 'bin', 'tufctl.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function cliEnv(options: { env?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const name of Object.keys(env)) if (name.startsWith('TUFCTL_KEY_') && !(options.env && name in options.env)) delete env[name];
  return env;
}

function cliResult(args: string[], code: number | null, stdout: string, stderr: string): CliResult {
  let json: unknown;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
  }
  return { code: code ?? -1, stdout, stderr, json };
}

/** Runs `tufctl ARGS` in `cwd` as a separate process. */
export function tufctl(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cliEnv(options), encoding: 'utf8' });
  return cliResult(args, result.status, result.stdout, result.stderr);
}

/**
 * Like tufctl() without blocking this process: needed when the command talks
 * to a server running inside the test process (an OIDC issuer on loopback).
 */
export function tufctlAsync(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cliEnv(options), encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolvePromise(cliResult(args, error ? (error.code as number) : 0, stdout, stderr));
    });
  });
}

/** Like tufctlAsync() but rejects with the output when the exit code is not 0. */
export async function okAsync(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const result = await tufctlAsync(args, options);
  if (result.code !== 0) throw new Error(`tufctl ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Like tufctl() but throws with the output when the exit code is not 0. */
export function ok(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = tufctl(args, options);
  if (result.code !== 0) throw new Error(`tufctl ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

export function tempDir(prefix = 'tufctl-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export interface Fixture {
  root: string;
  repo: string;
  keys: string;
  key: (name: 'root' | 'targets' | 'online' | string) => string;
  cleanup: () => void;
}

/** A new repository made by `tufctl init --generate-keys`. */
export function newRepository(extra: string[] = []): Fixture {
  const dir = tempDir();
  const repo = join(dir.path, 'repo');
  const keys = join(dir.path, 'keys');
  ok(['init', repo, '--generate-keys', keys, '--owner', '@alice', ...extra]);
  return { root: dir.path, repo, keys, key: (name) => join(keys, `${name}.pem`), cleanup: dir.cleanup };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Serves `dir` read-only on 127.0.0.1 (a static TUF mirror). */
export async function serveDirectory(dir: string): Promise<{ url: string; close: () => Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Writes a file, creating its directories. */
export function writeFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

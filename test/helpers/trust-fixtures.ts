/**
 * Trust-data test fixtures: a repository directory holding a copy of the
 * default policy set in `targets/` (with a hand-written policy data file, as
 * tufctl would generate it), signer keys generated at test time, and helpers
 * to find a problem and the line of a text.
 */
import { generateKeyPairSync, createHash, createPublicKey } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PROJECT_DIR, tempDir } from './harness.js';
import type { TrustProblem } from '../../src/trust/problems.js';

export const POLICIES_DIR = join(PROJECT_DIR, 'policies');

export interface TrustRepo {
  /** Repository root (contains targets/). */
  dir: string;
  /** Writes `targets/<path>`, creating directories. */
  write(path: string, content: string): void;
  /** Reads `targets/<path>`. */
  read(path: string): string;
  /** Rewrites `targets/<path>` with `edit`. */
  edit(path: string, edit: (text: string) => string): void;
  remove(path: string): void;
  cleanup(): void;
}

/** The policy data file tufctl would generate for the default set (no keys, no revocations unless given). */
export function defaultDataYaml(options: { keys?: unknown[]; policyId?: string; requiredAttestations?: unknown[] } = {}): string {
  const attestations = parse(readFileSync(join(POLICIES_DIR, 'attestations.yaml'), 'utf8')) as {
    policies: Record<string, { attestations: unknown[] }>;
  };
  return stringify(
    {
      'policy-id': options.policyId ?? 'docker-official-images',
      keys: options.keys ?? [],
      required_attestations: options.requiredAttestations ?? attestations.policies['docker-official-images']!.attestations,
      revoked_envelopes: {},
      revoked_images: {},
    },
    { sortMapEntries: true, lineWidth: 0 },
  );
}

/**
 * A repository with the default policy set in targets/ (and, with
 * `testing: true`, in targets/testing/ too), plus a data.yaml for each.
 */
export function trustRepo(options: { testing?: boolean; topLevel?: boolean } = {}): TrustRepo {
  const temp = tempDir('tufctl-trust-');
  const targets = join(temp.path, 'targets');
  mkdirSync(targets, { recursive: true });
  const channels = [...(options.topLevel === false ? [] : ['']), ...(options.testing ? ['testing'] : [])];
  for (const channel of channels) {
    const dir = join(targets, channel);
    for (const file of ['mapping.yaml', 'attestations.yaml', 'doi']) cpSync(join(POLICIES_DIR, file), join(dir, file), { recursive: true });
    if (channel === '') cpSync(join(POLICIES_DIR, 'revocations.json'), join(dir, 'revocations.json'));
    writeFileSync(join(dir, 'doi', 'data.yaml'), defaultDataYaml());
  }
  const path = (p: string): string => join(targets, p);
  return {
    dir: temp.path,
    write(p, content) {
      mkdirSync(dirname(path(p)), { recursive: true });
      writeFileSync(path(p), content);
    },
    read: (p) => readFileSync(path(p), 'utf8'),
    edit(p, edit) {
      writeFileSync(path(p), edit(readFileSync(path(p), 'utf8')));
    },
    remove: (p) => rmSync(path(p), { recursive: true, force: true }),
    cleanup: temp.cleanup,
  };
}

export interface TestSignerKey {
  publicPem: string;
  privatePem: string;
  /** sha256 hex of the DER SubjectPublicKeyInfo. */
  id: string;
}

/** A fresh signer key pair (never committed). */
export function generateSignerKey(type: 'ec' | 'ed25519' = 'ec'): TestSignerKey {
  const pair = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const id = createHash('sha256')
    .update(createPublicKey(publicPem).export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return { publicPem, privatePem, id };
}

/** A keys.yaml text with the given entries (`key` defaults to the public PEM, `id` to the key's id). */
export function keysYaml(entries: Array<Record<string, unknown>>): string {
  return stringify({ version: 'v1', kind: 'signer-keys', keys: entries }, { lineWidth: 0 });
}

/** A keys.yaml entry for `key`, active from 2025-01-01. */
export function keyEntry(key: TestSignerKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: key.id, key: key.publicPem, from: '2025-01-01T00:00:00Z', to: null, status: 'active', 'signing-format': 'dssev1', ...extra };
}

/** 1-based line of the first line of `text` containing `needle`. */
export function lineOf(text: string, needle: string, occurrence = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && ++seen === occurrence) return i + 1;
  }
  throw new Error(`"${needle}" not found in:\n${text}`);
}

/** The one problem matching `match`; fails the test with every problem listed when there is none. */
export function findProblem(problems: TrustProblem[], match: Partial<TrustProblem> & { includes?: string | RegExp }): TrustProblem {
  const found = problems.find(
    (p) =>
      (match.file === undefined || p.file === match.file) &&
      (match.field === undefined || p.field === match.field) &&
      (match.line === undefined || p.line === match.line) &&
      (match.severity === undefined || p.severity === match.severity) &&
      (match.includes === undefined ||
        (typeof match.includes === 'string' ? p.message.includes(match.includes) : match.includes.test(p.message))),
  );
  if (!found) throw new Error(`no problem like ${JSON.stringify(match)} among:\n${JSON.stringify(problems, null, 2)}`);
  return found;
}

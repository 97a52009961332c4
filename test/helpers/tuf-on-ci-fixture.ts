/**
 * A repository written exactly the way tuf-on-ci writes one, built at test
 * time with node:crypto and @tufjs/canonical-json only (never with tufctl):
 *
 *   metadata/root.json, metadata/root_history/1.root.json, targets.json,
 *   doi.json (a delegated role), snapshot.json, timestamp.json
 *   targets/README.md, targets/doi/base.rego, targets/doi/lib/data.yaml
 *
 * Format as in tuf-on-ci's own test data (tests/expected/…): python-tuf's
 * JSONSerializer, i.e. `json.dumps(indent=1, separators=(",", ": "),
 * sort_keys=True)` with no trailing newline; ecdsa keys as
 * {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", keyval.public: SPKI
 * PEM}, ed25519 keys as hex; key ids the sha256 of the canonical
 * {keytype, scheme, keyval}; offline keys carrying x-tuf-on-ci-keyowner, the
 * online key x-tuf-on-ci-online-uri; expiry/signing periods in each offline
 * role's signed and in root.signed.roles.{snapshot,timestamp}; delegated
 * roles with paths ROLE/*, ROLE/*\/*, … and terminating; snapshot and
 * timestamp meta holding versions only; placeholder `"sig": ""` for a signer
 * who has not signed (tuf-on-ci writes one per trusted key).
 */
import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { git, tempDir } from './harness.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const ONLINE_URI = 'gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';

export interface FixtureKey {
  /** TUF key id: sha256 of the canonical {keytype, scheme, keyval}. */
  id: string;
  /** The key as it appears in root/delegations (custom x-tuf-on-ci-* fields included). */
  tufKey: Json;
  privateKey: KeyObject;
  /** PKCS#8 PEM private key file (for `tufctl … --key`). */
  privatePath: string;
  /** Signs bytes the way securesystemslib does (ecdsa: sha256, DER; ed25519), hex. */
  sign(data: Buffer): string;
}

/** Python's json.dumps(value, indent=1, separators=(",", ": "), sort_keys=True) (ensure_ascii on). */
export function pythonJson(value: Json): string {
  const sortKeys = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      const out: Json = {};
      for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sortKeys(value), null, 1).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The key id tuf-on-ci (securesystemslib) computes: sha256 over the canonical core key. */
export function keyIdOf(key: Json): string {
  const core = { keytype: key.keytype, scheme: key.scheme, keyval: key.keyval };
  return createHash('sha256').update(canonicalize(core)).digest('hex');
}

/** python-tuf's expiry format: second precision, Z. */
export function pythonExpiry(now: Date, days: number): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function canonical(signed: Json): Buffer {
  return Buffer.from(canonicalize(signed));
}

/** Metadata signed by `signers`, with an empty placeholder signature for each of `placeholders` (key ids). */
export function signMetadata(signed: Json, signers: FixtureKey[], placeholders: string[] = []): Json {
  const data = canonical(signed);
  return {
    signatures: [...signers.map((k) => ({ keyid: k.id, sig: k.sign(data) })), ...placeholders.map((keyid) => ({ keyid, sig: '' }))],
    signed,
  };
}

export function makeKey(kind: 'ecdsa' | 'ed25519', keysDir: string, name: string, extra: Record<string, string> = {}): FixtureKey {
  const pair = kind === 'ecdsa' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const keyval =
    kind === 'ecdsa'
      ? { public: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() }
      : { public: Buffer.from(String(pair.publicKey.export({ format: 'jwk' }).x), 'base64url').toString('hex') };
  const core =
    kind === 'ecdsa' ? { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval } : { keytype: 'ed25519', scheme: 'ed25519', keyval };
  const privatePath = join(keysDir, `${name}.pem`);
  writeFileSync(privatePath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  return {
    id: keyIdOf(core),
    tufKey: { ...core, ...extra },
    privateKey: pair.privateKey,
    privatePath,
    sign: (data) => cryptoSign(kind === 'ecdsa' ? 'sha256' : null, data, pair.privateKey).toString('hex'),
  };
}

export interface TufOnCiFixture {
  /** Temporary directory holding repo/ and keys/. */
  root: string;
  repo: string;
  keysDir: string;
  keys: { alice: FixtureKey; bob: FixtureKey; carol: FixtureKey; online: FixtureKey; rogue: FixtureKey };
  now: Date;
  /** Target paths (relative to targets/) with their contents. */
  targets: Record<string, string>;
  cleanup: () => void;
}

export const DOI_PATHS = ['doi/*', 'doi/*/*', 'doi/*/*/*', 'doi/*/*/*/*'];

/**
 * Writes and commits a tuf-on-ci repository:
 * root v1 (alice + bob ecdsa, threshold 2; targets: alice + bob, threshold 1,
 * signed by alice with bob's placeholder; online ed25519 key for snapshot and
 * timestamp), targets v2 delegating doi/… to carol, doi v3, snapshot v4,
 * timestamp v5.
 */
export function buildTufOnCiRepository(): TufOnCiFixture {
  const dir = tempDir('tufctl-tuf-on-ci-');
  const repo = join(dir.path, 'repo');
  const keysDir = join(dir.path, 'keys');
  mkdirSync(keysDir, { recursive: true });
  mkdirSync(join(repo, 'metadata', 'root_history'), { recursive: true });
  const now = new Date();
  const alice = makeKey('ecdsa', keysDir, 'alice', { 'x-tuf-on-ci-keyowner': '@alice' });
  const bob = makeKey('ecdsa', keysDir, 'bob', { 'x-tuf-on-ci-keyowner': '@bob' });
  const carol = makeKey('ecdsa', keysDir, 'carol', { 'x-tuf-on-ci-keyowner': '@carol' });
  const online = makeKey('ed25519', keysDir, 'online', { 'x-tuf-on-ci-online-uri': ONLINE_URI });
  const rogue = makeKey('ecdsa', keysDir, 'rogue', { 'x-tuf-on-ci-keyowner': '@mallory' });

  const targets: Record<string, string> = {
    'README.md': '# policies\n',
    'doi/base.rego': 'package doi\n\ndefault allow := false\n',
    'doi/lib/data.yaml': 'trusted:\n  - registry.example/doi\n',
  };
  for (const [path, content] of Object.entries(targets)) {
    mkdirSync(join(repo, 'targets', path, '..'), { recursive: true });
    writeFileSync(join(repo, 'targets', path), content);
  }
  const targetFile = (path: string): Json => ({
    hashes: { sha256: createHash('sha256').update(targets[path]!).digest('hex') },
    length: Buffer.byteLength(targets[path]!),
  });
  const write = (rel: string, envelope: Json): void => writeFileSync(join(repo, 'metadata', rel), pythonJson(envelope));

  const rootSigned = {
    _type: 'root',
    consistent_snapshot: true,
    expires: pythonExpiry(now, 365),
    keys: { [alice.id]: alice.tufKey, [bob.id]: bob.tufKey, [online.id]: online.tufKey },
    roles: {
      root: { keyids: [alice.id, bob.id], threshold: 2 },
      snapshot: { keyids: [online.id], threshold: 1, 'x-tuf-on-ci-expiry-period': 365, 'x-tuf-on-ci-signing-period': 60 },
      targets: { keyids: [alice.id, bob.id], threshold: 1 },
      timestamp: { keyids: [online.id], threshold: 1, 'x-tuf-on-ci-expiry-period': 2, 'x-tuf-on-ci-signing-period': 1 },
    },
    spec_version: '1.0.31',
    version: 1,
    'x-tuf-on-ci-expiry-period': 365,
    'x-tuf-on-ci-signing-period': 60,
  };
  const root = signMetadata(rootSigned, [alice, bob]);
  write('root.json', root);
  write('root_history/1.root.json', root);

  const targetsSigned = {
    _type: 'targets',
    delegations: {
      keys: { [carol.id]: carol.tufKey },
      roles: [{ keyids: [carol.id], name: 'doi', paths: DOI_PATHS, terminating: true, threshold: 1 }],
    },
    expires: pythonExpiry(now, 365),
    spec_version: '1.0.31',
    targets: { 'README.md': targetFile('README.md') },
    version: 2,
    'x-tuf-on-ci-expiry-period': 365,
    'x-tuf-on-ci-signing-period': 60,
  };
  write('targets.json', signMetadata(targetsSigned, [alice], [bob.id]));

  const doiSigned = {
    _type: 'targets',
    expires: pythonExpiry(now, 180),
    spec_version: '1.0.31',
    targets: { 'doi/base.rego': targetFile('doi/base.rego'), 'doi/lib/data.yaml': targetFile('doi/lib/data.yaml') },
    version: 3,
    'x-tuf-on-ci-expiry-period': 180,
    'x-tuf-on-ci-signing-period': 30,
  };
  write('doi.json', signMetadata(doiSigned, [carol]));

  const snapshotSigned = {
    _type: 'snapshot',
    expires: pythonExpiry(now, 365),
    meta: { 'doi.json': { version: 3 }, 'targets.json': { version: 2 } },
    spec_version: '1.0.31',
    version: 4,
  };
  write('snapshot.json', signMetadata(snapshotSigned, [online]));

  const timestampSigned = {
    _type: 'timestamp',
    expires: pythonExpiry(now, 2),
    meta: { 'snapshot.json': { version: 4 } },
    spec_version: '1.0.31',
    version: 5,
  };
  write('timestamp.json', signMetadata(timestampSigned, [online]));

  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'config', 'user.name', 'tuf-on-ci');
  git(repo, 'config', 'user.email', 'tuf-on-ci@example.invalid');
  git(repo, 'config', 'commit.gpgsign', 'false');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'Signing event: initial repository (tuf-on-ci)');

  return {
    root: dir.path,
    repo,
    keysDir,
    keys: { alice, bob, carol, online, rogue },
    now,
    targets,
    cleanup: dir.cleanup,
  };
}

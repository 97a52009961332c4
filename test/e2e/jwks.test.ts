/**
 * The OIDC JWKS mirror against real issuers on 127.0.0.1 (no fetch mocks):
 * adding an issuer, key rotation through ledger.json and jwks.json, a sync
 * without change touching nothing, kid conflicts, retention, revocation and
 * reactivation, every kind of bad issuer answer refused with its code and
 * nothing written, and validation of the committed files.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { TufctlError } from '../../src/errors.js';
import { formatProblemLine } from '../../src/trust/problems.js';
import { addIssuer, issuerDirectory, listIssuers, revokeJwk, syncIssuers } from '../../src/jwks/sync.js';
import { validateJwksFiles } from '../../src/jwks/validate-files.js';
import { readJson, tempDir } from '../helpers/harness.js';
import { newJwk, startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';

// ---------------------------------------------------------------- helpers

const T1 = new Date('2025-03-01T10:00:00.250Z');
const later = (days: number, from = T1): Date => new Date(from.getTime() + days * 86_400_000);
const stamp = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A directory with an empty targets/ (the library needs nothing else). */
function newRepo(t: TestContext): string {
  const dir = tempDir('tufctl-jwks-');
  t.after(dir.cleanup);
  mkdirSync(join(dir.path, 'targets'));
  return dir.path;
}

async function issuerFor(t: TestContext, keys: JWK[], path?: string): Promise<OidcIssuer> {
  const idp = await startOidcIssuer(path === undefined ? {} : { path });
  t.after(idp.close);
  idp.setJwks({ keys });
  return idp;
}

/** Every file under `dir` with its bytes, mtime and inode (an atomic rewrite changes the inode). */
function snapshot(dir: string): Map<string, { bytes: Buffer; mtimeMs: number; ino: number }> {
  const files = new Map<string, { bytes: Buffer; mtimeMs: number; ino: number }>();
  const visit = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) visit(path);
      else {
        const stat = statSync(path);
        files.set(relative(dir, path), { bytes: readFileSync(path), mtimeMs: stat.mtimeMs, ino: stat.ino });
      }
    }
  };
  visit(dir);
  return files;
}

/** The file form: keys sorted at every level, 2-space indent, trailing newline. */
function fileText(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value), null, 2) + '\n';
}

function assertFiles(repo: string, dir: string, ledger: unknown, jwks: JWK[]): void {
  assert.equal(readFileSync(join(repo, 'targets', 'jwks', dir, 'ledger.json'), 'utf8'), fileText(ledger));
  assert.equal(readFileSync(join(repo, 'targets', 'jwks', dir, 'jwks.json'), 'utf8'), fileText({ keys: jwks }));
}

function failsWith(code: string, pattern: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof TufctlError, `not a TufctlError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

const dirOf = (idp: OidcIssuer): string => issuerDirectory(idp.issuer);

// ---------------------------------------------------------------- rotation and no-change

test('rotation: add a key, remove a key, then the same kid with other key material is refused', async (t) => {
  const repo = newRepo(t);
  const k1 = await newJwk('k1', 'RSA');
  const k2 = await newJwk('k2', 'EC');
  const idp = await issuerFor(t, [k1]);
  const dir = dirOf(idp);
  assert.equal(dir, `127.0.0.1_${new URL(idp.origin).port}`);
  const tp1 = await calculateJwkThumbprint(k1);
  const tp2 = await calculateJwkThumbprint(k2);
  const jwksUri = `${idp.origin}/jwks`;

  const added = await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  assert.deepEqual(added.changed, [`jwks/${dir}/jwks.json`, `jwks/${dir}/ledger.json`]);
  assert.equal(added.configChanged, true);
  assert.deepEqual(added.issuers, [
    { issuer: idp.issuer, dir, added: ['k1'], archived: [], reactivated: [], dropped: [], revoked: [], notes: [] },
  ]);
  const t1 = stamp(T1);
  assert.equal(t1, '2025-03-01T10:00:00Z');
  assertFiles(
    repo,
    dir,
    {
      issuer: idp.issuer,
      jwks_uri: jwksUri,
      updated: t1,
      keys: { k1: { thumbprint: tp1, status: 'active', first_seen: t1, last_seen: t1, jwk: k1 } },
    },
    [k1],
  );
  assert.deepEqual(readJson(join(repo, 'tufctl.json')), { jwks: { issuers: { [idp.issuer]: { allowHttpLoopback: true } } } });

  // State 1: a key is added (served out of kid order).
  idp.setJwks({ keys: [k2, k1] });
  const T2 = later(7);
  const t2 = stamp(T2);
  const first = await syncIssuers({ repoDir: repo, now: T2 });
  assert.deepEqual(first.changed, [`jwks/${dir}/jwks.json`, `jwks/${dir}/ledger.json`]);
  assert.deepEqual(first.issuers[0]!.added, ['k2']);
  assertFiles(
    repo,
    dir,
    {
      issuer: idp.issuer,
      jwks_uri: jwksUri,
      updated: t2,
      keys: {
        k1: { thumbprint: tp1, status: 'active', first_seen: t1, last_seen: t2, jwk: k1 },
        k2: { thumbprint: tp2, status: 'active', first_seen: t2, last_seen: t2, jwk: k2 },
      },
    },
    [k1, k2],
  );

  // State 2: k1 is no longer served; it is archived and stays published.
  idp.setJwks({ keys: [k2] });
  const T3 = later(14);
  const t3 = stamp(T3);
  const second = await syncIssuers({ repoDir: repo, issuers: [idp.issuer], now: T3 });
  assert.deepEqual(second.changed, [`jwks/${dir}/ledger.json`], 'jwks.json still holds both keys: same bytes, not rewritten');
  assert.deepEqual(second.issuers[0]!.archived, ['k1']);
  const ledger2 = {
    issuer: idp.issuer,
    jwks_uri: jwksUri,
    updated: t3,
    keys: {
      k1: {
        thumbprint: tp1,
        status: 'archived',
        first_seen: t1,
        last_seen: t2,
        archived_at: t3,
        reason: "no longer in the issuer's JWKS",
        jwk: k1,
      },
      k2: { thumbprint: tp2, status: 'active', first_seen: t2, last_seen: t3, jwk: k2 },
    },
  };
  assertFiles(repo, dir, ledger2, [k1, k2]);
  assert.deepEqual(validateJwksFiles(repo), []);

  // State 3: kid k1 comes back with other key material: refused, nothing written.
  const impostor = await newJwk('k1', 'RSA');
  idp.setJwks({ keys: [impostor, k2] });
  const before = snapshot(repo);
  // Computed first: an await between starting the sync and attaching the rejection handler leaves its rejection unhandled.
  const impostorThumbprint = await calculateJwkThumbprint(impostor);
  await assert.rejects(
    syncIssuers({ repoDir: repo, now: later(15) }),
    failsWith(
      'JWKS_KID_CONFLICT',
      new RegExp(`issuer ${idp.issuer}: kid "k1" is now served with thumbprint ${impostorThumbprint}.*${tp1}.*human review`),
    ),
  );
  assert.deepEqual(snapshot(repo), before);
  assertFiles(repo, dir, ledger2, [k1, k2]);
});

test('a sync with no change touches nothing: same bytes, same mtimes, same inodes', async (t) => {
  const repo = newRepo(t);
  const keys = [await newJwk('a', 'Ed25519'), await newJwk('b', 'EC')];
  const idp = await issuerFor(t, keys);
  await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  const before = snapshot(repo);
  await new Promise((resolve) => setTimeout(resolve, 20)); // a rewrite would get a later mtime
  idp.setJwks({ keys: [...keys].reverse() });
  const result = await syncIssuers({ repoDir: repo, now: later(30) });
  assert.deepEqual(result.changed, []);
  assert.deepEqual(result.issuers, [
    { issuer: idp.issuer, dir: dirOf(idp), added: [], archived: [], reactivated: [], dropped: [], revoked: [], notes: [] },
  ]);
  assert.deepEqual(snapshot(repo), before);
});

// ---------------------------------------------------------------- lifecycle

test('retention: archived keys are dropped from both files once older than jwks.retentionDays from tufctl.json', async (t) => {
  const repo = newRepo(t);
  writeFileSync(join(repo, 'tufctl.json'), JSON.stringify({ version: 1, jwks: { retentionDays: 30 } }, null, 2) + '\n');
  const [old, current] = [await newJwk('old'), await newJwk('current')];
  const idp = await issuerFor(t, [old, current]);
  await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  assert.deepEqual(readJson(join(repo, 'tufctl.json')), {
    version: 1,
    jwks: { retentionDays: 30, issuers: { [idp.issuer]: { allowHttpLoopback: true } } },
  });
  idp.setJwks({ keys: [current] });
  await syncIssuers({ repoDir: repo, now: later(1) });
  assert.deepEqual((await syncIssuers({ repoDir: repo, now: later(31) })).changed, [], 'exactly 30 days: kept');
  const dropped = await syncIssuers({ repoDir: repo, now: later(32) });
  assert.deepEqual(dropped.issuers[0]!.dropped, ['old']);
  assert.deepEqual(dropped.changed, [`jwks/${dirOf(idp)}/jwks.json`, `jwks/${dirOf(idp)}/ledger.json`]);
  const ledger = readJson(join(repo, 'targets', 'jwks', dirOf(idp), 'ledger.json'));
  assert.deepEqual(Object.keys(ledger.keys), ['current']);
  assert.equal(ledger.updated, stamp(later(32)));
  assert.deepEqual(readJson(join(repo, 'targets', 'jwks', dirOf(idp), 'jwks.json')), { keys: [current] });
  // An explicit retention overrides the setting; 0 keeps archived keys forever.
  idp.setJwks({ keys: [] });
  await syncIssuers({ repoDir: repo, now: later(40) });
  assert.deepEqual((await syncIssuers({ repoDir: repo, now: later(4000), retentionDays: 0 })).changed, []);
});

test('revocation: the key leaves jwks.json, stays revoked while the issuer still serves it, and cannot be revoked twice', async (t) => {
  const repo = newRepo(t);
  const [a, b] = [await newJwk('a'), await newJwk('b', 'RSA')];
  const idp = await issuerFor(t, [a, b]);
  const dir = dirOf(idp);
  await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  const revoked = revokeJwk({ repoDir: repo, issuer: idp.issuer, kid: 'a', reason: 'signing key leaked', now: later(2) });
  assert.deepEqual(revoked.changed, [`jwks/${dir}/jwks.json`, `jwks/${dir}/ledger.json`]);
  assert.deepEqual(revoked.issuers[0]!.revoked, ['a']);
  const ledger = readJson(join(repo, 'targets', 'jwks', dir, 'ledger.json'));
  assert.deepEqual(ledger.keys.a, {
    thumbprint: await calculateJwkThumbprint(a),
    status: 'revoked',
    first_seen: stamp(T1),
    last_seen: stamp(T1),
    revoked_at: stamp(later(2)),
    reason: 'signing key leaked',
    jwk: a,
  });
  assert.equal(ledger.updated, stamp(later(2)));
  assert.deepEqual(readJson(join(repo, 'targets', 'jwks', dir, 'jwks.json')), { keys: [b] });

  const before = snapshot(repo);
  const still = await syncIssuers({ repoDir: repo, now: later(3) });
  assert.deepEqual(still.changed, []);
  assert.match(still.issuers[0]!.notes.join('\n'), /key "a" is revoked but the issuer still serves it/);
  assert.deepEqual(snapshot(repo), before);
  assert.deepEqual(validateJwksFiles(repo), []);

  assert.throws(
    () => revokeJwk({ repoDir: repo, issuer: idp.issuer, kid: 'a', reason: 'again', now: later(4) }),
    failsWith('USAGE', /already revoked/),
  );
  assert.throws(
    () => revokeJwk({ repoDir: repo, issuer: idp.issuer, kid: 'nope', reason: 'x' }),
    failsWith('KEY_UNKNOWN', /no key "nope"/),
  );
  assert.throws(
    () => revokeJwk({ repoDir: repo, issuer: 'https://other.example', kid: 'a', reason: 'x' }),
    failsWith('ISSUER_UNKNOWN', /not mirrored/),
  );
  assert.deepEqual(snapshot(repo), before);
});

test('reactivation: an archived key served again with the same material is active again', async (t) => {
  const repo = newRepo(t);
  const [a, b] = [await newJwk('a'), await newJwk('b')];
  const idp = await issuerFor(t, [a, b]);
  await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  idp.setJwks({ keys: [b] });
  await syncIssuers({ repoDir: repo, now: later(1) });
  idp.setJwks({ keys: [a, b] });
  const result = await syncIssuers({ repoDir: repo, now: later(2) });
  assert.deepEqual(result.issuers[0]!.reactivated, ['a']);
  const ledger = readJson(join(repo, 'targets', 'jwks', dirOf(idp), 'ledger.json'));
  assert.deepEqual(ledger.keys.a, {
    thumbprint: await calculateJwkThumbprint(a),
    status: 'active',
    first_seen: stamp(T1),
    last_seen: stamp(later(2)),
    jwk: a,
  });
});

// ---------------------------------------------------------------- issuers

test('issuers with a path, redirects, a moved jwks_uri, several issuers, unknown and duplicate issuers', async (t) => {
  const repo = newRepo(t);
  const key = await newJwk('k');
  const tenant = await issuerFor(t, [key], '/tenant/v2.0');
  assert.equal(dirOf(tenant), `127.0.0.1_${new URL(tenant.origin).port}/tenant/v2.0`);
  // Three redirects are followed.
  tenant.setDiscovery({ issuer: tenant.issuer, jwks_uri: `${tenant.origin}/r1` });
  tenant.redirect('/r1', '/r2');
  tenant.redirect('/r2', `${tenant.origin}/r3`, 307);
  tenant.redirect('/r3', '/jwks', 301);
  const added = await addIssuer({ repoDir: repo, issuer: tenant.issuer, allowHttpLoopback: true, now: T1 });
  assert.deepEqual(added.changed, [`jwks/${dirOf(tenant)}/jwks.json`, `jwks/${dirOf(tenant)}/ledger.json`]);
  assert.equal(readJson(join(repo, 'targets', 'jwks', dirOf(tenant), 'ledger.json')).jwks_uri, `${tenant.origin}/r1`);

  await assert.rejects(
    addIssuer({ repoDir: repo, issuer: tenant.issuer, allowHttpLoopback: true }),
    failsWith('USAGE', /already mirrored; use `tufctl jwks sync`/),
  );
  await assert.rejects(
    addIssuer({ repoDir: repo, issuer: `${tenant.issuer}/`, allowHttpLoopback: true }),
    failsWith('USAGE', /already mirrors issuer .*tenant\/v2\.0; use `tufctl jwks sync`/),
  );

  const root = await issuerFor(t, [await newJwk('r')]);
  await addIssuer({ repoDir: repo, issuer: root.issuer, allowHttpLoopback: true, now: T1 });
  assert.deepEqual(
    listIssuers(repo).map((m) => [m.issuer, m.dir]),
    [
      [root.issuer, dirOf(root)],
      [tenant.issuer, dirOf(tenant)],
    ].sort((x, y) => (x[1]! < y[1]! ? -1 : 1)),
  );

  // Discovery moves the JWKS: the new jwks_uri is recorded; jwks.json keeps its bytes.
  tenant.setDiscovery({ issuer: tenant.issuer, jwks_uri: `${tenant.origin}/keys-v2` });
  tenant.setResponse('/keys-v2', { body: JSON.stringify({ keys: [key] }) });
  const moved = await syncIssuers({ repoDir: repo, now: later(1) });
  assert.deepEqual(moved.changed, [`jwks/${dirOf(tenant)}/ledger.json`]);
  assert.equal(readJson(join(repo, 'targets', 'jwks', dirOf(tenant), 'ledger.json')).jwks_uri, `${tenant.origin}/keys-v2`);

  // One failing issuer: nothing is written for any, and the error names it.
  tenant.setResponse('/keys-v2', { body: JSON.stringify({ keys: [key, await newJwk('new')] }) });
  root.setResponse('/jwks', { status: 500, body: 'oops' });
  const before = snapshot(repo);
  await assert.rejects(
    syncIssuers({ repoDir: repo, now: later(2) }),
    failsWith(
      'JWKS_UNREACHABLE',
      new RegExp(`^issuer ${root.issuer}: cannot fetch the JWKS ${root.origin}/jwks: the server answered HTTP 500`),
    ),
  );
  assert.deepEqual(snapshot(repo), before);
  tenant.setResponse('/keys-v2', { status: 503, body: 'down' });
  await assert.rejects(syncIssuers({ repoDir: repo, now: later(2) }), (error: TufctlError) => {
    assert.match(
      error.message,
      /^issuer .*: cannot fetch the JWKS .*: the server answered HTTP 50[03] \(and 1 more failing issuers; nothing was written\)$/,
    );
    assert.deepEqual(
      error.details.map((line) => /^issuer (\S+): .*HTTP (\d+)$/.exec(line)?.slice(1)).sort(),
      [
        [root.issuer, '500'],
        [tenant.issuer, '503'],
      ].sort(),
    );
    return true;
  });
  assert.deepEqual(snapshot(repo), before);
  tenant.setResponse('/keys-v2', { body: JSON.stringify({ keys: [key, await newJwk('new')] }) });
  // Only the issuers asked for are synced.
  assert.deepEqual((await syncIssuers({ repoDir: repo, issuers: [tenant.issuer], now: later(2) })).issuers[0]!.added, ['new']);

  await assert.rejects(
    syncIssuers({ repoDir: repo, issuers: ['https://nope.example'] }),
    failsWith('ISSUER_UNKNOWN', /nope\.example is not mirrored/),
  );
  await assert.rejects(syncIssuers({ repoDir: repo, issuers: [`${root.issuer}/`] }), failsWith('ISSUER_UNKNOWN', /did you mean/));
  assert.deepEqual(validateJwksFiles(repo), []);
});

// ---------------------------------------------------------------- bad input

interface BadCase {
  name: string;
  setup: (idp: OidcIssuer, good: JWK) => Promise<void> | void;
  code: string;
  pattern: RegExp;
}

const BAD_ANSWERS: BadCase[] = [
  {
    name: 'private key material',
    setup: async (idp, good) => idp.setJwks({ keys: [good, await newJwk('priv', 'EC', true)] }),
    code: 'JWKS_INVALID',
    pattern: /private key material \(d\) in key "priv"/,
  },
  {
    name: 'a symmetric key',
    setup: (idp, good) => idp.setJwks({ keys: [good, { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0LXNlY3JldA' }] }),
    code: 'JWKS_INVALID',
    pattern: /symmetric key \(kty "oct"\) in key "hmac"/,
  },
  {
    name: 'a key without kid',
    setup: async (idp, good) => {
      const { kid: _kid, ...nameless } = await newJwk('x');
      idp.setJwks({ keys: [good, nameless] });
    },
    code: 'JWKS_INVALID',
    pattern: /key #2 has no kid/,
  },
  {
    name: 'a duplicate kid',
    setup: async (idp, good) => idp.setJwks({ keys: [good, { ...(await newJwk('other')), kid: good.kid }] }),
    code: 'JWKS_INVALID',
    pattern: /kid "good" appears more than once/,
  },
  {
    name: 'a discovery document naming another issuer',
    setup: (idp) => idp.setDiscovery({ issuer: 'https://evil.example', jwks_uri: `${idp.origin}/jwks` }),
    code: 'JWKS_ISSUER_MISMATCH',
    pattern: /names issuer "https:\/\/evil\.example", not "http:\/\/127\.0\.0\.1:\d+"/,
  },
  {
    name: 'a JWKS that is not JSON',
    setup: (idp) => idp.setResponse('/jwks', { body: '<html>keys</html>', headers: { 'content-type': 'text/html' } }),
    code: 'JWKS_INVALID',
    pattern: /the JWKS http:\/\/127\.0\.0\.1:\d+\/jwks is not valid JSON/,
  },
  {
    name: 'a discovery document that is not a JSON object',
    setup: (idp) => idp.setDiscovery(['not', 'an', 'object']),
    code: 'JWKS_INVALID',
    pattern: /discovery document .* is not a JSON object/,
  },
  {
    name: 'a JWKS over 256 KiB (Content-Length)',
    setup: (idp, good) => idp.setResponse('/jwks', { body: JSON.stringify({ keys: [good] }) + ' '.repeat(256 * 1024) }),
    code: 'JWKS_TOO_LARGE',
    pattern: /the JWKS .* is larger than 262144 bytes/,
  },
  {
    name: 'a JWKS over 256 KiB (chunked, no Content-Length)',
    setup: (idp, good) => idp.setResponse('/jwks', { body: JSON.stringify({ keys: [good] }) + ' '.repeat(256 * 1024), chunked: true }),
    code: 'JWKS_TOO_LARGE',
    pattern: /the JWKS .* is larger than 262144 bytes/,
  },
  {
    name: 'a discovery document over 64 KiB',
    setup: (idp) => idp.setDiscovery({ issuer: idp.issuer, jwks_uri: `${idp.origin}/jwks`, padding: 'x'.repeat(64 * 1024) }),
    code: 'JWKS_TOO_LARGE',
    pattern: /the discovery document .* is larger than 65536 bytes/,
  },
  {
    name: 'more than 100 keys',
    setup: (idp, good) => idp.setJwks({ keys: Array.from({ length: 101 }, (_, i) => ({ ...good, kid: `k${i}` })) }),
    code: 'JWKS_TOO_LARGE',
    pattern: /101 keys; at most 100/,
  },
  {
    name: 'HTTP 500',
    setup: (idp) => idp.setResponse('/jwks', { status: 500, body: 'internal error' }),
    code: 'JWKS_UNREACHABLE',
    pattern: /cannot fetch the JWKS http:\/\/127\.0\.0\.1:\d+\/jwks: the server answered HTTP 500/,
  },
  {
    name: 'discovery missing (404)',
    setup: (idp) => idp.setResponse(idp.discoveryPath, { status: 404, body: '' }),
    code: 'JWKS_UNREACHABLE',
    pattern: /cannot fetch the discovery document .*openid-configuration: the server answered HTTP 404/,
  },
  {
    name: 'a redirect to plain HTTP on a non-loopback host',
    setup: (idp) => idp.redirect('/jwks', 'http://jwks.example.com/keys'),
    code: 'JWKS_INSECURE_URL',
    pattern: /JWKS redirect target http:\/\/jwks\.example\.com\/keys is plain HTTP; HTTPS is required/,
  },
  {
    name: 'more than three redirects',
    setup: (idp) => {
      for (const [from, to] of [
        ['/jwks', '/r1'],
        ['/r1', '/r2'],
        ['/r2', '/r3'],
        ['/r3', '/r4'],
      ]) {
        idp.redirect(from!, to!);
      }
      idp.setResponse('/r4', { body: '{"keys":[]}' });
    },
    code: 'JWKS_UNREACHABLE',
    pattern: /more than 3 redirects/,
  },
  {
    name: 'a jwks_uri over plain HTTP to a non-loopback host',
    setup: (idp) => idp.setDiscovery({ issuer: idp.issuer, jwks_uri: 'http://jwks.example.com/keys' }),
    code: 'JWKS_INSECURE_URL',
    pattern: /the jwks_uri http:\/\/jwks\.example\.com\/keys is plain HTTP; HTTPS is required/,
  },
  {
    name: 'a jwks_uri that is not an absolute URL',
    setup: (idp) => idp.setDiscovery({ issuer: idp.issuer, jwks_uri: '/jwks' }),
    code: 'JWKS_INVALID',
    pattern: /has no absolute "jwks_uri" URL/,
  },
];

test('bad issuer answers are refused with their code, by add and by sync, and nothing is written', async (t) => {
  for (const bad of BAD_ANSWERS) {
    await t.test(bad.name, async (t) => {
      const good = await newJwk('good');
      const idp = await issuerFor(t, [good]);
      // sync of a mirrored issuer
      const repo = newRepo(t);
      await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
      const before = snapshot(repo);
      await bad.setup(idp, good);
      const prefix = new RegExp(`^issuer ${idp.issuer}: `);
      await assert.rejects(syncIssuers({ repoDir: repo, now: later(1) }), failsWith(bad.code, bad.pattern));
      await assert.rejects(syncIssuers({ repoDir: repo, now: later(1) }), failsWith(bad.code, prefix));
      assert.deepEqual(snapshot(repo), before);
      // add of a new issuer
      const empty = newRepo(t);
      await assert.rejects(addIssuer({ repoDir: empty, issuer: idp.issuer, allowHttpLoopback: true }), failsWith(bad.code, bad.pattern));
      assert.deepEqual([...snapshot(empty).keys()], []);
    });
  }
});

test('unsafe or unreachable issuers are refused before anything is written', async (t) => {
  const repo = newRepo(t);
  const idp = await issuerFor(t, [await newJwk('k')]);
  await assert.rejects(
    addIssuer({ repoDir: repo, issuer: idp.issuer }),
    failsWith(
      'JWKS_INSECURE_URL',
      /the issuer http:\/\/127\.0\.0\.1:\d+\/ is plain HTTP; for a loopback test issuer pass --allow-http-loopback/,
    ),
  );
  for (const issuer of ['http://example.com', 'http://10.1.2.3:8080', 'http://localhost.example.com']) {
    await assert.rejects(
      addIssuer({ repoDir: repo, issuer, allowHttpLoopback: true }),
      failsWith('JWKS_INSECURE_URL', /is plain HTTP; HTTPS is required \(plain HTTP is allowed only to loopback hosts\)/),
      issuer,
    );
  }
  await assert.rejects(addIssuer({ repoDir: repo, issuer: 'ftp://example.com' }), failsWith('USAGE', /must be an https URL/));
  assert.equal(idp.requests.length, 0, 'nothing was fetched');

  const closed = await startOidcIssuer();
  await closed.close();
  await assert.rejects(
    addIssuer({ repoDir: repo, issuer: closed.issuer, allowHttpLoopback: true }),
    failsWith(
      'JWKS_UNREACHABLE',
      new RegExp(`cannot fetch the discovery document ${closed.origin}/.well-known/openid-configuration: connection refused`),
    ),
  );
  assert.deepEqual([...snapshot(repo).keys()], []);

  // A mirrored issuer that went away: sync fails, nothing changes.
  await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  const before = snapshot(repo);
  await idp.close();
  // (a pooled keep-alive connection may be the one that finds the server gone)
  await assert.rejects(
    syncIssuers({ repoDir: repo }),
    failsWith('JWKS_UNREACHABLE', /cannot fetch the discovery document .*: connection (refused|closed|reset)/),
  );
  assert.deepEqual(snapshot(repo), before);
});

// ---------------------------------------------------------------- validation of committed files

test('validateJwksFiles finds tampering in committed ledger.json and jwks.json, with lines', async (t) => {
  const repo = newRepo(t);
  const [a, b] = [await newJwk('a'), await newJwk('b', 'RSA')];
  const idp = await issuerFor(t, [a, b]);
  await addIssuer({ repoDir: repo, issuer: idp.issuer, allowHttpLoopback: true, now: T1 });
  assert.deepEqual(validateJwksFiles(repo), []);
  const dir = dirOf(idp);
  const ledgerPath = join(repo, 'targets', 'jwks', dir, 'ledger.json');
  const jwksPath = join(repo, 'targets', 'jwks', dir, 'jwks.json');
  const ledgerText = readFileSync(ledgerPath, 'utf8');
  const jwksText = readFileSync(jwksPath, 'utf8');
  const restore = (): void => {
    writeFileSync(ledgerPath, ledgerText);
    writeFileSync(jwksPath, jwksText);
  };
  const printed = (): string => validateJwksFiles(repo).map(formatProblemLine).join('\n');
  const ledgerFile = `targets/jwks/${dir}/ledger.json`;
  const jwksFile = `targets/jwks/${dir}/jwks.json`;
  const ledger = JSON.parse(ledgerText);
  const withKeyA = (entry: Record<string, unknown>): string =>
    fileText({ ...ledger, keys: { ...ledger.keys, a: { ...ledger.keys.a, ...entry } } });

  // jwks.json
  const privateJwk = await newJwk('a', 'EC', true);
  writeFileSync(jwksPath, fileText({ keys: [{ ...a, d: privateJwk.d }, b] }));
  assert.equal(printed(), `${jwksFile}:3: keys[0]: private key material (d) in key "a"`);
  writeFileSync(jwksPath, fileText({ keys: [b] }));
  assert.equal(printed(), `${jwksFile}:2: keys: is missing the active key "a"`);
  writeFileSync(jwksPath, fileText({ keys: [a, b, await newJwk('c')] }));
  assert.match(printed(), /keys\[2\]: kid "c" is not in the ledger/);
  writeFileSync(jwksPath, fileText({ keys: [{ ...a, x5u: 'https://example.com/cert' }, b] }));
  assert.match(printed(), /keys\[0\]: kid "a" differs from the ledger's key/);
  restore();

  // ledger.json
  writeFileSync(ledgerPath, withKeyA({ status: 'bogus' }));
  assert.match(printed(), new RegExp(`^${ledgerFile}:\\d+: keys.a.status: must be one of active, archived, revoked \\(got "bogus"\\)$`));
  writeFileSync(ledgerPath, withKeyA({ thumbprint: ledger.keys.b.thumbprint }));
  assert.match(printed(), /keys.a.thumbprint: is .*, but the key's thumbprint is/);
  writeFileSync(ledgerPath, withKeyA({ jwk: { ...a, d: privateJwk.d } }));
  assert.match(printed(), /keys.a.jwk.d: unknown field "d"/);
  writeFileSync(ledgerPath, withKeyA({ status: 'archived' }));
  assert.match(printed(), /keys.a: an archived key needs "archived_at"\n.*keys.a: an archived key needs "reason"/);
  writeFileSync(ledgerPath, withKeyA({ reason: 'because' }));
  assert.match(printed(), /keys.a.reason: an active key has no "reason"/);
  writeFileSync(ledgerPath, '{');
  assert.match(printed(), new RegExp(`^${ledgerFile}(:1)?: not valid JSON`));
  restore();

  writeFileSync(ledgerPath, JSON.stringify(ledger));
  assert.equal(printed(), `warning: ${ledgerFile}: is not in the form tufctl writes`);
  restore();

  mkdirSync(join(repo, 'targets', 'jwks', 'elsewhere.example'));
  renameSync(join(repo, 'targets', 'jwks', dir), join(repo, 'targets', 'jwks', 'elsewhere.example', 'x'));
  assert.match(
    printed(),
    /ledger.json:\d+: issuer: issuer http:\/\/127\.0\.0\.1:\d+ belongs in targets\/jwks\/127\.0\.0\.1_\d+\/, not targets\/jwks\/elsewhere\.example\/x\//,
  );
  await assert.rejects(syncIssuers({ repoDir: repo }), failsWith('JWKS_INVALID', /belongs in/));
  writeFileSync(join(repo, 'targets', 'jwks', 'stray.json'), '{}');
  mkdirSync(join(repo, 'targets', 'jwks', 'orphan.example'));
  writeFileSync(join(repo, 'targets', 'jwks', 'orphan.example', 'jwks.json'), '{"keys":[]}\n');
  assert.match(printed(), /targets\/jwks\/orphan.example\/jwks.json: has no ledger.json next to it/);
});

/**
 * The JWKS mirror's pure parts: issuer directory names, key checks and
 * thumbprints, the ledger's state machine (new, archived, reactivated,
 * revoked, dropped after the retention, kid conflicts), and the `jwks`
 * setting of tufctl.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { loadConfig, writeJwksIssuerSettings } from '../../src/config.js';
import { TufctlError } from '../../src/errors.js';
import { issuerDirectory } from '../../src/jwks/issuer.js';
import { checkJwksDocument, jwkThumbprint, type CheckedKey, type PublicJwk } from '../../src/jwks/jwk-checks.js';
import { ARCHIVE_REASON, publishedJwks, revokeKey, syncLedger, type Ledger } from '../../src/jwks/ledger.js';
import { tempDir } from '../helpers/harness.js';
import { newJwk, rsaJwkOfSize } from '../helpers/oidc-issuer.js';

const ISSUER = 'https://login.example.com';
const JWKS_URI = 'https://login.example.com/keys';
const T0 = new Date('2025-01-01T00:00:00.000Z');
const at = (days: number): Date => new Date(T0.getTime() + days * 86_400_000);
const time = (days: number): string =>
  at(days)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');

function assertFails(error: unknown, code: string, pattern: RegExp): true {
  assert.ok(error instanceof TufctlError, `not a TufctlError: ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  return true;
}

async function keysOf(...jwks: JWK[]): Promise<CheckedKey[]> {
  return checkJwksDocument(ISSUER, { keys: jwks });
}

function sync(previous: Ledger | undefined, keys: CheckedKey[], days: number, retentionDays = 365) {
  return syncLedger(previous, { issuer: ISSUER, jwksUri: JWKS_URI, keys }, { now: at(days), retentionDays });
}

test('issuer directories: host, HOST_PORT, path segments as directories; a trailing slash is ignored', () => {
  assert.equal(issuerDirectory('https://accounts.example.com'), 'accounts.example.com');
  assert.equal(issuerDirectory('https://accounts.example.com/'), 'accounts.example.com');
  assert.equal(issuerDirectory('https://Accounts.Example.COM:443'), 'accounts.example.com');
  assert.equal(issuerDirectory('http://127.0.0.1:43123'), '127.0.0.1_43123');
  assert.equal(issuerDirectory('https://login.example.com/tenant/v2.0'), 'login.example.com/tenant/v2.0');
  assert.equal(issuerDirectory('https://login.example.com/tenant/v2.0/'), 'login.example.com/tenant/v2.0');
  assert.equal(issuerDirectory('https://h.example:8443/a_b/c~d/e-f'), 'h.example_8443/a_b/c~d/e-f');
});

test('issuer URLs that cannot be mirrored safely are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['login.example.com', /not an absolute URL/],
    ['ftp://login.example.com', /must be an https URL, not ftp:/],
    ['file:///etc/passwd', /must be an https URL/],
    ['https://user:secret@login.example.com', /must not contain userinfo/],
    ['https://login.example.com?tenant=1', /must not have a query/],
    ['https://login.example.com/#x', /must not have a fragment/],
    ['https://login.example.com/a/../b', /segment "\.\." is not allowed/],
    ['https://login.example.com/./b', /segment "\." is not allowed/],
    ['https://login.example.com/a//b', /empty segment/],
    ['https://login.example.com/a%2Fb', /characters outside/],
    ['https://login.example.com/a b', /without spaces/],
    ['https://login.example.com\\a', /backslashes/],
    ['https://[::1]:8443', /IPv6/],
  ];
  for (const [issuer, pattern] of cases) {
    assert.throws(
      () => issuerDirectory(issuer),
      (error) => assertFails(error, 'USAGE', pattern),
      issuer,
    );
  }
  // userinfo is never echoed: it may be a password
  assert.throws(
    () => issuerDirectory('https://user:secret@login.example.com'),
    (error: Error) => !error.message.includes('secret'),
  );
});

test('thumbprints are RFC 7638 SHA-256, equal to jose calculateJwkThumbprint for RSA, EC and Ed25519 keys', async () => {
  for (const kind of ['RSA', 'EC', 'Ed25519'] as const) {
    const jwk = await newJwk(`k-${kind}`, kind);
    assert.equal(jwkThumbprint(jwk as PublicJwk), await calculateJwkThumbprint(jwk, 'sha256'), kind);
  }
});

test('a JWKS document is reduced to public members, sorted by kid, with thumbprints', async () => {
  const b = await newJwk('b', 'RSA');
  const a = { ...(await newJwk('a', 'Ed25519')), ext: true, x5u: 'https://example.com/cert', custom: 1 };
  const c = await newJwk('c', 'EC');
  delete c.alg; // the algorithm follows from the curve
  const keys = await keysOf(b, a, c);
  assert.deepEqual(
    keys.map((k) => k.kid),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(keys[0]!.jwk, { alg: 'EdDSA', crv: 'Ed25519', kid: 'a', kty: 'OKP', use: 'sig', x: a.x });
  assert.deepEqual(Object.keys(keys[1]!.jwk), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
  assert.equal(keys[2]!.thumbprint, await calculateJwkThumbprint(c));
  assert.deepEqual(await keysOf(), []);
});

test('unacceptable keys are refused with JWKS_INVALID naming the issuer and the key', async () => {
  const good = await newJwk('good');
  const withoutKid = await newJwk('x');
  delete withoutKid.kid;
  const badPoint = { ...(await newJwk('bad-point')), x: Buffer.alloc(32, 1).toString('base64url') };
  const cases: Array<[unknown, RegExp]> = [
    [{ keys: [good, await newJwk('priv', 'EC', true)] }, /private key material \(d\) in key "priv"/],
    [{ keys: [await newJwk('priv-rsa', 'RSA', true)] }, /private key material \(d, p, q, dp, dq, qi\) in key "priv-rsa"/],
    [{ keys: [{ kty: 'oct', kid: 'sym', k: 'c2VjcmV0' }] }, /symmetric key \(kty "oct"\) in key "sym"/],
    [{ keys: [good, withoutKid] }, /key #2 has no kid/],
    [{ keys: [{ ...good, kid: '' }] }, /key #1 has no kid/],
    [{ keys: [good, { ...(await newJwk('other')), kid: 'good' }] }, /kid "good" appears more than once/],
    [{ keys: [{ ...good, use: 'enc' }] }, /key "good" has use "enc"/],
    [{ keys: [{ ...good, alg: 'none' }] }, /alg "none", which is not an asymmetric signature/],
    [{ keys: [{ ...good, alg: 'HS256' }] }, /alg "HS256", which is not an asymmetric signature/],
    [{ keys: [{ ...good, alg: 'RS256' }] }, /alg "RS256", which does not fit a EC key/],
    [{ keys: [{ ...good, crv: 'secp256k1' }] }, /unsupported curve "secp256k1"/],
    [{ keys: [{ ...good, kty: 'AKP' }] }, /kty "AKP"; only RSA, EC and OKP/],
    [{ keys: [{ ...good, x5c: 'MIIB' }] }, /"x5c" must be an array of strings/],
    [{ keys: [rsaJwkOfSize('small', 1024)] }, /key "small" is a 1024-bit RSA key; at least 2048/],
    [{ keys: [badPoint] }, /key "bad-point" cannot be imported/],
    [{ keys: ['not a key'] }, /key #1 is not a JSON object/],
    [{ keys: {} }, /not a JSON object with a "keys" array/],
    [[good], /not a JSON object with a "keys" array/],
  ];
  for (const [document, pattern] of cases) {
    await assert.rejects(
      checkJwksDocument(ISSUER, document),
      (error) =>
        assertFails(error, 'JWKS_INVALID', /^issuer https:\/\/login\.example\.com: /) && assertFails(error, 'JWKS_INVALID', pattern),
      String(pattern),
    );
  }
  const many = { keys: Array.from({ length: 101 }, (_, i) => ({ ...good, kid: `k${i}` })) };
  await assert.rejects(checkJwksDocument(ISSUER, many), (error) => assertFails(error, 'JWKS_TOO_LARGE', /101 keys; at most 100/));
});

test('ledger: new keys are active; a missing key is archived; it comes back when served again with the same key', async () => {
  const [a, b] = await keysOf(await newJwk('a'), await newJwk('b'));
  const first = sync(undefined, [a!, b!], 0);
  assert.equal(first.changed, true);
  assert.deepEqual(first.changes.added, ['a', 'b']);
  assert.deepEqual(first.ledger, {
    issuer: ISSUER,
    jwks_uri: JWKS_URI,
    updated: time(0),
    keys: {
      a: { thumbprint: a!.thumbprint, status: 'active', first_seen: time(0), last_seen: time(0), jwk: a!.jwk },
      b: { thumbprint: b!.thumbprint, status: 'active', first_seen: time(0), last_seen: time(0), jwk: b!.jwk },
    },
  });

  const second = sync(first.ledger, [b!], 10);
  assert.deepEqual(second.changes.archived, ['a']);
  assert.deepEqual(second.ledger.keys.a, {
    thumbprint: a!.thumbprint,
    status: 'archived',
    first_seen: time(0),
    last_seen: time(0),
    archived_at: time(10),
    reason: ARCHIVE_REASON,
    jwk: a!.jwk,
  });
  assert.equal(second.ledger.keys.b!.last_seen, time(10));
  assert.equal(second.ledger.updated, time(10));
  assert.deepEqual(
    publishedJwks(second.ledger).keys.map((k) => k.kid),
    ['a', 'b'],
  );
  assert.equal(first.ledger.keys.a!.status, 'active', 'the previous ledger is not modified');

  const third = sync(second.ledger, [a!, b!], 20);
  assert.deepEqual(third.changes.reactivated, ['a']);
  assert.deepEqual(third.ledger.keys.a, {
    thumbprint: a!.thumbprint,
    status: 'active',
    first_seen: time(0),
    last_seen: time(20),
    jwk: a!.jwk,
  });
});

test('ledger: a sync without change returns the previous ledger itself', async () => {
  const keys = await keysOf(await newJwk('a'));
  const first = sync(undefined, keys, 0);
  const again = sync(first.ledger, keys, 5);
  assert.equal(again.changed, false);
  assert.equal(again.ledger, first.ledger);
  assert.deepEqual(again.changes, { added: [], archived: [], reactivated: [], dropped: [], revoked: [], notes: [] });
  const moved = syncLedger(first.ledger, { issuer: ISSUER, jwksUri: `${JWKS_URI}/v2`, keys }, { now: at(6), retentionDays: 365 });
  assert.equal(moved.changed, true, 'a new jwks_uri is a change');
  assert.equal(moved.ledger.jwks_uri, `${JWKS_URI}/v2`);
  assert.equal(moved.ledger.keys.a!.last_seen, time(6));
  // Same key material, other public members: the ledger follows the issuer.
  const { alg: _alg, ...withoutAlg } = keys[0]!.jwk;
  const relabelled = sync(first.ledger, [{ ...keys[0]!, jwk: withoutAlg }], 7);
  assert.equal(relabelled.changed, true);
  assert.deepEqual(relabelled.ledger.keys.a!.jwk, withoutAlg);
  assert.match(relabelled.changes.notes.join('\n'), /key "a": public members other than the key itself changed/);
});

test('ledger: a kid served with other key material is a conflict whatever its status', async () => {
  const [a] = await keysOf(await newJwk('a'));
  const [impostor] = await keysOf(await newJwk('a'));
  const active = sync(undefined, [a!], 0).ledger;
  const archived = sync(active, [], 1).ledger;
  const revoked = revokeKey(active, 'a', 'leaked', at(1)).ledger;
  for (const ledger of [active, archived, revoked]) {
    assert.throws(
      () => sync(ledger, [impostor!], 2),
      (error) =>
        assertFails(
          error,
          'JWKS_KID_CONFLICT',
          new RegExp(`issuer ${ISSUER}: kid "a" is now served with thumbprint ${impostor!.thumbprint}.*${a!.thumbprint}.*human review`),
        ),
    );
  }
});

test('ledger: archived keys are dropped after the retention; revoked keys never; 0 keeps them forever', async () => {
  const [a, b, c] = await keysOf(await newJwk('a'), await newJwk('b'), await newJwk('c'));
  const start = sync(undefined, [a!, b!, c!], 0).ledger;
  const archived = sync(revokeKey(start, 'c', 'compromised', at(0)).ledger, [], 1).ledger;
  assert.deepEqual(sync(archived, [], 366).changed, false, 'exactly 365 days is kept');
  const later = sync(archived, [], 367);
  assert.deepEqual(later.changes.dropped, ['a', 'b']);
  assert.deepEqual(Object.keys(later.ledger.keys), ['c']);
  assert.equal(later.ledger.keys.c!.status, 'revoked');
  assert.deepEqual(publishedJwks(later.ledger), { keys: [] });
  assert.equal(sync(archived, [], 5000, 0).changed, false);
  assert.equal(sync(archived, [], 31, 30).changed, false);
  assert.deepEqual(sync(archived, [], 32, 30).changes.dropped, ['a', 'b']);
});

test('ledger: revocation removes the key from jwks.json and a revoked key still served stays revoked', async () => {
  const [a, b] = await keysOf(await newJwk('a'), await newJwk('b'));
  const start = sync(undefined, [a!, b!], 0).ledger;
  const revoked = revokeKey(start, 'a', 'private key leaked', at(3));
  assert.deepEqual(revoked.changes.revoked, ['a']);
  assert.deepEqual(revoked.ledger.keys.a, {
    thumbprint: a!.thumbprint,
    status: 'revoked',
    first_seen: time(0),
    last_seen: time(0),
    revoked_at: time(3),
    reason: 'private key leaked',
    jwk: a!.jwk,
  });
  assert.equal(revoked.ledger.updated, time(3));
  assert.deepEqual(publishedJwks(revoked.ledger), { keys: [b!.jwk] });

  const still = sync(revoked.ledger, [a!, b!], 4);
  assert.equal(still.changed, false);
  assert.match(still.changes.notes.join('\n'), /key "a" is revoked but the issuer still serves it; it stays revoked/);

  assert.throws(
    () => revokeKey(revoked.ledger, 'a', 'again', at(5)),
    (error) => assertFails(error, 'USAGE', /already revoked at/),
  );
  assert.throws(
    () => revokeKey(start, 'zz', 'x', at(5)),
    (error) => assertFails(error, 'KEY_UNKNOWN', /no key "zz".*known: a, b/),
  );
  assert.throws(
    () => revokeKey(start, 'a', ' ', at(5)),
    (error) => assertFails(error, 'USAGE', /needs a reason/),
  );
  const archivedThenRevoked = revokeKey(sync(start, [b!], 1).ledger, 'a', 'retired', at(2)).ledger.keys.a!;
  assert.equal(archivedThenRevoked.archived_at, undefined);
  assert.equal(archivedThenRevoked.reason, 'retired');
});

test('tufctl.json: the jwks setting is validated strictly and issuer settings are written back, keeping the rest', () => {
  const dir = tempDir();
  try {
    assert.deepEqual(loadConfig(dir.path).jwks, { retentionDays: 365, issuers: {} });
    const path = join(dir.path, 'tufctl.json');
    writeFileSync(path, JSON.stringify({ version: 1, baseRef: 'main', jwks: { retentionDays: 30 } }));
    assert.equal(writeJwksIssuerSettings(dir.path, 'http://127.0.0.1:8080', { allowHttpLoopback: true }), true);
    const text = readFileSync(path, 'utf8');
    assert.equal(
      text,
      JSON.stringify(
        { version: 1, baseRef: 'main', jwks: { retentionDays: 30, issuers: { 'http://127.0.0.1:8080': { allowHttpLoopback: true } } } },
        null,
        2,
      ) + '\n',
    );
    assert.equal(writeJwksIssuerSettings(dir.path, 'http://127.0.0.1:8080', { allowHttpLoopback: true }), false, 'no change, no write');
    const config = loadConfig(dir.path);
    assert.equal(config.baseRef, 'main');
    assert.deepEqual(config.jwks, { retentionDays: 30, issuers: { 'http://127.0.0.1:8080': { allowHttpLoopback: true } } });

    const invalid: Array<[unknown, RegExp]> = [
      [[], /jwks must be an object/],
      [{ retention: 1 }, /unknown setting "jwks.retention"/],
      [{ retentionDays: -1 }, /retentionDays must be a whole number/],
      [{ retentionDays: 1.5 }, /retentionDays must be a whole number/],
      [{ retentionDays: '30' }, /retentionDays must be a whole number/],
      [{ issuers: [] }, /jwks.issuers must be an object/],
      [{ issuers: { 'https://a.example': { allowHttpLoopback: 'yes' } } }, /allowHttpLoopback must be true or false/],
      [
        { issuers: { 'https://a.example': { allowHttpLoopback: true, extra: 1 } } },
        /unknown setting "jwks.issuers\["https:\/\/a.example"\].extra"/,
      ],
      [{ issuers: { 'ftp://a.example': { allowHttpLoopback: true } } }, /must be an https URL/],
    ];
    for (const [jwks, pattern] of invalid) {
      writeFileSync(path, JSON.stringify({ jwks }));
      assert.throws(
        () => loadConfig(dir.path),
        (error) => assertFails(error, 'CONFIG_INVALID', pattern),
        String(pattern),
      );
    }
  } finally {
    dir.cleanup();
  }
});

/**
 * Key ids and key kinds: a key id is the sha256 of the canonical key object
 * without custom `x-` fields; supported public keys become TUF keys, and every
 * other kind is refused with KEY_UNSUPPORTED; private and public PEM are told
 * apart with KEY_IS_PRIVATE / KEY_IS_PUBLIC, never echoing key material.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { KeyError } from '../../src/errors.js';
import { generateKeyPair, parsePrivateKeyPem, parsePublicKeyPem } from '../../src/keys/key-files.js';
import { assertTufKey, keyIdOf, publicKeyObjectOf, tufKeyFromPublicKey, type TufKeyJSON } from '../../src/keys/tuf-key.js';

function isKeyError(code: string, pattern?: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof KeyError && error.code === code && (!pattern || pattern.test(error.message));
}

test('a key id is the sha256 of the canonical JSON of keytype, keyval and scheme', () => {
  const key: TufKeyJSON = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'ab'.repeat(32) } };
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${'ab'.repeat(32)}"},"scheme":"ed25519"}`;
  assert.equal(keyIdOf(key), createHash('sha256').update(canonical).digest('hex'));
  assert.match(keyIdOf(key), /^[0-9a-f]{64}$/);
});

test('custom x- fields (owner, online URI) never change a key id; the key itself does', () => {
  const key: TufKeyJSON = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'cd'.repeat(32) } };
  const id = keyIdOf(key);
  assert.equal(keyIdOf({ ...key, 'x-tuf-on-ci-keyowner': '@alice' }), id);
  assert.equal(keyIdOf({ ...key, 'x-tuf-on-ci-online-uri': 'awskms:eu-west-1/abc', 'x-anything': 1 }), id);
  assert.notEqual(keyIdOf({ ...key, keyval: { public: 'ce'.repeat(32) } }), id);
  assert.notEqual(keyIdOf({ ...key, scheme: 'ed25519-other' }), id);
});

test('generated keys of every type: the key id of the PEM public key matches the generated one', () => {
  for (const type of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-pss'] as const) {
    const pair = generateKeyPair(type);
    assert.equal(pair.keyId, keyIdOf(pair.key), type);
    assert.equal(parsePublicKeyPem(pair.publicKeyPem, 'pub.pem').keyId, pair.keyId, type);
    // The TUF key decodes back to the same public key.
    const spki = (k: ReturnType<typeof createPublicKey>): Buffer => k.export({ format: 'der', type: 'spki' });
    assert.ok(spki(publicKeyObjectOf(pair.key)).equals(spki(createPublicKey(pair.publicKeyPem))), type);
  }
});

test('ed25519 keys are hex; ECDSA and RSA keys are SPKI PEM; an RSA-PSS key becomes an rsaEncryption key', () => {
  const ed = tufKeyFromPublicKey(generateKeyPairSync('ed25519').publicKey);
  assert.deepEqual([ed.keytype, ed.scheme], ['ed25519', 'ed25519']);
  assert.match(ed.keyval.public, /^[0-9a-f]{64}$/);
  const p256 = tufKeyFromPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  assert.deepEqual([p256.keytype, p256.scheme], ['ecdsa', 'ecdsa-sha2-nistp256']);
  assert.match(p256.keyval.public, /^-----BEGIN PUBLIC KEY-----/);
  // An RSA-PSS (id-RSASSA-PSS) key, as `openssl genpkey -algorithm RSA-PSS` makes, keeps its modulus and exponent.
  const pssKey = generateKeyPairSync('rsa-pss', { modulusLength: 2048, publicExponent: 65537 }).publicKey;
  const pss = tufKeyFromPublicKey(pssKey);
  assert.deepEqual([pss.keytype, pss.scheme], ['rsa', 'rsassa-pss-sha256']);
  const rsa = createPublicKey(pss.keyval.public);
  assert.equal(rsa.asymmetricKeyType, 'rsa');
  assert.deepEqual(rsa.asymmetricKeyDetails, { modulusLength: 2048, publicExponent: 65537n });
  // The RSAPublicKey inside both SPKIs is the same.
  const spki = (k: ReturnType<typeof createPublicKey>): Buffer => k.export({ format: 'der', type: 'spki' });
  assert.ok(spki(pssKey).subarray(-270).equals(spki(rsa).subarray(-270)));
  assert.equal(parsePublicKeyPem(pssKey.export({ format: 'pem', type: 'spki' }).toString(), 'pss.pub.pem').keyId, keyIdOf(pss));
});

test('unsupported kinds of public key are KEY_UNSUPPORTED', () => {
  const cases: Array<[string, ReturnType<typeof createPublicKey>, RegExp]> = [
    ['x25519', generateKeyPairSync('x25519').publicKey, /unsupported key type x25519/],
    ['ed448', generateKeyPairSync('ed448').publicKey, /unsupported key type ed448/],
    ['secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey, /unsupported elliptic curve secp256k1/],
    ['P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey, /unsupported elliptic curve secp521r1/],
    ['rsa-1024', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, /RSA key of 1024 bits is too small/],
  ];
  for (const [name, publicKey, message] of cases) {
    assert.throws(() => tufKeyFromPublicKey(publicKey), isKeyError('KEY_UNSUPPORTED', message), name);
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.throws(() => parsePublicKeyPem(pem, `${name}.pub.pem`), isKeyError('KEY_UNSUPPORTED'), name);
  }
});

test('key objects with an unknown scheme or a mismatched keytype are refused', () => {
  const hex = 'ab'.repeat(32);
  assert.throws(() => assertTufKey({ keytype: 'ed25519', scheme: 'ed448', keyval: { public: hex } }, 'k'), isKeyError('KEY_UNSUPPORTED'));
  assert.throws(() => assertTufKey({ keytype: 'rsa', scheme: 'ed25519', keyval: { public: hex } }, 'k'), isKeyError('KEY_UNSUPPORTED'));
  assert.throws(() => assertTufKey({ keytype: 'ed25519', scheme: 'ed25519' }, 'k'), isKeyError('KEY_INVALID'));
  assert.throws(() => assertTufKey('ed25519', 'k'), isKeyError('KEY_INVALID'));
  assert.doesNotThrow(() => assertTufKey({ keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: 'x' } }, 'k'));
});

test('private and public PEM are told apart, and no key material appears in the message', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const body = privatePem.split('\n')[1]!;
  const quiet = (code: string) => (error: unknown) =>
    isKeyError(code)(error) && !(error as Error).message.includes(body) && !/BEGIN/.test((error as Error).message);
  assert.throws(() => parsePublicKeyPem(privatePem, 'k.pem'), quiet('KEY_IS_PRIVATE'));
  assert.throws(() => parsePrivateKeyPem(publicPem, 'k.pub.pem'), isKeyError('KEY_IS_PUBLIC', /k\.pub\.pem holds a public key/));
  assert.throws(() => parsePrivateKeyPem(privatePem.replace(body, 'AAAA'), 'k.pem'), quiet('KEY_INVALID'));
  assert.throws(() => parsePublicKeyPem('hello', 'k.pub.pem'), isKeyError('KEY_INVALID', /not a PEM public key/));
  const encrypted = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
  assert.throws(() => parsePrivateKeyPem(encrypted, 'enc.pem'), isKeyError('KEY_INVALID', /encrypted private key/));
  assert.equal(parsePrivateKeyPem(privatePem, 'k.pem').asymmetricKeyType, 'ed25519');
});

/**
 * RFC 7512 PKCS#11 URIs: token and object attributes, percent-encoding, the
 * query (module, PIN sources), and errors that never quote a value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyError } from '../../src/errors.js';
import { describePkcs11Uri, parsePkcs11Uri } from '../../src/keys/pkcs11-uri.js';
import { ecdsaDer } from '../../src/keys/pkcs11-signer.js';

test('path and query attributes, percent-decoded', () => {
  const uri = parsePkcs11Uri(
    'pkcs11:token=YubiKey%20PIV%20%2325515003;manufacturer=Yubico%20%28www.yubico.com%29;id=%02;object=X.509%20Certificate%20for%20Digital%20Signature;type=private?module-path=/usr/lib/x86_64-linux-gnu/libykcs11.so&pin-source=file:/run/pin',
  );
  assert.equal(uri.token.label, 'YubiKey PIV #25515003');
  assert.equal(uri.token.manufacturer, 'Yubico (www.yubico.com)');
  assert.deepEqual(uri.object.id, Buffer.from([2]));
  assert.equal(uri.object.label, 'X.509 Certificate for Digital Signature');
  assert.equal(uri.type, 'private');
  assert.equal(uri.modulePath, '/usr/lib/x86_64-linux-gnu/libykcs11.so');
  assert.equal(uri.pinSource, '/run/pin');
  assert.equal(parsePkcs11Uri('pkcs11:slot-id=3;object=k?pin-value=1234').pinValue, '1234');
  assert.equal(parsePkcs11Uri('pkcs11:slot-id=3;object=k').token.slotId, 3);
});

test('describePkcs11Uri drops the query, where a PIN may be', () => {
  assert.equal(describePkcs11Uri('pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234'), 'pkcs11:token=t;object=k');
});

test('malformed URIs are refused without quoting any value', () => {
  const secret = '97531086';
  const cases: Array<[string, RegExp]> = [
    [`pkcs11:token=t;${secret}`, /an attribute has no "="/],
    [`pkcs11:token=t;pin=${secret}`, /unknown attribute "pin"/],
    [`pkcs11:token=t;object=k?pin=${secret}`, /unknown attribute "pin"/],
    [`pkcs11:token=t;object=k;object=${secret}`, /attribute "object" is given twice/],
    [`pkcs11:token=t;object=%zz${secret}`, /attribute "object" has a malformed percent-encoding/],
    ['pkcs11:token=t', /name the key with object=LABEL or id=/],
    ['pkcs11:object=k;type=secret', /type must be private, public or cert/],
    ['pkcs11:object=k;slot-id=x', /slot-id must be a number/],
    ['file:/x', /not a PKCS#11 URI/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parsePkcs11Uri(text),
      (error: unknown) => error instanceof KeyError && message.test(error.message) && !error.message.includes(secret),
      text,
    );
  }
});

test('ECDSA r||s from a token becomes the DER signature TUF stores', () => {
  const r = Buffer.alloc(48, 0);
  r[47] = 1;
  const s = Buffer.alloc(48, 0xff);
  const der = ecdsaDer(Buffer.concat([r, s]));
  // SEQUENCE { INTEGER 1, INTEGER 0x00ff…ff (49 bytes: a leading zero keeps it positive) }
  assert.equal(der.toString('hex'), `3036020101023100${'ff'.repeat(48)}`);
});

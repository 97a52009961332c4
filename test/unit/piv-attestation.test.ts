/**
 * YubiKey PIV attestation verification (src/keys/piv-attestation.ts).
 *
 * Real data first: the attestations docker/tuf archived at its 2024-06-04
 * key ceremony (test/fixtures/real/docker-tuf-ceremony/, from the real
 * YubiKeys) verify against Yubico's real PIV root CA and attest exactly the
 * P-384 keys its root.json and targets.json trust, owner by owner. Then
 * chains built with openssl at test time in the same shape (root CA →
 * f9 intermediate → attestation with Yubico's extensions) for every way an
 * attestation can fail, each with its own code and message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { TufctlError } from '../../src/errors.js';
import {
  ATTESTATION_FIELD,
  attestationRecord,
  deviceLabelOf,
  parseCertificates,
  readCertificateFile,
  verifyPivAttestation,
  type CertificateSource,
  type PivAttestationInput,
} from '../../src/keys/piv-attestation.js';
import { KEYOWNER_FIELD, type TufKeyJSON } from '../../src/keys/tuf-key.js';
import { PROJECT_DIR, tempDir } from '../helpers/harness.js';
import { realRepositoryFacts, replayRealRepository } from '../helpers/real-repositories.js';
import { issue, makeAttestation, makeIntermediate, makePivChain, makeRootCa, type Issuer } from '../helpers/piv-chain.js';

const CEREMONY = join(PROJECT_DIR, 'test', 'fixtures', 'real', 'docker-tuf-ceremony');
const YUBICO_CA = join(CEREMONY, 'piv-attestation-ca.pem');

/** Who holds each device, from ceremony/2024-06-04/keys/<serial>/README.md in docker/tuf. */
const HOLDERS: Record<string, string> = {
  '25515003': '@whalelines',
  '25515137': '@tianon-sso',
  '25515139': '@mrjoelkamp',
  '25515142': '@ingshtrom',
  '25515264': '@rachel-taylor-docker',
  '25515267': '@yosifkit',
  '25515985': '@LaurentGoderre',
  '25515991': '@binman-docker',
  '25599865': '@cdupuis',
  '28751258': '@jonnystoten',
  '28751259': '@kipz',
  '28751288': '@jeanlaurent',
};

function realInput(serial: string, f9Serial = serial): PivAttestationInput {
  return {
    attestation: readCertificateFile(join(CEREMONY, serial, 'Slot9CAttestation.pem')),
    intermediates: [readCertificateFile(join(CEREMONY, f9Serial, 'SlotF9Intermediate.pem'))],
    ca: [readCertificateFile(YUBICO_CA)],
  };
}

function refused(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TufctlError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

test('the real docker/tuf ceremony: every attestation verifies against the real Yubico PIV root CA and attests a key docker/tuf trusts, held by the owner on record', () => {
  const ca = parseCertificates(readCertificateFile(YUBICO_CA));
  assert.equal(ca.length, 1);
  assert.equal(ca[0]!.x509.subject, 'CN=Yubico PIV Root CA Serial 263751');
  assert.equal(ca[0]!.sha256, '63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546');

  const facts = realRepositoryFacts('docker-tuf');
  const repo = replayRealRepository('docker-tuf');
  try {
    const now = new Date(facts.refs.main.now);
    const root = JSON.parse(readFileSync(join(repo.dir, 'metadata', 'root.json'), 'utf8')).signed;
    const targets = JSON.parse(readFileSync(join(repo.dir, 'metadata', 'targets.json'), 'utf8')).signed;
    const tables: Array<[string, Record<string, TufKeyJSON>]> = [
      ['root', root.keys],
      ['targets', targets.delegations.keys],
    ];
    const serials = readdirSync(CEREMONY).filter((name) => /^\d+$/.test(name));
    assert.deepEqual(serials.sort(), Object.keys(HOLDERS).sort());
    const attestedIds = new Set<string>();
    for (const serial of serials) {
      const a = verifyPivAttestation(realInput(serial), { now, slot: '9c' });
      assert.equal(a.serial, Number(serial), 'the serial in the certificate is the one the ceremony filed it under');
      assert.equal(a.slot, '9c');
      assert.equal(a.firmware, '5.4.3');
      assert.equal(a.pinPolicy, 'always');
      assert.equal(a.touchPolicy, 'never');
      assert.equal(a.formFactor, 'usb-c-keychain');
      assert.equal(a.fips, true, 'YubiKey 5C NFC FIPS');
      assert.equal(a.publicKey.scheme, 'ecdsa-sha2-nistp384');
      assert.deepEqual(
        a.chain.map((c) => c.subject),
        ['CN=YubiKey PIV Attestation 9c', 'CN=Yubico PIV Attestation', 'CN=Yubico PIV Root CA Serial 263751'],
      );
      // The key docker/tuf's metadata trusts, and its owner is the device's holder.
      let matched = 0;
      for (const [table, keys] of tables) {
        for (const [id, key] of Object.entries(keys)) {
          let same = false;
          try {
            same = verifyPivAttestation(realInput(serial), { now, expectedKey: { key, label: id } }).keyMatches === true;
          } catch (error) {
            assert.equal((error as TufctlError).code, 'ATTESTATION_KEY_MISMATCH');
          }
          if (!same) continue;
          matched++;
          attestedIds.add(`${table}:${id}`);
          assert.equal(key[KEYOWNER_FIELD], HOLDERS[serial], `${serial} is ${table} key ${id.slice(0, 8)}`);
        }
      }
      assert.ok(matched >= 1, `YubiKey ${serial} attests a key docker/tuf trusts`);
    }
    // Every key root and targets trust for the offline roles was attested at the ceremony.
    for (const role of ['root', 'targets']) {
      for (const id of root.roles[role].keyids as string[])
        assert.ok(attestedIds.has(`root:${id}`), `${role} key ${id.slice(0, 8)} is attested`);
    }
    for (const d of targets.delegations.roles as Array<{ name: string; keyids: string[] }>) {
      for (const id of d.keyids) assert.ok(attestedIds.has(`targets:${id}`), `${d.name} key ${id.slice(0, 8)} is attested`);
    }
    assert.equal(root.roles.root.keyids.length, 5);
    assert.equal(root.roles.targets.keyids.length, 4);
  } finally {
    repo.cleanup();
  }
});

test('the real ceremony data refused: another batch, another key, past the certificates, the f9 certificate as CA, another slot', () => {
  // Devices of one production batch share one f9 attestation certificate (8 and 3 of these 12 do); 25599865 has its own.
  const f9 = (serial: string): string =>
    parseCertificates(readCertificateFile(join(CEREMONY, serial, 'SlotF9Intermediate.pem')))[0]!.sha256;
  assert.equal(f9('25515003'), f9('25515264'));
  assert.notEqual(f9('25515003'), f9('28751258'));
  verifyPivAttestation(realInput('25515003', '25515264'));
  refused(
    () => verifyPivAttestation(realInput('25515003', '28751258')),
    'ATTESTATION_UNTRUSTED',
    /25515003\/Slot9CAttestation\.pem \(CN=YubiKey PIV Attestation 9c\) is not signed by the attestation key of .*28751258\/SlotF9Intermediate\.pem .*the issuer names match but the signature does not verify/,
  );
  const kipz = createPublicKey(readFileSync(join(CEREMONY, '28751259', 'Slot9CAttestation.pem')));
  refused(
    () => verifyPivAttestation(realInput('25515003'), { expectedKey: { key: kipz, label: "@kipz's key" } }),
    'ATTESTATION_KEY_MISMATCH',
    /^attestation of another key: .*25515003\/Slot9CAttestation\.pem attests ecdsa-sha2-nistp384 key ab0b1928b675…, not @kipz's key$/,
  );
  refused(
    () => verifyPivAttestation(realInput('25515003'), { now: new Date('2052-04-17T00:00:01Z') }),
    'ATTESTATION_EXPIRED',
    /Slot9CAttestation\.pem \(CN=YubiKey PIV Attestation 9c\) expired on 2052-04-17T00:00:00Z \(checked at 2052-04-17T00:00:01Z\)/,
  );
  refused(
    () => verifyPivAttestation(realInput('25515003'), { now: new Date('2016-03-13T23:59:59Z') }),
    'ATTESTATION_INVALID',
    /is not valid before 2016-03-14T00:00:00Z/,
  );
  refused(
    () =>
      verifyPivAttestation({ ...realInput('25515003'), ca: [readCertificateFile(join(CEREMONY, '25515003', 'SlotF9Intermediate.pem'))] }),
    'ATTESTATION_INVALID',
    /SlotF9Intermediate\.pem holds no self-signed certificate \(CN=Yubico PIV Attestation\): give the vendor's root CA/,
  );
  refused(
    () =>
      verifyPivAttestation({
        ...realInput('25515003'),
        attestation: readCertificateFile(join(CEREMONY, '25515003', 'SlotF9Intermediate.pem')),
      }),
    'ATTESTATION_INVALID',
    /SlotF9Intermediate\.pem \(CN=Yubico PIV Attestation\) is not a YubiKey PIV attestation certificate/,
  );
  refused(
    () => verifyPivAttestation(realInput('25515003'), { slot: '9a' }),
    'ATTESTATION_INVALID',
    /^wrong slot: .*attests the key in slot 9c, not in slot 9a$/,
  );
  // The record kept with the key.
  const record = attestationRecord(verifyPivAttestation(realInput('25515003')));
  assert.deepEqual(record, {
    kind: 'yubikey-piv',
    slot: '9c',
    serial: 25515003,
    firmware: '5.4.3',
    pinPolicy: 'always',
    touchPolicy: 'never',
    formFactor: 'usb-c-keychain',
    fips: true,
    ca: 'CN=Yubico PIV Root CA Serial 263751',
    caSha256: '63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546',
  });
  assert.equal(deviceLabelOf({ [ATTESTATION_FIELD]: record }), 'YubiKey 25515003');
  assert.equal(deviceLabelOf({}), undefined);
});

let dir: { path: string; cleanup: () => void };
let key: string;
let otherKey: string;
let chain: { ca: Issuer; device: Issuer; attestation: string };
const src = (path: string): CertificateSource => readCertificateFile(path);
const input = (attestation: string, device: string | string[], ca: string | string[]): PivAttestationInput => ({
  attestation: src(attestation),
  intermediates: [device].flat().map(src),
  ca: [ca].flat().map(src),
});
const keyOf = (file: string): TufKeyJSON => {
  const pub = createPublicKey(readFileSync(file));
  return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp384', keyval: { public: pub.export({ type: 'spki', format: 'pem' }).toString() } };
};

before(() => {
  dir = tempDir('tufctl-piv-');
  key = join(dir.path, 'attested.key');
  otherKey = join(dir.path, 'other.key');
  for (const file of [key, otherKey]) {
    const r = spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', file]);
    assert.equal(r.status, 0);
  }
  chain = makePivChain(join(dir.path, 'good'), key, { serial: 25515003, pinPolicy: 2, touchPolicy: 3, formFactor: 0x04 });
});

after(() => dir.cleanup());

test('a well-formed chain verifies; the facts are read from the extensions; the attested key is compared by its SPKI', () => {
  const a = verifyPivAttestation(input(chain.attestation, chain.device.cert, chain.ca.cert), {
    expectedKey: { key: keyOf(key), label: 'attested.pub.pem' },
    slot: '9C',
  });
  assert.equal(a.keyMatches, true);
  assert.equal(a.serial, 25515003);
  assert.equal(a.pinPolicy, 'once');
  assert.equal(a.touchPolicy, 'cached');
  assert.equal(a.formFactor, 'usb-c-nano');
  assert.equal(a.fips, true, 'from the f9 certificate');
  assert.equal(a.chain.length, 3);
  assert.equal(a.ca.subject, 'CN=Test PIV Root CA Serial 263751');
  // DER input works as well as PEM.
  const der = join(dir.path, 'attestation.der');
  writeFileSync(der, createDer(chain.attestation));
  assert.equal(verifyPivAttestation(input(der, chain.device.cert, chain.ca.cert)).serial, 25515003);
});

function createDer(pemFile: string): Buffer {
  return parseCertificates(src(pemFile))[0]!.x509.raw;
}

test('a chain from another CA is refused, whether the CA has another name or the same one', () => {
  const other = join(dir.path, 'other-ca');
  spawnSync('mkdir', ['-p', other]);
  const otherCa = makeRootCa(other, { name: 'Other PIV Root CA' });
  refused(
    () => verifyPivAttestation(input(chain.attestation, chain.device.cert, otherCa.cert)),
    'ATTESTATION_UNTRUSTED',
    /^chain from another CA: .*f9\.pem \(CN=Test PIV Attestation\) is issued by CN=Test PIV Root CA Serial 263751, not by the CA in .*other-ca\/ca\.pem \(CN=Other PIV Root CA\)$/,
  );
  // An impostor CA with the very same name: only the signature tells.
  const impostor = join(dir.path, 'impostor');
  spawnSync('mkdir', ['-p', impostor]);
  const fakeCa = makeRootCa(impostor);
  refused(
    () => verifyPivAttestation(input(chain.attestation, chain.device.cert, fakeCa.cert)),
    'ATTESTATION_UNTRUSTED',
    /chain from another CA: .*f9\.pem \(CN=Test PIV Attestation\) names CN=Test PIV Root CA Serial 263751 as its issuer, like the CA in .*impostor\/ca\.pem, but that CA's key did not sign it/,
  );
  // The whole chain made by the impostor, attesting the right key, against the real CA: refused too.
  const fakeDevice = makeIntermediate(impostor, fakeCa);
  const fakeAttestation = makeAttestation(impostor, fakeDevice, key);
  refused(
    () => verifyPivAttestation(input(fakeAttestation, fakeDevice.cert, chain.ca.cert)),
    'ATTESTATION_UNTRUSTED',
    /chain from another CA/,
  );
  // The attestation signed by another f9 key than the one given.
  refused(
    () => verifyPivAttestation(input(fakeAttestation, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_UNTRUSTED',
    /is not signed by the attestation key of .*good\/f9\.pem/,
  );
  // An attestation whose issuer no given certificate is.
  const stray = join(dir.path, 'stray');
  spawnSync('mkdir', ['-p', stray]);
  const strayDevice = makeIntermediate(stray, makeRootCa(stray), { name: 'Stray Attestation' });
  const strayAttestation = makeAttestation(stray, strayDevice, key);
  refused(
    () => verifyPivAttestation(input(strayAttestation, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_UNTRUSTED',
    /is issued by CN=Stray Attestation, which no given intermediate certificate is/,
  );
});

test('an attestation of another key is refused', () => {
  refused(
    () =>
      verifyPivAttestation(input(chain.attestation, chain.device.cert, chain.ca.cert), {
        expectedKey: { key: keyOf(otherKey), label: 'the key in other.pub.pem' },
      }),
    'ATTESTATION_KEY_MISMATCH',
    /^attestation of another key: .*attestation\.pem attests ecdsa-sha2-nistp384 key [0-9a-f]{12}…, not the key in other\.pub\.pem$/,
  );
});

test('an expired or not yet valid certificate is refused, naming which one and when', () => {
  const d = join(dir.path, 'expiry');
  spawnSync('mkdir', ['-p', d]);
  const ca = makeRootCa(d);
  const expiredDevice = makeIntermediate(d, ca, { file: 'f9-expired', validity: { start: '20200101000000Z', end: '20240101000000Z' } });
  const att = makeAttestation(d, expiredDevice, key, {
    validity: { start: '20200101000000Z', end: '20240101000000Z' },
    file: 'att-expired',
  });
  refused(
    () => verifyPivAttestation(input(att, expiredDevice.cert, ca.cert)),
    'ATTESTATION_EXPIRED',
    /att-expired\.pem \(CN=YubiKey PIV Attestation 9c\) expired on 2024-01-01T00:00:00Z \(checked at /,
  );
  // Only the intermediate expired.
  const att2 = makeAttestation(d, expiredDevice, key, { file: 'att-long' });
  refused(
    () => verifyPivAttestation(input(att2, expiredDevice.cert, ca.cert)),
    'ATTESTATION_EXPIRED',
    /f9-expired\.pem \(CN=Test PIV Attestation\) expired on 2024-01-01T00:00:00Z/,
  );
  // At a time inside every window it verifies.
  assert.equal(verifyPivAttestation(input(att, expiredDevice.cert, ca.cert), { now: new Date('2023-06-01T00:00:00Z') }).serial, 12345678);
  // An expired CA.
  const oldCa = makeRootCa(d, { file: 'old-ca', validity: { start: '20100101000000Z', end: '20200101000000Z' } });
  const device = makeIntermediate(d, oldCa, { file: 'f9-old' });
  const att3 = makeAttestation(d, device, key, { file: 'att-old' });
  refused(
    () => verifyPivAttestation(input(att3, device.cert, oldCa.cert)),
    'ATTESTATION_EXPIRED',
    /old-ca\.pem \(CN=Test PIV Root CA Serial 263751\) expired on 2020-01-01T00:00:00Z/,
  );
});

test('malformed input: broken PEM, a public key for a certificate, garbage, several certificates where one belongs', () => {
  const file = (name: string, text: string | Buffer): string => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };
  const pem = readFileSync(chain.attestation, 'utf8');
  const truncated = file('truncated.pem', pem.slice(0, pem.length - 40));
  refused(
    () => verifyPivAttestation(input(truncated, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_INVALID',
    /truncated\.pem is malformed PEM: no complete "-----BEGIN CERTIFICATE-----"/,
  );
  const badBase64 = file('bad64.pem', pem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'));
  refused(
    () => verifyPivAttestation(input(badBase64, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_INVALID',
    /bad64\.pem is malformed PEM: a certificate block is not base64/,
  );
  const mangled = file('mangled.pem', pem.replace(/\n([A-Za-z0-9+/]{20})/, '\nAAAAAAAAAAAAAAAAAAAA'));
  refused(
    () => verifyPivAttestation(input(mangled, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_INVALID',
    /mangled\.pem is malformed: the certificate does not parse/,
  );
  const publicKey = file('pub.pem', createPublicKey(readFileSync(key)).export({ type: 'spki', format: 'pem' }).toString());
  refused(
    () => verifyPivAttestation(input(publicKey, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_INVALID',
    /pub\.pem holds PUBLIC KEY, not a certificate/,
  );
  const garbage = file('garbage.bin', Buffer.from('not a certificate at all'));
  refused(
    () => verifyPivAttestation(input(garbage, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_INVALID',
    /garbage\.bin is neither a PEM nor a DER certificate/,
  );
  const two = file('two.pem', pem + readFileSync(chain.device.cert, 'utf8'));
  refused(
    () => verifyPivAttestation(input(two, chain.device.cert, chain.ca.cert)),
    'ATTESTATION_INVALID',
    /two\.pem holds 2 certificates; give the slot's attestation certificate alone/,
  );
  refused(
    () => readCertificateFile(join(dir.path, 'missing.pem')),
    'ATTESTATION_INVALID',
    /cannot read certificate file .*missing\.pem: ENOENT/,
  );
  refused(
    () => verifyPivAttestation({ attestation: src(chain.attestation), intermediates: [], ca: [src(chain.ca.cert)] }),
    'ATTESTATION_INVALID',
    /no intermediate certificate given/,
  );
});

test('CA constraints: an issuer that is no CA, exceeds its path length or may not sign certificates; unknown critical extensions; a CA-signed attestation; a certificate that is no attestation', () => {
  const d = join(dir.path, 'constraints');
  spawnSync('mkdir', ['-p', d]);
  const ca = makeRootCa(d);
  const notCa = makeIntermediate(d, ca, { file: 'not-ca', extensions: ['basicConstraints = critical,CA:FALSE'] });
  refused(
    () => verifyPivAttestation(input(makeAttestation(d, notCa, key, { file: 'a1' }), notCa.cert, ca.cert)),
    'ATTESTATION_INVALID',
    /not-ca\.pem \(CN=Test PIV Attestation\) is not a CA \(basic constraints CA:FALSE\), yet it signs CN=YubiKey PIV Attestation 9c/,
  );
  const noSign = makeIntermediate(d, ca, {
    file: 'no-sign',
    extensions: ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,digitalSignature'],
  });
  refused(
    () => verifyPivAttestation(input(makeAttestation(d, noSign, key, { file: 'a2' }), noSign.cert, ca.cert)),
    'ATTESTATION_INVALID',
    /no-sign\.pem \(CN=Test PIV Attestation\) may not sign certificates \(its key usage lacks keyCertSign\)/,
  );
  // Old YubiKey 4 f9 certificates have no basic constraints at all: accepted.
  const bare = makeIntermediate(d, ca, { file: 'bare', extensions: ['1.3.6.1.4.1.41482.3.3 = DER:04:03:05'] });
  const bareFacts = verifyPivAttestation(input(makeAttestation(d, bare, key, { file: 'a3', formFactor: 0x01 }), bare.cert, ca.cert));
  assert.equal(bareFacts.fips, undefined);
  assert.equal(bareFacts.formFactor, 'usb-a-keychain');
  // pathlen 0 on the root: no intermediate may follow it.
  const strictCa = makeRootCa(d, {
    file: 'strict-ca',
    name: 'Strict Root',
    extensions: ['basicConstraints = critical,CA:TRUE,pathlen:0', 'keyUsage = critical,keyCertSign'],
  });
  const underStrict = makeIntermediate(d, strictCa, { file: 'under-strict' });
  refused(
    () => verifyPivAttestation(input(makeAttestation(d, underStrict, key, { file: 'a4' }), underStrict.cert, strictCa.cert)),
    'ATTESTATION_INVALID',
    /strict-ca\.pem \(CN=Strict Root\) allows 0 intermediate certificate\(s\) below it \(pathlen\), the chain has 1/,
  );
  const device = makeIntermediate(d, ca, { file: 'f9' });
  refused(
    () =>
      verifyPivAttestation(
        input(makeAttestation(d, device, key, { file: 'a6', extraExtensions: ['1.2.3.4.5 = critical,DER:05:00'] }), device.cert, ca.cert),
      ),
    'ATTESTATION_INVALID',
    /a6\.pem \(CN=YubiKey PIV Attestation 9c\) has a critical extension tufctl does not understand \(1\.2\.3\.4\.5\)/,
  );
  // Signed by the CA itself: the device's f9 certificate is missing from the chain.
  const direct = makeAttestation(d, ca, key, { file: 'a7' });
  refused(
    () => verifyPivAttestation(input(direct, device.cert, ca.cert)),
    'ATTESTATION_INVALID',
    /is signed directly by the CA in .*: a YubiKey attestation is signed by the device's own attestation key/,
  );
  // A certificate of the chain that is no attestation.
  const notAttestation = makeAttestation(d, device, key, { file: 'a8', subject: 'Some Other Certificate' });
  refused(
    () => verifyPivAttestation(input(notAttestation, device.cert, ca.cert)),
    'ATTESTATION_INVALID',
    /is not a YubiKey PIV attestation certificate \(its subject is not "CN=YubiKey PIV Attestation <slot>"\)/,
  );
  // A malformed Yubico extension.
  const badPolicy = issue({
    dir: d,
    out: join(d, 'a10.pem'),
    keyFile: key,
    subject: 'YubiKey PIV Attestation 9a',
    issuer: device,
    extensions: ['1.3.6.1.4.1.41482.3.8 = DER:03:01:01', '1.3.6.1.4.1.41482.3.7 = DER:02:01:05'],
  });
  refused(
    () => verifyPivAttestation(input(badPolicy, device.cert, ca.cert)),
    'ATTESTATION_INVALID',
    /a10\.pem \(CN=YubiKey PIV Attestation 9a\): malformed PIN\/touch policy extension \(3 bytes, expected 2\)/,
  );
});

test('the newer chain shape: attestation → f9 → vendor intermediates → root, intermediates in any order or as one bundle, a CA bundle with intermediates', () => {
  const d = join(dir.path, 'long');
  spawnSync('mkdir', ['-p', d]);
  const root = makeRootCa(d, {
    name: 'Test Attestation Root 1',
    extensions: ['basicConstraints = critical,CA:TRUE,pathlen:3', 'keyUsage = critical,keyCertSign,cRLSign'],
  });
  const mid = makeIntermediate(d, root, {
    file: 'mid',
    name: 'Test Attestation Intermediate B 1',
    extensions: ['basicConstraints = critical,CA:TRUE,pathlen:2', 'keyUsage = critical,keyCertSign'],
  });
  const piv = makeIntermediate(d, mid, {
    file: 'piv',
    name: 'Test PIV Attestation B 1',
    extensions: ['basicConstraints = critical,CA:TRUE,pathlen:1', 'keyUsage = critical,keyCertSign'],
  });
  const device = makeIntermediate(d, piv, { file: 'f9', keyType: 'ec' });
  const att = makeAttestation(d, device, key, { serial: 31000001 });
  const a = verifyPivAttestation(input(att, [mid.cert, device.cert, piv.cert], root.cert));
  assert.deepEqual(
    a.chain.map((c) => c.subject),
    [
      'CN=YubiKey PIV Attestation 9c',
      'CN=Test PIV Attestation',
      'CN=Test PIV Attestation B 1',
      'CN=Test Attestation Intermediate B 1',
      'CN=Test Attestation Root 1',
    ],
  );
  const bundle = join(d, 'bundle.pem');
  writeFileSync(bundle, [piv.cert, mid.cert].map((f) => readFileSync(f, 'utf8')).join(''));
  assert.equal(verifyPivAttestation(input(att, [device.cert, bundle], root.cert)).serial, 31000001);
  const caBundle = join(d, 'ca-bundle.pem');
  writeFileSync(caBundle, [mid.cert, root.cert, chain.ca.cert].map((f) => readFileSync(f, 'utf8')).join(''));
  assert.equal(verifyPivAttestation(input(att, [device.cert, piv.cert], caBundle)).ca.subject, 'CN=Test Attestation Root 1');
  // Without the middle intermediate the chain stops short of the root.
  refused(
    () => verifyPivAttestation(input(att, [device.cert, piv.cert], root.cert)),
    'ATTESTATION_UNTRUSTED',
    /chain from another CA: .*piv\.pem \(CN=Test PIV Attestation B 1\) is issued by CN=Test Attestation Intermediate B 1/,
  );
});

test('the key to match may be a TUF key or a Node key object; an RSA CA over an EC P-256 f9 key', () => {
  const d = join(dir.path, 'ec');
  spawnSync('mkdir', ['-p', d]);
  const ca = makeRootCa(d, { keyType: 'rsa' });
  const device = makeIntermediate(d, ca, { keyType: 'ec' });
  const att = makeAttestation(d, device, key);
  const asObject = createPublicKey(readFileSync(key));
  assert.equal(verifyPivAttestation(input(att, device.cert, ca.cert), { expectedKey: { key: asObject, label: 'k' } }).keyMatches, true);
  assert.equal(verifyPivAttestation(input(att, device.cert, ca.cert), { expectedKey: { key: keyOf(key), label: 'k' } }).keyMatches, true);
});

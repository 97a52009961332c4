/**
 * `tufctl key attest` and `tufctl key add --attestation`, driven through the
 * built CLI: YubiKey-shaped attestation chains made with openssl for a P-384
 * key from `tufctl key generate`, accepted and recorded with the key, shown
 * by status and validate; a chain from another CA, an attestation of another
 * key and an expired certificate refused with their own messages, exit 1,
 * nothing changed. Then the real docker/tuf ceremony: every archived
 * attestation verifies against Yubico's root CA and matches the key
 * docker/tuf's metadata trusts, and recording one keeps the key's id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTESTATION_FIELD } from '../../src/keys/piv-attestation.js';
import { PROJECT_DIR, git, newRepository, ok, readJson, tufctl, type CliResult } from '../helpers/harness.js';
import { realRepositoryFacts, replayRealRepository } from '../helpers/real-repositories.js';
import { makeAttestation, makeIntermediate, makePivChain, makeRootCa } from '../helpers/piv-chain.js';

const CEREMONY = join(PROJECT_DIR, 'test', 'fixtures', 'real', 'docker-tuf-ceremony');

function refused(r: CliResult, code: string, message: RegExp, cwd: string): void {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`^tufctl: error \\[${code}\\]: ${message.source}`, 'm'));
  assert.equal(git(cwd, 'status', '--porcelain', '--untracked-files=all'), '', 'nothing changed');
}

test('a YubiKey-shaped chain for a tufctl-generated P-384 key: key attest accepts it, key add records the device, status and validate show the serial next to the owner', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const certs = join(fx.root, 'certs');
    ok(['key', 'generate', '--type', 'ecdsa-p384', '--out', join(fx.keys, 'yk.pem')]);
    const pub = join(fx.keys, 'yk.pub.pem');
    const chain = makePivChain(certs, join(fx.keys, 'yk.pem'), { serial: 25515003 });
    const args = ['--attestation', chain.attestation, '--intermediate', chain.device.cert, '--ca', chain.ca.cert];

    const attest = ok(['key', 'attest', pub, ...args, '--slot', '9c'], { cwd }).stdout;
    assert.match(
      attest,
      /^✓ YubiKey PIV attestation verified \(at .*\): slot 9c, YubiKey 25515003, firmware 5\.4\.3, PIN always, touch never, usb-c-keychain, FIPS series$/m,
    );
    assert.match(
      attest,
      /^ {2}chain: CN=YubiKey PIV Attestation 9c → CN=Test PIV Attestation → CN=Test PIV Root CA Serial 263751 \(CA sha256 [0-9a-f]{16}…\)$/m,
    );
    assert.match(attest, /^✓ attested key matches the key in .*yk\.pub\.pem$/m);
    assert.match(attest, /the repository trusts no such key yet/);
    const json = ok(['key', 'attest', pub, ...args, '--json'], { cwd }).json;
    assert.equal(json.ok, true);
    assert.equal(json.attestation.serial, 25515003);
    assert.equal(json.attestation.keyMatches, true);
    assert.equal(json.record.pinPolicy, 'always');

    // Trust it for targets, on a branch, recorded with the key.
    git(cwd, 'checkout', '-q', '-b', 'add-yubikey');
    const signRoot = ['--sign', '--key', fx.key('root'), '--commit'];
    const added = ok(['key', 'add', 'targets', pub, '--owner', '@bob', ...args, ...signRoot, '--json'], { cwd }).json;
    assert.equal(added.added, true);
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    assert.deepEqual(root.keys[added.keyId][ATTESTATION_FIELD], {
      kind: 'yubikey-piv',
      slot: '9c',
      serial: 25515003,
      firmware: '5.4.3',
      pinPolicy: 'always',
      touchPolicy: 'never',
      formFactor: 'usb-c-keychain',
      fips: true,
      ca: 'CN=Test PIV Root CA Serial 263751',
      caSha256: json.attestation.ca.sha256,
    });
    assert.equal(root.keys[added.keyId]['x-tuf-on-ci-keyowner'], '@bob');
    assert.match(git(cwd, 'log', '-1', '--format=%B'), /targets: add key [0-9a-f]{12} \(@bob, YubiKey 25515003\)/);
    // Now key attest finds it in the repository, recorded.
    const again = ok(['key', 'attest', '--key-id', added.keyId.slice(0, 10), '--role', 'targets', ...args], { cwd }).stdout;
    assert.match(again, /^✓ attested key matches the targets key [0-9a-f]{12}… \(@bob\)$/m);
    assert.match(again, /trusted by targets \([0-9a-f]{12}…, @bob; recorded with the key\)/);

    ok(['threshold', 'targets', '2', ...signRoot], { cwd });
    const status = ok(['status'], { cwd }).stdout;
    assert.match(status, /^targets .*signed 1 of 2 ✗ {2}waiting for @bob \(YubiKey 25515003\)$/m);
    assert.match(status, /^keys with a verified YubiKey attestation:\n {2}[0-9a-f]{12} {2}@bob, YubiKey 25515003 {2}targets$/m);
    const statusJson = ok(['status', '--json'], { cwd }).json;
    assert.deepEqual(statusJson.roles.find((r: { role: string }) => r.role === 'targets').missingDevices, ['YubiKey 25515003']);
    assert.equal(statusJson.attestedKeys[0].attestation.serial, 25515003);

    const validate = tufctl(['validate', '--base', 'main', '--format', 'text'], { cwd });
    assert.equal(validate.code, 2, validate.stdout + validate.stderr);
    assert.match(validate.stdout, new RegExp(`key added for targets: ${added.keyId.slice(0, 8)} \\(@bob, YubiKey 25515003\\)`));
    const markdown = tufctl(['validate', '--base', 'main', '--format', 'markdown'], { cwd }).stdout;
    assert.match(markdown, new RegExp(`- key added for \`targets\`: ${added.keyId.slice(0, 8)} \\(@bob, YubiKey 25515003\\)`));
  } finally {
    fx.cleanup();
  }
});

test('refused, each with its own message, exit 1 and nothing changed: a chain from another CA, an attestation of another key, an expired certificate, a wrong slot, a broken file', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const certs = join(fx.root, 'certs');
    ok(['key', 'generate', '--type', 'ecdsa-p384', '--out', join(fx.keys, 'yk.pem')]);
    ok(['key', 'generate', '--type', 'ecdsa-p384', '--out', join(fx.keys, 'other.pem')]);
    const pub = join(fx.keys, 'yk.pub.pem');
    const chain = makePivChain(certs, join(fx.keys, 'yk.pem'));
    const otherDir = join(fx.root, 'other-ca');
    mkdirSync(otherDir);
    const otherCa = makeRootCa(otherDir, { name: 'Other PIV Root CA' });

    for (const command of [
      ['key', 'add', 'targets', pub],
      ['key', 'attest', pub],
    ]) {
      refused(
        tufctl([...command, '--attestation', chain.attestation, '--intermediate', chain.device.cert, '--ca', otherCa.cert], { cwd }),
        'ATTESTATION_UNTRUSTED',
        /chain from another CA: .*f9\.pem \(CN=Test PIV Attestation\) is issued by CN=Test PIV Root CA Serial 263751, not by the CA in .*other-ca\/ca\.pem \(CN=Other PIV Root CA\)/,
        cwd,
      );
    }
    // The right chain, but it attests yk.pem's key, not other.pem's.
    const args = ['--attestation', chain.attestation, '--intermediate', chain.device.cert, '--ca', chain.ca.cert];
    refused(
      tufctl(['key', 'add', 'targets', join(fx.keys, 'other.pub.pem'), '--owner', '@mallory', ...args], { cwd }),
      'ATTESTATION_KEY_MISMATCH',
      /attestation of another key: .*attestation\.pem attests ecdsa-sha2-nistp384 key [0-9a-f]{12}…, not the key in .*other\.pub\.pem/,
      cwd,
    );
    // The device certificate expired.
    const expiredDir = join(fx.root, 'expired');
    mkdirSync(expiredDir);
    const expiredDevice = makeIntermediate(expiredDir, chain.ca, { validity: { start: '20200101000000Z', end: '20250101000000Z' } });
    const expiredAttestation = makeAttestation(expiredDir, expiredDevice, join(fx.keys, 'yk.pem'));
    const expiredArgs = ['--attestation', expiredAttestation, '--intermediate', expiredDevice.cert, '--ca', chain.ca.cert];
    refused(
      tufctl(['key', 'add', 'targets', pub, ...expiredArgs], { cwd }),
      'ATTESTATION_EXPIRED',
      /.*expired\/f9\.pem \(CN=Test PIV Attestation\) expired on 2025-01-01T00:00:00Z \(checked at /,
      cwd,
    );
    // At a time inside its validity (--now), the same chain verifies.
    ok(['key', 'attest', pub, ...expiredArgs, '--now', '2024-06-04T12:00:00Z'], { cwd });
    refused(
      tufctl(['key', 'add', 'targets', pub, ...args, '--slot', '9a'], { cwd }),
      'ATTESTATION_INVALID',
      /wrong slot: .* attests the key in slot 9c, not in slot 9a/,
      cwd,
    );
    const broken = join(fx.root, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nMIIB\n');
    refused(
      tufctl(['key', 'add', 'targets', pub, '--attestation', broken, '--intermediate', chain.device.cert, '--ca', chain.ca.cert], { cwd }),
      'ATTESTATION_INVALID',
      /.*broken\.pem is malformed PEM: no complete "-----BEGIN CERTIFICATE-----" … "-----END CERTIFICATE-----" block/,
      cwd,
    );
    const json = tufctl(['key', 'add', 'targets', join(fx.keys, 'other.pub.pem'), ...args, '--json'], { cwd });
    assert.equal(json.code, 1);
    assert.equal(json.json.error.code, 'ATTESTATION_KEY_MISMATCH');
    // Usage: the certificates belong together.
    const usage = tufctl(['key', 'add', 'targets', pub, '--attestation', chain.attestation], { cwd });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--attestation needs --intermediate/);
    assert.equal(tufctl(['key', 'add', 'targets', pub, '--ca', chain.ca.cert], { cwd }).code, 2);
    assert.equal(tufctl(['key', 'attest', pub, '--key-id', 'abcdef12', '--role', 'targets', ...args], { cwd }).code, 2);
    assert.equal(git(cwd, 'status', '--porcelain', '--untracked-files=all'), '');
  } finally {
    fx.cleanup();
  }
});

/** docker/tuf's ceremony: device serial → the role trusting its key and the key id prefix in the metadata. */
const DOCKER_KEYS: Array<[serial: string, role: string, keyId: string, owner: string]> = [
  ['28751288', 'root', '08d6f4ca', '@jeanlaurent'],
  ['25515142', 'root', '3ebd4052', '@ingshtrom'],
  ['25515264', 'root', '9c8e1be7', '@rachel-taylor-docker'],
  ['25515991', 'root', '373d0a38', '@binman-docker'],
  ['25599865', 'root', '48a873aa', '@cdupuis'],
  ['25515139', 'targets', 'f2149d8b', '@mrjoelkamp'],
  ['28751259', 'targets', '2ff207ae', '@kipz'],
  ['28751258', 'targets', '6132f1f2', '@jonnystoten'],
  ['25515003', 'targets', 'cda750ab', '@whalelines'],
  ['25515137', 'doi', '7f472065', '@tianon-sso'],
  ['25515267', 'doi', 'ad252c7b', '@yosifkit'],
  ['25515985', 'doi', '344bbe12', '@LaurentGoderre'],
];

test('the real docker/tuf ceremony: every archived attestation verifies against Yubico PIV Root CA and matches the key docker/tuf trusts; recording one keeps the key id', () => {
  const facts = realRepositoryFacts('docker-tuf');
  const repo = replayRealRepository('docker-tuf');
  try {
    const cwd = repo.dir;
    const now = facts.refs.main.now;
    const ca = join(CEREMONY, 'piv-attestation-ca.pem');
    const files = (serial: string): string[] => [
      '--attestation',
      join(CEREMONY, serial, 'Slot9CAttestation.pem'),
      '--intermediate',
      join(CEREMONY, serial, 'SlotF9Intermediate.pem'),
      '--ca',
      ca,
    ];
    for (const [serial, role, keyId, owner] of DOCKER_KEYS) {
      const out = ok(['key', 'attest', '--key-id', keyId, '--role', role, ...files(serial), '--slot', '9c', '--now', now], { cwd }).stdout;
      assert.match(
        out,
        new RegExp(
          `^✓ YubiKey PIV attestation verified \\(at ${now}\\): slot 9c, YubiKey ${serial}, firmware 5\\.4\\.3, PIN always, touch never, usb-c-keychain, FIPS series$`,
          'm',
        ),
      );
      assert.match(
        out,
        /chain: CN=YubiKey PIV Attestation 9c → CN=Yubico PIV Attestation → CN=Yubico PIV Root CA Serial 263751 \(CA sha256 63ece914e54dd879…\)/,
      );
      assert.match(out, new RegExp(`^✓ attested key matches the ${role} key ${keyId}[0-9a-f]{4}… \\(${owner}\\)$`, 'm'));
    }
    // @kipz's device against @whalelines's key: refused.
    refused(
      tufctl(['key', 'attest', '--key-id', 'cda750ab', '--role', 'targets', ...files('28751259'), '--now', now], { cwd }),
      'ATTESTATION_KEY_MISMATCH',
      /attestation of another key: .*28751259\/Slot9CAttestation\.pem attests ecdsa-sha2-nistp384 key da52a1fb41a0…, not the targets key cda750ab29ce… \(@whalelines\)/,
      cwd,
    );

    // Record @whalelines's device with the key root already trusts for targets: same id, new field.
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    const id = Object.keys(root.keys).find((k) => k.startsWith('cda750ab'))!;
    const pub = join(repo.root, 'whalelines.pub.pem');
    writeFileSync(pub, root.keys[id].keyval.public);
    refused(
      tufctl(['key', 'add', 'targets', pub, ...files('25515137'), '--now', now], { cwd }),
      'ATTESTATION_KEY_MISMATCH',
      /attestation of another key: .*25515137\/Slot9CAttestation\.pem attests ecdsa-sha2-nistp384 key 876282048b91…, not the key in .*whalelines\.pub\.pem/,
      cwd,
    );
    git(cwd, 'checkout', '-q', '-b', 'record-attestation');
    const added = ok(['key', 'add', 'targets', pub, ...files('25515003'), '--now', now, '--commit', '--json'], { cwd }).json;
    assert.equal(added.keyId, id, 'the key keeps the id clients know it by');
    const after = readJson(join(cwd, 'metadata', 'root.json')).signed;
    assert.equal(after.keys[id][ATTESTATION_FIELD].serial, 25515003);
    assert.equal(after.keys[id][ATTESTATION_FIELD].ca, 'CN=Yubico PIV Root CA Serial 263751');
    assert.equal(after.keys[id]['x-tuf-on-ci-keyowner'], '@whalelines');
    assert.equal(after.version, root.version + 1);
    const status = ok(['status', '--now', now], { cwd }).stdout;
    assert.match(status, /^ {2}cda750ab29ce {2}@whalelines, YubiKey 25515003 {2}targets$/m);
    const validate = tufctl(['validate', '--base', 'main', '--format', 'text', '--now', now], { cwd });
    assert.match(validate.stdout, /key cda750ab \(@whalelines\): attestation recorded, YubiKey 25515003/);
    assert.doesNotMatch(validate.stdout, /key id cda750ab/, 'the id made before the record still counts as a tuf-on-ci id');
  } finally {
    repo.cleanup();
  }
});

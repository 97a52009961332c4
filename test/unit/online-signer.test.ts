/**
 * Online signers: the AWS SDK v3 against a loopback KMS speaking the real
 * JSON 1.1 protocol (P-256, P-384, RSA-PSS, Ed25519 keys generated at test
 * time), RAW and DIGEST signing, signatures checked with tufctl's own
 * verifier, KMS errors mapped to clear KeyErrors without secrets, retries and
 * timeouts, the URI schemes (awskms:, file:, env:, unknown ones), the
 * extension registry, and the precedence --key > TUFCTL_ONLINE_KEY > URI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TufctlError, KeyError } from '../../src/errors.js';
import { AwsKmsSigner, KMS_RAW_MESSAGE_LIMIT } from '../../src/keys/aws-kms-signer.js';
import { generateKeyPair, writeKeyPair } from '../../src/keys/key-files.js';
import {
  ONLINE_KEY_ENV,
  onlineSignerFor,
  onlineSignerSchemes,
  parseOnlineUri,
  registerOnlineSignerScheme,
} from '../../src/keys/online-signer.js';
import { LocalKeySigner } from '../../src/keys/signer.js';
import { type TufKeyJSON, ONLINE_URI_FIELD, keyIdOf, tufKeyFromPublicKey, verifyWithKey } from '../../src/keys/tuf-key.js';
import { PROJECT_DIR, tempDir } from '../helpers/harness.js';
import { startKms, type KmsKey, type KmsKeySpec, type LoopbackKms } from '../helpers/kms-server.js';

// Fake static credentials through the SDK's default chain (environment first); nothing from this machine's AWS config.
const ACCESS_KEY_ID = 'AKIAZZZZTESTONLYZZZZ';
const SECRET_ACCESS_KEY = 'tufctl-test-secret-NOT-REAL/abcdefghijklmnopqrst';
for (const name of Object.keys(process.env)) if (name.startsWith('AWS_') || name.startsWith('TUFCTL_')) delete process.env[name];
Object.assign(process.env, {
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

let kms: LoopbackKms;
const dir = tempDir('tufctl-online-signer-');

before(async () => {
  kms = await startKms({ region: 'us-east-1' });
});
after(async () => {
  await kms.close();
  dir.cleanup();
});

/** The key as root lists it: the KMS public key in TUF form with its online URI. */
function rootKeyFor(key: KmsKey, uri = `awskms:${key.arn}`): TufKeyJSON {
  return { ...tufKeyFromPublicKey(key.publicKey), [ONLINE_URI_FIELD]: uri };
}

/** Options reaching the loopback KMS. */
function kmsEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, AWS_REGION: 'us-east-1', TUFCTL_AWS_KMS_ENDPOINT: kms.endpoint, ...extra };
}

function isError(code: string, ...patterns: RegExp[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TufctlError, `expected a TufctlError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    const text = JSON.stringify(error.toJSON());
    assert.ok(!text.includes(SECRET_ACCESS_KEY) && !text.includes(ACCESS_KEY_ID), 'no credentials in errors');
    assert.ok(!text.includes('PRIVATE KEY'), 'no private key material in errors');
    return true;
  };
}

function destroy(signer: unknown): void {
  (signer as { destroy?: () => void }).destroy?.();
}

const requestsSince = (start: number, operation?: string): LoopbackKms['requests'] =>
  kms.requests.slice(start).filter((r) => !operation || r.operation === operation);

const CASES: { spec: KmsKeySpec; scheme: string; algorithm: string; hash: string }[] = [
  { spec: 'ECC_NIST_P256', scheme: 'ecdsa-sha2-nistp256', algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
  { spec: 'ECC_NIST_P384', scheme: 'ecdsa-sha2-nistp384', algorithm: 'ECDSA_SHA_384', hash: 'sha384' },
  { spec: 'RSA_3072', scheme: 'rsassa-pss-sha256', algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256' },
];

for (const { spec, scheme, algorithm, hash } of CASES) {
  test(`awskms: ${spec} signs RAW up to 4096 bytes and DIGEST above; tufctl's verifier accepts every signature`, async () => {
    const key = kms.createKey(spec);
    const rootKey = rootKeyFor(key);
    const start = kms.requests.length;
    const signer = await onlineSignerFor(rootKey, { env: kmsEnv() });
    try {
      assert.ok(signer instanceof AwsKmsSigner);
      assert.equal(signer.keyId, keyIdOf(rootKey));
      assert.equal(signer.publicKey.scheme, scheme);
      assert.equal(signer.source, `awskms:${key.arn}`);
      assert.equal(signer.keyArn, key.arn);

      for (const size of [0, 1, 200, KMS_RAW_MESSAGE_LIMIT, KMS_RAW_MESSAGE_LIMIT + 1, 70_000]) {
        const data = Buffer.alloc(size, size % 251);
        const before = kms.requests.length;
        const signature = await signer.sign(data);
        assert.match(signature, /^[0-9a-f]+$/);
        assert.ok(verifyWithKey(rootKey, data, signature), `${spec} ${size} bytes verifies`);
        assert.ok(!verifyWithKey(rootKey, Buffer.concat([data, Buffer.from('x')]), signature), 'and only for its message');
        const [request] = requestsSince(before, 'Sign');
        assert.equal(request!.body.SigningAlgorithm, algorithm);
        assert.equal(request!.body.KeyId, key.arn);
        const message = Buffer.from(request!.body.Message, 'base64');
        if (size <= KMS_RAW_MESSAGE_LIMIT && size > 0) {
          assert.equal(request!.body.MessageType, 'RAW', `${size} bytes go RAW`);
          assert.ok(message.equals(data));
        } else {
          assert.equal(request!.body.MessageType, 'DIGEST', `${size} bytes go as a digest`);
          assert.ok(message.equals(createHash(hash).update(data).digest()));
        }
        if (scheme.startsWith('ecdsa')) {
          // DER (ASN.1 SEQUENCE of r and s), as KMS returns it and as TUF and node:crypto verify it.
          assert.equal(signature.slice(0, 2), '30');
        } else {
          assert.equal(signature.length, 3072 / 4);
        }
      }
      // Every request is a SigV4-signed KMS JSON 1.1 call with the static credentials.
      for (const request of requestsSince(start)) {
        assert.equal(request.contentType, 'application/x-amz-json-1.1');
        assert.equal(request.target, `TrentService.${request.operation}`);
        assert.match(
          request.authorization ?? '',
          new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/us-east-1/kms/aws4_request`),
        );
      }
      assert.deepEqual(
        requestsSince(start).map((r) => r.operation),
        ['GetPublicKey', 'Sign', 'Sign', 'Sign', 'Sign', 'Sign', 'Sign'],
      );
      assert.deepEqual(JSON.parse(JSON.stringify(signer)), { keyId: signer.keyId, source: signer.source, keyArn: key.arn });
    } finally {
      destroy(signer);
    }
  });
}

test('awskms: the signer key id equals keyIdOf the TUF key of the KMS public key; aliases, key ids and awskms:// forms resolve', async () => {
  const key = kms.createKey('ECC_NIST_P256', { alias: 'tuf-online' });
  const expected = keyIdOf(tufKeyFromPublicKey(createPublicKey(key.publicKey.export({ format: 'pem', type: 'spki' }))));
  for (const uri of [
    `awskms:${key.arn}`,
    `awskms://${key.arn}`,
    `awskms:///${key.arn}`,
    `awskms:${key.keyId}`,
    'awskms:alias/tuf-online',
    `awskms:arn:aws:kms:us-east-1:${kms.account}:alias/tuf-online`,
  ]) {
    const signer = await onlineSignerFor(rootKeyFor(key, uri), { env: kmsEnv() });
    try {
      assert.equal(signer.keyId, expected, uri);
      assert.equal((signer as AwsKmsSigner).keyArn, key.arn, `${uri} resolves to the key ARN`);
      assert.equal(signer.source, uri);
      const data = Buffer.from(`signed via ${uri}`);
      assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
    } finally {
      destroy(signer);
    }
  }
  // A cosign-style endpoint inside the URI is refused with a pointer to TUFCTL_AWS_KMS_ENDPOINT.
  await assert.rejects(
    onlineSignerFor(rootKeyFor(key, `awskms://localhost:4566/${key.keyId}`), { env: kmsEnv() }),
    isError('KEY_INVALID', /TUFCTL_AWS_KMS_ENDPOINT/),
  );
});

test('awskms: an Ed25519 KMS key signs pure Ed25519 (RAW) and refuses messages above 4096 bytes clearly', async () => {
  const key = kms.createKey('ECC_NIST_EDWARDS25519');
  const signer = await onlineSignerFor(rootKeyFor(key), { env: kmsEnv() });
  try {
    assert.equal(signer.publicKey.scheme, 'ed25519');
    const data = Buffer.alloc(KMS_RAW_MESSAGE_LIMIT, 1);
    assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
    await assert.rejects(
      signer.sign(Buffer.alloc(KMS_RAW_MESSAGE_LIMIT + 1)),
      isError('KEY_UNSUPPORTED', /1 to 4096 bytes/, /ECDSA or RSA/),
    );
  } finally {
    destroy(signer);
  }
});

test("a KMS key that is not root's online key is refused with KEY_NOT_TRUSTED naming both key ids", async () => {
  const trusted = kms.createKey('ECC_NIST_P256');
  const other = kms.createKey('ECC_NIST_P256');
  const rootKey = rootKeyFor(trusted, `awskms:${other.arn}`);
  const otherId = keyIdOf(tufKeyFromPublicKey(other.publicKey));
  await assert.rejects(
    onlineSignerFor(rootKey, { env: kmsEnv() }),
    isError('KEY_NOT_TRUSTED', new RegExp(keyIdOf(rootKey)), new RegExp(otherId), new RegExp(`awskms:${other.arn}`)),
  );
  // Same for a different kind of key behind the URI.
  const rsa = kms.createKey('RSA_3072');
  await assert.rejects(
    onlineSignerFor(rootKeyFor(trusted, `awskms:${rsa.arn}`), { env: kmsEnv() }),
    isError('KEY_NOT_TRUSTED', /rsassa-pss-sha256/),
  );
});

test('the same public key in another PEM encoding, or under a legacy key id, is accepted under the id root uses', async () => {
  const key = kms.createKey('ECC_NIST_P256');
  const canonical = rootKeyFor(key);
  const reencoded: TufKeyJSON = { ...canonical, keyval: { public: canonical.keyval.public.trimEnd() } };
  assert.notEqual(keyIdOf(reencoded), keyIdOf(canonical));
  const signer = await onlineSignerFor(reencoded, { env: kmsEnv() });
  assert.equal(signer.keyId, keyIdOf(reencoded));
  assert.deepEqual(signer.publicKey, { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: reencoded.keyval.public } });
  const data = Buffer.from('re-encoded');
  assert.ok(verifyWithKey(reencoded, data, await signer.sign(data)));
  destroy(signer);

  const legacy = await onlineSignerFor(canonical, { env: kmsEnv(), keyId: 'ab'.repeat(32) });
  assert.equal(legacy.keyId, 'ab'.repeat(32));
  destroy(legacy);
});

test('KMS errors become clear errors without credentials: not found, access denied, disabled, wrong usage or curve', async () => {
  const env = kmsEnv();
  const missing = `arn:aws:kms:us-east-1:${kms.account}:key/00000000-0000-0000-0000-000000000000`;
  const ghost = rootKeyFor(kms.createKey('ECC_NIST_P256'), `awskms:${missing}`);
  await assert.rejects(onlineSignerFor(ghost, { env }), isError('KEY_UNKNOWN', /does not exist/, new RegExp(missing), /region us-east-1/));
  await assert.rejects(
    onlineSignerFor(rootKeyFor(kms.createKey('ECC_NIST_P256'), 'awskms:alias/nobody'), { env }),
    isError('KEY_UNKNOWN', /alias\/nobody/),
  );

  const deniedRead = kms.createKey('ECC_NIST_P256');
  deniedRead.denied.add('GetPublicKey');
  await assert.rejects(
    onlineSignerFor(rootKeyFor(deniedRead), { env }),
    isError('KEY_INVALID', /access denied/, /kms:GetPublicKey and kms:Sign/),
  );

  const deniedSign = kms.createKey('ECC_NIST_P384');
  const signer = await onlineSignerFor(rootKeyFor(deniedSign), { env });
  deniedSign.denied.add('Sign');
  await assert.rejects(signer.sign(Buffer.from('x')), (error) => {
    isError('KEY_INVALID', /access denied/)(error);
    assert.match((error as KeyError).details.join('\n'), /AccessDeniedException \(HTTP 400\).*not authorized to perform: kms:Sign/);
    return true;
  });
  deniedSign.denied.clear();
  deniedSign.enabled = false;
  await assert.rejects(signer.sign(Buffer.from('x')), isError('KEY_INVALID', /is disabled/));
  destroy(signer);
  await assert.rejects(onlineSignerFor(rootKeyFor(deniedSign), { env }), isError('KEY_INVALID', /is disabled/));

  const encryption = kms.createKey('RSA_3072', { usage: 'ENCRYPT_DECRYPT' });
  await assert.rejects(onlineSignerFor(rootKeyFor(encryption), { env }), isError('KEY_UNSUPPORTED', /ENCRYPT_DECRYPT/, /SIGN_VERIFY/));
  const k1 = kms.createKey('ECC_SECG_P256K1');
  const k1Root: TufKeyJSON = {
    keytype: 'ecdsa',
    scheme: 'ecdsa-sha2-nistp256',
    keyval: { public: 'x' },
    [ONLINE_URI_FIELD]: `awskms:${k1.arn}`,
  };
  await assert.rejects(onlineSignerFor(k1Root, { env }), isError('KEY_UNSUPPORTED', /ECC_SECG_P256K1/, /P-256 or P-384/));
});

test('missing or rejected credentials are reported without echoing them', async () => {
  const key = kms.createKey('ECC_NIST_P256');
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  try {
    await assert.rejects(
      onlineSignerFor(rootKeyFor(key), { env: kmsEnv() }),
      isError('KEY_INVALID', /no AWS credentials/, /AWS_ACCESS_KEY_ID/),
    );
  } finally {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  }
  kms.fail({
    operation: 'GetPublicKey',
    type: 'UnrecognizedClientException',
    message: 'The security token included in the request is invalid.',
  });
  await assert.rejects(onlineSignerFor(rootKeyFor(key), { env: kmsEnv() }), isError('KEY_INVALID', /rejected the credentials/));
});

test('KMS 5xx and throttling are retried (3 attempts in all); a hanging KMS times out; an unreachable one is IO_FAILED', async () => {
  const key = kms.createKey('ECC_NIST_P256');
  const signer = await onlineSignerFor(rootKeyFor(key), { env: kmsEnv() });
  try {
    let start = kms.requests.length;
    kms.fail({ operation: 'Sign', status: 500, type: 'KMSInternalException' });
    kms.fail({ operation: 'Sign', status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    const data = Buffer.from('retried');
    assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
    assert.deepEqual(
      requestsSince(start, 'Sign').map((r) => r.status),
      [500, 400, 200],
    );

    start = kms.requests.length;
    kms.fail({ operation: 'Sign', status: 500, type: 'KMSInternalException' }, 3);
    await assert.rejects(signer.sign(data), isError('IO_FAILED', /unavailable/));
    assert.equal(requestsSince(start, 'Sign').length, 3, 'three attempts, then give up');
  } finally {
    destroy(signer);
  }

  const quick = { requestTimeoutMs: 300, maxAttempts: 1 };
  kms.fail({ operation: 'GetPublicKey', hang: true });
  const began = Date.now();
  await assert.rejects(onlineSignerFor(rootKeyFor(key), { env: kmsEnv(), kms: quick }), isError('IO_FAILED', /cannot reach AWS KMS/));
  assert.ok(Date.now() - began < 5000, 'the request timeout ends a hanging call');

  await assert.rejects(
    onlineSignerFor(rootKeyFor(key), { env: kmsEnv({ TUFCTL_AWS_KMS_ENDPOINT: 'http://127.0.0.1:1' }), kms: quick }),
    isError('IO_FAILED', /cannot reach AWS KMS \(ECONNREFUSED\)/, /endpoint http:\/\/127\.0\.0\.1:1/),
  );
});

test('region and endpoint: ARN region, AWS_REGION/AWS_DEFAULT_REGION, explicit options; no region and plain-http endpoints refused', async () => {
  const key = kms.createKey('ECC_NIST_P256');
  const noRegion = { ...process.env, TUFCTL_AWS_KMS_ENDPOINT: kms.endpoint };
  // The ARN names the region: nothing else needed.
  const byArn = await AwsKmsSigner.create(key.arn, { env: noRegion });
  assert.equal(byArn.region, 'us-east-1');
  byArn.destroy();
  const byDefault = await AwsKmsSigner.create(key.keyId, { env: { ...noRegion, AWS_DEFAULT_REGION: 'us-east-1' } });
  assert.equal(byDefault.region, 'us-east-1');
  byDefault.destroy();
  const byOptions = await AwsKmsSigner.create(key.keyId, { env: {}, region: 'us-east-1', endpoint: kms.endpoint });
  assert.equal(byOptions.keyArn, key.arn);
  byOptions.destroy();
  await assert.rejects(AwsKmsSigner.create(key.keyId, { env: noRegion }), isError('CONFIG_INVALID', /no AWS region/, /AWS_REGION/));
  await assert.rejects(
    AwsKmsSigner.create(key.arn, { env: noRegion, region: 'eu-west-1' }),
    isError('CONFIG_INVALID', /us-east-1/, /eu-west-1/),
  );
  await assert.rejects(
    AwsKmsSigner.create(key.arn, { env: {}, endpoint: 'http://kms.internal.example:4566' }),
    isError('CONFIG_INVALID', /must use https/),
  );
  await assert.rejects(AwsKmsSigner.create('', { env: noRegion }), isError('KEY_INVALID', /invalid AWS KMS key reference/));
});

test('unknown URI schemes are refused, naming the supported schemes and how to add one', async () => {
  const key = generateKeyPair('ecdsa-p256').key;
  for (const uri of ['hashivault:online', 'pkcs11:token=tuf;object=online']) {
    const scheme = uri.slice(0, uri.indexOf(':'));
    await assert.rejects(
      onlineSignerFor({ ...key, [ONLINE_URI_FIELD]: uri }, { env: {} }),
      isError(
        'KEY_UNSUPPORTED',
        new RegExp(`"${scheme}:"`),
        /supported schemes: awskms:, azurekms:, env:, file:, gcpkms:/,
        /registerOnlineSignerScheme/,
        /--key FILE/,
      ),
    );
  }
  await assert.rejects(
    onlineSignerFor({ ...key, [ONLINE_URI_FIELD]: 'no scheme here' }, { env: {} }),
    isError('KEY_INVALID', /has no scheme/),
  );
  await assert.rejects(
    onlineSignerFor(key, { env: {} }),
    isError('USAGE', /--key FILE/, new RegExp(ONLINE_KEY_ENV), new RegExp(ONLINE_URI_FIELD)),
  );
  assert.deepEqual(parseOnlineUri('AWSKMS://alias/x'), { scheme: 'awskms', reference: 'alias/x' });
});

test('registerOnlineSignerScheme adds a scheme; its signer must still hold the trusted key; unregistering restores', async () => {
  const pair = generateKeyPair('ecdsa-p256');
  const other = generateKeyPair('ecdsa-p256');
  const seen: string[] = [];
  const unregister = registerOnlineSignerScheme('testkms', (request) => {
    seen.push(`${request.scheme}|${request.reference}`);
    const pem = request.reference === 'good' ? pair.privateKeyPem : other.privateKeyPem;
    return Promise.resolve(new LocalKeySigner(createPrivateKey(pem), request.uri));
  });
  try {
    assert.ok(onlineSignerSchemes().includes('testkms'));
    const signer = await onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'TESTKMS:good' }, { env: {} });
    assert.equal(signer.keyId, pair.keyId);
    assert.equal(signer.source, 'TESTKMS:good');
    await assert.rejects(
      onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'testkms://bad' }, { env: {} }),
      isError('KEY_NOT_TRUSTED', new RegExp(other.keyId)),
    );
    assert.deepEqual(seen, ['testkms|good', 'testkms|bad']);
  } finally {
    unregister();
  }
  assert.ok(!onlineSignerSchemes().includes('testkms'));
  await assert.rejects(onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'testkms:good' }, { env: {} }), isError('KEY_UNSUPPORTED'));
  assert.throws(() => registerOnlineSignerScheme('1bad', () => Promise.reject(new Error('unused'))), isError('KEY_INVALID'));
});

test('file: and env: URIs sign with local keys (env-free testing)', async () => {
  const pair = generateKeyPair('ed25519');
  const path = join(dir.path, 'online-file.pem');
  writeKeyPair(pair, path);
  for (const uri of [`file:${path}`, pathToFileURL(path).href]) {
    const signer = await onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: uri }, { env: {} });
    assert.equal(signer.keyId, pair.keyId);
    assert.equal(signer.source, path);
    const data = Buffer.from(uri);
    assert.ok(verifyWithKey(pair.key, data, await signer.sign(data)));
  }
  await assert.rejects(
    onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: `file:${join(dir.path, 'missing.pem')}` }, { env: {} }),
    isError('KEY_INVALID', /cannot read key file/),
  );

  const env = { ONLINE_PEM: pair.privateKeyPem, PUBLIC_PEM: pair.publicKeyPem };
  const signer = await onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'env:ONLINE_PEM' }, { env });
  assert.equal(signer.keyId, pair.keyId);
  assert.equal(signer.source, '$ONLINE_PEM');
  await assert.rejects(
    onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'env:UNSET_VAR' }, { env }),
    isError('KEY_INVALID', /UNSET_VAR is not set/),
  );
  await assert.rejects(
    onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'env:PUBLIC_PEM' }, { env }),
    isError('KEY_IS_PUBLIC', /PUBLIC_PEM/),
  );
  await assert.rejects(onlineSignerFor({ ...pair.key, [ONLINE_URI_FIELD]: 'env:not-a-name' }, { env }), isError('KEY_INVALID'));
});

test('precedence: --key FILE, then TUFCTL_ONLINE_KEY, then the URI; a given key that is not the trusted one is refused, not skipped', async () => {
  const kmsKey = kms.createKey('ECC_NIST_P256');
  const rootKey = rootKeyFor(kmsKey);
  // The same key as a local PEM (as if exported before import into KMS): not possible with KMS, so use a local key as root's.
  const local = generateKeyPair('ecdsa-p256');
  const localRoot: TufKeyJSON = { ...local.key, [ONLINE_URI_FIELD]: `awskms:${kmsKey.arn}` };
  const file = join(dir.path, 'online-precedence.pem');
  writeKeyPair(local, file);
  const envWithKey = kmsEnv({ [ONLINE_KEY_ENV]: local.privateKeyPem });

  let start = kms.requests.length;
  const fromFile = await onlineSignerFor(localRoot, { keyFile: file, env: envWithKey });
  assert.equal(fromFile.source, file);
  assert.equal(fromFile.keyId, local.keyId);
  const fromEnv = await onlineSignerFor(localRoot, { env: envWithKey });
  assert.equal(fromEnv.source, `$${ONLINE_KEY_ENV}`);
  assert.equal(fromEnv.keyId, local.keyId);
  assert.equal(requestsSince(start).length, 0, 'KMS is not asked when a local key is given');

  // Without --key and TUFCTL_ONLINE_KEY the URI is used (and here names another key).
  await assert.rejects(onlineSignerFor(localRoot, { env: kmsEnv() }), isError('KEY_NOT_TRUSTED', new RegExp(local.keyId)));
  start = kms.requests.length;
  const fromUri = await onlineSignerFor(rootKey, { env: kmsEnv({ [ONLINE_KEY_ENV]: '  ' }) });
  assert.equal(fromUri.source, `awskms:${kmsKey.arn}`);
  assert.equal(requestsSince(start, 'GetPublicKey').length, 1);
  destroy(fromUri);

  // An explicit key that root does not trust is an error, never a silent fall-back to KMS.
  await assert.rejects(
    onlineSignerFor(rootKey, { keyFile: file, env: kmsEnv() }),
    isError('KEY_NOT_TRUSTED', new RegExp(file), new RegExp(local.keyId)),
  );
  await assert.rejects(onlineSignerFor(rootKey, { env: envWithKey }), isError('KEY_NOT_TRUSTED', new RegExp(`\\$${ONLINE_KEY_ENV}`)));
  await assert.rejects(
    onlineSignerFor(rootKey, { env: kmsEnv({ [ONLINE_KEY_ENV]: local.publicKeyPem }) }),
    isError('KEY_IS_PUBLIC', new RegExp(ONLINE_KEY_ENV)),
  );
  await assert.rejects(
    onlineSignerFor(rootKey, { env: kmsEnv({ [ONLINE_KEY_ENV]: 'garbage' }) }),
    isError('KEY_INVALID', new RegExp(ONLINE_KEY_ENV)),
  );
});

test('loading online-signer does not load the AWS SDK; the first awskms: signer does', () => {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const sdkModules = () => Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;
    const { onlineSignerFor } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_DIR, 'src/keys/online-signer.ts')).href)});
    const before = sdkModules();
    await onlineSignerFor({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00'.repeat(32) }, 'x-tuf-on-ci-online-uri': 'awskms:alias/x' },
      { env: { AWS_REGION: 'us-east-1', TUFCTL_AWS_KMS_ENDPOINT: 'http://127.0.0.1:1' }, kms: { maxAttempts: 1 } }).catch(() => {});
    console.log(JSON.stringify({ before, after: sdkModules() }));
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_DIR,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
  });
  assert.equal(result.status, 0, result.stderr);
  const counts = JSON.parse(result.stdout.trim().split('\n').pop()!) as { before: number; after: number };
  assert.equal(counts.before, 0, 'no @aws-sdk module loaded by importing online-signer');
  assert.ok(counts.after > 0, 'an awskms: key loads the SDK');
});

/**
 * The Google Cloud KMS signer: Google's Node client (@google-cloud/kms, REST
 * transport) against a loopback Cloud KMS speaking the v1 REST protocol with
 * real P-256, P-384, RSA-PSS and Ed25519 keys, credentials obtained the way
 * GitHub Actions does (an external_account file: GitHub OIDC token → STS →
 * service account impersonation, all on loopback), signatures checked with
 * tufctl's own verifier, CRC32C integrity fields, Cloud KMS errors mapped to
 * clear errors without secrets, retries and timeouts, and lazy loading.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TufctlError } from '../../src/errors.js';
import { crc32c } from '../../src/keys/crc32c.js';
import { GcpKmsSigner, GCP_KMS_ENDPOINT_ENV } from '../../src/keys/gcp-kms-signer.js';
import { onlineSignerFor } from '../../src/keys/online-signer.js';
import { type TufKeyJSON, ONLINE_URI_FIELD, keyIdOf, tufKeyFromPublicKey, verifyWithKey } from '../../src/keys/tuf-key.js';
import { PROJECT_DIR, tempDir } from '../helpers/harness.js';
import { startGcpKms, type GcpAlgorithm, type GcpKey, type LoopbackGcpKms } from '../helpers/gcp-kms-server.js';

// Nothing from this machine's Google Cloud configuration: no ADC file, no metadata server probe.
const dir = tempDir('tufctl-gcp-kms-');
const home = join(dir.path, 'home');
mkdirSync(home);
for (const name of Object.keys(process.env)) {
  if (name.startsWith('GOOGLE_') || name.startsWith('GCE_') || name.startsWith('CLOUDSDK_') || name.startsWith('TUFCTL_')) {
    delete process.env[name];
  }
}
Object.assign(process.env, { METADATA_SERVER_DETECTION: 'none', HOME: home });

let kms: LoopbackGcpKms;
let credentials: string;
const REQUEST_TOKEN = 'gha-request-token-NOT-REAL';

before(async () => {
  kms = await startGcpKms();
  credentials = kms.credentialsFile(join(dir.path, 'gha-creds.json'));
});
after(async () => {
  await kms.close();
  dir.cleanup();
});

/** The key as root lists it: the KMS public key in TUF form with its online URI. */
function rootKeyFor(key: GcpKey, uri = `gcpkms:${key.name}`): TufKeyJSON {
  return { ...tufKeyFromPublicKey(key.publicKey), [ONLINE_URI_FIELD]: uri };
}

/** Environment reaching the loopback KMS with GitHub-style federated credentials. */
function gcpEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { GOOGLE_APPLICATION_CREDENTIALS: credentials, [GCP_KMS_ENDPOINT_ENV]: kms.endpoint, ...extra };
}

/** Quick failure settings: no long waits between retries. */
const QUICK = { retryDelayMs: 10 };

function isError(code: string, ...patterns: RegExp[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TufctlError, `expected a TufctlError, got ${String((error as Error)?.stack ?? error)}`);
    assert.equal(error.code, code, `${error.message}\n${error.details.join('\n')}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    const text = JSON.stringify(error.toJSON());
    for (const secret of [REQUEST_TOKEN, kms.oidcToken, 'ya29.test-', 'federated-', 'PRIVATE KEY']) {
      assert.ok(!text.includes(secret), `no credential or key material in errors (${secret})`);
    }
    return true;
  };
}

function destroy(signer: unknown): void {
  (signer as { destroy?: () => void }).destroy?.();
}

/** A loopback port nothing listens on (fetch refuses some low ports outright, such as 1). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const since = (start: number, operation?: string): LoopbackGcpKms['requests'] =>
  kms.requests.slice(start).filter((r) => !operation || r.operation === operation);

test('crc32c matches the Castagnoli check value and Cloud KMS examples', () => {
  assert.equal(crc32c('123456789'), 0xe3069283);
  assert.equal(crc32c(''), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
});

const CASES: { algorithm: GcpAlgorithm; scheme: string; hash: 'sha256' | 'sha384'; bytes?: number }[] = [
  { algorithm: 'EC_SIGN_P256_SHA256', scheme: 'ecdsa-sha2-nistp256', hash: 'sha256' },
  { algorithm: 'EC_SIGN_P384_SHA384', scheme: 'ecdsa-sha2-nistp384', hash: 'sha384' },
  { algorithm: 'RSA_SIGN_PSS_2048_SHA256', scheme: 'rsassa-pss-sha256', hash: 'sha256', bytes: 256 },
  { algorithm: 'RSA_SIGN_PSS_3072_SHA256', scheme: 'rsassa-pss-sha256', hash: 'sha256', bytes: 384 },
];

for (const { algorithm, scheme, hash, bytes } of CASES) {
  test(`gcpkms: ${algorithm} signs the ${hash} digest with its CRC32C; tufctl's verifier accepts every signature`, async () => {
    const key = kms.createKey(algorithm);
    const rootKey = rootKeyFor(key);
    const start = kms.requests.length;
    const signer = await onlineSignerFor(rootKey, { env: gcpEnv() });
    try {
      assert.ok(signer instanceof GcpKmsSigner);
      assert.equal(signer.keyId, keyIdOf(rootKey));
      assert.equal(signer.publicKey.scheme, scheme);
      assert.equal(signer.source, `gcpkms:${key.name}`);
      assert.equal(signer.name, key.name);
      assert.equal(signer.algorithm, algorithm);
      for (const size of algorithm === 'EC_SIGN_P256_SHA256' ? [0, 1, 200, 4097, 70_000] : [0, 70_000]) {
        const data = Buffer.alloc(size, size % 251);
        const before = kms.requests.length;
        const signature = await signer.sign(data);
        assert.match(signature, /^[0-9a-f]+$/);
        assert.ok(verifyWithKey(rootKey, data, signature), `${algorithm} ${size} bytes verifies`);
        assert.ok(!verifyWithKey(rootKey, Buffer.concat([data, Buffer.from('x')]), signature), 'and only for its message');
        const [request] = since(before, 'asymmetricSign');
        assert.equal(request!.method, 'POST');
        assert.equal(request!.path, `/v1/${key.name}:asymmetricSign`);
        const digest = createHash(hash).update(data).digest();
        assert.deepEqual(Object.keys(request!.body.digest), [hash], 'the digest of the algorithm');
        assert.ok(Buffer.from(request!.body.digest[hash], 'base64').equals(digest));
        assert.equal(Number(request!.body.digestCrc32c), crc32c(digest), 'digestCrc32c sent');
        assert.equal(request!.body.data, undefined, 'never the data itself');
        if (scheme.startsWith('ecdsa')) assert.equal(signature.slice(0, 2), '30', 'DER, as Cloud KMS returns it and TUF stores it');
        else assert.equal(signature.length, bytes! * 2);
      }
      // One credential exchange (GitHub OIDC token → STS → impersonation), then KMS calls with the access token.
      const made = since(start);
      assert.deepEqual(
        made.map((r) => r.operation),
        [
          'oidc',
          'sts',
          'generateAccessToken',
          'getPublicKey',
          ...Array<string>(algorithm === 'EC_SIGN_P256_SHA256' ? 5 : 2).fill('asymmetricSign'),
        ],
      );
      assert.equal(made[0]!.authorization, `Bearer ${REQUEST_TOKEN}`);
      assert.equal(new URLSearchParams(made[1]!.body).get('subject_token'), kms.oidcToken);
      assert.match(made[2]!.authorization ?? '', /^Bearer federated-/);
      for (const r of made.slice(3)) assert.match(r.authorization ?? '', /^Bearer ya29\.test-/);
      assert.equal(made[3]!.path, `/v1/${key.name}/publicKey`);
      assert.deepEqual(JSON.parse(JSON.stringify(signer)), { keyId: signer.keyId, source: signer.source, name: key.name, algorithm });
    } finally {
      destroy(signer);
    }
  });
}

test('gcpkms: an Ed25519 key version (EC_SIGN_ED25519) signs the data itself, with dataCrc32c', async () => {
  const key = kms.createKey('EC_SIGN_ED25519');
  const rootKey = rootKeyFor(key);
  const signer = await onlineSignerFor(rootKey, { env: gcpEnv() });
  try {
    assert.equal(signer.publicKey.scheme, 'ed25519');
    for (const size of [10, 20_000]) {
      const data = Buffer.alloc(size, 7);
      const before = kms.requests.length;
      const signature = await signer.sign(data);
      assert.equal(signature.length, 128);
      assert.ok(verifyWithKey(rootKey, data, signature));
      const [request] = since(before, 'asymmetricSign');
      assert.ok(Buffer.from(request!.body.data, 'base64').equals(data));
      assert.equal(Number(request!.body.dataCrc32c), crc32c(data));
      assert.equal(request!.body.digest, undefined);
    }
  } finally {
    destroy(signer);
  }
});

test('gcpkms: URI forms as tuf-on-ci writes them (gcpkms:projects/…) and with // or ///; direct federation without impersonation', async () => {
  const key = kms.createKey('EC_SIGN_P256_SHA256', { ring: 'ring-a', key: 'online', version: 3 });
  const expected = keyIdOf(tufKeyFromPublicKey(key.publicKey));
  const direct = kms.credentialsFile(join(dir.path, 'direct.json'), { impersonate: false });
  for (const [uri, env] of [
    [`gcpkms:${key.name}`, gcpEnv()],
    [`gcpkms://${key.name}`, gcpEnv()],
    [`GCPKMS:///${key.name}`, gcpEnv({ GOOGLE_APPLICATION_CREDENTIALS: direct })],
  ] as const) {
    const start = kms.requests.length;
    const signer = await onlineSignerFor(rootKeyFor(key, uri), { env });
    try {
      assert.equal(signer.keyId, expected, uri);
      assert.equal((signer as GcpKmsSigner).name, key.name);
      assert.equal(signer.source, uri);
      const data = Buffer.from(`signed via ${uri}`);
      assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
      const impersonated = since(start).some((r) => r.operation === 'generateAccessToken');
      assert.equal(impersonated, env.GOOGLE_APPLICATION_CREDENTIALS !== direct, `${uri}: impersonation as configured`);
    } finally {
      destroy(signer);
    }
  }
  for (const bad of ['gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k', 'gcpkms:', 'gcpkms:projects/p/../x']) {
    await assert.rejects(
      onlineSignerFor(rootKeyFor(key, bad), { env: gcpEnv() }),
      isError('KEY_INVALID', /invalid GCP KMS key version/, /cryptoKeyVersions\/N/),
      bad,
    );
  }
});

test("a Cloud KMS key that is not root's online key is refused with KEY_NOT_TRUSTED naming both key ids", async () => {
  const trusted = kms.createKey('EC_SIGN_P256_SHA256');
  const other = kms.createKey('EC_SIGN_P256_SHA256');
  const rootKey = rootKeyFor(trusted, `gcpkms:${other.name}`);
  const otherId = keyIdOf(tufKeyFromPublicKey(other.publicKey));
  const start = kms.requests.length;
  await assert.rejects(
    onlineSignerFor(rootKey, { env: gcpEnv() }),
    isError('KEY_NOT_TRUSTED', new RegExp(keyIdOf(rootKey)), new RegExp(otherId), new RegExp(`gcpkms:${other.name}`)),
  );
  assert.equal(since(start, 'asymmetricSign').length, 0, 'nothing is signed with an untrusted key');
  const rsa = kms.createKey('RSA_SIGN_PSS_2048_SHA256');
  await assert.rejects(
    onlineSignerFor(rootKeyFor(trusted, `gcpkms:${rsa.name}`), { env: gcpEnv() }),
    isError('KEY_NOT_TRUSTED', /rsassa-pss-sha256/),
  );
});

test('Cloud KMS errors become clear errors without secrets: not found, permission denied, disabled, unsupported algorithms', async () => {
  const env = gcpEnv();
  const p256 = (): GcpKey => kms.createKey('EC_SIGN_P256_SHA256');
  const missing = `projects/${kms.project}/locations/global/keyRings/tuf/cryptoKeys/ghost/cryptoKeyVersions/1`;
  await assert.rejects(onlineSignerFor(rootKeyFor(p256(), `gcpkms:${missing}`), { env }), (error) => {
    isError('KEY_UNKNOWN', /does not exist/, new RegExp(missing))(error);
    assert.match((error as TufctlError).details.join('\n'), /NOT_FOUND \(HTTP 404\).*not found/);
    return true;
  });

  const hidden = p256();
  hidden.denied.add('cloudkms.cryptoKeyVersions.viewPublicKey');
  await assert.rejects(
    onlineSignerFor(rootKeyFor(hidden), { env }),
    isError('KEY_INVALID', /permission denied/, /cloudkms\.cryptoKeyVersions\.useToSign/, /roles\/cloudkms\.signerVerifier/),
  );

  const noSign = kms.createKey('EC_SIGN_P384_SHA384');
  const signer = await onlineSignerFor(rootKeyFor(noSign), { env, gcpKms: QUICK });
  noSign.denied.add('cloudkms.cryptoKeyVersions.useToSign');
  const start = kms.requests.length;
  await assert.rejects(signer.sign(Buffer.from('x')), (error) => {
    isError('KEY_INVALID', /permission denied/)(error);
    assert.match((error as TufctlError).details.join('\n'), /PERMISSION_DENIED \(HTTP 403\).*useToSign/);
    return true;
  });
  assert.equal(since(start, 'asymmetricSign').length, 1, 'a permission error is not retried');
  noSign.denied.clear();
  noSign.state = 'DISABLED';
  await assert.rejects(signer.sign(Buffer.from('x')), isError('KEY_INVALID', /current state/, /disabled/));
  destroy(signer);
  await assert.rejects(onlineSignerFor(rootKeyFor(noSign), { env }), isError('KEY_INVALID', /current state/));

  for (const algorithm of ['RSA_SIGN_PKCS1_2048_SHA256', 'EC_SIGN_SECP256K1_SHA256'] as const) {
    const key = kms.createKey(algorithm);
    const root: TufKeyJSON = {
      keytype: 'ecdsa',
      scheme: 'ecdsa-sha2-nistp256',
      keyval: { public: 'x' },
      [ONLINE_URI_FIELD]: `gcpkms:${key.name}`,
    };
    await assert.rejects(
      onlineSignerFor(root, { env }),
      isError('KEY_UNSUPPORTED', new RegExp(algorithm), /EC_SIGN_P256_SHA256 recommended/),
    );
  }
});

test('credentials: a missing file, a rejected GitHub request token, an STS refusal and no credentials at all are clear KEY_INVALID errors', async () => {
  const key = kms.createKey('EC_SIGN_P256_SHA256');
  const root = rootKeyFor(key);
  await assert.rejects(
    onlineSignerFor(root, { env: gcpEnv({ GOOGLE_APPLICATION_CREDENTIALS: join(dir.path, 'nope.json') }) }),
    isError('KEY_INVALID', /GOOGLE_APPLICATION_CREDENTIALS names .*nope\.json, which does not exist/),
  );
  const badRequestToken = kms.credentialsFile(join(dir.path, 'bad-request-token.json'), { requestToken: 'expired' });
  await assert.rejects(
    onlineSignerFor(root, { env: gcpEnv({ GOOGLE_APPLICATION_CREDENTIALS: badRequestToken }), gcpKms: QUICK }),
    isError('KEY_INVALID', /cannot obtain Google Cloud credentials/, /GOOGLE_APPLICATION_CREDENTIALS/, /google-github-actions\/auth/),
  );
  const wrongAudience = kms.credentialsFile(join(dir.path, 'wrong-audience.json'), {
    audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/other/providers/x',
  });
  await assert.rejects(
    onlineSignerFor(root, { env: gcpEnv({ GOOGLE_APPLICATION_CREDENTIALS: wrongAudience }), gcpKms: QUICK }),
    (error) => {
      isError('KEY_INVALID', /cannot obtain Google Cloud credentials/, new RegExp(kms.authOrigin.replace(/[.]/g, '\\.')))(error);
      assert.match((error as TufctlError).details.join('\n'), /invalid_target/);
      return true;
    },
  );
  // No GOOGLE_APPLICATION_CREDENTIALS, no gcloud ADC file in $HOME, metadata server detection off.
  await assert.rejects(
    onlineSignerFor(root, { env: { [GCP_KMS_ENDPOINT_ENV]: kms.endpoint }, gcpKms: QUICK }),
    isError('KEY_INVALID', /cannot obtain Google Cloud credentials/),
  );
  // An access token KMS does not accept (expired, revoked) is reported as rejected credentials.
  kms.fail({
    operation: 'getPublicKey',
    status: 401,
    rpcStatus: 'UNAUTHENTICATED',
    message: 'Request had invalid authentication credentials.',
  });
  await assert.rejects(onlineSignerFor(root, { env: gcpEnv(), gcpKms: QUICK }), isError('KEY_INVALID', /rejected the credentials/));
});

test('5xx answers are retried (3 attempts in all); integrity failures are retried; a hanging KMS times out; an unreachable one is IO_FAILED', async () => {
  const key = kms.createKey('EC_SIGN_P256_SHA256');
  const signer = await onlineSignerFor(rootKeyFor(key), { env: gcpEnv(), gcpKms: QUICK });
  try {
    const data = Buffer.from('retried');
    let start = kms.requests.length;
    kms.fail({ operation: 'asymmetricSign', status: 503, rpcStatus: 'UNAVAILABLE' });
    kms.fail({ operation: 'asymmetricSign', status: 429, rpcStatus: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded' });
    assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
    assert.deepEqual(
      since(start, 'asymmetricSign').map((r) => r.status),
      [503, 429, 200],
    );

    start = kms.requests.length;
    kms.fail({ operation: 'asymmetricSign', status: 500, rpcStatus: 'INTERNAL' }, 3);
    await assert.rejects(signer.sign(data), isError('IO_FAILED', /unavailable/));
    assert.equal(since(start, 'asymmetricSign').length, 3, 'three attempts, then give up');

    // A response whose signatureCrc32c does not match, or that did not verify the digest checksum, is discarded and retried.
    start = kms.requests.length;
    kms.fail({ operation: 'asymmetricSign', corrupt: 'signatureCrc32c' });
    kms.fail({ operation: 'asymmetricSign', corrupt: 'verified' });
    assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
    assert.equal(since(start, 'asymmetricSign').length, 3);
    kms.fail({ operation: 'asymmetricSign', corrupt: 'signatureCrc32c' }, 3);
    await assert.rejects(signer.sign(data), isError('IO_FAILED', /integrity check/));

    // A signature that does not verify with the key is never returned.
    kms.fail({ operation: 'asymmetricSign', wrongSignature: true });
    await assert.rejects(signer.sign(data), isError('KEY_INVALID', /does not verify with the key's public key/));
  } finally {
    destroy(signer);
  }

  // A wrong pemCrc32c at creation is retried too.
  let start = kms.requests.length;
  kms.fail({ operation: 'getPublicKey', corrupt: 'pemCrc32c' });
  destroy(await onlineSignerFor(rootKeyFor(key), { env: gcpEnv(), gcpKms: QUICK }));
  assert.equal(since(start, 'getPublicKey').length, 2);

  const quick = { requestTimeoutMs: 400, maxAttempts: 1 };
  kms.fail({ operation: 'getPublicKey', hang: true });
  const began = Date.now();
  await assert.rejects(onlineSignerFor(rootKeyFor(key), { env: gcpEnv(), gcpKms: quick }), isError('IO_FAILED', /timed out/));
  assert.ok(Date.now() - began < 5000, `the request timeout ends a hanging call (${Date.now() - began} ms)`);

  start = kms.requests.length;
  kms.fail({ operation: 'sts', hang: true });
  await assert.rejects(
    onlineSignerFor(rootKeyFor(key), { env: gcpEnv(), gcpKms: quick }),
    isError('IO_FAILED', /timed out|cannot reach/),
    'a hanging token exchange is bounded too',
  );

  const closed = await closedPort();
  await assert.rejects(
    onlineSignerFor(rootKeyFor(key), { env: gcpEnv({ [GCP_KMS_ENDPOINT_ENV]: `http://127.0.0.1:${closed}` }), gcpKms: quick }),
    isError('IO_FAILED', /cannot reach Cloud KMS \(ECONNREFUSED\)/, new RegExp(`endpoint http://127\\.0\\.0\\.1:${closed}`)),
  );
});

test('endpoint: https anywhere, plain http only on loopback, scheme/host/port only', async () => {
  const key = kms.createKey('EC_SIGN_P256_SHA256');
  for (const [endpoint, pattern] of [
    ['http://kms.internal.example:8080', /must use https/],
    ['not a url', /is not a URL/],
    [`${kms.endpoint}/v1`, /scheme, host and port only/],
  ] as const) {
    await assert.rejects(
      GcpKmsSigner.create(key.name, { env: gcpEnv({ [GCP_KMS_ENDPOINT_ENV]: endpoint }) }),
      isError('CONFIG_INVALID', pattern),
    );
  }
  const viaOption = await GcpKmsSigner.create(key.name, { env: { GOOGLE_APPLICATION_CREDENTIALS: credentials }, endpoint: kms.endpoint });
  assert.equal(viaOption.name, key.name);
  viaOption.destroy();
});

test('loading online-signer does not load the Google Cloud client; the first gcpkms: signer does', () => {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const googleModules = () => Object.keys(require.cache).filter((k) => k.includes('@google-cloud') || k.includes('google-gax')).length;
    const { onlineSignerFor } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_DIR, 'src/keys/online-signer.ts')).href)});
    const before = googleModules();
    await onlineSignerFor({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00'.repeat(32) },
        'x-tuf-on-ci-online-uri': 'gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1' },
      { env: { TUFCTL_GCP_KMS_ENDPOINT: 'http://127.0.0.1:1' }, gcpKms: { maxAttempts: 1, requestTimeoutMs: 1000 } }).catch(() => {});
    console.log(JSON.stringify({ before, after: googleModules() }));
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_DIR,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, METADATA_SERVER_DETECTION: 'none' },
  });
  assert.equal(result.status, 0, result.stderr);
  const counts = JSON.parse(result.stdout.trim().split('\n').pop()!) as { before: number; after: number };
  assert.equal(counts.before, 0, 'no Google Cloud module loaded by importing online-signer');
  assert.ok(counts.after > 0, 'a gcpkms: key loads the client');
});

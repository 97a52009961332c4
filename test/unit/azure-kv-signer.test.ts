/**
 * The Azure Key Vault signer: Microsoft's clients (@azure/keyvault-keys,
 * @azure/identity) against a loopback vault speaking the keys REST API with
 * challenge-based authentication and real P-256 / P-384 keys, credentials
 * from the Azure CLI login azure/login leaves on a runner (a stand-in `az`),
 * r‖s signatures converted to DER and checked with tufctl's own verifier,
 * errors mapped to clear errors without secrets, retries, timeouts, and lazy
 * loading.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TufctlError } from '../../src/errors.js';
import { AzureKeyVaultSigner, AZURE_KEYVAULT_ENDPOINT_ENV, ecdsaRawToDer, parseAzureKeyReference } from '../../src/keys/azure-kv-signer.js';
import { onlineSignerFor } from '../../src/keys/online-signer.js';
import { type TufKeyJSON, ONLINE_URI_FIELD, keyIdOf, tufKeyFromPublicKey, verifyWithKey } from '../../src/keys/tuf-key.js';
import { PROJECT_DIR, tempDir } from '../helpers/harness.js';
import { startAzureKeyVault, type AzureKey, type LoopbackKeyVault } from '../helpers/azure-kv-server.js';

// Only the Azure CLI credential (never the managed identity endpoint), and the stand-in `az` first on PATH.
const dir = tempDir('tufctl-azure-kv-');
for (const name of Object.keys(process.env)) if (name.startsWith('AZURE_') || name.startsWith('TUFCTL_')) delete process.env[name];
const azDir = join(dir.path, 'az-bin');
process.env.AZURE_TOKEN_CREDENTIALS = 'AzureCliCredential';
process.env.PATH = `${azDir}:${process.env.PATH}`;

let vault: LoopbackKeyVault;

before(async () => {
  vault = await startAzureKeyVault();
  vault.azCli(azDir);
});
after(async () => {
  await vault.close();
  dir.cleanup();
});

function rootKeyFor(key: AzureKey, uri = vault.uriOf(key)): TufKeyJSON {
  return { ...tufKeyFromPublicKey(key.publicKey), [ONLINE_URI_FIELD]: uri };
}

const vaultEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ [AZURE_KEYVAULT_ENDPOINT_ENV]: vault.endpoint, ...extra });
const QUICK = { retryDelayMs: 10 };

function isError(code: string, ...patterns: RegExp[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TufctlError, `expected a TufctlError, got ${String((error as Error)?.stack ?? error)}`);
    assert.equal(error.code, code, `${error.message}\n${error.details.join('\n')}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    const text = JSON.stringify(error.toJSON());
    assert.ok(!/azcli-[0-9a-f]{8}/.test(text), 'no access token in errors');
    assert.ok(!text.includes('PRIVATE KEY'), 'no key material in errors');
    return true;
  };
}

const since = (start: number, operation?: string): LoopbackKeyVault['requests'] =>
  vault.requests.slice(start).filter((r) => !operation || r.operation === operation);
/** Requests past the authentication challenge (each client meets it once). */
const answered = (start: number, operation: string): LoopbackKeyVault['requests'] =>
  since(start, operation).filter((r) => r.status !== 401);

test('ecdsaRawToDer turns r‖s into the DER node:crypto and TUF verify', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    for (let i = 0; i < 20; i++) {
      const data = Buffer.from(`message ${i}`);
      const hash = curve === 'P-256' ? 'sha256' : 'sha384';
      const raw = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const der = ecdsaRawToDer(raw);
      assert.ok(verify(hash, data, publicKey, der), `${curve} DER verifies`);
      assert.ok(verifyWithKey(tufKeyFromPublicKey(publicKey), data, der.toString('hex')));
    }
  }
  // Leading zero bytes are trimmed and high bits padded, as DER INTEGERs require.
  const raw = Buffer.concat([Buffer.alloc(31, 0), Buffer.from([0x01]), Buffer.alloc(32, 0xff)]);
  assert.equal(ecdsaRawToDer(raw).toString('hex'), `3026020101022100${'ff'.repeat(32)}`);
  assert.throws(() => ecdsaRawToDer(Buffer.alloc(63)), /not r‖s/);
});

test('azurekms: URIs as tuf-on-ci writes them (the kid with https: replaced) parse; others are refused', () => {
  assert.deepEqual(parseAzureKeyReference('myvault.vault.azure.net/keys/online/0123abcd'), {
    host: 'myvault.vault.azure.net',
    name: 'online',
    version: '0123abcd',
  });
  assert.deepEqual(parseAzureKeyReference('MyVault.vault.azure.net/keys/online'), { host: 'myvault.vault.azure.net', name: 'online' });
  for (const bad of ['myvault.vault.azure.net', 'myvault/keys/online/1', 'myvault.vault.azure.net/secrets/x/1', 'a.b/keys/x/1/extra']) {
    assert.throws(() => parseAzureKeyReference(bad), isError('KEY_INVALID', /azurekms:\/\/VAULT\.vault\.azure\.net\/keys\/NAME\/VERSION/));
  }
});

for (const [type, scheme, alg, hash] of [
  ['P-256', 'ecdsa-sha2-nistp256', 'ES256', 'sha256'],
  ['P-384', 'ecdsa-sha2-nistp384', 'ES384', 'sha384'],
] as const) {
  test(`azurekms: a ${type} key signs the ${hash} digest (${alg}); Key Vault's r‖s becomes DER that tufctl's verifier accepts`, async () => {
    const key = vault.createKey(type);
    const rootKey = rootKeyFor(key);
    const start = vault.requests.length;
    const signer = await onlineSignerFor(rootKey, { env: vaultEnv() });
    assert.ok(signer instanceof AzureKeyVaultSigner);
    assert.equal(signer.keyId, keyIdOf(rootKey));
    assert.equal(signer.publicKey.scheme, scheme);
    assert.equal(signer.source, vault.uriOf(key));
    assert.equal(signer.kid, `https://${vault.host}/keys/${key.name}/${key.version}`);
    for (const size of [0, 300, 70_000]) {
      const data = Buffer.alloc(size, size % 251);
      const before = vault.requests.length;
      const signature = await signer.sign(data);
      assert.equal(signature.slice(0, 2), '30', 'DER');
      assert.ok(verifyWithKey(rootKey, data, signature), `${type} ${size} bytes verifies`);
      assert.ok(!verifyWithKey(rootKey, Buffer.concat([data, Buffer.from('x')]), signature));
      const [request] = since(before, 'sign').filter((r) => r.status === 200);
      assert.equal(request!.path, `/keys/${key.name}/${key.version}/sign`);
      assert.equal(request!.body.alg, alg);
      assert.ok(Buffer.from(request!.body.value, 'base64url').equals(createHash(hash).update(data).digest()));
    }
    // Challenge first (no token), then the CLI's token for https://vault.azure.net in the vault's tenant.
    const made = since(start);
    assert.equal(made[0]!.authorization, undefined);
    assert.equal(made[0]!.status, 401);
    assert.ok(made.filter((r) => r.status === 200).every((r) => /^Bearer azcli-/.test(r.authorization ?? '')));
    assert.ok(
      vault.azCalls(azDir).some((call) => call.includes('--resource https://vault.azure.net') && call.includes(`--tenant ${vault.tenant}`)),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(signer)), { keyId: signer.keyId, source: signer.source, kid: signer.kid });
  });
}

test('azurekms: a URI without a version uses the latest version; a key that is not the trusted one is KEY_NOT_TRUSTED', async () => {
  const first = vault.createKey('P-256', { name: 'rotating' });
  const latest = vault.createKey('P-256', { name: 'rotating' });
  const unversioned = `azurekms://${vault.host}/keys/rotating`;
  const signer = await onlineSignerFor(rootKeyFor(latest, unversioned), { env: vaultEnv() });
  assert.equal((signer as AzureKeyVaultSigner).kid, `https://${vault.host}/keys/rotating/${latest.version}`);
  const data = Buffer.from('latest');
  assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
  await assert.rejects(
    onlineSignerFor(rootKeyFor(first, unversioned), { env: vaultEnv() }),
    isError('KEY_NOT_TRUSTED', new RegExp(keyIdOf(rootKeyFor(first))), new RegExp(keyIdOf(rootKeyFor(latest)))),
  );
});

test('Key Vault errors become clear errors: not found, access denied, disabled, RSA keys, no Azure login', async () => {
  const env = vaultEnv();
  const ghost = vault.createKey('P-256');
  await assert.rejects(
    onlineSignerFor(rootKeyFor(ghost, `azurekms://${vault.host}/keys/ghost/0000`), { env }),
    isError('KEY_UNKNOWN', /does not exist/, /keys\/ghost\/0000/),
  );
  const hidden = vault.createKey('P-256');
  hidden.denied.add('get');
  await assert.rejects(onlineSignerFor(rootKeyFor(hidden), { env }), isError('KEY_INVALID', /access denied/, /Key Vault Crypto User/));

  const noSign = vault.createKey('P-384');
  const signer = await onlineSignerFor(rootKeyFor(noSign), { env, azure: QUICK });
  noSign.denied.add('sign');
  await assert.rejects(signer.sign(Buffer.from('x')), (error) => {
    isError('KEY_INVALID', /access denied/)(error);
    assert.match((error as TufctlError).details.join('\n'), /Forbidden \(HTTP 403\).*does not have keys sign permission/);
    return true;
  });
  noSign.denied.clear();
  noSign.enabled = false;
  await assert.rejects(signer.sign(Buffer.from('x')), isError('KEY_INVALID', /is disabled/));
  await assert.rejects(onlineSignerFor(rootKeyFor(noSign), { env }), isError('KEY_INVALID', /is disabled/));

  const rsa = vault.createKey('RSA');
  await assert.rejects(onlineSignerFor(rootKeyFor(rsa), { env }), isError('KEY_UNSUPPORTED', /RSA key/, /P-256 \(recommended\) or P-384/));

  const loggedOut = join(dir.path, 'az-logged-out');
  vault.azCli(loggedOut, { loggedIn: false });
  const saved = process.env.PATH;
  process.env.PATH = `${loggedOut}:${saved}`;
  try {
    await assert.rejects(
      onlineSignerFor(rootKeyFor(vault.createKey('P-256')), { env, azure: QUICK }),
      isError('KEY_INVALID', /cannot obtain Azure credentials/, /azure\/login/),
    );
  } finally {
    process.env.PATH = saved;
  }
});

test('throttling and 5xx are retried (3 attempts in all); a hanging vault times out; a wrong signature is never returned', async () => {
  const key = vault.createKey('P-256');
  const signer = await onlineSignerFor(rootKeyFor(key), { env: vaultEnv(), azure: QUICK });
  const data = Buffer.from('retried');
  let start = vault.requests.length;
  vault.fail({ operation: 'sign', status: 503 });
  vault.fail({ operation: 'sign', status: 429, code: 'Throttled', message: 'Rate limit exceeded' });
  assert.ok(verifyWithKey(signer.publicKey, data, await signer.sign(data)));
  assert.deepEqual(
    answered(start, 'sign').map((r) => r.status),
    [503, 429, 200],
  );
  start = vault.requests.length;
  vault.fail({ operation: 'sign', status: 500, code: 'InternalServerError' }, 3);
  await assert.rejects(signer.sign(data), isError('IO_FAILED', /unavailable/));
  assert.equal(answered(start, 'sign').length, 3, 'three attempts, then give up');

  vault.fail({ operation: 'sign', wrongSignature: true });
  await assert.rejects(signer.sign(data), isError('KEY_INVALID', /does not verify with the key's public key/));

  vault.fail({ operation: 'get', hang: true }, 3);
  const began = Date.now();
  await assert.rejects(
    onlineSignerFor(rootKeyFor(key), { env: vaultEnv(), azure: { requestTimeoutMs: 300, maxAttempts: 1 } }),
    isError('IO_FAILED', /cannot reach Azure Key Vault/),
  );
  assert.ok(Date.now() - began < 6000, `a hanging vault is given up on (${Date.now() - began} ms)`);
});

test('the endpoint override is for loopback only; real vaults are reached by the host in the URI', async () => {
  const key = vault.createKey('P-256');
  for (const endpoint of ['https://myvault.vault.azure.net', 'http://10.0.0.1:8080', `${vault.endpoint}/keys`, 'nonsense']) {
    await assert.rejects(
      AzureKeyVaultSigner.create(parseAzureKeyReference(`${vault.host}/keys/${key.name}/${key.version}`), {
        env: { [AZURE_KEYVAULT_ENDPOINT_ENV]: endpoint },
      }),
      isError('CONFIG_INVALID', /loopback|is not a URL/),
      endpoint,
    );
  }
});

test('loading online-signer does not load the Azure clients; the first azurekms: signer does', () => {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const azureModules = () => Object.keys(require.cache).filter((k) => k.includes('@azure')).length;
    const { onlineSignerFor } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_DIR, 'src/keys/online-signer.ts')).href)});
    const before = azureModules();
    await onlineSignerFor({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00'.repeat(32) },
        'x-tuf-on-ci-online-uri': 'azurekms://v.vault.azure.net/keys/k/1' },
      { env: { TUFCTL_AZURE_KEYVAULT_ENDPOINT: 'http://127.0.0.1:9' }, azure: { maxAttempts: 1, requestTimeoutMs: 1000 } }).catch(() => {});
    console.log(JSON.stringify({ before, after: azureModules() }));
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_DIR,
    encoding: 'utf8',
    env: { PATH: `${azDir}:${process.env.PATH}`, AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential', HOME: dir.path },
  });
  assert.equal(result.status, 0, result.stderr);
  const counts = JSON.parse(result.stdout.trim().split('\n').pop()!) as { before: number; after: number };
  assert.equal(counts.before, 0, 'no @azure module loaded by importing online-signer');
  assert.ok(counts.after > 0, 'an azurekms: key loads the clients');
});

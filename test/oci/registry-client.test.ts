/**
 * The registry client against real registries (Distribution 2.8): anonymous,
 * htpasswd and token auth, credentials from env / docker config / helpers,
 * retries through a fault-injecting proxy, and skopeo reading what we pushed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { TufctlError } from '../../src/errors.js';
import { defaultCredentials, dockerConfigKeyHost, runCredentialHelper, staticCredentials } from '../../src/oci/credentials.js';
import { parseRetryAfter } from '../../src/oci/http.js';
import {
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  parseChallenge,
  parseOciUrl,
  RegistryError,
  RegistryTarget,
  registryOrigin,
} from '../../src/oci/registry-client.js';
import type { OciRepository } from '../../src/oci/store.js';
import { freePort, libtrustKeyId, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/harness.js';

const execFileAsync = promisify(execFile);
const EMPTY_CONFIG = Buffer.from('{}');
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Pushes a one-layer TUF-style image under `tag`; returns what a reader should see. */
async function pushImage(repo: OciRepository, tag: string, content = `{"signed":{"_type":"timestamp","tag":"${tag}"}}`) {
  const layer = Buffer.from(content);
  for (const blob of [EMPTY_CONFIG, layer]) if (!(await repo.hasBlob(sha256(blob)))) await repo.putBlob(sha256(blob), blob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      artifactType: 'application/vnd.tuf.metadata+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_CONFIG), size: 2 },
      layers: [
        {
          mediaType: 'application/vnd.tuf.metadata+json',
          digest: sha256(layer),
          size: layer.length,
          annotations: { 'tuf.io/filename': 'timestamp.json' },
        },
      ],
    }),
  );
  const digest = await repo.putManifest(tag, manifest, MEDIA_TYPE_OCI_MANIFEST);
  return { layer, manifest, digest };
}

/** skopeo reads the raw manifest at HOST/REPO:TAG (asynchronously: the token service runs in this process). */
async function skopeoRaw(host: string, repository: string, tag: string, creds?: string): Promise<string> {
  const args = ['inspect', '--tls-verify=false', '--raw', ...(creds ? ['--creds', creds] : []), `docker://${host}/${repository}:${tag}`];
  try {
    const { stdout } = await execFileAsync('skopeo', args, { encoding: 'utf8', timeout: 20_000 });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('skopeo is missing: install skopeo (npm test installs it as root)');
    throw new Error(`skopeo ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

/** The error, checked to be a TufctlError with this code and to leak none of `secrets`. */
async function failure(promise: Promise<unknown>, code: string, secrets: string[] = []): Promise<RegistryError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TufctlError, `expected a TufctlError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  const everything = [caught.message, ...caught.details, JSON.stringify(caught.toJSON()), String(caught.stack)].join('\n');
  for (const secret of secrets) assert.ok(!everything.includes(secret), `the error reveals a secret: ${everything}`);
  return caught as RegistryError;
}

/** A docker config directory holding `config`. */
function dockerConfig(config: unknown): { dir: string; cleanup: () => void } {
  const dir = tempDir('tufctl-docker-config-');
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify(config));
  return { dir: dir.path, cleanup: dir.cleanup };
}

describe('anonymous registry', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  test('pushes blobs and an OCI manifest with annotations; reads them back by tag and digest', async () => {
    const target = new RegistryTarget({ host: registry.host, namespace: 'acme', credentials: staticCredentials(undefined) });
    assert.equal(target.location, `oci://${registry.host}/acme`);
    const repo = target.repository('tuf-metadata');
    assert.equal(repo.name, 'acme/tuf-metadata');
    const missing = sha256(Buffer.from('never pushed'));
    assert.equal(await repo.hasBlob(missing), false);
    assert.equal(await repo.getManifest('latest'), undefined);
    assert.equal(await repo.headManifest('latest'), undefined);

    const { layer, manifest, digest } = await pushImage(repo, 'latest');
    assert.equal(digest, sha256(manifest));
    assert.equal(await repo.hasBlob(sha256(layer)), true);
    assert.deepEqual(await repo.getBlob(sha256(layer)), layer);

    const byTag = await repo.getManifest('latest');
    assert.ok(byTag);
    assert.deepEqual(byTag, { digest, mediaType: MEDIA_TYPE_OCI_MANIFEST, bytes: manifest });
    const byDigest = await repo.getManifest(digest);
    assert.ok(byDigest?.bytes.equals(manifest));
    assert.ok(byDigest);
    assert.equal(JSON.parse(byDigest.bytes.toString()).layers[0].annotations['tuf.io/filename'], 'timestamp.json');
    assert.deepEqual(await repo.headManifest('latest'), { digest, mediaType: MEDIA_TYPE_OCI_MANIFEST });
    assert.deepEqual(await repo.headManifest(digest), { digest, mediaType: MEDIA_TYPE_OCI_MANIFEST });

    const stats = target.stats();
    assert.equal(stats.blobsUploaded, 2);
    assert.equal(stats.manifestsPut, 1);
    assert.equal(stats.bytesUploaded, EMPTY_CONFIG.length + layer.length + manifest.length);
    assert.ok(stats.requests >= 10, `requests: ${stats.requests}`);

    // Pushing the same image again uploads no blob.
    await pushImage(repo, 'latest');
    assert.equal(target.stats().blobsUploaded, 2);

    // skopeo (containers/image) reads exactly the bytes we pushed.
    assert.equal(await skopeoRaw(registry.host, 'acme/tuf-metadata', 'latest'), manifest.toString());
  });

  test('an image index under a role tag', async () => {
    const repo = new RegistryTarget({ host: registry.host, namespace: 'acme', credentials: staticCredentials(undefined) }).repository(
      'tuf-targets',
    );
    const image = await pushImage(repo, 'doi-entry', 'policy');
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE_OCI_INDEX,
        manifests: [
          {
            mediaType: MEDIA_TYPE_OCI_MANIFEST,
            digest: image.digest,
            size: image.manifest.length,
            annotations: { 'tuf.io/filename': 'doi/x.rego' },
          },
        ],
      }),
    );
    const digest = await repo.putManifest('doi', index, MEDIA_TYPE_OCI_INDEX);
    assert.deepEqual(await repo.getManifest('doi'), { digest, mediaType: MEDIA_TYPE_OCI_INDEX, bytes: index });
    // Storing by digest works too, and a wrong digest is refused before sending.
    assert.equal(await repo.putManifest(digest, index, MEDIA_TYPE_OCI_INDEX), digest);
    await failure(repo.putManifest(sha256(Buffer.from('x')), index, MEDIA_TYPE_OCI_INDEX), 'DIGEST_MISMATCH');
  });

  test('blob errors: missing (404), over maxBytes, wrong digest; invalid names', async () => {
    const target = new RegistryTarget({ host: registry.host, namespace: 'acme', credentials: staticCredentials(undefined) });
    const repo = target.repository('blobs');
    const bytes = Buffer.alloc(4096, 7);
    await repo.putBlob(sha256(bytes), bytes);
    const tooBig = await failure(repo.getBlob(sha256(bytes), 1000), 'RESPONSE_TOO_LARGE');
    assert.match(tooBig.message, /larger than the limit of 1000 bytes/);
    assert.deepEqual(await repo.getBlob(sha256(bytes), 4096), bytes);
    const missing = await failure(repo.getBlob(sha256(Buffer.from('nope'))), 'REGISTRY_ERROR');
    assert.equal(missing.status, 404);
    assert.match(missing.message, /answered 404 \(BLOB_UNKNOWN/);
    const before = target.stats().requests;
    await failure(repo.putBlob(sha256(Buffer.from('a')), Buffer.from('b')), 'DIGEST_MISMATCH');
    assert.equal(target.stats().requests, before, 'nothing is sent for a wrong digest');
    await failure(
      Promise.resolve().then(() => target.repository('Upper')),
      'USAGE',
    );
    await failure(repo.getManifest('bad tag'), 'USAGE');
    await failure(repo.hasBlob('sha256:short'), 'USAGE');
  });

  test('an unreachable registry is REGISTRY_UNREACHABLE naming the host', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const repo = new RegistryTarget({ host, namespace: 'acme', retries: 1, credentials: staticCredentials(undefined) }).repository('x');
    const error = await failure(repo.getManifest('latest'), 'REGISTRY_UNREACHABLE');
    assert.match(error.message, new RegExp(`cannot reach registry ${host} after 2 attempts: connection refused`));
  });
});

describe('htpasswd registry', () => {
  let registry: TestRegistry;
  let basic: string;
  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    basic = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
  });
  after(() => registry?.stop());

  test('credentials from TUFCTL_REGISTRY_USERNAME/PASSWORD; skopeo reads with --creds', async () => {
    const empty = dockerConfig({});
    try {
      const env = { TUFCTL_REGISTRY_USERNAME: registry.username, TUFCTL_REGISTRY_PASSWORD: registry.password };
      const target = new RegistryTarget({
        host: registry.host,
        namespace: 'acme',
        credentials: defaultCredentials({ env, dockerConfigDir: empty.dir }),
      });
      const repo = target.repository('tuf-metadata');
      const { manifest, digest } = await pushImage(repo, 'latest');
      assert.equal((await repo.getManifest(digest))?.digest, digest);
      assert.equal(
        await skopeoRaw(registry.host, 'acme/tuf-metadata', 'latest', `${registry.username}:${registry.password}`),
        manifest.toString(),
      );
    } finally {
      empty.cleanup();
    }
  });

  test('a wrong password is REGISTRY_AUTH naming the host, and the password appears nowhere', async () => {
    const wrong = `${registry.password}-wrong`;
    const env = { TUFCTL_REGISTRY_USERNAME: registry.username, TUFCTL_REGISTRY_PASSWORD: wrong };
    const target = new RegistryTarget({
      host: registry.host,
      namespace: 'acme',
      credentials: defaultCredentials({ env, dockerConfigDir: '/nonexistent' }),
    });
    const secrets = [wrong, registry.password, Buffer.from(`${registry.username}:${wrong}`).toString('base64'), basic];
    const error = await failure(pushImage(target.repository('tuf-metadata'), 'latest'), 'REGISTRY_AUTH', secrets);
    assert.match(
      error.message,
      new RegExp(`^authentication to ${registry.host} failed \\(401\\) for acme/tuf-metadata: .*check credentials`),
    );
    assert.ok(error.details.includes('credentials from: TUFCTL_REGISTRY_USERNAME/TUFCTL_REGISTRY_PASSWORD'), error.details.join('\n'));

    const none = new RegistryTarget({ host: registry.host, namespace: 'acme', credentials: staticCredentials(undefined) });
    const anonymous = await failure(none.repository('tuf-metadata').getManifest('latest'), 'REGISTRY_AUTH');
    assert.match(anonymous.message, /requires credentials and none were found/);

    const half = defaultCredentials({ env: { TUFCTL_REGISTRY_USERNAME: 'x' }, dockerConfigDir: '/nonexistent' });
    await failure(half.resolve(registry.host), 'CONFIG_INVALID');
  });

  test('credentials from docker config auths (auth, username/password; key forms)', async () => {
    const forms: [string, unknown][] = [
      [registry.host, { auth: basic }],
      [`http://${registry.host}`, { username: registry.username, password: registry.password }],
      [`https://${registry.host}/v1/`, { auth: basic }],
    ];
    for (const [key, entry] of forms) {
      const config = dockerConfig({ auths: { 'other.example:5000': { auth: 'eDp5' }, [key]: entry } });
      try {
        // DOCKER_CONFIG in the environment is how the directory is found.
        const target = new RegistryTarget({
          host: registry.host,
          namespace: 'acme',
          credentials: defaultCredentials({ env: { DOCKER_CONFIG: config.dir } }),
        });
        const found = await defaultCredentials({ env: { DOCKER_CONFIG: config.dir } }).resolve(registry.host);
        assert.match(found?.source ?? '', /config\.json \(auths\)$/);
        await pushImage(target.repository('from-auths'), 'latest');
      } finally {
        config.cleanup();
      }
    }
  });

  test('credentials from a credHelpers helper on PATH; a failing helper is named, its secret is not', async () => {
    const bin = tempDir('tufctl-helper-bin-');
    const secretForOthers = 'helper-secret-for-other-hosts';
    try {
      writeFileSync(
        join(bin.path, 'docker-credential-fake'),
        '#!/bin/sh\nread server\n' +
          `if [ "$server" = "${registry.host}" ]; then\n` +
          `  printf '{"ServerURL":"%s","Username":"${registry.username}","Secret":"${registry.password}"}' "$server"\n` +
          'else\n  echo "credentials not found in native keychain"; exit 1\nfi\n',
      );
      writeFileSync(
        join(bin.path, 'docker-credential-broken'),
        `#!/bin/sh\necho '{"Secret":"${secretForOthers}"'\necho 'keychain locked' >&2\nexit 3\n`,
      );
      writeFileSync(join(bin.path, 'docker-credential-garbled'), `#!/bin/sh\necho 'Secret=${secretForOthers}'\n`);
      for (const name of ['fake', 'broken', 'garbled']) chmodSync(join(bin.path, `docker-credential-${name}`), 0o755);
      const env = { PATH: `${bin.path}${delimiter}${process.env.PATH}` };

      const config = dockerConfig({ credHelpers: { [registry.host]: 'fake' }, auths: { [registry.host]: { auth: 'bm90OnVzZWQ=' } } });
      try {
        const credentials = defaultCredentials({ env: { ...env, DOCKER_CONFIG: config.dir } });
        const found = await credentials.resolve(registry.host);
        assert.equal(found?.source, 'credential helper docker-credential-fake');
        await pushImage(new RegistryTarget({ host: registry.host, namespace: 'acme', credentials }).repository('from-helper'), 'latest');
        assert.equal(await credentials.resolve('elsewhere.example'), undefined, '"credentials not found" means none');
      } finally {
        config.cleanup();
      }

      // credsStore serves hosts without a credHelpers or auths entry.
      const store = dockerConfig({ credsStore: 'fake', auths: { [registry.host]: {} } });
      try {
        const found = await defaultCredentials({ env: { ...env, DOCKER_CONFIG: store.dir } }).resolve(registry.host);
        assert.deepEqual(found, {
          username: registry.username,
          password: registry.password,
          source: 'credential helper docker-credential-fake',
        });
      } finally {
        store.cleanup();
      }

      const broken = await failure(runCredentialHelper('broken', registry.host, { env }), 'REGISTRY_AUTH', [secretForOthers]);
      assert.match(broken.message, /credential helper docker-credential-broken failed for .*: exit code 3: keychain locked/);
      const garbled = await failure(runCredentialHelper('garbled', registry.host, { env }), 'REGISTRY_AUTH', [secretForOthers]);
      assert.match(garbled.message, /docker-credential-garbled .*not JSON/);
      const absent = await failure(runCredentialHelper('absent', registry.host, { env }), 'REGISTRY_AUTH');
      assert.match(absent.message, /docker-credential-absent is not on PATH/);
    } finally {
      bin.cleanup();
    }
  });
});

describe('token-auth registry', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ auth: 'token' });
  });
  after(() => registry?.stop());

  test('pushes and reads with a bearer token, cached per scope; skopeo reads with --creds', async () => {
    const credentials = staticCredentials({ username: registry.username, password: registry.password });
    const target = new RegistryTarget({ host: registry.host, namespace: 'acme', credentials });
    const repo = target.repository('tuf-metadata');
    const { manifest, digest } = await pushImage(repo, 'latest');
    assert.ok((await repo.getManifest('latest'))?.bytes.equals(manifest));
    assert.equal((await repo.headManifest('latest'))?.digest, digest);
    // A pull token for the first HEAD, a pull,push token for the uploads, which then serves every read too.
    assert.equal(registry.tokenRequests, 2);
    await pushImage(repo, 'latest');
    await repo.getManifest(digest);
    assert.equal(registry.tokenRequests, 2, 'tokens are cached per scope');
    await target.repository('tuf-targets').getManifest('latest');
    assert.equal(registry.tokenRequests, 3, 'another repository needs its own token');
    assert.equal(
      await skopeoRaw(registry.host, 'acme/tuf-metadata', 'latest', `${registry.username}:${registry.password}`),
      manifest.toString(),
    );
  });

  test('the token service answers while the test thread is blocked (spawnSync)', () => {
    const args = ['inspect', '--tls-verify=false', '--raw', '--creds', `${registry.username}:${registry.password}`];
    const r = spawnSync('skopeo', [...args, `docker://${registry.host}/acme/tuf-metadata:latest`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"schemaVersion":2/);
  });

  test('an identity token from the docker config (OAuth2 refresh grant)', async () => {
    const config = dockerConfig({ auths: { [registry.host]: { identitytoken: registry.identityToken } } });
    try {
      const target = new RegistryTarget({
        host: registry.host,
        namespace: 'acme',
        credentials: defaultCredentials({ env: { DOCKER_CONFIG: config.dir } }),
      });
      await pushImage(target.repository('via-identity-token'), 'latest');
    } finally {
      config.cleanup();
    }
  });

  test('wrong password or anonymous is REGISTRY_AUTH; no secret in the error', async () => {
    const wrong = `${registry.password}-wrong`;
    const target = new RegistryTarget({
      host: registry.host,
      namespace: 'acme',
      credentials: staticCredentials({ username: registry.username, password: wrong }),
    });
    const error = await failure(pushImage(target.repository('tuf-metadata'), 'v2'), 'REGISTRY_AUTH', [wrong, registry.password]);
    assert.match(
      error.message,
      new RegExp(
        `^authentication to ${registry.host} failed \\(401\\) for acme/tuf-metadata: the token service .* refused the credentials`,
      ),
    );

    const anonymous = new RegistryTarget({ host: registry.host, namespace: 'acme', credentials: staticCredentials(undefined) });
    const denied = await failure(anonymous.repository('tuf-metadata').getManifest('latest'), 'REGISTRY_AUTH');
    assert.match(denied.message, /anonymous access \(scope repository:acme\/tuf-metadata:pull\) was refused and no credentials were found/);
  });
});

describe('retries through a fault-injecting proxy', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let image: Awaited<ReturnType<typeof pushImage>>;
  const target = (options: { timeoutMs?: number; retries?: number } = {}) =>
    new RegistryTarget({ host: proxy.host, namespace: 'acme', credentials: staticCredentials(undefined), ...options }).repository(
      'tuf-metadata',
    );

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
    image = await pushImage(target(), 'latest');
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test('the proxy answers while the test thread is blocked (spawnSync)', () => {
    const script = `fetch('http://${proxy.host}/v2/acme/tuf-metadata/manifests/latest', { method: 'HEAD', headers: { Accept: '${MEDIA_TYPE_OCI_MANIFEST}' } }).then((r) => { console.error(r.status); process.exit(r.status === 200 ? 0 : 1); })`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
  });

  test('500 twice, then success', async () => {
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/latest$/, fault: { kind: 'status', status: 500 }, count: 2 }]);
    proxy.clearRequests();
    assert.ok((await target().getManifest('latest'))?.bytes.equals(image.manifest));
    assert.deepEqual(
      proxy.requests.map((r) => r.fault ?? 'ok'),
      ['status', 'status', 'ok'],
    );
  });

  test('429 with Retry-After is honoured', async () => {
    proxy.setFaults([{ path: /\/manifests\/latest$/, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '1' } }, count: 1 }]);
    const started = Date.now();
    assert.equal((await target().headManifest('latest'))?.digest, image.digest);
    assert.ok(Date.now() - started >= 950, `waited only ${Date.now() - started} ms`);
  });

  test('5xx until the retries run out is REGISTRY_ERROR; 4xx is not retried', async () => {
    proxy.setFaults([{ path: /\/manifests\/latest$/, fault: { kind: 'status', status: 503 } }]);
    proxy.clearRequests();
    const unavailable = await failure(target({ retries: 2 }).getManifest('latest'), 'REGISTRY_ERROR');
    assert.equal(unavailable.status, 503);
    assert.match(unavailable.message, /answered 503 \(after 3 attempts\) \(UNKNOWN: injected 503\)/);
    assert.equal(proxy.requests.length, 3);

    const body = JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: {} }] });
    proxy.setFaults([{ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 400, body } }]);
    proxy.clearRequests();
    const invalid = await failure(target().putManifest('bad', image.manifest, MEDIA_TYPE_OCI_MANIFEST), 'REGISTRY_ERROR');
    assert.equal(proxy.requests.length, 1);
    assert.equal(
      invalid.message,
      `PUT manifest acme/tuf-metadata:bad: registry ${proxy.host} answered 400 (MANIFEST_INVALID: manifest invalid)`,
    );
    assert.deepEqual(invalid.ociErrors, [{ code: 'MANIFEST_INVALID', message: 'manifest invalid' }]);
  });

  test('a dropped connection is retried', async () => {
    proxy.setFaults([{ path: /\/blobs\//, fault: { kind: 'drop' }, count: 1 }]);
    assert.equal(await target().hasBlob(sha256(image.layer)), true);
  });

  test('a stalled request times out: REGISTRY_UNREACHABLE', async () => {
    proxy.setFaults([{ path: /\/manifests\/latest$/, fault: { kind: 'stall' } }]);
    const started = Date.now();
    const error = await failure(target({ timeoutMs: 300, retries: 1 }).getManifest('latest'), 'REGISTRY_UNREACHABLE');
    assert.match(error.message, new RegExp(`cannot reach registry ${proxy.host} after 2 attempts: no answer within 300 ms`));
    assert.ok(Date.now() - started < 5000);
  });

  test('a connection reset mid-upload restarts the upload, which then succeeds', async () => {
    const blob = Buffer.alloc(256 * 1024, 'tuf');
    proxy.setFaults([{ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'reset-mid-upload', bytes: 1024 }, count: 1 }]);
    proxy.clearRequests();
    const repo = target();
    await repo.putBlob(sha256(blob), blob);
    assert.deepEqual(
      proxy.requests.map((r) => `${r.method} ${r.fault ?? 'ok'}`),
      ['POST ok', 'PUT reset-mid-upload', 'POST ok', 'PUT ok'],
    );
    proxy.setFaults([]);
    assert.deepEqual(await repo.getBlob(sha256(blob)), blob);
  });
});

describe('redirects', () => {
  test('a blob redirected to another origin is fetched there without the Authorization header', async () => {
    const blob = Buffer.from('stored elsewhere');
    const seen: { where: string; authorization?: string }[] = [];
    const storage = createServer((req, res) => {
      seen.push({ where: 'storage', authorization: req.headers.authorization });
      res.end(blob);
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`;
    const registry = createServer((req, res) => {
      seen.push({ where: 'registry', authorization: req.headers.authorization });
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
      } else {
        res.writeHead(307, { Location: `http://${storageHost}/blob?sig=1` }).end();
      }
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
      const repo = new RegistryTarget({
        host,
        namespace: 'acme',
        credentials: staticCredentials({ username: 'u', password: 'p' }),
      }).repository('r');
      assert.deepEqual(await repo.getBlob(sha256(blob)), blob);
      assert.deepEqual(
        seen.map((s) => `${s.where} ${s.authorization ? 'auth' : 'none'}`),
        ['registry none', 'registry auth', 'storage none'],
      );
    } finally {
      storage.close();
      registry.close();
    }
  });
});

describe('locations, schemes and parsing (no network)', () => {
  test('parseOciUrl', () => {
    assert.deepEqual(parseOciUrl('oci://127.0.0.1:5000/acme'), { host: '127.0.0.1:5000', namespace: 'acme' });
    assert.deepEqual(parseOciUrl('oci://Registry.Example.com/acme/tuf/'), { host: 'registry.example.com', namespace: 'acme/tuf' });
    assert.deepEqual(parseOciUrl('oci://[::1]:5000/ns'), { host: '[::1]:5000', namespace: 'ns' });
    assert.throws(() => parseOciUrl('https://example.com/acme'), /expected oci:\/\/HOST/);
    assert.throws(() => parseOciUrl('oci://example.com:99999/acme'), /invalid registry host/);
    assert.throws(() => parseOciUrl('oci://example.com/Acme'), /invalid OCI namespace/);
    assert.throws(
      () => parseOciUrl('oci://user:hunter2@example.com/acme'),
      (error: Error) => !error.message.includes('hunter2') && /credentials must not be part/.test(error.message),
    );
  });

  test('https unless the host is loopback or plainHttp is set', () => {
    assert.equal(new RegistryTarget({ host: 'registry.example.com', namespace: 'acme' }).origin, 'https://registry.example.com');
    assert.equal(
      new RegistryTarget({ host: 'registry.example.com:5000', namespace: 'acme', plainHttp: true }).origin,
      'http://registry.example.com:5000',
    );
    assert.equal(registryOrigin('127.0.0.1:5000'), 'http://127.0.0.1:5000');
    assert.equal(registryOrigin('127.1.2.3'), 'http://127.1.2.3');
    assert.equal(registryOrigin('localhost:5000'), 'http://localhost:5000');
    assert.equal(registryOrigin('[::1]:5000'), 'http://[::1]:5000');
    assert.equal(registryOrigin('localhost:5000', false), 'https://localhost:5000');
    assert.equal(registryOrigin('127.0.0.1.example.com'), 'https://127.0.0.1.example.com');
    assert.equal(registryOrigin('docker.io'), 'https://registry-1.docker.io');
    assert.equal(RegistryTarget.fromUrl('oci://ghcr.io/acme').location, 'oci://ghcr.io/acme');
  });

  test('WWW-Authenticate, Retry-After and docker config keys', () => {
    assert.deepEqual(
      parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'),
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
      },
    );
    assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
    assert.equal(parseChallenge(null), undefined);
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter('soon'), undefined);
    for (const key of ['reg.example:5000', 'https://reg.example:5000', 'http://reg.example:5000', 'https://reg.example:5000/v1/']) {
      assert.equal(dockerConfigKeyHost(key), 'reg.example:5000');
    }
    assert.equal(dockerConfigKeyHost('https://index.docker.io/v1/'), 'docker.io');
  });

  test('the libtrust key id format Distribution expects (the token registry above proves it is accepted)', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.match(libtrustKeyId(publicKey.export({ type: 'spki', format: 'pem' }).toString()), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  });
});

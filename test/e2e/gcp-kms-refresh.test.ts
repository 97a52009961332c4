/**
 * The online key in Google Cloud KMS end to end: a repository whose root
 * trusts a P-256 key of a loopback Cloud KMS for snapshot and timestamp
 * (`x-tuf-on-ci-online-uri: gcpkms:projects/…/cryptoKeyVersions/1`, as
 * tuf-on-ci writes it); `tufctl refresh` signs both through the official
 * client with credentials from an external_account file (GitHub OIDC token →
 * STS → service account impersonation, as google-github-actions/auth sets
 * up), `tufctl verify` and its tuf-js pass accept the result, and tuf-js's
 * Updater downloads a target over HTTP from the export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, okAsync, readJson, serveDirectory, tempDir } from '../helpers/harness.js';
import { startGcpKms } from '../helpers/gcp-kms-server.js';
import { clientDownloads } from '../helpers/tuf-client.js';
import { repositoryWithRemoteOnlineKey } from '../helpers/online-key-repository.js';

test('the online key in GCP KMS: refresh signs snapshot and timestamp through the client against a loopback Cloud KMS; verify and tuf-js accept them', async () => {
  const kms = await startGcpKms();
  const dir = tempDir();
  const server = { close: async () => {} } as Awaited<ReturnType<typeof serveDirectory>>;
  try {
    const key = kms.createKey('EC_SIGN_P256_SHA256', { ring: 'tuf', key: 'online' });
    const uri = `gcpkms:${key.name}`;
    const { repo, keys } = repositoryWithRemoteOnlineKey(dir.path, key.publicKey, uri);
    const root = readJson(join(repo, 'metadata', 'root.json'));
    const onlineId = root.signed.roles.timestamp.keyids[0];
    assert.equal(root.signed.keys[onlineId]['x-tuf-on-ci-online-uri'], uri);
    assert.deepEqual(root.signed.roles.snapshot.keyids, [onlineId]);

    mkdirSync(join(repo, 'targets', 'app'), { recursive: true });
    writeFileSync(join(repo, 'targets', 'app', 'config.json'), '{"signed-by":"gcp-kms"}\n');
    ok(['target', 'add', 'targets/app/config.json', '--sign', '--key', join(keys, 'targets.pem'), '--commit'], { cwd: repo });

    const env = {
      GOOGLE_APPLICATION_CREDENTIALS: kms.credentialsFile(join(dir.path, 'gha-creds.json')),
      TUFCTL_GCP_KMS_ENDPOINT: kms.endpoint,
      METADATA_SERVER_DETECTION: 'none',
    };
    const run = await okAsync(['refresh', '--commit', '--json'], { cwd: repo, env });
    assert.deepEqual(
      run.json.signed.map((r: { role: string }) => r.role),
      ['snapshot', 'timestamp'],
    );
    const signs = kms.requests.filter((r) => r.operation === 'asymmetricSign' && r.status === 200);
    assert.ok(signs.length >= 2, 'snapshot and timestamp signed by Cloud KMS');
    for (const r of signs) {
      assert.equal(r.path, `/v1/${key.name}:asymmetricSign`);
      assert.match(r.authorization ?? '', /^Bearer ya29\.test-/, 'with the impersonated service account token');
      assert.deepEqual(Object.keys(r.body.digest), ['sha256']);
    }
    assert.deepEqual(
      kms.requests.slice(0, 3).map((r) => r.operation),
      ['oidc', 'sts', 'generateAccessToken'],
      'credentials from the GitHub OIDC token through STS and impersonation',
    );
    for (const role of ['snapshot', 'timestamp']) {
      const signed = readJson(join(repo, 'metadata', `${role}.json`));
      assert.deepEqual(
        signed.signatures.map((s: { keyid: string }) => s.keyid),
        [onlineId],
        `${role} is signed by the KMS key under root's id`,
      );
      assert.equal(signed.signatures[0].sig.slice(0, 2), '30', 'DER-encoded ECDSA');
    }

    const verified = await okAsync(['verify', '--json'], { cwd: repo });
    assert.equal(verified.json.ok, true);
    assert.equal(verified.json.client.ok, true, 'tuf-js accepts the Cloud KMS signatures too');

    const out = join(dir.path, 'export');
    ok(['export', out], { cwd: repo });
    Object.assign(server, await serveDirectory(out));
    await clientDownloads(
      server.url,
      join(dir.path, 'cache'),
      ['app/config.json'],
      join(repo, 'metadata', 'root_history', '1.root.json'),
      repo,
    );

    // Nothing due: a second run signs nothing and asks KMS for nothing new.
    const before = kms.requests.filter((r) => r.operation === 'asymmetricSign').length;
    const idle = await okAsync(['refresh', '--json'], { cwd: repo, env });
    assert.deepEqual(idle.json.signed, []);
    assert.equal(kms.requests.filter((r) => r.operation === 'asymmetricSign').length, before);
  } finally {
    await server.close();
    await kms.close();
    dir.cleanup();
  }
});

/**
 * The online key in Azure Key Vault end to end: a repository whose root
 * trusts a P-256 key of a loopback Key Vault for snapshot and timestamp
 * (`x-tuf-on-ci-online-uri: azurekms://VAULT.vault.azure.net/keys/NAME/VERSION`,
 * as tuf-on-ci writes it); `tufctl refresh` signs both through Microsoft's
 * clients (challenge-based authentication, a token from the Azure CLI login
 * azure/login leaves on a runner — a stand-in `az` here), `tufctl verify` and
 * its tuf-js pass accept the result, and tuf-js's Updater downloads a target
 * over HTTP from the export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, okAsync, readJson, serveDirectory, tempDir } from '../helpers/harness.js';
import { startAzureKeyVault } from '../helpers/azure-kv-server.js';
import { clientDownloads } from '../helpers/tuf-client.js';
import { repositoryWithRemoteOnlineKey } from '../helpers/online-key-repository.js';

test('the online key in Azure Key Vault: refresh signs snapshot and timestamp through the clients against a loopback vault; verify and tuf-js accept them', async () => {
  const vault = await startAzureKeyVault();
  const dir = tempDir();
  const server = { close: async () => {} } as Awaited<ReturnType<typeof serveDirectory>>;
  try {
    const key = vault.createKey('P-256', { name: 'tuf-online' });
    const uri = vault.uriOf(key);
    const { repo, keys } = repositoryWithRemoteOnlineKey(dir.path, key.publicKey, uri);
    const root = readJson(join(repo, 'metadata', 'root.json'));
    const onlineId = root.signed.roles.timestamp.keyids[0];
    assert.equal(root.signed.keys[onlineId]['x-tuf-on-ci-online-uri'], uri);
    assert.deepEqual(root.signed.roles.snapshot.keyids, [onlineId]);

    mkdirSync(join(repo, 'targets', 'app'), { recursive: true });
    writeFileSync(join(repo, 'targets', 'app', 'config.json'), '{"signed-by":"azure-key-vault"}\n');
    ok(['target', 'add', 'targets/app/config.json', '--sign', '--key', join(keys, 'targets.pem'), '--commit'], { cwd: repo });

    const azBin = vault.azCli(join(dir.path, 'az-bin'));
    const env = {
      PATH: `${azBin}:${process.env.PATH}`,
      AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential',
      TUFCTL_AZURE_KEYVAULT_ENDPOINT: vault.endpoint,
    };
    const run = await okAsync(['refresh', '--commit', '--json'], { cwd: repo, env });
    assert.deepEqual(
      run.json.signed.map((r: { role: string }) => r.role),
      ['snapshot', 'timestamp'],
    );
    const signs = vault.requests.filter((r) => r.operation === 'sign' && r.status === 200);
    assert.ok(signs.length >= 2, 'snapshot and timestamp signed by Key Vault');
    for (const r of signs) {
      assert.equal(r.path, `/keys/${key.name}/${key.version}/sign`);
      assert.equal(r.body.alg, 'ES256');
      assert.match(r.authorization ?? '', /^Bearer azcli-/, "with the Azure CLI's token");
    }
    assert.ok(vault.azCalls(azBin).every((call) => call.includes('--resource https://vault.azure.net')));
    for (const role of ['snapshot', 'timestamp']) {
      const signed = readJson(join(repo, 'metadata', `${role}.json`));
      assert.deepEqual(
        signed.signatures.map((s: { keyid: string }) => s.keyid),
        [onlineId],
        `${role} is signed by the Key Vault key under root's id`,
      );
      assert.equal(signed.signatures[0].sig.slice(0, 2), '30', 'DER-encoded ECDSA (Key Vault answers r‖s)');
    }

    const verified = await okAsync(['verify', '--json'], { cwd: repo });
    assert.equal(verified.json.ok, true);
    assert.equal(verified.json.client.ok, true, 'tuf-js accepts the Key Vault signatures too');

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
    const before = vault.requests.filter((r) => r.operation === 'sign').length;
    const idle = await okAsync(['refresh', '--json'], { cwd: repo, env });
    assert.deepEqual(idle.json.signed, []);
    assert.equal(vault.requests.filter((r) => r.operation === 'sign').length, before);
  } finally {
    await server.close();
    await vault.close();
    dir.cleanup();
  }
});

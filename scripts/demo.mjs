#!/usr/bin/env node
// The README's main job on an embedded default: create a TUF repository with
// fresh keys and the default trust policy set in a temporary directory, add a
// target, delegate the policy directory, apply a policy edit, revoke an
// attestation, sign, refresh snapshot/timestamp, verify, export, serve the
// export on 127.0.0.1 and have a real TUF client (tuf-js) download and check
// every target. Nothing outside the temporary directory is touched.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Updater } from 'tuf-js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tufctl.js');
const work = mkdtempSync(join(tmpdir(), 'tufctl-demo-'));
const repo = join(work, 'repo');
const keys = join(work, 'keys');
const keep = process.argv.includes('--keep');

function step(title, args, cwd = repo) {
  process.stdout.write(`\n$ tufctl ${args.join(' ')}\n`);
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'tufctl demo',
    GIT_AUTHOR_EMAIL: 'demo@tufctl.invalid',
    GIT_COMMITTER_NAME: 'tufctl demo',
    GIT_COMMITTER_EMAIL: 'demo@tufctl.invalid',
  };
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, env, encoding: 'utf8' });
  process.stdout.write(result.stdout.replace(/^/gm, '  '));
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    throw new Error(`${title} failed (exit ${result.status})`);
  }
}

function write(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

async function serve(dir) {
  const server = createServer((req, res) => {
    const file = normalize(join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

try {
  console.log(`tufctl demo in ${work}`);
  step('init (installs the default trust policy set as targets)', ['init', repo, '--generate-keys', keys, '--owner', '@demo'], work);
  step('validate the trust data', ['policy', 'validate']);
  write(join(repo, 'targets', 'app', 'config.json'), '{"channel": "stable"}\n');
  step('add a top-level target', ['target', 'add', 'targets/app/config.json']);
  step('generate a key for the delegated role', ['key', 'generate', '--out', join(keys, 'doi.pem')]);
  step('delegate doi/*', ['delegate', 'add', 'doi', '--paths', 'doi/*', 'doi/*/*', '--key', join(keys, 'doi.pub.pem'), '--terminating']);
  const rego = join(repo, 'targets', 'doi', 'policy.rego');
  write(rego, `${readFileSync(rego, 'utf8')}\n# Reviewed for the demo.\n`);
  step('apply a policy edit (moves it to the doi role)', ['policy', 'apply']);
  const digest = `sha256:${'5e'.repeat(32)}`;
  step('revoke one attestation', ['revoke', 'signature', digest, '--reason', 'demo: signed by a compromised workflow']);
  step('sign', ['sign', '--key', join(keys, 'targets.pem'), '--key', join(keys, 'doi.pem')]);
  step('snapshot', ['snapshot', '--key', join(keys, 'online.pem')]);
  step('timestamp', ['timestamp', '--key', join(keys, 'online.pem'), '--commit']);
  step('status', ['status']);
  step('verify', ['verify']);
  const out = join(work, 'export');
  step('export', ['export', out]);

  const server = await serve(out);
  try {
    const cache = join(work, 'client');
    mkdirSync(join(cache, 'metadata'), { recursive: true });
    mkdirSync(join(cache, 'targets'), { recursive: true });
    writeFileSync(join(cache, 'metadata', 'root.json'), readFileSync(join(out, 'metadata', '1.root.json')));
    console.log(`\n$ tuf-js client against ${server.url} (trusting only 1.root.json)`);
    const updater = new Updater({
      metadataDir: join(cache, 'metadata'),
      targetDir: join(cache, 'targets'),
      metadataBaseUrl: `${server.url}/metadata`,
      targetBaseUrl: `${server.url}/targets`,
    });
    await updater.refresh();
    for (const path of ['mapping.yaml', 'app/config.json', 'doi/policy.rego', 'doi/data.yaml', 'revocations.json']) {
      const info = await updater.getTargetInfo(path);
      if (!info) throw new Error(`client cannot find ${path}`);
      const file = await updater.downloadTarget(info, join(cache, 'targets', path.replaceAll('/', '_')));
      console.log(`  downloaded and verified ${path} (${info.length} bytes) -> ${file}`);
    }
  } finally {
    await server.close();
  }
  console.log('\ndemo complete: the repository verifies and a TUF client accepted it.');
} catch (error) {
  console.error(`\ndemo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

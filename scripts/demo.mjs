#!/usr/bin/env node
// The README's main job on an embedded default, in a temporary directory: create a TUF
// repository with fresh keys and the default trust policy set, add a target, delegate the
// policy directory, apply a policy edit, revoke an attestation, sign, refresh
// snapshot/timestamp, verify, export and have a real TUF client (tuf-js) download every
// target over HTTP; then publish to the default OCI layout directory, ratchet the timestamp
// above what the layout serves with `refresh --force` and the online key, fetch a target
// from the layout trusting only 1.root.json, write the status page, and show the impact
// of a small mapping change. Nothing outside the temporary directory is touched.
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

const gitIdentity = {
  GIT_AUTHOR_NAME: 'tufctl demo',
  GIT_AUTHOR_EMAIL: 'demo@tufctl.invalid',
  GIT_COMMITTER_NAME: 'tufctl demo',
  GIT_COMMITTER_EMAIL: 'demo@tufctl.invalid',
};

/** Runs tufctl as a user would, prints the command and its output; `shown` replaces the printed command line. */
function step(title, args, { cwd = repo, env = {}, shown, quiet = false } = {}) {
  process.stdout.write(`\n$ ${shown ?? `tufctl ${args.join(' ')}`}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, env: { ...process.env, ...gitIdentity, ...env }, encoding: 'utf8' });
  const out = result.stdout.replace(/\n$/, '');
  if (!quiet && out !== '') process.stdout.write(`${out.replace(/^/gm, '  ')}\n`);
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    throw new Error(`${title} failed (exit ${result.status})`);
  }
  return result.stdout;
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
  step('init (installs the default trust policy set as targets)', ['init', repo, '--generate-keys', keys, '--owner', '@demo'], {
    cwd: work,
  });
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

  // The main job: publish, the scheduled refresh, a client reading what was published.
  const layout = 'oci-layout:oci-layout';
  step('publish to the default destination (publishTo in tufctl.json)', ['publish']);
  const refreshed = JSON.parse(
    step('refresh the timestamp above what the layout serves', ['refresh', '--force', '--publish', layout, '--commit', '--json'], {
      env: { TUFCTL_ONLINE_KEY: readFileSync(join(keys, 'online.pem'), 'utf8') },
      shown: `TUFCTL_ONLINE_KEY="$(cat ${join(keys, 'online.pem')})" tufctl refresh --force --publish ${layout} --commit`,
      quiet: true,
    }),
  );
  const timestamp = refreshed.signed.find((s) => s.role === 'timestamp');
  if (!timestamp || refreshed.published?.versions.timestamp !== timestamp.version)
    throw new Error('refresh did not publish a new timestamp');
  console.log(
    `  timestamp v${refreshed.registry.timestamp} → v${timestamp.version} (${timestamp.reasons.join(', ')}), signed with the online key`,
  );
  console.log(
    `  published to ${refreshed.published.location}: timestamp v${refreshed.published.versions.timestamp}, snapshot v${refreshed.published.versions.snapshot}`,
  );
  console.log(`  committed ${refreshed.commit.slice(0, 12)}`);
  const fetched = join(work, 'fetched-mapping.yaml');
  step('a client fetches a target from the layout, trusting only 1.root.json', [
    'client',
    'fetch',
    'mapping.yaml',
    '--from',
    layout,
    '--root',
    'metadata/root_history/1.root.json',
    '--cache',
    join(work, 'layout-client'),
    '--out',
    fetched,
  ]);
  const seen = JSON.parse(readFileSync(join(work, 'layout-client', 'metadata', 'timestamp.json'), 'utf8')).signed.version;
  if (seen !== timestamp.version) throw new Error(`the client saw timestamp v${seen}, not v${timestamp.version}`);
  console.log(`  the client's cache now holds timestamp v${seen}, reached from root v1 alone`);
  const page = join(work, 'status.html');
  step('status page', ['status', '--html', page]);
  console.log(`  status page: ${page}${keep ? '' : ' (removed at the end; run with --keep to open it)'}`);

  // What a small mapping change does to images: a new rule sends mirror.example.com/library/* to the
  // official-images rule, so an image pulled through the mirror gains a policy.
  const mapping = join(repo, 'targets', 'mapping.yaml');
  const rule = "  - pattern: '^library/(.*)$'\n    rewrite: 'docker.io/library/$1'\n";
  const mirrorRule = "  - pattern: '^mirror[.]example[.]com/library/(.*)$'\n    rewrite: 'docker.io/library/$1'\n";
  if (!readFileSync(mapping, 'utf8').includes(rule)) throw new Error('the default mapping has changed; update the demo');
  write(
    mapping,
    readFileSync(mapping, 'utf8').replace(rule, () => rule + mirrorRule),
  );
  console.log(`\n# edit targets/mapping.yaml: add a rule sending mirror.example.com/library/* to docker.io/library/*`);
  const samples = join(work, 'more-images.txt');
  write(samples, 'mirror.example.com/library/alpine\ndocker.io/acme/app linux/amd64\n');
  step('impact of the mapping change', ['policy', 'impact', '--images', samples]);

  console.log('\ndemo complete: the repository verifies, tuf-js accepted its export, and a client fetched from the published layout.');
} catch (error) {
  console.error(`\ndemo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/**
 * Broken repositories: for each way a repository can be wrong (unmet
 * threshold, tampered target file, expired role, rolled-back version, a
 * signature by an untrusted key) `tufctl verify` exits 1 naming the problem,
 * `tufctl export` refuses with VERIFICATION_FAILED, and a real tuf-js client
 * refuses the same state. Since export refuses a broken repository, the good
 * repository is exported first and the same corruption is applied to the
 * exported files the client reads over HTTP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { git, newRepository, ok, readJson, serveDirectory, tufctl, type Fixture } from '../helpers/harness.js';
import { canonical, type Json } from '../helpers/tuf-on-ci-fixture.js';

const TARGET = 'app/config.json';
const TARGET_CONTENT = '{"registry":"registry.example","policy":"strict"}\n';

let fx: Fixture;
/** The good repository's export. */
let goodExport: string;
let trustedRoot: Buffer;
let targetsVersion: number;
let caseCount = 0;

/** A signature (hex) over the canonical `signed` with the private key in `pemFile`. */
function signWith(pemFile: string, signed: Json): string {
  const key = createPrivateKey(readFileSync(pemFile));
  const hash = key.asymmetricKeyType === 'ec' ? 'sha256' : null;
  return cryptoSign(hash, canonical(signed), key).toString('hex');
}

function writeJson(path: string, value: Json): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** A fresh copy of the good repository and of its export, for one corruption. */
function copies(): { repo: string; out: string; dir: string } {
  const dir = join(fx.root, `case-${++caseCount}`);
  mkdirSync(dir);
  const repo = join(dir, 'repo');
  const out = join(dir, 'export');
  cpSync(fx.repo, repo, { recursive: true });
  cpSync(goodExport, out, { recursive: true });
  return { repo, out, dir };
}

/** Copies files of the corrupted repository over the export (repo-relative path -> export-relative path). */
function applyToExport(repo: string, out: string, files: Record<string, string>): void {
  for (const [from, to] of Object.entries(files)) writeFileSync(join(out, to), readFileSync(join(repo, from)));
}

/** `tufctl verify` exits 1 naming the problem; `tufctl export` refuses. */
function assertRejectedByTufctl(repo: string, dir: string, phrase: RegExp, extra: string[] = []): void {
  const verify = tufctl(['verify', ...extra], { cwd: repo });
  assert.equal(verify.code, 1, `verify exits 1\n${verify.stdout}${verify.stderr}`);
  assert.match(verify.stderr, /error \[VERIFICATION_FAILED\]: repository does not verify/);
  assert.match(verify.stderr, phrase);
  const json = tufctl(['verify', '--json', ...extra], { cwd: repo });
  assert.equal(json.code, 1);
  assert.equal(json.json.ok, false);
  assert.ok(
    json.json.problems.some((p: Json) => phrase.test(p.message)),
    `--json lists the problem: ${JSON.stringify(json.json.problems)}`,
  );
  const exported = tufctl(['export', join(dir, 'export-refused'), ...extra], { cwd: repo });
  assert.equal(exported.code, 1, 'export exits 1');
  assert.match(exported.stderr, /error \[VERIFICATION_FAILED\]: refusing to export/);
  assert.match(exported.stderr, phrase);
}

/** A fresh tuf-js client (trusting root v1) over `out` served on 127.0.0.1. */
async function withClient<T>(out: string, dir: string, run: (updater: Updater) => Promise<T>): Promise<T> {
  const server = await serveDirectory(out);
  try {
    const metadataDir = join(dir, 'client', 'metadata');
    const targetDir = join(dir, 'client', 'targets');
    mkdirSync(metadataDir, { recursive: true });
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(join(metadataDir, 'root.json'), trustedRoot);
    const updater = new Updater({
      metadataDir,
      targetDir,
      metadataBaseUrl: `${server.url}/metadata`,
      targetBaseUrl: `${server.url}/targets`,
    });
    return await run(updater);
  } finally {
    await server.close();
  }
}

/** The client refuses: refresh, target lookup or download rejects with `reason`. */
async function assertClientRefuses(out: string, dir: string, reason: RegExp): Promise<void> {
  await withClient(out, dir, async (updater) => {
    await assert.rejects(
      (async () => {
        await updater.refresh();
        const info = await updater.getTargetInfo(TARGET);
        if (!info) throw new Error(`${TARGET} not found`);
        await updater.downloadTarget(info, join(dir, 'client', 'targets', 'download'));
      })(),
      reason,
    );
  });
}

before(() => {
  fx = newRepository();
  const cwd = fx.repo;
  mkdirSync(join(cwd, 'targets', 'app'), { recursive: true });
  writeFileSync(join(cwd, 'targets', TARGET), TARGET_CONTENT);
  ok(['target', 'add', `targets/${TARGET}`], { cwd });
  ok(['sign', '--key', fx.key('targets')], { cwd });
  ok(['snapshot', '--key', fx.key('online')], { cwd });
  ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
  assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
  goodExport = join(fx.root, 'good-export');
  ok(['export', goodExport], { cwd });
  trustedRoot = readFileSync(join(cwd, 'metadata', 'root_history', '1.root.json'));
  targetsVersion = readJson(join(cwd, 'metadata', 'targets.json')).signed.version;
  assert.ok(targetsVersion >= 2);
});

after(() => fx?.cleanup());

test('baseline: the good repository verifies and the client downloads the target from its export', async () => {
  ok(['verify'], { cwd: fx.repo });
  const { out, dir } = copies();
  await withClient(out, dir, async (updater) => {
    await updater.refresh();
    const info = await updater.getTargetInfo(TARGET);
    assert.ok(info);
    const file = join(dir, 'client', 'targets', 'download');
    await updater.downloadTarget(info, file);
    assert.equal(readFileSync(file, 'utf8'), TARGET_CONTENT);
  });
});

test('unmet threshold: targets with its signature removed', async () => {
  const { repo, out, dir } = copies();
  const path = join(repo, 'metadata', 'targets.json');
  const targets = readJson(path);
  targets.signatures = [];
  writeJson(path, targets);
  assertRejectedByTufctl(repo, dir, new RegExp(`targets v${targetsVersion} is signed by 0/1 trusted keys`));
  applyToExport(repo, out, { 'metadata/targets.json': `metadata/${targetsVersion}.targets.json` });
  await assertClientRefuses(out, dir, /targets was signed by 0\/1 keys/);
});

test('tampered target file: bytes changed after signing', async () => {
  const { repo, out, dir } = copies();
  const tampered = TARGET_CONTENT.replace('strict', 'sloppy');
  assert.equal(Buffer.byteLength(tampered), Buffer.byteLength(TARGET_CONTENT), 'same length: only the hash can tell');
  writeFileSync(join(repo, 'targets', TARGET), tampered);
  assertRejectedByTufctl(repo, dir, /targets\/app\/config\.json: sha256 differs from the hash signed in targets/);
  const sha256 = createHash('sha256').update(TARGET_CONTENT).digest('hex');
  applyToExport(repo, out, { [`targets/${TARGET}`]: `targets/app/${sha256}.config.json` });
  await withClient(out, dir, async (updater) => {
    await updater.refresh();
    const info = await updater.getTargetInfo(TARGET);
    assert.ok(info, 'the metadata is intact');
    await assert.rejects(
      updater.downloadTarget(info, join(dir, 'client', 'targets', 'download')),
      new RegExp(`Expected hash ${sha256} but got`),
    );
  });
  // A different length is named as such.
  writeFileSync(join(repo, 'targets', TARGET), TARGET_CONTENT + 'x');
  const verify = tufctl(['verify'], { cwd: repo });
  assert.equal(verify.code, 1);
  assert.match(verify.stderr, /targets\/app\/config\.json: length \d+ differs from the \d+ signed in targets/);
});

test('expired roles: verify --now in the future, and a timestamp that expired in real time', async () => {
  // Every role is expired by 2031.
  const future = copies();
  assertRejectedByTufctl(future.repo, future.dir, /timestamp v\d+ expires at \d{4}-\d{2}-\d{2}T/, ['--now', '2031-01-01T00:00:00Z']);
  const verify = tufctl(['verify', '--json', '--now', '2031-01-01T00:00:00Z'], { cwd: future.repo });
  const expired = verify.json.problems.filter((p: Json) => p.code === 'EXPIRED').map((p: Json) => p.role);
  assert.deepEqual(expired.sort(), ['root', 'snapshot', 'targets', 'timestamp']);

  // A timestamp signed three days ago with its 2-day period expired yesterday.
  const { repo, out, dir } = copies();
  const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  ok(['timestamp', '--force', '--now', threeDaysAgo, '--key', fx.key('online')], { cwd: repo });
  const timestamp = readJson(join(repo, 'metadata', 'timestamp.json')).signed;
  assert.ok(new Date(timestamp.expires).getTime() < Date.now(), `timestamp expires in the past (${timestamp.expires})`);
  assertRejectedByTufctl(repo, dir, new RegExp(`timestamp v${timestamp.version} expires at ${timestamp.expires}`));
  applyToExport(repo, out, { 'metadata/timestamp.json': 'metadata/timestamp.json' });
  await assertClientRefuses(out, dir, /Final timestamp\.json is expired/);
});

test('rolled-back version: targets set below the version snapshot lists, validly re-signed', async () => {
  const { repo, out, dir } = copies();
  const path = join(repo, 'metadata', 'targets.json');
  const targets = readJson(path);
  targets.signed.version = targetsVersion - 1;
  const keyid = targets.signatures[0].keyid;
  targets.signatures = [{ keyid, sig: signWith(fx.key('targets'), targets.signed) }];
  writeJson(path, targets);
  assertRejectedByTufctl(
    repo,
    dir,
    new RegExp(`snapshot lists targets v${targetsVersion} but metadata/targets\\.json is v${targetsVersion - 1}`),
  );
  // The signature itself is fine: the problem named is the rollback, not the threshold.
  const problems = tufctl(['verify', '--json'], { cwd: repo }).json.problems;
  assert.deepEqual(
    problems.map((p: Json) => p.code),
    ['SNAPSHOT_MISMATCH'],
  );
  // snapshot refuses to list the lower version.
  const snapshot = tufctl(['snapshot', '--key', fx.key('online')], { cwd: repo });
  assert.equal(snapshot.code, 1);
  assert.match(snapshot.stderr, /VERSION_ROLLBACK/);
  applyToExport(repo, out, { 'metadata/targets.json': `metadata/${targetsVersion}.targets.json` });
  await assertClientRefuses(
    out,
    dir,
    new RegExp(`Version ${targetsVersion - 1} of targets does not match snapshot version ${targetsVersion}`),
  );
});

test('wrong key: targets signed by a key it does not trust', async () => {
  const { repo, out, dir } = copies();
  const rogue = join(dir, 'rogue.pem');
  const generated = ok(['key', 'generate', '--out', rogue, '--json']).json;
  // tufctl itself refuses to sign with it.
  const refused = tufctl(['sign', 'targets', '--key', rogue], { cwd: repo });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /KEY_NOT_TRUSTED/);
  // Written by hand: the rogue signature under its own key id and under the trusted key's id.
  const path = join(repo, 'metadata', 'targets.json');
  const targets = readJson(path);
  const trustedId = targets.signatures[0].keyid;
  const sig = signWith(rogue, targets.signed);
  targets.signatures = [
    { keyid: trustedId, sig },
    { keyid: generated.keyId, sig },
  ];
  writeJson(path, targets);
  assertRejectedByTufctl(repo, dir, new RegExp(`targets v${targetsVersion} is signed by 0/1 trusted keys`));
  applyToExport(repo, out, { 'metadata/targets.json': `metadata/${targetsVersion}.targets.json` });
  await assertClientRefuses(out, dir, /targets was signed by 0\/1 keys/);
});

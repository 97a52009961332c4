/**
 * `tufctl lint`: client-compatibility findings on real repositories built
 * with the CLI — a fresh repository has none; a P-384 key, a snapshot past
 * 2,000,000 bytes without its length in timestamp meta (16,384 bins with
 * hashes in snapshot meta), a dotted delegated role name and a 70-character
 * top-level target name each have theirs, naming the client and the limit;
 * --clients selects (an unknown name is USAGE), --strict fails with
 * CLIENT_INCOMPATIBLE, --json has a stable shape; validate shows the same
 * findings as warnings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, tempDir, tufctl, type Fixture } from '../helpers/harness.js';

interface Finding {
  rule: string;
  client: string;
  library: string;
  versions: string;
  subject: string;
  effect: string;
  message: string;
  limit: string;
  source: string;
}

const fixtures: Fixture[] = [];
after(() => {
  for (const fx of fixtures) fx.cleanup();
});

function repository(extra: string[] = []): Fixture {
  const fx = newRepository(['--no-policies', ...extra]);
  fixtures.push(fx);
  return fx;
}

function lint(fx: Fixture, ...args: string[]): { findings: Finding[]; json: Record<string, unknown> } {
  const r = ok(['lint', '--json', ...args], { cwd: fx.repo });
  return { findings: r.json.findings as Finding[], json: r.json as Record<string, unknown> };
}

const SHA = 'ab'.repeat(32);

let plain: Fixture;
let p384: Fixture;

before(() => {
  plain = repository();
  p384 = repository();
  const cwd = p384.repo;
  ok(['key', 'generate', '--type', 'ecdsa-p384', '--out', join(p384.keys, 'p384.pem')]);
  ok(['key', 'add', 'targets', join(p384.keys, 'p384.pub.pem')], { cwd });
});

test('a fresh repository has no findings for any client', () => {
  const { findings, json } = lint(plain);
  assert.deepEqual(findings, []);
  assert.deepEqual(json.clients, ['go-tuf', 'python-tuf', 'tuf-js', 'tough', 'sigstore']);
  const text = ok(['lint'], { cwd: plain.repo });
  assert.match(text.stdout, /no client-compatibility findings/);
  assert.equal(ok(['lint', '--strict'], { cwd: plain.repo }).code, 0);
});

test('--json shape: ok, clients, trusted root, refresh schedule and findings with client, limit and source', () => {
  const { json, findings } = lint(p384);
  assert.equal(json.ok, true);
  assert.equal(json.trustedRootVersion, 1);
  assert.deepEqual(json.refresh, { hours: 6, from: ".github/workflows/refresh.yml (cron '17 */6 * * *')" });
  assert.ok(findings.length > 0);
  for (const f of findings) {
    assert.deepEqual(Object.keys(f).sort(), ['client', 'effect', 'library', 'limit', 'message', 'rule', 'source', 'subject', 'versions']);
    assert.ok(['refuses', 'mishandles'].includes(f.effect));
  }
});

test('a P-384 key: tuf-js before 6.0.2 ignores its signatures, tough cannot read root, sigstore-js with such tuf-js too', () => {
  const { findings } = lint(p384);
  const tufJs = findings.find((f) => f.client === 'tuf-js' && f.rule === 'key-support');
  assert.ok(tufJs, JSON.stringify(findings, null, 2));
  assert.equal(tufJs.versions, 'tuf-js before 6.0.2');
  assert.equal(tufJs.effect, 'mishandles');
  assert.match(tufJs.subject, /ecdsa\/ecdsa-sha2-nistp384/);
  assert.match(tufJs.message, /SHA-256.*P-384/);
  assert.match(tufJs.limit, /no P-384/);
  assert.match(tufJs.source, /theupdateframework\/tuf-js packages\/models\/src\/utils\/verify\.ts/);
  const tough = findings.find((f) => f.client === 'tough' && f.rule === 'key-support');
  assert.ok(tough);
  assert.equal(tough.effect, 'refuses');
  assert.match(tough.message, /ecdsa-sha2-nistp384.*cannot read root\.json/);
  assert.match(tough.source, /awslabs\/tough tough\/src\/schema\/key\.rs/);
  const sigstore = findings.find((f) => f.client === 'sigstore');
  assert.ok(sigstore);
  assert.match(sigstore.library, /^sigstore-js \(tuf-js before 6\.0\.2\)$/);
  // go-tuf v2 and python-tuf verify P-384.
  assert.equal(findings.filter((f) => f.client === 'go-tuf' || f.client === 'python-tuf').length, 0);
});

test('--clients selects; an unknown client is a usage error naming the known ones', () => {
  const { findings, json } = lint(p384, '--clients', 'go-tuf,python-tuf');
  assert.deepEqual(json.clients, ['go-tuf', 'python-tuf']);
  assert.deepEqual(findings, []);
  assert.deepEqual(new Set(lint(p384, '--clients', 'tough').findings.map((f) => f.client)), new Set(['tough']));
  const r = tufctl(['lint', '--clients', 'go-tuf,notary'], { cwd: p384.repo });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error \[USAGE\]: --clients: unknown client "notary" \(known: go-tuf, python-tuf, tuf-js, tough, sigstore\)/);
});

test('--strict exits 1 with CLIENT_INCOMPATIBLE and one detail line per finding; --json carries the code', () => {
  const r = tufctl(['lint', '--strict', '--clients', 'tough'], { cwd: p384.repo });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[CLIENT_INCOMPATIBLE\]: 1 client-compatibility finding\(s\) for tough \(--strict\)/);
  assert.match(r.stderr, /\[tough 0\.19\.0\] refuses: key [0-9a-f]{8} \(ecdsa\/ecdsa-sha2-nistp384\)/);
  const j = tufctl(['lint', '--strict', '--json'], { cwd: p384.repo });
  assert.equal(j.code, 1);
  assert.equal(j.json.ok, false);
  assert.equal(j.json.error.code, 'CLIENT_INCOMPATIBLE');
  assert.ok(j.json.error.details.length >= 3);
});

test('bad input: no repository, an empty --clients, a --refresh-every that is no number', () => {
  const empty = tempDir();
  try {
    const none = tufctl(['lint'], { cwd: empty.path });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /error \[METADATA_MISSING\]: no TUF repository at .* \(metadata\/root\.json is missing\)/);
  } finally {
    empty.cleanup();
  }
  const blank = tufctl(['lint', '--clients', ' , '], { cwd: plain.repo });
  assert.equal(blank.code, 2);
  assert.match(blank.stderr, /error \[USAGE\]: --clients needs at least one of go-tuf, python-tuf, tuf-js, tough, sigstore/);
  const nan = tufctl(['lint', '--refresh-every', 'soon'], { cwd: plain.repo });
  assert.equal(nan.code, 2);
  assert.match(nan.stderr, /error \[USAGE\]: --refresh-every must be a number of hours/);
});

test('a dotted delegated role name and a 70-character top-level target name: go-tuf through the registry fetcher', () => {
  const fx = repository();
  const cwd = fx.repo;
  ok(['delegate', 'add', 'team.one', '--paths', 'team/*', '--key', join(fx.keys, 'targets.pub.pem')], { cwd });
  const long = 'n'.repeat(70);
  ok(['target', 'add-entry', long, '--length', '10', '--sha256', SHA], { cwd });
  const { findings } = lint(fx);
  assert.equal(findings.length, 2, JSON.stringify(findings, null, 2));
  const [role, target] = findings;
  assert.equal(role!.client, 'go-tuf');
  assert.equal(role!.rule, 'registry-layout');
  assert.equal(role!.subject, 'role "team.one"');
  assert.match(role!.message, /contains "\."/);
  assert.match(role!.source, /^docker\/attest pkg\/tuf\/registry\.go/);
  assert.equal(target!.subject, `target "${long}" (targets)`);
  assert.match(target!.message, /70 characters long; top-level names can have at most 63/);
  assert.match(target!.limit, /128 characters/);
  // Sigstore clients read over HTTP: the registry layout is not theirs.
  assert.deepEqual(lint(fx, '--clients', 'sigstore,tuf-js,python-tuf,tough').findings, []);
});

test('a timestamp valid for less than the refresh interval: every client refuses it between runs', () => {
  const fx = repository();
  const cwd = fx.repo;
  ok(['expiry', 'timestamp', '--period', '1', '--signing-period', '1'], { cwd });
  assert.deepEqual(lint(fx).findings, []);
  const slow = lint(fx, '--refresh-every', '30', '--clients', 'go-tuf,tough').findings;
  assert.deepEqual(
    slow.map((f) => [f.client, f.rule, f.effect]),
    [
      ['go-tuf', 'expiry-refresh', 'refuses'],
      ['tough', 'expiry-refresh', 'refuses'],
    ],
  );
  assert.match(slow[0]!.message, /timestamp is valid for 1 day\(s\) after signing but the refresh job runs every 30 hour\(s\)/);
  const r = tufctl(['lint', '--refresh-every', '0'], { cwd });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error \[USAGE\]: --refresh-every must be a number of hours above 0/);
});

test('a snapshot over 2,000,000 bytes (16,384 bins, hashes in snapshot meta, no length in timestamp meta)', () => {
  const fx = repository();
  const cwd = fx.repo;
  const config = join(cwd, 'tufctl.json');
  writeFileSync(
    config,
    JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), snapshotMetaHashes: true, timestampMetaHashes: false }, null, 2) + '\n',
  );
  ok(['delegate', 'add', 'bins', '--bins', '16384', '--key', join(fx.keys, 'targets.pub.pem')], { cwd });
  ok(['snapshot', '--key', fx.key('online')], { cwd });
  ok(['timestamp', '--key', fx.key('online')], { cwd });
  const size = readFileSync(join(cwd, 'metadata', 'snapshot.json')).length;
  assert.ok(size > 2_000_000, `snapshot.json is ${size} bytes`);
  const { findings } = lint(fx);
  const sizes = findings.filter((f) => f.rule === 'metadata-size');
  assert.deepEqual(sizes.map((f) => f.client).sort(), ['go-tuf', 'python-tuf', 'sigstore', 'tough', 'tuf-js']);
  const go = sizes.find((f) => f.client === 'go-tuf')!;
  assert.equal(go.subject, 'metadata/snapshot.json');
  assert.equal(go.limit, 'SnapshotMaxLength = 2000000');
  assert.match(go.message, new RegExp(`${size.toLocaleString('en-US')} bytes, over the 2,000,000 bytes`));
  assert.match(go.source, /theupdateframework\/go-tuf metadata\/config\/config\.go/);
  assert.equal(sizes.find((f) => f.client === 'python-tuf')!.limit, 'snapshot_max_length = 2000000');
  assert.equal(sizes.find((f) => f.client === 'tough')!.limit, 'max_snapshot_size = 1048576');
  assert.match(sizes.find((f) => f.client === 'sigstore')!.library, /sigstore-go .*sigstore-js .*sigstore-python/);

  // With snapshot's length in timestamp meta, clients read that many bytes: no finding.
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), timestampMetaHashes: true }, null, 2) + '\n');
  ok(['timestamp', '--force', '--key', fx.key('online')], { cwd });
  assert.deepEqual(
    lint(fx).findings.filter((f) => f.rule === 'metadata-size'),
    [],
  );
});

test('validate lists client-compatibility findings as warnings (Markdown, text, JSON) and they do not change the result', () => {
  const fx = repository();
  const cwd = fx.repo;
  git(cwd, 'checkout', '-q', '-b', 'dotted');
  ok(['delegate', 'add', 'team.two', '--paths', 'two/*', '--key', join(fx.keys, 'targets.pub.pem')], { cwd });
  ok(['sign', '--key', fx.key('targets')], { cwd });
  const json = tufctl(['validate', '--base', 'main', '--json'], { cwd });
  assert.equal(json.json.clients.length, 1, json.stdout);
  assert.equal(json.json.clients[0].subject, 'role "team.two"');
  const md = tufctl(['validate', '--base', 'main', '--format', 'markdown'], { cwd });
  assert.equal(md.code, json.code);
  assert.match(md.stdout, /#### Client compatibility/);
  assert.match(md.stdout, /\| go-tuf v2\.4\.2 through docker\/attest's registry fetcher \| refuses \| role "team\.two" \|/);
  const text = tufctl(['validate', '--base', 'main'], { cwd });
  assert.match(text.stdout, /^client: \[go-tuf v2\.4\.2 through docker\/attest's registry fetcher\] refuses: role "team\.two"/m);
  // A plain change has no such section.
  git(cwd, 'checkout', '-q', '-f', 'main');
  const clean = tufctl(['validate', '--base', 'main', '--format', 'markdown'], { cwd });
  assert.doesNotMatch(clean.stdout, /Client compatibility/);
});

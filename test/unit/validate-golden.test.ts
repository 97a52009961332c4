/**
 * Golden Markdown reports of `tufctl validate` for representative pull
 * requests: key rotation, threshold change, targets added and removed, a
 * JWKS rotation and a signature revocation. Key ids, hashes, commit ids and
 * times come from random keys and the clock, so runs of 7+ hex digits and
 * ISO times are replaced with placeholders before comparing.
 *
 * UPDATE_GOLDEN=1 rewrites test/golden/validate/*.md from the current output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { git, newRepository, ok, PROJECT_DIR, readJson, tufctl, writeFile, type Fixture } from '../helpers/harness.js';
import { compareGolden as compareGoldenFile } from '../helpers/golden.js';
import { checkJwksDocument } from '../../src/jwks/jwk-checks.js';
import { issuerFileBytes, syncLedger, type Ledger } from '../../src/jwks/ledger.js';

const GOLDEN_DIR = join(PROJECT_DIR, 'test', 'golden', 'validate');
const NOW = '2030-01-01T00:00:00Z';
const ISSUER = 'https://issuer.example.com';
const ISSUER_DIR = join('targets', 'jwks', 'issuer.example.com');

let fx: Fixture;

function compareGolden(name: string, output: string): void {
  compareGoldenFile(GOLDEN_DIR, name, output);
}

/** Runs tufctl at the fixed time. */
function at(args: string[]): ReturnType<typeof ok> {
  return ok([...args, '--now', NOW], { cwd: fx.repo });
}

function validateMarkdown(expectedCode: number): string {
  const r = tufctl(['validate', '--base', 'main', '--format', 'markdown', '--now', NOW], { cwd: fx.repo });
  assert.equal(r.code, expectedCode, r.stdout + r.stderr);
  return r.stdout;
}

function branch(name: string): void {
  git(fx.repo, 'checkout', '-q', '-f', 'main');
  git(fx.repo, 'clean', '-qfd');
  git(fx.repo, 'checkout', '-q', '-b', name);
}

async function writeIssuer(kids: string[], previous: Ledger | undefined, now: string): Promise<Ledger> {
  const keys = kids.map((kid) => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' };
  });
  const live = { issuer: ISSUER, jwksUri: `${ISSUER}/.well-known/jwks`, keys: await checkJwksDocument(ISSUER, { keys }) };
  if (previous) {
    // Keys kept from the previous ledger keep their material.
    const kept = Object.values(previous.keys).filter((e) => kids.includes(e.jwk.kid));
    live.keys = [
      ...kept.map((e) => ({ kid: e.jwk.kid, thumbprint: e.thumbprint, jwk: e.jwk })),
      ...live.keys.filter((k) => !kept.some((e) => e.jwk.kid === k.kid)),
    ];
  }
  const { ledger } = syncLedger(previous, live, { now: new Date(now), retentionDays: 365 });
  const bytes = issuerFileBytes(ledger);
  writeFile(join(fx.repo, ISSUER_DIR, 'jwks.json'), bytes.jwks.toString());
  writeFile(join(fx.repo, ISSUER_DIR, 'ledger.json'), bytes.ledger.toString());
  return ledger;
}

let firstLedger: Ledger;

before(async () => {
  fx = newRepository(['--now', NOW]);
  // main mirrors one issuer (key-1), so that a branch can rotate its keys.
  firstLedger = await writeIssuer(['key-1'], undefined, NOW);
  at(['policy', 'apply', '--sign', '--key', fx.key('targets'), '--key', fx.key('online')]);
  git(fx.repo, 'commit', '-qm', 'mirror issuer');
  assert.equal(tufctl(['validate', '--base', 'main', '--now', NOW], { cwd: fx.repo }).code, 0);
});

after(() => fx.cleanup());

test('golden: targets key rotation (root changes, targets waits for the new key owner)', () => {
  branch('rotate-targets-key');
  const oldId = readJson(join(fx.repo, 'metadata', 'root.json')).signed.roles.targets.keyids[0] as string;
  at(['key', 'generate', '--type', 'ed25519', '--out', join(fx.keys, 'targets2.pem')]);
  at(['key', 'add', 'targets', join(fx.keys, 'targets2.pub.pem'), '--owner', '@bob']);
  at(['key', 'remove', 'targets', oldId]);
  at(['sign', 'root', '--key', fx.key('root')]);
  git(fx.repo, 'commit', '-qam', 'rotate targets key');
  compareGolden('key-rotation', validateMarkdown(2));
});

test('golden: threshold change (2 of 2, waiting for the second owner)', () => {
  branch('threshold');
  at(['key', 'generate', '--type', 'ed25519', '--out', join(fx.keys, 'targets3.pem')]);
  at(['key', 'add', 'targets', join(fx.keys, 'targets3.pub.pem'), '--owner', '@carol']);
  at(['threshold', 'targets', '2']);
  at(['sign', 'root', '--key', fx.key('root')]);
  git(fx.repo, 'commit', '-qam', 'targets threshold 2');
  compareGolden('threshold', validateMarkdown(2));
});

test('golden: targets added and removed, signed: ready to merge', () => {
  branch('targets');
  writeFile(join(fx.repo, 'targets', 'app', 'config.json'), '{"replicas": 3}\n');
  writeFile(join(fx.repo, 'targets', 'notes.txt'), 'release notes\n');
  at(['target', 'add', 'targets/app/config.json', 'targets/notes.txt']);
  at(['target', 'add-entry', 'images/app', '--length', '1234', '--sha256', 'ab'.repeat(32)]);
  at(['target', 'remove', 'version-constraints']);
  at(['sign', '--key', fx.key('targets')]);
  at(['snapshot', '--key', fx.key('online')]);
  at(['timestamp', '--key', fx.key('online')]);
  git(fx.repo, 'add', '-A');
  git(fx.repo, 'commit', '-qm', 'targets');
  compareGolden('targets', validateMarkdown(0));
});

test('golden: JWKS rotation (key-1 archived, key-2 added), waiting for @alice', async () => {
  branch('jwks-rotation');
  await writeIssuer(['key-2'], firstLedger, '2030-01-02T00:00:00Z');
  at(['policy', 'apply']);
  git(fx.repo, 'commit', '-qam', 'jwks sync');
  compareGolden('jwks-rotation', validateMarkdown(2));
});

test('golden: signature revocation, signed with targets and online keys: ready', () => {
  branch('revocation');
  at([
    'revoke',
    'signature',
    `sha256:${'5e'.repeat(32)}`,
    '--reason',
    'signed by a compromised workflow',
    '--sign',
    '--key',
    fx.key('targets'),
    '--key',
    fx.key('online'),
  ]);
  git(fx.repo, 'commit', '-qam', 'revoke');
  compareGolden('revocation', validateMarkdown(0));
});

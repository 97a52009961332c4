/**
 * Client-compatibility rules that need more than the CLI makes quickly: a
 * repository from `tufctl init` whose metadata files are then rewritten by
 * hand (the lint reads files as clients would, without checking
 * signatures) — 40 overlapping path delegations for the 32-role walk, 40
 * root versions for the root-rotation caps, hex-encoded ECDSA keys, a
 * non-hex signature — and the refresh schedule read from cron lines.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { newRepository, type Fixture } from '../helpers/harness.js';
import { lintClients } from '../../src/lint/lint.js';
import { longestGapHours } from '../../src/lint/refresh-schedule.js';
import type { ClientFinding } from '../../src/lint/findings.js';

let fx: Fixture;
let pristine: Map<string, string>;
const FILES = ['root.json', 'targets.json', 'snapshot.json', 'timestamp.json'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const path = (name: string): string => join(fx.repo, 'metadata', name);
const read = (name: string): Json => JSON.parse(readFileSync(path(name), 'utf8'));
const write = (name: string, value: unknown): void => writeFileSync(path(name), JSON.stringify(value, null, 2) + '\n');

before(() => {
  fx = newRepository(['--no-policies']);
  pristine = new Map(FILES.map((f) => [f, readFileSync(path(f), 'utf8')]));
});
after(() => fx.cleanup());

function reset(): void {
  for (const [name, text] of pristine) writeFileSync(path(name), text);
}

const of = (findings: ClientFinding[], rule: string): ClientFinding[] => findings.filter((f) => f.rule === rule);

/** Delegates from targets to `count` roles all matching `*` (none terminating), the target in role number `holder` (1-based). */
function pathDelegations(count: number, holder: number): void {
  const targets = read('targets.json');
  const keyId = targets.signed.delegations?.keys ? Object.keys(targets.signed.delegations.keys)[0] : undefined;
  const root = read('root.json');
  const targetsKeyId: string = root.signed.roles.targets.keyids[0];
  const key = root.signed.keys[keyId ?? targetsKeyId];
  targets.signed.delegations = {
    keys: { [targetsKeyId]: key },
    roles: Array.from({ length: count }, (_, i) => ({
      name: `r${i + 1}`,
      keyids: [targetsKeyId],
      threshold: 1,
      terminating: false,
      paths: ['*'],
    })),
  };
  write('targets.json', targets);
  for (let i = 1; i <= count; i++) {
    const role = {
      signatures: [],
      signed: {
        _type: 'targets',
        spec_version: '1.0.31',
        version: 1,
        expires: '2030-01-01T00:00:00Z',
        targets: {} as Record<string, unknown>,
      },
    };
    if (i === holder) role.signed.targets['deep.txt'] = { length: 1, hashes: { sha256: 'ab'.repeat(32) } };
    write(`r${i}.json`, role);
  }
}

test('delegation walk: a target in the 32nd delegated role is found, in the 33rd it is past the cap of go-tuf, python-tuf and tuf-js', () => {
  reset();
  pathDelegations(40, 1);
  assert.deepEqual(of(lintClients(fx.repo).findings, 'delegations-visited'), []);
  pathDelegations(40, 32);
  assert.deepEqual(of(lintClients(fx.repo).findings, 'delegations-visited'), []);
  pathDelegations(40, 33);
  const found = of(lintClients(fx.repo).findings, 'delegations-visited');
  assert.deepEqual(found.map((f) => f.client).sort(), ['go-tuf', 'python-tuf', 'sigstore', 'tuf-js']);
  const go = found.find((f) => f.client === 'go-tuf')!;
  assert.equal(go.subject, 'role "r33"');
  assert.match(go.message, /1 target\(s\) of role "r33" \(e\.g\. "deep\.txt"\) are reached only after visiting 33 or more roles/);
  assert.equal(go.limit, 'MaxDelegations = 32');
  assert.match(go.source, /go-tuf metadata\/updater\/updater\.go \(preOrderDepthFirstWalk/);
});

test('root rotations: 39 updates from root v1 are past the 32 of python-tuf before 5.1.0 and tuf-js before 3.0.0', () => {
  reset();
  const root = read('root.json');
  for (let v = 2; v <= 40; v++)
    writeFileSync(path(`root_history/${v}.root.json`), JSON.stringify({ ...root, signed: { ...root.signed, version: v } }));
  write('root.json', { ...root, signed: { ...root.signed, version: 40 } });
  const found = of(lintClients(fx.repo, { clients: ['go-tuf', 'python-tuf', 'tuf-js', 'tough'] }).findings, 'root-rotations');
  assert.deepEqual(
    found.map((f) => [f.client, f.versions, f.limit]),
    [
      ['python-tuf', 'python-tuf before 5.1.0', 'Updater._load_root, max_root_rotations = 32 in python-tuf before 5.1.0'],
      ['tuf-js', 'tuf-js before 3.0.0', 'Updater.loadRoot, maxRootRotations = 32 in tuf-js before 3.0.0'],
    ],
  );
  assert.match(found[0]!.message, /need 39 root updates to reach v40; it fetches at most 32 per update and goes on with root v33/);
  // Clients that embed root v10 need 30: within every cap.
  assert.deepEqual(of(lintClients(fx.repo, { trustedRootVersion: 10 }).findings, 'root-rotations'), []);
  for (let v = 2; v <= 40; v++) rmSync(path(`root_history/${v}.root.json`));
});

test('hex-encoded ECDSA key: go-tuf v2 and python-tuf refuse the role, tuf-js and tough read it', () => {
  reset();
  const root = read('root.json');
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString('hex');
  const id = 'cd'.repeat(32);
  root.signed.keys[id] = { keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: point } };
  root.signed.roles.targets.keyids.push(id);
  write('root.json', root);
  const found = of(lintClients(fx.repo).findings, 'key-support');
  assert.deepEqual([...new Set(found.map((f) => f.client))].sort(), ['go-tuf', 'python-tuf', 'sigstore']);
  const go = found.find((f) => f.client === 'go-tuf')!;
  assert.equal(go.effect, 'refuses');
  assert.match(go.message, /only as PEM \(hex-encoded ECDSA keys are refused\); verification of targets fails/);
  assert.match(go.source, /go-tuf metadata\/keys\.go \(Key\.ToPublicKey/);
  assert.match(found.find((f) => f.client === 'sigstore')!.library, /sigstore-go .*sigstore-python/);
});

test('a signature that is not hex: go-tuf, python-tuf and tough refuse the file, tuf-js skips the signature', () => {
  reset();
  const snapshot = read('snapshot.json');
  snapshot.signatures.push({ keyid: 'ef'.repeat(32), sig: 'not hex' });
  write('snapshot.json', snapshot);
  const found = of(lintClients(fx.repo, { clients: ['go-tuf', 'python-tuf', 'tuf-js', 'tough'] }).findings, 'signature-encoding');
  assert.deepEqual(
    found.map((f) => [f.client, f.effect, f.subject]),
    [
      ['go-tuf', 'refuses', 'metadata/snapshot.json'],
      ['python-tuf', 'refuses', 'metadata/snapshot.json'],
      ['tuf-js', 'mishandles', 'metadata/snapshot.json'],
      ['tough', 'refuses', 'metadata/snapshot.json'],
    ],
  );
});

test('refresh schedule: the longest gap between cron runs over a week', () => {
  assert.equal(longestGapHours(['17 */6 * * *']), 6);
  assert.equal(longestGapHours(['0 3 * * *']), 24);
  assert.equal(longestGapHours(['0 1,5 * * *']), 20);
  assert.equal(longestGapHours(['0 9 * * 1-5']), 72);
  assert.equal(longestGapHours(['0 0 * * *', '0 12 * * *']), 12);
  assert.equal(longestGapHours(['0 0 1 * *']), undefined); // monthly: not a weekly schedule
  assert.equal(longestGapHours(['@daily']), undefined);
});

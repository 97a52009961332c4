/**
 * Key ids as clients use them: looked up as written. A role whose key ids
 * were computed with and without the `x-` fields verifies; an id that is
 * neither is a warning; one key under two ids in a role, and one id naming
 * two keys, are errors. New keys get ids by the repository's rule
 * (tufctl.json's keyIdRule, else the rule its keys follow).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalBytes } from '../../src/metadata/json.js';
import { keyIdByRule } from '../../src/keys/key-ids.js';
import { git, newRepository, ok, readJson, tufctl } from '../helpers/harness.js';
import { realRepositoryFacts, replayRealRepository } from '../helpers/real-repositories.js';

const sha256 = (value: unknown): string =>
  createHash('sha256')
    .update(canonicalBytes(value as never))
    .digest('hex');

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

test('a role with one key id computed without and one with the x- fields verifies; new ids follow tufctl.json keyIdRule', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    ok(['key', 'generate', '--out', join(fx.keys, 'second.pem')]);
    writeJson(join(cwd, 'tufctl.json'), { ...readJson(join(cwd, 'tufctl.json')), keyIdRule: 'with-custom-fields' });
    const added = ok(['key', 'add', 'targets', join(fx.keys, 'second.pub.pem'), '--owner', '@bob', '--json'], { cwd }).json;
    ok(['threshold', 'targets', '2'], { cwd });
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    const [first, second] = root.roles.targets.keyids as [string, string];
    assert.equal(second, added.keyId);
    assert.equal(first, keyIdByRule(root.keys[first], 'without-custom-fields'), 'the init key: id without x- fields');
    assert.notEqual(first, sha256(root.keys[first]));
    assert.equal(second, sha256(root.keys[second]), 'the new key: id over the whole key object, owner included');
    ok(['sign', 'root', 'targets', '--key', fx.key('root'), '--key', fx.key('targets'), '--key', join(fx.keys, 'second.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    const report = ok(['verify', '--json'], { cwd }).json;
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.ok(!report.warnings.some((w: string) => /key id/.test(w)), report.warnings.join('\n'));
    assert.equal(report.client.ok, true);
  } finally {
    fx.cleanup();
  }
});

test('a key id that is no recomputation is a warning (clients look it up as written); one key under two ids in a role is an error', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const path = join(cwd, 'metadata', 'root.json');
    const root = readJson(path);
    const [targetsId] = root.signed.roles.targets.keyids as [string];
    const key = root.signed.keys[targetsId];

    // Renamed id: neither rule recomputes it. Clients still find the key by it.
    const renamed = 'ab'.repeat(32);
    const edited = structuredClone(root);
    delete edited.signed.keys[targetsId];
    edited.signed.keys[renamed] = key;
    edited.signed.roles.targets.keyids = [renamed];
    writeJson(path, edited);
    const warned = tufctl(['verify', '--json', '--client', 'never'], { cwd }).json;
    assert.ok(
      warned.warnings.some((w: string) =>
        /root: key id abababababababab… is not the sha256 of its canonical key, with or without its x- fields/.test(w),
      ),
      warned.warnings.join('\n'),
    );
    assert.ok(!warned.problems.some((p: { code: string }) => p.code.startsWith('KEY')), JSON.stringify(warned.problems));

    // The same key listed twice in one role would count twice towards the threshold.
    const doubled = structuredClone(root);
    doubled.signed.keys[renamed] = key;
    doubled.signed.roles.targets.keyids = [targetsId, renamed];
    writeJson(path, doubled);
    const refused = tufctl(['verify'], { cwd });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /error \[VERIFICATION_FAILED\]: root: targets lists one key under two ids \([0-9a-f]{16}…, abababababababab…\); a key counts once towards a threshold/,
    );

    // One id naming two different keys (root and a delegation).
    git(cwd, 'checkout', '--', 'metadata/root.json');
    ok(['delegate', 'add', 'team', '--paths', 'team/*', '--key', join(fx.keys, 'online.pub.pem')], { cwd });
    const targetsPath = join(cwd, 'metadata', 'targets.json');
    const targets = readJson(targetsPath);
    const [delegatedId] = targets.signed.delegations.roles[0].keyids as [string];
    const conflicting = structuredClone(targets);
    conflicting.signed.delegations.keys[targetsId] = conflicting.signed.delegations.keys[delegatedId];
    delete conflicting.signed.delegations.keys[delegatedId];
    conflicting.signed.delegations.roles[0].keyids = [targetsId];
    writeJson(targetsPath, conflicting);
    const conflict = tufctl(['verify', '--client', 'never'], { cwd });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /targets: key id [0-9a-f]{16}… names a different key than in root/);
  } finally {
    fx.cleanup();
  }
});

test('a key added to a tuf-on-ci repository gets a tuf-on-ci id; a key it already lists keeps its id', () => {
  const facts = realRepositoryFacts('docker-tuf');
  const repo = replayRealRepository('docker-tuf');
  const fx = newRepository();
  try {
    const cwd = repo.dir;
    const now = facts.refs.main.now;
    const added = ok(['key', 'add', 'targets', join(fx.keys, 'targets.pub.pem'), '--owner', '@newcomer', '--json', '--now', now], {
      cwd,
    }).json;
    const keys = readJson(join(cwd, 'metadata', 'root.json')).signed.keys;
    assert.equal(added.keyId, sha256(keys[added.keyId]), 'id over the whole key object as stored, owner included');
    assert.equal(keys[added.keyId]['x-tuf-on-ci-keyowner'], '@newcomer');

    // Adding a key root already lists under its (older, without-x-fields) id keeps that id.
    const root = readJson(join(cwd, 'metadata', 'root.json')).signed;
    const legacyId = Object.keys(root.keys).find((id) => id.startsWith('9c8e1be7'))!;
    writeFileSync(join(repo.root, 'legacy.pub.pem'), root.keys[legacyId].keyval.public);
    const again = ok(['key', 'add', 'root', join(repo.root, 'legacy.pub.pem'), '--json', '--now', now], { cwd }).json;
    assert.equal(again.keyId, legacyId);
    assert.equal(again.added, false);
  } finally {
    repo.cleanup();
    fx.cleanup();
  }
});

test('keyIdRule in tufctl.json is checked', () => {
  const fx = newRepository();
  try {
    writeJson(join(fx.repo, 'tufctl.json'), { keyIdRule: 'sha512' });
    const r = tufctl(['status'], { cwd: fx.repo });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error \[CONFIG_INVALID\]: tufctl\.json: keyIdRule must be one of without-custom-fields, with-custom-fields/);
    writeJson(join(fx.repo, 'tufctl.json'), { trustedRootVersion: 0 });
    assert.match(tufctl(['status'], { cwd: fx.repo }).stderr, /trustedRootVersion must be a whole number, 1 or more/);
    assert.match(
      tufctl(['verify', '--trusted-root-version', '-2'], { cwd: fx.repo }).stderr,
      /--trusted-root-version must be a whole number/,
    );
  } finally {
    fx.cleanup();
  }
});

/**
 * The editing rules, case by case: one version bump per change relative to
 * the base ref, a configurable base ref for pull-request branches, no
 * rollbacks, every role ever listed stays in snapshot, a re-added role starts
 * above its old version, and snapshot sees edits made behind tufctl's back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, tufctl, type Fixture } from '../helpers/harness.js';

const HEX = 'b'.repeat(64);
/** Target `a` added, signed (targets, snapshot, timestamp) and committed. */
function addSignedEntry(fx: Fixture): void {
  ok(
    [
      'target',
      'add-entry',
      'a',
      '--length',
      '1',
      '--sha256',
      HEX,
      '--sign',
      '--key',
      fx.key('targets'),
      '--key',
      fx.key('online'),
      '--commit',
    ],
    {
      cwd: fx.repo,
    },
  );
}

const version = (repo: string, role: string): number => readJson(join(repo, 'metadata', `${role}.json`)).signed.version;

test('several edits before a commit bump a role once; the next commit bumps again', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    assert.equal(version(cwd, 'targets'), 1);
    ok(['target', 'add-entry', 'one', '--length', '1', '--sha256', HEX], { cwd });
    ok(['target', 'add-entry', 'two', '--length', '2', '--sha256', HEX], { cwd });
    ok(['target', 'remove', 'one'], { cwd });
    assert.equal(version(cwd, 'targets'), 2);
    ok(['sign', '--key', fx.key('targets'), '--commit'], { cwd });
    assert.equal(version(cwd, 'targets'), 2, 'signing never bumps');
    ok(['target', 'add-entry', 'three', '--length', '3', '--sha256', HEX], { cwd });
    assert.equal(version(cwd, 'targets'), 3);
    // Signatures were dropped by the content change.
    assert.deepEqual(readJson(join(cwd, 'metadata', 'targets.json')).signatures, []);
    // An edit that changes nothing writes nothing.
    const same = ok(['threshold', 'targets', '1', '--json'], { cwd });
    assert.equal(same.json.changed, false);
  } finally {
    fx.cleanup();
  }
});

test('a pull-request branch counts versions from the configured base ref', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    git(cwd, 'branch', 'base');
    git(cwd, 'checkout', '-q', '-b', 'pr');
    const config = readJson(join(cwd, 'tufctl.json'));
    writeFileSync(join(cwd, 'tufctl.json'), JSON.stringify({ ...config, baseRef: 'base' }, null, 2) + '\n');
    git(cwd, 'commit', '-qam', 'use base ref');
    ok(['target', 'add-entry', 'a', '--length', '1', '--sha256', HEX, '--commit'], { cwd });
    ok(['target', 'add-entry', 'b', '--length', '1', '--sha256', HEX, '--commit'], { cwd });
    assert.equal(version(cwd, 'targets'), 2, 'two commits on the branch, one bump against the base');
    // A bad base ref is a clear error.
    writeFileSync(join(cwd, 'tufctl.json'), JSON.stringify({ ...config, baseRef: 'no-such-ref' }, null, 2) + '\n');
    const r = tufctl(['target', 'add-entry', 'c', '--length', '1', '--sha256', HEX], { cwd });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /base ref "no-such-ref"/);
  } finally {
    fx.cleanup();
  }
});

test('an unknown setting in tufctl.json is refused', () => {
  const fx = newRepository();
  try {
    writeFileSync(join(fx.repo, 'tufctl.json'), '{"baseref": "HEAD"}\n');
    const r = tufctl(['status'], { cwd: fx.repo });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CONFIG_INVALID.*unknown setting "baseref"/);
  } finally {
    fx.cleanup();
  }
});

test('snapshot keeps removed roles listed, and a re-added role starts above its old version', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    ok(['key', 'generate', '--out', join(fx.keys, 'doi.pem')]);
    const keys = ['--key', fx.key('targets'), '--key', join(fx.keys, 'doi.pem'), '--key', fx.key('online')];
    ok(['delegate', 'add', 'doi', '--paths', 'doi/*', '--key', join(fx.keys, 'doi.pub.pem')], { cwd });
    ok(['target', 'add-entry', 'doi/x', '--length', '1', '--sha256', HEX, '--sign', ...keys, '--commit'], { cwd });
    ok(['target', 'add-entry', 'doi/y', '--length', '1', '--sha256', HEX, '--sign', ...keys, '--commit'], { cwd });
    assert.equal(version(cwd, 'doi'), 2);
    ok(['target', 'remove', 'doi/x', 'doi/y'], { cwd });
    ok(['delegate', 'remove', 'doi', '--sign', ...keys, '--commit'], { cwd });
    const meta = readJson(join(cwd, 'metadata', 'snapshot.json')).signed.meta;
    assert.equal(meta['doi.json'].version, 2, 'the removed role stays listed at its last listed version');
    ok(['verify'], { cwd });
    ok(['delegate', 'add', 'doi', '--paths', 'doi/*', '--key', join(fx.keys, 'doi.pub.pem')], { cwd });
    ok(['sign', ...keys], { cwd });
    ok(['snapshot', ...keys], { cwd });
    ok(['timestamp', ...keys], { cwd });
    assert.ok(version(cwd, 'doi') > 2, `re-added doi has version ${version(cwd, 'doi')} > 2`);
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('snapshot refuses a targets role rolled back below what it lists', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    addSignedEntry(fx);
    const path = join(cwd, 'metadata', 'targets.json');
    const doc = readJson(path);
    doc.signed.version = 1;
    writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
    const signing = tufctl(['sign', 'targets', '--key', fx.key('targets')], { cwd });
    assert.equal(signing.code, 1);
    assert.match(signing.stderr, /VERSION_ROLLBACK/);
    const r = tufctl(['snapshot', '--key', fx.key('online')], { cwd });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VERSION_ROLLBACK.*targets\.json has version 1 but snapshot already lists version 2/);
  } finally {
    fx.cleanup();
  }
});

test('snapshot notices a delegated role edited behind its back (the role index cache is not trusted blindly)', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    ok(['key', 'generate', '--out', join(fx.keys, 'bins.pem')]);
    ok(['delegate', 'add', 'bins', '--bins', '4', '--key', join(fx.keys, 'bins.pub.pem')], { cwd });
    const keys = ['--key', fx.key('targets'), '--key', join(fx.keys, 'bins.pem'), '--key', fx.key('online')];
    ok(['sign', ...keys], { cwd });
    ok(['snapshot', ...keys, '--commit'], { cwd });
    // Edit one bin through the library path of another process, then snapshot again.
    const added = ok(['target', 'add-entry', 'pkg', '--length', '1', '--sha256', HEX, '--json'], { cwd }).json.targets[0].role;
    ok(['sign', added, '--key', join(fx.keys, 'bins.pem')], { cwd });
    const snap = ok(['snapshot', '--key', fx.key('online'), '--json'], { cwd });
    assert.equal(snap.json.updated, true);
    assert.match(snap.json.reasons[0], new RegExp(`${added} v2`));
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('timestamp is re-signed when it enters its signing period, and not before', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const online = ['--key', fx.key('online')];
    const early = ok(['timestamp', ...online, '--json'], { cwd });
    assert.equal(early.json.updated, false);
    const later = new Date(Date.now() + 36 * 3600 * 1000).toISOString();
    const due = ok(['timestamp', ...online, '--json', '--now', later], { cwd });
    assert.equal(due.json.updated, true);
    assert.match(due.json.reasons.join(' '), /signing period/);
    assert.equal(version(cwd, 'timestamp'), 2);
  } finally {
    fx.cleanup();
  }
});

test('sign catches hand edits: a lowered version is refused, changed content at the same version gets its bump', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    addSignedEntry(fx);
    const path = join(cwd, 'metadata', 'targets.json');
    const doc = readJson(path);
    doc.signed.targets.a.length = 2;
    writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
    ok(['sign', '--key', fx.key('targets')], { cwd });
    assert.equal(version(cwd, 'targets'), 3, 'hand-edited content is not signed under an old version');
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
    git(cwd, 'commit', '-qam', 'edit');
    const lowered = readJson(path);
    lowered.signed.version = 2;
    writeFileSync(path, JSON.stringify(lowered, null, 2) + '\n');
    const r = tufctl(['sign', '--key', fx.key('targets')], { cwd });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VERSION_ROLLBACK/);
  } finally {
    fx.cleanup();
  }
});

test('removing a key whose signature the role needed gives the role a new version to sign (never two files under one version)', () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    for (const name of ['bob', 'carol']) ok(['key', 'generate', '--out', join(fx.keys, `${name}.pem`)]);
    ok(['key', 'add', 'targets', join(fx.keys, 'bob.pub.pem'), '--owner', '@bob'], { cwd });
    ok(['key', 'add', 'targets', join(fx.keys, 'carol.pub.pem'), '--owner', '@carol'], { cwd });
    ok(['threshold', 'targets', '2'], { cwd });
    ok(['sign', 'root', 'targets', '--key', fx.key('root'), '--key', fx.key('targets'), '--key', join(fx.keys, 'bob.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd });
    ok(['verify'], { cwd });
    const version = readJson(join(cwd, 'metadata', 'targets.json')).signed.version as number;
    const bobId = readJson(join(cwd, 'metadata', 'root.json')).signed.roles.targets.keyids.find(
      (id: string) => readJson(join(cwd, 'metadata', 'root.json')).signed.keys[id]['x-tuf-on-ci-keyowner'] === '@bob',
    );
    ok(['key', 'remove', 'targets', bobId], { cwd });
    const targets = readJson(join(cwd, 'metadata', 'targets.json'));
    assert.equal(targets.signed.version, version + 1, 'targets gets a new version');
    assert.deepEqual(targets.signatures, [], 'to be signed again by the keys still trusted');
    ok(['sign', '--key', fx.key('root'), '--key', fx.key('targets'), '--key', join(fx.keys, 'carol.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

/**
 * What the registry layout can carry: role names (no ".", a tag), top-level
 * target names (the tag <sha256>.<name> in 128 characters), nested targets
 * (the first path segment is a tag). The repository may hold more; publish
 * refuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TOP_LEVEL_NAME, layoutProblems, roleLayoutProblem, targetLayoutProblem } from '../../src/oci/layout-rules.js';
import type { RepositoryView } from '../../src/verify/verify-repository.js';

test('the top-level name limit makes "<64 hex>.<name>" exactly fit a 128-character OCI tag', () => {
  assert.equal(MAX_TOP_LEVEL_NAME, 63);
  assert.equal(64 + 1 + MAX_TOP_LEVEL_NAME, 128);
});

test('role names: a dot is refused with the reason, plain names pass', () => {
  assert.equal(roleLayoutProblem('doi'), undefined);
  assert.equal(roleLayoutProblem('bins-0a'), undefined);
  assert.match(
    roleLayoutProblem('registry.npmjs.org') ?? '',
    /contains "\."; registry clients read the role name from VERSION\.ROLE\.json/,
  );
  assert.match(roleLayoutProblem('team space') ?? '', /is not a registry tag/);
  assert.match(roleLayoutProblem('r'.repeat(129)) ?? '', /is not a registry tag/);
});

test('target names: top-level length and characters, first path segment', () => {
  assert.equal(targetLayoutProblem('trusted_root.json'), undefined);
  assert.equal(targetLayoutProblem('x'.repeat(63)), undefined);
  assert.match(targetLayoutProblem('x'.repeat(70)) ?? '', /is 70 characters long; top-level names can have at most 63/);
  assert.match(targetLayoutProblem('name with space.json') ?? '', /characters a registry tag cannot carry/);
  assert.equal(targetLayoutProblem('registry.npmjs.org/keys.json'), undefined);
  assert.equal(targetLayoutProblem(`doi/${'y'.repeat(300)}`), undefined);
  assert.match(targetLayoutProblem('with space/x.json') ?? '', /starts with "with space", which is not a registry tag/);
});

test('layoutProblems names every role and target with its rule', () => {
  const view: RepositoryView = {
    rootHistory: new Map(),
    roles: new Map(
      ['root', 'targets', 'snapshot', 'timestamp', 'doi', 'registry.npmjs.org'].map((r) => [r, { bytes: Buffer.alloc(0), version: 1 }]),
    ),
    targets: [
      { role: 'targets', path: 'mapping.yaml', length: 1, hashes: {} },
      { role: 'targets', path: 'z'.repeat(70), length: 1, hashes: {} },
      { role: 'registry.npmjs.org', path: 'registry.npmjs.org/keys.json', length: 1, hashes: {} },
    ],
  };
  const problems = layoutProblems(view);
  assert.deepEqual(
    problems.map((p) => p.subject),
    ['role "registry.npmjs.org"', `target "${'z'.repeat(70)}" (targets)`],
  );
});

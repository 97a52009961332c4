/**
 * binForTarget (src/metadata/role-index.ts) names exactly the bin that
 * @tufjs/models' SuccinctRoles.getRoleForTarget names, for every bit length a
 * succinct delegation may have and for paths of every kind of character.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Targets } from '@tufjs/models';
import { binForTarget } from '../../src/metadata/role-index.js';

const PATHS = [
  'a',
  'pkgs/target-00000001',
  'packages/ab/cd/0123456789abcdef/name-1.0.tar.gz',
  'ünïcödé/日本語/𝄞.json',
  'x'.repeat(4096),
  ...Array.from({ length: 2000 }, (_, i) => `pkgs/p${i}/pkg-${i * 7919}.tar.gz`),
];

test('binForTarget agrees with the models for bit lengths 1 to 32', () => {
  for (let bits = 1; bits <= 32; bits++) {
    const succinct = Targets.fromJSON({
      _type: 'targets',
      spec_version: '1.0.31',
      version: 1,
      expires: '2030-01-01T00:00:00Z',
      targets: {},
      delegations: { keys: {}, succinct_roles: { keyids: [], threshold: 1, bit_length: bits, name_prefix: 'bins' } },
    }).delegations!.succinctRoles!;
    // Large bit lengths: fewer paths (the models' names are long), still every bit of the first four bytes in play.
    for (const path of bits > 20 ? PATHS.slice(0, 200) : PATHS) {
      assert.equal(binForTarget(succinct, path), succinct.getRoleForTarget(path), `${bits} bits, ${path.slice(0, 40)}`);
    }
  }
});

/**
 * The parts of policy impact that need no repository: image names normalised
 * as the verifier does, its mapping lookup (loops, undefined policies,
 * platforms), and which rules are shadowed for certain or only probably.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeImageName } from '../../src/trust/image-names.js';
import { parseImageSamples } from '../../src/trust/image-samples.js';
import type { MappingRule, PolicyMappingFile } from '../../src/trust/model.js';
import { compileMapping, resolvePolicy, type CompiledMapping } from '../../src/trust/policy-resolution.js';
import { shadowedRules, unreachablePolicies } from '../../src/trust/rule-reachability.js';

function compiled(rules: MappingRule[], policies = ['p', 'q']): CompiledMapping {
  const file: PolicyMappingFile = {
    version: 'v1',
    kind: 'policy-mapping',
    policies: policies.map((id) => ({ id, files: [{ path: `${id}/policy.rego` }] })),
    rules,
  };
  const result = compileMapping(file);
  assert.ok(result.ok);
  return result.mapping;
}

test('names are normalised as distribution/reference ParseNormalizedNamed(...).Name() does', () => {
  const cases: Array<[string, string]> = [
    ['alpine', 'docker.io/library/alpine'],
    ['alpine:3.20', 'docker.io/library/alpine'],
    ['library/alpine', 'docker.io/library/alpine'],
    ['docker.io/alpine', 'docker.io/library/alpine'],
    ['index.docker.io/acme/app:1', 'docker.io/acme/app'],
    [`ghcr.io/acme/app@sha256:${'a'.repeat(64)}`, 'ghcr.io/acme/app'],
    ['localhost/app', 'localhost/app'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b'],
    ['Registry/app', 'Registry/app'], // an uppercase first component is a domain
    ['example.com:5000', 'docker.io/library/example.com'], // no slash: a familiar name with tag 5000
  ];
  for (const [input, name] of cases) assert.deepEqual(normalizeImageName(input), { ok: true, name }, input);
  for (const input of ['Alpine', 'ghcr.io/Acme/app', 'a'.repeat(64), 'alpine!', `docker.io/${'a'.repeat(256)}`, '']) {
    assert.equal(normalizeImageName(input).ok, false, input);
  }
  // The grammar's nested repetitions on re2js: a long non-matching name is refused at once.
  assert.equal(normalizeImageName(`${'a-'.repeat(400)}!`).ok, false);
});

test('sample lists: comments, platforms, line numbers in errors', () => {
  const samples = parseImageSamples('# c\nalpine   # trailing\n\nnginx linux/arm/v7\n', 'images.txt');
  assert.deepEqual(samples, [
    { source: 'images.txt:2', reference: 'alpine', name: 'docker.io/library/alpine' },
    { source: 'images.txt:4', reference: 'nginx', name: 'docker.io/library/nginx', platform: 'linux/arm/v7' },
  ]);
  assert.throws(
    () => parseImageSamples('alpine\nalpine linux\n', 'x.txt'),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'IMAGE_LIST_INVALID');
      assert.match(e.message, /^x\.txt:2: "linux" is not a platform/);
      return true;
    },
  );
});

test('lookup as docker/attest mapping/match.go: rewrites restart, a second match of a rewrite is a loop, undefined policies give none', () => {
  const m = compiled([
    { pattern: '^a/(.*)$', rewrite: 'b/$1' },
    { pattern: '^b/(.*)$', rewrite: 'a/$1' },
    { pattern: '^c/', 'policy-id': 'missing' },
    { pattern: 'd', platforms: ['linux/arm/v7'], 'policy-id': 'p' },
  ]);
  assert.deepEqual(resolvePolicy(m, 'a/x', 'linux/amd64'), { outcome: 'loop', rewrites: [0, 1], rule: 0 });
  assert.deepEqual(resolvePolicy(m, 'c/x', 'linux/amd64'), {
    outcome: 'unknown-policy',
    policyId: 'missing',
    rule: 2,
    rewrites: [],
    matchedName: 'c/x',
  });
  assert.equal(resolvePolicy(m, 'xdx', 'linux/arm/v7').outcome, 'policy');
  assert.equal(resolvePolicy(m, 'xdx', 'linux/arm/v6').outcome, 'no-match');
  // A rewrite that makes names grow without end is cut, not followed for ever.
  const grow = compiled([{ pattern: '^(x+)$', rewrite: '$1$1' }]);
  assert.equal(resolvePolicy(grow, 'x', 'linux/amd64').outcome, 'loop'); // applied once, then "xx" matches it again
  const huge = compiled([{ pattern: '(x)', rewrite: '$1$1$1$1$1$1$1$1$1$1' }]);
  assert.equal(resolvePolicy(huge, 'x'.repeat(500), 'linux/amd64').outcome, 'not-followed');
});

test('shadowed rules: certain only when sound, platforms considered; probable from examples; unreachable policies', () => {
  const shadows = (rules: MappingRule[]): Array<[number, number, string]> =>
    shadowedRules(compiled(rules)).map((s) => [s.rule, s.by, s.certainty]);
  const p = (pattern: string, platforms?: string[]): MappingRule => ({ pattern, 'policy-id': 'p', ...(platforms ? { platforms } : {}) });
  assert.deepEqual(shadows([p('^docker[.]io/'), p('^docker[.]io/acme/x$')]), [[1, 0, 'certain']]);
  assert.deepEqual(shadows([p('acme'), p('^docker[.]io/acme/')]), [[1, 0, 'certain']]);
  assert.deepEqual(shadows([p('.*'), p('^anything$')]), [[1, 0, 'certain']]);
  assert.deepEqual(shadows([p('^x$'), p('^x$')]), [[1, 0, 'certain']]);
  assert.deepEqual(shadows([p('^docker[.]io/library/(.*)$'), p('^docker[.]io/library/alpine$')]), [[1, 0, 'certain']]);
  // Not the same names: a later pattern that can match a newline, or is not anchored at the end.
  assert.deepEqual(shadows([p('^docker[.]io/library/(.*)$'), p('^docker[.]io/library/alpine')]), [[1, 0, 'probable']]);
  // Platforms: an earlier rule limited to amd64 does not shadow a rule for every platform, but covers a subset.
  assert.deepEqual(shadows([p('^docker[.]io/', ['linux/amd64']), p('^docker[.]io/acme$')]), []);
  assert.deepEqual(shadows([p('^docker[.]io/', ['linux/amd64', 'linux/arm64']), p('^docker[.]io/acme$', ['linux/arm64'])]), [
    [1, 0, 'certain'],
  ]);
  // Case folding and multi-line anchors are not read as literals and anchors.
  assert.deepEqual(shadows([p('(?i)^docker[.]io/'), p('^docker[.]io/acme$')]), [[1, 0, 'probable']]);
  assert.deepEqual(shadows([p('(?m)^docker[.]io/$'), p('^docker[.]io/acme$')]), []);
  // Probable: every example name of the later pattern is taken.
  assert.deepEqual(shadows([p('^docker[.]io/library/[a-z]+$'), p('^docker[.]io/library/(alpine|busybox)$')]), [[1, 0, 'probable']]);

  const m = compiled(
    [
      { pattern: '^a', 'policy-id': 'p' },
      { pattern: '^ab', 'policy-id': 'q' },
    ],
    ['p', 'q', 'r'],
  );
  assert.deepEqual(
    unreachablePolicies(m, ['p', 'q', 'r'], shadowedRules(m)).map((u) => [u.policyId, u.certainty, u.reason]),
    [
      ['q', 'certain', 'every rule that names it is shadowed (rules[1])'],
      ['r', 'certain', 'no rule names it'],
    ],
  );
});

/**
 * `tufctl policy impact` and the impact section of `tufctl validate`, on real
 * repositories made by `tufctl init` and changed the way a pull request
 * changes them (hand edits, `policy apply`, git commits and branches).
 *
 * Golden Markdown lives in test/golden/policy-impact/; UPDATE_GOLDEN=1
 * rewrites it from the current output. Hex runs of 7+ digits and ISO times
 * are replaced with placeholders before comparing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, PROJECT_DIR, tufctl, writeFile, type Fixture } from '../helpers/harness.js';
import { compareGolden as compareGoldenFile } from '../helpers/golden.js';

const GOLDEN_DIR = join(PROJECT_DIR, 'test', 'golden', 'policy-impact');

function compareGolden(name: string, output: string): void {
  compareGoldenFile(GOLDEN_DIR, name, output);
}

const PROVENANCE = (subject: string): string => `      - name: provenance
        predicate-types:
          - https://slsa.dev/provenance/v1
        signers:
          - issuer: https://token.actions.githubusercontent.com
            subject-pattern: '^repo:${subject}:ref:refs/heads/main$'
`;

/** Policies `acme-apps` and `hardened` beside the default one, with their Rego, keys lists and required attestations. */
function addPolicies(repo: string): void {
  for (const dir of ['acme', 'hardened']) {
    mkdirSync(join(repo, 'targets', dir), { recursive: true });
    for (const file of ['policy.rego', 'keys.yaml']) cpSync(join(repo, 'targets', 'doi', file), join(repo, 'targets', dir, file));
  }
  const attestations = join(repo, 'targets', 'attestations.yaml');
  writeFileSync(
    attestations,
    readFileSync(attestations, 'utf8') +
      `  acme-apps:\n    attestations:\n${PROVENANCE('acme/app')}` +
      `  hardened:\n    attestations:\n${PROVENANCE('acme/hardened')}` +
      `      - name: vex\n        predicate-types:\n          - https://openvex.dev/ns/v0.2.0\n        signers:\n` +
      `          - issuer: https://token.actions.githubusercontent.com\n            subject-pattern: '^repo:acme/hardened:ref:refs/heads/main$'\n`,
  );
}

function mapping(rules: string): string {
  return `version: v1
kind: policy-mapping
policies:
  - id: docker-official-images
    description: Docker Official Images
    files:
      - path: doi/policy.rego
      - path: doi/data.yaml
  - id: acme-apps
    files:
      - path: acme/policy.rego
      - path: acme/data.yaml
  - id: hardened
    files:
      - path: hardened/policy.rego
      - path: hardened/data.yaml
rules:
${rules}`;
}

const BASE_RULES = `  - pattern: '^docker[.]io/library/(.*)$'
    policy-id: docker-official-images
  - pattern: '^docker[.]io/acme/'
    policy-id: acme-apps
  - pattern: '^docker[.]io/hardened/'
    policy-id: hardened
`;

let fx: Fixture;

before(() => {
  fx = newRepository();
  addPolicies(fx.repo);
  writeFile(join(fx.repo, 'targets', 'mapping.yaml'), mapping(BASE_RULES));
  const images = join(fx.repo, 'images.txt');
  writeFileSync(
    images,
    `${readFileSync(images, 'utf8')}docker.io/acme/app\nalpine:3.20  # the familiar name\nnginx linux/arm64\ndocker.io/hardened/base\n`,
  );
  ok(['policy', 'apply'], { cwd: fx.repo });
  git(fx.repo, 'add', '-A');
  git(fx.repo, 'commit', '-qm', 'three policies');
});

after(() => fx.cleanup());

function branch(name: string): void {
  git(fx.repo, 'checkout', '-q', '-f', 'main');
  git(fx.repo, 'clean', '-qfd');
  git(fx.repo, 'checkout', '-q', '-b', name);
}

test('init seeds images.txt from the default mapping and names it in tufctl.json', () => {
  const seeded = newRepository();
  try {
    const config = JSON.parse(readFileSync(join(seeded.repo, 'tufctl.json'), 'utf8'));
    assert.equal(config.imageSamples, 'images.txt');
    const lines = readFileSync(join(seeded.repo, 'images.txt'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(lines, ['docker.io/library/alpine', 'docker.io/library/busybox']);
    assert.equal(git(seeded.repo, 'status', '--porcelain'), '', 'images.txt is committed by init');
    const r = ok(['policy', 'impact', '--json'], { cwd: seeded.repo });
    assert.equal(r.json.summary.unchanged, 2);
    assert.match(r.json.base.label, /^merge base of HEAD and main \([0-9a-f]{7}\)$/);
  } finally {
    seeded.cleanup();
  }
});

test('alpine moves to another policy, acme/app is left with none: golden Markdown, text and JSON', () => {
  branch('move-alpine');
  // alpine gets its own rule (before the library rule); the acme rule goes; a busybox rule after the library rule can never decide.
  writeFile(
    join(fx.repo, 'targets', 'mapping.yaml'),
    mapping(`  - pattern: '^docker[.]io/library/alpine$'
    policy-id: hardened
  - pattern: '^docker[.]io/library/(.*)$'
    policy-id: docker-official-images
  - pattern: '^docker[.]io/library/busybox$'
    policy-id: hardened
  - pattern: '^docker[.]io/hardened/'
    policy-id: hardened
`),
  );
  ok(['policy', 'apply'], { cwd: fx.repo });

  const markdown = ok(['policy', 'impact', '--base', 'main', '--format', 'markdown'], { cwd: fx.repo }).stdout;
  compareGolden('move-and-lose', markdown);

  const json = ok(['policy', 'impact', '--base', 'main', '--json'], { cwd: fx.repo }).json;
  assert.equal(json.ok, true);
  assert.deepEqual(json.summary, { changed: 1, lost: 1, gained: 0, requirements: 0, unchanged: 3, 'not-evaluated': 0 });
  const rows = json.channels[0].images as Array<{ name: string; change: string; before: any; after: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const alpine = rows.find((r) => r.name === 'docker.io/library/alpine')!;
  assert.equal(alpine.change, 'changed');
  assert.equal(alpine.before.policy.id, 'docker-official-images');
  assert.equal(alpine.after.policy.id, 'hardened');
  assert.deepEqual(
    alpine.after.policy.requires.map((r: { name: string }) => r.name),
    ['provenance', 'vex'],
  );
  assert.deepEqual(alpine.after.rule, { index: 0, pattern: '^docker[.]io/library/alpine$' });
  const acme = rows.find((r) => r.name === 'docker.io/acme/app')!;
  assert.equal(acme.change, 'lost');
  assert.equal(acme.after.result, 'no-policy');
  // Found without samples: the shadowed busybox rule and the policy no rule names.
  assert.deepEqual(
    json.channels[0].shadowed.map((s: { rule: number; by: number; certainty: string }) => [s.rule, s.by, s.certainty]),
    [[2, 1, 'certain']],
  );
  assert.deepEqual(
    json.channels[0].unreachable.map((u: { policyId: string; reason: string }) => [u.policyId, u.reason]),
    [['acme-apps', 'no rule names it']],
  );

  const text = ok(['policy', 'impact', '--base', 'main'], { cwd: fx.repo }).stdout;
  assert.match(text, /^changes policy: docker\.io\/library\/alpine: rules\[0\] → docker-official-images .* ⇒ rules\[0\] → hardened /m);
  assert.match(text, /^loses its policy: docker\.io\/acme\/app: rules\[1\] → acme-apps .* ⇒ no rule matches: no policy$/m);

  // validate: the Markdown report has the impact section; --json carries the same report.
  const validate = tufctl(['validate', '--base', 'main', '--format', 'markdown'], { cwd: fx.repo });
  assert.equal(validate.code, 2, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /\n#### Policy impact\n\nBase `main \([0-9a-f]{7}\)` → head `working tree`; /);
  assert.match(validate.stdout, /\| ⛔ loses its policy \| `docker\.io\/acme\/app` \| all \| rules\[1\] → `acme-apps`/);
  assert.match(validate.stdout, /##### Rules and policies/);
  const validateJson = tufctl(['validate', '--base', 'main', '--json'], { cwd: fx.repo }).json;
  assert.deepEqual(validateJson.impact.summary, json.summary);
  const validateText = tufctl(['validate', '--base', 'main'], { cwd: fx.repo }).stdout;
  assert.match(validateText, /^impact: loses its policy: docker\.io\/acme\/app: /m);
});

test('a rewrite chain and a platform-limited rule are evaluated as the reference client does', () => {
  branch('mirror-chain');
  // Docker's attest library, mapping/match.go findPolicyMatchImpl: rules in order; a rule with platforms applies only
  // when one equals the image's platform (go-containerregistry Platform.Equals: os, architecture and variant compared
  // exactly, so linux/arm64 is not linux/arm64/v8); a pattern matches anywhere in the name (regexp MatchString); a
  // rewrite replaces every match (ReplaceAllString) and the lookup starts again at the first rule.
  writeFile(
    join(fx.repo, 'targets', 'mapping.yaml'),
    mapping(`  - pattern: '^mirror[.]example[.]com/(.*)$'
    rewrite: 'docker.io/$1'
  - pattern: '^docker[.]io/hub/(.*)$'
    rewrite: 'docker.io/library/$1'
  - pattern: '^docker[.]io/library/(.*)$'
    platforms: ['linux/arm64/v8']
    policy-id: hardened
  - pattern: '^docker[.]io/library/(.*)$'
    policy-id: docker-official-images
  - pattern: 'acme'
    policy-id: acme-apps
`),
  );
  ok(['policy', 'apply'], { cwd: fx.repo });
  const extra = join(fx.root, 'more-images.txt');
  writeFileSync(
    extra,
    [
      '# mirror names, rewritten twice',
      'mirror.example.com/hub/alpine linux/arm64/v8',
      'mirror.example.com/hub/alpine linux/arm64',
      'mirror.example.com/hub/redis',
      '# policy-impact is partial matching: "acme" anywhere in the normalised name',
      'ghcr.io/acme-corp/tool:1.0',
      '',
    ].join('\n'),
  );
  const json = ok(['policy', 'impact', '--base', 'main', '--images', extra, '--json'], { cwd: fx.repo }).json;
  assert.deepEqual(json.samples.lists, ['images.txt', extra]);
  type Row = { name: string; platform: string; after: { text: string; policy?: { id: string }; matchedName?: string } };
  const rows = json.channels[0].images as Row[];
  const find = (name: string, platform: string): Row => {
    const row = rows.find((r) => r.name === name && r.platform === platform);
    assert.ok(row, `no row for ${name} (${platform}): ${JSON.stringify(rows.map((r) => [r.name, r.platform]))}`);
    return row;
  };
  const v8 = find('mirror.example.com/hub/alpine', 'linux/arm64/v8');
  assert.equal(v8.after.text, 'rules[0] → rules[1] → rules[2] → hardened');
  assert.equal(v8.after.matchedName, 'docker.io/library/alpine');
  assert.equal(find('mirror.example.com/hub/alpine', 'linux/arm64').after.text, 'rules[0] → rules[1] → rules[3] → docker-official-images');
  // Without a platform: the platform-limited rule decides on linux/arm64/v8 only, every other platform gets the library rule.
  assert.equal(find('mirror.example.com/hub/redis', 'linux/arm64/v8').after.policy?.id, 'hardened');
  assert.equal(find('mirror.example.com/hub/redis', 'other platforms').after.policy?.id, 'docker-official-images');
  assert.equal(find('ghcr.io/acme-corp/tool', 'all').after.text, 'rules[4] → acme-apps');
  // Samples from the repository's list are evaluated too; alpine on arm64/v8 now meets the hardened policy.
  assert.equal(find('docker.io/library/alpine', 'linux/arm64/v8').after.policy?.id, 'hardened');
  assert.equal(find('docker.io/library/alpine', 'other platforms').after.policy?.id, 'docker-official-images');
});

test('bad input: a malformed image line (with its line number), an unreadable base ref, a hostile pattern', () => {
  branch('bad-input');
  const bad = join(fx.root, 'bad-images.txt');
  writeFileSync(bad, 'alpine\n\n# fine so far\nAlpine:3.20\n');
  const r = tufctl(['policy', 'impact', '--base', 'main', '--images', bad], { cwd: fx.repo });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^tufctl: error \[IMAGE_LIST_INVALID\]: .*bad-images\.txt:4: "Alpine:3\.20" is not an image reference the verifier accepts: repository name "library\/Alpine" must be lowercase\n$/,
  );

  writeFileSync(bad, 'alpine linux/arm64/v9\nnginx linux/amd64 extra\n');
  const two = tufctl(['policy', 'impact', '--base', 'main', '--images', bad], { cwd: fx.repo });
  assert.equal(two.code, 1);
  assert.match(two.stderr, /\[IMAGE_LIST_INVALID\]: .*bad-images\.txt: 2 malformed lines\n/);
  assert.match(two.stderr, /bad-images\.txt:1: unknown variant "v9" for arm64/);
  assert.match(two.stderr, /bad-images\.txt:2: expected an image reference and at most one platform, found 3 fields/);

  const missing = tufctl(['policy', 'impact', '--base', 'no-such-branch'], { cwd: fx.repo });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^tufctl: error \[BASE_UNREADABLE\]: base ref "no-such-branch" does not resolve to a commit\n$/);
  const json = tufctl(['policy', 'impact', '--base', 'no-such-branch', '--json'], { cwd: fx.repo });
  assert.equal(json.json.ok, false);
  assert.equal(json.json.error.code, 'BASE_UNREADABLE');

  // A pattern that takes exponential time in a backtracking engine, against a long name: RE2 matching stays linear.
  writeFile(
    join(fx.repo, 'targets', 'mapping.yaml'),
    mapping(`  - pattern: '^docker[.]io/library/(a|a)*(a+)+b$'
    policy-id: hardened
${BASE_RULES}`),
  );
  ok(['policy', 'apply'], { cwd: fx.repo });
  writeFileSync(bad, `docker.io/library/${'a'.repeat(200)}\n`);
  const hostile = ok(['policy', 'impact', '--base', 'main', '--images', bad, '--json'], { cwd: fx.repo }).json;
  const row = hostile.channels[0].images.find((x: { name: string }) => x.name.endsWith('aaaa'));
  assert.equal(row.after.policy.id, 'docker-official-images');
});

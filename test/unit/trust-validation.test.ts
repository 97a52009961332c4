/**
 * Trust data validation: the default policy set validates cleanly, and each
 * rule reports its problem naming the file, the line (for YAML) and the
 * field. Signer keys are generated at test time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorsOf, formatProblem, type TrustProblem } from '../../src/trust/problems.js';
import { loadChannel, trustChannels, validateTrustData } from '../../src/trust/validate-trust.js';
import { exampleStrings, goReplaceAll, parseGoRegexp, re2Problem } from '../../src/trust/re2.js';
import { platformProblem } from '../../src/trust/mapping-rules.js';
import { regoProblems } from '../../src/trust/rego-check.js';
import { TrustDataError } from '../../src/errors.js';
import { tempDir } from '../helpers/harness.js';
import {
  defaultDataYaml,
  findProblem,
  generateSignerKey,
  keyEntry,
  keysYaml,
  lineOf,
  trustRepo,
  type TrustRepo,
} from '../helpers/trust-fixtures.js';

const MAPPING = 'targets/mapping.yaml';
const ATTESTATIONS = 'targets/attestations.yaml';
const KEYS = 'targets/doi/keys.yaml';
const REVOCATIONS = 'targets/revocations.json';

function withRepo(run: (repo: TrustRepo) => void, options: { testing?: boolean; topLevel?: boolean } = {}): void {
  const repo = trustRepo(options);
  try {
    run(repo);
  } finally {
    repo.cleanup();
  }
}

/** Writes targets/<path> and validates the repository. */
function validateWith(repo: TrustRepo, path: string, text: string): TrustProblem[] {
  repo.write(path, text);
  return validateTrustData(repo.dir);
}

function mappingText(body: { policies?: string; rules?: string }): string {
  return [
    'version: v1',
    'kind: policy-mapping',
    'policies:',
    body.policies ??
      ['  - id: docker-official-images', '    files:', '      - path: doi/policy.rego', '      - path: doi/data.yaml'].join('\n'),
    'rules:',
    body.rules ?? ["  - pattern: '^docker[.]io/library/(.*)$'", '    policy-id: docker-official-images'].join('\n'),
    '',
  ].join('\n');
}

function attestationsText(signers: string, predicateTypes = '          - https://slsa.dev/provenance/v1'): string {
  return [
    'version: v1',
    'kind: required-attestations',
    'policies:',
    '  docker-official-images:',
    '    attestations:',
    '      - name: provenance',
    '        predicate-types:',
    predicateTypes,
    '        signers:',
    signers,
    '',
  ].join('\n');
}

// --- the default set ---------------------------------------------------------

test('the default policy set validates with no problems (top level and testing channel)', () => {
  withRepo(
    (repo) => {
      const problems = validateTrustData(repo.dir);
      assert.deepEqual(problems, [], problems.map(formatProblem).join('\n'));
      assert.deepEqual(trustChannels(repo.dir), ['', 'testing']);
    },
    { testing: true },
  );
});

test('a repository without trust files has no problems', () => {
  const dir = tempDir();
  try {
    assert.deepEqual(validateTrustData(dir.path), []);
  } finally {
    dir.cleanup();
  }
});

test('loadChannel returns the parsed model with paths relative to targets/', () => {
  withRepo(
    (repo) => {
      const key = generateSignerKey();
      repo.write('testing/doi/keys.yaml', keysYaml([keyEntry(key)]));
      const top = loadChannel(repo.dir, '');
      assert.equal(top.mapping.policies[0]!.id, 'docker-official-images');
      assert.deepEqual(
        top.policies.map((p) => ({ id: p.id, dir: p.dir, regoPath: p.regoPath, dataPath: p.dataPath, keysPath: p.keysPath, keys: p.keys })),
        [
          {
            id: 'docker-official-images',
            dir: 'doi',
            regoPath: 'doi/policy.rego',
            dataPath: 'doi/data.yaml',
            keysPath: 'doi/keys.yaml',
            keys: [],
          },
        ],
      );
      assert.deepEqual(
        top.policies[0]!.requiredAttestations.map((r) => [r.name, r['predicate-types']]),
        [
          ['provenance', ['https://slsa.dev/provenance/v1']],
          ['sbom', ['https://spdx.dev/Document', 'https://cyclonedx.org/bom']],
        ],
      );
      const testing = loadChannel(repo.dir, 'testing');
      assert.equal(testing.channel, 'testing');
      assert.equal(testing.policies[0]!.regoPath, 'testing/doi/policy.rego');
      assert.equal(testing.policies[0]!.dataPath, 'testing/doi/data.yaml');
      assert.equal(testing.policies[0]!.keysPath, 'testing/doi/keys.yaml');
      assert.equal(testing.policies[0]!.dir, 'testing/doi');
      assert.equal(testing.policies[0]!.keys[0]!.id, key.id);
    },
    { testing: true },
  );
});

test('loadChannel refuses a channel whose files do not parse, with every problem as a detail', () => {
  withRepo((repo) => {
    repo.edit('mapping.yaml', (t) => t.replace('kind: policy-mapping', 'kind: policy-mappings'));
    const line = lineOf(repo.read('mapping.yaml'), 'kind:');
    assert.throws(
      () => loadChannel(repo.dir, ''),
      (e: unknown) =>
        e instanceof TrustDataError &&
        e.code === 'TRUST_INVALID' &&
        e.details.some((d) => d === `targets/mapping.yaml:${line}: kind: must be "policy-mapping" (got "policy-mappings")`),
    );
    assert.throws(() => loadChannel(repo.dir, 'testing'), TrustDataError);
  });
});

test('extra checks plug into validation', () => {
  withRepo((repo) => {
    const extra: TrustProblem = { severity: 'error', file: 'targets/jwks/x.json', message: 'extra' };
    const problems = validateTrustData(repo.dir, {
      extraChecks: [
        () => [extra],
        () => {
          throw new Error('boom');
        },
      ],
    });
    assert.deepEqual(problems[0], extra);
    findProblem(problems, { includes: 'a trust check failed: boom' });
  });
});

test('a valid signer keys list with a key-id signer validates', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    repo.write('doi/keys.yaml', keysYaml([keyEntry(key)]));
    repo.write(
      'attestations.yaml',
      attestationsText(`          - key-id: ${key.id}\n            from: 2025-01-01T00:00:00Z\n            to: 2026-01-01T00:00:00Z`),
    );
    repo.write('doi/data.yaml', defaultDataYaml({ keys: [keyEntry(key)] }));
    const problems = validateTrustData(repo.dir);
    assert.deepEqual(problems, [], problems.map(formatProblem).join('\n'));
  });
});

// --- YAML ------------------------------------------------------------------------

test('a YAML syntax error names the file and line', () => {
  withRepo((repo) => {
    const text = mappingText({}).replace('    policy-id: docker-official-images', '    policy-id: docker-official-images: yes');
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { file: MAPPING, line: lineOf(text, 'policy-id:'), includes: 'YAML: Nested mappings are not allowed' });
    assert.ok(
      problems.every((p) => p.file !== MAPPING || p.message.startsWith('YAML:')),
      'no schema problems for a file that does not parse',
    );
  });
});

test('duplicate keys, anchors, aliases and tags are refused with their lines', () => {
  withRepo((repo) => {
    let problems = validateWith(repo, 'mapping.yaml', 'version: v1\nkind: policy-mapping\nversion: v1\npolicies: []\nrules: []\n');
    findProblem(problems, { file: MAPPING, line: 3, includes: 'duplicate key' });
    problems = validateWith(
      repo,
      'mapping.yaml',
      mappingText({}).replace('  - id: docker-official-images', '  - id: &name docker-official-images'),
    );
    findProblem(problems, { file: MAPPING, line: 4, includes: 'anchors (&name)' });
    problems = validateWith(
      repo,
      'mapping.yaml',
      mappingText({}).replace('    policy-id: docker-official-images', '    policy-id: !!str docker-official-images'),
    );
    findProblem(problems, { file: MAPPING, line: 10, includes: 'tags' });
  });
});

// --- mapping.yaml: schema --------------------------------------------------------

test('an unknown field (a typo) is reported with its path and line, and a suggestion', () => {
  withRepo((repo) => {
    const text = mappingText({ rules: ["  - pattern: '^docker[.]io/library/(.*)$'", '    polcy-id: docker-official-images'].join('\n') });
    const problems = validateWith(repo, 'mapping.yaml', text);
    const p = findProblem(problems, { file: MAPPING, field: 'rules[0].polcy-id', line: lineOf(text, 'polcy-id') });
    assert.match(p.message, /unknown field "polcy-id" \(did you mean "policy-id"\?\)/);
    findProblem(problems, { file: MAPPING, field: 'rules[0]', includes: 'must have one of "policy-id" or "rewrite"' });
  });
});

test('a wrong kind or version is reported on its line', () => {
  withRepo((repo) => {
    const text = mappingText({}).replace('kind: policy-mapping', 'kind: policy-mappings').replace('version: v1', 'version: v2');
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { file: MAPPING, field: 'kind', line: 2, includes: 'must be "policy-mapping"' });
    findProblem(problems, { file: MAPPING, field: 'version', line: 1, includes: 'must be "v1"' });
  });
});

test('an enum value outside its set lists the allowed values', () => {
  withRepo((repo) => {
    const text = mappingText({
      policies: [
        '  - id: docker-official-images',
        '    files:',
        '      - path: doi/policy.rego',
        '      - path: doi/data.yaml',
        '    attestations:',
        '      style: attachd',
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, {
      field: 'policies[0].attestations.style',
      line: lineOf(text, 'attachd'),
      includes: 'must be one of attached, referrers',
    });
  });
});

test('a rule with both policy-id and rewrite is refused', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: ["  - pattern: '^a/(.*)$'", '    policy-id: docker-official-images', "    rewrite: 'b/$1'"].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { field: 'rules[0]', line: lineOf(text, "pattern: '^a/"), includes: 'only one of "policy-id" or "rewrite"' });
  });
});

// --- mapping.yaml: patterns ----------------------------------------------------

test('an invalid regular expression is reported on its rule', () => {
  withRepo((repo) => {
    const text = mappingText({ rules: ["  - pattern: '^docker[.io/library/(.*)$'", '    policy-id: docker-official-images'].join('\n') });
    const problems = validateWith(repo, 'mapping.yaml', text);
    const p = findProblem(problems, { file: MAPPING, field: 'rules[0].pattern', line: lineOf(text, 'pattern:') });
    assert.match(p.message, /not a valid Go \(RE2\) regular expression: missing closing \]/);
  });
});

test('lookaround, backreferences, atomic groups and possessive quantifiers are refused (RE2 cannot compile them)', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: ["  - pattern: '^(?!evil)docker[.]io/library/(.*)$'", '    policy-id: docker-official-images'].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { field: 'rules[0].pattern', line: lineOf(text, 'pattern:'), includes: 'lookahead (?! is not supported by RE2' });
  });
  assert.match(re2Problem('(?<=a)b')!, /lookbehind/);
  assert.match(re2Problem('(?<!a)b')!, /lookbehind/);
  assert.match(re2Problem('(?=a)')!, /lookahead/);
  assert.match(re2Problem('(a)\\1')!, /backreferences/);
  assert.match(re2Problem('(?<n>a)\\k<n>')!, /backreferences/);
  assert.match(re2Problem('(?>a)')!, /atomic/);
  assert.match(re2Problem('a++')!, /possessive/);
  assert.match(re2Problem('a**')!, /nested repetition/);
  assert.match(re2Problem('\\y')!, /invalid escape/);
  assert.match(re2Problem('x{1001}')!, /repeat count/);
  for (const ok of [
    '^docker[.]io/library/(.*)$',
    '(?P<name>[a-z]+)/(?<tag>.*)',
    '(?i)^Docker',
    '[[:alpha:]_-]+',
    '\\pL+',
    'a{,3}',
    '\\Q.*\\E',
    '\\012',
  ]) {
    assert.equal(re2Problem(ok), undefined, ok);
  }
});

test('Go replacement semantics: $1, ${name}, $$, $1x read as a name, empty matches after a match', () => {
  const re = parseGoRegexp('^docker[.]io/library/(?P<name>.*)$');
  assert.ok(re.ok);
  assert.equal(goReplaceAll(re.regexp, 'docker.io/library/alpine', 'x/$1'), 'x/alpine');
  assert.equal(goReplaceAll(re.regexp, 'docker.io/library/alpine', 'x/${name}/$$'), 'x/alpine/$');
  assert.equal(goReplaceAll(re.regexp, 'docker.io/library/alpine', 'x/$1_y'), 'x/');
  const star = parseGoRegexp('a*');
  assert.ok(star.ok);
  assert.equal(goReplaceAll(star.regexp, 'baaac', '-'), '-b-c-');
  const examples = parseGoRegexp('^(?:yin|yang)/(.*)$');
  assert.ok(examples.ok);
  assert.deepEqual(exampleStrings(examples.regexp), ['yin/x', 'yin/', 'yang/x', 'yang/']);
});

// --- mapping.yaml: policies and files --------------------------------------------

test('a duplicate policy id is reported on the second one', () => {
  withRepo((repo) => {
    const policy = ['  - id: docker-official-images', '    files:', '      - path: doi/policy.rego', '      - path: doi/data.yaml'].join(
      '\n',
    );
    const text = mappingText({ policies: `${policy}\n${policy}` });
    const problems = validateWith(repo, 'mapping.yaml', text);
    const p = findProblem(problems, { file: MAPPING, field: 'policies[1].id', line: lineOf(text, '- id:', 2) });
    assert.match(p.message, /duplicate policy id "docker-official-images" \(also policies\[0\]\)/);
  });
});

test('a rule naming an unknown policy is reported, and an unused policy is a warning', () => {
  withRepo((repo) => {
    const text = mappingText({ rules: ["  - pattern: '^docker[.]io/library/(.*)$'", '    policy-id: official-images'].join('\n') });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, {
      severity: 'error',
      file: MAPPING,
      field: 'rules[0].policy-id',
      line: lineOf(text, 'policy-id: official-images'),
      includes: 'unknown policy "official-images" (policies: docker-official-images)',
    });
    findProblem(problems, { severity: 'warning', field: 'policies[0].id', includes: 'not used by any rule' });
  });
});

test('a missing policy file is reported on its files entry', () => {
  withRepo((repo) => {
    repo.remove('doi/data.yaml');
    const text = repo.read('mapping.yaml');
    const problems = validateTrustData(repo.dir);
    findProblem(problems, {
      file: MAPPING,
      field: 'policies[0].files[1].path',
      line: lineOf(text, 'path: doi/data.yaml'),
      includes: 'file "doi/data.yaml" not found in targets/',
    });
  });
});

test('a policy with two .rego files, or none, is refused', () => {
  withRepo((repo) => {
    repo.write('doi/extra.rego', 'package attest\n\nresult := {"success": false}\n');
    let text = mappingText({
      policies: [
        '  - id: docker-official-images',
        '    files:',
        '      - path: doi/policy.rego',
        '      - path: doi/extra.rego',
        '      - path: doi/data.yaml',
      ].join('\n'),
    });
    let problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, {
      field: 'policies[0].files[1].path',
      line: lineOf(text, 'doi/extra.rego'),
      includes: 'lists 2 .rego files (doi/policy.rego, doi/extra.rego)',
    });
    text = mappingText({ policies: ['  - id: docker-official-images', '    files:', '      - path: doi/data.yaml'].join('\n') });
    problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { field: 'policies[0].files', line: lineOf(text, 'files:'), includes: 'has no .rego file' });
  });
});

test('two .yaml data files are refused, explaining that each replaces the data root', () => {
  withRepo((repo) => {
    repo.write('doi/more.yaml', 'x: 1\n');
    const text = mappingText({
      policies: [
        '  - id: docker-official-images',
        '    files:',
        '      - path: doi/policy.rego',
        '      - path: doi/data.yaml',
        '      - path: doi/more.yaml',
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    const p = findProblem(problems, {
      field: 'policies[0].files[2].path',
      line: lineOf(text, 'doi/more.yaml'),
      includes: 'lists 2 .yaml files',
    });
    assert.match(p.message, /root of OPA's data document/);
    assert.match(p.message, /replaces/);
  });
});

test('files that are neither .rego nor .yaml are refused (the client would load them as Rego)', () => {
  withRepo((repo) => {
    repo.write('doi/data.yml', 'x: 1\n');
    repo.write('doi/data.json', '{}\n');
    const text = mappingText({
      policies: [
        '  - id: docker-official-images',
        '    files:',
        '      - path: doi/policy.rego',
        '      - path: doi/data.yml',
        '      - path: doi/data.json',
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { field: 'policies[0].files[1].path', line: lineOf(text, 'doi/data.yml'), includes: 'name data files .yaml' });
    findProblem(problems, {
      field: 'policies[0].files[2].path',
      line: lineOf(text, 'doi/data.json'),
      includes: 'load this file as a Rego module',
    });
  });
});

test('path traversal and other invalid target paths in files[].path are refused', () => {
  withRepo((repo) => {
    const text = mappingText({
      policies: [
        '  - id: docker-official-images',
        '    files:',
        '      - path: ../secrets/policy.rego',
        '      - path: /etc/data.yaml',
        '      - path: doi\\policy.rego',
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, { field: 'policies[0].files[0].path', line: lineOf(text, '../secrets'), includes: 'contains a ".." segment' });
    findProblem(problems, { field: 'policies[0].files[1].path', line: lineOf(text, '/etc/data.yaml'), includes: 'is absolute' });
    findProblem(problems, { field: 'policies[0].files[2].path', line: lineOf(text, 'doi\\policy'), includes: 'backslash' });
  });
});

// --- mapping.yaml: platforms and rewrites ----------------------------------------

test('bad platforms are reported per entry', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        "    platforms: ['linux/amd64', 'linux/amd65', 'linux/arm/v9', 'linux', 'linux/arm64/v8', 'plan10/386']",
        '    policy-id: docker-official-images',
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    const line = lineOf(text, 'platforms:');
    findProblem(problems, { field: 'rules[0].platforms[1]', line, includes: 'unknown architecture "amd65"' });
    findProblem(problems, { field: 'rules[0].platforms[2]', line, includes: 'unknown variant "v9" for arm' });
    findProblem(problems, { field: 'rules[0].platforms[3]', line, includes: 'write os/arch or os/arch/variant' });
    findProblem(problems, { field: 'rules[0].platforms[5]', line, includes: 'unknown operating system "plan10"' });
    assert.equal(problems.filter((p) => p.field?.startsWith('rules[0].platforms')).length, 4);
  });
  assert.equal(platformProblem('linux/arm/v7'), undefined);
  assert.equal(platformProblem('windows/amd64'), undefined);
  assert.match(platformProblem('linux/386/v2')!, /has no variants/);
});

test('rewrite rules that point at each other are a loop', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^yin/(.*)$'",
        "    rewrite: 'yang/$1'",
        "  - pattern: '^yang/(.*)$'",
        "    rewrite: 'yin/$1'",
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    const loops = problems.filter((p) => p.message.startsWith('rewrite rules loop'));
    assert.equal(loops.length, 1, loops.map(formatProblem).join('\n'));
    assert.equal(loops[0]!.field, 'rules[1].rewrite');
    assert.equal(loops[0]!.line, lineOf(text, "rewrite: 'yang/"));
    assert.equal(loops[0]!.message, 'rewrite rules loop: rules[1] → rules[2] → rules[1] (e.g. for "yin/x")');
  });
});

test('a rewrite that matches its own output is a self-loop; platforms are taken into account', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^mirror[.]example/(.*)$'",
        "    platforms: ['linux/arm64/v8']",
        "    rewrite: 'mirror.example/$1'",
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, {
      field: 'rules[1].rewrite',
      line: lineOf(text, "rewrite: 'mirror"),
      includes: 'rewrite rules loop: rules[1] → rules[1] (e.g. for "mirror.example/x" on linux/arm64/v8)',
    });
  });
});

test('rewrite chains that end in a policy are not loops', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^mycoolmirror[.]org/library/(.*)$'",
        "    rewrite: 'docker.io/library/$1'",
        "  - pattern: '^myevencoolermirror[.]org/library/(.*)$'",
        "    rewrite: 'mycoolmirror.org/library/$1'",
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    assert.deepEqual(errorsOf(problems), [], problems.map(formatProblem).join('\n'));
  });
});

/** Validates and returns the problems and the milliseconds it took. */
function timedValidate(repo: TrustRepo, text: string): { problems: TrustProblem[]; ms: number } {
  const started = performance.now();
  const problems = validateWith(repo, 'mapping.yaml', text);
  return { problems, ms: performance.now() - started };
}

test('catastrophic-backtracking patterns (the issue: ^(a|a)*c$ and ^a{40}$) validate promptly and are valid', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^(a|a)*c$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^a{40}$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^(a+)+$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^library/(.*)$'",
        "    rewrite: 'docker.io/library/$1'",
      ].join('\n'),
    });
    const { problems, ms } = timedValidate(repo, text);
    assert.deepEqual(problems, []);
    assert.ok(ms < 20_000, `took ${ms} ms`);
  });
});

test('rewrite loops through catastrophic-backtracking patterns are found promptly', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^(a|a)*c$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^a{40}$'",
        "    rewrite: '${0}c'",
        "  - pattern: '^(a+)+$'",
        "    rewrite: '${1}a'",
        "  - pattern: '(x+x+)+y'",
        "    rewrite: 'xx${1}y'",
        "  - pattern: '^(a*)*b$'",
        "    rewrite: 'z$1'",
        "  - pattern: '^z(a*)b?$'",
        "    rewrite: 'a${1}b'",
      ].join('\n'),
    });
    const { problems, ms } = timedValidate(repo, text);
    const loops = problems.filter((p) => p.message.startsWith('rewrite rules loop')).map((p) => `${p.field}: ${p.message}`);
    assert.deepEqual(loops, [
      'rules[3].rewrite: rewrite rules loop: rules[3] → rules[3] (e.g. for "a")',
      'rules[4].rewrite: rewrite rules loop: rules[4] → rules[4] (e.g. for "xxy")',
      'rules[5].rewrite: rewrite rules loop: rules[5] → rules[6] → rules[5] (e.g. for "ab")',
    ]);
    assert.equal(problems.length, 3, problems.map(formatProblem).join('\n'));
    assert.ok(ms < 20_000, `took ${ms} ms`);
  });
});

test('the loop search stops at its budget and names the rules it could not follow (a warning)', () => {
  withRepo((repo) => {
    // Each match of these patterns against their ~1,000-character example names costs about 2.5 million steps.
    const costly = Array.from({ length: 12 }, (_, k) => [`  - pattern: '^(a?){500}a{500}b${k}$'`, `    rewrite: 'x${k}'`]).flat();
    const text = mappingText({
      rules: ["  - pattern: '^docker[.]io/library/(.*)$'", '    policy-id: docker-official-images', ...costly].join('\n'),
    });
    const { problems, ms } = timedValidate(repo, text);
    assert.deepEqual(errorsOf(problems), []);
    assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
    const warning = findProblem(problems, { severity: 'warning', includes: 'not checked for rewrite loops' });
    assert.match(warning.field!, /^rules\[([1-9]|1[0-2])\]\.pattern$/);
    assert.match(
      warning.message,
      /the loop search used its whole budget \(50,000,000 steps\) before following the names built from rules\[\d+\], /,
    );
    assert.match(warning.message, /so the mapping may still loop/);
    assert.ok(warning.message.includes('rules[12]') || warning.message.includes('more'), warning.message);
    assert.ok(ms < 20_000, `took ${ms} ms`);
  });
});

test('a rewrite that makes names longer than the search follows is a warning on that rule', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^(a{1000})$'",
        "    rewrite: 'b$1$1$1$1$1'",
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
    findProblem(problems, {
      severity: 'warning',
      field: 'rules[1].rewrite',
      includes: `not checked for rewrite loops past this rule: it makes names longer than 4096 characters (e.g. from "${'a'.repeat(40)}…")`,
    });
  });
});

test('patterns too large to check are refused, alone or together', () => {
  withRepo((repo) => {
    // About 10,000 instructions each: nine fit in the mapping's 100,000, the tenth and eleventh do not.
    const big = (k: number): string[] => [`  - pattern: '^(?:abcdefghij){1000}${k}$'`, '    policy-id: docker-official-images'];
    let text = mappingText({
      rules: Array.from({ length: 11 }, (_, k) => big(k))
        .flat()
        .join('\n'),
    });
    let problems = validateWith(repo, 'mapping.yaml', text);
    const refused = errorsOf(problems);
    assert.deepEqual(
      refused.map((p) => p.field),
      ['rules[9].pattern', 'rules[10].pattern'],
      problems.map(formatProblem).join('\n'),
    );
    assert.match(
      refused[0]!.message,
      /^"\^\(\?:abcdefghij\)\{1000\}9\$" is too large for tufctl to check: it compiles to about 10,003 RE2 instructions, and the rules before it use all but 9,973; a mapping's patterns may compile to 100,000 together/,
    );
    text = mappingText({
      rules: [`  - pattern: '${'(?:abcdefghij){1000}'.repeat(11)}'`, '    policy-id: docker-official-images'].join('\n'),
    });
    problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, {
      severity: 'error',
      field: 'rules[0].pattern',
      includes: 'is too large for tufctl to check: it compiles to about 110,000 RE2 instructions; a mapping',
    });
  });
});

test('a rewrite referring to a capture group that does not exist is refused', () => {
  withRepo((repo) => {
    const text = mappingText({
      rules: [
        "  - pattern: '^docker[.]io/library/(.*)$'",
        '    policy-id: docker-official-images',
        "  - pattern: '^library/(.*)$'",
        "    rewrite: 'docker.io/library/$2'",
        "  - pattern: '^lib/(?P<repo>.*)$'",
        "    rewrite: 'docker.io/library/${name}'",
        "  - pattern: '^l/(.*)$'",
        "    rewrite: 'docker.io/library/$1_x'",
      ].join('\n'),
    });
    const problems = validateWith(repo, 'mapping.yaml', text);
    findProblem(problems, {
      field: 'rules[1].rewrite',
      line: lineOf(text, "'docker.io/library/$2'"),
      includes: '"$2" refers to capture group 2, but the pattern has 1 capture group',
    });
    findProblem(problems, { field: 'rules[2].rewrite', includes: '"${name}" refers to no capture group named "name"' });
    findProblem(problems, { field: 'rules[3].rewrite', includes: 'write "${1}_x"' });
  });
});

// --- attestations.yaml -------------------------------------------------------------

test('attestations.yaml naming a policy the mapping does not have is refused', () => {
  withRepo((repo) => {
    const text = repo.read('attestations.yaml').replace('  docker-official-images:', '  docker-oficial-images:');
    const problems = validateWith(repo, 'attestations.yaml', text);
    findProblem(problems, {
      severity: 'error',
      file: ATTESTATIONS,
      field: 'policies.docker-oficial-images',
      line: lineOf(text, 'docker-oficial-images:'),
      includes: 'unknown policy "docker-oficial-images": targets/mapping.yaml has no policy with this id',
    });
    findProblem(problems, {
      severity: 'warning',
      file: ATTESTATIONS,
      includes: 'policy "docker-official-images" of targets/mapping.yaml has no required attestations',
    });
  });
});

test('a key-id signer must be a key of the policy keys list', () => {
  withRepo((repo) => {
    const missing = generateSignerKey();
    const text = attestationsText(`          - key-id: ${missing.id}`);
    const problems = validateWith(repo, 'attestations.yaml', text);
    findProblem(problems, {
      file: ATTESTATIONS,
      field: 'policies.docker-official-images.attestations[0].signers[0].key-id',
      line: lineOf(text, 'key-id:'),
      includes: `unknown signer key ${missing.id}: no key with this id in targets/doi/keys.yaml`,
    });
  });
});

test('a revoked key named as a signer is a warning', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    repo.write('doi/keys.yaml', keysYaml([keyEntry(key, { status: 'revoked', to: '2025-06-01T00:00:00Z', reason: 'lost' })]));
    const problems = validateWith(repo, 'attestations.yaml', attestationsText(`          - key-id: ${key.id}`));
    findProblem(problems, {
      severity: 'warning',
      field: 'policies.docker-official-images.attestations[0].signers[0].key-id',
      includes: 'is revoked',
    });
    assert.deepEqual(errorsOf(problems), []);
  });
});

test('a predicate type that is not an absolute URI, or is repeated, is refused', () => {
  withRepo((repo) => {
    const text = attestationsText(
      '          - issuer: https://token.actions.githubusercontent.com\n            subject-pattern: ^repo:x/y:.*$',
      '          - provenance\n          - https://slsa.dev/provenance/v1\n          - https://slsa.dev/provenance/v1',
    );
    const problems = validateWith(repo, 'attestations.yaml', text);
    findProblem(problems, {
      file: ATTESTATIONS,
      field: 'policies.docker-official-images.attestations[0].predicate-types[0]',
      line: lineOf(text, '- provenance'),
      includes: 'must be an absolute URI',
    });
    findProblem(problems, {
      field: 'policies.docker-official-images.attestations[0].predicate-types[2]',
      line: lineOf(text, 'https://slsa.dev/provenance/v1', 2),
      includes: 'duplicate predicate type',
    });
  });
});

test('signer patterns compile as RE2, identity signers need an https issuer, windows end after they start', () => {
  withRepo((repo) => {
    const text = attestationsText(
      [
        '          - issuer: http://token.example',
        "            subject-pattern: '^repo:(?=x)'",
        '            from: 2025-02-01T00:00:00Z',
        '            to: 2025-01-01T00:00:00Z',
        '          - key-id: abc',
      ].join('\n'),
    );
    const problems = validateWith(repo, 'attestations.yaml', text);
    const at = 'policies.docker-official-images.attestations[0].signers';
    findProblem(problems, { field: `${at}[0].issuer`, line: lineOf(text, 'http://token'), includes: 'must be an https:// URL' });
    findProblem(problems, { field: `${at}[0].subject-pattern`, line: lineOf(text, 'subject-pattern'), includes: 'lookahead' });
    findProblem(problems, {
      field: `${at}[0].to`,
      line: lineOf(text, 'to: 2025-01-01'),
      includes: '"to" (2025-01-01T00:00:00Z) must be later than "from"',
    });
    findProblem(problems, { field: `${at}[1].key-id`, line: lineOf(text, 'key-id: abc'), includes: 'must be 64 lowercase hex digits' });
  });
});

test('duplicate requirement names are refused', () => {
  withRepo((repo) => {
    const text = repo.read('attestations.yaml').replace('- name: sbom', '- name: provenance');
    const problems = validateWith(repo, 'attestations.yaml', text);
    findProblem(problems, {
      field: 'policies.docker-official-images.attestations[1].name',
      line: lineOf(text, '- name: provenance', 2),
      includes: 'duplicate requirement name "provenance"',
    });
  });
});

// --- keys.yaml ---------------------------------------------------------------------

test('a key that is not a PEM public key is refused', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    const broken = key.publicPem.replace(/[A-Za-z]{8}/, 'AAAAAAAA!');
    const text = keysYaml([keyEntry(key, { key: broken }), keyEntry(generateSignerKey(), { key: 'hello' })]);
    const problems = validateWith(repo, 'doi/keys.yaml', text);
    findProblem(problems, { file: KEYS, field: 'keys[0].key', line: lineOf(text, 'key: |', 1), includes: 'not a valid PEM public key' });
    findProblem(problems, { file: KEYS, field: 'keys[1].key', line: lineOf(text, 'key: hello'), includes: 'not a PEM public key' });
  });
});

test('a private key where the public key belongs is refused without repeating it', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    const text = keysYaml([keyEntry(key, { key: key.privatePem })]);
    const problems = validateWith(repo, 'doi/keys.yaml', text);
    const p = findProblem(problems, {
      file: KEYS,
      field: 'keys[0].key',
      line: lineOf(text, 'key: |'),
      includes: 'private key where a public key belongs',
    });
    const everything = JSON.stringify(problems);
    assert.ok(!everything.includes('BEGIN PRIVATE KEY'), everything);
    for (const pemLine of key.privatePem.split('\n').filter((l) => l.length > 8))
      assert.ok(!everything.includes(pemLine), `problem text repeats "${pemLine}"`);
    assert.ok(!p.message.includes(key.privatePem));
  });
});

test('a syntax error in a file holding a private key does not quote the file', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    const body = key.privatePem.split('\n').slice(1, -2);
    const text = `version: v1\nkind: signer-keys\nkeys: []\n]\n${body.join('\n')}\n`;
    const problems = validateWith(repo, 'doi/keys.yaml', text);
    findProblem(problems, { file: KEYS, line: 5, includes: 'YAML: Unexpected scalar token' });
    const everything = JSON.stringify(problems);
    for (const pemLine of body) assert.ok(!everything.includes(pemLine), `problem text repeats "${pemLine}"`);
  });
});

test('a key id that is not the key hash is refused, naming the expected id', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    const other = generateSignerKey();
    const text = keysYaml([keyEntry(key, { id: other.id })]);
    const problems = validateWith(repo, 'doi/keys.yaml', text);
    const p = findProblem(problems, {
      file: KEYS,
      field: 'keys[0].id',
      line: lineOf(text, `id: ${other.id}`),
      includes: 'id does not match the key',
    });
    assert.ok(p.message.includes(key.id), p.message);
  });
});

test('keys: duplicate ids, from not before to, revoked without to, non-ECDSA keys', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    const ed = generateSignerKey('ed25519');
    const text = keysYaml([
      keyEntry(key, { from: '2025-03-01T00:00:00Z', to: '2025-03-01T00:00:00Z' }),
      keyEntry(key, { status: 'revoked' }),
      keyEntry(ed),
    ]);
    const problems = validateWith(repo, 'doi/keys.yaml', text);
    findProblem(problems, { field: 'keys[0].to', line: lineOf(text, 'to: 2025-03-01'), includes: 'must be later than "from"' });
    findProblem(problems, { field: 'keys[1].id', line: lineOf(text, `id: ${key.id}`, 2), includes: 'duplicate key id' });
    findProblem(problems, { field: 'keys[1].to', line: lineOf(text, 'to: null', 1), includes: 'a revoked key needs "to"' });
    findProblem(problems, { severity: 'warning', field: 'keys[2].key', includes: 'only ECDSA' });
  });
});

test('keys.yaml fields are checked by the schema (status, signing-format, dates)', () => {
  withRepo((repo) => {
    const key = generateSignerKey();
    const text = keysYaml([keyEntry(key, { status: 'expired', 'signing-format': 'pgp', from: 'yesterday' })]);
    const problems = validateWith(repo, 'doi/keys.yaml', text);
    findProblem(problems, {
      field: 'keys[0].status',
      line: lineOf(text, 'status: expired'),
      includes: 'must be one of active, revoked, retired',
    });
    findProblem(problems, { field: 'keys[0].signing-format', includes: 'must be "dssev1"' });
    findProblem(problems, { field: 'keys[0].from', line: lineOf(text, 'from: yesterday'), includes: 'RFC 3339' });
  });
});

// --- revocations.json ------------------------------------------------------------

function revocations(envelopes: string[], images: string[] = []): string {
  const entry = (digest: string): object => ({ digest, reason: 'test', revoked_at: '2025-05-01T00:00:00Z' });
  return `${JSON.stringify({ version: 'v1', kind: 'revocation-list', envelopes: envelopes.map(entry), images: images.map(entry) }, null, 2)}\n`;
}

test('revocations: malformed, duplicate and unsorted digests are refused', () => {
  withRepo((repo) => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    const text = revocations([b, a, a], [`sha256:${'A'.repeat(64)}`, 'sha256:123']);
    const problems = validateWith(repo, 'revocations.json', text);
    findProblem(problems, { file: REVOCATIONS, field: 'envelopes[1].digest', line: lineOf(text, a), includes: 'not sorted' });
    findProblem(problems, { file: REVOCATIONS, field: 'envelopes[2].digest', line: lineOf(text, a, 2), includes: 'duplicate digest' });
    findProblem(problems, { file: REVOCATIONS, field: 'images[0].digest', includes: 'lowercase' });
    findProblem(problems, { file: REVOCATIONS, field: 'images[1].digest', line: lineOf(text, 'sha256:123'), includes: 'must be a digest' });
  });
});

test('revocations: JSON syntax errors name the line', () => {
  withRepo((repo) => {
    const problems = validateWith(repo, 'revocations.json', '{\n  "version": "v1",\n  "kind": "revocation-list",\n  "envelopes": [,]\n}\n');
    findProblem(problems, { file: REVOCATIONS, line: 4, includes: 'not valid JSON' });
  });
});

// --- Rego, data.yaml, channels -------------------------------------------------------

test('Rego with unbalanced braces or without package attest is refused with lines', () => {
  withRepo((repo) => {
    let problems = validateWith(repo, 'doi/policy.rego', 'package attest\n\nimport rego.v1\n\nresult := {\n  "success": true,\n\n');
    findProblem(problems, { file: 'targets/doi/policy.rego', line: 5, includes: 'unbalanced "{": not closed' });
    problems = validateWith(repo, 'doi/policy.rego', 'import rego.v1\n\nresult := {"success": true}\n');
    findProblem(problems, { file: 'targets/doi/policy.rego', line: 1, includes: 'package attest' });
    problems = validateWith(repo, 'doi/policy.rego', 'package attest\n\nallow := true\n');
    findProblem(problems, { file: 'targets/doi/policy.rego', includes: 'no rule named `result`' });
  });
  assert.deepEqual(regoProblems('package attest\n# { "\nx := `{\n(`\nresult := {"a": "}"}\n', 'p.rego'), []);
  assert.match(regoProblems('package attest\nresult := {"a": ]\n', 'p.rego')[0]!.message, /closes the "\{" opened on line 2/);
  assert.match(regoProblems('package other\nresult := 1\n', 'p.rego')[0]!.message, /package must be `attest`/);
});

test('the default Rego passes the lexical check', () => {
  withRepo((repo) => {
    assert.deepEqual(regoProblems(repo.read('doi/policy.rego'), 'targets/doi/policy.rego'), []);
  });
});

test('data.yaml is checked against its schema and must belong to its policy', () => {
  withRepo((repo) => {
    const text = defaultDataYaml({ policyId: 'other' }).replace('revoked_images: {}', 'revoked_image: {}');
    const problems = validateWith(repo, 'doi/data.yaml', text);
    findProblem(problems, {
      file: 'targets/doi/data.yaml',
      field: 'revoked_image',
      line: lineOf(text, 'revoked_image:'),
      includes: 'unknown field',
    });
    findProblem(problems, {
      file: 'targets/doi/data.yaml',
      field: 'policy-id',
      line: lineOf(text, 'policy-id'),
      includes: 'is not the policy that lists this file',
    });
  });
});

test('testing channel problems name targets/testing/ files, paths relative to testing/', () => {
  withRepo(
    (repo) => {
      repo.remove('testing/doi/data.yaml');
      const text = repo.read('testing/mapping.yaml');
      const problems = validateTrustData(repo.dir);
      findProblem(problems, {
        file: 'targets/testing/mapping.yaml',
        field: 'policies[0].files[1].path',
        line: lineOf(text, 'doi/data.yaml'),
        includes: 'not found in targets/testing/',
      });
      assert.equal(problems.filter((p) => p.file === MAPPING).length, 0);
    },
    { testing: true },
  );
});

test('an attestations.yaml without a mapping is refused; a testing revocations.json is ignored with a warning', () => {
  withRepo(
    (repo) => {
      repo.write('testing/attestations.yaml', repo.read('attestations.yaml'));
      repo.write('testing/revocations.json', repo.read('revocations.json'));
      const problems = validateTrustData(repo.dir);
      findProblem(problems, { severity: 'error', file: 'targets/testing/attestations.yaml', includes: 'no mapping.yaml' });
      findProblem(problems, { severity: 'warning', file: 'targets/testing/revocations.json', includes: 'ignored' });
    },
    { testing: false },
  );
});

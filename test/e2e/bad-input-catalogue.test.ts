/**
 * The bad-input catalogue: one row per way of handing tufctl something wrong,
 * each refused cleanly (test/helpers/refuses.ts: one `tufctl: error [CODE]`
 * line, printable and bounded, the right exit code, never INTERNAL, and the
 * repository byte for byte as it was). Add a row to a table below, or a new
 * table; `setup` prepares the fresh repository a row runs against.
 *
 * Tables: duplicate JSON members (metadata, configuration, trust files,
 * command input), names JavaScript objects already have (`__proto__`,
 * `constructor`), versions, lengths and thresholds beyond 2^53 - 1, numeric
 * options out of bounds, messages holding control characters or
 * megabytes, and paths and secrets (hash values naming files outside the
 * export, target names clients would misread, private keys and PINs bound
 * for the repository). The end-to-end cases that are not refusals (such names handled
 * through export, publish and a tuf-js client; validate on a duplicate) follow.
 */
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, tufctl, type Fixture } from '../helpers/harness.js';
import { refusesCleanly, type Refusal } from '../helpers/refuses.js';

const HEX = 'a'.repeat(64);
const ZERO = '0'.repeat(64);
const ENTRY = ['--length', '1', '--sha256', HEX];
const MAX_SAFE = '9007199254740991';

/** Runs every row as its own subtest. */
function table(title: string, rows: Refusal[]): void {
  test(title, async (t) => {
    for (const row of rows) {
      const name = row.name ?? (Array.isArray(row.args) ? row.args.join(' ') : row.code);
      await t.test(name, () => {
        refusesCleanly({ ...row, name });
      });
    }
  });
}

function path(fx: Fixture, rel: string): string {
  return join(fx.repo, ...rel.split('/'));
}

/** Rewrites a file's text. */
function editText(fx: Fixture, rel: string, change: (text: string) => string): void {
  const file = path(fx, rel);
  const before = readFileSync(file, 'utf8');
  const after = change(before);
  assert.notEqual(after, before, `the set-up did not change ${rel}`);
  writeFileSync(file, after);
}

/** Rewrites a JSON file as tufctl writes it (2-space indent). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function editJson(fx: Fixture, rel: string, change: (doc: any) => void): void {
  const doc = readJson(path(fx, rel));
  change(doc);
  writeFileSync(path(fx, rel), JSON.stringify(doc, null, 2) + '\n');
}

/** The first `"name": ` member of a file written twice: `"name": <value>,` inserted before it. */
function duplicateFirst(name: string, value: string): (text: string) => string {
  return (text) => {
    const at = text.indexOf(`"${name}": `);
    assert.ok(at >= 0, `no member ${name}`);
    return `${text.slice(0, at)}"${name}": ${value},\n${text.slice(at)}`;
  };
}

/** Sets signed.version of a metadata file, as text (JSON.stringify cannot write 2^53 exactly as given). */
function setVersion(rel: string, version: string): (fx: Fixture) => void {
  return (fx) =>
    editText(fx, rel, (text) => {
      const at = text.lastIndexOf('"version": ');
      return text.slice(0, at) + text.slice(at).replace(/"version": \d+/, `"version": ${version}`);
    });
}

/** A delegated role `team` for team/* signed with the targets key, committed. */
function delegateTeam(fx: Fixture, ...paths: string[]): void {
  ok(['delegate', 'add', 'team', '--paths', 'team/*', ...paths, '--key', join(fx.keys, 'targets.pub.pem'), '--commit'], { cwd: fx.repo });
}

// ---------------------------------------------------------------- duplicate JSON members (issue 12, defect 6)

const duplicateSha256 = (fx: Fixture): void => editText(fx, 'metadata/targets.json', duplicateFirst('sha256', `"${ZERO}"`));
const inTargets = /metadata\/targets\.json: signed\.targets\["attestations\.yaml"\]\.hashes: member "sha256" appears twice/;

table('a JSON member that appears twice is refused, naming the file and the member path', [
  {
    name: 'targets.json: a second "sha256" (target add-entry)',
    setup: duplicateSha256,
    args: ['target', 'add-entry', 'app.json', ...ENTRY],
    code: 'METADATA_MALFORMED',
    message: inTargets,
  },
  {
    name: 'targets.json: a second "sha256" (sign)',
    setup: duplicateSha256,
    args: (fx) => ['sign', '--key', fx.key('targets')],
    code: 'METADATA_MALFORMED',
    message: inTargets,
  },
  {
    name: 'targets.json: a second "sha256" (status)',
    setup: duplicateSha256,
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message: inTargets,
  },
  {
    name: 'targets.json: a second "sha256" (verify lists it)',
    setup: duplicateSha256,
    args: ['verify'],
    code: 'VERIFICATION_FAILED',
    lines: 2,
    message: inTargets,
  },
  {
    name: 'root.json: "signed" twice at the top level',
    setup: (fx) => editText(fx, 'metadata/root.json', (text) => text.replace(/\n}\n$/, ',\n  "signed": {}\n}\n')),
    args: ['threshold', 'targets', '1'],
    code: 'METADATA_MALFORMED',
    message: /metadata\/root\.json: member "signed" appears twice/,
  },
  {
    name: 'snapshot.json: a meta entry twice',
    setup: (fx) => editText(fx, 'metadata/snapshot.json', duplicateFirst('targets.json', '{"version": 1}')),
    args: (fx) => ['snapshot', '--key', fx.key('online')],
    code: 'METADATA_MALFORMED',
    message: /metadata\/snapshot\.json: signed\.meta: member "targets\.json" appears twice/,
  },
  {
    name: 'a delegated role: "keyids" twice in a delegation',
    setup: (fx) => {
      delegateTeam(fx);
      editText(fx, 'metadata/targets.json', duplicateFirst('keyids', '[]'));
    },
    args: ['target', 'add-entry', 'team/app.json', ...ENTRY],
    code: 'METADATA_MALFORMED',
    message: /metadata\/targets\.json: signed\.delegations\.roles\[0\]: member "keyids" appears twice/,
  },
  {
    name: 'names compared after unescaping ("sha256" and "sha\\u0032\\u0035\\u0036")',
    setup: (fx) =>
      editText(fx, 'metadata/targets.json', (text) => {
        const at = text.indexOf('"sha256": ');
        return `${text.slice(0, at)}"sha\\u0032\\u0035\\u0036": "${ZERO}",\n${text.slice(at)}`;
      }),
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message: /member "sha256" appears twice/,
  },
  {
    name: 'tufctl.json: a setting twice',
    setup: (fx) => editText(fx, 'tufctl.json', (text) => text.replace(/^{\n/, '{\n  "baseRef": "main",\n')),
    args: ['status'],
    code: 'CONFIG_INVALID',
    message: /tufctl\.json: member "baseRef" appears twice/,
  },
  {
    name: 'revocations.json: "reason" twice in an entry (revoke)',
    setup: (fx) => {
      ok(['revoke', 'signature', `sha256:${HEX}`, '--reason', 'test', '--commit'], { cwd: fx.repo });
      editText(fx, 'targets/revocations.json', duplicateFirst('reason', '"other"'));
    },
    args: ['revoke', 'signature', `sha256:${ZERO}`, '--reason', 'again'],
    code: 'REVOCATION_INVALID',
    message: /targets\/revocations\.json: envelopes\[0\]: member "reason" appears twice/,
  },
  {
    name: 'add-entries: a line with "sha256" twice',
    setup: (fx) =>
      writeFileSync(join(fx.root, 'entries.jsonl'), `{"path": "a.json", "length": 1, "sha256": "${HEX}", "sha256": "${ZERO}"}\n`),
    args: (fx) => ['target', 'add-entries', '--from', join(fx.root, 'entries.jsonl')],
    code: 'USAGE',
    message: /entries\.jsonl:1: member "sha256" appears twice/,
  },
  {
    name: '--custom with a member twice',
    args: ['target', 'add-entry', 'app.json', ...ENTRY, '--custom', '{"kind": "a", "kind": "b"}'],
    code: 'USAGE',
    message: /--custom: member "kind" appears twice/,
  },
]);

test('validate reports a duplicate member in the proposed metadata as invalid', () => {
  const fx = newRepository();
  try {
    duplicateSha256(fx);
    const r = tufctl(['validate', '--base', 'HEAD'], { cwd: fx.repo });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stdout + r.stderr, /invalid/);
    assert.match(
      r.stdout + r.stderr,
      /metadata\/targets\.json: signed\.targets\["attestations\.yaml"\]\.hashes: member "sha256" appears twice/,
    );
    assert.doesNotMatch(r.stderr, /INTERNAL/);
  } finally {
    fx.cleanup();
  }
});

// ---------------------------------------------------------------- names JavaScript objects have (defect 7)

table('names JavaScript TUF clients cannot use are refused where they enter', [
  {
    name: 'a delegated role named constructor',
    args: (fx) => ['delegate', 'add', 'constructor', '--paths', 'c/*', '--key', join(fx.keys, 'targets.pub.pem')],
    code: 'ROLE_NAME_INVALID',
    message: /role name "constructor" is the name of a built-in member of JavaScript objects/,
  },
  {
    name: 'a delegated role named __proto__',
    args: (fx) => ['delegate', 'add', '__proto__', '--paths', 'c/*', '--key', join(fx.keys, 'targets.pub.pem')],
    code: 'ROLE_NAME_INVALID',
    message: /role name "__proto__" is the name of a built-in member/,
  },
  {
    name: 'hashed bins with the prefix toString',
    args: (fx) => ['delegate', 'add', 'bins', '--bins', '4', '--prefix', 'toString', '--key', join(fx.keys, 'targets.pub.pem')],
    code: 'ROLE_NAME_INVALID',
    message: /"toString" is the name of a built-in member/,
  },
  {
    name: 'a target "constructor" that a delegated role would sign',
    setup: (fx) => delegateTeam(fx, 'constructor'),
    args: ['target', 'add-entry', 'constructor', ...ENTRY],
    code: 'TARGET_PATH_INVALID',
    message:
      /target path "constructor" is the name of a built-in member of JavaScript objects: tuf-js clients find it only in the top-level targets role, not in team/,
  },
  {
    name: 'a target "toString" given to a delegated role with --role',
    setup: (fx) => delegateTeam(fx, 'toString'),
    args: ['target', 'add-entry', 'toString', ...ENTRY, '--role', 'team'],
    code: 'TARGET_PATH_INVALID',
    message: /target path "toString" .* not in team/,
  },
  {
    name: 'root.json written by hand with the key id __proto__',
    setup: (fx) =>
      editText(fx, 'metadata/root.json', (text) => {
        const id = /"keyids": \[\n\s+"([0-9a-f]{64})"/.exec(text.slice(text.indexOf('"targets": {')))![1]!;
        return text.split(`"${id}"`).join('"__proto__"');
      }),
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message:
      /metadata\/root\.json: signed\.keys: key id "__proto__" is the name of a built-in member of JavaScript objects; JavaScript TUF clients \(tuf-js\) cannot use it/,
  },
  {
    name: 'targets.json written by hand with a delegated role named constructor',
    setup: (fx) => {
      delegateTeam(fx);
      editText(fx, 'metadata/targets.json', (text) => text.replace('"name": "team"', '"name": "constructor"'));
    },
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message: /metadata\/targets\.json: signed\.delegations\.roles\[0\]\.name: role name "constructor" is the name of a built-in member/,
  },
  {
    name: 'a signature by the key id constructor',
    setup: (fx) => editText(fx, 'metadata/snapshot.json', (text) => text.replace(/"keyid": "[0-9a-f]{64}"/, '"keyid": "constructor"')),
    args: (fx) => ['snapshot', '--key', fx.key('online')],
    code: 'METADATA_MALFORMED',
    message: /metadata\/snapshot\.json: signatures: key id "constructor"/,
  },
  {
    name: 'key remove with the key id __proto__',
    args: ['key', 'remove', 'targets', '__proto__'],
    code: 'KEY_UNKNOWN',
    message: /targets does not trust a key __proto__/,
  },
  {
    name: 'target remove constructor (no such target)',
    args: ['target', 'remove', 'constructor'],
    code: 'TARGET_NOT_FOUND',
    message: /no role signs a target "constructor"/,
  },
]);

test(
  'targets named __proto__, constructor, toString and a/__proto__ are signed, verified, exported, published and fetched by tuf-js',
  { timeout: 120_000 },
  () => {
    const fx = newRepository();
    try {
      const cwd = fx.repo;
      const names = ['__proto__', 'constructor', 'toString', 'a/__proto__', 'hasOwnProperty'];
      mkdirSync(join(cwd, 'targets', 'a'));
      for (const name of names) writeFileSync(join(cwd, 'targets', ...name.split('/')), `content of ${name}\n`);
      ok(
        ['target', 'add', ...names.map((n) => `targets/${n}`), '--sign', '--key', fx.key('targets'), '--key', fx.key('online'), '--commit'],
        {
          cwd,
        },
      );
      // Nothing was dropped on the way to the file (a __proto__ member set by assignment would be).
      const signed = readJson(join(cwd, 'metadata', 'targets.json')).signed;
      for (const name of names) assert.ok(Object.hasOwn(signed.targets, name), `targets.json lacks ${name}`);
      assert.match(readFileSync(join(cwd, 'metadata', 'targets.json'), 'utf8'), /"__proto__": \{/);
      assert.match(ok(['verify', '--client', 'always'], { cwd }).stdout, /tuf-js client accepted it/);
      // Editing again keeps them (the file form round-trips such names), and removing one works.
      ok(['target', 'add-entry', 'other.json', ...ENTRY, '--sign', '--key', fx.key('targets'), '--key', fx.key('online')], { cwd });
      ok(['target', 'remove', 'hasOwnProperty', '--sign', '--key', fx.key('targets'), '--key', fx.key('online'), '--commit'], { cwd });
      const after = readJson(join(cwd, 'metadata', 'targets.json')).signed.targets;
      for (const name of names.slice(0, 4)) assert.ok(Object.hasOwn(after, name), `targets.json lost ${name}`);
      assert.ok(!Object.hasOwn(after, 'hasOwnProperty'));
      ok(['verify', '--client', 'always'], { cwd });

      const exported = join(fx.root, 'export');
      ok(['export', exported], { cwd });
      const layout = join(fx.root, 'layout');
      ok(['publish', '--to', `oci-layout:${layout}`], { cwd });
      for (const name of names.slice(0, 4)) {
        const sha256 = readJson(join(cwd, 'metadata', 'targets.json')).signed.targets[name].hashes.sha256 as string;
        const slash = name.lastIndexOf('/');
        const consistent = `${name.slice(0, slash + 1)}${sha256}.${name.slice(slash + 1)}`;
        assert.equal(readFileSync(join(exported, 'targets', ...consistent.split('/')), 'utf8'), `content of ${name}\n`);
        const r = ok(
          [
            'client',
            'fetch',
            name,
            '--from',
            `oci-layout:${layout}`,
            '--root',
            join(cwd, 'metadata', 'root_history', '1.root.json'),
            '--cache',
            join(fx.root, 'cache'),
          ],
          { cwd: fx.root },
        );
        assert.match(r.stdout, new RegExp(`^${name.replace(/\//g, '\\/')}: \\d+ bytes, sha256 ${sha256} verified`), r.stdout);
        assert.equal(readFileSync(join(fx.root, 'cache', 'targets', ...name.split('/')), 'utf8'), `content of ${name}\n`);
      }
      // validate's diff lists them as added, not as a crash.
      const base = git(cwd, 'rev-list', '--max-parents=0', 'HEAD').trim();
      const v = tufctl(['validate', '--base', base], { cwd });
      assert.doesNotMatch(v.stderr, /INTERNAL/, v.stderr);
      assert.match(v.stdout, /constructor/);
    } finally {
      fx.cleanup();
    }
  },
);

// ---------------------------------------------------------------- safe integers (defect 4)

table('versions, lengths and thresholds must be safe integers; bumps stop at 2^53 - 1', [
  {
    name: 'targets version 2^53 (load)',
    setup: setVersion('metadata/targets.json', '9007199254740992'),
    args: ['target', 'add-entry', 'app.json', ...ENTRY],
    code: 'METADATA_MALFORMED',
    message: new RegExp(`metadata/targets\\.json: signed\\.version must be an integer >= 1 and at most ${MAX_SAFE}`),
  },
  {
    name: 'root version 1e300 (load)',
    setup: setVersion('metadata/root.json', '1e300'),
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message: /metadata\/root\.json: signed\.version must be an integer >= 1 and at most/,
  },
  {
    name: 'targets version 2^53 - 1, committed: the next edit cannot bump it',
    setup: (fx) => {
      setVersion('metadata/targets.json', MAX_SAFE)(fx);
      git(fx.repo, 'commit', '-qam', 'far along');
    },
    args: ['target', 'add-entry', 'app.json', ...ENTRY],
    code: 'METADATA_MALFORMED',
    message: new RegExp(`metadata/targets\\.json: version ${MAX_SAFE} cannot go up by one: versions stop at ${MAX_SAFE}`),
  },
  {
    name: 'a target length of 2^53',
    setup: (fx) => editText(fx, 'metadata/targets.json', (text) => text.replace(/"length": \d+/, '"length": 9007199254740992')),
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message: /metadata\/targets\.json: signed\.targets\["attestations\.yaml"\]\.length must be a whole number at most 9007199254740991/,
  },
  {
    name: 'a snapshot meta version of 2^53',
    setup: (fx) => editText(fx, 'metadata/snapshot.json', (text) => text.replace(/"version": 1\n/, '"version": 9007199254740992\n')),
    args: (fx) => ['snapshot', '--key', fx.key('online')],
    code: 'METADATA_MALFORMED',
    message: /metadata\/snapshot\.json: signed\.meta\["targets\.json"\]\.version must be a whole number at most/,
  },
  {
    name: 'a root role threshold of 1e20',
    setup: (fx) => editJson(fx, 'metadata/root.json', (doc) => (doc.signed.roles.targets.threshold = 1e20)),
    args: ['status'],
    code: 'METADATA_MALFORMED',
    message: /metadata\/root\.json: signed\.roles\.targets\.threshold must be a whole number at most/,
  },
  {
    name: 'add-entry --length 2^53 + 1',
    args: ['target', 'add-entry', 'app.json', '--length', '9007199254740993', '--sha256', HEX],
    code: 'TARGET_PATH_INVALID',
    message: /length must be a whole number >= 0/,
  },
]);

table('numeric options out of bounds are USAGE errors, before anything runs', [
  {
    args: ['expiry', 'targets', '--period', '1e9'],
    code: 'USAGE',
    message: /--period must be a whole number of days from 1 to 36500 \(got 1000000000\)/,
  },
  { args: ['expiry', 'targets', '--period', '36501'], code: 'USAGE', message: /--period must be a whole number of days from 1 to 36500/ },
  { args: ['expiry', 'targets', '--period', '1e400'], code: 'USAGE', message: /--period must be .* \(got Infinity\)/ },
  { args: ['expiry', 'targets', '--period', 'soon'], code: 'USAGE', message: /--period must be .* \(got NaN\)/ },
  {
    args: ['expiry', 'targets', '--period', '30', '--signing-period', '1e6'],
    code: 'USAGE',
    message: /--signing-period must be a whole number of days from 1 to 36500/,
  },
  { args: ['verify', '--valid-for', '1e12'], code: 'USAGE', message: /--valid-for must be a number of days from 0 to 3000000/ },
  { args: ['verify', '--valid-for', '-1'], code: 'USAGE', message: /--valid-for must be/ },
  { args: ['verify', '--valid-for', 'NaN'], code: 'USAGE', message: /--valid-for must be a number of days/ },
  {
    args: ['verify', '--trusted-root-version', '1e300'],
    code: 'USAGE',
    message: /--trusted-root-version must be a whole number from 1 to 9007199254740991/,
  },
  {
    args: ['publish', '--to', 'oci-layout:out', '--timeout', '0'],
    code: 'USAGE',
    message: /--timeout must be a whole number of seconds from 1 to 86400/,
  },
  {
    args: ['publish', '--to', 'oci-layout:out', '--retries', '1e5'],
    code: 'USAGE',
    message: /--retries must be a whole number from 0 to 100/,
  },
  {
    args: ['jwks', 'sync', '--retention-days', '1e9'],
    code: 'USAGE',
    message: /--retention-days must be a whole number of days from 0 to 36500/,
  },
  {
    args: ['expiring', '--open-branches', '--group', '366'],
    code: 'USAGE',
    message: /--group must be a whole number of days from 0 to 365 \(got 366\)/,
  },
  { args: ['expiring', '--open-branches', '--group', '0.5'], code: 'USAGE', message: /--group must be a whole number of days/ },
  { args: ['threshold', 'targets', '1e300'], code: 'THRESHOLD_INVALID', message: /threshold 1e\+300 is larger than the 1 key/ },
  {
    name: 'delegate add --bins 1e9',
    args: (fx) => ['delegate', 'add', 'bins', '--bins', '1e9', '--key', join(fx.keys, 'targets.pub.pem')],
    code: 'USAGE',
    message: /--bins must be a power of two/,
  },
]);

// ---------------------------------------------------------------- printable messages (issue 12, item 11)

table('messages escape control characters and cut long values', [
  {
    name: 'a target path with an escape sequence and a newline',
    args: ['target', 'add-entry', 'a\u001b[31mred\nb', ...ENTRY],
    code: 'TARGET_PATH_INVALID',
    message: /target path "a\\u001b\[31mred\\nb" contains control characters/,
  },
  {
    name: 'a role name with a bidirectional override',
    args: (fx) => ['delegate', 'add', 'team\u202eevil', '--paths', 't/*', '--key', join(fx.keys, 'targets.pub.pem')],
    code: 'ROLE_NAME_INVALID',
    message: /role name "team\\u202eevil" contains invisible or bidirectional-override characters/,
  },
  {
    name: 'a 100,000-character target path',
    args: ['target', 'add-entry', `${'x'.repeat(100_000)}/`, ...ENTRY],
    code: 'TARGET_PATH_INVALID',
    message: /target path "x+… \(\d+ more characters\) has an empty path segment/,
  },
  {
    name: 'a 50 MB setting name in tufctl.json',
    setup: (fx) => writeFileSync(join(fx.repo, 'tufctl.json'), `{"${'y'.repeat(50 * 1024 * 1024)}": 1}\n`),
    args: ['status'],
    code: 'CONFIG_INVALID',
    message: /tufctl\.json: unknown setting "y+… \(52428\d\d\d more characters\)/,
  },
]);

// ---------------------------------------------------------------- paths and secrets (defects 1, 3, 8 and 11)
// More of each, end to end, in paths-inside.test.ts, secrets.test.ts, crash-recovery.test.ts and large-target.test.ts;
// the registry's cases (bounded reads, tampering) in test/oci/client-bounds.test.ts and publish-tamper.test.ts.

const PRIVATE_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** Signs what the set-up edited by hand, then snapshot and timestamp, so only the row's problem remains. */
function signEverything(fx: Fixture): void {
  ok(['sign', '--key', fx.key('targets'), '--key', fx.key('root')], { cwd: fx.repo });
  ok(['snapshot', '--key', fx.key('online')], { cwd: fx.repo });
  ok(['timestamp', '--key', fx.key('online'), '--commit'], { cwd: fx.repo });
}

table('paths stay inside their roots and secrets stay out of the repository', [
  {
    name: 'a hash value that would name a file outside the export directory',
    setup: (fx) => {
      writeFileSync(join(fx.repo, 'targets', 'app.txt'), 'app');
      ok(['target', 'add', 'targets/app.txt'], { cwd: fx.repo });
      editJson(fx, 'metadata/targets.json', (doc) => (doc.signed.targets['app.txt'].hashes['x-custom'] = '../../../../escaped'));
      signEverything(fx);
    },
    args: (fx) => ['export', join(fx.root, 'out')],
    code: 'VERIFICATION_FAILED',
    message: /targets: target "app\.txt" has a x-custom value that is not lowercase hex/,
    lines: 2,
  },
  {
    name: 'a nested target path with "?"',
    args: ['target', 'add-entry', 'dir/a?b.json', ...ENTRY],
    code: 'TARGET_PATH_INVALID',
    message: /contains "\?", "#" or "%"/,
  },
  {
    name: 'a nested target path with a percent-encoded ".."',
    args: ['target', 'add-entry', 'dir/%2e%2e/x.json', ...ENTRY],
    code: 'TARGET_PATH_INVALID',
    message: /contains "\?", "#" or "%"/,
  },
  {
    name: 'a target path not in Unicode normal form C',
    args: ['target', 'add-entry', 'dir/e\u0301.json', ...ENTRY],
    code: 'TARGET_PATH_INVALID',
    message: /is not in Unicode normal form C/,
  },
  {
    name: 'a private key given as the online key URI',
    args: (fx) => ['key', 'add', 'timestamp', join(fx.keys, 'online.pub.pem'), '--online-uri', `env:${PRIVATE_PEM}`],
    code: 'SECRET_DETECTED',
    message: /refusing to write metadata\/root\.json: it would hold a PEM private key/,
  },
  {
    name: 'a PKCS#11 URI with its PIN as the online key URI',
    args: (fx) => ['key', 'add', 'timestamp', join(fx.keys, 'online.pub.pem'), '--online-uri', 'pkcs11:token=t;object=k?pin-value=2468'],
    code: 'SECRET_DETECTED',
    message: /it would hold a PKCS#11 URI with its PIN \(pin-value\)/,
  },
  {
    name: 'signing a root whose custom field holds a private key',
    setup: (fx) =>
      editJson(fx, 'metadata/root.json', (doc) => {
        const id = doc.signed.roles.timestamp.keyids[0];
        doc.signed.keys[id]['x-backup'] = PRIVATE_PEM;
      }),
    args: (fx) => ['sign', 'root', '--key', fx.key('root')],
    code: 'SECRET_DETECTED',
    message: /refusing to write metadata\/root\.json: it would hold a PEM private key/,
  },
]);

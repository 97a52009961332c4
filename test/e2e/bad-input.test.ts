/**
 * Bad input, case by case: every way a user can hand tufctl something wrong
 * (broken metadata, unknown roles, impossible thresholds, the wrong kind of
 * key, unsafe target paths, unusable role names, delegation cycles, a key
 * directory inside the repository, no or a dirty git repository, a rolled-back
 * version) is refused with exit code 1, one line `tufctl: error [CODE]: …`
 * naming the problem, and nothing changed on disk: every file under the
 * repository (outside .git/), `git status` and HEAD are the same before and
 * after. Finally, a bulk edit of a large targets role killed with SIGKILL at
 * several moments never leaves a torn metadata file behind.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from 'node:fs';
import { join } from 'node:path';
import { CLI, git, newRepository, ok, readJson, tempDir, tufctl, type CliResult, type Fixture } from '../helpers/harness.js';

const HEX = 'a'.repeat(64);
const ENTRY = ['--length', '1', '--sha256', HEX];

// ---------------------------------------------------------------- helpers

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Everything a command could change: every file, directory and symlink under
 * `dir` except .git/ (by content hash and mode), then `git status` and HEAD.
 */
function diskState(dir: string): string[] {
  if (!existsSync(dir)) return ['(absent)'];
  const lines: string[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      if (name === '.git') {
        // git's own files change on reads (index refreshes); its view of the work tree is what counts.
        if (rel !== '') lines.push(`${rel}: git status`, ...git(abs, 'status', '--porcelain', '--untracked-files=all').split('\n'));
        continue;
      }
      const relPath = rel ? `${rel}/${name}` : name;
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) lines.push(`${relPath} -> ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        lines.push(`${relPath}/`);
        walk(path, relPath);
      } else lines.push(`${relPath} ${stat.mode.toString(8)} ${sha256(readFileSync(path))}`);
    }
  };
  walk(dir, '');
  if (existsSync(join(dir, '.git'))) {
    lines.push('git status:', ...git(dir, 'status', '--porcelain', '--untracked-files=all').split('\n'));
    lines.push(`HEAD ${git(dir, 'rev-parse', 'HEAD').trim()}`);
  }
  return lines;
}

function shown(args: string[], r: CliResult): string {
  return `tufctl ${args.join(' ')}\nexit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

interface RefuseOptions {
  cwd: string;
  /** Directory whose state must not change (default: cwd). */
  watch?: string;
  env?: NodeJS.ProcessEnv;
  exit?: number;
}

/**
 * Runs tufctl and asserts it refuses: the exit code (1, or 2 for USAGE), no
 * output on stdout, exactly one line `tufctl: error [CODE]: …` on stderr
 * matching `phrase`, and no change on disk.
 */
function refuses(args: string[], code: string, phrase: RegExp, options: RefuseOptions): CliResult {
  const dir = options.watch ?? options.cwd;
  const before = diskState(dir);
  const r = tufctl(args, { cwd: options.cwd, env: options.env });
  const what = shown(args, r);
  assert.equal(r.code, options.exit ?? (code === 'USAGE' ? 2 : 1), what);
  assert.equal(r.stdout, '', what);
  assert.match(r.stderr, new RegExp(`^tufctl: error \\[${code}\\]: [^\\n]+\\n$`), what);
  assert.match(r.stderr, phrase, what);
  assert.deepEqual(diskState(dir), before, `${what}\nthe refused command changed files on disk`);
  return r;
}

/** A new repository for one test, removed afterwards. */
function withRepository(body: (fx: Fixture) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const fx = newRepository();
    try {
      await body(fx);
    } finally {
      fx.cleanup();
    }
  };
}

/** `tufctl key generate`; returns the private and public key paths. */
function generateKey(dir: string, name: string): { privatePath: string; publicPath: string } {
  const privatePath = join(dir, `${name}.pem`);
  ok(['key', 'generate', '--type', 'ed25519', '--out', privatePath]);
  return { privatePath, publicPath: join(dir, `${name}.pub.pem`) };
}

function metadataPath(fx: Fixture, role: string): string {
  return join(fx.repo, 'metadata', `${role}.json`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function writeJson(path: string, value: any): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

// ---------------------------------------------------------------- 1. malformed metadata

test(
  'malformed metadata: a truncated targets.json or root.json is METADATA_MALFORMED naming the file',
  withRepository((fx) => {
    const cwd = fx.repo;
    const targets = metadataPath(fx, 'targets');
    truncateSync(targets, Math.floor(readFileSync(targets).length / 2));
    refuses(['target', 'add-entry', 'app.json', ...ENTRY], 'METADATA_MALFORMED', /metadata\/targets\.json: not valid JSON/, { cwd });
    refuses(['sign', '--key', fx.key('targets')], 'METADATA_MALFORMED', /metadata\/targets\.json: not valid JSON/, { cwd });
    refuses(['status'], 'METADATA_MALFORMED', /metadata\/targets\.json: .*JSON/, { cwd });
    git(cwd, 'checkout', '--', 'metadata/targets.json');

    writeFileSync(metadataPath(fx, 'root'), '{"signed": {"_type": "root", ');
    refuses(['threshold', 'targets', '1'], 'METADATA_MALFORMED', /metadata\/root\.json: not valid JSON/, { cwd });
  }),
);

test(
  'wrongly typed metadata (version as a string, targets not an object, …) is METADATA_MALFORMED',
  withRepository((fx) => {
    const cwd = fx.repo;
    const path = metadataPath(fx, 'targets');
    const good = readJson(path);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const cases: Array<[string, (doc: any) => void, RegExp]> = [
      ['version "3"', (d) => (d.signed.version = '3'), /signed\.version must be an integer/],
      ['version 0', (d) => (d.signed.version = 0), /signed\.version must be an integer >= 1/],
      ['targets []', (d) => (d.signed.targets = []), /signed\.targets must be an object/],
      ['targets "x"', (d) => (d.signed.targets = 'x'), /signed\.targets must be an object/],
      ['targets missing', (d) => delete d.signed.targets, /signed\.targets must be an object/],
      ['target length "1"', (d) => (d.signed.targets = { 'a.json': { length: '1', hashes: { sha256: HEX } } }), /length must be a number/],
      ['target entry null', (d) => (d.signed.targets = { 'a.json': null }), /must be an object/],
      ['signatures {}', (d) => (d.signatures = {}), /"signatures" \(array\)/],
      ['expires 12345', (d) => (d.signed.expires = 12345), /signed\.expires must be an ISO 8601/],
      ['_type root', (d) => (d.signed._type = 'root'), /signed\._type is "root", expected "targets"/],
      ['delegations "x"', (d) => (d.signed.delegations = 'x'), /delegations/],
    ];
    for (const [name, mutate, phrase] of cases) {
      const doc = structuredClone(good);
      mutate(doc);
      writeJson(path, doc);
      const r = refuses(['target', 'add-entry', 'app.json', ...ENTRY], 'METADATA_MALFORMED', phrase, { cwd });
      assert.match(r.stderr, /metadata\/targets\.json/, name);
    }
    git(cwd, 'checkout', '--', 'metadata/targets.json');
    const root = readJson(metadataPath(fx, 'root'));
    root.signed.roles = 'everyone';
    writeJson(metadataPath(fx, 'root'), root);
    refuses(['threshold', 'targets', '1'], 'METADATA_MALFORMED', /metadata\/root\.json/, { cwd });
  }),
);

// ---------------------------------------------------------------- 2. unknown roles

test(
  'an unknown role is ROLE_UNKNOWN for threshold, key add/remove, sign, expiry, target --role and delegate --from',
  withRepository((fx) => {
    const cwd = fx.repo;
    const pub = join(fx.keys, 'targets.pub.pem');
    const unknown = /nosuchrole/;
    refuses(['threshold', 'nosuchrole', '1'], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['key', 'add', 'nosuchrole', pub], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['key', 'remove', 'nosuchrole', 'abcdef0123456789'], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['sign', 'nosuchrole', '--key', fx.key('targets')], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['expiry', 'nosuchrole', '--period', '30'], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['target', 'add-entry', 'app.json', ...ENTRY, '--role', 'nosuchrole'], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['delegate', 'add', 'team', '--from', 'nosuchrole', '--paths', 'team/*', '--key', pub], 'ROLE_UNKNOWN', unknown, { cwd });
    refuses(['delegate', 'remove', 'nosuchrole'], 'ROLE_UNKNOWN', unknown, { cwd });
  }),
);

// ---------------------------------------------------------------- 3. thresholds

test(
  'a threshold above the number of keys, 0, negative or fractional is THRESHOLD_INVALID',
  withRepository((fx) => {
    const cwd = fx.repo;
    refuses(['threshold', 'targets', '2'], 'THRESHOLD_INVALID', /threshold 2 is larger than the 1 key\(s\) targets trusts/, { cwd });
    refuses(['threshold', 'root', '5'], 'THRESHOLD_INVALID', /threshold 5 is larger than the 1 key/, { cwd });
    refuses(['threshold', 'targets', '0'], 'THRESHOLD_INVALID', /threshold must be a whole number >= 1 \(got 0\)/, { cwd });
    refuses(['threshold', 'targets', '-1'], 'THRESHOLD_INVALID', /got -1/, { cwd });
    refuses(['threshold', 'targets', '1.5'], 'THRESHOLD_INVALID', /got 1\.5/, { cwd });
    const only = readJson(metadataPath(fx, 'root')).signed.roles.targets.keyids[0] as string;
    refuses(['key', 'remove', 'targets', only], 'THRESHOLD_INVALID', /would leave targets with 0 key\(s\) for a threshold of 1/, { cwd });
    const pub = join(fx.keys, 'targets.pub.pem');
    refuses(['delegate', 'add', 'team', '--paths', 'team/*', '--key', pub, '--threshold', '2'], 'THRESHOLD_INVALID', /threshold 2/, {
      cwd,
    });
    refuses(['delegate', 'add', 'team', '--paths', 'team/*', '--key', pub, '--threshold', '0'], 'THRESHOLD_INVALID', /threshold 0/, {
      cwd,
    });
    // init refuses before creating anything.
    refuses(['init', 'fresh', '--generate-keys', 'fresh-keys', '--root-threshold', '2'], 'THRESHOLD_INVALID', /root threshold 2/, {
      cwd: fx.root,
    });
  }),
);

// ---------------------------------------------------------------- 4–6. keys

test(
  'a private key where a public one is expected is KEY_IS_PRIVATE, and the reverse KEY_IS_PUBLIC; no key material is printed',
  withRepository((fx) => {
    const cwd = fx.repo;
    const privatePem = readFileSync(fx.key('targets'), 'utf8');
    const body = privatePem.split('\n')[1]!;
    const checks = (r: CliResult): void => {
      assert.doesNotMatch(r.stderr, /BEGIN/);
      assert.ok(!r.stderr.includes(body), 'the private key appears in the error');
    };
    checks(refuses(['key', 'add', 'targets', '../keys/targets.pem'], 'KEY_IS_PRIVATE', /targets\.pem holds a private key/, { cwd }));
    checks(
      refuses(['delegate', 'add', 'team', '--paths', 'team/*', '--key', fx.key('online')], 'KEY_IS_PRIVATE', /holds a private key/, {
        cwd,
      }),
    );
    refuses(['sign', '--key', '../keys/targets.pub.pem'], 'KEY_IS_PUBLIC', /targets\.pub\.pem holds a public key/, { cwd });
    ok(['target', 'add-entry', 'app.json', ...ENTRY], { cwd });
    refuses(['sign'], 'KEY_IS_PUBLIC', /environment variable TUFCTL_KEY_TARGETS holds a public key/, {
      cwd,
      env: { TUFCTL_KEY_TARGETS: readFileSync(join(fx.keys, 'targets.pub.pem'), 'utf8') },
    });
    checks(
      refuses(['sign'], 'KEY_INVALID', /TUFCTL_KEY_TARGETS is not a valid private key/, {
        cwd,
        env: { TUFCTL_KEY_TARGETS: privatePem.replace(body, body.slice(0, 20)) },
      }),
    );
  }),
);

test(
  'public keys of unsupported kinds (X25519, secp256k1, RSA-1024) are KEY_UNSUPPORTED',
  withRepository((fx) => {
    const cwd = fx.repo;
    const write = (name: string, pair: { publicKey: KeyObject }): string => {
      const path = join(fx.root, `${name}.pub.pem`);
      writeFileSync(path, pair.publicKey.export({ format: 'pem', type: 'spki' }));
      return path;
    };
    const x25519 = write('x25519', generateKeyPairSync('x25519'));
    const k1 = write('secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }));
    const rsa1024 = write('rsa1024', generateKeyPairSync('rsa', { modulusLength: 1024 }));
    refuses(['key', 'add', 'targets', x25519], 'KEY_UNSUPPORTED', /unsupported key type x25519/, { cwd });
    refuses(['key', 'add', 'targets', k1], 'KEY_UNSUPPORTED', /unsupported elliptic curve secp256k1/, { cwd });
    refuses(['key', 'add', 'root', rsa1024], 'KEY_UNSUPPORTED', /RSA key of 1024 bits is too small/, { cwd });
    refuses(['delegate', 'add', 'team', '--paths', 'team/*', '--key', x25519], 'KEY_UNSUPPORTED', /x25519/, { cwd });
    // The same for a private key given to sign with.
    const x25519Private = join(fx.root, 'x25519.pem');
    writeFileSync(x25519Private, generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    ok(['target', 'add-entry', 'app.json', ...ENTRY], { cwd });
    refuses(['sign', '--key', x25519Private], 'KEY_UNSUPPORTED', /x25519/, { cwd });
    // A supported kind in an unusual encoding is not a crash: an id-RSASSA-PSS public key.
    const pss = write('rsa-pss', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }));
    assert.match(ok(['key', 'add', 'targets', pss], { cwd }).stdout, /targets now trusts [0-9a-f]{64}/);
  }),
);

test(
  'signing with a key the role does not trust is KEY_NOT_TRUSTED',
  withRepository((fx) => {
    const cwd = fx.repo;
    const stranger = generateKey(fx.root, 'stranger');
    refuses(['sign', 'targets', '--key', fx.key('online')], 'KEY_NOT_TRUSTED', /trusted by targets/, { cwd });
    refuses(['sign', 'root', '--key', fx.key('targets')], 'KEY_NOT_TRUSTED', /trusted by root/, { cwd });
    ok(['target', 'add-entry', 'app.json', ...ENTRY], { cwd });
    refuses(['sign', '--key', stranger.privatePath], 'KEY_NOT_TRUSTED', /stranger\.pem .* is trusted by targets/, { cwd });
  }),
);

// ---------------------------------------------------------------- 7. target paths and files

test(
  'unsafe target paths are TARGET_PATH_INVALID: absolute, "..", empty segments, backslashes, control characters',
  withRepository((fx) => {
    const cwd = fx.repo;
    const cases: Array<[string, RegExp]> = [
      ['/abs', /is absolute/],
      ['a/../b', /contains a "\.\." segment/],
      ['..', /contains a "\.\." segment/],
      ['a//b', /has an empty path segment/],
      ['a/', /has an empty path segment/],
      ['a\\b', /contains a backslash/],
      ['./a', /contains a "\." segment/],
      ['a\tb', /contains control characters/],
    ];
    for (const [path, phrase] of cases) refuses(['target', 'add-entry', path, ...ENTRY], 'TARGET_PATH_INVALID', phrase, { cwd });
    refuses(
      ['target', 'add-entry', 'app.json', '--length', '1', '--sha256', 'ABC'],
      'TARGET_PATH_INVALID',
      /sha256 must be 64 lowercase hex/,
      {
        cwd,
      },
    );
    refuses(
      ['target', 'add-entry', 'app.json', '--length', '-1', '--sha256', HEX],
      'TARGET_PATH_INVALID',
      /length must be a whole number/,
      {
        cwd,
      },
    );
    refuses(['target', 'remove', 'a/../b'], 'TARGET_PATH_INVALID', /contains a "\.\." segment/, { cwd });
    // Bulk entries are checked as a whole: one bad line and nothing is added.
    const jsonl = join(fx.root, 'entries.jsonl');
    writeFileSync(
      jsonl,
      `${JSON.stringify({ path: 'good.json', length: 1, sha256: HEX })}\n${JSON.stringify({ path: '/etc/passwd', length: 1, sha256: HEX })}\n`,
    );
    refuses(['target', 'add-entries', '--from', jsonl], 'TARGET_PATH_INVALID', /"\/etc\/passwd" is absolute/, { cwd });
  }),
);

test(
  'target files outside targets/ (directly or through a symlink), missing files and files holding a private key are refused',
  withRepository((fx) => {
    const cwd = fx.repo;
    const outside = join(fx.root, 'outside.txt');
    writeFileSync(outside, 'not for the targets directory\n');
    mkdirSync(join(fx.root, 'outside-dir'));
    writeFileSync(join(fx.root, 'outside-dir', 'file.txt'), 'elsewhere\n');
    symlinkSync(outside, join(cwd, 'targets', 'link.txt'));
    symlinkSync(join(fx.root, 'outside-dir'), join(cwd, 'targets', 'linked-dir'));
    writeFileSync(join(cwd, 'targets', 'good.txt'), 'fine\n');
    writeFileSync(join(cwd, 'targets', 'leak.txt'), `config\n${readFileSync(fx.key('targets'), 'utf8')}`);
    writeFileSync(join(cwd, 'targets', 'rsa.txt'), '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n');
    writeFileSync(join(cwd, 'targets', 'y'.repeat(64)), 'long name\n');
    writeFileSync(join(cwd, 'metadata', 'notes.txt'), 'inside the repository, outside targets/\n');

    const outsideDir = /is not under the repository's targets\/ directory/;
    refuses(['target', 'add', outside], 'TARGET_OUTSIDE_TARGETS_DIR', outsideDir, { cwd, watch: fx.root });
    refuses(['target', 'add', 'metadata/notes.txt'], 'TARGET_OUTSIDE_TARGETS_DIR', outsideDir, { cwd });
    refuses(['target', 'add', 'targets/../README.md'], 'TARGET_OUTSIDE_TARGETS_DIR', outsideDir, { cwd });
    refuses(['target', 'add', 'targets'], 'TARGET_OUTSIDE_TARGETS_DIR', outsideDir, { cwd });
    refuses(['target', 'add', 'targets/link.txt'], 'TARGET_OUTSIDE_TARGETS_DIR', /targets\/link\.txt is not under/, { cwd });
    refuses(['target', 'add', 'targets/linked-dir/file.txt'], 'TARGET_OUTSIDE_TARGETS_DIR', /linked-dir\/file\.txt is not under/, { cwd });
    refuses(['target', 'add', 'targets/missing.txt'], 'TARGET_NOT_FOUND', /targets\/missing\.txt: no such file/, { cwd });
    refuses(['target', 'add', 'targets/leak.txt'], 'TARGET_CONTAINS_PRIVATE_KEY', /targets\/leak\.txt contains a private key/, { cwd });
    refuses(['target', 'add', 'targets/rsa.txt'], 'TARGET_CONTAINS_PRIVATE_KEY', /contains a private key/, { cwd });
    // One bad file in a batch: the good one is neither signed nor staged.
    refuses(['target', 'add', 'targets/good.txt', 'targets/leak.txt'], 'TARGET_CONTAINS_PRIVATE_KEY', /leak\.txt/, { cwd });
    refuses(['target', 'add', 'targets/good.txt', 'targets/link.txt'], 'TARGET_OUTSIDE_TARGETS_DIR', /link\.txt/, { cwd });
  }),
);

// ---------------------------------------------------------------- 8. role names

test(
  'role names that are no safe file name are ROLE_NAME_INVALID (names the registry cannot carry are refused by publish)',
  withRepository((fx) => {
    const cwd = fx.repo;
    const pub = join(fx.keys, 'targets.pub.pem');
    const add = (role: string, ...rest: string[]): string[] => ['delegate', 'add', role, ...rest, '--key', pub];
    refuses(add('a/b', '--paths', 'a/*'), 'ROLE_NAME_INVALID', /role name "a\/b" contains a path separator/, { cwd });
    refuses(add('..', '--paths', 'a/*'), 'ROLE_NAME_INVALID', /role name "\.\." is "\." or "\.\."/, { cwd });
    refuses(add('.hidden', '--paths', 'a/*'), 'ROLE_NAME_INVALID', /starts with "\."/, { cwd });
    refuses(add('tab\there', '--paths', 'a/*'), 'ROLE_NAME_INVALID', /contains control characters/, { cwd });
    refuses(add('r'.repeat(201), '--paths', 'a/*'), 'ROLE_NAME_INVALID', /is longer than 200 bytes/, { cwd });
    refuses(add('timestamp', '--paths', 'a/*'), 'ROLE_NAME_INVALID', /"timestamp" is a top-level role name/, { cwd });
    refuses(add('bins', '--bins', '4', '--prefix', 'v1/bins'), 'ROLE_NAME_INVALID', /"v1\/bins" contains a path separator/, { cwd });
  }),
);

// ---------------------------------------------------------------- 9. delegation cycles

test(
  'a delegation that would close a cycle is refused; an existing role is ROLE_EXISTS',
  withRepository((fx) => {
    const cwd = fx.repo;
    const a = generateKey(fx.root, 'a');
    const b = generateKey(fx.root, 'b');
    ok(['delegate', 'add', 'A', '--paths', 'a/*', 'a/*/*', '--key', a.publicPath], { cwd });
    ok(['delegate', 'add', 'B', '--from', 'A', '--paths', 'a/b/*', '--key', b.publicPath], { cwd });
    refuses(
      ['delegate', 'add', 'A', '--from', 'B', '--paths', 'a/b/c', '--key', a.publicPath],
      'DELEGATION_CYCLE',
      /A is an ancestor of B/,
      {
        cwd,
      },
    );
    refuses(
      ['delegate', 'add', 'B', '--from', 'B', '--paths', 'a/b/c', '--key', b.publicPath],
      'DELEGATION_CYCLE',
      /the delegating role itself/,
      {
        cwd,
      },
    );
    refuses(['delegate', 'add', 'B', '--paths', 'b/*', '--key', b.publicPath], 'ROLE_EXISTS', /role "B" already exists/, { cwd });
    refuses(['delegate', 'add', 'targets', '--from', 'B', '--paths', 'a/b/c', '--key', b.publicPath], 'ROLE_NAME_INVALID', /top-level/, {
      cwd,
    });
    refuses(
      ['delegate', 'add', 'C', '--from', 'snapshot', '--paths', 'c/*', '--key', b.publicPath],
      'DELEGATION_INVALID',
      /snapshot cannot delegate/,
      {
        cwd,
      },
    );
  }),
);

test(
  'verify reports a delegation cycle written by hand (DELEGATION_CYCLE, "delegation cycle: targets -> A -> B -> A")',
  { timeout: 30_000 },
  withRepository((fx) => {
    const cwd = fx.repo;
    const a = generateKey(fx.root, 'a');
    const b = generateKey(fx.root, 'b');
    ok(['delegate', 'add', 'A', '--paths', 'a/*', '--key', a.publicPath], { cwd });
    ok(['delegate', 'add', 'B', '--from', 'A', '--paths', 'a/*', '--key', b.publicPath], { cwd });
    ok(['sign', '--key', fx.key('targets'), '--key', a.privatePath, '--key', b.privatePath], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    ok(['verify', '--client', 'never'], { cwd });
    // B now delegates back to A, without re-signing.
    const path = metadataPath(fx, 'B');
    const doc = readJson(path);
    const aKeys = readJson(metadataPath(fx, 'targets')).signed.delegations.keys;
    doc.signed.delegations = {
      keys: aKeys,
      roles: [{ name: 'A', keyids: Object.keys(aKeys), threshold: 1, terminating: false, paths: ['a/*'] }],
    };
    writeJson(path, doc);

    const before = diskState(cwd);
    const r = tufctl(['verify'], { cwd });
    assert.equal(r.code, 1, shown(['verify'], r));
    assert.match(r.stderr, /^tufctl: error \[VERIFICATION_FAILED\]: repository does not verify/);
    assert.match(r.stderr, /^tufctl: error \[VERIFICATION_FAILED\]: delegation cycle: targets -> A -> B -> A$/m);
    const json = tufctl(['verify', '--json'], { cwd });
    assert.equal(json.code, 1);
    assert.equal(json.json.ok, false);
    assert.ok(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      json.json.problems.some((p: any) => p.code === 'DELEGATION_CYCLE' && /delegation cycle/.test(p.message)),
      json.stdout,
    );
    // Editing commands do not loop on the cyclic graph either.
    refuses(['delegate', 'add', 'A', '--from', 'B', '--paths', 'a/x', '--key', a.publicPath], 'DELEGATION_CYCLE', /A is an ancestor of B/, {
      cwd,
    });
    assert.equal(ok(['status'], { cwd }).code, 0);
    assert.deepEqual(diskState(cwd), before);
  }),
);

// ---------------------------------------------------------------- 10. init

test('init with KEYDIR inside the repository is KEYDIR_INSIDE_REPO; nothing is created', () => {
  const dir = tempDir();
  try {
    const cwd = dir.path;
    refuses(['init', 'X', '--generate-keys', 'X/keys'], 'KEYDIR_INSIDE_REPO', /key directory X\/keys is inside the repository/, { cwd });
    assert.ok(!existsSync(join(cwd, 'X')));
    refuses(['init', 'X', '--generate-keys', 'X'], 'KEYDIR_INSIDE_REPO', /inside the repository/, { cwd });
    mkdirSync(join(cwd, 'Y'));
    refuses(['init', 'Y', '--generate-keys', join(cwd, 'Y', 'deep', 'keys')], 'KEYDIR_INSIDE_REPO', /inside the repository/, { cwd });
    assert.deepEqual(readdirSync(join(cwd, 'Y')), []);
    // Through symlinks: to the (existing) repository, and a dangling one into a repository not created yet.
    symlinkSync(join(cwd, 'Y'), join(cwd, 'to-Y'));
    refuses(['init', 'Y', '--generate-keys', 'to-Y/keys'], 'KEYDIR_INSIDE_REPO', /inside the repository/, { cwd });
    symlinkSync(join(cwd, 'Z', 'keys'), join(cwd, 'to-Z-keys'));
    refuses(['init', 'Z', '--generate-keys', 'to-Z-keys'], 'KEYDIR_INSIDE_REPO', /inside the repository/, { cwd });
    assert.ok(!existsSync(join(cwd, 'Z')));
  } finally {
    dir.cleanup();
  }
});

test('init into a non-empty directory is DIRECTORY_NOT_EMPTY; the directory and KEYDIR are untouched', () => {
  const dir = tempDir();
  try {
    const cwd = dir.path;
    mkdirSync(join(cwd, 'busy'));
    writeFileSync(join(cwd, 'busy', 'notes.txt'), 'mine\n');
    refuses(['init', 'busy', '--generate-keys', 'keys'], 'DIRECTORY_NOT_EMPTY', /busy is not empty/, { cwd });
    refuses(['init', '--repo', 'busy', '--generate-keys', 'keys'], 'DIRECTORY_NOT_EMPTY', /busy is not empty/, { cwd });
    assert.ok(!existsSync(join(cwd, 'keys')));
  } finally {
    dir.cleanup();
  }
});

// ---------------------------------------------------------------- 11. git

test(
  'a repository without git is GIT_MISSING; --commit with changes outside metadata/ and targets/ is GIT_DIRTY',
  withRepository((fx) => {
    const copy = join(fx.root, 'copy');
    mkdirSync(copy);
    for (const name of readdirSync(fx.repo)) if (name !== '.git') cpSync(join(fx.repo, name), join(copy, name), { recursive: true });
    const env = { GIT_CEILING_DIRECTORIES: fx.root };
    refuses(['target', 'add-entry', 'app.json', ...ENTRY], 'GIT_MISSING', /copy is not a git repository/, { cwd: copy, env });
    refuses(['sign', '--key', fx.key('targets')], 'GIT_MISSING', /not a git repository/, { cwd: copy, env });

    const cwd = fx.repo;
    writeFileSync(join(cwd, 'README2'), 'stray\n');
    refuses(['target', 'add-entry', 'app.json', ...ENTRY, '--commit'], 'GIT_DIRTY', /needs a clean working tree.*uncommitted: README2/, {
      cwd,
    });
    ok(['target', 'add-entry', 'app.json', ...ENTRY], { cwd });
    refuses(['sign', '--key', fx.key('targets'), '--commit'], 'GIT_DIRTY', /README2/, { cwd });
    // A staged change outside metadata/ would be swept into the commit: refused as well.
    writeFileSync(join(cwd, 'README.md'), 'edited\n');
    git(cwd, 'add', 'README.md');
    refuses(
      ['delegate', 'add', 'team', '--paths', 'team/*', '--key', join(fx.keys, 'targets.pub.pem'), '--commit'],
      'GIT_DIRTY',
      /README\.md/,
      {
        cwd,
      },
    );
  }),
);

// ---------------------------------------------------------------- 12. rollback

test(
  'a version set below the committed one by hand is VERSION_ROLLBACK',
  withRepository((fx) => {
    const cwd = fx.repo;
    ok(['target', 'add-entry', 'one.json', ...ENTRY, '--commit'], { cwd });
    const path = metadataPath(fx, 'targets');
    const doc = readJson(path);
    assert.equal(doc.signed.version, 2);
    doc.signed.version = 1;
    writeJson(path, doc);
    const rollback = /metadata\/targets\.json: version 1 is lower than 2 at HEAD; versions never go down/;
    refuses(['target', 'add-entry', 'two.json', ...ENTRY], 'VERSION_ROLLBACK', rollback, { cwd });
    refuses(['sign', '--key', fx.key('targets')], 'VERSION_ROLLBACK', rollback, { cwd });
  }),
);

// ---------------------------------------------------------------- 14. --json and usage errors

test(
  '--json prints {"ok": false, "error": {"code", "message"}} on stdout for an error, and nothing on stderr',
  withRepository((fx) => {
    const cwd = fx.repo;
    const cases: Array<[string[], string, RegExp, number]> = [
      [['threshold', 'nosuchrole', '1'], 'ROLE_UNKNOWN', /nosuchrole/, 1],
      [['target', 'add-entry', '/abs', ...ENTRY], 'TARGET_PATH_INVALID', /is absolute/, 1],
      [['key', 'add', 'targets', fx.key('targets')], 'KEY_IS_PRIVATE', /holds a private key/, 1],
      [['target', 'add-entry', 'app.json', ...ENTRY, '--bogus'], 'USAGE', /Unknown argument: bogus/, 2],
    ];
    for (const [args, code, phrase, exit] of cases) {
      const before = diskState(cwd);
      const r = tufctl([...args, '--json'], { cwd });
      const what = shown([...args, '--json'], r);
      assert.equal(r.code, exit, what);
      assert.equal(r.stderr, '', what);
      assert.equal(r.json?.ok, false, what);
      assert.equal(r.json.error.code, code, what);
      assert.equal(typeof r.json.error.message, 'string', what);
      assert.match(r.json.error.message, phrase, what);
      assert.deepEqual(diskState(cwd), before, what);
    }
  }),
);

test(
  'a usage error never runs the command: nothing is written before "Unknown argument" or a missing argument is reported',
  withRepository((fx) => {
    const cwd = fx.repo;
    refuses(['target', 'add-entry', 'app.json', ...ENTRY, '--bogus'], 'USAGE', /Unknown argument: bogus/, { cwd });
    refuses(['target', 'add-entry', ...ENTRY], 'USAGE', /Not enough non-option arguments/, { cwd });
    refuses(
      ['delegate', 'add', '--paths', 'team/*', '--key', join(fx.keys, 'targets.pub.pem')],
      'USAGE',
      /Not enough non-option arguments/,
      {
        cwd,
      },
    );
    refuses(['threshold', 'targets'], 'USAGE', /Not enough non-option arguments/, { cwd });
  }),
);

// ---------------------------------------------------------------- 13. atomic writes

/** Every file under metadata/ (temporary files included), by repository-relative path. */
function metadataFiles(repo: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${rel}/${entry.name}`);
      else files.set(`${rel}/${entry.name}`, readFileSync(path));
    }
  };
  walk(join(repo, 'metadata'), 'metadata');
  return files;
}

/** Entries of the bulk edit: enough for a targets.json of about 17 MB, so a kill can land mid-write. */
const BULK = 100_000;

const isTempFile = (rel: string): boolean => /\/\.[^/]+\.tmp$/.test(rel);

type Trigger = { afterMs: number } | { onFile: RegExp; delayMs: number; label: string };

/** Runs tufctl ARGS and SIGKILLs it at the trigger; resolves when it has exited. */
function runAndKill(args: string[], cwd: string, trigger: Trigger): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('TUFCTL_KEY_')) delete env[name];
    let killed = false;
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      killed = child.kill('SIGKILL');
    };
    if ('onFile' in trigger) {
      watcher = watch(join(cwd, 'metadata'), (_event, name) => {
        if (!name || !trigger.onFile.test(name.toString())) return;
        watcher?.close();
        if (trigger.delayMs > 0) timer = setTimeout(kill, trigger.delayMs);
        else kill();
      });
    }
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: 'ignore' });
    if ('afterMs' in trigger) timer = setTimeout(kill, trigger.afterMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      watcher?.close();
      clearTimeout(timer);
      resolvePromise({ killed: killed && code === null, code });
    });
  });
}

function resetRepository(repo: string): void {
  git(repo, 'reset', '-q', '--hard', 'HEAD');
  git(repo, 'clean', '-q', '-f', '-d');
}

test(
  'a bulk add-entries of 100,000 targets killed with SIGKILL never leaves a torn metadata file',
  { timeout: 180_000 },
  async (t: TestContext) => {
    const fx = newRepository();
    try {
      const cwd = fx.repo;
      const jsonl = join(fx.root, 'bulk.jsonl');
      const lines: string[] = [];
      for (let i = 0; i < BULK; i++)
        lines.push(JSON.stringify({ path: `images/${i % 100}/${i}.json`, length: i, sha256: sha256(Buffer.from(String(i))) }));
      writeFileSync(jsonl, lines.join('\n') + '\n');
      // A fixed --now makes the uninterrupted result byte-for-byte reproducible.
      const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      const args = [
        'target',
        'add-entries',
        '--from',
        jsonl,
        '--sign',
        '--key',
        fx.key('targets'),
        '--key',
        fx.key('online'),
        '--now',
        now,
      ];

      const before = metadataFiles(cwd);
      const started = Date.now();
      ok(args, { cwd });
      const duration = Date.now() - started;
      const after = metadataFiles(cwd);
      assert.ok(after.get('metadata/targets.json')!.length > 10_000_000, 'targets.json is large');
      assert.deepEqual([...after.keys()].filter(isTempFile), [], 'a completed command leaves no temporary file');
      resetRepository(cwd);
      assert.deepEqual(metadataFiles(cwd), before);

      const triggers: Trigger[] = [
        { afterMs: 50 },
        { afterMs: 150 },
        { afterMs: 400 },
        { onFile: /^\.targets\.json\..*\.tmp$/, delayMs: 0, label: 'while the targets.json temporary file is written' },
        { onFile: /^targets\.json$/, delayMs: 0, label: 'as targets.json is renamed into place' },
      ];
      const outcomes: string[] = [`uninterrupted run: ${duration} ms`];
      for (const trigger of triggers) {
        const label = 'afterMs' in trigger ? `after ${trigger.afterMs} ms` : trigger.label;
        const run = await runAndKill(args, cwd, trigger);
        const files = metadataFiles(cwd);
        const temp = [...files.keys()].filter(isTempFile);
        let changed = 0;
        for (const rel of new Set([...before.keys(), ...after.keys(), ...files.keys()])) {
          if (isTempFile(rel)) continue;
          const bytes = files.get(rel);
          if (before.has(rel)) assert.ok(bytes, `${label}: ${rel} disappeared`);
          if (!bytes) continue;
          assert.doesNotThrow(() => JSON.parse(bytes.toString('utf8')), `${label}: ${rel} is not valid JSON (a torn write)`);
          const old = before.get(rel)?.equals(bytes) ?? false;
          const fresh = after.get(rel)?.equals(bytes) ?? false;
          assert.ok(old || fresh, `${label}: ${rel} is neither the old nor the new file`);
          if (!old) changed++;
        }
        const state =
          changed === 0
            ? 'unchanged'
            : [...after.keys()].every((rel) => after.get(rel)!.equals(files.get(rel) ?? Buffer.alloc(0)))
              ? 'complete'
              : 'partly written';
        let outcome = `${label}: ${run.killed ? 'killed' : `exited ${run.code}`}, ${state}, ${temp.length} temporary file(s) left`;
        if (temp.length > 0) outcome += ` (${temp.map((rel) => `${rel}: ${files.get(rel)!.length} bytes`).join(', ')})`;
        if (state === 'partly written') {
          // Each file is whole but the set is not (e.g. new targets.json, old snapshot.json): verify
          // cannot pass on such a tree; re-running the command completes it.
          const broken = tufctl(['verify'], { cwd });
          outcome += `; verify before re-running: exit ${broken.code}`;
          ok(args, { cwd });
          const rerun = metadataFiles(cwd);
          assert.ok(
            [...after.keys()].every((rel) => after.get(rel)!.equals(rerun.get(rel)!)),
            `${label}: re-running did not converge`,
          );
        }
        outcomes.push(outcome);
        if (state !== 'unchanged' || temp.length > 0) {
          // Left-over temporary files are ignored by verify, and the repository verifies.
          const v = tufctl(['verify'], { cwd });
          assert.equal(v.code, 0, `${label}: verify after the kill\n${v.stdout}\n${v.stderr}`);
        }
        resetRepository(cwd);
      }
      t.diagnostic(outcomes.join('; '));
    } finally {
      fx.cleanup();
    }
  },
);

test(
  'temporary files left by a killed write are ignored by verify, status, snapshot and editing commands',
  withRepository((fx) => {
    const cwd = fx.repo;
    const targets = readFileSync(metadataPath(fx, 'targets'));
    writeFileSync(join(cwd, 'metadata', `.targets.json.99999.deadbeef.tmp`), targets.subarray(0, targets.length >> 1));
    writeFileSync(join(cwd, 'metadata', `.snapshot.json.99999.cafebabe.tmp`), '');
    writeFileSync(join(cwd, 'metadata', 'root_history', `.2.root.json.99999.0badf00d.tmp`), '{"signed":');
    ok(['verify'], { cwd });
    ok(['status'], { cwd });
    ok(['target', 'add-entry', 'app.json', ...ENTRY, '--sign', '--key', fx.key('targets'), '--key', fx.key('online')], { cwd });
    ok(['verify'], { cwd });
    const staged = git(cwd, 'diff', '--cached', '--name-only');
    assert.doesNotMatch(staged, /\.tmp/, 'temporary files are never staged');
  }),
);

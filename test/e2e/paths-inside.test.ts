/**
 * One path rule, at input and at output, and every write inside its root:
 * hash values that would become file names outside the export directory,
 * symbolic links out of targets/, and target names clients put in URLs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathInside } from '../../src/fs-paths.js';
import { TufctlError } from '../../src/errors.js';
import { newRepository, ok, readJson, serveDirectory, tufctl } from '../helpers/harness.js';
import { clientDownloads } from '../helpers/tuf-client.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Re-signs what was edited by hand, then snapshot and timestamp, as a PR author with the keys would. */
function signAll(cwd: string, keys: (name: string) => string): void {
  ok(['sign', '--key', keys('targets'), '--key', keys('root')], { cwd });
  ok(['snapshot', '--key', keys('online')], { cwd });
  ok(['timestamp', '--key', keys('online')], { cwd });
}

test('pathInside joins names inside the root and refuses every way out', () => {
  assert.equal(pathInside('/srv/out', 'targets', 'a', 'b.json'), '/srv/out/targets/a/b.json');
  for (const segments of [['..'], ['a', '..', '..'], ['/etc'], ['a/../../x'], ['.'], [''], ['a\\b'], ['a\0b']]) {
    assert.throws(
      () => pathInside('/srv/out', ...segments),
      (e: unknown) => e instanceof TufctlError && e.code === 'PATH_OUTSIDE',
      JSON.stringify(segments),
    );
  }
});

test('a hash value that would name a file outside the export is refused by verify and export; nothing is written', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const content = 'payload';
    mkdirSync(join(cwd, 'targets'), { recursive: true });
    writeFileSync(join(cwd, 'targets', 'app.txt'), content);
    ok(['target', 'add', 'targets/app.txt'], { cwd });
    const path = join(cwd, 'metadata', 'targets.json');
    const targets = readJson(path);
    targets.signed.targets['app.txt'].hashes['x-custom'] = '../../../../escaped';
    writeFileSync(path, JSON.stringify(targets, null, 2) + '\n');
    signAll(cwd, fx.key);

    const verified = tufctl(['verify', '--client', 'never'], { cwd });
    assert.equal(verified.code, 1);
    assert.match(verified.stderr, /targets: target "app\.txt" has a x-custom value that is not lowercase hex/);
    const out = join(fx.root, 'deep', 'er', 'out');
    const exported = tufctl(['export', out], { cwd });
    assert.equal(exported.code, 1);
    assert.match(exported.stderr, /error \[VERIFICATION_FAILED\]: refusing to export/);
    assert.equal(existsSync(join(fx.root, 'escaped.app.txt')), false);
    assert.equal(existsSync(out), false, 'nothing written');

    // Algorithm names are names, not paths either.
    const renamed = readJson(path);
    delete renamed.signed.targets['app.txt'].hashes['x-custom'];
    renamed.signed.targets['app.txt'].hashes['../sha256'] = sha256(content);
    writeFileSync(path, JSON.stringify(renamed, null, 2) + '\n');
    signAll(cwd, fx.key);
    assert.match(
      tufctl(['verify', '--client', 'never'], { cwd }).stderr,
      /has a hash algorithm name "\.\.\/sha256" that is not a plain name/,
    );
  } finally {
    fx.cleanup();
  }
});

test('a signed target reached through a symbolic link out of targets/ is not followed by verify, export or publish', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const secret = join(fx.root, 'outside-secret.txt');
    writeFileSync(secret, 'not for publishing');
    symlinkSync(secret, join(cwd, 'targets', 'link.txt'));
    // The entry is described by hand (target add refuses the link), as a hostile pull request would.
    ok(['target', 'add-entry', 'link.txt', '--length', '18', '--sha256', sha256('not for publishing')], { cwd });
    signAll(cwd, fx.key);
    const verified = tufctl(['verify', '--client', 'never'], { cwd });
    assert.equal(verified.code, 1);
    assert.match(verified.stderr, /targets\/link\.txt resolves outside targets\/ \(a symbolic link\); targets cannot sign it/);
    const out = join(fx.root, 'export');
    assert.equal(tufctl(['export', out], { cwd }).code, 1);
    assert.equal(existsSync(out), false);
    const layout = join(fx.root, 'layout');
    assert.equal(tufctl(['publish', '--to', `oci-layout:${layout}`], { cwd }).code, 1);
    assert.equal(existsSync(layout), false);
  } finally {
    fx.cleanup();
  }
});

test('verify checks target files however deep they lie, also below a linked directory inside targets/, and skips entries whose directories are absent', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const filesAtStart = (JSON.parse(ok(['verify', '--client', 'never', '--json'], { cwd }).stdout) as { targets: { withFiles: number } })
      .targets.withFiles;
    const deep = join(cwd, 'targets', 'packages', 'ab', 'cd');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'pkg-1.tar.gz'), 'one');
    mkdirSync(join(cwd, 'targets', 'real', 'x'), { recursive: true });
    writeFileSync(join(cwd, 'targets', 'real', 'x', 'pkg-2.tar.gz'), 'two');
    // A directory linked inside targets/ is followed (it stays inside).
    symlinkSync(join(cwd, 'targets', 'real'), join(cwd, 'targets', 'alias'));
    ok(['target', 'add', 'targets/packages/ab/cd/pkg-1.tar.gz'], { cwd });
    ok(['target', 'add-entry', 'alias/x/pkg-2.tar.gz', '--length', '3', '--sha256', sha256('two')], { cwd });
    // Entries only: their directories do not exist under targets/ (one level, or several levels, down).
    for (let i = 0; i < 20; i++) {
      ok(['target', 'add-entry', `packages/${i}/${i}/h${i}/pkg-${i}.tar.gz`, '--length', '1', '--sha256', sha256(String(i))], { cwd });
    }
    ok(['target', 'add-entry', 'packages/ab/missing/pkg.tar.gz', '--length', '1', '--sha256', sha256('m')], { cwd });
    signAll(cwd, fx.key);
    const clean = tufctl(['verify', '--client', 'never', '--json'], { cwd });
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal((JSON.parse(clean.stdout) as { targets: { withFiles: number } }).targets.withFiles, filesAtStart + 2);

    writeFileSync(join(deep, 'pkg-1.tar.gz'), 'ONE');
    writeFileSync(join(cwd, 'targets', 'real', 'x', 'pkg-2.tar.gz'), 'TWO');
    const changed = tufctl(['verify', '--client', 'never'], { cwd });
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /targets\/packages\/ab\/cd\/pkg-1\.tar\.gz: sha256 differs from the hash signed in targets/);
    assert.match(changed.stderr, /targets\/alias\/x\/pkg-2\.tar\.gz: sha256 differs from the hash signed in targets/);
  } finally {
    fx.cleanup();
  }
});

test('target names: "?", "#", "%" and non-NFC names are refused at input; spaces and full-width letters are served and fetched', async () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const entry = ['--length', '1', '--sha256', 'a'.repeat(64)];
    for (const [name, reason] of [
      ['dir/a?b.json', /contains "\?", "#" or "%"/],
      ['dir/a#b.json', /contains "\?", "#" or "%"/],
      ['dir/%2e%2e/x.json', /contains "\?", "#" or "%"/],
      ['dir/e\u0301.json', /is not in Unicode normal form C/],
    ] as const) {
      const r = tufctl(['target', 'add-entry', name, ...entry], { cwd });
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /error \[TARGET_PATH_INVALID\]/, name);
      assert.match(r.stderr, reason, name);
    }
    // What input accepts, output serves: verify, export, and a real client fetching it.
    const names = ['with space/a b.json', 'ｆｕｌｌ/ｗｉｄｔｈ.json', 'é/ü.json'];
    for (const name of names) {
      const file = join(cwd, 'targets', ...name.split('/'));
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, `content of ${name}`);
      ok(['target', 'add', `targets/${name}`], { cwd });
    }
    signAll(cwd, fx.key);
    ok(['verify'], { cwd });
    const out = join(fx.root, 'export');
    ok(['export', out], { cwd });
    assert.ok(readdirSync(join(out, 'targets')).includes('ｆｕｌｌ'));
    const mirror = await serveDirectory(out);
    try {
      await clientDownloads(mirror.url, join(fx.root, 'client'), names, join(out, 'metadata', '1.root.json'), cwd);
    } finally {
      await mirror.close();
    }
  } finally {
    fx.cleanup();
  }
});

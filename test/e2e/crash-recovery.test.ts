/**
 * A run killed between saving and committing: `tufctl status` explains what
 * is staged, and rerunning the same `--commit` command finishes the commit
 * (with the interrupted command's own message) instead of reporting "nothing
 * changed". Temporary files a killed writer left behind are removed by the
 * next run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, tufctl } from '../helpers/harness.js';

test('a --commit run killed after saving is explained by status and finished by the rerun', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    writeFileSync(join(cwd, 'targets', 'app.json'), '{"v": 1}\n');
    // The crash: git's pre-commit hook kills tufctl (the hook's grandparent) after every file was saved and staged.
    const hook = join(cwd, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\nkill -9 "$(ps -o ppid= -p "$PPID" | tr -d " ")"\nsleep 5\nexit 1\n');
    chmodSync(hook, 0o755);
    const killed = tufctl(['target', 'add', 'targets/app.json', '--commit'], { cwd });
    assert.notEqual(killed.code, 0, 'the run was killed');
    assert.match(git(cwd, 'status', '--porcelain'), /^M {2}metadata\/targets\.json$/m, 'saved and staged, not committed');
    assert.equal(git(cwd, 'log', '--format=%s').split('\n')[0]?.includes('app.json'), false);

    const status = ok(['status'], { cwd }).stdout;
    assert.match(
      status,
      /^interrupted: "targets: add target app\.json.*" \(.*\) was saved but not committed \(\d+ file\(s\)\); rerun the command with --commit/m,
    );

    // Rerunning the same command finishes the commit with its message, then finds nothing else to do.
    writeFileSync(hook, '#!/bin/sh\nexit 0\n');
    const rerun = ok(['target', 'add', 'targets/app.json', '--commit'], { cwd });
    assert.match(rerun.stdout, /^finished an interrupted commit [0-9a-f]{7}: targets: add target app\.json/m);
    assert.equal(git(cwd, 'status', '--porcelain'), '');
    assert.match(git(cwd, 'log', '-1', '--format=%s'), /^targets: add target app\.json/);
    assert.doesNotMatch(ok(['status'], { cwd }).stdout, /interrupted/);
  } finally {
    fx.cleanup();
  }
});

test("temporary files of a killed writer are removed by the next run; a live writer's are kept", () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const stale = join(cwd, 'metadata', `.targets.json.999999.0badc0de.1.tmp`);
    const staleTrust = join(cwd, 'targets', 'doi', `.policy.rego.999999.0badc0de.2.tmp`);
    const live = join(cwd, 'metadata', `.snapshot.json.${process.pid}.0badc0de.3.tmp`);
    for (const file of [stale, staleTrust, live]) writeFileSync(file, 'partial');
    ok(['status'], { cwd });
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(staleTrust), false);
    assert.equal(existsSync(live), true, 'a running process may still rename its file into place');
    assert.deepEqual(
      readdirSync(join(cwd, 'metadata')).filter((f) => f.endsWith('.tmp')),
      [`.snapshot.json.${process.pid}.0badc0de.3.tmp`],
    );
  } finally {
    fx.cleanup();
  }
});

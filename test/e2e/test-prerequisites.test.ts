/**
 * The test command's prerequisite check (scripts/test-prerequisites.mjs) on a
 * machine where tools are missing: a PATH of stand-in commands without some of
 * them. As a user who may not install, it stops with one line naming the
 * install command; as root, --dry-run lists the packages and runs no apt-get.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_DIR, tempDir } from '../helpers/harness.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/** A world-readable directory with the script and stand-ins for every probed command except `without`. */
function machineWithout(without: string[]): { dir: string; bin: string; script: string; aptLog: string; cleanup: () => void } {
  const tmp = tempDir('tufctl-prereq-');
  chmodSync(tmp.path, 0o755);
  const bin = join(tmp.path, 'bin');
  const aptLog = join(tmp.path, 'apt-get.log');
  const script = join(tmp.path, 'test-prerequisites.mjs');
  copyFileSync(join(PROJECT_DIR, 'scripts', 'test-prerequisites.mjs'), script);
  chmodSync(script, 0o644);
  mkdirSync(bin, { mode: 0o755 });
  const commands = ['git', 'docker-registry', 'skopeo', 'htpasswd', 'openssl', 'chromium', 'softhsm2-util', 'pkcs11-tool'];
  for (const name of commands.filter((c) => !without.includes(c))) writeFileSync(join(bin, name), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  // apt-get that only records that it was run.
  writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "apt-get $*" >> '${aptLog}'\nexit 0\n`, { mode: 0o755 });
  return { dir: tmp.path, bin, script, aptLog, cleanup: tmp.cleanup };
}

test('a user who may not install gets one line naming the install command and a non-zero exit', (t) => {
  const machine = machineWithout(['skopeo', 'pkcs11-tool']);
  t.after(machine.cleanup);
  const argv = [process.execPath, machine.script];
  const r = isRoot
    ? spawnSync('/usr/bin/setpriv', [...NOBODY, ...argv], { env: { PATH: machine.bin, HOME: machine.dir }, encoding: 'utf8' })
    : spawnSync(argv[0]!, argv.slice(1), { env: { PATH: machine.bin, HOME: machine.dir }, encoding: 'utf8' });
  assert.equal(r.error, undefined);
  assert.notEqual(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  // softhsm2 may be named too where its library is not installed; the missing stand-ins always are.
  assert.match(lines[0]!, /^tufctl tests need Debian packages: sudo apt-get install -y (\S+ )*skopeo (\S+ )*opensc( \S+)*$/);
  assert.ok(!lines[0]!.includes('docker-registry'), lines[0]);
  assert.ok(!existsSync(machine.aptLog), 'apt-get ran');
});

test('as root, --dry-run lists the missing packages and installs nothing', { skip: !isRoot && 'needs root' }, (t) => {
  const machine = machineWithout(['docker-registry', 'chromium']);
  t.after(machine.cleanup);
  const hadPolicy = existsSync(POLICY_RC_D);
  const r = spawnSync(process.execPath, [machine.script, '--dry-run'], { env: { PATH: machine.bin, HOME: machine.dir }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tufctl tests: would install Debian packages: docker-registry \(no docker-registry\), chromium \(no chromium\)/m);
  assert.match(r.stdout, /^ {2}apt-get update -qq$/m);
  assert.match(r.stdout, /^ {2}apt-get install -y -qq docker-registry chromium\b/m);
  assert.ok(!/skopeo|opensc|apache2-utils/.test(r.stdout), r.stdout);
  assert.ok(!existsSync(machine.aptLog), 'apt-get ran in a dry run');
  assert.equal(existsSync(POLICY_RC_D), hadPolicy, 'policy-rc.d changed in a dry run');
});

test(
  '--dry-run on a machine that has everything says so',
  { skip: !existsSync('/usr/lib/softhsm/libsofthsm2.so') && 'softhsm2 missing' },
  (t) => {
    const machine = machineWithout([]);
    t.after(machine.cleanup);
    const r = spawnSync(process.execPath, [machine.script, '--dry-run'], {
      env: { PATH: machine.bin, HOME: machine.dir },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /every Debian package the suite needs is installed/);
    assert.ok(!existsSync(machine.aptLog));
  },
);

#!/usr/bin/env node
// What the test suite needs from the machine: the Debian packages it drives (a real OCI
// registry, skopeo, htpasswd, openssl, a headless browser, a PKCS#11 token, git) and a
// git identity; installs what is missing when it may (root and apt-get), otherwise
// stops with one line naming the install command.
//
//   node scripts/test-prerequisites.mjs            check, install what is missing
//   node scripts/test-prerequisites.mjs --dry-run  check, print what it would install
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each Debian package and what shows it is installed (a command on PATH, or a file). */
export const REQUIREMENTS = [
  { pkg: 'git', probes: [{ command: 'git' }] },
  // A real OCI registry (CNCF Distribution) the harness starts on 127.0.0.1.
  { pkg: 'docker-registry', probes: [{ command: 'docker-registry' }] },
  // An independent OCI client.
  { pkg: 'skopeo', probes: [{ command: 'skopeo' }] },
  // htpasswd and openssl: the registry's Basic and token auth in the harness.
  { pkg: 'apache2-utils', probes: [{ command: 'htpasswd' }] },
  { pkg: 'openssl', probes: [{ command: 'openssl' }] },
  // A real headless browser for the status page test.
  { pkg: 'chromium', probes: [{ command: 'chromium' }] },
  // A real PKCS#11 token (SoftHSM2) and OpenSC's pkcs11-tool to make keys on it.
  { pkg: 'softhsm2', probes: [{ command: 'softhsm2-util' }, { file: '/usr/lib/softhsm/libsofthsm2.so' }] },
  { pkg: 'opensc', probes: [{ command: 'pkcs11-tool' }] },
];

/** The service policy that keeps docker-registry's own service from starting on install. */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const GIT_IDENTITY = { 'user.name': 'tufctl test', 'user.email': 'test@tufctl.invalid' };

/** Whether an executable file called `name` is in one of PATH's directories. */
export function onPath(name, path = process.env.PATH ?? '') {
  return path.split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return statSync(join(dir, name)).isFile();
    } catch {
      return false;
    }
  });
}

function present(probe) {
  return probe.command !== undefined ? onPath(probe.command) : existsSync(probe.file);
}

/** The packages of REQUIREMENTS this machine lacks, with what was not found. */
export function missingPackages() {
  return REQUIREMENTS.flatMap(({ pkg, probes }) => {
    const absent = probes.filter((p) => !present(p)).map((p) => p.command ?? p.file);
    return absent.length > 0 ? [{ pkg, absent }] : [];
  });
}

function run(command, args, env = process.env) {
  process.stdout.write(`+ ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

/** apt-get update and install, with a policy-rc.d that refuses service starts in place meanwhile. */
function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const previous = existsSync(POLICY_RC_D) ? { text: readFileSync(POLICY_RC_D), mode: statSync(POLICY_RC_D).mode } : undefined;
  run('apt-get', ['update', '-qq'], env);
  writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n');
  chmodSync(POLICY_RC_D, 0o755);
  try {
    run('apt-get', ['install', '-y', '-qq', ...packages], env);
  } finally {
    if (previous) {
      writeFileSync(POLICY_RC_D, previous.text);
      chmodSync(POLICY_RC_D, previous.mode & 0o7777);
    } else rmSync(POLICY_RC_D, { force: true });
  }
}

function gitConfig(key) {
  const r = spawnSync('git', ['config', '--includes', '--get', key], { cwd: '/', encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** Tests commit in fresh repositories: git needs a user name and email from somewhere. */
function ensureGitIdentity(dryRun) {
  for (const [key, value] of Object.entries(GIT_IDENTITY)) {
    if (gitConfig(key) !== '') continue;
    const args = ['config', '--global', key, value];
    if (dryRun) process.stdout.write(`tufctl tests: git has no ${key}; would run: git config --global ${key} '${value}'\n`);
    else {
      process.stdout.write(`tufctl tests: git has no ${key}; setting it globally\n`);
      run('git', args);
    }
  }
}

/**
 * Checks the machine; installs what is missing when running as root with apt-get, or with
 * `dryRun` prints what it would install. Returns the exit code: 0 when the suite can run
 * (or, in a dry run, could be made to), 1 after one line naming the install command.
 */
export function ensurePrerequisites({ dryRun = false } = {}) {
  const missing = missingPackages();
  if (missing.length > 0) {
    const packages = missing.map((m) => m.pkg);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot || !onPath('apt-get')) {
      process.stderr.write(`tufctl tests need Debian packages: ${isRoot ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}\n`);
      return 1;
    }
    const why = missing.map((m) => `${m.pkg} (no ${m.absent.join(', ')})`).join(', ');
    if (dryRun) {
      process.stdout.write(`tufctl tests: would install Debian packages: ${why}\n`);
      process.stdout.write(`  apt-get update -qq\n`);
      process.stdout.write(
        `  apt-get install -y -qq ${packages.join(' ')}   (with ${POLICY_RC_D} refusing service starts, removed after)\n`,
      );
    } else {
      process.stdout.write(`tufctl tests: installing Debian packages: ${why}\n`);
      aptInstall(packages);
      const still = missingPackages();
      if (still.length > 0) {
        process.stderr.write(`tufctl tests: still missing after apt-get install: ${still.map((m) => m.absent.join(', ')).join(', ')}\n`);
        return 1;
      }
    }
  }
  if (onPath('git')) ensureGitIdentity(dryRun);
  if (dryRun && missing.length === 0) process.stdout.write('tufctl tests: every Debian package the suite needs is installed\n');
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const unknown = process.argv.slice(2).filter((a) => a !== '--dry-run');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node scripts/test-prerequisites.mjs [--dry-run] (unknown: ${unknown.join(' ')})\n`);
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = ensurePrerequisites({ dryRun: process.argv.includes('--dry-run') });
    } catch (error) {
      process.stderr.write(`tufctl tests: ${error.message}\n`);
      process.exitCode = 1;
    }
  }
}

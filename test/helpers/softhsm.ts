/**
 * A real PKCS#11 token for tests: Debian's SoftHSM2, with a token directory
 * of its own (SOFTHSM2_CONF), initialized with softhsm2-util and given key
 * pairs by OpenSC's pkcs11-tool, as a key holder would on a hardware token.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './harness.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  /** Environment for tufctl: SOFTHSM2_CONF pointing at this token directory. */
  env: NodeJS.ProcessEnv;
  module: string;
  root: string;
  /** Initializes a token with this label, SO PIN and user PIN. */
  initToken(label: string, pin: string): void;
  /** Generates a key pair on the token: `EC:secp384r1`, `EC:prime256v1`, `EC:edwards25519`, `rsa:2048`. */
  generateKey(token: string, pin: string, label: string, id: string, keyType: string): void;
  cleanup: () => void;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(command, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.filter((a) => !/^\d{4,}$/.test(a)).join(' ')} failed: ${r.stderr}`);
}

export function startSoftHsm(): SoftHsm {
  assert.ok(
    existsSync(SOFTHSM_MODULE) && spawnSync('pkcs11-tool', ['--version']).error === undefined,
    `${SOFTHSM_MODULE} or pkcs11-tool is missing: the PKCS#11 tests need Debian's softhsm2 and opensc packages (npm test installs them as root: apt-get install softhsm2 opensc)`,
  );
  const dir = tempDir('tufctl-softhsm-');
  const tokens = join(dir.path, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir.path, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  return {
    env,
    module: SOFTHSM_MODULE,
    root: dir.path,
    initToken: (label, pin) => run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', `9${pin}`, '--pin', pin], env),
    generateKey: (token, pin, label, id, keyType) =>
      run(
        'pkcs11-tool',
        [
          '--module',
          SOFTHSM_MODULE,
          '--token-label',
          token,
          '--login',
          '--pin',
          pin,
          '--keypairgen',
          '--key-type',
          keyType,
          '--label',
          label,
          '--id',
          id,
        ],
        env,
      ),
    cleanup: dir.cleanup,
  };
}

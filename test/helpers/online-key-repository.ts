/**
 * A repository whose snapshot and timestamp key lives in a remote signer (a
 * loopback KMS or key vault): root and targets keys are generated files, the
 * online key is given by its public key and online URI only, so snapshot and
 * timestamp stay unsigned until the remote signer is reached.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { ok, tufctl } from './harness.js';

export function repositoryWithRemoteOnlineKey(dir: string, onlinePublicKey: KeyObject, onlineUri: string): { repo: string; keys: string } {
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  writeFileSync(join(keys, 'online.pub.pem'), onlinePublicKey.export({ type: 'spki', format: 'pem' }));
  for (const name of ['root', 'targets']) ok(['key', 'generate', '--type', 'ecdsa-p256', '--out', join(keys, `${name}.pem`)]);
  const repo = join(dir, 'repo');
  // Public-key mode: snapshot and timestamp stay unsigned until the online key is reachable.
  tufctl([
    'init',
    repo,
    '--no-policies',
    '--root-key',
    join(keys, 'root.pub.pem'),
    '--targets-key',
    join(keys, 'targets.pub.pem'),
    '--online-key',
    join(keys, 'online.pub.pem'),
    '--online-uri',
    onlineUri,
    '--key',
    join(keys, 'root.pem'),
    '--key',
    join(keys, 'targets.pem'),
  ]);
  return { repo, keys };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok, tufctl } from '../helpers/harness.js';

test('tufctl --version and --help work', () => {
  const version = ok(['--version']);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const help = ok(['--help']);
  for (const command of [
    'init',
    'key',
    'target',
    'delegate',
    'sign',
    'snapshot',
    'timestamp',
    'status',
    'verify',
    'export',
    'policy',
    'revoke',
    'jwks',
  ]) {
    assert.match(help.stdout, new RegExp(`tufctl ${command}`));
  }
});

test('an unknown command is a usage error with exit code 2', () => {
  const r = tufctl(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error \[USAGE\]/);
});

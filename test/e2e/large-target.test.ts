/**
 * A target file past 2 GiB (more than Node reads into one buffer) is hashed
 * by streaming: `target add` and `verify` handle it instead of failing with
 * INTERNAL. The file is sparse, so the test costs hashing time, not disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { newRepository, ok, readJson } from '../helpers/harness.js';

test('a 2 GiB + 1 byte target file is added and verified by streaming', { timeout: 120_000 }, () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const file = join(cwd, 'targets', 'big.bin');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 2 ** 31);
    writeSync(fd, Buffer.from('!'), 0, 1, 2 ** 31);
    closeSync(fd);
    ok(['target', 'add', 'targets/big.bin', '--sign', '--key', fx.key('targets'), '--key', fx.key('online')], { cwd });
    const entry = readJson(join(cwd, 'metadata', 'targets.json')).signed.targets['big.bin'];
    assert.equal(entry.length, 2 ** 31 + 1);
    assert.match(entry.hashes.sha256, /^[0-9a-f]{64}$/);
    const report = ok(['verify', '--client', 'never', '--json'], { cwd }).json;
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.targets.withFiles >= 1, true);
  } finally {
    fx.cleanup();
  }
});

/**
 * verify over thousands of roles, where signatures are checked on worker
 * threads (src/verify/signature-pool.ts): a bin with a broken signature and
 * a target in the wrong bin are still found, with the same codes, messages
 * and order as a sequential check gives, and a clean repository still
 * verifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newRepository, ok, readJson, tufctl } from '../helpers/harness.js';
import { verifyRepository } from '../../src/verify/verify-repository.js';

test('verify with 1,024 bins: broken bin signatures and wrong bin membership are found in order', async () => {
  const fx = newRepository();
  try {
    const binsKey = join(fx.root, 'bins.pem');
    ok(['key', 'generate', '--out', binsKey], { cwd: fx.repo });
    ok(['delegate', 'add', 'bins', '--bins', '1024', '--key', join(fx.root, 'bins.pub.pem')], { cwd: fx.repo });
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ path: `pkgs/t-${i}`, length: i + 1, sha256: 'ab'.repeat(32) }));
    writeFileSync(join(fx.root, 'targets.jsonl'), `${lines.join('\n')}\n`);
    ok(['target', 'add-entries', '--from', join(fx.root, 'targets.jsonl')], { cwd: fx.repo });
    ok(['sign', '--key', binsKey, '--key', fx.key('targets')], { cwd: fx.repo });
    ok(['snapshot', '--key', fx.key('online')], { cwd: fx.repo });
    ok(['timestamp', '--key', fx.key('online')], { cwd: fx.repo });
    const clean = await verifyRepository(fx.repo, { client: 'never' });
    assert.deepEqual(clean.report.problems, []);
    assert.equal(clean.report.targets.total >= 3000, true);
    assert.equal(clean.report.roles.find((r) => r.role === 'bins-000')?.signatures, '1/1');

    // Two bins with a corrupted signature (the file's bytes otherwise unchanged), and a target moved into another bin.
    const metadata = join(fx.repo, 'metadata');
    const corrupt = (bin: string): void => {
      const file = join(metadata, `${bin}.json`);
      const text = readFileSync(file, 'utf8');
      const sig = (readJson(file) as { signatures: Array<{ sig: string }> }).signatures[0]!.sig;
      const flipped = `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}`;
      writeFileSync(file, text.replace(sig, flipped));
    };
    corrupt('bins-001');
    corrupt('bins-3fe');
    const from = readJson(join(metadata, 'bins-002.json')) as { signed: { targets: Record<string, unknown> } };
    const moved = Object.keys(from.signed.targets)[0]!;
    const into = readJson(join(metadata, 'bins-3ff.json')) as { signed: { targets: Record<string, unknown> } };
    into.signed.targets[moved] = from.signed.targets[moved];
    writeFileSync(join(metadata, 'bins-3ff.json'), `${JSON.stringify(into, null, 2)}\n`);

    const broken = await verifyRepository(fx.repo, { client: 'never' });
    const problems = broken.report.problems.map((p) => `${p.code} ${p.role ?? ''}: ${p.message}`);
    const version = (bin: string): number => (readJson(join(metadata, `${bin}.json`)) as { signed: { version: number } }).signed.version;
    assert.deepEqual(problems, [
      `THRESHOLD_UNMET bins-001: bins-001 v${version('bins-001')} is signed by 0/1 trusted keys`,
      `THRESHOLD_UNMET bins-3fe: bins-3fe v${version('bins-3fe')} is signed by 0/1 trusted keys`,
      // bins-3ff: its content changed, so its signature, its snapshot entry and the moved target are all wrong
      `THRESHOLD_UNMET bins-3ff: bins-3ff v${version('bins-3ff')} is signed by 0/1 trusted keys`,
      ...broken.report.problems
        .filter((p) => p.role === 'bins-3ff' && p.code === 'SNAPSHOT_MISMATCH')
        .map((p) => `SNAPSHOT_MISMATCH bins-3ff: ${p.message}`),
      `TARGET_NOT_DELEGATED bins-3ff: bins-3ff: target "${moved}" is outside the paths delegated to bins-3ff`,
    ]);
    assert.equal(broken.report.ok, false);
    assert.equal(broken.report.roles.find((r) => r.role === 'bins-001')?.signatures, '0/1');
    // The command exits non-zero with the same problems.
    const cli = tufctl(['verify', '--client', 'never'], { cwd: fx.repo });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stdout + cli.stderr, /bins-001 v\d+ is signed by 0\/1 trusted keys/);
    assert.match(cli.stdout + cli.stderr, /is outside the paths delegated to bins-3ff/);
  } finally {
    fx.cleanup();
  }
});

/**
 * tuf-js's Updater checks every expiry against one reference time fixed when
 * an update starts (specification 5.1). pinReferenceTime sets it; this pins
 * that tuf-js still keeps it where we set it: a repository valid now is
 * refused at a time after its expiry, and accepted again at the real time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { pinReferenceTime } from '../../src/verify/reference-time.js';
import { newRepository, ok, serveDirectory } from '../helpers/harness.js';

async function refreshAt(base: string, dir: string, root: Buffer, now?: Date): Promise<void> {
  const metadataDir = join(dir, 'metadata');
  mkdirSync(metadataDir, { recursive: true });
  writeFileSync(join(metadataDir, 'root.json'), root);
  const updater = new Updater({ metadataDir, targetDir: dir, metadataBaseUrl: `${base}/metadata`, targetBaseUrl: `${base}/targets` });
  if (now) pinReferenceTime(updater, now);
  await updater.refresh();
}

test('pinReferenceTime makes tuf-js check expiry at the given time', async () => {
  const fx = newRepository();
  const out = join(fx.root, 'export');
  ok(['export', out], { cwd: fx.repo });
  const server = await serveDirectory(out);
  try {
    const root = readFileSync(join(out, 'metadata', '1.root.json'));
    await refreshAt(server.url, join(fx.root, 'a'), root);
    const later = new Date(Date.now() + 3 * 365 * 86_400_000);
    await assert.rejects(refreshAt(server.url, join(fx.root, 'b'), root, later), /expired/i);
    await refreshAt(server.url, join(fx.root, 'c'), root, new Date());
  } finally {
    await server.close();
    fx.cleanup();
  }
});

test('pinReferenceTime refuses an Updater without the field, rather than checking against the wrong time', () => {
  assert.throws(() => pinReferenceTime({} as Updater, new Date()), /does not expose its reference time/);
});

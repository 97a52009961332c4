import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ok, PROJECT_DIR, tufctl } from '../helpers/harness.js';

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

test(
  'npm run demo: the main job end to end (publish to the layout, refresh, a client fetching from it)',
  { timeout: 600_000 },
  async () => {
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(PROJECT_DIR, 'scripts', 'demo.mjs')],
        { encoding: 'utf8', maxBuffer: 16 << 20 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout;
    // The repository's own steps and the export read by tuf-js over HTTP.
    assert.match(out, /^\$ tufctl verify\n {2}✓ repository verifies/m);
    assert.match(out, /^ {2}downloaded and verified revocations\.json \(\d+ bytes\)/m);
    // Publish to the default OCI layout directory.
    assert.match(
      out,
      /^\$ tufctl publish\n {2}published root v1, targets v2, snapshot v2, timestamp v2 to oci-layout:\S+\/repo\/oci-layout$/m,
    );
    // The refresh ratchets the timestamp above what the layout serves, and publishes it.
    assert.match(
      out,
      /^\$ TUFCTL_ONLINE_KEY="\$\(cat \S+\/online\.pem\)" tufctl refresh --force --publish oci-layout:oci-layout --commit$/m,
    );
    assert.match(out, /^ {2}timestamp v2 → v3 \(forced\), signed with the online key$/m);
    assert.match(out, /^ {2}published to oci-layout:\S+: timestamp v3, snapshot v2$/m);
    // A client trusting only 1.root.json fetches from the layout and ends at the new timestamp.
    assert.match(out, /^\$ tufctl client fetch mapping\.yaml --from oci-layout:oci-layout --root metadata\/root_history\/1\.root\.json /m);
    assert.match(out, /^ {2}mapping\.yaml: \d+ bytes, sha256 [0-9a-f]{64} verified -> /m);
    assert.match(out, /^ {2}the client's cache now holds timestamp v3, reached from root v1 alone$/m);
    assert.match(out, /^ {2}status page: \S+\/status\.html/m);
    // The mapping change: an image pulled through the mirror gains the official-images policy.
    assert.match(out, /^\$ tufctl policy impact --images \S+more-images\.txt$/m);
    assert.match(out, /1 gains? (one|a policy)/);
    assert.match(out, /mirror\.example\.com\/library\/alpine/);
    assert.match(out, /^demo complete/m);
    assert.doesNotMatch(out + run.stderr, /PRIVATE KEY/);
    const work = /^tufctl demo in (\S+)$/m.exec(out)?.[1];
    assert.ok(work && !existsSync(work), 'the demo leaves its temporary directory behind');
  },
);

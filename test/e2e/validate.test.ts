/**
 * `tufctl validate` as a pull-request check: a policy change on a branch
 * waits for the targets owner, is signed (`sign --base`), merged, published
 * to a real registry and fetched by a real TUF client; and the changes a
 * client would reject (root signed by the new keys only, an invalid mapping,
 * a version going down) are invalid with the reason in the report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, tufctl } from '../helpers/harness.js';
import { startRegistry } from '../helpers/registry.js';

const MARKER = '<!-- tufctl-validate -->';

test('a policy PR: waiting for @alice, signed, ready, merged, published, fetched by a client; invalid PRs exit 1 with the reason', async () => {
  const fx = newRepository();
  const reg = await startRegistry();
  try {
    const cwd = fx.repo;
    const origin = join(fx.root, 'origin.git');
    git(fx.root, 'init', '-q', '--bare', '--initial-branch=main', origin);
    git(cwd, 'remote', 'add', 'origin', origin);
    git(cwd, 'push', '-q', 'origin', 'main');
    git(cwd, 'fetch', '-q', 'origin');

    // Nothing changed: ready.
    assert.equal(tufctl(['validate', '--base', 'origin/main'], { cwd }).code, 0);

    // The PR: a policy description change, applied and committed on a branch.
    git(cwd, 'checkout', '-q', '-b', 'policy-change');
    const mappingPath = join(cwd, 'targets', 'mapping.yaml');
    const newMapping = readFileSync(mappingPath, 'utf8').replace('description: Docker Official Images', 'description: Official images, v2');
    writeFileSync(mappingPath, newMapping);
    ok(['policy', 'apply'], { cwd });
    git(cwd, 'commit', '-qam', 'policy: new description');

    const waiting = tufctl(['validate', '--base', 'origin/main', '--format', 'markdown'], { cwd });
    assert.equal(waiting.code, 2, waiting.stdout + waiting.stderr);
    const lines = waiting.stdout.split('\n');
    assert.equal(lines[0], MARKER);
    assert.match(lines[1]!, /⏳ waiting for targets signatures from @alice/);
    assert.match(waiting.stdout, /`mapping\.yaml`\n {2}- policy `docker-official-images` changed: description/);
    assert.match(waiting.stdout, /target modified: `mapping\.yaml` sha256 [0-9a-f]{12}… → [0-9a-f]{12}…/);
    assert.match(waiting.stdout, /\| `targets` \| v1 → v2 \| .* \| 0 of 1 ✗, waiting for @alice \|/);
    const asJson = tufctl(['validate', '--base', 'origin/main', '--json'], { cwd });
    assert.equal(asJson.code, 2);
    assert.equal(asJson.json.result, 'waiting');
    assert.deepEqual(
      asJson.json.waiting.find((w: { role: string }) => w.role === 'targets'),
      { role: 'targets', from: ['@alice'], needed: 1 },
    );

    // The signer signs what the branch changed (the base ref counts, not HEAD) and nothing twice.
    assert.match(ok(['sign', '--key', fx.key('targets')], { cwd }).stdout, /nothing to sign/);
    const signed = ok(['sign', '--base', 'origin/main', '--key', fx.key('targets')], { cwd }).stdout;
    assert.match(signed, /targets v2: signed 1 of 1 ✓ \(signed now with/);
    assert.match(signed, /all signed/);
    const bytes = readFileSync(join(cwd, 'metadata', 'targets.json'));
    const again = ok(['sign', '--base', 'origin/main', '--key', fx.key('targets'), '--json'], { cwd }).json;
    assert.equal(again.roles[0].signedWith.length, 0, 'a key that already signed does not sign again');
    assert.equal(again.roles[0].alreadySigned.length, 1);
    assert.ok(readFileSync(join(cwd, 'metadata', 'targets.json')).equals(bytes));
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    git(cwd, 'commit', '-qam', 'sign');
    const ready = tufctl(['validate', '--base', 'origin/main', '--format', 'markdown'], { cwd });
    assert.equal(ready.code, 0, ready.stdout + ready.stderr);
    assert.match(ready.stdout.split('\n')[1]!, /✅ ready to merge/);

    // --head reads a ref without checking it out; --output writes the report.
    git(cwd, 'push', '-q', 'origin', 'policy-change');
    git(cwd, 'checkout', '-q', 'main');
    const out = join(fx.root, 'comment.md');
    const byRef = tufctl(['validate', '--base', 'origin/main', '--head', 'origin/policy-change', '--format', 'markdown', '--output', out], {
      cwd,
    });
    assert.equal(byRef.code, 0, byRef.stdout + byRef.stderr);
    assert.equal(byRef.stdout, '✅ ready to merge\n');
    assert.ok(readFileSync(out, 'utf8').startsWith(`${MARKER}\n`));
    assert.match(readFileSync(out, 'utf8'), /origin\/policy-change/);

    // Merge, push, publish; a client sees the new policy bytes.
    git(cwd, 'merge', '-q', '--ff-only', 'policy-change');
    git(cwd, 'push', '-q', 'origin', 'main');
    git(cwd, 'fetch', '-q', 'origin');
    const dest = `oci://${reg.host}/acme`;
    ok(['publish', '--to', dest], { cwd });
    const fetched = join(fx.root, 'mapping.yaml');
    ok(
      ['client', 'fetch', 'mapping.yaml', '--from', dest, '--root', join(cwd, 'metadata', 'root_history', '1.root.json'), '--out', fetched],
      {
        cwd: fx.root,
      },
    );
    assert.equal(readFileSync(fetched, 'utf8'), newMapping);

    // Negative: root rotated and signed by the new key only.
    git(cwd, 'checkout', '-q', '-b', 'rotate-root');
    const newKey = join(fx.keys, 'root2.pem');
    ok(['key', 'generate', '--type', 'ed25519', '--out', newKey]);
    const oldId = readJson(join(cwd, 'metadata', 'root.json')).signed.roles.root.keyids[0] as string;
    ok(['key', 'add', 'root', join(fx.keys, 'root2.pub.pem'), '--owner', '@bob'], { cwd });
    ok(['key', 'remove', 'root', oldId], { cwd });
    ok(['sign', 'root', '--key', newKey], { cwd });
    git(cwd, 'commit', '-qam', 'rotate root');
    const rotated = tufctl(['validate', '--base', 'origin/main', '--format', 'markdown'], { cwd });
    assert.equal(rotated.code, 1, rotated.stdout + rotated.stderr);
    assert.match(rotated.stdout.split('\n')[1]!, /❌ invalid: root v2 is not signed by the old root's threshold/);
    assert.match(rotated.stdout, /old root: 0 of 1 ✗ — new root: 1 of 1 ✓/);
    assert.match(rotated.stdout, /key added for `root`: [0-9a-f]{8} \(@bob\)/);
    assert.match(rotated.stdout, /key removed for `root`: [0-9a-f]{8} \(@alice\)/);
    // Signing with the old key too makes it ready.
    ok(['sign', 'root', '--key', fx.key('root')], { cwd });
    git(cwd, 'commit', '-qam', 'old root signs');
    assert.equal(tufctl(['validate', '--base', 'origin/main'], { cwd }).code, 0);

    // Negative: an invalid mapping.yaml (unknown field).
    git(cwd, 'checkout', '-q', 'main');
    git(cwd, 'checkout', '-q', '-b', 'bad-mapping');
    writeFileSync(mappingPath, newMapping.replace('kind: policy-mapping', 'kind: policy-mapping\nsurprise: true'));
    git(cwd, 'commit', '-qam', 'bad mapping');
    const bad = tufctl(['validate', '--base', 'origin/main', '--format', 'markdown'], { cwd });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /targets\/mapping\.yaml:\d+:.*surprise/);
    const badText = tufctl(['validate', '--base', 'origin/main', '--json'], { cwd });
    assert.equal(badText.json.result, 'invalid');

    // Negative: a version going down, by hand.
    git(cwd, 'checkout', '-q', 'main');
    git(cwd, 'checkout', '-q', '-b', 'rollback');
    const targetsPath = join(cwd, 'metadata', 'targets.json');
    const targets = readJson(targetsPath);
    assert.equal(targets.signed.version, 2);
    targets.signed.version = 1;
    writeFileSync(targetsPath, JSON.stringify(targets, null, 2) + '\n');
    git(cwd, 'commit', '-qam', 'lower targets');
    const down = tufctl(['validate', '--base', 'origin/main', '--format', 'text'], { cwd });
    assert.equal(down.code, 1, down.stdout + down.stderr);
    assert.match(down.stdout, /error: targets version went down: v2 → v1/);

    // A usage error stays a usage error (exit 2, no report).
    const usage = tufctl(['validate'], { cwd });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /USAGE/);
    assert.equal(usage.stdout, '');
  } finally {
    await reg.stop();
    fx.cleanup();
  }
});

/**
 * Client-compatibility lint and policy impact on real tuf-on-ci repositories
 * (fixtures in test/fixtures/real/): what the lint finds in docker/tuf (P-384
 * hardware keys) and in the Sigstore repositories (a dotted delegated role),
 * and what a change of docker/tuf's real policy mapping does to images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, tufctl } from '../helpers/harness.js';
import { realRepositoryFacts, replayRealRepository } from '../helpers/real-repositories.js';

interface Finding {
  rule: string;
  client: string;
  versions: string;
  subject: string;
  effect: string;
  limit: string;
  source: string;
}

function lint(dir: string, now: string, ...extra: string[]): Finding[] {
  return (ok(['lint', '--now', now, '--json', ...extra], { cwd: dir }).json as { findings: Finding[] }).findings;
}

test('docker/tuf: lint reports its P-384 keys for tuf-js before 6.0.2 and for tough, naming the limit and source; --strict fails', () => {
  const repo = replayRealRepository('docker-tuf');
  try {
    const now = realRepositoryFacts('docker-tuf').refs.main.now;
    const findings = lint(repo.dir, now);
    const keyFindings = findings.filter((f) => f.rule === 'key-support');
    const clients = new Set(keyFindings.map((f) => f.client));
    assert.ok(clients.has('tuf-js') && clients.has('tough'), [...clients].join(','));
    // go-tuf v2 and python-tuf verify P-384 keys in PEM: nothing to report for them.
    assert.ok(!clients.has('go-tuf') && !clients.has('python-tuf'), [...clients].join(','));
    const tufJs = keyFindings.find((f) => f.client === 'tuf-js')!;
    assert.match(tufJs.versions, /before 6\.0\.2/);
    assert.match(tufJs.subject, /ecdsa-sha2-nistp384/);
    assert.match(tufJs.source, /tuf-js/);
    assert.ok(keyFindings.every((f) => /nistp384/.test(f.subject) && f.effect === 'refuses'));
    // Every root key and targets key of the real repository is P-384: each one is named.
    const root = JSON.parse(readFileSync(join(repo.dir, 'metadata', 'root.json'), 'utf8')) as {
      signed: { keys: Record<string, { scheme: string }> };
    };
    const p384 = Object.entries(root.signed.keys).filter(([, key]) => key.scheme === 'ecdsa-sha2-nistp384');
    assert.ok(p384.length >= 5);
    for (const [id] of p384) {
      assert.ok(
        keyFindings.some((f) => f.client === 'tough' && f.subject.includes(id.slice(0, 8))),
        `tough finding for ${id}`,
      );
    }
    // Only the go-tuf and python-tuf view: clean.
    assert.deepEqual(lint(repo.dir, now, '--clients', 'go-tuf,python-tuf'), []);
    const strict = tufctl(['lint', '--now', now, '--strict'], { cwd: repo.dir });
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /CLIENT_INCOMPATIBLE/);
  } finally {
    repo.cleanup();
  }
});

for (const name of ['root-signing', 'root-signing-staging'] as const) {
  test(`${name}: lint's one finding is the dotted role registry.npmjs.org, which Docker's registry fetcher cannot look up`, () => {
    const repo = replayRealRepository(name);
    try {
      const findings = lint(repo.dir, realRepositoryFacts(name).refs.main.now);
      assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
      assert.equal(findings[0]!.rule, 'registry-layout');
      assert.equal(findings[0]!.client, 'go-tuf');
      assert.match(findings[0]!.subject, /registry\.npmjs\.org/);
      assert.match(findings[0]!.source, /docker\/attest/);
    } finally {
      repo.cleanup();
    }
  });
}

test('docker/tuf: policy impact of a change to its real mapping (official images move to the full policy; the testing channel is untouched)', () => {
  const repo = replayRealRepository('docker-tuf');
  try {
    const images = join(repo.root, 'images.txt');
    writeFileSync(images, '# sample images\ndocker.io/library/alpine\nnginx\ndocker.io/acme/app linux/amd64\n');
    const mapping = join(repo.dir, 'targets', 'mapping.yaml');
    const text = readFileSync(mapping, 'utf8');
    assert.match(text, /policy-id: docker-official-images\n/);
    writeFileSync(mapping, text.replace('policy-id: docker-official-images\n', 'policy-id: docker-official-images-full\n'));

    interface Image {
      name: string;
      change: string;
      before: { policy?: { id: string } };
      after: { policy?: { id: string } };
    }
    const report = ok(['policy', 'impact', '--base', 'HEAD', '--images', images, '--json'], { cwd: repo.dir }).json as {
      channels: { mappingFile: string; images: Image[] }[];
    };
    const main = report.channels.find((c) => c.mappingFile === 'targets/mapping.yaml')!;
    const byName = new Map(main.images.map((i) => [i.name, i]));
    for (const name of ['docker.io/library/alpine', 'docker.io/library/nginx']) {
      const image = byName.get(name)!;
      assert.equal(image.change, 'changed', name);
      assert.equal(image.before.policy?.id, 'docker-official-images');
      assert.equal(image.after.policy?.id, 'docker-official-images-full');
    }
    const app = byName.get('docker.io/acme/app')!;
    assert.equal(app.change, 'unchanged');
    assert.equal(app.after.policy, undefined);
    const testing = report.channels.find((c) => c.mappingFile === 'targets/testing/mapping.yaml')!;
    assert.ok(testing.images.every((i) => i.change === 'unchanged'));

    const markdown = ok(['policy', 'impact', '--base', 'HEAD', '--images', images, '--format', 'markdown'], { cwd: repo.dir }).stdout;
    assert.match(markdown, /2 images change policy/);
    assert.match(markdown, /policy `docker-official-images` is unreachable/);
  } finally {
    repo.cleanup();
  }
});

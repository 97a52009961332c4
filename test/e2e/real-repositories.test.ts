/**
 * Real repositories made by tuf-on-ci (sigstore/root-signing-staging,
 * sigstore/root-signing, docker/tuf; fixtures in test/fixtures/real/), taken
 * over by the built CLI at a time inside their validity: verify, status,
 * export read by a real tuf-js client (every target of every role), their
 * real signing events validated as waiting and then ready, publish refusing
 * what the registry layout cannot carry, and a refresh drill.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, ok, readJson, serveDirectory, tempDir, tufctl } from '../helpers/harness.js';
import { REAL_REPOSITORIES, realRepositoryFacts, replayRealRepository, type RealRepositoryName } from '../helpers/real-repositories.js';
import { clientDownloads } from '../helpers/tuf-client.js';

/** Every target path of every targets role present in the working tree. */
function allTargets(dir: string): string[] {
  const paths: string[] = [];
  for (const file of readdirSync(join(dir, 'metadata'))) {
    if (!file.endsWith('.json') || ['root.json', 'snapshot.json', 'timestamp.json'].includes(file)) continue;
    paths.push(...Object.keys(readJson(join(dir, 'metadata', file)).signed.targets ?? {}));
  }
  return paths.sort();
}

function trustedRootArgs(name: RealRepositoryName): string[] {
  const version = realRepositoryFacts(name).trustedRootVersion;
  return version > 1 ? ['--trusted-root-version', String(version)] : [];
}

for (const name of REAL_REPOSITORIES) {
  test(`${name}: verify, status, and export read by tuf-js (every target of every role)`, async () => {
    const facts = realRepositoryFacts(name);
    const now = facts.refs.main.now;
    const repo = replayRealRepository(name);
    const server = { close: async (): Promise<void> => {} };
    try {
      const cwd = repo.dir;
      const verified = ok(['verify', '--now', now, '--json', ...trustedRootArgs(name)], { cwd }).json;
      assert.equal(verified.ok, true);
      assert.deepEqual(verified.problems, []);
      assert.equal(verified.client.ran, true, 'the tuf-js pass runs at --now');
      assert.equal(verified.client.ok, true);
      assert.ok(
        !verified.warnings.some((w: string) => /key id .* is not the sha256/.test(w) && name !== 'root-signing'),
        verified.warnings,
      );

      const status = ok(['status', '--now', now, ...trustedRootArgs(name)], { cwd }).stdout;
      for (const role of ['root', 'timestamp', 'snapshot', 'targets']) assert.match(status, new RegExp(`^${role} +v\\d+`, 'm'));
      assert.doesNotMatch(status, /EXPIRED/);

      const out = join(repo.root, 'export');
      ok(['export', out, '--now', now, ...trustedRootArgs(name)], { cwd });
      const paths = allTargets(cwd);
      assert.ok(paths.length >= 10, `${name} has targets (${paths.length})`);
      const mirror = await serveDirectory(out);
      server.close = mirror.close;
      const trustedRoot = join(out, 'metadata', `${facts.trustedRootVersion}.root.json`);
      await clientDownloads(mirror.url, join(repo.root, 'client'), paths, trustedRoot, cwd, { now: new Date(now) });
      // Nothing of the real history was changed.
      assert.equal(git(cwd, 'status', '--porcelain'), '');
    } finally {
      await server.close();
      repo.cleanup();
    }
  });

  test(`${name}: its real signing event validates as waiting before the last signature and ready after`, () => {
    const facts = realRepositoryFacts(name);
    const repo = replayRealRepository(name);
    try {
      const cwd = repo.dir;
      const validate = (head: 'event-partial' | 'event-complete'): ReturnType<typeof tufctl> =>
        tufctl(['validate', '--base', 'event-base', '--head', head, '--now', facts.refs[head].now, ...trustedRootArgs(name)], { cwd });
      const waiting = validate('event-partial');
      assert.equal(waiting.code, 2, waiting.stdout + waiting.stderr);
      assert.match(waiting.stdout, /^result: waiting$/m);
      for (const role of facts.event.roles.filter((r) => r !== 'testing'))
        assert.match(waiting.stdout, new RegExp(`^waiting: ${role} from `, 'm'));
      // Each handle once, with how many more are needed.
      const line = /^waiting: (\S+) from (.*)$/m.exec(waiting.stdout)!;
      const handles = line[2]!.match(/@[\w-]+/g) ?? [];
      assert.equal(new Set(handles).size, handles.length, line[0]);
      assert.doesNotMatch(waiting.stdout, /^waiting: (snapshot|timestamp)/m);

      const ready = validate('event-complete');
      assert.equal(ready.code, 0, ready.stdout + ready.stderr);
      assert.match(ready.stdout, /^result: ready$/m);
      assert.match(ready.stdout, /^after merge: (snapshot|timestamp) \(online key\)$/m);
      assert.match(ready.stdout, /^✅ ready to merge/m);
    } finally {
      repo.cleanup();
    }
  });
}

test('root signing event of root-signing-staging: "1 more of" the root owners, old and new root, each handle once', () => {
  const facts = realRepositoryFacts('root-signing-staging');
  const repo = replayRealRepository('root-signing-staging');
  try {
    const r = tufctl(['validate', '--base', 'event-base', '--head', 'event-start', '--now', facts.refs['event-start']!.now], {
      cwd: repo.dir,
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^waiting: root from 2 more of (@[\w-]+, )+@[\w-]+ \(old and new root\)$/m);
  } finally {
    repo.cleanup();
  }
});

test('root-signing: old-format roots before the trusted root v9 are reported, not failed; tufctl.json carries the setting', () => {
  const facts = realRepositoryFacts('root-signing');
  const repo = replayRealRepository('root-signing');
  try {
    const cwd = repo.dir;
    const from1 = tufctl(['verify', '--now', facts.refs.main.now, '--client', 'never'], { cwd });
    assert.equal(from1.code, 1);
    assert.match(from1.stderr, /1\.root\.json: .*(set trustedRootVersion in tufctl\.json|--trusted-root-version)/);
    writeFileSync(join(cwd, 'tufctl.json'), JSON.stringify({ trustedRootVersion: 9 }) + '\n');
    const from9 = ok(['verify', '--now', facts.refs.main.now, '--client', 'never', '--json'], { cwd }).json;
    assert.equal(from9.ok, true);
    assert.ok(
      from9.warnings.some((w: string) => /^root history before the trusted root v9 \(clients start at v9\): .*1\.root\.json/.test(w)),
      from9.warnings.join('\n'),
    );
    const status = ok(['status', '--now', facts.refs.main.now], { cwd }).stdout;
    assert.match(status, /clients embed root v9: older roots are not checked/);
  } finally {
    repo.cleanup();
  }
});

test('publish refuses the dotted delegated role of the Sigstore repositories before any write, naming it and the rule', () => {
  for (const name of ['root-signing-staging', 'root-signing'] as const) {
    const facts = realRepositoryFacts(name);
    const repo = replayRealRepository(name);
    try {
      const layout = join(repo.root, 'layout');
      const r = tufctl(['publish', '--to', `oci-layout:${layout}`, '--now', facts.refs.main.now, ...trustedRootArgs(name)], {
        cwd: repo.dir,
      });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /error \[LAYOUT_UNSUPPORTED\]: refusing to publish: the registry layout cannot carry role "registry\.npmjs\.org"; nothing was written/,
      );
      assert.match(r.stderr, /role "registry\.npmjs\.org" contains "\."; registry clients read the role name from VERSION\.ROLE\.json/);
      // Every problem at once: Sigstore's repositories also lack the target registry clients check first.
      assert.match(r.stderr, /no "version-constraints" target file/);
      assert.equal(existsSync(layout), false, 'nothing written');
      assert.equal(git(repo.dir, 'status', '--porcelain'), '');
    } finally {
      repo.cleanup();
    }
  }
});

test('docker/tuf (P-384 hardware keys): publish to an OCI layout directory, tufctl client fetches every role from it', () => {
  const facts = realRepositoryFacts('docker-tuf');
  const now = facts.refs.main.now;
  const repo = replayRealRepository('docker-tuf');
  try {
    const cwd = repo.dir;
    const root = readJson(join(cwd, 'metadata', 'root.json'));
    assert.ok(Object.values(root.signed.keys).some((k) => (k as { scheme: string }).scheme === 'ecdsa-sha2-nistp384'));
    const layout = join(repo.root, 'layout');
    ok(['publish', '--to', `oci-layout:${layout}`, '--now', now], { cwd });
    const cache = join(repo.root, 'client');
    for (const path of ['mapping.yaml', 'doi/policy-full.rego', 'testing/mapping.yaml']) {
      const out = join(repo.root, 'fetched', path.replaceAll('/', '_'));
      ok([
        'client',
        'fetch',
        path,
        '--from',
        `oci-layout:${layout}`,
        '--root',
        join(cwd, 'metadata', 'root_history', '1.root.json'),
        '--cache',
        cache,
        '--out',
        out,
        '--now',
        now,
      ]);
      assert.deepEqual(readFileSync(out), readFileSync(join(cwd, 'targets', path)), path);
    }
  } finally {
    repo.cleanup();
  }
});

test('refresh drill on root-signing-staging: after a recorded rotation to drill keys, refresh re-signs timestamp with the test online key', async () => {
  const facts = realRepositoryFacts('root-signing-staging');
  const now = facts.refs.main.now;
  const repo = replayRealRepository('root-signing-staging');
  const keys = tempDir('tufctl-drill-keys-');
  try {
    const cwd = repo.dir;
    const rootBefore = readJson(join(cwd, 'metadata', 'root.json')).signed;
    const drillRoot = join(keys.path, 'drill-root.pem');
    const drillOnline = join(keys.path, 'drill-online.pem');
    ok(['key', 'generate', '--out', drillRoot]);
    ok(['key', 'generate', '--out', drillOnline]);
    // The recorded rotation: root N+1 trusts a drill root key and a drill online key (tuf-on-ci-style key ids),
    // signed by the drill root key. Drill clients embed root N+1.
    const added = ok(['key', 'add', 'root', `${drillRoot.replace(/\.pem$/, '.pub.pem')}`, '--owner', '@drill', '--json', '--now', now], {
      cwd,
    }).json;
    ok(['threshold', 'root', '1', '--now', now], { cwd });
    for (const id of rootBefore.roles.root.keyids as string[]) ok(['key', 'remove', 'root', id, '--now', now], { cwd });
    ok(['key', 'rotate-online', '--new-key', drillOnline.replace(/\.pem$/, '.pub.pem'), '--online-uri', 'env:DRILL', '--now', now], {
      cwd,
    });
    ok(['sign', 'root', '--key', drillRoot, '--now', now], { cwd });
    git(cwd, 'commit', '-qam', 'drill: rotate root and online keys');
    const rotated = readJson(join(cwd, 'metadata', 'root.json')).signed;
    assert.equal(rotated.version, rootBefore.version + 1);
    // The repository's key-id rule (tuf-on-ci: over the whole key object) applies to the new keys.
    const { createHash } = await import('node:crypto');
    const { canonicalBytes } = await import('../../src/metadata/json.js');
    assert.equal(added.keyId, createHash('sha256').update(canonicalBytes(rotated.keys[added.keyId])).digest('hex'));

    const trusted = ['--trusted-root-version', String(rotated.version)];
    const timestampBefore = readJson(join(cwd, 'metadata', 'timestamp.json')).signed.version as number;
    const refreshed = ok(['refresh', '--now', now, '--commit', '--json', ...trusted], {
      cwd,
      env: { TUFCTL_ONLINE_KEY: readFileSync(drillOnline, 'utf8') },
    }).json;
    assert.equal(refreshed.plan.timestamp.sign, true);
    const timestamp = readJson(join(cwd, 'metadata', 'timestamp.json'));
    assert.equal(timestamp.signed.version, timestampBefore + 1, 'timestamp ratchets forward by one');
    assert.equal(timestamp.signatures[0].keyid, rotated.roles.timestamp.keyids[0]);
    const verified = ok(['verify', '--now', now, '--json', ...trusted], { cwd }).json;
    assert.equal(verified.ok, true, JSON.stringify(verified.problems));
    assert.equal(verified.client.ok, true);
  } finally {
    repo.cleanup();
    keys.cleanup();
  }
});

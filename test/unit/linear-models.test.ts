/**
 * Pins src/verify/linear-models.ts to the @tufjs/models it patches: for real
 * metadata (the tuf-on-ci fixtures), a tufctl repository with hashed bins and
 * delegations, and edge cases, the patched `fromJSON` / `toJSON` give
 * deep-equal objects and the same errors as the library's own; and the test
 * fails when the models version changes, so the patch is re-checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadModels, PATCHED_MODELS_VERSION, useLinearModels } from '../../src/verify/linear-models.js';
import { REAL_REPOSITORIES, replayRealRepository } from '../helpers/real-repositories.js';
import { newRepository, ok } from '../helpers/harness.js';

import { Metadata } from '@tufjs/models';

const require = createRequire(import.meta.url);
const models = loadModels(require.resolve('tuf-js'));

type Outcome = { value: unknown } | { error: { type: unknown; name: string; message: string } };

function outcome(run: () => unknown): Outcome {
  try {
    return { value: run() };
  } catch (error) {
    const e = error as Error;
    return { error: { type: e.constructor, name: e.name, message: e.message } };
  }
}

/** One call whose result is compared before and after the patch. */
interface Case {
  label: string;
  run: () => unknown;
}

function allJsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...allJsonFiles(path));
    else if (name.endsWith('.json')) out.push(path);
  }
  return out;
}

function kindOf(json: { signed?: { _type?: unknown } }): string | undefined {
  const type = json.signed?._type;
  return typeof type === 'string' ? type : undefined;
}

/** Parsing and serialising a whole document, through Metadata (which calls the patched functions). */
function documentCases(label: string, json: Record<string, unknown>): Case[] {
  const kind = kindOf(json as never);
  if (!kind) return [];
  return [
    { label: `${label}: Metadata.fromJSON`, run: () => Metadata.fromJSON(kind as never, json as never) },
    { label: `${label}: toJSON`, run: () => Metadata.fromJSON(kind as never, json as never).toJSON() },
  ];
}

const EXPIRES = '2030-01-01T00:00:00Z';
const meta = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++)
    out[`bins-${i.toString(16).padStart(3, '0')}.json`] = { version: 1 + (i % 7), length: 100 + i, hashes: { sha256: 'ab' } };
  return { ...out, ...extra };
};
const snapshot = (m: unknown, common: Record<string, unknown> = {}): Record<string, unknown> => ({
  _type: 'snapshot',
  spec_version: '1.0.31',
  version: 3,
  expires: EXPIRES,
  meta: m,
  'x-extra': { a: 1 },
  ...common,
});
const targetsTable = (n: number): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) out[`pkgs/p-${i}`] = { length: i, hashes: { sha256: i.toString(16) }, custom: { i } };
  return out;
};
const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'a'.repeat(64) } };
const role = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  keyids: ['k1'],
  threshold: 1,
  terminating: false,
  paths: [`${name}/*`],
  ...extra,
});
const targets = (t: unknown, delegations?: unknown, common: Record<string, unknown> = {}): Record<string, unknown> => ({
  _type: 'targets',
  spec_version: '1.0.31',
  version: 2,
  expires: EXPIRES,
  targets: t,
  ...(delegations === undefined ? {} : { delegations }),
  ...common,
});
const protoNames = JSON.parse(
  '{"__proto__": {"version": 1}, "constructor": {"version": 2}, "10": {"version": 3}, "9": {"version": 4}}',
) as Record<string, unknown>;

/** Edge cases: valid and invalid, small enough for the quadratic original to stay fast. */
function edgeCases(): Case[] {
  const S = models.Snapshot;
  const T = models.Targets;
  const D = models.Delegations;
  const cases: Case[] = [];
  const snap = (label: string, data: unknown): void => {
    cases.push({ label: `snapshot ${label}`, run: () => S.fromJSON(data) });
    cases.push({ label: `snapshot ${label} toJSON`, run: () => (S.fromJSON(data) as { toJSON(): unknown }).toJSON() });
  };
  const tgt = (label: string, data: unknown): void => {
    cases.push({ label: `targets ${label}`, run: () => T.fromJSON(data) });
    cases.push({ label: `targets ${label} toJSON`, run: () => (T.fromJSON(data) as { toJSON(): unknown }).toJSON() });
  };
  const del = (label: string, data: unknown): void => {
    cases.push({ label: `delegations ${label}`, run: () => D.fromJSON(data) });
    cases.push({ label: `delegations ${label} toJSON`, run: () => (D.fromJSON(data) as { toJSON(): unknown }).toJSON() });
  };
  snap('1,024 entries', snapshot(meta(1024)));
  snap('no meta', { ...snapshot(undefined), meta: undefined });
  snap('meta absent', (({ meta: _m, ...rest }) => rest)(snapshot({})));
  snap('empty meta', snapshot({}));
  snap('names of Object.prototype members and integer-like names', snapshot(protoNames));
  snap('meta is an array of objects', snapshot([{ version: 1 }, { version: 2 }]));
  snap('meta is null', snapshot(null));
  snap('meta is a string', snapshot('x'));
  snap('meta entry not an object', snapshot(meta(5, { bad: 3 })));
  snap('third entry invalid', snapshot({ ...meta(2), 'c.json': { version: 'x' }, 'd.json': { length: 'y' } }));
  snap('hashes not strings', snapshot({ ...meta(3), 'c.json': { version: 1, hashes: { sha256: 1 } } }));
  snap('invalid entry and invalid version', snapshot({ 'c.json': { version: 'x' } }, { version: 'one' }));
  snap('invalid entry and no expires', snapshot({ 'c.json': { version: 'x' } }, { expires: undefined }));
  snap('meta key in unrecognized fields position', { meta: meta(3), ...snapshot(undefined), 'x-meta': 1 });
  cases.push({ label: 'snapshot fromJSON(null)', run: () => S.fromJSON(null) });
  cases.push({ label: 'snapshot fromJSON("x")', run: () => S.fromJSON('x') });

  const delegations = { keys: { k1: key, k2: key }, roles: [role('a'), role('b'), role('c')] };
  tgt('300 targets', targets(targetsTable(300)));
  tgt('300 targets with delegations', targets(targetsTable(300), delegations));
  tgt('empty', targets({}));
  tgt('targets absent', (({ targets: _t, ...rest }) => rest)(targets({})));
  tgt('targets null', targets(null));
  tgt(
    'names of Object.prototype members',
    targets(JSON.parse('{"__proto__": {"length": 1, "hashes": {}}, "toString": {"length": 2, "hashes": {"a": "b"}}}')),
  );
  tgt('invalid target', targets({ ...targetsTable(3), x: { length: '1', hashes: {} } }));
  tgt('invalid target and invalid delegations', targets({ x: { length: 1, hashes: 'h' } }, 'not an object'));
  tgt('invalid target and invalid common field', targets({ x: { length: 1 } }, undefined, { spec_version: 1 }));
  tgt('valid targets, invalid delegations', targets(targetsTable(3), { keys: 'x' }));
  tgt(
    'succinct delegations',
    targets(targetsTable(3), { keys: { k1: key }, succinct_roles: { keyids: ['k1'], threshold: 1, bit_length: 4, name_prefix: 'bins' } }),
  );

  del('many roles and keys', {
    keys: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, key])),
    roles: Array.from({ length: 200 }, (_, i) => role(`r${i}`, { keyids: [`k${i}`] })),
    'x-note': 'kept',
  });
  del('no roles', { keys: { k1: key } });
  del('keys missing', { roles: [role('a')] });
  del('keys not a record', { keys: { k1: 'x' }, roles: [role('a')] });
  del('invalid key', { keys: { k1: key, k2: { keytype: 'ed25519' } }, roles: [role('a')] });
  del('invalid key and invalid role', { keys: { k2: { keytype: 1 } }, roles: [role('a', { threshold: 'x' })] });
  del('invalid role', { keys: { k1: key }, roles: [role('a'), role('b', { paths: 'x' }), role('c', { name: 1 })] });
  del('roles not an array', { keys: { k1: key }, roles: { a: role('a') } });
  del('roles with a non-object', { keys: { k1: key }, roles: [role('a'), 3] });
  del('duplicate role', { keys: { k1: key }, roles: [role('a'), role('b'), role('a', { threshold: 2 })] });
  del('duplicate role and a later invalid one', { keys: { k1: key }, roles: [role('a'), role('a'), role('c', { threshold: 'x' })] });
  del('top-level role name', { keys: { k1: key }, roles: [role('a'), role('snapshot')] });
  del('duplicate top-level name', { keys: { k1: key }, roles: [role('root'), role('root')] });
  del('role named __proto__', { keys: { k1: key }, roles: [role('__proto__'), role('constructor')] });
  del('key ids of Object.prototype names', {
    keys: JSON.parse('{"__proto__": {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ab"}}}'),
    roles: [],
  });
  del('invalid succinct and invalid keys', {
    keys: 'x',
    succinct_roles: { keyids: ['k1'], threshold: 1, bit_length: 40, name_prefix: 'b' },
  });
  del('paths and path hash prefixes', { keys: { k1: key }, roles: [role('a', { path_hash_prefixes: ['ab'] })] });
  cases.push({ label: 'delegations fromJSON(undefined)', run: () => D.fromJSON(undefined) });

  // toJSON of objects built directly, with unrecognized fields that shadow the table.
  const file = new (models.MetaFile as unknown as new (o: object) => unknown)({ version: 1 });
  cases.push({
    label: 'snapshot toJSON, unrecognized "meta" field',
    run: () => (new S({ expires: EXPIRES, meta: { 'a.json': file }, unrecognizedFields: { meta: 'x' } }) as { toJSON(): unknown }).toJSON(),
  });
  cases.push({
    label: 'targets toJSON, unrecognized "targets" field',
    run: () => (new T({ expires: EXPIRES, unrecognizedFields: { targets: [1] } }) as { toJSON(): unknown }).toJSON(),
  });
  cases.push({
    label: 'delegations toJSON, keys undefined',
    run: () => (new D({ keys: undefined }) as { toJSON(): unknown }).toJSON(),
  });
  cases.push({
    label: 'snapshot toJSON, entry without toJSON',
    run: () => (new S({ expires: EXPIRES, meta: { 'a.json': { version: 1 } } }) as { toJSON(): unknown }).toJSON(),
  });
  return cases;
}

/** Real metadata: every file of the tuf-on-ci fixtures at their main commit, and a tufctl repository with bins and delegations. */
function realCases(): { cases: Case[]; cleanups: Array<() => void> } {
  const cases: Case[] = [];
  const cleanups: Array<() => void> = [];
  for (const name of REAL_REPOSITORIES) {
    const replay = replayRealRepository(name);
    cleanups.push(replay.cleanup);
    for (const file of allJsonFiles(join(replay.dir, 'metadata'))) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      cases.push(...documentCases(`${name} ${file.slice(replay.dir.length + 1)}`, json));
    }
  }
  const fx = newRepository();
  cleanups.push(fx.cleanup);
  ok(['key', 'generate', '--out', join(fx.root, 'bins.pem')], { cwd: fx.repo });
  ok(['delegate', 'add', 'docs', '--paths', 'docs/*', '--key', join(fx.root, 'bins.pub.pem')], { cwd: fx.repo });
  ok(['delegate', 'add', 'bins', '--from', 'docs', '--bins', '64', '--key', join(fx.root, 'bins.pub.pem')], { cwd: fx.repo });
  const entries = Array.from({ length: 200 }, (_, i) => JSON.stringify({ path: `docs/t-${i}`, length: i + 1, sha256: 'ab'.repeat(32) }));
  writeFileSync(join(fx.root, 'targets.jsonl'), `${entries.join('\n')}\n`);
  ok(['target', 'add-entries', '--from', join(fx.root, 'targets.jsonl')], { cwd: fx.repo });
  for (const file of allJsonFiles(join(fx.repo, 'metadata'))) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    cases.push(...documentCases(`tufctl ${file.slice(fx.repo.length + 1)}`, json));
  }
  return { cases, cleanups };
}

test('@tufjs/models is the version the linear functions were checked against', () => {
  assert.equal(
    models.version,
    PATCHED_MODELS_VERSION,
    `@tufjs/models is now ${models.version}: check src/verify/linear-models.ts against its Snapshot, Targets and Delegations fromJSON/toJSON, then update PATCHED_MODELS_VERSION`,
  );
});

test('the linear functions give the same objects and the same errors as @tufjs/models', () => {
  const { cases, cleanups } = realCases();
  try {
    cases.push(...edgeCases());
    assert.ok(cases.length > 100, `only ${cases.length} cases`);
    const before = cases.map((c) => outcome(c.run));
    assert.ok(
      before.some((o) => 'error' in o),
      'some cases must fail',
    );
    const original = models.Snapshot.fromJSON;
    const state = useLinearModels();
    assert.deepEqual(state, { installed: true, skipped: [] });
    assert.notEqual(models.Snapshot.fromJSON, original, 'Snapshot.fromJSON is replaced');
    const after = cases.map((c) => outcome(c.run));
    for (let i = 0; i < cases.length; i++) {
      assert.ok(
        isDeepStrictEqual(after[i], before[i]),
        `${cases[i]!.label}: patched ${JSON.stringify(after[i])}, original ${JSON.stringify(before[i])}`,
      );
    }
    // Installing twice changes nothing.
    const fromJSON = models.Snapshot.fromJSON;
    useLinearModels();
    assert.equal(models.Snapshot.fromJSON, fromJSON);
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
});

test('a snapshot of 16,384 bins is read and written in linear time', () => {
  useLinearModels();
  const data = snapshot(meta(16384));
  const parsed = models.Snapshot.fromJSON(data) as { toJSON(): unknown; meta: Record<string, unknown> };
  assert.equal(Object.keys(parsed.meta).length, 16384);
  assert.deepEqual(parsed.toJSON(), data);
});

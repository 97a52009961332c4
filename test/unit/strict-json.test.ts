/**
 * Strict JSON parsing (src/metadata/strict-json.ts): duplicate members are
 * refused at any depth with the member and its path, values are exactly
 * JSON.parse's, and member names that JavaScript objects already have
 * (`__proto__`, `constructor`) are plain data. A randomised comparison with a
 * small reference parser covers the fast check (names compared in the text,
 * large objects counted) against the exact one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JSONParseError,
  findDuplicateMember,
  isObjectPrototypeName,
  mayHaveDuplicates,
  own,
  parseJSON,
  setOwn,
} from '../../src/metadata/strict-json.js';

function refused(text: string): JSONParseError {
  try {
    parseJSON(text);
  } catch (error) {
    assert.ok(error instanceof JSONParseError, String(error));
    return error;
  }
  assert.fail(`accepted: ${text.slice(0, 200)}`);
}

test('valid documents parse exactly as JSON.parse parses them', () => {
  const docs = [
    '{}',
    '[]',
    '"text"',
    '12',
    'null',
    '{"a":1,"b":[1,2,{"a":1}],"c":{"a":{"a":{}}}}',
    '{"a":"x\\":y","b":"\\\\","c":"\\\\\\"","d":": ,{"}',
    '[{"a":1},{"a":1},{"a":1}]',
    JSON.stringify({ signed: { targets: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, { length: i }])) } }, null, 2),
  ];
  for (const doc of docs) assert.deepEqual(parseJSON(doc), JSON.parse(doc), doc);
  assert.deepEqual(parseJSON(Buffer.from('{"a": [true, false]}')), { a: [true, false] });
});

test('syntax errors are kind "syntax" with the JSON.parse message', () => {
  const error = refused('{"signed": ');
  assert.equal(error.kind, 'syntax');
  assert.match(error.message, /JSON/);
});

test('a duplicate member is refused with its path, at any depth', () => {
  const cases: Array<[string, string, string]> = [
    ['{"a":1,"a":2}', '', 'member "a" appears twice'],
    ['{"a":1,"a":1}', '', 'member "a" appears twice'],
    ['{"signed":{"targets":{"a.txt":{"hashes":{"sha256":"x","sha256":"y"},"length":1}}}}', 'signed.targets["a.txt"].hashes', ''],
    ['{"signatures":[{"keyid":"k","sig":"s"},{"keyid":"k","keyid":"l"}]}', 'signatures[1]', ''],
    ['[[1,2],[{"x":{"y":1,"y":2}}]]', '[1][0].x', ''],
    ['{"a":{"b":1},"c":{"b":1,"d":2,"b":3}}', 'c', ''],
    // names compared after unescaping
    ['{"ab":1,"a\\u0062":2}', '', 'member "ab" appears twice'],
    ['{"a\\"b":1,"a\\"b":2}', '', 'member "a\\"b" appears twice'],
    // spaced out as people write it
    ['{\n  "a" : 1 ,\n  "a"\t:\r\n2\n}', '', 'member "a" appears twice'],
    ['{"__proto__":{},"__proto__":{}}', '', 'member "__proto__" appears twice'],
  ];
  for (const [text, path, message] of cases) {
    const error = refused(text);
    assert.equal(error.kind, 'duplicate', text);
    assert.equal(error.path, path, text);
    if (message) assert.equal(error.message, message, text);
    else assert.match(error.message, new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: member "[^"]+" appears twice$`), text);
  }
  const hashes = refused('{"signed":{"targets":{"a.txt":{"hashes":{"sha256":"x","sha256":"y"}}}}}');
  assert.equal(hashes.message, 'signed.targets["a.txt"].hashes: member "sha256" appears twice');
  assert.equal(hashes.member, 'sha256');
});

test('duplicates in large objects (counted, not compared) are found and named exactly', () => {
  const entries = Array.from({ length: 5000 }, (_, i) => `"t${i}": {"length": ${i}}`);
  const clean = `{"signed": {"targets": {${entries.join(', ')}}}}`;
  assert.equal((parseJSON(clean) as { signed: { targets: object } }).signed.targets !== undefined, true);
  for (const at of [0, 9, 2500, 4999]) {
    const text = `{"signed": {"targets": {${[...entries, `"t${at}": {"length": 0}`].join(', ')}}}}`;
    const error = refused(text);
    assert.equal(error.message, `signed.targets: member "t${at}" appears twice`);
  }
  // A duplicated large object: each copy is clean; the parent has the duplicate.
  const table = `{${entries.slice(0, 20).join(',')}}`;
  assert.equal(refused(`{"x": ${table}, "x": ${table}}`).message, 'member "x" appears twice');
  // ... and a duplicate inside the first copy of a duplicated parent is reported first (text order).
  const bad = `{${[...entries.slice(0, 20), '"t3": {}'].join(',')}}`;
  assert.equal(refused(`{"x": ${bad}, "x": ${table}}`).message, 'x: member "t3" appears twice');
});

test('messages escape control characters and cut long member names', () => {
  const control = refused('{"a\\u0007\\n":1,"a\\u0007\\n":2}');
  assert.equal(control.message, 'member "a\\u0007\\n" appears twice');
  const long = 'n'.repeat(100_000);
  const error = refused(`{"${long}":1,"${long}":2}`);
  assert.ok(error.message.length < 200, error.message.slice(0, 300));
  assert.match(error.message, /^member "n+… \(99920 more characters\)" appears twice$/);
  const path = refused(`{"${long}":{"a":1,"a":2}}`);
  assert.ok(path.message.length < 250, path.message.slice(0, 300));
});

test('__proto__ and other Object.prototype names are kept as own data members', () => {
  const value = parseJSON('{"__proto__": {"length": 1}, "constructor": {"length": 2}, "toString": 3}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ['__proto__', 'constructor', 'toString']);
  assert.deepEqual(own(value, '__proto__'), { length: 1 });
  assert.equal(own({}, 'constructor'), undefined);
  assert.equal(own({}, '__proto__'), undefined);
  assert.equal(own(undefined, 'a'), undefined);
  const table: Record<string, unknown> = {};
  setOwn(table, '__proto__', 1);
  setOwn(table, 'toString', 2);
  assert.deepEqual(Object.keys(table), ['__proto__', 'toString']);
  assert.equal(Object.getPrototypeOf(table), Object.prototype);
  assert.equal(JSON.stringify(table), '{"__proto__":1,"toString":2}');
  assert.ok(isObjectPrototypeName('__proto__') && isObjectPrototypeName('constructor') && isObjectPrototypeName('hasOwnProperty'));
  assert.ok(!isObjectPrototypeName('targets') && !isObjectPrototypeName('a/__proto__'));
});

// ---------------------------------------------------------------- randomised comparison

/** A reference: recursive descent over valid JSON, the first duplicate in text order with its path. */
function referenceDuplicate(text: string): { path: string; member: string } | undefined {
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  let found: { path: string; member: string } | undefined;
  const segment = (key: string, path: string): string =>
    /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        if (seen.has(key) && !found) found = { path, member: key };
        seen.add(key);
        ws();
        i++; // :
        value(segment(key, path));
        ws();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  value('');
  return found;
}

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function randomDocument(rand: () => number, depth: number): string {
  const names = ['a', 'b', 'ab', 'a\\u0062', 'x y', 'q\\"', '__proto__', 'constructor', 'sha256', 'a.txt', '\\\\'];
  const space = (): string => [' ', '', '\n  ', '\t'][Math.floor(rand() * 4)]!;
  const r = rand();
  if (depth > 3 || r < 0.3) {
    return [`"s${Math.floor(rand() * 10)}"`, '12', '-1.5e3', 'true', 'null', '"a\\":b"', '"{[,]}"'][Math.floor(rand() * 7)]!;
  }
  if (r < 0.5) {
    const n = Math.floor(rand() * 4);
    return `[${Array.from({ length: n }, () => space() + randomDocument(rand, depth + 1)).join(',')}]`;
  }
  // Some objects are large (counted by the fast check), most small.
  const large = rand() < 0.2;
  const n = large ? 9 + Math.floor(rand() * 20) : Math.floor(rand() * 5);
  const members: string[] = [];
  for (let k = 0; k < n; k++) {
    const name = large && rand() < 0.97 ? `m${k}` : names[Math.floor(rand() * names.length)]!;
    members.push(`${space()}"${name}"${space()}:${space()}${randomDocument(rand, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}

test('randomised: parseJSON refuses exactly the documents with a duplicate, and names the first one', () => {
  const rand = random(20240611);
  let duplicates = 0;
  for (let n = 0; n < 3000; n++) {
    const text = randomDocument(rand, 0);
    const expected = referenceDuplicate(text);
    const value = JSON.parse(text) as unknown;
    // (names written with escapes always go to the exact check)
    if (!expected && !text.includes('\\')) assert.equal(mayHaveDuplicates(text, value), false, text);
    assert.deepEqual(findDuplicateMember(text), expected, text);
    if (expected) {
      duplicates++;
      const error = refused(text);
      assert.equal(error.path, expected.path, text);
      assert.equal(error.member, expected.member, text);
    } else assert.deepEqual(parseJSON(text), value, text);
  }
  assert.ok(duplicates > 100 && duplicates < 2900, `${duplicates} of 3000 random documents have a duplicate`);
});

test('registry manifests, indexes and published metadata are parsed strictly', async () => {
  const { parseManifest } = await import('../../src/oci/tuf-layout.js');
  const { light } = await import('../../src/oci/published-state.js');
  const layer = '{"mediaType": "application/vnd.tuf.metadata+json", "digest": "sha256:' + '0'.repeat(64) + '", "size": 1}';
  assert.equal(parseManifest(Buffer.from(`{"schemaVersion": 2, "layers": [${layer}]}`)).layers.length, 1);
  const twice = parseManifest.bind(null, Buffer.from(`{"schemaVersion": 2, "layers": [${layer}], "layers": []}`));
  assert.throws(twice, (error: unknown) => error instanceof JSONParseError && error.message === 'member "layers" appears twice');
  assert.throws(
    () => parseManifest(Buffer.from(`{"manifests": [{"annotations": {"a": "1", "a": "2"}}]}`)),
    /manifests\[0\]\.annotations: member "a" appears twice/,
  );
  assert.throws(() => parseManifest(Buffer.from('[]')), JSONParseError);
  // Published metadata with a member twice, or a version past 2^53 - 1, is unreadable (never trusted as read).
  const envelope = (signed: string): Buffer => Buffer.from(`{"signatures": [], "signed": ${signed}}`);
  assert.ok(light(envelope('{"_type": "timestamp", "version": 3, "expires": "2030-01-01T00:00:00Z"}'), 'timestamp'));
  assert.equal(light(envelope('{"_type": "timestamp", "version": 3, "version": 4}'), 'timestamp'), undefined);
  assert.equal(light(envelope('{"_type": "timestamp", "version": 9007199254740992}'), 'timestamp'), undefined);
});

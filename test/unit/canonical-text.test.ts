/**
 * canonicalText (src/metadata/json.ts) gives exactly canonicalize's
 * text, and throws what it throws, for values where JSON.stringify agrees and
 * where it does not (unsorted or integer-like keys, control characters, lone
 * surrogates, quotes and backslashes, fractions, inherited members).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, canonicalText } from '../../src/metadata/json.js';

function same(value: unknown): void {
  let expected: string | Error;
  try {
    expected = canonicalize(value);
  } catch (error) {
    expected = error as Error;
  }
  if (expected instanceof Error) {
    assert.throws(() => canonicalText(value), { name: expected.name, message: expected.message });
  } else assert.equal(canonicalText(value), expected, JSON.stringify(value));
}

test('canonicalText equals canonicalize on edge cases', () => {
  const inherited = Object.create({ extra: 1 }) as Record<string, unknown>;
  inherited.a = 1;
  const values: unknown[] = [
    { a: 1, b: [1, 2, { c: 'x' }], d: null, e: true, f: false },
    { b: 1, a: 2 },
    { '9': 1, '10': 2 },
    { '10': 1, a: 2 },
    JSON.parse('{"__proto__": {"x": 1}, "a": 2}'),
    { a: 'tab\there' },
    { a: 'nul\u0000' },
    { a: 'quote"and\\backslash' },
    { a: 'lone \ud800 surrogate' },
    { a: 'pair \ud83d\ude00 emoji', é: 'ü', '\u2028': '\u2029' },
    { a: 1.5 },
    { a: -0, b: 1e21, c: -12 },
    [1, 'a', [], {}],
    'plain',
    42,
    null,
    undefined,
    { a: undefined },
    inherited,
    Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
    { nested: { z: 1, y: { x: [3, 2, 1] } } },
  ];
  for (const value of values) same(value);
});

test('canonicalText equals canonicalize on random documents', () => {
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const chars = ['a', 'b', 'Z', '0', '9', ' ', '"', '\\', '\n', '\u0001', '\u00e9', '\ud800', '\udc00', '/', '-'];
  const str = (): string => Array.from({ length: Math.floor(random() * 6) }, () => chars[Math.floor(random() * chars.length)]).join('');
  const make = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.3)
      return [str(), Math.floor(random() * 1000) - 500, random() < 0.1 ? 0.5 : 7, true, null][Math.floor(random() * 5)];
    if (r < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => make(depth + 1));
    const object: Record<string, unknown> = {};
    for (let i = 0; i < Math.floor(random() * 5); i++) object[random() < 0.2 ? String(Math.floor(random() * 20)) : str()] = make(depth + 1);
    return random() < 0.5 ? object : Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  for (let i = 0; i < 3000; i++) same(make(0));
});

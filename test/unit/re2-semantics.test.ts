/**
 * Go regexp semantics of tufctl's pattern matching (re2js plus Go's
 * ReplaceAllString and Expand rules). Every expected value below is what Go's
 * regexp package returns (checked with Go 1.19; `(?<name>…)` is Go 1.22+
 * syntax), not what tufctl happened to return. Also: catastrophic-backtracking
 * patterns match in linear time, and the size limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exampleStrings,
  goMatch,
  goReplaceAll,
  goReplaceAllWithin,
  MAX_PROGRAM_SIZE,
  parseGoRegexp,
  re2Problem,
  type GoRegexp,
} from '../../src/trust/re2.js';

function compile(pattern: string): GoRegexp {
  const parsed = parseGoRegexp(pattern);
  assert.ok(parsed.ok, `${pattern}: ${parsed.ok ? '' : parsed.error}`);
  return parsed.regexp;
}

/** [pattern, input, template, Go's ReplaceAllString result] */
const GO_REPLACE_ALL: [string, string, string, string][] = [
  // Empty matches: no replacement right after a match; a code point is never split.
  ['a*', 'baaac', '-', '-b-c-'],
  ['', 'abc', 'x', 'xaxbxcx'],
  ['', '', 'x', 'x'],
  ['x*', '', '-', '-'],
  ['\\b', 'ab cd', '|', '|ab| |cd|'],
  ['', 'a😀b', '-', '-a-😀-b-'],
  ['[a-c]*', '日', 'x', 'x日x'],
  ['[a-c]*', 'abcbcdcdedef', 'x', 'xdxdxexdxexfx'],
  ['a*?', 'baaa', '-', '-b-a-a-a-'],
  ['(?U)a*', 'baaa', '-', '-b-a-a-a-'],
  ['a|', 'bab', '<$0>', '<>b<a>b<>'],
  ['x*', 'x😀x', '-', '-😀-'],
  // Expand: $1x is the group named "1x"; ${1}x is group 1 then x; $$; a malformed $ is text.
  ['hello, (.+)', 'hello, world', 'goodbye, $1x', 'goodbye, '],
  ['hello, (.+)', 'hello, world', 'goodbye, ${1}x', 'goodbye, worldx'],
  ['hello, (?P<noun>.+)', 'hello, world', 'goodbye, $noun!', 'goodbye, world!'],
  ['hello, (?<noun>.+)', 'hello, world', 'goodbye, ${noun}', 'goodbye, world'],
  ['a+', 'aaa', '${oops', '${oops'],
  ['a+', 'aaa', '$$', '$'],
  ['a+', 'aaa', '$', '$'],
  ['(x)?', '123', '$1', '123'],
  ['(a)(b){0}(c)', 'xacxacx', '.$1|$3.', 'x.a|c.x.a|c.x'],
  ['^docker[.]io/library/(?P<name>.*)$', 'docker.io/library/alpine', 'x/$1_y', 'x/'],
  ['(a)', 'a', '$1٣', ''],
  ['(a)', 'a', '${1٣}', ''],
  ['(a)', 'a', '$001', ''],
  ['(a)', 'a', '$000000001', ''],
  ['(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)', 'abcdefghij', '$10', 'j'],
  // ^ $ . and their flags.
  ['(?m)^', 'a\nb', '>', '>a\n>b'],
  ['(?m)$', 'a\nb\n', '!', 'a!\nb!\n!'],
  ['$', 'a\nb\n', '!', 'a\nb\n!'],
  ['^', 'a\nb', '>', '>a\nb'],
  ['.', 'a\nb', 'x', 'x\nx'],
  ['(?s).', 'a\nb', 'x', 'xxx'],
  // (?i) is Unicode simple folding (the Kelvin sign, long s, final sigma).
  ['(?i)k', 'k K \u212a', '_', '_ _ _'],
  ['(?i)ſ', 'sS', '_', '__'],
  ['(?i)\\p{Lu}', 'aB', '_', '__'],
  ['(?i)[k]', '\u212a', '_', '_'],
  ['(?i)[a-z]+', 'Hello', '_', '_'],
  // \w \s \d \b are ASCII.
  ['\\w+', 'é x_1', '<$0>', 'é <x_1>'],
  ['\\s', 'a\tb\u000bc\fd', '_', 'a_b\u000bc_d'],
  ['\\d', '1٣', '#', '#٣'],
  ['\\b', 'éx', '|', 'é|x|'],
  // Leftmost-first alternation, greediness, (?U).
  ['a|ab', 'ab', '<$0>', '<a>b'],
  ['ab|a', 'ab', '<$0>', '<ab>'],
  ['(a|ab)(c|bcd)', 'abcd', '[$1,$2]', '[a,bcd]'],
  ['(a+)(b)?', 'aab aa', '[$1,$2]', '[aa,b] [aa,]'],
  ['(?U)(a+)(a*)', 'aaa', '[$1,$2]', '[a,][a,][a,]'],
  ['(?U)(a+?)(a*)', 'aaa', '[$1,$2]', '[aaa,]'],
  // Classes.
  ['[^a]', 'a\nb', '_', 'a__'],
  ['\\pL', 'aé1', '_', '__1'],
  ['\\PL', 'a1', '_', 'a_'],
  ['[[:^alpha:]]', 'a1', '_', 'a_'],
  ['\\Qa.b\\E', 'a.b axb', '_', '_ axb'],
];

test("ReplaceAllString and Expand follow Go's rules", () => {
  for (const [pattern, input, template, expected] of GO_REPLACE_ALL) {
    assert.equal(goReplaceAll(compile(pattern), input, template), expected, `${pattern} on ${JSON.stringify(input)} with ${template}`);
  }
});

/** [pattern, input, Go's MatchString] */
const GO_MATCH: [string, string, boolean][] = [
  ['^a.b$', 'a\nb', false],
  ['(?s)^a.b$', 'a\nb', true],
  ['^b$', 'a\nb', false],
  ['(?m)^b$', 'a\nb', true],
  ['^a$', 'a\n', false],
  ['(?i)k', '\u212a', true],
  ['(?i)[k]', '\u212a', true],
  ['(?i)Σ', 'ς', true],
  ['(?i)\\p{Lu}', 'a', true],
  ['\\d', '٣', false],
  ['\\w', 'é', false],
  ['\\s', '\u000b', false],
  ['[[:space:]]', '\u000b', true],
  ['\\bx', 'éx', true],
  ['^.$', '😀', true],
  ['^..$', '😀', false],
  ['\\x{1F600}', 'x😀y', true],
  ['[^a]', '\n', true],
  ['a{,3}', 'a{,3}', true], // not a repetition in Go: literal text
  ['a{01}', 'a', false], // neither (no leading zeros)
  ['a{01}', 'a{01}', true],
  ['\\Qa.b\\E', 'axb', false],
  ['\\Qab\\E+', 'abbb', true], // the repetition applies to the last quoted character
  ['(?)a', 'a', true],
];

test("MatchString follows Go's rules for ., ^, $, flags, ASCII classes and Unicode folding", () => {
  for (const [pattern, input, expected] of GO_MATCH) {
    assert.equal(goMatch(compile(pattern), input), expected, `${pattern} on ${JSON.stringify(input)}`);
  }
});

/** [pattern, whether Go compiles it] */
const GO_COMPILES: [string, boolean][] = [
  ['a{,3}', true],
  ['x{1001}', false],
  ['[\\d-z]', true],
  ['[a-\\d]', false],
  ['\\x{110000}', false],
  ['\\08', true],
  ['\\18', false],
  ['\\8', false],
  ['\\_', true],
  ['\\e', false],
  ['\\u0041', false],
  ['\\C', false],
  ['\\Z', false],
  ['(?i-)', false],
  ['(?)', true],
  ['(?-:x)', false],
  ['(?x)a', false],
  ['(?P<é>x)', false],
  ['\\pX', false],
  ['\\p{Greek}', true],
  ['[[:foo:]]', false],
  ['x{2}{3}', false],
  ['^*', true],
  ['\\b*', true],
  ['\\Qab\\E+', true],
  ['a*?+', false],
  ['(a{1000}){2}', false],
  ['((a{10}){10}){10}', true],
  ['((a{10}){10}){11}', false],
  ['a{1000}', true],
  ['\\Q\\E*', false],
  ['a{01}', true],
  ['[\\b]', false],
  ['(?P<name>a)(?P<Name>b)', true],
];

test('patterns are valid exactly when Go compiles them', () => {
  for (const [pattern, valid] of GO_COMPILES) {
    assert.equal(re2Problem(pattern) === undefined, valid, `${pattern}: ${re2Problem(pattern) ?? 'valid'}`);
  }
  // Go accepts two groups of one name; tufctl (and re2js) refuse them: a known, stricter difference.
  assert.match(re2Problem('(?P<x>a)|(?P<x>b)')!, /duplicate capture group name/);
  assert.match(re2Problem('(a{1000}){2}')!, /nested repetitions multiply to more than 1000/);
  assert.match(re2Problem(`${'('.repeat(1001)}a${')'.repeat(1001)}`)!, /nests too deeply/);
});

test('catastrophic-backtracking patterns match in linear time', () => {
  const started = performance.now();
  for (const [pattern, input, expected] of [
    ['^(a|a)*c$', 'a'.repeat(5000), false],
    ['^(a+)+$', `${'a'.repeat(5000)}!`, false],
    ['(x+x+)+y', 'x'.repeat(5000), false],
    ['^(a*)*b$', 'a'.repeat(5000), false],
    ['^(\\w+\\s?)*$', `${'ab '.repeat(2000)}!`, false],
    ['^(([a-z])+.)+[A-Z]([a-z])+$', 'a'.repeat(5000), false],
  ] as const) {
    const re = compile(pattern);
    assert.equal(goMatch(re, input), expected, pattern);
    assert.equal(goReplaceAll(re, input, '<$1>'), input, pattern);
  }
  // JavaScript's RegExp takes longer than the age of the universe on any of these; RE2 well under a second.
  assert.ok(performance.now() - started < 10_000, `took ${performance.now() - started} ms`);
});

test('a replacement can be bounded in length; a pattern over the size limit is not compiled', () => {
  const re = compile('(a)');
  assert.equal(goReplaceAllWithin(re, 'aaaa', '$1$1$1', 12), 'aaaaaaaaaaaa');
  assert.equal(goReplaceAllWithin(re, 'aaaa', '$1$1$1', 11), undefined);
  const huge = 'b(?:a{1000})'.repeat(101);
  const parsed = parseGoRegexp(huge);
  assert.ok(!parsed.ok);
  assert.deepEqual(parsed.tooLarge, { size: 101_101, limit: MAX_PROGRAM_SIZE });
  assert.match(parsed.error, /too large to check: it compiles to about 101,101 RE2 instructions, over tufctl's limit of 100,000/);
  assert.ok(parseGoRegexp('b(?:a{1000})'.repeat(99)).ok);
});

test('example strings stay short and all match', () => {
  assert.deepEqual(exampleStrings(compile('^a{40}$')), ['a'.repeat(40)]);
  assert.deepEqual(exampleStrings(compile('^(a|a)*c$')), ['ac', 'c']);
  assert.equal(exampleStrings(compile('^a{1000}b{1000}$')), undefined, 'over 1024 characters: none');
  assert.deepEqual(exampleStrings(compile('^\\Qab\\E+$')), ['ab']);
});

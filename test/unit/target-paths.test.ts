/**
 * Target path rules, at the boundaries: what may be signed as a target name
 * (relative, "/"-separated, no "." or ".." segments, no backslashes or
 * control characters). What the registry layout can carry is tested in
 * layout-rules.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TargetError } from '../../src/errors.js';
import { assertTargetPath, targetPathProblem } from '../../src/targets/target-paths.js';

test('ordinary relative paths are accepted', () => {
  for (const path of [
    'a',
    'app.json',
    'app/config.json',
    'v1.2/app.json',
    '.well-known/x',
    'a/b/c/d/e/f.txt',
    'with space/and-dash_underscore.json',
    'ü/ñ.json',
    'x'.repeat(63),
    'x'.repeat(300),
    'name with space.json',
    `dir/${'x'.repeat(200)}`,
    `${'d'.repeat(100)}/x`,
    '...',
    'a/..b/c..',
  ]) {
    assert.equal(targetPathProblem(path), undefined, path);
    assert.doesNotThrow(() => assertTargetPath(path), path);
  }
});

test('unsafe or unusable paths are refused with a reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['/abs', /is absolute/],
    ['/', /is absolute/],
    ['a\\b', /contains a backslash/],
    ['C:\\x', /contains a backslash/],
    ['a//b', /has an empty path segment/],
    ['a/', /has an empty path segment/],
    ['..', /contains a "\.\." segment/],
    ['a/../b', /contains a "\.\." segment/],
    ['a/..', /contains a "\.\." segment/],
    ['.', /contains a "\." segment/],
    ['./a', /contains a "\." segment/],
    ['a/./b', /contains a "\." segment/],
    ['a\nb', /contains control characters/],
    ['a\u0000b', /contains control characters/],
    ['a\u007fb', /contains control characters/],
  ];
  for (const [path, reason] of cases) {
    assert.match(targetPathProblem(path) ?? '(accepted)', reason, JSON.stringify(path));
    assert.throws(
      () => assertTargetPath(path),
      (error: unknown) =>
        error instanceof TargetError && error.code === 'TARGET_PATH_INVALID' && error.message.startsWith(`target path "${path}" `),
      JSON.stringify(path),
    );
  }
});

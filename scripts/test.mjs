#!/usr/bin/env node
// `npm test`: make sure the machine has what the suite needs, build, then run node's test
// runner over test/**/*.test.ts (or the test files and runner flags given).
//
//   npm test                                   everything
//   npm test -- test/e2e/pkcs11.test.ts        some files
//   npm test -- --test-name-pattern=publish    runner flags (--flag=value form)
//   npm test -- --dry-run                      only print what would be installed
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrerequisites } from './test-prerequisites.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every test/**\/*.test.ts, sorted, relative to the project. */
function allTestFiles() {
  return readdirSync(join(root, 'test'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

function exitWith(result) {
  if (result.error) throw result.error;
  process.exit(result.status ?? 1);
}

const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const code = ensurePrerequisites({ dryRun });
if (code !== 0 || dryRun) process.exit(code);

// npm run build, with the npm that runs this script when there is one.
const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
const build = spawnSync(npm[0], [...npm[1], 'run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) exitWith(build);

const flags = args.filter((a) => a.startsWith('-'));
const given = args.filter((a) => !a.startsWith('-'));
const files = given.length > 0 ? given : allTestFiles();
exitWith(
  spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-force-exit', ...flags, ...files], {
    cwd: root,
    stdio: 'inherit',
  }),
);

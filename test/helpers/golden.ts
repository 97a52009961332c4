/** Golden Markdown files: output compared with a recorded file after times and hex ids are blanked out. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `text` with ISO times and hex ids (7+ digits) replaced, so that a run compares with the recorded one. */
export function normalizeVolatile(text: string): string {
  return text
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>')
    .replace(/(?<![0-9a-zA-Z])[0-9a-f]{7,}(?![0-9a-zA-Z])/g, '<hex>');
}

/** Compares `output` with `dir/name.md`; UPDATE_GOLDEN=1 (re)writes the file instead. */
export function compareGolden(dir: string, name: string, output: string): void {
  const file = join(dir, `${name}.md`);
  const actual = normalizeVolatile(output);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== '1') assert.fail(`${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${name}.md differs (UPDATE_GOLDEN=1 rewrites it after review)`);
}

/**
 * targetEntries reads a JSON Lines file in chunks and splits it into lines as
 * readline does ("\n", "\r\n", a lone "\r"), keeping characters split between
 * two chunks whole; `for` and `for await` give the same entries, and a bad
 * line is named by its number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TufctlError } from '../../src/errors.js';
import { readTargetEntries, targetEntries, type TargetDescription } from '../../src/edit/targets.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const line = (path: string, length = 1): string => JSON.stringify({ path, length, sha256: sha(path) });

function withFile(content: string | Buffer, check: (file: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tufctl-entries-'));
  const file = join(dir, 'targets.jsonl');
  writeFileSync(file, content);
  return Promise.resolve(check(file)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function both(file: string): Promise<TargetDescription[]> {
  const synchronous = [...targetEntries(file)];
  const asynchronous: TargetDescription[] = [];
  for await (const entry of targetEntries(file)) asynchronous.push(entry);
  assert.deepEqual(asynchronous, synchronous);
  assert.deepEqual(await readTargetEntries(file), synchronous);
  return synchronous;
}

test('line ends: \\n, \\r\\n, a lone \\r, blank lines and a last line without one', async () => {
  const content = `${line('a')}\r\n\n${line('b')}\r${line('c')}\n   \n${line('d')}`;
  await withFile(content, async (file) => {
    assert.deepEqual(
      (await both(file)).map((e) => e.path),
      ['a', 'b', 'c', 'd'],
    );
  });
});

test('characters of several bytes split between two chunks of the reader stay whole', async () => {
  // Lines of 100 bytes up to just below the 1 MiB chunk, then a line whose multi-byte path crosses it.
  const filler: string[] = [];
  let size = 0;
  for (let i = 0; size < 1024 * 1024 - 300; i++) {
    const text = line(`pkgs/filler-${String(i).padStart(8, '0')}`);
    filler.push(text);
    size += Buffer.byteLength(text) + 1;
  }
  const names = ['pkgs/ü-ß-€-𝄞-' + 'é'.repeat(200), 'pkgs/日本語/パッケージ', 'pkgs/last'];
  const crlf = `${filler.join('\n')}\n${names.map((n) => line(n)).join('\r\n')}\r\n`;
  await withFile(crlf, async (file) => {
    const entries = await both(file);
    assert.equal(entries.length, filler.length + names.length);
    assert.deepEqual(
      entries.slice(-3).map((e) => e.path),
      names,
    );
    for (const e of entries) assert.equal(e.hashes.sha256, sha(e.path));
  });
});

test('a bad line is named by its number, counting blank lines and \\r\\n line ends', async () => {
  await withFile(`${line('a')}\r\n\r\n{"path": "b", "length": 1}\n`, (file) => {
    assert.throws(
      () => [...targetEntries(file)],
      (error: unknown) => error instanceof TufctlError && /targets\.jsonl:3: "b" needs "sha256" or "hashes"/.test(error.message),
    );
  });
  await withFile(`${line('a')}\n{"path": "x", "path": "y"}\n`, (file) => {
    assert.throws(
      () => [...targetEntries(file)],
      (error: unknown) => error instanceof TufctlError && /targets\.jsonl:2: member "path" appears twice/.test(error.message),
    );
  });
  assert.throws(() => targetEntries('/nonexistent/targets.jsonl'), /no such file/);
});

test('stopping early, with for or for await, closes the file', { skip: !existsSync('/proc/self/fd') }, async () => {
  const open = (): number => readdirSync('/proc/self/fd').length;
  await withFile(`${line('a')}\n${line('b')}\n${line('c')}\n`, async (file) => {
    const before = open();
    for (const entry of targetEntries(file)) if (entry.path === 'a') break;
    assert.equal(open(), before);
    for await (const entry of targetEntries(file)) if (entry.path === 'a') break;
    assert.equal(open(), before);
  });
});

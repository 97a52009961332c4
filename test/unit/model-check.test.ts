// checkWithModels reaches the verdict (and error) of @tufjs/models' Metadata.fromJSON for odd target and meta entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, MetadataKind } from '@tufjs/models';
import { checkWithModels } from '../../src/metadata/model-check.js';

const HEX = 'ab'.repeat(32);

function outcome(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

function envelope(type: 'targets' | 'snapshot', field: string, entries: Record<string, unknown>): Record<string, unknown> {
  return {
    signatures: [],
    signed: { _type: type, spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', [field]: entries },
  };
}

const TARGET_ENTRIES: unknown[] = [
  { length: 1, hashes: { sha256: HEX } },
  { length: 0, hashes: {} },
  { length: -1, hashes: { sha256: HEX } },
  { length: NaN, hashes: { sha256: HEX } },
  { length: '1', hashes: { sha256: HEX } },
  { hashes: { sha256: HEX } },
  { length: 1 },
  { length: 1, hashes: null },
  { length: 1, hashes: { sha256: 1 } },
  { length: 1, hashes: [HEX] },
  { length: 1, hashes: [1] },
  { length: 1, hashes: 'x' },
  { length: 1.5, hashes: { sha256: HEX }, custom: { a: 1 } },
];

const META_ENTRIES: unknown[] = [
  { version: 1 },
  { version: 0 },
  { version: -3 },
  { version: NaN },
  { version: '1' },
  {},
  { version: 1, length: 10 },
  { version: 1, length: -1 },
  { version: 1, length: '10' },
  { version: 1, length: null },
  { version: 1, hashes: { sha256: HEX } },
  { version: 1, hashes: { sha256: 2 } },
  { version: 1, hashes: null },
  { version: 1, hashes: [] },
  { version: 1, length: 3, hashes: { sha256: HEX }, extra: true },
];

test('target entries: the same verdict and error as Metadata.fromJSON', () => {
  for (const entry of TARGET_ENTRIES) {
    const json = envelope('targets', 'targets', { 'a.txt': { length: 1, hashes: { sha256: HEX } }, 'b.txt': entry });
    const expected = outcome(() => Metadata.fromJSON(MetadataKind.Targets, json as never));
    assert.equal(
      outcome(() => checkWithModels(MetadataKind.Targets, json)),
      expected,
      JSON.stringify(entry),
    );
  }
});

test('snapshot meta entries: the same verdict and error as Metadata.fromJSON', () => {
  for (const entry of META_ENTRIES) {
    const json = envelope('snapshot', 'meta', { 'targets.json': { version: 1 }, 'bins-0.json': entry });
    const expected = outcome(() => Metadata.fromJSON(MetadataKind.Snapshot, json as never));
    assert.equal(
      outcome(() => checkWithModels(MetadataKind.Snapshot, json)),
      expected,
      JSON.stringify(entry),
    );
  }
});

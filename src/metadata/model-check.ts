/**
 * Validation by @tufjs/models in linear time.
 *
 * `Metadata.fromJSON` builds snapshot `meta` and targets `targets` with
 * `reduce((acc, x) => ({ ...acc, ... }))`, which copies the accumulator per
 * entry: quadratic in the number of entries (a snapshot listing 16,384 hashed
 * bins takes about 40 s). Every entry is checked independently there, so the
 * same verdict is reached by checking the entries one by one with the
 * models' own `MetaFile.fromJSON` / `TargetFile.fromJSON` and then handing
 * `Metadata.fromJSON` the document with that collection replaced by either
 * nothing (all entries valid) or just the first invalid entry, which makes it
 * throw exactly the error, in exactly the order, it would have thrown for the
 * whole document.
 */
import { Metadata, MetaFile, MetadataKind, TargetFile } from '@tufjs/models';

type Record_ = Record<string, unknown>;

function isObject(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null;
}

/** The models' `guard.isObjectRecord`. */
function isObjectRecord(value: unknown): value is Record<string, Record_> {
  return isObject(value) && Object.values(value).every((v) => typeof v === 'object' && v !== null);
}

/**
 * Whether `TargetFile.fromJSON` accepts this entry, decided without building
 * the model (a million entries per bulk edit): it throws exactly when `length`
 * is not a number or is below 0, or `hashes` is not an object whose values
 * are all strings. false sends the entry to the model itself.
 */
function passesTargetFile(entry: Record_): boolean {
  const { length, hashes } = entry;
  return typeof length === 'number' && !(length < 0) && isStringRecord(hashes);
}

/**
 * Whether `MetaFile.fromJSON` accepts this entry (16,384 per snapshot of
 * hashed bins), decided the same way: it throws exactly when `version` is not
 * a number or is 0 or below, `length` is present but not a number or below
 * 0, or `hashes` is present but not an object whose values are all strings.
 */
function passesMetaFile(entry: Record_): boolean {
  const { version, length, hashes } = entry;
  if (typeof version !== 'number' || version <= 0) return false;
  if (length !== undefined && (typeof length !== 'number' || length < 0)) return false;
  return hashes === undefined || isStringRecord(hashes);
}

/** The models' `guard.isStringRecord`. */
function isStringRecord(value: unknown): boolean {
  if (!isObject(value)) return false;
  for (const v of Object.values(value)) if (typeof v !== 'string') return false;
  return true;
}

/** A stand-in for a collection with the same validation outcome: {} or the first invalid entry. */
function standIn(collection: Record<string, Record_>, check: (name: string, entry: Record_) => void): Record<string, Record_> {
  for (const name of Object.keys(collection)) {
    const entry = collection[name]!;
    try {
      check(name, entry);
    } catch {
      return { [name]: entry };
    }
  }
  return {};
}

/** Throws what `Metadata.fromJSON(kind, json)` throws, if anything, in time linear in the document's size. */
export function checkWithModels(kind: MetadataKind, json: Record_): void {
  const signed = json.signed;
  let field: 'meta' | 'targets' | undefined;
  if (kind === MetadataKind.Snapshot) field = 'meta';
  else if (kind === MetadataKind.Targets) field = 'targets';
  if (field && isObject(signed) && signed._type === kind && isObjectRecord(signed[field])) {
    const collection = signed[field] as Record<string, Record_>;
    const replacement =
      field === 'meta'
        ? standIn(collection, (_name, entry) => {
            if (!passesMetaFile(entry)) MetaFile.fromJSON(entry as never);
          })
        : standIn(collection, (name, entry) => {
            if (!passesTargetFile(entry)) TargetFile.fromJSON(name, entry as never);
          });
    json = { ...json, signed: { ...signed, [field]: replacement } };
  }
  Metadata.fromJSON(kind as MetadataKind.Root, json as never);
}

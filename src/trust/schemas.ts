/**
 * JSON Schema validation of trust files (policies/schemas/*.schema.json,
 * draft 2020-12) with Ajv, turning Ajv's errors into problems that name the
 * field (`rules[2].pattern`), its line and what is wrong in plain words.
 *
 * Schemas are read from the package's policies/schemas directory, found
 * relative to this module so it works from src/trust (tsx) and dist/trust
 * (the build), and compiled once per process.
 */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { TrustProblem } from './problems.js';
import { formatFieldPath, type FieldPath, type SourceDocument } from './yaml-source.js';

/** Schema names: the file policies/schemas/<name>.schema.json. */
export type SchemaName = 'mapping' | 'attestations' | 'signer-keys' | 'revocations' | 'data' | (string & {});

const SCHEMA_ID_PREFIX = 'urn:tufctl:schema:';

/** Where a schema file is (works from src/trust and dist/trust alike). */
export function schemaUrl(name: SchemaName): URL {
  return new URL(`../../policies/schemas/${name}.schema.json`, import.meta.url);
}

let ajv: InstanceType<typeof Ajv2020.default> | undefined;
const compiled = new Map<string, ValidateFunction>();
const added = new Set<string>();

function instance(): InstanceType<typeof Ajv2020.default> {
  if (!ajv) {
    ajv = new Ajv2020.default({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats.default(ajv, ['date-time', 'uri']);
  }
  return ajv;
}

/** Adds a schema and, first, every schema it refers to by `urn:tufctl:schema:<name>:…`. */
function addSchemaFile(name: string): Record<string, unknown> {
  const schema = JSON.parse(readFileSync(schemaUrl(name), 'utf8')) as Record<string, unknown>;
  if (added.has(name)) return schema;
  added.add(name);
  const text = JSON.stringify(schema);
  for (const match of text.matchAll(/"\$ref":"urn:tufctl:schema:([a-z0-9-]+):/g)) {
    if (match[1] !== name && !added.has(match[1]!)) addSchemaFile(match[1]!);
  }
  instance().addSchema(schema);
  return schema;
}

function validator(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    const schema = addSchemaFile(name);
    const id = typeof schema.$id === 'string' ? schema.$id : `${SCHEMA_ID_PREFIX}${name}`;
    validate = instance().getSchema(id);
    if (!validate) throw new Error(`schema ${name} did not compile`);
    compiled.set(name, validate);
  }
  return validate;
}

/** Readable names for the patterns the schemas use. */
const PATTERN_NAMES: Record<string, string> = {
  '^[0-9a-f]{64}$': '64 lowercase hex digits',
  '^sha256:[0-9a-f]{64}$': 'a digest: "sha256:" and 64 lowercase hex digits',
  '^[A-Za-z0-9][A-Za-z0-9._-]*$': 'a name of letters, digits, ".", "_" and "-" (not starting with "." "_" or "-")',
  '^https://': 'an https:// URL',
};

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  boolean: 'true or false',
  null: 'null',
  number: 'a number',
  integer: 'an integer',
};

function typeName(type: unknown): string {
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(' or ');
}

/** Short values are echoed in messages; long ones (and anything that looks like key material) are not. */
function shown(value: unknown): string {
  if (typeof value !== 'string') return '';
  if (value.length > 80 || /PRIVATE|-----BEGIN|\n/.test(value)) return '';
  return ` (got "${value}")`;
}

function pathOf(instancePath: string): Array<string | number> {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(error: ErrorObject): { path: Array<string | number>; message: string } | undefined {
  const path = pathOf(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys(((error.parentSchema as Record<string, unknown> | undefined)?.properties as object | undefined) ?? {});
      const close = known.filter((k) => editDistance(k, name) <= 2);
      const hint = close.length > 0 ? ` (did you mean "${close[0]}"?)` : known.length > 0 ? ` (known fields: ${known.join(', ')})` : '';
      return { path: [...path, name], message: `unknown field "${name}"${hint}` };
    }
    case 'required':
      return { path, message: `missing required field "${String(params.missingProperty)}"` };
    case 'dependentRequired':
      return { path, message: `"${String(params.property)}" needs "${String(params.missingProperty)}" too` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}${shown(error.data)}` };
    case 'enum':
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}${shown(error.data)}` };
    case 'type':
      return { path, message: `must be ${typeName(params.type)}` };
    case 'pattern': {
      const pattern = String(params.pattern);
      return { path, message: `must be ${PATTERN_NAMES[pattern] ?? `a string matching ${pattern}`}${shown(error.data)}` };
    }
    case 'format': {
      const format = String(params.format);
      const name =
        format === 'date-time' ? 'an RFC 3339 date-time (e.g. 2025-01-31T00:00:00Z)' : format === 'uri' ? 'an absolute URI' : format;
      return { path, message: `must be ${name}${shown(error.data)}` };
    }
    case 'minItems':
      return { path, message: Number(params.limit) === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} entries` };
    case 'minLength':
      return { path, message: Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters` };
    case 'maxLength':
      return { path, message: `must be at most ${String(params.limit)} characters` };
    case 'uniqueItems':
      return { path, message: `has duplicate entries (${String(params.j)} and ${String(params.i)} are the same)` };
    case 'propertyNames':
      return undefined; // reported through the nested error on the name itself
    case 'oneOf': {
      const branches = (error.schema as Array<Record<string, unknown>>) ?? [];
      const names = branches.map((b) => (Array.isArray(b.required) && b.required.length === 1 ? String(b.required[0]) : undefined));
      if (names.every((n) => n !== undefined)) {
        const passing = params.passingSchemas;
        const both = Array.isArray(passing) && passing.length > 1;
        const list = names.map((n) => `"${n}"`).join(' or ');
        return { path, message: both ? `must have only one of ${list}, not both` : `must have one of ${list}` };
      }
      return { path, message: 'does not match any of the allowed forms' };
    }
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/**
 * Problems of `doc` against schema `name` (none when the document did not
 * parse: its syntax problems are reported already).
 */
export function schemaProblems(name: SchemaName, doc: SourceDocument): TrustProblem[] {
  if (doc.value === undefined) return [];
  const validate = validator(name);
  if (validate(doc.value)) return [];
  const errors = validate.errors ?? [];
  // Errors inside a oneOf's branches are summed up by the oneOf error itself.
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  const problems: TrustProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (oneOfPaths.some((p) => error.schemaPath.startsWith(p))) continue;
    const described = describe(error);
    if (!described) continue;
    const field = formatFieldPath(described.path);
    const key = `${field}\u0000${described.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const line = doc.lineOf(described.path as FieldPath);
    problems.push({
      severity: 'error',
      file: doc.file,
      ...(line !== undefined ? { line } : {}),
      ...(field ? { field } : {}),
      message: described.message,
    });
  }
  return problems;
}

/** True when `value` is valid against schema `name` (for callers that only need a yes/no). */
export function matchesSchema(name: SchemaName, value: unknown): boolean {
  return validator(name)(value) === true;
}

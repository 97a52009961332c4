/**
 * Reading trust files with their positions: YAML (and JSON, which is YAML)
 * parsed with the `yaml` package keeping a line counter, so every problem
 * found later can name the line of the field it is about.
 *
 * Trust files are read in a safe subset of YAML: one document, no duplicate
 * keys, no anchors or aliases, no explicit tags. The reference verification
 * client reads them with a different YAML library (Go's, YAML 1.1); keeping
 * to plain mappings, sequences and scalars keeps both readers in agreement.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, visit, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import { displayName, findDuplicateMember } from '../metadata/strict-json.js';
import type { TrustProblem } from './problems.js';

/** A path into a parsed document: map keys and sequence indices. */
export type FieldPath = ReadonlyArray<string | number>;

/** A field path as problems show it: `rules[2].pattern`, `policies.doi.attestations[0].signers[1].key-id`. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

export interface SourceDocument {
  /** Path of the file relative to the repository root (what problems name). */
  file: string;
  /** The parsed value; undefined when the file could not be parsed. */
  value: unknown;
  /** Syntax and safe-subset problems (errors). */
  problems: TrustProblem[];
  /** Line (1-based) of the node at `path`, or of its nearest ancestor present in the file. */
  lineOf(path: FieldPath): number | undefined;
}

function lineAt(counter: LineCounter, offset: number | undefined): number | undefined {
  if (offset === undefined) return undefined;
  return counter.linePos(offset).line;
}

/** Line of the node at `path` in `doc`: the key's line for map entries, the item's line for sequence items. */
function lineInDocument(doc: Document, counter: LineCounter, path: FieldPath): number | undefined {
  let node: unknown = doc.contents;
  let best = lineAt(counter, (node as Node | null)?.range?.[0]);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return best;
      const keyLine = lineAt(counter, (pair.key as Node).range?.[0]);
      best = keyLine ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) return best;
      best = lineAt(counter, item.range?.[0]) ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

export interface ParseOptions {
  /** Parse as JSON (syntax errors are reported as JSON errors; positions still come from the YAML reader). */
  json?: boolean;
}

function lineFromOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/**
 * The first JSON syntax error in `text` (offset and a message that does not
 * quote the text), or undefined when it is valid JSON.
 */
export function jsonSyntaxError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const describe = (): string => (i >= text.length ? 'end of file' : `"${text[i]}"`);
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe()}`);
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail('control character in a string (escape it)');
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape in a string');
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail(`unexpected ${describe()}`);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a "quoted" key, found ${describe()}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ":" after a key, found ${describe()}`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected "," or "}", found ${describe()}`);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected "," or "]", found ${describe()}`);
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the JSON value`);
    return undefined;
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'offset' in e) return e as { offset: number; message: string };
    throw e;
  }
}

/**
 * A parser message without the source text it may quote: nothing quoted at
 * all when the file holds key material, short quotes otherwise.
 */
function safeMessage(message: string, text: string): string {
  const secret = /PRIVATE KEY|-----BEGIN/.test(text);
  return message.replace(/"[^"]*"/g, (quoted) => (secret || quoted.length > 42 ? '"…"' : quoted));
}

/** Parses `text` (the contents of `file`); never throws. */
export function parseSource(text: string, file: string, options: ParseOptions = {}): SourceDocument {
  const problems: TrustProblem[] = [];
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2' });
  const error = (line: number | undefined, message: string, field?: string): void => {
    problems.push({ severity: 'error', file, ...(line !== undefined ? { line } : {}), ...(field ? { field } : {}), message });
  };

  if (options.json) {
    const syntax = jsonSyntaxError(text);
    if (syntax) {
      error(lineFromOffset(text, syntax.offset), `not valid JSON: ${syntax.message}`);
      return { file, value: undefined, problems, lineOf: () => undefined };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      error(undefined, `not valid JSON: ${(e as Error).name}`);
      return { file, value: undefined, problems, lineOf: () => undefined };
    }
    // JSON.parse keeps the last of duplicate keys silently: the scan names the first duplicate
    // (with its path), the YAML reader says on which line each one is.
    const clean = doc.errors.length === 0;
    const duplicate = findDuplicateMember(text);
    const lines = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY').map((e) => lineAt(counter, e.pos[0]));
    if (duplicate) {
      const { path, member } = duplicate;
      error(lines[0], `${path ? `${path}: ` : ''}member ${displayName(member)} appears twice (each key may appear once)`);
      for (const line of lines.slice(1)) error(line, 'duplicate key (each key may appear once)');
    }
    return { file, value, problems, lineOf: (path) => (clean ? lineInDocument(doc, counter, path) : undefined) };
  }

  for (const e of [...doc.errors, ...doc.warnings]) {
    const message = e.code === 'DUPLICATE_KEY' ? 'duplicate key (each key may appear once)' : safeMessage(e.message.split('\n')[0]!, text);
    error(lineAt(counter, e.pos[0]), `YAML: ${message}`);
  }
  if (problems.length > 0) return { file, value: undefined, problems, lineOf: () => undefined };

  visit(doc, {
    Alias(_key, node) {
      error(lineAt(counter, node.range?.[0]), `YAML aliases (*${node.source}) are not allowed in trust files; write the value out`);
    },
    Node(_key, node) {
      if (node.anchor) error(lineAt(counter, node.range?.[0]), `YAML anchors (&${node.anchor}) are not allowed in trust files`);
      if (node.tag) error(lineAt(counter, node.range?.[0]), `YAML tags (${node.tag}) are not allowed in trust files`);
    },
  });
  if (problems.length > 0) return { file, value: undefined, problems, lineOf: () => undefined };

  return { file, value: doc.toJS({ maxAliasCount: 0 }), problems, lineOf: (path) => lineInDocument(doc, counter, path) };
}

/** Reads and parses a file; a missing or unreadable file is a problem, not an exception. */
export function readSource(absolutePath: string, file: string, options: ParseOptions = {}): SourceDocument {
  let text: string;
  try {
    text = readFileSync(absolutePath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? (e as Error).message})`;
    return { file, value: undefined, problems: [{ severity: 'error', file, message }], lineOf: () => undefined };
  }
  return parseSource(text, file, options);
}

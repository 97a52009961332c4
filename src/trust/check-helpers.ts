/**
 * Small helpers the trust-file rule modules share: defensive access to
 * parsed values (rules run on files that may have failed their schema) and a
 * problem collector that looks up lines.
 */
import type { ProblemSeverity, TrustProblem } from './problems.js';
import { formatFieldPath, type FieldPath, type SourceDocument } from './yaml-source.js';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Milliseconds of an RFC 3339 date-time, or undefined when it is not one. */
export function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Collects problems for one file, finding each field's line. */
export class Reporter {
  readonly problems: TrustProblem[] = [];
  constructor(private readonly doc: SourceDocument) {}

  add(severity: ProblemSeverity, path: FieldPath, message: string): void {
    const line = this.doc.lineOf(path);
    const field = formatFieldPath(path);
    this.problems.push({ severity, file: this.doc.file, ...(line !== undefined ? { line } : {}), ...(field ? { field } : {}), message });
  }

  error(path: FieldPath, message: string): void {
    this.add('error', path, message);
  }

  warning(path: FieldPath, message: string): void {
    this.add('warning', path, message);
  }
}

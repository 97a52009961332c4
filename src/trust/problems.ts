/**
 * A problem found while validating trust data: where it is (file, line when
 * the source format gives one, field path) and what is wrong.
 */
export type ProblemSeverity = 'error' | 'warning';

export interface TrustProblem {
  severity: ProblemSeverity;
  /** Path relative to the repository root, e.g. `targets/mapping.yaml`. */
  file: string;
  /** 1-based line number, when known. */
  line?: number;
  /** Field path inside the file, e.g. `rules[2].pattern`. */
  field?: string;
  message: string;
}

/** `file:line: field: message` — the one-line form of a problem; whoever lists problems of both severities marks warnings. */
export function formatProblem(problem: TrustProblem): string {
  const where = problem.line !== undefined ? `${problem.file}:${problem.line}` : problem.file;
  const field = problem.field ? ` ${problem.field}:` : '';
  return `${where}:${field} ${problem.message}`;
}

/** A problem in a list of both severities: warnings carry one `warning:` prefix. */
export function formatProblemLine(problem: TrustProblem): string {
  return `${problem.severity === 'warning' ? 'warning: ' : ''}${formatProblem(problem)}`;
}

export function errorsOf(problems: TrustProblem[]): TrustProblem[] {
  return problems.filter((p) => p.severity === 'error');
}

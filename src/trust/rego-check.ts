/**
 * A lexical check of Rego policy modules. This is NOT a Rego compiler: no
 * OPA is available to tufctl, so it catches only what can be found by
 * reading tokens — the module declares `package attest` (the reference
 * client evaluates `data.attest.result`), strings, raw strings and comments
 * are terminated, brackets balance, and a rule named `result` is defined.
 * Type errors, unsafe variables, unknown functions and the like are found
 * only when OPA compiles the module (`opa check`), which should run in the
 * policy's own CI.
 */
import type { TrustProblem } from './problems.js';

interface Token {
  kind: 'ident' | 'string' | 'number' | 'op' | 'open' | 'close';
  text: string;
  line: number;
  /** True when the token is the first on its line. */
  lineStart: boolean;
  depth: number;
}

const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** Problems of a Rego module's text (`file` is what problems name). */
export function regoProblems(text: string, file: string): TrustProblem[] {
  const problems: TrustProblem[] = [];
  const error = (line: number, message: string): void => {
    problems.push({ severity: 'error', file, line, message });
  };
  const tokens: Token[] = [];
  const stack: Array<{ char: string; line: number }> = [];
  let line = 1;
  let lastTokenLine = 0;
  let i = 0;
  const push = (kind: Token['kind'], tokenText: string, tokenLine: number): void => {
    tokens.push({ kind, text: tokenText, line: tokenLine, lineStart: tokenLine !== lastTokenLine, depth: stack.length });
    lastTokenLine = tokenLine;
  };

  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || (c === '$' && text[i + 1] === '"')) {
      const start = line;
      i += c === '$' ? 2 : 1;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '\\') i += 2;
        else if (d === '"') {
          i++;
          closed = true;
          break;
        } else if (d === '\n') break;
        else i++;
      }
      if (!closed) error(start, 'unterminated string (a "…" string must end on the line it starts; use a `raw string` for several lines)');
      push('string', '"', start);
    } else if (c === '`') {
      const start = line;
      const end = text.indexOf('`', i + 1);
      if (end < 0) {
        error(start, 'unterminated raw string (no closing `)');
        i = text.length;
      } else {
        for (let k = i; k < end; k++) if (text[k] === '\n') line++;
        i = end + 1;
      }
      push('string', '`', start);
    } else if (c === '(' || c === '[' || c === '{') {
      push('open', c, line);
      stack.push({ char: c, line });
      i++;
    } else if (c === ')' || c === ']' || c === '}') {
      const top = stack[stack.length - 1];
      if (!top) error(line, `unbalanced "${c}": nothing to close`);
      else if (top.char !== CLOSERS[c]) {
        error(line, `"${c}" closes the "${top.char}" opened on line ${top.line}`);
        stack.pop();
      } else stack.pop();
      push('close', c, line);
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 256))!;
      push('ident', m[0], line);
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9][0-9.eE+-]*/.exec(text.slice(i, i + 64))!;
      push('number', m[0], line);
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      const op = [':=', '==', '!=', '<=', '>='].includes(two) ? two : c;
      push('op', op, line);
      i += op.length;
    }
  }
  for (const open of stack) error(open.line, `unbalanced "${open.char}": not closed`);
  // With unbalanced brackets the statement structure below cannot be trusted.
  const structureKnown = problems.length === 0;

  const first = tokens[0];
  if (!first || first.text !== 'package') {
    error(
      first?.line ?? 1,
      'no package declaration first: the reference client evaluates data.attest.result, so the module must start with `package attest`',
    );
  } else {
    const name: string[] = [];
    for (let k = 1; k < tokens.length && tokens[k]!.line === first.line; k++) name.push(tokens[k]!.text);
    if (name.join('') !== 'attest') {
      error(first.line, `package ${name.join('')}: the reference client evaluates data.attest.result, so the package must be \`attest\``);
    }
  }
  const packages = tokens.filter((t) => t.kind === 'ident' && t.text === 'package' && t.lineStart && t.depth === 0);
  for (const extra of packages.slice(1)) error(extra.line, 'a second package declaration (one module, one package)');

  const definesResult = tokens.some((t, k) => {
    if (t.kind !== 'ident' || t.text !== 'result' || t.depth !== 0) return false;
    const previous = tokens[k - 1];
    if (!t.lineStart && !(previous?.text === 'default' && previous.line === t.line)) return false;
    const next = tokens[k + 1];
    return next !== undefined && [':=', '=', 'if', '{', 'contains'].includes(next.text);
  });
  if (!definesResult && structureKnown) {
    error(tokens[tokens.length - 1]?.line ?? 1, 'no rule named `result`: the reference client evaluates data.attest.result');
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

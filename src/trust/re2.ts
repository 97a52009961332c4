/**
 * Go (RE2) regular expressions, as the reference verification client
 * compiles them with Go's `regexp` package: a parser for Go's syntax that
 * rejects what RE2 cannot compile (lookaround, backreferences, atomic groups,
 * possessive quantifiers, unknown escapes), and a translation to an
 * equivalent JavaScript RegExp (flag `u`) so tufctl can match image names and
 * expand rewrites exactly as the client would (`ReplaceAllString`, `$1`,
 * `${name}`), plus example strings a pattern matches, used to look for
 * rewrite loops.
 *
 * Go's semantics kept: `.` does not match `\n` unless `(?s)`; `^`/`$` match
 * only at the ends of the text unless `(?m)`; `\s` is `[\t\n\f\r ]`; `\d`,
 * `\w`, `\b` are ASCII; `(?i)` folds case; `(?U)` swaps greediness;
 * leftmost-first matching (which JavaScript shares).
 */

type Range = [number, number];

export type RegexNode =
  | { t: 'lit'; cp: number; fold: boolean }
  | { t: 'class'; ranges: Range[]; negated: boolean; unicode: string[] }
  | { t: 'any'; dotNL: boolean }
  | { t: 'bol'; multiline: boolean }
  | { t: 'eol'; multiline: boolean }
  | { t: 'bot' }
  | { t: 'eot' }
  | { t: 'wordBoundary'; negated: boolean }
  | { t: 'group'; capture?: number; child: RegexNode }
  | { t: 'concat'; items: RegexNode[] }
  | { t: 'alt'; items: RegexNode[] }
  | { t: 'repeat'; min: number; max: number; greedy: boolean; child: RegexNode }
  | { t: 'empty' };

export interface GoRegexp {
  pattern: string;
  ast: RegexNode;
  /** Number of capture groups (named ones included), as Go counts them. */
  groupCount: number;
  /** Name of each capture group by index (index 0 is the whole match, unnamed). */
  groupNames: string[];
  /** Equivalent JavaScript source, to compile with flag `u`. */
  jsSource: string;
  /** Compiled JavaScript equivalent (flags `u`). */
  regexp: RegExp;
}

export type GoRegexpResult = { ok: true; regexp: GoRegexp } | { ok: false; error: string };

class RegexSyntaxError extends Error {}

const MAX_CP = 0x10ffff;
const MAX_REPEAT = 1000;

const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: PERL_CLASSES.w!,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

function complement(ranges: Range[]): Range[] {
  const sorted = normalizeRanges(ranges);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

function normalizeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function caseVariants(cp: number): number[] {
  const s = String.fromCodePoint(cp);
  const set = new Set<number>([cp]);
  for (const v of [s.toLowerCase(), s.toUpperCase()]) {
    const c = v.codePointAt(0)!;
    if (String.fromCodePoint(c) === v) set.add(c);
  }
  return [...set];
}

/** Adds the other case of ASCII letters (and of single non-ASCII code points in small ranges). */
function foldRanges(ranges: Range[]): Range[] {
  const out: Range[] = [...ranges];
  for (const [lo, hi] of ranges) {
    const a = Math.max(lo, 0x41);
    const b = Math.min(hi, 0x5a);
    if (a <= b) out.push([a + 32, b + 32]);
    const c = Math.max(lo, 0x61);
    const d = Math.min(hi, 0x7a);
    if (c <= d) out.push([c - 32, d - 32]);
    if (hi > 0x7f && hi - lo < 256) {
      for (let cp = Math.max(lo, 0x80); cp <= hi; cp++) for (const v of caseVariants(cp)) out.push([v, v]);
    }
  }
  return normalizeRanges(out);
}

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function isWordChar(cp: number | undefined): boolean {
  return cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f);
}

function isAlnum(cp: number | undefined): boolean {
  return cp !== undefined && isWordChar(cp) && cp !== 0x5f;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

class Parser {
  private readonly cps: number[];
  private pos = 0;
  groupCount = 0;
  readonly groupNames: string[] = [''];

  constructor(readonly pattern: string) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.pos + offset];
  }

  private peekChar(offset = 0): string {
    const cp = this.peek(offset);
    return cp === undefined ? '' : String.fromCodePoint(cp);
  }

  private lookingAt(text: string): boolean {
    for (let k = 0; k < text.length; k++) if (this.peekChar(k) !== text[k]) return false;
    return true;
  }

  private fail(message: string): never {
    throw new RegexSyntaxError(message);
  }

  parse(): RegexNode {
    const flags: Flags = { i: false, m: false, s: false, U: false };
    const node = this.parseAlternation(flags);
    if (this.pos < this.cps.length) this.fail('unexpected ) (no group to close)');
    return node;
  }

  private parseAlternation(flags: Flags): RegexNode {
    const branches: RegexNode[] = [this.parseConcat(flags)];
    while (this.peekChar() === '|') {
      this.pos++;
      branches.push(this.parseConcat(flags));
    }
    return branches.length === 1 ? branches[0]! : { t: 'alt', items: branches };
  }

  private parseConcat(flags: Flags): RegexNode {
    const items: RegexNode[] = [];
    for (;;) {
      const c = this.peekChar();
      if (c === '' || c === '|' || c === ')') break;
      if (c === '*' || c === '+' || c === '?') this.fail(`missing argument to repetition operator ${c}`);
      if (c === '{' && this.repeatAt() !== undefined) this.fail('missing argument to repetition operator {');
      if (c === '(' && this.peekChar(1) === '?' && this.flagGroupOnly()) {
        // (?flags) changes the flags for the rest of the current group.
        this.parseFlags(flags, true);
        continue;
      }
      if (c === '\\' && this.peekChar(1) === 'Q') {
        this.pos += 2;
        while (this.pos < this.cps.length && !this.lookingAt('\\E')) {
          items.push({ t: 'lit', cp: this.cps[this.pos]!, fold: flags.i });
          this.pos++;
        }
        if (this.lookingAt('\\E')) this.pos += 2;
        continue;
      }
      let atom = this.parseAtom(flags);
      atom = this.parseRepeats(atom, flags);
      items.push(atom);
    }
    if (items.length === 0) return { t: 'empty' };
    return items.length === 1 ? items[0]! : { t: 'concat', items };
  }

  /** At `{`: the repeat bounds when the text is a valid `{n}`, `{n,}` or `{n,m}`, else undefined (a literal `{`). */
  private repeatAt(): { min: number; max: number; length: number } | undefined {
    const rest = this.cps
      .slice(this.pos, this.pos + 16)
      .map((c) => String.fromCodePoint(c))
      .join('');
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    return { min, max, length: m[0].length };
  }

  private parseRepeats(atom: RegexNode, flags: Flags): RegexNode {
    const c = this.peekChar();
    let min: number;
    let max: number;
    let length = 1;
    if (c === '*') [min, max] = [0, -1];
    else if (c === '+') [min, max] = [1, -1];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const r = this.repeatAt();
      if (!r) return atom;
      if (r.min > MAX_REPEAT || r.max > MAX_REPEAT || (r.max !== -1 && r.max < r.min)) {
        this.fail(`invalid repeat count (at most ${MAX_REPEAT}, and the maximum not below the minimum)`);
      }
      [min, max, length] = [r.min, r.max, r.length];
    } else return atom;
    const operator = this.cps
      .slice(this.pos, this.pos + length)
      .map((x) => String.fromCodePoint(x))
      .join('');
    this.pos += length;
    let greedy = true;
    if (this.peekChar() === '?') {
      greedy = false;
      this.pos++;
    } else if (this.peekChar() === '+') {
      this.fail(`possessive quantifiers (${operator}+) are not supported by RE2`);
    }
    if (flags.U) greedy = !greedy;
    const next = this.peekChar();
    if (next === '*' || next === '+' || next === '?' || (next === '{' && this.repeatAt() !== undefined)) {
      this.fail(`invalid nested repetition operator ${operator}${greedy === !flags.U ? '' : '?'}${next}`);
    }
    return { t: 'repeat', min, max, greedy, child: atom };
  }

  /** True when the `(?` here is a flag group without a body: `(?i)`, `(?-s)`, `(?im-sU)`. */
  private flagGroupOnly(): boolean {
    let k = 2;
    for (;;) {
      const c = this.peekChar(k);
      if (c === ')') return k > 2;
      if (!'imsU-'.includes(c) || c === '') return false;
      k++;
    }
  }

  /** Parses `(?flags)` or `(?flags:` (the latter when !standalone), updating `flags`. */
  private parseFlags(flags: Flags, standalone: boolean): void {
    this.pos += 2;
    let negate = false;
    let sawFlag = false;
    let sawNegatedFlag = false;
    for (;;) {
      const c = this.peekChar();
      if (c === '-') {
        if (negate) this.fail('invalid or unsupported Perl syntax: double "-" in flags');
        negate = true;
        this.pos++;
        continue;
      }
      if (c === ')' || c === ':') {
        const plainGroup = c === ':' && !negate && !sawFlag;
        if (!plainGroup && (!sawFlag || (negate && !sawNegatedFlag)))
          this.fail(`invalid or unsupported Perl syntax: (?${negate ? '-' : ''}${c}`);
        this.pos++;
        if ((c === ')') !== standalone) this.fail('invalid or unsupported Perl syntax');
        return;
      }
      if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
        flags[c] = !negate;
        sawFlag = true;
        if (negate) sawNegatedFlag = true;
        this.pos++;
        continue;
      }
      this.fail(`invalid or unsupported Perl syntax: (?${c}`);
    }
  }

  private parseGroup(flags: Flags): RegexNode {
    // At '('.
    if (this.peekChar(1) !== '?') {
      this.pos++;
      const index = ++this.groupCount;
      this.groupNames.push('');
      const child = this.parseAlternation({ ...flags });
      this.expectClose();
      return { t: 'group', capture: index, child };
    }
    const after = this.peekChar(2);
    const after2 = this.peekChar(3);
    if (after === '=' || after === '!') this.fail(`lookahead (?${after} is not supported by RE2`);
    if (after === '<' && (after2 === '=' || after2 === '!')) this.fail(`lookbehind (?<${after2} is not supported by RE2`);
    if (after === '>') this.fail('atomic groups (?> are not supported by RE2');
    if (after === '#') this.fail('comments (?# are not supported by RE2');
    if (after === 'P' && (after2 === '=' || after2 === '>'))
      this.fail(`backreferences and recursion (?P${after2} are not supported by RE2`);
    if (after === '<' || (after === 'P' && after2 === '<')) {
      this.pos += after === '<' ? 3 : 4;
      let name = '';
      while (this.peekChar() !== '>' && this.peekChar() !== '') {
        name += this.peekChar();
        this.pos++;
      }
      if (this.peekChar() !== '>') this.fail('invalid named capture: missing >');
      this.pos++;
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid named capture name "${name}"`);
      if (this.groupNames.includes(name)) this.fail(`duplicate capture group name "${name}"`);
      const index = ++this.groupCount;
      this.groupNames.push(name);
      const child = this.parseAlternation({ ...flags });
      this.expectClose();
      return { t: 'group', capture: index, child };
    }
    // (?flags:re)
    const inner = { ...flags };
    this.parseFlags(inner, false);
    const child = this.parseAlternation(inner);
    this.expectClose();
    return { t: 'group', child };
  }

  private expectClose(): void {
    if (this.peekChar() !== ')') this.fail('missing closing )');
    this.pos++;
  }

  private parseAtom(flags: Flags): RegexNode {
    const c = this.peekChar();
    switch (c) {
      case '(':
        return this.parseGroup(flags);
      case '[':
        return this.parseClass(flags);
      case '.':
        this.pos++;
        return { t: 'any', dotNL: flags.s };
      case '^':
        this.pos++;
        return { t: 'bol', multiline: flags.m };
      case '$':
        this.pos++;
        return { t: 'eol', multiline: flags.m };
      case '\\':
        return this.parseEscapeAtom(flags);
      default:
        this.pos++;
        return { t: 'lit', cp: this.cps[this.pos - 1]!, fold: flags.i };
    }
  }

  private parseEscapeAtom(flags: Flags): RegexNode {
    const c = this.peekChar(1);
    switch (c) {
      case 'A':
        this.pos += 2;
        return { t: 'bot' };
      case 'z':
        this.pos += 2;
        return { t: 'eot' };
      case 'b':
      case 'B':
        this.pos += 2;
        return { t: 'wordBoundary', negated: c === 'B' };
      case 'd':
      case 'D':
      case 's':
      case 'S':
      case 'w':
      case 'W': {
        this.pos += 2;
        const ranges = PERL_CLASSES[c.toLowerCase()]!;
        return { t: 'class', ranges: c === c.toUpperCase() ? complement(ranges) : ranges, negated: false, unicode: [] };
      }
      case 'p':
      case 'P': {
        const u = this.parseUnicodeClass();
        return { t: 'class', ranges: [], negated: false, unicode: [u] };
      }
      default: {
        const cp = this.parseCharEscape();
        return { t: 'lit', cp, fold: flags.i };
      }
    }
  }

  /** At `\p` or `\P`: returns the JavaScript class item (`\p{L}`, `\P{Script=Greek}`). */
  private parseUnicodeClass(): string {
    let negated = this.peekChar(1) === 'P';
    this.pos += 2;
    let name: string;
    if (this.peekChar() === '{') {
      const close = this.cps.indexOf(0x7d, this.pos);
      if (close < 0) this.fail('invalid character class range: missing } in \\p{');
      name = this.cps
        .slice(this.pos + 1, close)
        .map((x) => String.fromCodePoint(x))
        .join('');
      this.pos = close + 1;
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
    } else {
      name = this.peekChar();
      if (name === '') this.fail('invalid character class range: \\p at end of pattern');
      this.pos++;
    }
    let item: string;
    if (name === 'Any') item = negated ? '[]' : '[\\s\\S]';
    else {
      const property = /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
      item = `\\${negated ? 'P' : 'p'}{${property}}`;
      try {
        new RegExp(item, 'u');
      } catch {
        this.fail(`invalid character class range: unknown Unicode class \\p{${name}}`);
      }
    }
    return item;
  }

  /** Up to two more octal digits after the first (`first`). */
  private octal(first: number): number {
    let value = first;
    for (let k = 0; k < 2 && this.peekChar() >= '0' && this.peekChar() <= '7'; k++) {
      value = value * 8 + Number(this.peekChar());
      this.pos++;
    }
    return value;
  }

  /** Parses a single-character escape at `\`; returns the code point. */
  private parseCharEscape(): number {
    this.pos++; // the backslash
    const c = this.peek();
    const ch = this.peekChar();
    if (c === undefined) this.fail('trailing backslash at end of expression');
    this.pos++;
    if (ch >= '1' && ch <= '9') {
      const next = this.peekChar();
      if (ch <= '7' && next >= '0' && next <= '7') return this.octal(Number(ch));
      this.fail(`backreferences (\\${ch}) are not supported by RE2`);
    }
    if (ch === '0') return this.octal(0);
    if (ch === 'x') {
      if (this.peekChar() === '{') {
        const close = this.cps.indexOf(0x7d, this.pos);
        const digits = close < 0 ? '' : String.fromCodePoint(...this.cps.slice(this.pos + 1, close));
        if (close < 0 || !/^[0-9A-Fa-f]+$/.test(digits) || parseInt(digits, 16) > MAX_CP) this.fail('invalid escape sequence \\x{');
        this.pos = close + 1;
        return parseInt(digits, 16);
      }
      const digits = this.peekChar() + this.peekChar(1);
      if (!/^[0-9A-Fa-f]{2}$/.test(digits)) this.fail('invalid escape sequence \\x (write \\xHH or \\x{H…})');
      this.pos += 2;
      return parseInt(digits, 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (ch in simple) return simple[ch]!;
    if (ch === 'k') this.fail('backreferences (\\k) are not supported by RE2');
    if (c < 0x80 && !isAlnum(c)) return c; // escaped punctuation is itself
    return this.fail(`invalid escape sequence \\${ch}`);
  }

  private parseClass(flags: Flags): RegexNode {
    this.pos++; // [
    let negated = false;
    if (this.peekChar() === '^') {
      negated = true;
      this.pos++;
    }
    let ranges: Range[] = [];
    const unicode: string[] = [];
    let first = true;
    while (this.peekChar() !== ']' || first) {
      first = false;
      const c = this.peekChar();
      if (c === '') this.fail('missing closing ] in character class');
      if (c === '[' && this.peekChar(1) === ':') {
        const rest = this.cps
          .slice(this.pos, this.pos + 12)
          .map((x) => String.fromCodePoint(x))
          .join('');
        const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
        if (m) {
          const cls = POSIX_CLASSES[m[2]!];
          if (!cls) this.fail(`invalid character class range: unknown POSIX class [:${m[2]}:]`);
          ranges.push(...(m[1] ? complement(cls) : cls));
          this.pos += m[0].length;
          continue;
        }
      }
      if (c === '\\') {
        const e = this.peekChar(1);
        if ('dDsSwW'.includes(e) && e !== '') {
          const cls = PERL_CLASSES[e.toLowerCase()]!;
          ranges.push(...(e === e.toUpperCase() ? complement(cls) : cls));
          this.pos += 2;
          continue;
        }
        if (e === 'p' || e === 'P') {
          unicode.push(this.parseUnicodeClass());
          continue;
        }
      }
      const lo = this.classChar();
      if (this.peekChar() === '-' && this.peekChar(1) !== ']' && this.peekChar(1) !== '') {
        this.pos++;
        const hi = this.classChar();
        if (hi < lo) this.fail(`invalid character class range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`);
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    this.pos++; // ]
    if (flags.i) ranges = foldRanges(ranges);
    return { t: 'class', ranges: normalizeRanges(ranges), negated, unicode };
  }

  private classChar(): number {
    if (this.peekChar() === '\\') {
      const e = this.peekChar(1);
      if (e === 'b' || e === 'A' || e === 'z' || e === 'Q' || e === 'B') this.fail(`invalid escape sequence \\${e} in character class`);
      return this.parseCharEscape();
    }
    this.pos++;
    return this.cps[this.pos - 1]!;
  }
}

function emitClassBody(ranges: Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');
}

function emit(node: RegexNode): string {
  switch (node.t) {
    case 'lit': {
      if (!node.fold) return hex(node.cp);
      const variants = caseVariants(node.cp);
      return variants.length === 1 ? hex(node.cp) : `[${variants.map(hex).join('')}]`;
    }
    case 'class': {
      if (!node.negated && node.ranges.length === 0 && node.unicode.length === 1) {
        const u = node.unicode[0]!;
        return u.startsWith('[') ? u : `[${u}]`;
      }
      const unicode = node.unicode.map((u) => (u === '[\\s\\S]' ? '\\s\\S' : u === '[]' ? '' : u));
      return `[${node.negated ? '^' : ''}${emitClassBody(node.ranges)}${unicode.join('')}]`;
    }
    case 'any':
      return node.dotNL ? '[\\s\\S]' : '[^\\n]';
    case 'bol':
      return node.multiline ? '(?:(?<![\\s\\S])|(?<=\\n))' : '^';
    case 'eol':
      return node.multiline ? '(?:(?![\\s\\S])|(?=\\n))' : '$';
    case 'bot':
      return '^';
    case 'eot':
      return '$';
    case 'wordBoundary':
      return node.negated ? '\\B' : '\\b';
    case 'group':
      return node.capture !== undefined ? `(${emit(node.child)})` : `(?:${emit(node.child)})`;
    case 'concat':
      return node.items.map(emit).join('');
    case 'alt':
      return `(?:${node.items.map(emit).join('|')})`;
    case 'repeat': {
      const q =
        node.min === 0 && node.max === -1
          ? '*'
          : node.min === 1 && node.max === -1
            ? '+'
            : node.min === 0 && node.max === 1
              ? '?'
              : node.max === -1
                ? `{${node.min},}`
                : node.min === node.max
                  ? `{${node.min}}`
                  : `{${node.min},${node.max}}`;
      return `(?:${emit(node.child)})${q}${node.greedy ? '' : '?'}`;
    }
    case 'empty':
      return '(?:)';
  }
}

/** Parses a Go regular expression; an error says why RE2 (Go's regexp) would not compile it. */
export function parseGoRegexp(pattern: string): GoRegexpResult {
  const parser = new Parser(pattern);
  let ast: RegexNode;
  try {
    ast = parser.parse();
  } catch (e) {
    if (e instanceof RegexSyntaxError) return { ok: false, error: e.message };
    throw e;
  }
  const jsSource = emit(ast);
  let regexp: RegExp;
  try {
    regexp = new RegExp(jsSource, 'u');
  } catch (e) {
    return { ok: false, error: `cannot be compiled: ${(e as Error).message}` };
  }
  return { ok: true, regexp: { pattern, ast, groupCount: parser.groupCount, groupNames: parser.groupNames, jsSource, regexp } };
}

/** Why `pattern` is not a valid Go (RE2) regular expression, or undefined when it is. */
export function re2Problem(pattern: string): string | undefined {
  const result = parseGoRegexp(pattern);
  return result.ok ? undefined : result.error;
}

/** A `$` reference in a Go replacement template. */
export interface TemplateReference {
  /** The reference as written: `$1`, `${name}`. */
  text: string;
  /** Group number, or -1 for a name. */
  num: number;
  name: string;
}

/** Go's regexp `extract`: the name after a `$`. */
function extract(str: string): { name: string; num: number; rest: string } | undefined {
  if (str === '') return undefined;
  let brace = false;
  if (str[0] === '{') {
    brace = true;
    str = str.slice(1);
  }
  const m = /^[\p{L}\p{Nd}_]+/u.exec(str);
  if (!m) return undefined;
  const name = m[0];
  let i = name.length;
  if (brace) {
    if (str[i] !== '}') return undefined;
    i++;
  }
  let num = /^\d+$/.test(name) && name.length <= 8 ? Number(name) : -1;
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, rest: str.slice(i) };
}

/** The references of a Go replacement template, as Go's `Expand` reads them. */
export function templateReferences(template: string): TemplateReference[] {
  const refs: TemplateReference[] = [];
  let rest = template;
  for (;;) {
    const at = rest.indexOf('$');
    if (at < 0) break;
    rest = rest.slice(at + 1);
    if (rest.startsWith('$')) {
      rest = rest.slice(1);
      continue;
    }
    const e = extract(rest);
    if (!e) continue;
    refs.push({ text: `$${rest.slice(0, rest.length - e.rest.length)}`, num: e.num, name: e.name });
    rest = e.rest;
  }
  return refs;
}

/** Go's `Regexp.Expand` of `template` for one match. */
function expand(re: GoRegexp, template: string, match: RegExpExecArray): string {
  let out = '';
  let rest = template;
  for (;;) {
    const at = rest.indexOf('$');
    if (at < 0) break;
    out += rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const e = extract(rest);
    if (!e) {
      out += '$';
      continue;
    }
    rest = e.rest;
    if (e.num >= 0) out += match[e.num] ?? '';
    else {
      const index = re.groupNames.indexOf(e.name);
      if (index > 0) out += match[index] ?? '';
    }
  }
  return out + rest;
}

/** Go's `Regexp.ReplaceAllString(src, template)`. */
export function goReplaceAll(re: GoRegexp, src: string, template: string): string {
  const global = new RegExp(re.jsSource, 'gu');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    global.lastIndex = searchPos;
    const m = global.exec(src);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += src.slice(lastMatchEnd, start);
    // No replacement for an empty match right after another match.
    if (end > lastMatchEnd || start === 0) out += expand(re, template, m);
    lastMatchEnd = end;
    const width = searchPos < src.length ? String.fromCodePoint(src.codePointAt(searchPos)!).length : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + src.slice(lastMatchEnd);
}

/** Go's `MatchString`: the pattern matches somewhere in `s`. */
export function goMatch(re: GoRegexp, s: string): boolean {
  return re.regexp.test(s);
}

const CLASS_CANDIDATES = 'xabcdefghijklmnopqrstuvwyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-._/:@ ';

class Unhandled extends Error {}

function examplesOf(node: RegexNode, limit: number): string[] {
  switch (node.t) {
    case 'lit':
      return [String.fromCodePoint(node.cp)];
    case 'class': {
      const re = new RegExp(`^${emit(node)}$`, 'u');
      for (const c of CLASS_CANDIDATES) if (re.test(c)) return [c];
      throw new Unhandled();
    }
    case 'any':
      return ['x'];
    case 'bol':
    case 'eol':
    case 'bot':
    case 'eot':
    case 'wordBoundary':
    case 'empty':
      return [''];
    case 'group':
      return examplesOf(node.child, limit);
    case 'alt':
      return node.items.flatMap((item) => examplesOf(item, limit)).slice(0, limit);
    case 'concat': {
      let acc = [''];
      for (const item of node.items) {
        const next = examplesOf(item, limit);
        acc = acc.flatMap((a) => next.map((n) => a + n)).slice(0, limit);
      }
      return acc;
    }
    case 'repeat': {
      const child = examplesOf(node.child, limit);
      const counts = [Math.max(node.min, 1), node.min].filter((n, k, all) => (node.max === -1 || n <= node.max) && all.indexOf(n) === k);
      const out: string[] = [];
      for (const n of counts) {
        if (n === 1) out.push(...child);
        else out.push(child[0]!.repeat(n));
      }
      return out.slice(0, limit);
    }
  }
}

/**
 * Strings the pattern matches, built from its literals, classes, groups,
 * alternatives and repetitions (`.*` → "x"); undefined when the pattern has
 * constructs the generator cannot satisfy. Every string returned matches.
 */
export function exampleStrings(re: GoRegexp, limit = 8): string[] | undefined {
  let candidates: string[];
  try {
    candidates = examplesOf(re.ast, limit);
  } catch (e) {
    if (e instanceof Unhandled) return undefined;
    throw e;
  }
  const matching = [...new Set(candidates)].filter((s) => goMatch(re, s));
  return matching.length > 0 ? matching : undefined;
}

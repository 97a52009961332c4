/**
 * Go (RE2) regular expressions, as the reference verification client
 * compiles them with Go's `regexp` package.
 *
 * Matching and rewrite expansion run on re2js, a JavaScript port of RE2's
 * own linear-time algorithms (Go's `regexp` is the same design): no pattern,
 * however it nests its repetitions, can make a match take more than time
 * proportional to the text times the pattern. Nothing here uses JavaScript's
 * backtracking `RegExp` on a pattern from a mapping.
 *
 * tufctl keeps its own parser of Go's syntax for two jobs re2js does not do:
 * messages that say which construct RE2 lacks (lookaround, backreferences,
 * atomic groups, possessive quantifiers, unknown escapes), and the syntax
 * tree that example strings are built from to look for rewrite loops. A
 * pattern is valid only when both accept it, so any difference between the
 * two refuses a pattern rather than letting one through that the client
 * cannot compile.
 *
 * On top of re2js's matcher this module implements Go's `ReplaceAllString`
 * (which empty matches get a replacement) and `Expand` (`$1`, `${1}`,
 * `$name`, `${name}`, `$$`; `$1x` is the group named `1x`), whose rules
 * differ from both of re2js's replacement syntaxes (JavaScript's and Java's).
 *
 * Go's semantics, kept by re2js: `.` does not match `\n` unless `(?s)`;
 * `^`/`$` match only at the ends of the text unless `(?m)`; `\s` is
 * `[\t\n\f\r ]`; `\d`, `\w`, `\b` are ASCII; `(?i)` folds case by Unicode
 * simple folding; `(?U)` swaps greediness; leftmost-first matching.
 */
import { RE2JS } from 're2js';

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
  /** tufctl's syntax tree of the pattern (example strings are built from it). */
  ast: RegexNode;
  /** Number of capture groups (named ones included), as Go counts them. */
  groupCount: number;
  /** Name of each capture group by index (index 0 is the whole match, unnamed). */
  groupNames: string[];
  /** The pattern compiled by re2js: every match and replacement runs on it. */
  re2: RE2JS;
  /** Program size estimated by Go's rules (programSizeOf), in RE2 instructions. */
  size: number;
}

export type GoRegexpResult =
  | { ok: true; regexp: GoRegexp }
  | {
      ok: false;
      error: string;
      /** Set when the pattern is valid Go but over the size tufctl compiles (`size` estimated, in RE2 instructions). */
      tooLarge?: { size: number; limit: number };
    };

class RegexSyntaxError extends Error {}

const MAX_CP = 0x10ffff;
const MAX_REPEAT = 1000;
/** Go's limit on nesting (its parse tree height); deeper groups are refused before they exhaust the stack. */
const MAX_NESTING = 1000;

/**
 * Largest program tufctl compiles for one pattern, in RE2 instructions (as
 * estimated by Go's own size rules). Compiling costs re2js roughly 5–20 µs
 * an instruction, so this keeps any one pattern under about two seconds.
 * Go's own limit is far higher (about 3.3 million).
 */
export const MAX_PROGRAM_SIZE = 100_000;

/** Go's `repeatIsValid`: nested counted repetitions may multiply to at most `n`. */
function repeatIsValid(node: RegexNode, n: number): boolean {
  if (node.t === 'repeat') {
    let m = node.max;
    if (m === -1) m = node.min;
    if (m > n) return false;
    if (m > 0) n = Math.floor(n / m);
    return repeatIsValid(node.child, n);
  }
  if (node.t === 'group') return repeatIsValid(node.child, n);
  if (node.t === 'concat' || node.t === 'alt') return node.items.every((item) => repeatIsValid(item, n));
  return true;
}

/** Go's `calcSize`: the number of instructions the pattern compiles to, estimated from its syntax tree. */
export function programSizeOf(node: RegexNode): number {
  let size: number;
  switch (node.t) {
    case 'group':
      size = node.capture !== undefined ? 2 + programSizeOf(node.child) : programSizeOf(node.child);
      break;
    case 'concat':
      size = node.items.reduce((sum, item) => sum + programSizeOf(item), 0);
      break;
    case 'alt':
      size = node.items.reduce((sum, item) => sum + programSizeOf(item), 0) + node.items.length - 1;
      break;
    case 'repeat': {
      const sub = programSizeOf(node.child);
      if (node.max === -1) size = node.min === 0 ? 2 + sub : node.min === 1 ? 1 + sub : 1 + node.min * sub;
      else if (node.min === 0 && node.max === 1) size = 1 + sub;
      else size = node.max * sub + (node.max - node.min);
      break;
    }
    default:
      size = 1;
  }
  return Math.max(1, size);
}

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
  private depth = 0;
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
        const before = items.length;
        while (this.pos < this.cps.length && !this.lookingAt('\\E')) {
          items.push({ t: 'lit', cp: this.cps[this.pos]!, fold: flags.i });
          this.pos++;
        }
        if (this.lookingAt('\\E')) this.pos += 2;
        // A repetition after \Q…\E applies to its last character, as in Go.
        if (items.length > before) items.push(this.parseRepeats(items.pop()!, flags));
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
    // Go reads no leading zeros: `a{01}` is literal text.
    const m = /^\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}/.exec(rest);
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? -1 : Number(m[3]);
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
    const node: RegexNode = { t: 'repeat', min, max, greedy, child: atom };
    if (c === '{' && !repeatIsValid(node, MAX_REPEAT)) {
      this.fail(`invalid repeat count ${operator}: nested repetitions multiply to more than ${MAX_REPEAT}`);
    }
    const next = this.peekChar();
    if (next === '*' || next === '+' || next === '?' || (next === '{' && this.repeatAt() !== undefined)) {
      this.fail(`invalid nested repetition operator ${operator}${greedy === !flags.U ? '' : '?'}${next}`);
    }
    return node;
  }

  /** True when the `(?` here is a flag group without a body: `(?i)`, `(?-s)`, `(?im-sU)`, and Go's no-op `(?)`. */
  private flagGroupOnly(): boolean {
    let k = 2;
    for (;;) {
      const c = this.peekChar(k);
      if (c === ')') return true;
      if (!'imsU-'.includes(c) || c === '') return false;
      k++;
    }
  }

  /** Parses `(?flags)` or `(?flags:` (the latter when !standalone), updating `flags`. */
  private parseFlags(flags: Flags, standalone: boolean): void {
    this.pos += 2;
    let negate = false;
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
        // Go: a "-" must be followed by a flag; no flags at all is fine (`(?:`, `(?)`).
        if (negate && !sawNegatedFlag) this.fail(`invalid or unsupported Perl syntax: (?-${c}`);
        this.pos++;
        if ((c === ')') !== standalone) this.fail('invalid or unsupported Perl syntax');
        return;
      }
      if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
        flags[c] = !negate;
        if (negate) sawNegatedFlag = true;
        this.pos++;
        continue;
      }
      this.fail(`invalid or unsupported Perl syntax: (?${c}`);
    }
  }

  private parseGroup(flags: Flags): RegexNode {
    if (++this.depth > MAX_NESTING) this.fail(`expression nests too deeply (more than ${MAX_NESTING} levels of groups)`);
    const group = this.parseGroupBody(flags);
    this.depth--;
    return group;
  }

  private parseGroupBody(flags: Flags): RegexNode {
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

const unicodeItemCache = new Map<string, RegExp>();

/** Whether code point `cp` is in a class; unicode items are single-character tests (`\p{L}`), never a pattern from a mapping. */
function classHas(node: Extract<RegexNode, { t: 'class' }>, cp: number): boolean {
  let inside = node.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
  if (!inside) {
    const c = String.fromCodePoint(cp);
    inside = node.unicode.some((item) => {
      let re = unicodeItemCache.get(item);
      if (!re) {
        re = new RegExp(`^${item.startsWith('[') ? item : `[${item}]`}$`, 'u');
        unicodeItemCache.set(item, re);
      }
      return re.test(c);
    });
  }
  return inside !== node.negated;
}

/** Compiles `pattern` with re2js; the error is Go's message without its "error parsing regexp: " prefix. */
function compileRe2(pattern: string): { ok: true; re2: RE2JS } | { ok: false; error: string } {
  try {
    return { ok: true, re2: RE2JS.compile(pattern) };
  } catch (e) {
    return { ok: false, error: (e as Error).message.replace(/^error parsing regexp: /, '') };
  }
}

/**
 * Parses a Go regular expression; an error says why RE2 (Go's regexp) would
 * not compile it. Valid only when both tufctl's parser and re2js accept it.
 * A pattern whose program would be over `maxProgramSize` instructions is not
 * compiled (`tooLarge`).
 */
export function parseGoRegexp(pattern: string, maxProgramSize = MAX_PROGRAM_SIZE): GoRegexpResult {
  const parser = new Parser(pattern);
  let ast: RegexNode;
  try {
    ast = parser.parse();
  } catch (e) {
    if (e instanceof RegexSyntaxError) return { ok: false, error: e.message };
    throw e;
  }
  const size = programSizeOf(ast);
  if (size > maxProgramSize) {
    return {
      ok: false,
      error: `too large to check: it compiles to about ${size.toLocaleString('en-US')} RE2 instructions, over tufctl's limit of ${maxProgramSize.toLocaleString('en-US')}`,
      tooLarge: { size, limit: maxProgramSize },
    };
  }
  const compiled = compileRe2(pattern);
  if (!compiled.ok) return { ok: false, error: compiled.error };
  if (compiled.re2.groupCount() !== parser.groupCount) {
    // Cannot happen while both parsers read the same syntax; refuse rather than expand the wrong group.
    return { ok: false, error: `cannot be checked: tufctl counts ${parser.groupCount} capture groups, RE2 ${compiled.re2.groupCount()}` };
  }
  return { ok: true, regexp: { pattern, ast, groupCount: parser.groupCount, groupNames: parser.groupNames, re2: compiled.re2, size } };
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
  // Go reads a number digit by digit and gives up once it reaches 1e8 (so at most 9 digits).
  let num = /^[0-9]{1,9}$/.test(name) ? Number(name) : -1;
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, rest: str.slice(i) };
}

/** A template split as Go's `Expand` reads it: literal text, and references by group number or name. */
type TemplatePart = string | { num: number; name: string };

function templateParts(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let rest = template;
  for (;;) {
    const at = rest.indexOf('$');
    if (at < 0) break;
    literal += rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (rest.startsWith('$')) {
      literal += '$';
      rest = rest.slice(1);
      continue;
    }
    const e = extract(rest);
    if (!e) {
      literal += '$'; // malformed: the $ is text
      continue;
    }
    rest = e.rest;
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ num: e.num, name: e.name });
  }
  literal += rest;
  if (literal !== '') parts.push(literal);
  return parts;
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

/** The group index a template part refers to, or -1 (expands to nothing). */
function partGroup(re: GoRegexp, part: { num: number; name: string }): number {
  if (part.num >= 0) return part.num <= re.groupCount ? part.num : -1;
  const index = re.groupNames.indexOf(part.name);
  return index > 0 ? index : -1;
}

/**
 * Go's `Regexp.ReplaceAllString(src, template)`, or undefined as soon as the
 * result would be longer than `maxLength` characters.
 */
export function goReplaceAllWithin(re: GoRegexp, src: string, template: string, maxLength: number): string | undefined {
  const parts = templateParts(template).map((part) => (typeof part === 'string' ? part : partGroup(re, part)));
  const m = re.re2.matcher(src);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    if (!m.find(searchPos)) break;
    const start = m.start();
    const end = m.end();
    out += src.slice(lastMatchEnd, start);
    // Go: no replacement for an empty match right after another match.
    if (end > lastMatchEnd || start === 0) {
      for (const part of parts) {
        if (typeof part === 'string') out += part;
        else if (part >= 0) out += m.group(part) ?? '';
      }
    }
    if (out.length > maxLength) return undefined;
    lastMatchEnd = end;
    // Advance past this match, and always by at least one character (a whole code point).
    const width = searchPos < src.length ? String.fromCodePoint(src.codePointAt(searchPos)!).length : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  out += src.slice(lastMatchEnd);
  return out.length > maxLength ? undefined : out;
}

/** Go's `Regexp.ReplaceAllString(src, template)`. */
export function goReplaceAll(re: GoRegexp, src: string, template: string): string {
  return goReplaceAllWithin(re, src, template, Infinity)!;
}

/** Go's `MatchString`: the pattern matches somewhere in `s`. */
export function goMatch(re: GoRegexp, s: string): boolean {
  return re.re2.test(s);
}

const CLASS_CANDIDATES = 'xabcdefghijklmnopqrstuvwyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-._/:@ ';

/** Longest example string built; longer candidates are dropped while they are built. */
export const MAX_EXAMPLE_LENGTH = 1024;

class Unhandled extends Error {}

function short(strings: string[]): string[] {
  const kept = strings.filter((s) => s.length <= MAX_EXAMPLE_LENGTH);
  if (kept.length === 0) throw new Unhandled();
  return kept;
}

function examplesOf(node: RegexNode, limit: number): string[] {
  switch (node.t) {
    case 'lit':
      return [String.fromCodePoint(node.cp)];
    case 'class': {
      for (const c of CLASS_CANDIDATES) if (classHas(node, c.codePointAt(0)!)) return [c];
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
        acc = short(acc.flatMap((a) => next.map((n) => a + n)).slice(0, limit));
      }
      return acc;
    }
    case 'repeat': {
      const child = examplesOf(node.child, limit);
      const counts = [Math.max(node.min, 1), node.min].filter((n, k, all) => (node.max === -1 || n <= node.max) && all.indexOf(n) === k);
      const out: string[] = [];
      for (const n of counts) {
        if (n === 1) out.push(...child);
        else if (child[0]!.length * n <= MAX_EXAMPLE_LENGTH) out.push(child[0]!.repeat(n));
      }
      return short(out).slice(0, limit);
    }
  }
}

/**
 * Candidate strings for a pattern, built from its literals, classes, groups,
 * alternatives and repetitions (`.*` → "x"), none longer than
 * MAX_EXAMPLE_LENGTH, not yet checked against the pattern; undefined when
 * the pattern has constructs the generator cannot satisfy.
 */
export function exampleCandidates(re: GoRegexp, limit = 8): string[] | undefined {
  try {
    return [...new Set(examplesOf(re.ast, limit))];
  } catch (e) {
    if (e instanceof Unhandled) return undefined;
    throw e;
  }
}

/**
 * Strings the pattern matches (exampleCandidates that match); undefined when
 * there are none. Every string returned matches.
 */
export function exampleStrings(re: GoRegexp, limit = 8): string[] | undefined {
  const matching = (exampleCandidates(re, limit) ?? []).filter((s) => goMatch(re, s));
  return matching.length > 0 ? matching : undefined;
}

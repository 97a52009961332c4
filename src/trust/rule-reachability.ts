/**
 * Mapping rules that can never decide for an image because an earlier rule
 * takes every name they could match (shadowed rules), and policies no
 * usable rule leads to (unreachable policies).
 *
 * "Shadowed" is reported only when it is certain, from the patterns' syntax
 * trees (each case is sound for Go's partial-match semantics):
 * - the earlier rule's pattern is the same text;
 * - the earlier pattern matches every name (it can match the empty string
 *   at the start using no assertion other than `^`, e.g. `.*`, `^`, `x*`);
 * - the earlier pattern is a literal L followed by something that matches
 *   empty without assertions (`^docker[.]io/`, `^docker[.]io/.*`): it
 *   matches every name that starts with L (or, without `^`, contains L),
 *   and the later pattern's every match starts with `^` + a literal that
 *   starts with L (or, for an earlier pattern without `^`, whose leading
 *   literal contains L);
 * - the earlier pattern is `^` L `.*$` (or `(.*)$`) and the later one is
 *   anchored at both ends, starts with a literal that starts with L, and
 *   cannot match a newline: every name it matches is matched by the earlier.
 * In every case the earlier rule must apply on each platform the later one
 * applies on (no platforms = every platform). Rules whose example names
 * (built from the pattern, a sample and not a proof) are all taken by
 * earlier rules are reported as "probably shadowed".
 */
import type { CompiledRule } from './mapping-rules.js';
import type { CompiledMapping } from './policy-resolution.js';
import { exampleStrings, goMatch, type RegexNode } from './re2.js';

export interface ShadowedRule {
  rule: number;
  pattern: string;
  /** The earlier rule that takes its names. */
  by: number;
  byPattern: string;
  /** `certain`: shown from the two patterns' syntax; `probable`: from example names, not a proof. */
  certainty: 'certain' | 'probable';
  /** Why. */
  reason: string;
}

export interface UnreachablePolicy {
  policyId: string;
  certainty: 'certain' | 'probable';
  reason: string;
}

/** The nodes of a pattern read left to right through groups and concatenations. */
function flatten(node: RegexNode): RegexNode[] {
  if (node.t === 'group') return flatten(node.child);
  if (node.t === 'concat') return node.items.flatMap(flatten);
  return [node];
}

/** The one character a node matches, when it matches exactly one fixed character. */
function literalChar(node: RegexNode): string | undefined {
  if (node.t === 'lit' && !node.fold) return String.fromCodePoint(node.cp);
  if (node.t === 'class' && !node.negated && node.unicode.length === 0 && node.ranges.length === 1) {
    const [lo, hi] = node.ranges[0]!;
    if (lo === hi) return String.fromCodePoint(lo);
  }
  return undefined;
}

/** Whether a node can match the empty string using no assertion (it then matches empty at any position). */
function emptyWithoutAssertions(node: RegexNode): boolean {
  switch (node.t) {
    case 'empty':
      return true;
    case 'group':
      return emptyWithoutAssertions(node.child);
    case 'concat':
      return node.items.every(emptyWithoutAssertions);
    case 'alt':
      return node.items.some(emptyWithoutAssertions);
    case 'repeat':
      return node.min === 0 || emptyWithoutAssertions(node.child);
    default:
      return false;
  }
}

/** Whether a node can match the empty string at the start of any text (`^` and `\A` hold there). */
function emptyAtStart(node: RegexNode): boolean {
  switch (node.t) {
    case 'empty':
    case 'bol':
    case 'bot':
      return true;
    case 'group':
      return emptyAtStart(node.child);
    case 'concat':
      return node.items.every(emptyAtStart);
    case 'alt':
      return node.items.some(emptyAtStart);
    case 'repeat':
      return node.min === 0 || emptyAtStart(node.child);
    default:
      return false;
  }
}

/** Whether a node can match a newline character. */
function canMatchNewline(node: RegexNode): boolean {
  switch (node.t) {
    case 'lit':
      return node.cp === 10;
    case 'class':
      return node.unicode.length > 0 || node.ranges.some(([lo, hi]) => lo <= 10 && hi >= 10) !== node.negated;
    case 'any':
      return node.dotNL;
    case 'group':
      return canMatchNewline(node.child);
    case 'concat':
    case 'alt':
      return node.items.some(canMatchNewline);
    case 'repeat':
      return node.max !== 0 && canMatchNewline(node.child);
    default:
      return false;
  }
}

interface Shape {
  /** Starts with `^` (not multi-line) or `\A`. */
  anchoredStart: boolean;
  /** The literal text right after the start anchor (or at the start). */
  prefix: string;
  /** The nodes after the prefix. */
  rest: RegexNode[];
}

function shapeOf(ast: RegexNode): Shape {
  const nodes = flatten(ast);
  let k = 0;
  let anchoredStart = false;
  while (k < nodes.length && ((nodes[k]!.t === 'bol' && !(nodes[k] as { multiline: boolean }).multiline) || nodes[k]!.t === 'bot')) {
    anchoredStart = true;
    k++;
  }
  let prefix = '';
  for (; k < nodes.length; k++) {
    const c = literalChar(nodes[k]!);
    if (c === undefined) break;
    prefix += c;
  }
  return { anchoredStart, prefix, rest: nodes.slice(k) };
}

function isEnd(node: RegexNode): boolean {
  return node.t === 'eot' || (node.t === 'eol' && !node.multiline);
}

/** `.*` then the end of the text, the rest of an earlier pattern that takes every remainder without a newline. */
function anyLineToEnd(rest: RegexNode[]): boolean {
  if (rest.length !== 2 || !isEnd(rest[1]!)) return false;
  const star = rest[0]!;
  return star.t === 'repeat' && star.min === 0 && star.max === -1 && star.child.t === 'any';
}

/** Whether the later pattern is anchored at both ends with nothing that matches a newline. */
function wholeNameWithoutNewline(ast: RegexNode, shape: Shape): boolean {
  const nodes = flatten(ast);
  return shape.anchoredStart && nodes.length > 0 && isEnd(nodes[nodes.length - 1]!) && !canMatchNewline(ast);
}

/** Why `earlier` certainly matches every name `later` matches, or undefined. */
function coverReason(earlier: CompiledRule, later: CompiledRule): string | undefined {
  if (earlier.re.pattern === later.re.pattern) return 'it has the same pattern';
  if (emptyAtStart(earlier.re.ast)) return 'its pattern matches every name';
  const e = shapeOf(earlier.re.ast);
  const l = shapeOf(later.re.ast);
  if (e.prefix === '') return undefined;
  const quoted = JSON.stringify(e.prefix);
  if (e.rest.every(emptyWithoutAssertions)) {
    if (e.anchoredStart && l.anchoredStart && l.prefix.startsWith(e.prefix)) {
      return `it matches every name that starts with ${quoted}, and every name the later pattern matches starts with ${JSON.stringify(l.prefix)}`;
    }
    if (!e.anchoredStart && l.prefix.includes(e.prefix)) {
      return `it matches every name that contains ${quoted}, and every name the later pattern matches contains ${JSON.stringify(l.prefix)}`;
    }
    return undefined;
  }
  if (e.anchoredStart && anyLineToEnd(e.rest) && l.prefix.startsWith(e.prefix) && wholeNameWithoutNewline(later.re.ast, l)) {
    return `it matches every name without a newline that starts with ${quoted}, and the later pattern matches only whole names without a newline that start with ${JSON.stringify(l.prefix)}`;
  }
  return undefined;
}

/** Whether `earlier` applies on every platform `later` applies on. */
function platformsCover(earlier: CompiledRule, later: CompiledRule): boolean {
  if (earlier.platforms.length === 0) return true;
  return later.platforms.length > 0 && later.platforms.every((p) => earlier.platforms.includes(p));
}

function platformNote(earlier: CompiledRule, later: CompiledRule): string {
  if (earlier.platforms.length === 0) return '';
  return ` on ${later.platforms.length === 1 ? 'its platform' : 'each of its platforms'} (${later.platforms.join(', ')})`;
}

/** A platform no rule names: where only rules without platforms apply. */
function otherPlatform(rules: CompiledRule[]): string {
  const named = new Set(rules.flatMap((r) => r.platforms));
  return ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'windows/amd64'].find(
    (p) => !named.has(p),
  )!;
}

/** The earlier rule that takes every example name of `later`, on every platform it applies on; undefined if one escapes. */
function probableCover(rules: CompiledRule[], later: CompiledRule): CompiledRule | undefined {
  const examples = exampleStrings(later.re) ?? [];
  if (examples.length === 0) return undefined;
  const platforms =
    later.platforms.length > 0 ? later.platforms : [...new Set([otherPlatform(rules), ...rules.flatMap((r) => r.platforms)])];
  let first: CompiledRule | undefined;
  for (const name of examples) {
    for (const platform of platforms) {
      const taker = rules.find(
        (r) => r.index < later.index && (r.platforms.length === 0 || r.platforms.includes(platform)) && goMatch(r.re, name),
      );
      if (!taker) return undefined;
      first ??= taker;
    }
  }
  return first;
}

/** Every rule an earlier rule shadows: certain ones, then probable ones. */
export function shadowedRules(mapping: CompiledMapping): ShadowedRule[] {
  const found: ShadowedRule[] = [];
  for (const later of mapping.rules) {
    let certain: ShadowedRule | undefined;
    for (const earlier of mapping.rules) {
      if (earlier.index >= later.index) break;
      if (!platformsCover(earlier, later)) continue;
      const reason = coverReason(earlier, later);
      if (reason === undefined) continue;
      certain = {
        rule: later.index,
        pattern: later.re.pattern,
        by: earlier.index,
        byPattern: earlier.re.pattern,
        certainty: 'certain',
        reason: `${reason}${platformNote(earlier, later)}`,
      };
      break;
    }
    if (certain) {
      found.push(certain);
      continue;
    }
    const taker = probableCover(mapping.rules, later);
    if (taker) {
      found.push({
        rule: later.index,
        pattern: later.re.pattern,
        by: taker.index,
        byPattern: taker.re.pattern,
        certainty: 'probable',
        reason: 'earlier rules match every example name built from its pattern, on every platform it applies on',
      });
    }
  }
  return found;
}

/** Policies no rule that can still decide leads to. */
export function unreachablePolicies(mapping: CompiledMapping, policies: string[], shadowed: ShadowedRule[]): UnreachablePolicy[] {
  const out: UnreachablePolicy[] = [];
  const certain = new Set(shadowed.filter((s) => s.certainty === 'certain').map((s) => s.rule));
  const probable = new Set(shadowed.filter((s) => s.certainty === 'probable').map((s) => s.rule));
  for (const id of new Set(policies)) {
    const naming = mapping.rules.filter((r) => r.policyId === id);
    const list = (rules: CompiledRule[]): string => rules.map((r) => `rules[${r.index}]`).join(', ');
    if (naming.length === 0) {
      out.push({ policyId: id, certainty: 'certain', reason: 'no rule names it' });
    } else if (naming.every((r) => certain.has(r.index))) {
      out.push({ policyId: id, certainty: 'certain', reason: `every rule that names it is shadowed (${list(naming)})` });
    } else if (naming.every((r) => certain.has(r.index) || probable.has(r.index))) {
      out.push({ policyId: id, certainty: 'probable', reason: `every rule that names it is probably shadowed (${list(naming)})` });
    }
  }
  return out;
}

/**
 * Which policy the reference verification client picks for an image: its
 * mapping lookup, step for step, on tufctl's Go-compatible RE2 matching.
 *
 * Docker's attest library, mapping/match.go (`findPolicyMatchImpl`):
 * - rules are tried in file order; a rule with platforms applies only when
 *   one of them equals the image's platform exactly (OS, architecture and
 *   variant compared as strings, go-containerregistry `Platform.Equals`);
 * - a pattern matches when it matches anywhere in the name (Go's
 *   `MatchString`: partial, unless the pattern anchors itself);
 * - the first applicable rule that matches decides: a `policy-id` rule ends
 *   the lookup (a policy id the mapping does not define means no policy);
 *   a `rewrite` rule replaces every match (`ReplaceAllString`) and the
 *   lookup starts again from the first rule with the new name;
 * - a rewrite rule that matches a second time in one lookup is an error
 *   ("rewrite loop detected"): the image fails verification;
 * - no matching rule: no policy (the verifier's outcome is `no_policy`).
 * The mapping itself is compiled as mapping/mapping.go `expandMappingFile`
 * does: one pattern Go cannot compile makes the whole mapping unusable.
 */
import type { CompiledRule } from './mapping-rules.js';
import type { PolicyMappingFile } from './model.js';
import { goMatch, goReplaceAllWithin, MAX_PROGRAM_SIZE, parseGoRegexp } from './re2.js';

/** A mapping ready for lookups. */
export interface CompiledMapping {
  rules: CompiledRule[];
  /** Policy ids the mapping defines (the verifier keeps the last of duplicates; only ids matter here). */
  policyIds: Set<string>;
}

export type CompileResult = { ok: true; mapping: CompiledMapping } | { ok: false; error: string };

/** Compiles every rule of a (schema-valid) mapping; the first pattern that does not compile is the error. */
export function compileMapping(mapping: PolicyMappingFile): CompileResult {
  const rules: CompiledRule[] = [];
  let budget = MAX_PROGRAM_SIZE;
  for (const [index, rule] of mapping.rules.entries()) {
    const parsed = parseGoRegexp(rule.pattern, budget);
    if (!parsed.ok) return { ok: false, error: `rules[${index}].pattern: ${parsed.error}` };
    budget -= parsed.regexp.size;
    const compiled: CompiledRule = { index, re: parsed.regexp, platforms: rule.platforms ?? [] };
    if (rule['policy-id'] !== undefined) compiled.policyId = rule['policy-id'];
    if (rule.rewrite !== undefined) compiled.rewrite = rule.rewrite;
    rules.push(compiled);
  }
  return { ok: true, mapping: { rules, policyIds: new Set(mapping.policies.map((p) => p.id)) } };
}

export type Resolution =
  /** A rule names a policy the mapping defines. */
  | { outcome: 'policy'; policyId: string; rule: number; rewrites: number[]; matchedName: string }
  /** A rule names a policy id the mapping does not define: no policy. */
  | { outcome: 'unknown-policy'; policyId: string; rule: number; rewrites: number[]; matchedName: string }
  /** No rule matches: no policy. */
  | { outcome: 'no-match'; rewrites: number[]; matchedName: string }
  /** A rewrite rule matched twice: the verifier fails with "rewrite loop detected". */
  | { outcome: 'loop'; rewrites: number[]; rule: number }
  /** tufctl stopped following (a name over the length limit, or the work budget spent). */
  | { outcome: 'not-followed'; rewrites: number[]; reason: string };

/** Work allowed for lookups, in RE2 steps: (characters + 1) × program size per match or rewrite. */
export class LookupBudget {
  spent = 0;
  constructor(readonly limit: number) {}

  pay(rule: CompiledRule, name: string): boolean {
    this.spent += (name.length + 1) * rule.re.re2.programSize();
    return this.spent <= this.limit;
  }
}

/** Longest name a rewrite may produce before tufctl stops following it. */
export const MAX_REWRITTEN_NAME = 4096;
/** Default work for one evaluation (all images, both mappings): about a few seconds at worst. */
export const LOOKUP_BUDGET = 200_000_000;

function appliesOn(rule: CompiledRule, platform: string): boolean {
  return rule.platforms.length === 0 || rule.platforms.includes(platform);
}

/** The verifier's lookup of `name` (already normalised) on `platform` (os/arch[/variant]). */
export function resolvePolicy(
  mapping: CompiledMapping,
  name: string,
  platform: string,
  budget = new LookupBudget(LOOKUP_BUDGET),
): Resolution {
  const rewrites: number[] = [];
  let current = name;
  for (;;) {
    let decided: CompiledRule | undefined;
    for (const rule of mapping.rules) {
      if (!appliesOn(rule, platform)) continue;
      if (!budget.pay(rule, current)) return { outcome: 'not-followed', rewrites, reason: 'the evaluation used its whole work budget' };
      if (goMatch(rule.re, current)) {
        decided = rule;
        break;
      }
    }
    if (!decided) return { outcome: 'no-match', rewrites, matchedName: current };
    if (decided.policyId !== undefined) {
      const found = mapping.policyIds.has(decided.policyId);
      return {
        outcome: found ? 'policy' : 'unknown-policy',
        policyId: decided.policyId,
        rule: decided.index,
        rewrites,
        matchedName: current,
      };
    }
    if (rewrites.includes(decided.index)) return { outcome: 'loop', rewrites, rule: decided.index };
    rewrites.push(decided.index);
    if (!budget.pay(decided, current)) return { outcome: 'not-followed', rewrites, reason: 'the evaluation used its whole work budget' };
    const next = goReplaceAllWithin(decided.re, current, decided.rewrite ?? '', MAX_REWRITTEN_NAME);
    if (next === undefined) {
      return {
        outcome: 'not-followed',
        rewrites,
        reason: `rules[${decided.index}] makes the name longer than ${MAX_REWRITTEN_NAME} characters`,
      };
    }
    current = next;
  }
}

/** The rules a lookup used: its rewrites, then the rule that decided. */
export function rulesUsed(resolution: Resolution): number[] {
  return 'rule' in resolution ? [...resolution.rewrites, resolution.rule] : resolution.rewrites;
}

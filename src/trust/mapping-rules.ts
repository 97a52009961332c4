/**
 * Rules for mapping.yaml beyond its JSON Schema: what the reference
 * verification client (Docker's attest library) would fail on at
 * verification time, found before the file is signed.
 *
 * - every pattern compiles as a Go (RE2) regular expression;
 * - policy ids are unique, rules name existing policies, unused policies are
 *   reported (warning);
 * - every policy file is a valid target path that exists in the channel, and
 *   a policy has exactly one .rego file and at most one .yaml data file (the
 *   client loads each .yaml file at the ROOT of OPA's data document, so a
 *   second one replaces the first), and nothing else (the client loads any
 *   other file as a Rego module);
 * - platforms are os/arch[/variant] of known values;
 * - rewrites refer to capture groups that exist and cannot loop (the client's
 *   matching is simulated over example names built from every pattern, on
 *   RE2's linear-time matching, within a step budget: what the budget does
 *   not cover is a warning naming the rules);
 * - the patterns together compile to at most MAX_PROGRAM_SIZE instructions,
 *   so compiling them stays bounded too.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { targetPathProblem } from '../targets/target-paths.js';
import type { Channel } from './model.js';
import type { TrustProblem } from './problems.js';
import { asArray, isObject, Reporter, str } from './check-helpers.js';
import {
  exampleCandidates,
  goMatch,
  goReplaceAllWithin,
  MAX_PROGRAM_SIZE,
  parseGoRegexp,
  templateReferences,
  type GoRegexp,
} from './re2.js';
import type { FieldPath, SourceDocument } from './yaml-source.js';

/** Operating systems (GOOS) a platform may name. */
export const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'illumos',
  'ios',
  'js',
  'linux',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
]);

/** Architectures (GOARCH) a platform may name. */
export const KNOWN_ARCHITECTURES = new Set([
  '386',
  'amd64',
  'arm',
  'arm64',
  'loong64',
  'mips',
  'mips64',
  'mips64le',
  'mipsle',
  'ppc64',
  'ppc64le',
  'riscv64',
  's390x',
  'wasm',
]);

/** Variants by architecture (OCI image index platform variants; amd64 microarchitecture levels). */
export const KNOWN_VARIANTS: Record<string, string[]> = {
  arm: ['v5', 'v6', 'v7', 'v8'],
  arm64: ['v8'],
  amd64: ['v1', 'v2', 'v3', 'v4'],
};

/** Why `platform` is not a valid `os/arch[/variant]`, or undefined. */
export function platformProblem(platform: string): string | undefined {
  const parts = platform.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    return `"${platform}" is not a platform; write os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)`;
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  if (!KNOWN_OS.has(os)) return `unknown operating system "${os}" in "${platform}" (known: ${[...KNOWN_OS].join(', ')})`;
  if (!KNOWN_ARCHITECTURES.has(arch)) {
    return `unknown architecture "${arch}" in "${platform}" (known: ${[...KNOWN_ARCHITECTURES].join(', ')})`;
  }
  if (variant !== undefined) {
    const variants = KNOWN_VARIANTS[arch];
    if (!variants) return `architecture "${arch}" has no variants ("${platform}")`;
    if (!variants.includes(variant)) return `unknown variant "${variant}" for ${arch} in "${platform}" (known: ${variants.join(', ')})`;
  }
  return undefined;
}

/** A policy of the mapping with its files sorted by kind. */
export interface MappedPolicyFiles {
  id: string;
  index: number;
  rego: string[];
  yaml: string[];
}

/** The files of each policy by kind (only well-formed entries). */
export function policyFiles(mapping: unknown): MappedPolicyFiles[] {
  if (!isObject(mapping)) return [];
  return asArray(mapping.policies).flatMap((policy, index) => {
    if (!isObject(policy) || str(policy.id) === undefined) return [];
    const paths = asArray(policy.files).flatMap((f) => (isObject(f) && str(f.path) !== undefined ? [f.path as string] : []));
    return [
      { id: policy.id as string, index, rego: paths.filter((p) => p.endsWith('.rego')), yaml: paths.filter((p) => p.endsWith('.yaml')) },
    ];
  });
}

/** What a message calls the channel directory: `targets/` or `targets/testing/`. */
export function channelLabel(channel: Channel): string {
  return channel === '' ? 'targets/' : `targets/${channel}/`;
}

function checkPolicies(mapping: Record<string, unknown>, report: Reporter, channelDir: string, channel: Channel): Set<string> {
  const ids = new Map<string, number>();
  asArray(mapping.policies).forEach((policy, i) => {
    if (!isObject(policy)) return;
    const id = str(policy.id);
    if (id !== undefined) {
      const first = ids.get(id);
      if (first !== undefined) report.error(['policies', i, 'id'], `duplicate policy id "${id}" (also policies[${first}])`);
      else ids.set(id, i);
    }
    const name = id !== undefined ? `policy "${id}"` : `policies[${i}]`;
    const files = asArray(policy.files);
    const rego: number[] = [];
    const yaml: number[] = [];
    const seen = new Map<string, number>();
    files.forEach((file, k) => {
      const path = isObject(file) ? str(file.path) : undefined;
      if (path === undefined || path === '') return;
      const at: FieldPath = ['policies', i, 'files', k, 'path'];
      const previous = seen.get(path);
      if (previous !== undefined) {
        report.error(at, `"${path}" is listed twice (also files[${previous}])`);
        return;
      }
      seen.set(path, k);
      const pathProblem = targetPathProblem(path) ?? (channel === '' ? undefined : targetPathProblem(`${channel}/${path}`));
      if (pathProblem) {
        report.error(at, `"${path}" is not a valid target path: it ${pathProblem}`);
        return;
      }
      if (path.endsWith('.rego')) rego.push(k);
      else if (path === 'keys.yaml' || path.endsWith('/keys.yaml')) {
        report.error(
          at,
          `"${path}" is the policy's signer keys list, not policy data: list the generated data file (data.yaml) instead, which carries the keys`,
        );
      } else if (path.endsWith('.yaml')) yaml.push(k);
      else if (path.endsWith('.yml')) {
        report.error(
          at,
          `"${path}": name data files .yaml; the reference client reads only .yaml files as data and would load this one as a Rego module`,
        );
      } else {
        report.error(
          at,
          `"${path}": a policy lists only .rego modules and a .yaml data file; the reference client would load this file as a Rego module`,
        );
      }
      const absolute = join(channelDir, path);
      if (!existsSync(absolute)) report.error(at, `file "${path}" not found in ${channelLabel(channel)}`);
      else if (!statSync(absolute).isFile()) report.error(at, `"${path}" in ${channelLabel(channel)} is not a file`);
    });
    if (files.length > 0 && rego.length === 0 && files.every((f) => isObject(f) && typeof f.path === 'string')) {
      report.error(['policies', i, 'files'], `${name} has no .rego file; it needs exactly one (the module that defines package attest)`);
    }
    if (rego.length > 1) {
      const list = rego.map((k) => (files[k] as { path: string }).path).join(', ');
      report.error(
        ['policies', i, 'files', rego[1]!, 'path'],
        `${name} lists ${rego.length} .rego files (${list}); keep the policy in exactly one .rego file`,
      );
    }
    if (yaml.length > 1) {
      const list = yaml.map((k) => (files[k] as { path: string }).path).join(', ');
      report.error(
        ['policies', i, 'files', yaml[1]!, 'path'],
        `${name} lists ${yaml.length} .yaml files (${list}); the reference client loads each .yaml file at the root of OPA's data document, ` +
          'so each one replaces the one before: keep all policy data in one .yaml file',
      );
    }
  });
  return new Set(ids.keys());
}

/** A rule whose pattern compiled, as the matching simulation uses it. */
export interface CompiledRule {
  index: number;
  re: GoRegexp;
  platforms: string[];
  policyId?: string;
  rewrite?: string;
}

function checkRewriteTemplate(rule: CompiledRule, report: Reporter): void {
  if (rule.rewrite === undefined) return;
  for (const ref of templateReferences(rule.rewrite)) {
    const at: FieldPath = ['rules', rule.index, 'rewrite'];
    if (ref.num >= 0) {
      if (ref.num > rule.re.groupCount) {
        const groups = rule.re.groupCount === 1 ? '1 capture group' : `${rule.re.groupCount} capture groups`;
        report.error(at, `"${ref.text}" refers to capture group ${ref.num}, but the pattern has ${groups}`);
      }
    } else if (!rule.re.groupNames.includes(ref.name)) {
      const digits = /^(\d+)(.+)$/.exec(ref.name);
      const hint = digits ? `; Go reads "${ref.text}" as a group named "${ref.name}" — write "\${${digits[1]}}${digits[2]}"` : '';
      report.error(at, `"${ref.text}" refers to no capture group named "${ref.name}"${hint}`);
    }
  }
}

const NO_PLATFORM = '\u0000none';

function platformMatches(rule: CompiledRule, platform: string): boolean {
  return rule.platforms.length === 0 || rule.platforms.includes(platform);
}

/**
 * Bounds of the rewrite-loop search, in units that do not depend on the
 * machine: whatever the mapping, the search ends, and what it could not
 * cover is reported.
 */
export interface LoopSearchLimits {
  /**
   * Work allowed for one mapping. A match or a rewrite costs (characters of
   * the name + 1) × the pattern's RE2 program size, an upper bound of the
   * automaton steps a linear-time match takes; a result already known
   * (the same name against the same rule) costs nothing.
   */
  budget: number;
  /** Longest name followed: a rewrite that makes a longer one ends that chain unchecked. */
  maxNameLength: number;
}

export const LOOP_SEARCH_LIMITS: LoopSearchLimits = { budget: 50_000_000, maxNameLength: 4096 };

type Outcome = { loop: number[] } | { end: true } | { stop: 'budget' } | { stop: 'long'; rule: number };

/** Matches and rewrites for the loop search: each result computed once, each computation paid for. */
class LoopSearch {
  spent = 0;
  private readonly results = new Map<CompiledRule, Map<string, boolean>>();

  constructor(readonly limits: LoopSearchLimits) {}

  private pay(rule: CompiledRule, name: string): boolean {
    this.spent += (name.length + 1) * rule.re.re2.programSize();
    return this.spent <= this.limits.budget;
  }

  /** Whether `rule` matches `name`; undefined when the budget is spent. */
  matches(rule: CompiledRule, name: string): boolean | undefined {
    let known = this.results.get(rule);
    if (!known) this.results.set(rule, (known = new Map()));
    const cached = known.get(name);
    if (cached !== undefined) return cached;
    if (!this.pay(rule, name)) return undefined;
    const result = goMatch(rule.re, name);
    known.set(name, result);
    return result;
  }

  /** The rewritten name; 'budget' when the budget is spent, 'long' when the result is over the length limit. */
  rewrite(rule: CompiledRule & { rewrite: string }, name: string): string | 'budget' | 'long' {
    if (!this.pay(rule, name)) return 'budget';
    return goReplaceAllWithin(rule.re, name, rule.rewrite, this.limits.maxNameLength) ?? 'long';
  }

  /** The reference client's matching of `name` on `platform`: rules in order, a rewrite starts over, a rule applied twice is a loop. */
  follow(rules: CompiledRule[], name: string, platform: string): Outcome {
    const applied: number[] = [];
    let current = name;
    for (;;) {
      let rule: CompiledRule | undefined;
      for (const r of rules) {
        if (!platformMatches(r, platform)) continue;
        const m = this.matches(r, current);
        if (m === undefined) return { stop: 'budget' };
        if (m) {
          rule = r;
          break;
        }
      }
      if (!rule || rule.rewrite === undefined) return { end: true };
      if (applied.includes(rule.index)) return { loop: [...applied.slice(applied.indexOf(rule.index)), rule.index] };
      applied.push(rule.index);
      const next = this.rewrite(rule as CompiledRule & { rewrite: string }, current);
      if (next === 'budget') return { stop: 'budget' };
      if (next === 'long') return { stop: 'long', rule: rule.index };
      current = next;
    }
  }
}

/** The reference client's matching: the loop (rule indices) it would report for `name`, if any (within `limits`). */
export function simulateRewrites(
  rules: CompiledRule[],
  name: string,
  platform: string,
  limits: LoopSearchLimits = LOOP_SEARCH_LIMITS,
): number[] | undefined {
  const outcome = new LoopSearch(limits).follow(rules, name, platform);
  return 'loop' in outcome ? outcome.loop : undefined;
}

function ruleList(indices: number[]): string {
  const shown = indices.slice(0, 8).map((k) => `rules[${k}]`);
  return indices.length > 8 ? `${shown.join(', ')} and ${indices.length - 8} more` : shown.join(', ');
}

/**
 * Looks for rewrite loops from example names of every pattern, within
 * `limits`. A loop found is an error; rules whose names the search could not
 * follow to the end are a warning naming them: the mapping may still loop.
 */
export function checkLoops(rules: CompiledRule[], report: Reporter, limits: LoopSearchLimits = LOOP_SEARCH_LIMITS): void {
  if (!rules.some((r) => r.rewrite !== undefined)) return;
  const platforms = [NO_PLATFORM, ...new Set(rules.flatMap((r) => r.platforms))];
  const search = new LoopSearch(limits);
  const reported = new Set<string>();
  const unchecked: number[] = [];
  const tooLong = new Map<number, string>();
  for (const source of rules) {
    if (search.spent > limits.budget) {
      unchecked.push(source.index);
      continue;
    }
    const examples: string[] = [];
    for (const candidate of exampleCandidates(source.re) ?? []) {
      const m = search.matches(source, candidate);
      if (m === undefined) break;
      if (m) examples.push(candidate);
    }
    names: for (const example of examples) {
      for (const platform of platforms) {
        const outcome = search.follow(rules, example, platform);
        if ('stop' in outcome) {
          if (outcome.stop === 'budget') break names;
          if (!tooLong.has(outcome.rule)) tooLong.set(outcome.rule, example);
          continue;
        }
        if (!('loop' in outcome)) continue;
        const loop = outcome.loop;
        const key = [...new Set(loop)].sort((a, b) => a - b).join(',');
        if (reported.has(key)) continue;
        reported.add(key);
        const chain = loop.map((k) => `rules[${k}]`).join(' → ');
        const on = platform === NO_PLATFORM ? '' : ` on ${platform}`;
        report.error(['rules', loop[0]!, 'rewrite'], `rewrite rules loop: ${chain} (e.g. for "${example}"${on})`);
      }
    }
    if (search.spent > limits.budget) unchecked.push(source.index);
  }
  for (const [index, example] of tooLong) {
    const shown = example.length > 40 ? `${example.slice(0, 40)}…` : example;
    report.warning(
      ['rules', index, 'rewrite'],
      `not checked for rewrite loops past this rule: it makes names longer than ${limits.maxNameLength} characters (e.g. from "${shown}")`,
    );
  }
  if (unchecked.length > 0) {
    report.warning(
      ['rules', unchecked[0]!, 'pattern'],
      `not checked for rewrite loops: the loop search used its whole budget (${limits.budget.toLocaleString('en-US')} steps) ` +
        `before following the names built from ${ruleList(unchecked)}, so the mapping may still loop; ` +
        'patterns with large repetition counts or long literal text make each match costlier',
    );
  }
}

function patternProblem(pattern: string, parsed: { error: string; tooLarge?: { size: number; limit: number } }): string {
  if (!parsed.tooLarge) return `"${pattern}" is not a valid Go (RE2) regular expression: ${parsed.error}`;
  const shown = pattern.length > 60 ? `${pattern.slice(0, 60)}…` : pattern;
  const size = parsed.tooLarge.size.toLocaleString('en-US');
  const limit = MAX_PROGRAM_SIZE.toLocaleString('en-US');
  const why =
    parsed.tooLarge.size > MAX_PROGRAM_SIZE
      ? `it compiles to about ${size} RE2 instructions`
      : `it compiles to about ${size} RE2 instructions, and the rules before it use all but ${parsed.tooLarge.limit.toLocaleString('en-US')}`;
  return (
    `"${shown}" is too large for tufctl to check: ${why}; a mapping's patterns may compile to ${limit} together ` +
    '(use smaller repetition counts, or fewer or simpler rules)'
  );
}

function checkRules(mapping: Record<string, unknown>, report: Reporter, policyIds: Set<string>): Set<string> {
  const used = new Set<string>();
  const compiled: CompiledRule[] = [];
  let allCompiled = true;
  let programBudget = MAX_PROGRAM_SIZE; // for all rule patterns together
  asArray(mapping.rules).forEach((rule, i) => {
    if (!isObject(rule)) {
      allCompiled = false;
      return;
    }
    const pattern = str(rule.pattern);
    const policyId = str(rule['policy-id']);
    const rewrite = str(rule.rewrite);
    if (policyId !== undefined) {
      used.add(policyId);
      if (!policyIds.has(policyId)) {
        const known = policyIds.size > 0 ? ` (policies: ${[...policyIds].join(', ')})` : ' (the file defines no policies)';
        report.error(['rules', i, 'policy-id'], `unknown policy "${policyId}"${known}`);
      }
    }
    const platforms = asArray(rule.platforms).filter((p): p is string => typeof p === 'string');
    platforms.forEach((platform, k) => {
      const problem = platformProblem(platform);
      if (problem) report.error(['rules', i, 'platforms', k], problem);
    });
    if (pattern === undefined || pattern === '') {
      allCompiled = false;
      return;
    }
    const parsed = parseGoRegexp(pattern, programBudget);
    if (!parsed.ok) {
      allCompiled = false;
      report.error(['rules', i, 'pattern'], patternProblem(pattern, parsed));
      return;
    }
    programBudget -= parsed.regexp.size;
    const entry: CompiledRule = { index: i, re: parsed.regexp, platforms };
    if (policyId !== undefined) entry.policyId = policyId;
    if (rewrite !== undefined) entry.rewrite = rewrite;
    if ((policyId === undefined) === (rewrite === undefined)) allCompiled = false; // schema problem already reported
    checkRewriteTemplate(entry, report);
    compiled.push(entry);
  });
  // The client refuses a mapping with any invalid rule, so loops only matter once every rule is valid.
  if (allCompiled) checkLoops(compiled, report);
  return used;
}

/**
 * Problems of a parsed mapping.yaml beyond its schema. `channelDir` is the
 * absolute directory the mapping's file paths are relative to.
 */
export function mappingProblems(doc: SourceDocument, channelDir: string, channel: Channel): TrustProblem[] {
  if (!isObject(doc.value)) return [];
  const report = new Reporter(doc);
  const ids = checkPolicies(doc.value, report, channelDir, channel);
  const used = checkRules(doc.value, report, ids);
  asArray(doc.value.policies).forEach((policy, i) => {
    const id = isObject(policy) ? str(policy.id) : undefined;
    if (id !== undefined && !used.has(id)) report.warning(['policies', i, 'id'], `policy "${id}" is not used by any rule`);
  });
  return report.problems;
}

/**
 * Policy impact: what a change of the trust data does to images. Each
 * sample image is looked up in the base and the head policy mapping of every
 * channel exactly as the reference verification client looks it up
 * (policy-resolution.ts), and the policy it gets before and after is
 * compared: its id, the attestations it requires and the signer keys in
 * force. Independently of any sample, the head mapping's shadowed rules and
 * unreachable policies are listed (rule-reachability.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrustDataError } from '../errors.js';
import { DEFAULT_SAMPLE_PLATFORM, type ImageSample } from './image-samples.js';
import type { Channel, SignerKey } from './model.js';
import { compileMapping, LookupBudget, LOOKUP_BUDGET, resolvePolicy, type CompiledMapping, type Resolution } from './policy-resolution.js';
import { shadowedRules, unreachablePolicies, type ShadowedRule, type UnreachablePolicy } from './rule-reachability.js';
import { CHANNELS, channelPrefix, loadChannel, type ChannelModel } from './validate-trust.js';

/** What a row's platform column says for a sample evaluated alike on every platform. */
export const ALL_PLATFORMS = 'all';
/** Stands for the platforms no rule names. */
export const OTHER_PLATFORMS = 'other platforms';

/** A policy as an image meets it. */
export interface PolicySummary {
  id: string;
  description?: string;
  /** Required attestations: name and the predicate types that satisfy it. */
  requires: Array<{ name: string; predicateTypes: string[] }>;
  /** Signer key ids in force now (active, not distrusted, within from/to). */
  keys: string[];
  /** sha256 of the policy's .rego module, when readable. */
  regoSha256?: string;
}

export type OutcomeKind = 'policy' | 'no-policy' | 'error' | 'no-mapping' | 'not-evaluated';

/** What the verifier does with an image under one mapping. */
export interface ImageOutcome {
  result: OutcomeKind;
  /** One sentence: `rules[0] → docker-official-images`, `no rule matches`, `rewrite loop: rules[1] → rules[1]`. */
  text: string;
  policy?: PolicySummary;
  rule?: { index: number; pattern: string };
  rewrites: Array<{ index: number; pattern: string }>;
  /** The name after rewrites, when a rewrite applied. */
  matchedName?: string;
}

export type ChangeKind = 'changed' | 'lost' | 'gained' | 'requirements' | 'unchanged' | 'not-evaluated';

export interface ImageImpact {
  /** The reference as listed. */
  image: string;
  /** The normalised name looked up. */
  name: string;
  /** `all`, one platform, or a list (`linux/arm64, other platforms`). */
  platform: string;
  source: string;
  change: ChangeKind;
  before: ImageOutcome;
  after: ImageOutcome;
  /** What differs, one sentence each. */
  details: string[];
}

export type MappingState = 'present' | 'absent' | 'unreadable';

export interface ChannelImpact {
  channel: Channel;
  /** `targets/mapping.yaml`, `targets/testing/mapping.yaml`. */
  mappingFile: string;
  base: MappingState;
  head: MappingState;
  images: ImageImpact[];
  /** Head rules an earlier rule shadows; `new` when the base mapping did not have the same finding. */
  shadowed: Array<ShadowedRule & { new: boolean }>;
  unreachable: Array<UnreachablePolicy & { new: boolean }>;
}

export interface PolicyImpactReport {
  base: { label: string };
  head: { label: string };
  /** The sample lists read, and how many distinct samples (name and platform) they hold. */
  samples: { lists: string[]; count: number };
  channels: ChannelImpact[];
  summary: Record<ChangeKind, number>;
  warnings: string[];
}

export interface PolicyImpactInput {
  /** Repository tree of the base (undefined: no base, every mapping absent). */
  baseDir?: string;
  baseLabel: string;
  headDir: string;
  headLabel: string;
  samples: ImageSample[];
  sampleLists: string[];
  now: Date;
  /** Throw TRUST_INVALID when a head mapping cannot be used (else a warning). */
  strictHead?: boolean;
  /** RE2 work allowed for all lookups (LookupBudget units). */
  budget?: number;
}

interface Side {
  state: MappingState;
  error?: string;
  model?: ChannelModel;
  compiled?: CompiledMapping;
  policies: Map<string, PolicySummary>;
}

function keyInForce(key: SignerKey, now: Date): boolean {
  const from = Date.parse(key.from);
  const to = key.to === null ? undefined : Date.parse(key.to);
  return key.status === 'active' && key.distrust !== true && !(from > now.getTime()) && !(to !== undefined && to <= now.getTime());
}

function regoDigest(repoDir: string, regoPath: string): string | undefined {
  const path = join(repoDir, 'targets', ...regoPath.split('/'));
  try {
    if (!lstatSync(path).isFile()) return undefined;
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

function loadSide(repoDir: string | undefined, channel: Channel, now: Date): Side {
  const policies = new Map<string, PolicySummary>();
  if (repoDir === undefined || !existsSync(join(repoDir, 'targets', channel, 'mapping.yaml'))) return { state: 'absent', policies };
  let model: ChannelModel;
  try {
    model = loadChannel(repoDir, channel);
  } catch (error) {
    const details = error instanceof TrustDataError && error.details.length > 0 ? `: ${error.details[0]}` : '';
    return { state: 'unreadable', error: `${(error as Error).message}${details}`, policies };
  }
  const compiled = compileMapping(model.mapping);
  if (!compiled.ok) return { state: 'unreadable', error: `${channelPrefix(channel)}mapping.yaml ${compiled.error}`, policies };
  for (const policy of model.policies) {
    const described = model.mapping.policies.find((p) => p.id === policy.id)?.description;
    const digest = regoDigest(repoDir, policy.regoPath);
    policies.set(policy.id, {
      id: policy.id,
      ...(described !== undefined ? { description: described } : {}),
      requires: policy.requiredAttestations.map((a) => ({ name: a.name, predicateTypes: [...a['predicate-types']] })),
      keys: policy.keys.filter((k) => keyInForce(k, now)).map((k) => k.id),
      ...(digest ? { regoSha256: digest } : {}),
    });
  }
  return { state: 'present', model, compiled: compiled.mapping, policies };
}

function ruleRef(side: Side, index: number): { index: number; pattern: string } {
  return { index, pattern: side.compiled!.rules[index]!.re.pattern };
}

function outcomeOf(side: Side, resolution: Resolution | undefined): ImageOutcome {
  if (side.state !== 'present' || !resolution) {
    const text = side.state === 'absent' ? 'no mapping' : 'mapping unreadable';
    return { result: 'no-mapping', text, rewrites: [] };
  }
  const rewrites = resolution.rewrites.map((i) => ruleRef(side, i));
  const via = rewrites.length > 0 ? `${rewrites.map((r) => `rules[${r.index}]`).join(' → ')} → ` : '';
  const renamed = 'matchedName' in resolution && rewrites.length > 0 ? { matchedName: resolution.matchedName } : {};
  switch (resolution.outcome) {
    case 'policy':
      return {
        result: 'policy',
        text: `${via}rules[${resolution.rule}] → ${resolution.policyId}`,
        policy: side.policies.get(resolution.policyId) ?? { id: resolution.policyId, requires: [], keys: [] },
        rule: ruleRef(side, resolution.rule),
        rewrites,
        ...renamed,
      };
    case 'unknown-policy':
      return {
        result: 'no-policy',
        text: `${via}rules[${resolution.rule}] names policy "${resolution.policyId}", which the mapping does not define: no policy`,
        rule: ruleRef(side, resolution.rule),
        rewrites,
        ...renamed,
      };
    case 'no-match':
      return { result: 'no-policy', text: `${via}no rule matches: no policy`, rewrites, ...renamed };
    case 'loop':
      return {
        result: 'error',
        text: `rewrite loop: ${[...resolution.rewrites, resolution.rule].map((i) => `rules[${i}]`).join(' → ')} (the verifier fails)`,
        rule: ruleRef(side, resolution.rule),
        rewrites,
      };
    case 'not-followed':
      return { result: 'not-evaluated', text: `not evaluated: ${resolution.reason}`, rewrites };
  }
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function requirementText(r: { name: string; predicateTypes: string[] }): string {
  return `${r.name} (${r.predicateTypes.join(' | ')})`;
}

/** Differences between two summaries of one policy id. */
function policyDifferences(before: PolicySummary, after: PolicySummary): string[] {
  const details: string[] = [];
  const reqBefore = before.requires.map(requirementText).sort();
  const reqAfter = after.requires.map(requirementText).sort();
  if (!sameList(reqBefore, reqAfter)) {
    const added = reqAfter.filter((r) => !reqBefore.includes(r));
    const removed = reqBefore.filter((r) => !reqAfter.includes(r));
    details.push(
      `required attestations: ${[...added.map((r) => `+ ${r}`), ...removed.map((r) => `− ${r}`)].join(', ')}${reqAfter.length === 0 ? ' (it now requires nothing listed, so it accepts no image)' : ''}`,
    );
  }
  const keysBefore = [...before.keys].sort();
  const keysAfter = [...after.keys].sort();
  if (!sameList(keysBefore, keysAfter)) {
    const added = keysAfter.filter((k) => !keysBefore.includes(k));
    const removed = keysBefore.filter((k) => !keysAfter.includes(k));
    details.push(
      `signer keys in force: ${[...added.map((k) => `+ ${k.slice(0, 12)}`), ...removed.map((k) => `− ${k.slice(0, 12)}`)].join(', ')}`,
    );
  }
  if (before.regoSha256 !== after.regoSha256) details.push('policy module (.rego) changed');
  return details;
}

function classify(before: ImageOutcome, after: ImageOutcome): { change: ChangeKind; details: string[] } {
  if (before.result === 'not-evaluated' || after.result === 'not-evaluated') return { change: 'not-evaluated', details: [] };
  const had = before.policy && before.result === 'policy';
  const has = after.policy && after.result === 'policy';
  if (had && has) {
    if (before.policy!.id !== after.policy!.id)
      return { change: 'changed', details: [`policy ${before.policy!.id} → ${after.policy!.id}`] };
    const details = policyDifferences(before.policy!, after.policy!);
    return { change: details.length > 0 ? 'requirements' : 'unchanged', details };
  }
  if (had) return { change: 'lost', details: [after.text] };
  if (has) return { change: 'gained', details: [`now ${after.policy!.id}`] };
  return { change: 'unchanged', details: [] };
}

/** Platforms a sample is evaluated on: its own, or every platform either mapping names plus the rest. */
function platformsOf(sample: ImageSample, named: string[]): Array<{ platform: string; label: string }> {
  if (sample.platform !== undefined) return [{ platform: sample.platform, label: sample.platform }];
  const out = named.map((p) => ({ platform: p, label: p }));
  const other = [
    DEFAULT_SAMPLE_PLATFORM,
    'linux/arm64',
    'linux/arm/v7',
    'linux/386',
    'linux/ppc64le',
    'linux/s390x',
    'linux/riscv64',
    'windows/amd64',
  ].find((p) => !named.includes(p))!;
  out.push({ platform: other, label: named.length > 0 ? OTHER_PLATFORMS : ALL_PLATFORMS });
  return out;
}

function outcomeKey(o: ImageOutcome): string {
  return JSON.stringify([o.result, o.text, o.policy ?? null]);
}

function channelImages(base: Side, head: Side, samples: ImageSample[], budget: LookupBudget): ImageImpact[] {
  const named = [...new Set([...(base.compiled?.rules ?? []), ...(head.compiled?.rules ?? [])].flatMap((r) => r.platforms))].sort();
  const rows: ImageImpact[] = [];
  for (const sample of samples) {
    // Evaluate on each platform; platforms with the same before and after share a row.
    const groups = new Map<string, { labels: string[]; before: ImageOutcome; after: ImageOutcome }>();
    for (const { platform, label } of platformsOf(sample, named)) {
      const before = outcomeOf(base, base.compiled ? resolvePolicy(base.compiled, sample.name, platform, budget) : undefined);
      const after = outcomeOf(head, head.compiled ? resolvePolicy(head.compiled, sample.name, platform, budget) : undefined);
      const k = `${outcomeKey(before)}|${outcomeKey(after)}`;
      const group = groups.get(k);
      if (group) group.labels.push(label);
      else groups.set(k, { labels: [label], before, after });
    }
    for (const group of groups.values()) {
      const platform = groups.size === 1 && sample.platform === undefined ? ALL_PLATFORMS : group.labels.join(', ');
      rows.push({
        image: sample.reference,
        name: sample.name,
        platform,
        source: sample.source,
        ...classify(group.before, group.after),
        before: group.before,
        after: group.after,
      });
    }
  }
  return rows;
}

function findingsOf(side: Side): { shadowed: ShadowedRule[]; unreachable: UnreachablePolicy[] } {
  if (!side.compiled || !side.model) return { shadowed: [], unreachable: [] };
  const shadowed = shadowedRules(side.compiled);
  const unreachable = unreachablePolicies(
    side.compiled,
    side.model.mapping.policies.map((p) => p.id),
    shadowed,
  );
  return { shadowed, unreachable };
}

/** The impact of the change from `baseDir` to `headDir` on the samples, channel by channel. */
export function policyImpact(input: PolicyImpactInput): PolicyImpactReport {
  const budget = new LookupBudget(input.budget ?? LOOKUP_BUDGET);
  // One row per name and platform, whatever the spelling (alpine, docker.io/library/alpine:3.20).
  const distinct = new Map<string, ImageSample>();
  for (const s of input.samples) if (!distinct.has(`${s.name} ${s.platform ?? ''}`)) distinct.set(`${s.name} ${s.platform ?? ''}`, s);
  const samples = [...distinct.values()];
  const warnings: string[] = [];
  const channels: ChannelImpact[] = [];
  for (const channel of CHANNELS) {
    const base = loadSide(input.baseDir, channel, input.now);
    const head = loadSide(input.headDir, channel, input.now);
    if (base.state === 'absent' && head.state === 'absent') continue;
    const mappingFile = `targets/${channelPrefix(channel)}mapping.yaml`;
    if (head.state === 'unreadable') {
      if (input.strictHead) {
        throw new TrustDataError('TRUST_INVALID', `${mappingFile} cannot be used, so its impact cannot be evaluated`, [head.error!]);
      }
      warnings.push(`${mappingFile} (head) cannot be used: ${head.error}`);
    }
    if (base.state === 'unreadable')
      warnings.push(`${mappingFile} (base) cannot be used, so images are compared with no mapping: ${base.error}`);
    const headFindings = findingsOf(head);
    const baseFindings = findingsOf(base);
    const shadowKey = (s: ShadowedRule): string => `${s.pattern}|${s.byPattern}|${s.certainty}`;
    const baseShadow = new Set(baseFindings.shadowed.map(shadowKey));
    const baseUnreachable = new Set(baseFindings.unreachable.map((u) => `${u.policyId}|${u.certainty}`));
    channels.push({
      channel,
      mappingFile,
      base: base.state,
      head: head.state,
      images: channelImages(base, head, samples, budget),
      shadowed: headFindings.shadowed.map((s) => ({ ...s, new: !baseShadow.has(shadowKey(s)) })),
      unreachable: headFindings.unreachable.map((u) => ({ ...u, new: !baseUnreachable.has(`${u.policyId}|${u.certainty}`) })),
    });
  }
  if (budget.spent > budget.limit) {
    warnings.push(
      `the lookups used their whole work budget (${budget.limit.toLocaleString('en-US')} RE2 steps): images marked "not evaluated" were not followed to the end`,
    );
  }
  const summary: Record<ChangeKind, number> = { changed: 0, lost: 0, gained: 0, requirements: 0, unchanged: 0, 'not-evaluated': 0 };
  for (const channel of channels) for (const row of channel.images) summary[row.change]++;
  return {
    base: { label: input.baseLabel },
    head: { label: input.headLabel },
    samples: { lists: input.sampleLists, count: samples.length },
    channels,
    summary,
    warnings,
  };
}

/** Whether a report has anything a reviewer should see (an image that changes, or a new finding). */
export function impactIsNotable(report: PolicyImpactReport): boolean {
  const s = report.summary;
  return (
    s.changed + s.lost + s.gained + s.requirements + s['not-evaluated'] > 0 ||
    report.channels.some((c) => c.shadowed.some((x) => x.new) || c.unreachable.some((x) => x.new))
  );
}

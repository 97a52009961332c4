/** The policy impact report as Markdown (a pull-request comment or a section of one) and as plain text lines. */
import type { ChangeKind, ChannelImpact, ImageImpact, ImageOutcome, PolicyImpactReport } from './policy-impact.js';

/** Longest list of rows shown per kind; the rest is counted. */
export const MAX_IMPACT_ROWS = 50;
/** Unchanged images named in the one-line summary. */
const MAX_UNCHANGED_NAMED = 10;

const LABEL: Record<ChangeKind, string> = {
  changed: '🔀 changes policy',
  lost: '⛔ loses its policy',
  gained: '🆕 gains a policy',
  requirements: '✏️ same policy, new requirements',
  unchanged: 'unchanged',
  'not-evaluated': '❔ not evaluated',
};

const HOW = { certain: 'certain, shown from the patterns', probable: 'probable, from example names built from its pattern, not a proof' };

const ORDER: ChangeKind[] = ['lost', 'changed', 'requirements', 'gained', 'not-evaluated'];

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `1 image changes policy, 1 loses its policy, …; 3 unchanged`. */
export function impactSummaryLine(report: PolicyImpactReport): string {
  const s = report.summary;
  const parts = [
    `${plural(s.changed, 'image changes', 'images change')} policy`,
    `${s.lost} ${s.lost === 1 ? 'loses its' : 'lose their'} policy`,
    `${s.gained} ${s.gained === 1 ? 'gains' : 'gain'} one`,
    `${s.requirements} ${s.requirements === 1 ? 'keeps its policy with new requirements' : 'keep their policy with new requirements'}`,
  ];
  const tail = [`${s.unchanged} unchanged`];
  if (s['not-evaluated'] > 0) tail.push(`${s['not-evaluated']} not evaluated`);
  return `${parts.join(', ')}; ${tail.join(', ')}`;
}

/** One side of a row: the rule chain, then the policy with what it requires and its keys. */
function outcomeMarkdown(o: ImageOutcome): string {
  if (o.result !== 'policy' || !o.policy) return o.text.replace(/"([^"]+)"/g, '`$1`');
  const chain = [...o.rewrites.map((r) => `rules[${r.index}]`), `rules[${o.rule!.index}]`].join(' → ');
  const requires = o.policy.requires.length > 0 ? o.policy.requires.map((r) => r.name).join(', ') : 'nothing listed';
  const keys = o.policy.keys.length > 0 ? `keys ${o.policy.keys.map((k) => k.slice(0, 12)).join(', ')}` : 'no signer keys';
  return `${chain} → \`${o.policy.id}\` (requires ${requires}; ${keys})`;
}

function outcomeText(o: ImageOutcome): string {
  if (o.result !== 'policy' || !o.policy) return o.text;
  const requires = o.policy.requires.length > 0 ? o.policy.requires.map((r) => r.name).join(', ') : 'nothing listed';
  const keys = o.policy.keys.length > 0 ? `${plural(o.policy.keys.length, 'signer key', 'signer keys')} in force` : 'no signer keys';
  return `${o.text} (requires ${requires}; ${keys})`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, 'ˋ')}\``;
}

function unchangedLine(rows: ImageImpact[]): string | undefined {
  const unchanged = rows.filter((r) => r.change === 'unchanged');
  if (unchanged.length === 0) return undefined;
  const named = unchanged.slice(0, MAX_UNCHANGED_NAMED).map((r) => {
    const where = r.platform === 'all' ? '' : ` (${r.platform})`;
    const to = r.after.result === 'policy' && r.after.policy ? r.after.policy.id : 'no policy';
    return `${code(r.name)}${where} → ${to}`;
  });
  const more = unchanged.length > MAX_UNCHANGED_NAMED ? `, … and ${unchanged.length - MAX_UNCHANGED_NAMED} more` : '';
  return `Unchanged (${unchanged.length}): ${named.join(', ')}${more}.`;
}

function findingsMarkdown(channel: ChannelImpact): string[] {
  const lines: string[] = [];
  for (const s of channel.shadowed) {
    const what = s.certainty === 'certain' ? 'can never decide' : 'probably never decides';
    lines.push(
      `- ⚠️${s.new ? ' **new**:' : ''} rules[${s.rule}] ${code(s.pattern)} ${what}: rules[${s.by}] ${code(s.byPattern)} takes the names it matches (${HOW[s.certainty]}: ${s.reason})`,
    );
  }
  for (const u of channel.unreachable) {
    lines.push(
      `- ⚠️${u.new ? ' **new**:' : ''} policy ${code(u.policyId)} is ${u.certainty === 'certain' ? 'unreachable' : 'probably unreachable'}: ${u.reason}`,
    );
  }
  return lines;
}

function channelMarkdown(channel: ChannelImpact, report: PolicyImpactReport, heading: string): string[] {
  const lines: string[] = [];
  const changed = channel.images.filter((r) => r.change !== 'unchanged');
  if (changed.length > 0) {
    lines.push('| | image | platform | before | after |', '| --- | --- | --- | --- | --- |');
    const sorted = ORDER.flatMap((kind) => changed.filter((r) => r.change === kind));
    for (const r of sorted.slice(0, MAX_IMPACT_ROWS)) {
      lines.push(
        `| ${LABEL[r.change]} | ${code(r.name)} | ${escapeCell(r.platform)} | ${escapeCell(outcomeMarkdown(r.before))} | ${escapeCell(outcomeMarkdown(r.after))} |`,
      );
    }
    if (sorted.length > MAX_IMPACT_ROWS) lines.push(`| … and ${sorted.length - MAX_IMPACT_ROWS} more | | | | |`);
    lines.push('');
    const detailed = sorted.slice(0, MAX_IMPACT_ROWS).filter((x) => x.change === 'requirements');
    for (const r of detailed) lines.push(`- ${code(r.name)}${r.platform === 'all' ? '' : ` (${r.platform})`}: ${r.details.join('; ')}`);
    if (detailed.length > 0) lines.push('');
    if (changed.some((r) => r.change === 'lost')) {
      lines.push(
        '> ⛔ An image that loses its policy is no longer checked: the verifier finds no policy for it (outcome `no_policy`), ' +
          'and a client that requires one refuses every pull of it.',
        '',
      );
    }
  } else if (report.samples.count > 0) {
    lines.push('No sample image changes policy.', '');
  }
  const unchanged = unchangedLine(channel.images);
  if (unchanged) lines.push(unchanged, '');
  const findings = findingsMarkdown(channel);
  if (findings.length > 0) lines.push(`${heading} Rules and policies (found from the mapping alone)`, '', ...findings, '');
  return lines;
}

/** The report as Markdown lines; `level` is the heading level of its title (3: `###`). */
export function impactMarkdown(report: PolicyImpactReport, level = 3): string[] {
  const h = '#'.repeat(level);
  const sub = '#'.repeat(Math.min(level + 1, 6));
  const lines: string[] = [`${h} Policy impact`, ''];
  const lists = report.samples.lists.length > 0 ? ` from ${report.samples.lists.map(code).join(', ')}` : '';
  lines.push(
    `Base ${code(report.base.label)} → head ${code(report.head.label)}; ${plural(report.samples.count, 'sample image', 'sample images')}${lists}, looked up as the verifier does.`,
    '',
  );
  if (report.samples.count === 0)
    lines.push('No sample image list: add one (`images.txt`, or `imageSamples` in `tufctl.json`) to see what changes per image.', '');
  else lines.push(`**${impactSummaryLine(report)}.**`, '');
  const many = report.channels.length > 1;
  for (const channel of report.channels) {
    if (many) lines.push(`${sub} ${code(channel.mappingFile)}`, '');
    if (channel.head === 'absent') lines.push(`${code(channel.mappingFile)} is removed.`, '');
    if (channel.base === 'absent') lines.push(`${code(channel.mappingFile)} is new.`, '');
    lines.push(...channelMarkdown(channel, report, sub));
  }
  for (const w of report.warnings) lines.push(`- ⚠️ ${w}`);
  while (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The report as plain text lines (`prefix` before each, e.g. `impact: `). */
export function impactText(report: PolicyImpactReport, prefix = ''): string[] {
  const lines: string[] = [];
  const lists = report.samples.lists.length > 0 ? ` from ${report.samples.lists.join(', ')}` : '';
  lines.push(
    `${prefix}base ${report.base.label} → head ${report.head.label}; ${plural(report.samples.count, 'sample', 'samples')}${lists}`,
  );
  if (report.samples.count > 0) lines.push(`${prefix}${impactSummaryLine(report)}`);
  for (const channel of report.channels) {
    const where = report.channels.length > 1 ? `${channel.mappingFile}: ` : '';
    const rows = ORDER.flatMap((kind) => channel.images.filter((r) => r.change === kind));
    for (const r of [...rows, ...channel.images.filter((x) => x.change === 'unchanged')]) {
      const platform = r.platform === 'all' ? '' : ` (${r.platform})`;
      const label = LABEL[r.change].replace(/^\S+ /, '');
      const change = r.change === 'unchanged' ? outcomeText(r.after) : `${outcomeText(r.before)} ⇒ ${outcomeText(r.after)}`;
      lines.push(`${prefix}${where}${label}: ${r.name}${platform}: ${change}`);
      if (r.change === 'requirements') for (const d of r.details) lines.push(`${prefix}${where}  ${d}`);
    }
    for (const s of channel.shadowed) {
      lines.push(
        `${prefix}${channel.mappingFile}: rules[${s.rule}] "${s.pattern}" ${s.certainty === 'certain' ? 'is shadowed' : 'is probably shadowed'} by rules[${s.by}] "${s.byPattern}" (${HOW[s.certainty]}: ${s.reason})`,
      );
    }
    for (const u of channel.unreachable) {
      lines.push(
        `${prefix}${channel.mappingFile}: policy ${u.policyId} is ${u.certainty === 'certain' ? 'unreachable' : 'probably unreachable'}: ${u.reason}`,
      );
    }
  }
  for (const w of report.warnings) lines.push(`${prefix}warning: ${w}`);
  return lines;
}

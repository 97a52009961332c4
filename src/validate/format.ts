/**
 * The validate report as Markdown (one pull-request comment, found again by
 * its marker line), as plain text (one line per item) or as JSON.
 */
import type { RoleChange, SignatureSummary, TargetItem } from './compare.js';
import { whoIsNeeded, type ValidateReport } from './validate.js';
import { describeNeeds, needOf } from '../edit/signing.js';
import { impactIsNotable } from '../trust/policy-impact.js';
import { impactMarkdown, impactText } from '../trust/policy-impact-format.js';
import { findingLine, findingsMarkdown } from '../lint/format.js';

/** First line of every Markdown report: a workflow finds and updates its own comment by it. */
export const MARKDOWN_MARKER = '<!-- tufctl-validate -->';
/** Longest list of targets shown per role; the rest is counted. */
export const MAX_LISTED = 50;

const mark = (ok: boolean): string => (ok ? '✓' : '✗');
const shortHash = (h?: string): string => (h ? `${h.slice(0, 12)}…` : '?');
const bytes = (n?: number): string => (n === undefined ? '? bytes' : `${n} bytes`);
const keyId = (id: string): string => id.slice(0, 8);

export function signatureText(s: SignatureSummary): string {
  const own = `${s.valid} of ${s.threshold} ${mark(s.valid >= s.threshold)}`;
  const text = s.previous
    ? `old root: ${s.previous.valid} of ${s.previous.threshold} ${mark(s.previous.valid >= s.previous.threshold)} — new root: ${own}`
    : own;
  const who = describeNeeds(needOf(s), s.previous ? needOf(s.previous) : undefined);
  return who ? `${text}, waiting for ${who}` : text;
}

function versionText(r: RoleChange): string {
  const { from, to } = r.version;
  if (from === undefined) return to === undefined ? '—' : `new, v${to}`;
  if (to === undefined) return `v${from}, removed`;
  return from === to ? `v${to}` : `v${from} → v${to}`;
}

function targetText(t: TargetItem): string {
  return `\`${t.path}\` (sha256 ${shortHash(t.sha256)}, ${bytes(t.length)})`;
}

/** The changes of one role, one sentence each (Markdown code spans; plain text strips them). */
export function roleItems(r: RoleChange, limit = MAX_LISTED): string[] {
  const items: string[] = [];
  if (r.change === 'added') items.push(`role added`);
  if (r.change === 'removed') items.push(`role removed`);
  const capped = <T>(list: T[], text: (t: T) => string): void => {
    for (const t of list.slice(0, limit)) items.push(text(t));
    if (list.length > limit) items.push(`… and ${list.length - limit} more`);
  };
  capped(r.targets.added, (t) => `target added: ${targetText(t)}`);
  capped(
    r.targets.modified,
    (t) =>
      `target modified: \`${t.path}\` sha256 ${shortHash(t.from.sha256)} → ${shortHash(t.to.sha256)}, ${
        t.from.length === t.to.length ? bytes(t.to.length) : `${bytes(t.from.length)} → ${bytes(t.to.length)}`
      }`,
  );
  capped(r.targets.removed, (t) => `target removed: ${targetText(t)}`);
  for (const d of r.delegations.added) items.push(`delegation added: \`${d}\``);
  for (const d of r.delegations.removed) items.push(`delegation removed: \`${d}\``);
  capped(r.keys, (k) => {
    const who = [k.owner, k.device].filter(Boolean).join(', ');
    return `key ${k.change} for \`${k.role}\`: ${keyId(k.keyId)}${who ? ` (${who})` : ''}`;
  });
  for (const t of r.thresholds) items.push(`threshold of \`${t.role}\`: ${t.from} → ${t.to}`);
  for (const o of r.other) items.push(o);
  if (r.expires.to && r.expires.from !== r.expires.to)
    items.push(`expires ${r.expires.to}${r.expires.from ? ` (was ${r.expires.from})` : ''}`);
  if (r.change === 'signatures') items.push('signatures only');
  if (r.signatures) items.push(`signatures: ${signatureText(r.signatures)}`);
  for (const e of r.errors) items.push(`❌ ${e}`);
  return items;
}

export function formatMarkdown(report: ValidateReport): string {
  const lines: string[] = [MARKDOWN_MARKER, `### ${report.verdict}`, ''];
  lines.push(`Base ${code(report.base.label)} → head ${code(report.head.label)}, checked ${report.checkedAt}`, '');
  if (report.errors.length > 0) {
    lines.push('#### Problems', '');
    for (const e of report.errors.slice(0, MAX_LISTED)) lines.push(`- ❌ ${e}`);
    if (report.errors.length > MAX_LISTED) lines.push(`- … and ${report.errors.length - MAX_LISTED} more`);
    lines.push('');
  }
  if (report.waiting.length > 0) {
    lines.push('#### Waiting for signatures', '');
    for (const w of report.waiting) lines.push(`- ⏳ \`${w.role}\`: ${whoIsNeeded(w)}`);
    lines.push('');
  }
  if (report.afterMerge.length > 0) {
    lines.push(`After merge: ${report.afterMerge.map((r) => `\`${r}\``).join(' and ')}, signed by the online key (publish workflow).`, '');
  }
  if (report.roles.length === 0) lines.push('No metadata changed.', '');
  else {
    lines.push('#### Roles', '', '| role | version | expires | signatures |', '| --- | --- | --- | --- |');
    for (const r of report.roles.slice(0, MAX_LISTED)) {
      const sig = r.signatures ? signatureText(r.signatures) : r.change === 'removed' ? 'removed' : '—';
      lines.push(`| \`${r.role}\` | ${versionText(r)} | ${r.expires.to ?? '—'} | ${sig} |`);
    }
    if (report.roles.length > MAX_LISTED) lines.push(`| … and ${report.roles.length - MAX_LISTED} more | | | |`);
    lines.push('');
    for (const r of report.roles.slice(0, MAX_LISTED)) {
      const items = roleItems(r).filter((i) => !i.startsWith('signatures: ') && !i.startsWith('expires '));
      if (items.length === 0) continue;
      lines.push(`#### \`${r.role}\` ${versionText(r)}`, '');
      for (const i of items) lines.push(`- ${i}`);
      lines.push('');
    }
  }
  if (report.trust.length > 0) {
    lines.push('#### Trust data', '');
    for (const t of report.trust) {
      lines.push(`- \`${t.file}\`${t.change === 'modified' ? '' : ` (${t.change})`}`);
      for (const i of t.items.slice(0, MAX_LISTED)) lines.push(`  - ${i}`);
      if (t.items.length > MAX_LISTED) lines.push(`  - … and ${t.items.length - MAX_LISTED} more`);
    }
    lines.push('');
  }
  lines.push(...findingsMarkdown(report.clients, MAX_LISTED));
  if (report.impact && impactIsNotable(report.impact)) lines.push(...impactMarkdown(report.impact, 4), '');
  if (report.warnings.length > 0) {
    lines.push('<details><summary>Warnings</summary>', '');
    for (const w of report.warnings.slice(0, MAX_LISTED)) lines.push(`- ${w}`);
    lines.push('', '</details>', '');
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}

function code(text: string): string {
  return `\`${text}\``;
}

const plain = (text: string): string => text.replace(/`/g, '');

export function formatText(report: ValidateReport): string {
  const lines: string[] = [`result: ${report.result}`, plain(report.verdict), `base: ${report.base.label}`, `head: ${report.head.label}`];
  for (const r of report.roles) {
    const prefix = `${r.role} ${versionText(r)}`;
    const items = roleItems(r, Number.MAX_SAFE_INTEGER);
    if (items.length === 0) lines.push(`${prefix}: changed`);
    for (const i of items) lines.push(`${prefix}: ${plain(i)}`);
  }
  for (const t of report.trust) for (const i of t.items) lines.push(`trust ${t.file}: ${plain(i)}`);
  for (const w of report.waiting) lines.push(`waiting: ${w.role} from ${whoIsNeeded(w)}`);
  for (const r of report.afterMerge) lines.push(`after merge: ${r} (online key)`);
  if (report.impact && impactIsNotable(report.impact)) lines.push(...impactText(report.impact, 'impact: '));
  for (const e of report.errors) lines.push(`error: ${plain(e)}`);
  for (const w of report.warnings) lines.push(`warning: ${plain(w)}`);
  for (const f of report.clients) lines.push(`client: ${findingLine(f)}`);
  return lines.join('\n') + '\n';
}

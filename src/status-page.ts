/**
 * The status page: one self-contained HTML document (inline CSS and SVG, no
 * scripts, no external assets) showing a RepositoryStatus — a table with
 * every role and a timeline of expiries with the signing periods shaded.
 *
 * The output depends only on the status (including its `now`) and the
 * options: no random ids, no clock reads, so the same input gives the same
 * bytes. Every user-controlled string (role names, key owners) is escaped.
 */
import { readFileSync } from 'node:fs';
import type { RepositoryStatus, RoleStatus } from './status.js';
import type { SigningState } from './metadata/expiry.js';

export interface StatusPageOptions {
  /** Shown in the title and header (the repository directory's basename). */
  repositoryName?: string;
  /** tufctl version shown in the header; defaults to the package version. */
  version?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

let packageVersion: string | undefined;
function tufctlVersion(): string {
  if (packageVersion === undefined) {
    try {
      packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
}

const STATE_TEXT: Record<SigningState, { label: string; symbol: string }> = {
  valid: { label: 'valid', symbol: '✓' },
  'in-signing-period': { label: 'in signing period', symbol: '⚠' },
  expired: { label: 'expired', symbol: '✗' },
};

function parseTime(value: string): number {
  const t = Date.parse(value);
  return Number.isNaN(t) ? 0 : t;
}

/** `2026-05-01 12:00 UTC` */
function formatDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `in 3 days`, `5 hours ago` */
function relative(ms: number, now: number): string {
  const diff = ms - now;
  const abs = Math.abs(diff);
  const amount =
    abs >= 2 * DAY_MS
      ? `${Math.round(abs / DAY_MS)} days`
      : abs >= 2 * 60 * 60 * 1000
        ? `${Math.round(abs / (60 * 60 * 1000))} hours`
        : `${Math.max(1, Math.round(abs / 60000))} minutes`;
  return diff >= 0 ? `in ${amount}` : `${amount} ago`;
}

function meets(valid: number, threshold: number): string {
  return valid >= threshold ? '<span class="ok">✓</span>' : '<span class="bad">✗</span>';
}

function signaturesCell(r: RoleStatus): string {
  if (r.bins) {
    const signed = r.bins.count - r.bins.unsigned;
    return `${signed}/${r.bins.count} bins signed ${meets(signed, r.bins.count)}<br><span class="sub">threshold ${r.threshold} per bin</span>`;
  }
  if (r.previous) {
    return (
      `<span class="line">old root (v${r.previous.version}): ${r.previous.valid} of ${r.previous.threshold} ${meets(r.previous.valid, r.previous.threshold)}</span>` +
      `<span class="line">new root (v${r.version}): ${r.valid} of ${r.threshold} ${meets(r.valid, r.threshold)}</span>`
    );
  }
  return `${r.valid} of ${r.threshold} ${meets(r.valid, r.threshold)}`;
}

function missingOf(r: RoleStatus): string[] {
  return [...new Set([...(r.previous?.missing ?? []), ...r.missing])];
}

function roleNameCell(r: RoleStatus): string {
  const name = `<span class="role-name">${escapeHtml(r.role)}</span>`;
  return r.bins ? `${name}<br><span class="sub">set of ${r.bins.count} hashed bins (${escapeHtml(r.bins.prefix)}-…)</span>` : name;
}

function tableRow(r: RoleStatus, now: number): string {
  const expires = parseTime(r.expires);
  const start = parseTime(r.signingPeriodStarts);
  const state = STATE_TEXT[r.state];
  const missing = missingOf(r);
  const cells = [
    `<th scope="row" class="role">${roleNameCell(r)}</th>`,
    `<td class="version">${r.version}</td>`,
    `<td class="expires"><time datetime="${escapeHtml(r.expires)}">${formatDateTime(expires)}</time><br><span class="sub">${relative(expires, now)}</span></td>`,
    `<td class="signing-start"><time datetime="${escapeHtml(r.signingPeriodStarts)}">${formatDateTime(start)}</time><br><span class="sub">${relative(start, now)}</span></td>`,
    `<td class="state"><span class="badge state-${r.state}">${state.symbol} ${state.label}</span></td>`,
    `<td class="signatures">${signaturesCell(r)}</td>`,
    `<td class="missing">${missing.length > 0 ? missing.map((m) => `<span class="owner">${escapeHtml(m)}</span>`).join(', ') : '<span class="sub">none</span>'}</td>`,
  ];
  return `<tr data-role="${escapeHtml(r.role)}" data-state="${r.state}">${cells.join('')}</tr>`;
}

// ------------------------------------------------------------------ timeline

const CHART = { width: 1000, left: 190, right: 870, top: 44, row: 30, bar: 16 };

/**
 * A square-root time scale around now, so that a two-day timestamp and a
 * one-year root are both visible on one axis; ticks carry real dates.
 */
function timeScale(offsets: number[]): { x: (offsetMs: number) => number; lo: number; hi: number } {
  const lo = Math.min(0, ...offsets);
  const hi = Math.max(DAY_MS, ...offsets) * 1.04;
  const f = (d: number): number => Math.sign(d) * Math.sqrt(Math.abs(d));
  const span = f(hi) - f(lo);
  return { lo, hi, x: (d) => CHART.left + ((f(Math.min(hi, Math.max(lo, d))) - f(lo)) / span) * (CHART.right - CHART.left) };
}

function ticks(scale: ReturnType<typeof timeScale>): number[] {
  const steps = [1, 7, 30, 90, 182, 365, 730, 1095, 1825, 3650, 7300].map((d) => d * DAY_MS);
  const candidates = [...steps.map((s) => -s).reverse(), ...steps].filter((d) => d > scale.lo && d < scale.hi);
  const chosen: number[] = [];
  let lastX = scale.x(0);
  // Walk outwards from now in both directions, keeping labels apart.
  for (const d of candidates.filter((c) => c > 0)) {
    if (scale.x(d) - lastX >= 70) {
      chosen.push(d);
      lastX = scale.x(d);
    }
  }
  lastX = scale.x(0);
  for (const d of candidates.filter((c) => c < 0).reverse()) {
    if (lastX - scale.x(d) >= 70) {
      chosen.push(d);
      lastX = scale.x(d);
    }
  }
  return chosen.sort((a, b) => a - b);
}

function f1(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

function timelineBar(r: RoleStatus, i: number, now: number, scale: ReturnType<typeof timeScale>): string {
  const y = CHART.top + i * CHART.row;
  const barY = y + (CHART.row - CHART.bar) / 2;
  const expires = parseTime(r.expires) - now;
  const start = parseTime(r.signingPeriodStarts) - now;
  const x0 = scale.x(0);
  const parts: string[] = [];
  let title: string;
  if (expires <= 0) {
    const xe = scale.x(expires);
    parts.push(
      `<rect class="seg-expired" x="${f1(xe)}" y="${f1(barY)}" width="${f1(Math.max(2, x0 - xe))}" height="${CHART.bar}" fill="url(#hatch-expired)"/>`,
    );
    title = `${r.role} v${r.version}: expired ${formatDateTime(expires + now)} (${relative(expires + now, now)})`;
  } else {
    const xe = Math.max(scale.x(expires), x0 + 2);
    const xs = Math.min(xe, Math.max(x0, scale.x(start)));
    if (xs > x0) parts.push(`<rect class="seg-valid" x="${f1(x0)}" y="${f1(barY)}" width="${f1(xs - x0)}" height="${CHART.bar}"/>`);
    parts.push(
      `<rect class="seg-signing" x="${f1(xs)}" y="${f1(barY)}" width="${f1(Math.max(1, xe - xs))}" height="${CHART.bar}" fill="url(#hatch-signing)"/>`,
    );
    title =
      `${r.role} v${r.version}: expires ${formatDateTime(expires + now)} (${relative(expires + now, now)}); ` +
      `signing period ${start <= 0 ? 'started' : 'starts'} ${formatDateTime(start + now)}`;
  }
  const end = expires <= 0 ? x0 : Math.max(scale.x(expires), x0 + 2);
  const state = STATE_TEXT[r.state];
  const label = r.role.length > 24 ? `${r.role.slice(0, 23)}…` : r.role;
  return (
    `<g class="bar state-${r.state}" data-role="${escapeHtml(r.role)}">` +
    `<title>${escapeHtml(`${title} — ${state.label}`)}</title>` +
    `<text class="label" x="${CHART.left - 10}" y="${f1(y + CHART.row / 2 + 4)}" text-anchor="end">${escapeHtml(label)}</text>` +
    parts.join('') +
    `<text class="end" x="${f1(end + 6)}" y="${f1(y + CHART.row / 2 + 4)}">${expires <= 0 ? 'expired ' : ''}${formatDate(expires + now)} ${state.symbol}</text>` +
    `</g>`
  );
}

function timeline(status: RepositoryStatus, now: number): string {
  const offsets = status.roles.map((r) => parseTime(r.expires) - now);
  const scale = timeScale(offsets);
  const height = CHART.top + status.roles.length * CHART.row + 16;
  const bottom = CHART.top + status.roles.length * CHART.row;
  const x0 = scale.x(0);
  const tickMarks = ticks(scale)
    .map((d) => {
      const x = f1(scale.x(d));
      return (
        `<g class="tick"><line x1="${x}" x2="${x}" y1="${CHART.top - 6}" y2="${bottom}"/>` +
        `<text x="${x}" y="${CHART.top - 12}" text-anchor="middle">${formatDate(now + d)}</text></g>`
      );
    })
    .join('');
  const bars = status.roles.map((r, i) => timelineBar(r, i, now, scale)).join('');
  return (
    `<svg class="timeline" role="img" aria-labelledby="timeline-title" viewBox="0 0 ${CHART.width} ${height}" width="${CHART.width}" height="${height}">` +
    `<title id="timeline-title">Expiry timeline: one bar per role from now to its expiry, signing period hatched</title>` +
    `<defs>` +
    `<pattern id="hatch-signing" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f5c451"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b7791f" stroke-width="2"/></pattern>` +
    `<pattern id="hatch-expired" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#f19a9a"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c53030" stroke-width="2"/></pattern>` +
    `</defs>` +
    `<g class="axis"><line x1="${CHART.left}" x2="${CHART.right}" y1="${CHART.top - 6}" y2="${CHART.top - 6}"/>${tickMarks}</g>` +
    bars +
    `<g class="now"><line x1="${f1(x0)}" x2="${f1(x0)}" y1="${CHART.top - 20}" y2="${bottom + 4}"/>` +
    `<text x="${f1(x0)}" y="${CHART.top - 26}" text-anchor="middle">now</text></g>` +
    `</svg>`
  );
}

// ---------------------------------------------------------------------- page

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; margin: 24px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #59636e; margin: 0 0 12px; }
.summary { display: inline-block; padding: 6px 12px; border-radius: 6px; font-weight: 600; }
.summary.ok { background: #dafbe1; color: #116329; border: 1px solid #4ac26b; }
.summary.attention { background: #ffebe9; color: #a40e26; border: 1px solid #ff8182; }
table { border-collapse: collapse; width: 100%; max-width: 1200px; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid #d1d9e0; }
thead th { background: #f6f8fa; font-size: 13px; color: #3d444d; }
th.role { font-weight: 600; }
.role-name, .owner, td.version { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.sub { color: #59636e; font-size: 12px; font-weight: normal; }
.line { display: block; white-space: nowrap; }
time { white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; white-space: nowrap; border: 1px solid; }
.badge.state-valid { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.badge.state-in-signing-period { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
.badge.state-expired { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
.ok { color: #116329; font-weight: 700; }
.bad { color: #a40e26; font-weight: 700; }
.owner { background: #f6f8fa; border-radius: 4px; padding: 0 4px; }
svg.timeline { max-width: 100%; height: auto; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg .axis line, svg .tick line { stroke: #d1d9e0; stroke-width: 1; }
svg .tick text { fill: #59636e; }
svg .label { fill: #1f2328; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg .end { fill: #3d444d; }
svg .seg-valid { fill: #4ac26b; }
svg .now line { stroke: #0969da; stroke-width: 2; stroke-dasharray: 4 3; }
svg .now text { fill: #0969da; font-weight: 700; }
.legend { margin: 6px 0 0; padding: 0; list-style: none; display: flex; gap: 18px; color: #3d444d; }
.swatch { display: inline-block; width: 22px; height: 10px; vertical-align: middle; margin-right: 6px; border: 1px solid #8c959f; }
.swatch.valid { background: #4ac26b; }
.swatch.signing { background: repeating-linear-gradient(45deg, #f5c451 0 3px, #b7791f 3px 5px); }
.swatch.expired { background: repeating-linear-gradient(-45deg, #f19a9a 0 3px, #c53030 3px 5px); }
.swatch.now { border: none; border-left: 2px dashed #0969da; width: 0; height: 14px; }
footer { margin-top: 28px; color: #59636e; font-size: 12px; }
`;

/** Renders the status as one self-contained HTML document. */
export function renderStatusPage(status: RepositoryStatus, options: StatusPageOptions = {}): string {
  const now = parseTime(status.now);
  const version = options.version ?? tufctlVersion();
  const name = options.repositoryName;
  const title = name ? `TUF repository status: ${name}` : 'TUF repository status';
  const attention = status.roles.filter(
    (r) =>
      r.state !== 'valid' ||
      r.valid < r.threshold ||
      (r.previous !== undefined && r.previous.valid < r.previous.threshold) ||
      (r.bins?.unsigned ?? 0) > 0,
  ).length;
  const summary = status.ok
    ? `<p class="summary ok" data-ok="true">✓ All ${status.roles.length} roles are signed and unexpired${attention > 0 ? ` (${attention} in signing period)` : ''}</p>`
    : `<p class="summary attention" data-ok="false">✗ Attention needed: ${attention} of ${status.roles.length} roles are not fully signed, expired or due for re-signing</p>`;
  const generated = formatDateTime(now);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tufctl ${escapeHtml(version)}">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Generated <time datetime="${escapeHtml(status.now)}">${generated}</time> by tufctl ${escapeHtml(version)}${name ? ` · repository <strong class="repository">${escapeHtml(name)}</strong>` : ''}</p>
${summary}
</header>
<main>
<h2>Roles</h2>
<table class="roles">
<thead><tr><th scope="col">Role</th><th scope="col">Version</th><th scope="col">Expires</th><th scope="col">Signing period starts</th><th scope="col">State</th><th scope="col">Signatures</th><th scope="col">Missing signers</th></tr></thead>
<tbody>
${status.roles.map((r) => tableRow(r, now)).join('\n')}
</tbody>
</table>
<h2>Expiry timeline</h2>
${timeline(status, now)}
<ul class="legend">
<li><span class="swatch valid"></span>valid</li>
<li><span class="swatch signing"></span>signing period (re-sign due)</li>
<li><span class="swatch expired"></span>expired</li>
<li><span class="swatch now"></span>now</li>
</ul>
<p class="sub">Time axis: square-root scale around now, so short-lived roles (timestamp) stay visible next to long-lived ones.</p>
</main>
<footer>A role is due for re-signing from the start of its signing period and is rejected by clients after it expires.</footer>
</body>
</html>
`;
}

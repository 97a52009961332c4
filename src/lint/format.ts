/**
 * Client-compatibility findings as people read them: one line each for the
 * terminal, and a Markdown section for the validate report.
 */
import type { ClientFinding } from './findings.js';

/** `[tuf-js before 6.0.2] refuses: message (limit: …; source: …)`. */
export function findingLine(f: ClientFinding): string {
  const who = f.client === 'sigstore' ? f.library : f.versions;
  return `[${who}] ${f.effect}: ${f.subject}: ${f.message} (limit: ${f.limit}; source: ${f.source})`;
}

/** Lines for the terminal: a count, then one line per finding. */
export function findingLines(findings: readonly ClientFinding[]): string[] {
  if (findings.length === 0) return ['no client-compatibility findings'];
  return [`${findings.length} client-compatibility finding(s):`, ...findings.map((f) => `! ${findingLine(f)}`)];
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown section (empty when there is nothing to say), listing at most `max` findings. */
export function findingsMarkdown(findings: readonly ClientFinding[], max = 50): string[] {
  if (findings.length === 0) return [];
  const lines = ['#### Client compatibility', '', '| client | effect | what | why | limit |', '| --- | --- | --- | --- | --- |'];
  for (const f of findings.slice(0, max)) {
    const who = f.client === 'sigstore' ? f.library : f.versions;
    lines.push(`| ${cell(who)} | ${f.effect} | ${cell(f.subject)} | ${cell(f.message)} | ${cell(f.limit)} |`);
  }
  if (findings.length > max) lines.push(`| … and ${findings.length - max} more | | | | |`);
  lines.push('', 'Warnings only: `tufctl lint` lists them with their client sources (docs/clients.md).', '');
  return lines;
}

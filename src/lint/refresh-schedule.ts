/**
 * How often the refresh job runs: the longest gap between two runs of the
 * schedule in `.github/workflows/refresh.yml` (the template runs it every
 * 6 hours), which bounds how late a due timestamp or snapshot is re-signed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const REFRESH_WORKFLOW = '.github/workflows/refresh.yml';
/** The template's schedule: every 6 hours. */
export const DEFAULT_REFRESH_HOURS = 6;

export interface RefreshSchedule {
  /** Longest gap between two runs, in hours. */
  hours: number;
  /** Where the figure comes from, for messages. */
  from: string;
}

const MINUTES_PER_WEEK = 7 * 24 * 60;

/** The values a cron field allows (`*`, `N`, `A-B`, `*` or `A-B` with `/STEP`, comma lists), or undefined if unreadable. */
function fieldValues(field: string, min: number, max: number): Set<number> | undefined {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) return undefined;
    const from = match[1] === '*' ? min : Number(match[2]);
    const to = match[1] === '*' ? max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? max : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < min || to > max || from > to || step < 1) return undefined;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/**
 * Minutes of the week (0 = Sunday 00:00) at which a five-field cron line
 * runs. Only schedules that repeat every week are read: day of month and
 * month must be `*`.
 */
export function cronMinutesOfWeek(cron: string): number[] | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 || fields[2] !== '*' || fields[3] !== '*') return undefined;
  const minutes = fieldValues(fields[0]!, 0, 59);
  const hours = fieldValues(fields[1]!, 0, 23);
  const days = fieldValues(fields[4]!.replace(/\b7\b/g, '0'), 0, 6);
  if (!minutes || !hours || !days) return undefined;
  const result: number[] = [];
  for (const d of [...days].sort((a, b) => a - b))
    for (const h of [...hours].sort((a, b) => a - b))
      for (const m of [...minutes].sort((a, b) => a - b)) result.push((d * 24 + h) * 60 + m);
  return result;
}

/** The longest gap, in hours, between runs of the given cron lines over a week (cyclic). */
export function longestGapHours(crons: string[]): number | undefined {
  const runs = new Set<number>();
  for (const cron of crons) {
    const minutes = cronMinutesOfWeek(cron);
    if (!minutes) return undefined;
    for (const m of minutes) runs.add(m);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  let gap = sorted[0]! + MINUTES_PER_WEEK - sorted[sorted.length - 1]!;
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]! - sorted[i - 1]!);
  return gap / 60;
}

/** The refresh job's schedule read from the repository's workflow; the template's 6 hours when it has none we can read. */
export function refreshSchedule(dir: string): RefreshSchedule {
  const path = join(dir, REFRESH_WORKFLOW);
  const fallback: RefreshSchedule = {
    hours: DEFAULT_REFRESH_HOURS,
    from: `the template's schedule (${REFRESH_WORKFLOW} has no schedule tufctl can read)`,
  };
  if (!existsSync(path)) return fallback;
  let crons: string[] = [];
  try {
    const workflow = parse(readFileSync(path, 'utf8')) as { on?: { schedule?: { cron?: unknown }[] } } | null;
    const schedule = workflow?.on?.schedule;
    crons = Array.isArray(schedule) ? schedule.flatMap((s) => (typeof s?.cron === 'string' ? [s.cron] : [])) : [];
  } catch {
    return fallback;
  }
  const hours = crons.length > 0 ? longestGapHours(crons) : undefined;
  return hours === undefined ? fallback : { hours, from: `${REFRESH_WORKFLOW} (cron ${crons.map((c) => `'${c}'`).join(', ')})` };
}

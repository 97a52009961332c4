/**
 * The client rule about time: every client refuses expired metadata, so the
 * online roles (timestamp, snapshot) must be re-signed by the refresh job
 * before they expire — their expiry and signing periods against the job's
 * schedule.
 */
import type { Library } from './client-rules.js';
import { finding, type LibraryFinding } from './findings.js';
import type { LintModel } from './repository-facts.js';
import type { RefreshSchedule } from './refresh-schedule.js';
import { DEFAULT_PERIODS, readPeriods } from '../metadata/expiry.js';
import { isJSONObject } from '../metadata/json.js';
import { own } from '../metadata/strict-json.js';

const hoursText = (h: number): string => (h % 24 === 0 ? `${h / 24} day(s)` : `${h} hour(s)`);

export function expiryFindings(library: Library, model: LintModel, schedule: RefreshSchedule): LibraryFinding[] {
  const roles = isJSONObject(model.root.envelope.signed.roles) ? model.root.envelope.signed.roles : {};
  const findings: LibraryFinding[] = [];
  const every = `the refresh job runs every ${hoursText(schedule.hours)} at most (${schedule.from})`;
  for (const role of ['timestamp', 'snapshot'] as const) {
    const entry = own<unknown>(roles, role);
    const periods = readPeriods(isJSONObject(entry) ? entry : undefined, DEFAULT_PERIODS[role]);
    const expiryHours = periods.expiryDays * 24;
    const signingHours = periods.signingDays * 24;
    const subject = `${role} expiry (${periods.expiryDays} day(s), re-signed in the last ${periods.signingDays})`;
    const limit = `${role} must stay valid until the next refresh run`;
    let message: string | undefined;
    if (expiryHours <= schedule.hours) {
      message = `${role} is valid for ${hoursText(expiryHours)} after signing but ${every}: between runs clients refuse it as expired`;
    } else if (signingHours < schedule.hours) {
      message = `${role} is re-signed only in its last ${hoursText(signingHours)} but ${every}: it can expire before a run falls in that window, and clients refuse it`;
    } else if (signingHours < 2 * schedule.hours) {
      message = `${role} is re-signed only in its last ${hoursText(signingHours)} and ${every}: one failed or late run lets it expire, and clients refuse it`;
    }
    if (message) findings.push(finding(library, 'expiry-refresh', { subject, effect: 'refuses', message, limit, source: library.expiry }));
  }
  return findings;
}

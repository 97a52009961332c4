/**
 * Expiry and signing periods, in tuf-on-ci's custom fields.
 *
 * Root, targets and delegated roles keep `x-tuf-on-ci-expiry-period` and
 * `x-tuf-on-ci-signing-period` (days) in their own `signed`; snapshot and
 * timestamp keep them in `root.signed.roles.<role>`. A role is due for
 * re-signing once `now >= expires - signing period`.
 */
import type { JSONObject } from './json.js';
import { isJSONObject } from './json.js';
import { UsageError } from '../errors.js';

export const EXPIRY_FIELD = 'x-tuf-on-ci-expiry-period';
export const SIGNING_FIELD = 'x-tuf-on-ci-signing-period';

export interface Periods {
  /** Days from signing to expiry. */
  expiryDays: number;
  /** Days before expiry when re-signing becomes due. */
  signingDays: number;
}

export const DEFAULT_PERIODS: Record<'root' | 'targets' | 'snapshot' | 'timestamp' | 'delegated', Periods> = {
  root: { expiryDays: 365, signingDays: 60 },
  targets: { expiryDays: 365, signingDays: 60 },
  snapshot: { expiryDays: 365, signingDays: 60 },
  timestamp: { expiryDays: 2, signingDays: 1 },
  delegated: { expiryDays: 365, signingDays: 60 },
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** The longest expiry or signing period: 100 years (beyond it a period is a mistake, and far enough it is not a date). */
export const MAX_PERIOD_DAYS = 36_500;

const isPeriod = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_PERIOD_DAYS;

/**
 * Reads the periods from the object that holds them (a role's `signed`, or a
 * root role entry). A value that is no whole number of days from 1 to
 * MAX_PERIOD_DAYS counts as absent, as a missing one does.
 */
export function readPeriods(holder: JSONObject | undefined, fallback: Periods): Periods {
  const expiry = holder?.[EXPIRY_FIELD];
  const signing = holder?.[SIGNING_FIELD];
  const expiryDays = isPeriod(expiry) ? expiry : fallback.expiryDays;
  // tuf-on-ci: the signing period defaults to half the expiry period.
  const signingDays = isPeriod(signing) ? signing : isPeriod(expiry) ? Math.floor(expiry / 2) : fallback.signingDays;
  return { expiryDays, signingDays };
}

export function writePeriods(holder: JSONObject, periods: Periods): void {
  assertPeriods(periods);
  holder[EXPIRY_FIELD] = periods.expiryDays;
  holder[SIGNING_FIELD] = periods.signingDays;
}

export function assertPeriods(periods: Periods): void {
  const { expiryDays, signingDays } = periods;
  if (!isPeriod(expiryDays))
    throw new UsageError(`expiry period must be a whole number of days from 1 to ${MAX_PERIOD_DAYS} (got ${expiryDays})`);
  if (!isPeriod(signingDays))
    throw new UsageError(`signing period must be a whole number of days from 1 to ${MAX_PERIOD_DAYS} (got ${signingDays})`);
  if (signingDays >= expiryDays && expiryDays > 1) {
    throw new UsageError(`signing period (${signingDays} days) must be shorter than the expiry period (${expiryDays} days)`);
  }
}

/** TUF's expiry format: UTC, second precision, `Z` suffix. */
export function formatExpiry(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function expiryFrom(now: Date, days: number): string {
  return formatExpiry(new Date(Math.floor(now.getTime() / 1000) * 1000 + days * DAY_MS));
}

export function parseExpiry(value: unknown): Date | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export type SigningState = 'valid' | 'in-signing-period' | 'expired';

export function signingState(expires: Date, periods: Periods, now: Date): SigningState {
  if (now.getTime() >= expires.getTime()) return 'expired';
  if (now.getTime() >= expires.getTime() - periods.signingDays * DAY_MS) return 'in-signing-period';
  return 'valid';
}

export function signingPeriodStart(expires: Date, periods: Periods): Date {
  return new Date(expires.getTime() - periods.signingDays * DAY_MS);
}

export function isRecord(value: unknown): value is JSONObject {
  return isJSONObject(value);
}

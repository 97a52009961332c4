/**
 * The refresh decision table (docs/refresh.md), as a pure function of the
 * roles' states and the time.
 *
 * A role is due when `now >= expires - signing period`. Snapshot is signed
 * when any targets role changed, it is not validly signed, it is due, or the
 * registry holds a newer snapshot than the checkout (a checkout older than
 * the registry: git's snapshot would be a rollback). Timestamp is signed when
 * snapshot is signed now, it is not validly signed, it is due, the registry
 * holds a newer timestamp than the checkout, or when forced. New versions
 * are the floor + 1, the floor being the higher of git's and the registry's
 * version. Offline roles (root, targets, delegated roles) are never signed
 * here: those inside their signing period are reported.
 */

import { formatExpiry, signingPeriodStart, signingState, type Periods } from '../metadata/expiry.js';

export interface OnlineRoleState {
  /** Version in the checkout. */
  version: number;
  /** Expiry of the copy clients see now: the higher version of git's and the registry's. */
  expires: Date;
  periods: Periods;
  /** The checkout's copy is signed by its threshold of trusted keys. */
  validlySigned: boolean;
  /** Highest version in the registry, if anything is published. */
  publishedVersion?: number;
}

export interface OfflineRoleState {
  role: string;
  version: number;
  expires: Date;
  periods: Periods;
}

export interface RefreshInputs {
  now: Date;
  /** Targets roles whose version or hashes differ from what snapshot lists (e.g. "targets v3"). */
  changedTargetsRoles: string[];
  snapshot: OnlineRoleState;
  timestamp: OnlineRoleState;
  offline: OfflineRoleState[];
  force?: boolean;
}

export interface OnlineDecision {
  sign: boolean;
  reasons: string[];
  /** The version to sign (floor + 1) when sign is true; the current one otherwise. */
  version: number;
  floor: number;
}

export interface OfflineNotice {
  role: string;
  version: number;
  expires: string;
  signingPeriodStart: string;
  state: 'in-signing-period' | 'expired';
}

export interface RefreshPlan {
  snapshot: OnlineDecision;
  timestamp: OnlineDecision;
  offline: OfflineNotice[];
}

const iso = formatExpiry;

function reasonsToSign(role: 'snapshot' | 'timestamp', state: OnlineRoleState, now: Date): string[] {
  const reasons: string[] = [];
  if (!state.validlySigned) reasons.push(`${role} v${state.version} in the checkout is not validly signed`);
  const due = signingState(state.expires, state.periods, now);
  if (due === 'expired') reasons.push(`${role} expired at ${iso(state.expires)}`);
  else if (due === 'in-signing-period') {
    reasons.push(`${role} is due: expires ${iso(state.expires)}, signing period of ${state.periods.signingDays} day(s) started`);
  }
  if (state.publishedVersion !== undefined && state.publishedVersion > state.version) {
    reasons.push(`the registry holds ${role} v${state.publishedVersion}, newer than the checkout's v${state.version}`);
  }
  return reasons;
}

/** Sign at floor + 1 (the higher of the checkout's and the registry's version) when anything calls for it. */
function decision(state: OnlineRoleState, reasons: string[]): OnlineDecision {
  const floor = Math.max(state.version, state.publishedVersion ?? 0);
  const sign = reasons.length > 0;
  return { sign, reasons: sign ? reasons : ['up to date'], version: sign ? floor + 1 : state.version, floor };
}

export function decideRefresh(inputs: RefreshInputs): RefreshPlan {
  const { now } = inputs;
  const snapshotReasons = reasonsToSign('snapshot', inputs.snapshot, now);
  if (inputs.changedTargetsRoles.length > 0) snapshotReasons.unshift(`targets roles changed: ${inputs.changedTargetsRoles.join(', ')}`);
  const snapshot = decision(inputs.snapshot, snapshotReasons);
  const timestampReasons = reasonsToSign('timestamp', inputs.timestamp, now);
  if (snapshot.sign) timestampReasons.unshift(`snapshot v${snapshot.version} is new`);
  if (inputs.force) timestampReasons.push('forced');
  const timestamp = decision(inputs.timestamp, timestampReasons);
  const offline = offlineNotices(inputs.offline, now);
  return { snapshot, timestamp, offline };
}

/** The offline roles inside their signing period or expired: they need their key owners. */
export function offlineNotices(roles: OfflineRoleState[], now: Date): OfflineNotice[] {
  const notices: OfflineNotice[] = [];
  for (const role of roles) {
    const state = signingState(role.expires, role.periods, now);
    if (state === 'valid') continue;
    notices.push({
      role: role.role,
      version: role.version,
      expires: iso(role.expires),
      signingPeriodStart: iso(signingPeriodStart(role.expires, role.periods)),
      state,
    });
  }
  return notices;
}

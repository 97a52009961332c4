/**
 * The refresh decision table (docs/refresh.md), case by case: each row of
 * the table is one test of decideRefresh, a pure function of role states
 * and the time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRefresh, type OnlineRoleState, type RefreshInputs } from '../../src/refresh/decide.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const hours = (h: number): Date => new Date(NOW.getTime() + h * 3600_000);
const days = (d: number): Date => hours(d * 24);

function online(overrides: Partial<OnlineRoleState> = {}, expiryDays = 2, signingDays = 1): OnlineRoleState {
  return { version: 10, expires: days(1.5), periods: { expiryDays, signingDays }, validlySigned: true, ...overrides };
}

function inputs(overrides: Partial<RefreshInputs> = {}): RefreshInputs {
  return {
    now: NOW,
    changedTargetsRoles: [],
    snapshot: online({ version: 5, expires: days(200) }, 365, 60),
    timestamp: online(),
    offline: [],
    ...overrides,
  };
}

test('nothing due: nothing is signed', () => {
  const plan = decideRefresh(inputs());
  assert.equal(plan.snapshot.sign, false);
  assert.equal(plan.timestamp.sign, false);
  assert.deepEqual(plan.timestamp.reasons, ['up to date']);
});

test('timestamp inside its signing period: timestamp only, at version + 1', () => {
  const plan = decideRefresh(inputs({ timestamp: online({ expires: hours(20) }) }));
  assert.equal(plan.snapshot.sign, false);
  assert.equal(plan.timestamp.sign, true);
  assert.equal(plan.timestamp.version, 11);
  assert.match(plan.timestamp.reasons[0]!, /timestamp is due/);
});

test('timestamp expired: signed', () => {
  const plan = decideRefresh(inputs({ timestamp: online({ expires: hours(-1) }) }));
  assert.equal(plan.timestamp.sign, true);
  assert.match(plan.timestamp.reasons.join(), /expired/);
});

test('timestamp not validly signed: signed', () => {
  const plan = decideRefresh(inputs({ timestamp: online({ validlySigned: false }) }));
  assert.equal(plan.timestamp.sign, true);
  assert.match(plan.timestamp.reasons.join(), /not validly signed/);
});

test('--force: timestamp signed although not due', () => {
  const plan = decideRefresh(inputs({ force: true }));
  assert.equal(plan.snapshot.sign, false);
  assert.equal(plan.timestamp.sign, true);
  assert.deepEqual(plan.timestamp.reasons, ['forced']);
});

test('targets metadata changed: snapshot and timestamp signed', () => {
  const plan = decideRefresh(inputs({ changedTargetsRoles: ['targets v3'] }));
  assert.equal(plan.snapshot.sign, true);
  assert.equal(plan.snapshot.version, 6);
  assert.match(plan.snapshot.reasons[0]!, /targets roles changed: targets v3/);
  assert.equal(plan.timestamp.sign, true);
  assert.match(plan.timestamp.reasons[0]!, /snapshot v6 is new/);
});

test('snapshot inside its signing period: snapshot and timestamp signed', () => {
  const plan = decideRefresh(inputs({ snapshot: online({ version: 5, expires: days(30) }, 365, 60) }));
  assert.equal(plan.snapshot.sign, true);
  assert.equal(plan.timestamp.sign, true);
});

test('snapshot not validly signed: snapshot and timestamp signed', () => {
  const plan = decideRefresh(inputs({ snapshot: online({ version: 5, expires: days(200), validlySigned: false }, 365, 60) }));
  assert.equal(plan.snapshot.sign, true);
  assert.equal(plan.timestamp.sign, true);
});

test('registry ahead of the checkout: new versions above the registry, never below', () => {
  const plan = decideRefresh(
    inputs({
      snapshot: online({ version: 5, publishedVersion: 7, expires: days(200) }, 365, 60),
      timestamp: online({ version: 10, publishedVersion: 14, expires: hours(30) }),
    }),
  );
  assert.equal(plan.snapshot.sign, true, 'git snapshot v5 would be a rollback for clients that saw v7');
  assert.equal(plan.snapshot.version, 8);
  assert.equal(plan.timestamp.sign, true);
  assert.equal(plan.timestamp.version, 15);
  assert.match(plan.timestamp.reasons.join(), /registry holds timestamp v14/);
});

test('registry behind the checkout: versions continue from the checkout', () => {
  const plan = decideRefresh(inputs({ timestamp: online({ version: 10, publishedVersion: 8, expires: hours(20) }) }));
  assert.equal(plan.timestamp.version, 11);
  assert.equal(plan.timestamp.floor, 10);
});

test('offline roles are flagged from the start of their signing period, and when expired', () => {
  const periods = { expiryDays: 365, signingDays: 60 };
  const plan = decideRefresh(
    inputs({
      offline: [
        { role: 'root', version: 1, expires: days(61), periods },
        { role: 'targets', version: 3, expires: days(60), periods },
        { role: 'doi', version: 2, expires: hours(-1), periods },
      ],
    }),
  );
  assert.deepEqual(
    plan.offline.map((o) => [o.role, o.state]),
    [
      ['targets', 'in-signing-period'],
      ['doi', 'expired'],
    ],
  );
  assert.equal(plan.offline[0]!.signingPeriodStart, '2026-06-01T12:00:00Z');
});

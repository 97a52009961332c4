/**
 * Signing groups (src/refresh/signing-groups.ts) case by case: which offline
 * roles are candidates, how they are clustered from the first due role, and
 * how a group's branch is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  groupBranchName,
  groupCandidates,
  groupCandidatesOf,
  isGroupDays,
  memberToken,
  type GroupCandidate,
} from '../../src/refresh/signing-groups.js';

const NOW = new Date('2027-06-01T00:00:00Z');
const DAY = 24 * 3600_000;
const at = (days: number): string => new Date(NOW.getTime() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A role whose signing period starts `start` days from NOW (60-day signing period). */
function role(name: string, start: number, version = 1): GroupCandidate {
  return {
    role: name,
    version,
    expires: at(start + 60),
    signingPeriodStart: at(start),
    state: start + 60 <= 0 ? 'expired' : start <= 0 ? 'in-signing-period' : 'upcoming',
  };
}

const names = (groups: GroupCandidate[][]): string[][] => groups.map((g) => g.map((c) => c.role));

test('candidates: due roles and those whose signing period starts within DAYS; the rest are left out', () => {
  const periods = { expiryDays: 365, signingDays: 60 };
  const expiring = (name: string, inDays: number): { role: string; version: number; expires: Date; periods: typeof periods } => ({
    role: name,
    version: 3,
    expires: new Date(NOW.getTime() + inDays * DAY),
    periods,
  });
  const candidates = groupCandidatesOf([expiring('root', -1), expiring('targets', 30), expiring('a', 66), expiring('b', 68)], NOW, 7);
  assert.deepEqual(
    candidates.map((c) => [c.role, c.state, c.signingPeriodStart]),
    [
      ['root', 'expired', at(-61)],
      ['targets', 'in-signing-period', at(-30)],
      ['a', 'upcoming', at(6)],
    ],
  );
});

test('grouping: from the first due role, every role starting within DAYS of it; a due role further on starts the next group', () => {
  const { groups, later } = groupCandidates([role('c', 7), role('root', -20), role('targets', -14), role('b', -1), role('a', 2)], NOW, 7);
  assert.deepEqual(names(groups), [
    ['root', 'targets'],
    ['a', 'b'],
  ]);
  assert.deepEqual(
    later.map((c) => c.role),
    ['c'],
  );
});

test('grouping: nothing due, nothing opened; DAYS past the start of later roles keeps them out', () => {
  assert.deepEqual(groupCandidates([role('targets', 1), role('root', 2)], NOW, 7).groups, []);
  const { groups, later } = groupCandidates([role('root', 0), role('targets', 8)], NOW, 7);
  assert.deepEqual(names(groups), [['root']]);
  assert.deepEqual(
    later.map((c) => c.role),
    ['targets'],
  );
  assert.deepEqual(
    names(groupCandidates([role('root', 0), role('targets', 7)], NOW, 7).groups),
    [['root', 'targets']],
    'DAYS is inclusive',
  );
});

test('branch names: one role as without grouping, several listed in order, a long list summarised stably', () => {
  assert.equal(groupBranchName([role('targets', 0, 6)]), 'sign/targets-v7');
  assert.equal(groupBranchName([role('root', 0, 2), role('targets', 3, 6), role('bins-*', 1, 4)]), 'sign/root-v3+targets-v7+bins-bins-v5');
  assert.equal(memberToken({ role: 'bins-*', version: 4 }), 'bins-bins-v5');
  const many = Array.from({ length: 12 }, (_, i) => role(`production-images-${i}`, i === 0 ? 0 : 1));
  const name = groupBranchName(many);
  assert.match(name, /^sign\/group-2027-06-01-[0-9a-f]{8}$/);
  assert.equal(groupBranchName([...many]), name, 'the same group, the same name');
  assert.notEqual(groupBranchName(many.slice(1)), name);
  assert.match(groupBranchName([role('a+b', 0), role('c', 1)]), /^sign\/group-/, 'a + in a role name is never listed');
});

test('group windows: whole days from 0 to 365', () => {
  for (const ok of [0, 1, 7, 365]) assert.equal(isGroupDays(ok), true, String(ok));
  for (const bad of [-1, 366, 1.5, Number.NaN, Infinity, '7', null, undefined]) assert.equal(isGroupDays(bad), false, String(bad));
});

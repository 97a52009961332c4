/**
 * `tufctl expiring --open-branches --group DAYS`: offline roles whose signing
 * periods start within DAYS of each other renewed on one branch, pushed to a
 * bare remote, signed by their key holders into a change that validates and
 * verifies; a role outside the window gets its own later branch; re-runs
 * open nothing twice, in either mode; a bin set counts as one role; bad
 * windows are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, readJson, tufctl, type Fixture } from '../helpers/harness.js';

const DAY = 24 * 3600_000;

interface Group {
  branch: string;
  created: boolean;
  pushed?: string;
  note?: string;
  roles: Array<{
    role: string;
    version: number;
    state: string;
    reason: string;
    threshold?: number;
    needs?: string;
    renewedExpires?: string;
  }>;
}

/** Root (signing period from day 305), targets (day 310) and a delegated role `images` (day 335), with a bare remote. */
function repositoryWithStaggeredRoles(): { fx: Fixture; start: number; remote: string } {
  const fx = newRepository(['--no-policies']);
  const cwd = fx.repo;
  const start = Date.parse(readJson(join(cwd, 'metadata', 'root.json')).signed.expires) - 365 * DAY;
  const at = (days: number): string => new Date(start + days * DAY).toISOString();
  ok(['expiry', 'targets', '--period', '370', '--signing-period', '60', '--sign', '--key', fx.key('targets'), '--commit', '--now', at(0)], {
    cwd,
  });
  const images = join(fx.keys, 'images.pem');
  ok(['key', 'generate', '--type', 'ed25519', '--out', images]);
  ok(['delegate', 'add', 'images', '--paths', 'images/*', '--key', join(fx.keys, 'images.pub.pem'), '--now', at(0)], { cwd });
  ok(['expiry', 'images', '--period', '395', '--signing-period', '60', '--now', at(0)], { cwd });
  ok(['sign', '--key', fx.key('targets'), '--key', images, '--commit', '--now', at(0)], { cwd });
  const remote = join(fx.root, 'remote.git');
  git(fx.root, 'init', '-q', '--bare', remote);
  git(cwd, 'remote', 'add', 'origin', remote);
  git(cwd, 'push', '-q', 'origin', 'main');
  return { fx, start, remote };
}

const signBranches = (dir: string): string[] =>
  git(dir, 'for-each-ref', '--format=%(refname)', 'refs/heads/sign/').split('\n').filter(Boolean).sort();

test('expiring --group: roles due within DAYS share one pushed branch that their keys sign into a valid change; later roles get their own; re-runs open nothing twice', () => {
  const { fx, start, remote } = repositoryWithStaggeredRoles();
  try {
    const cwd = fx.repo;
    const at = (days: number): string => new Date(start + days * DAY).toISOString();
    const renewed = (day: number, period: number): string => new Date(start + (day + period) * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const periodStart = (role: string): string => {
      const expires = Date.parse(readJson(join(cwd, 'metadata', `${role}.json`)).signed.expires);
      return new Date(expires - 60 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
    };
    assert.equal(readJson(join(cwd, 'metadata', 'targets.json')).signed.version, 3);
    assert.equal(readJson(join(cwd, 'metadata', 'images.json')).signed.version, 1);

    // Planned, not opened: without --open-branches nothing is created.
    const planned = ok(['expiring', '--group', '7', '--now', at(306), '--json'], { cwd }).json;
    assert.deepEqual(
      planned.groups.map((g: Group) => [g.branch, g.created]),
      [['sign/root-v2+targets-v4', false]],
    );
    assert.deepEqual(signBranches(cwd), []);

    // Day 306: root is due, targets starts in 4 days (within 7 of root's start), images in 29 days.
    const first = ok(['expiring', '--open-branches', '--group', '7', '--push', '--now', at(306), '--json'], { cwd }).json;
    assert.equal(first.groupDays, 7);
    assert.deepEqual(
      first.roles.map((r: { role: string }) => r.role),
      ['root'],
    );
    assert.equal(first.groups.length, 1);
    const group: Group = first.groups[0];
    assert.equal(group.branch, 'sign/root-v2+targets-v4');
    assert.equal(group.created, true);
    assert.equal(group.pushed, 'origin/sign/root-v2+targets-v4');
    assert.deepEqual(
      group.roles.map((r) => [r.role, r.version, r.state]),
      [
        ['root', 2, 'in-signing-period'],
        ['targets', 4, 'upcoming'],
      ],
    );
    assert.equal(group.roles[0]!.reason, `signing period started ${periodStart('root')}: due now`);
    assert.equal(group.roles[1]!.reason, `signing period starts ${periodStart('targets')}, 5 day(s) after root's (within 7)`);
    assert.deepEqual(
      group.roles.map((r) => [r.threshold, r.needs, r.renewedExpires]),
      [
        [1, '@alice (old and new root)', renewed(306, 365)],
        [1, '@alice', renewed(306, 370)],
      ],
    );
    assert.deepEqual(
      first.later.map((c: { role: string; version: number }) => [c.role, c.version]),
      [],
      'images starts 29 days ahead: not a candidate within 7 days',
    );
    assert.match(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/sign/'), /^refs\/heads\/sign\/root-v2\+targets-v4\n$/);
    assert.equal(git(cwd, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'main', 'the checkout stays on main');
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');

    // The branch renews both roles; the commit message says who signs what and why.
    const branch = 'sign/root-v2+targets-v4';
    assert.equal(JSON.parse(git(cwd, 'show', `${branch}:metadata/root.json`)).signed.version, 2);
    assert.equal(JSON.parse(git(cwd, 'show', `${branch}:metadata/targets.json`)).signed.version, 4);
    assert.equal(JSON.parse(git(cwd, 'show', `${branch}:metadata/images.json`)).signed.version, 1);
    const message = git(cwd, 'log', '-1', '--format=%B', branch);
    assert.match(message, /^sign: renew root v2, targets v4\n/);
    assert.match(
      message,
      /- root v2: signing period started .*: due now; expires .*, renewed until .*\.\n {2}Threshold 1; signatures needed from @alice \(old and new root\)\./,
    );
    assert.match(
      message,
      /- targets v4: signing period starts .*, 5 day\(s\) after root's \(within 7\); expires .*, renewed until .*\.\n {2}Threshold 1; signatures needed from @alice\./,
    );
    assert.match(message, /Sign with: tufctl sign root targets --key <your key> --commit/);
    assert.match(message, /Signing-role: root-v2\nSigning-role: targets-v4\n/);

    // Key holders sign the branch: validate lists both roles and is ready; after the online key's run it verifies.
    git(cwd, 'checkout', '-q', branch);
    ok(['sign', 'root', 'targets', '--key', fx.key('root'), '--key', fx.key('targets'), '--commit', '--now', at(307)], { cwd });
    const validate = tufctl(['validate', '--base', 'main', '--head', 'HEAD', '--format', 'json', '--now', at(307)], { cwd });
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    const report = JSON.parse(validate.stdout);
    assert.equal(report.result, 'ready');
    assert.deepEqual(
      report.roles.map((r: { role: string; version: { to: number } }) => [r.role, r.version.to]),
      [
        ['root', 2],
        ['targets', 4],
      ],
    );
    ok(['refresh', '--commit', '--now', at(307)], { cwd, env: { TUFCTL_ONLINE_KEY: readFileSync(fx.key('online'), 'utf8') } });
    const verified = ok(['verify', '--json', '--now', at(307)], { cwd }).json;
    assert.equal(verified.ok, true, JSON.stringify(verified.problems));
    git(cwd, 'checkout', '-q', 'main');

    // Re-run, the same day and once targets is due too: the group branch (now with a signing commit) is kept.
    for (const day of [306, 311]) {
      const again = ok(['expiring', '--open-branches', '--group', '7', '--push', '--now', at(day), '--json'], { cwd }).json;
      assert.deepEqual(
        again.groups.map((g: Group) => [g.branch, g.created, g.note, g.roles.map((r) => r.role)]),
        [[branch, false, 'exists, kept', ['root', 'targets']]],
        `day ${day}`,
      );
    }
    // Without --group the roles are not opened a second time on their own branches either.
    const single = ok(['expiring', '--open-branches', '--now', at(311), '--json'], { cwd }).json;
    assert.deepEqual(
      single.branches.map((b: { role: string; branch: string; created: boolean; note: string }) => [b.role, b.branch, b.created, b.note]),
      [
        ['root', branch, false, `being signed on ${branch}`],
        ['targets', branch, false, `being signed on ${branch}`],
      ],
    );
    // The local branch gone, the remote one still counts.
    git(cwd, 'branch', '-q', '-D', branch);
    const remoteOnly = ok(['expiring', '--open-branches', '--group', '7', '--now', at(311), '--json'], { cwd }).json;
    assert.deepEqual(
      remoteOnly.groups.map((g: Group) => [g.branch, g.created]),
      [[branch, false]],
    );
    assert.deepEqual(signBranches(cwd), []);

    // Day 336: images is due; root and targets are still on their (unmerged) group branch: images gets its own.
    const later = ok(['expiring', '--open-branches', '--group', '7', '--push', '--now', at(336)], { cwd }).stdout;
    assert.match(later, /^group sign\/root-v2\+targets-v4: exists, kept$/m);
    assert.match(later, /^group sign\/images-v2: created, pushed origin\/sign\/images-v2$/m);
    assert.match(later, /^ {2}images v2: signing period started .*: due now; threshold 1, needs /m);
    assert.deepEqual(signBranches(cwd), ['refs/heads/sign/images-v2']);
    assert.deepEqual(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/sign/').split('\n').filter(Boolean).sort(), [
      'refs/heads/sign/images-v2',
      'refs/heads/sign/root-v2+targets-v4',
    ]);
  } finally {
    fx.cleanup();
  }
});

test('expiring --group: a role due within DAYS of another but not of the first due role waits; the window comes from tufctl.json; bad windows are refused', () => {
  const { fx, start } = repositoryWithStaggeredRoles();
  try {
    const cwd = fx.repo;
    const at = (days: number): string => new Date(start + days * DAY).toISOString();
    // Day 308 with a 3-day window: targets starts in 2 days but 5 days after root, so it waits for a later run.
    const narrow = ok(['expiring', '--group', '3', '--now', at(308), '--json'], { cwd }).json;
    assert.deepEqual(
      narrow.groups.map((g: Group) => [g.branch, g.roles.map((r) => r.role)]),
      [['sign/root-v2', ['root']]],
    );
    assert.deepEqual(
      narrow.later.map((c: { role: string; state: string }) => [c.role, c.state]),
      [['targets', 'upcoming']],
    );
    // Day 336 with a 30-day window: every role in one group, named after all three.
    const wide = ok(['expiring', '--group', '30', '--now', at(336), '--json'], { cwd }).json;
    assert.deepEqual(
      wide.groups.map((g: Group) => g.branch),
      ['sign/root-v2+targets-v4+images-v2'],
    );

    // signingGroupDays in tufctl.json is the default; --group 0 restores one branch per role.
    const configPath = join(cwd, 'tufctl.json');
    const config = readJson(configPath);
    writeFileSync(configPath, JSON.stringify({ ...config, signingGroupDays: 7 }, null, 2) + '\n');
    const fromConfig = ok(['expiring', '--now', at(306), '--json'], { cwd }).json;
    assert.equal(fromConfig.groupDays, 7);
    assert.deepEqual(
      fromConfig.groups.map((g: Group) => g.branch),
      ['sign/root-v2+targets-v4'],
    );
    const perRole = ok(['expiring', '--group', '0', '--open-branches', '--now', at(311), '--json'], { cwd }).json;
    assert.equal(perRole.groups, undefined);
    assert.deepEqual(
      perRole.branches.map((b: { branch: string; created: boolean }) => [b.branch, b.created]),
      [
        ['sign/root-v2', true],
        ['sign/targets-v4', true],
      ],
    );
    git(cwd, 'branch', '-q', '-D', 'sign/root-v2', 'sign/targets-v4');

    for (const bad of ['-1', '366', '1.5', 'soon', '1e9']) {
      const r = tufctl(['expiring', '--open-branches', '--group', bad, '--now', at(306)], { cwd });
      assert.equal(r.code, 2, `--group ${bad}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^tufctl: error \[USAGE\]: --group must be a whole number of days from 0 to 365 \(got .*\)\n$/,
        `--group ${bad}`,
      );
    }
    for (const bad of ['"7"', '-3', '400', '2.5', 'null']) {
      writeFileSync(configPath, JSON.stringify(config, null, 2).replace(/\n}$/, `,\n  "signingGroupDays": ${bad}\n}\n`));
      const r = tufctl(['expiring', '--open-branches', '--now', at(306)], { cwd });
      assert.equal(r.code, 1, `signingGroupDays ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /error \[CONFIG_INVALID\]: tufctl\.json: signingGroupDays must be a whole number of days from 0 to 365/);
    }
    assert.deepEqual(signBranches(cwd), [], 'nothing was opened by a refused run');
  } finally {
    fx.cleanup();
  }
});

test('expiring --group: a bin set joins the group as one role, every bin renewed; signed with --base, the change is ready', () => {
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    const bins = join(fx.keys, 'bins.pem');
    ok(['key', 'generate', '--type', 'ed25519', '--out', bins]);
    ok(['delegate', 'add', 'pkgs', '--bins', '4', '--key', join(fx.keys, 'bins.pub.pem')], { cwd });
    ok(['sign', '--key', fx.key('targets'), '--key', bins, '--commit'], { cwd });
    const now = new Date(Date.now() + 306 * DAY).toISOString();
    const run = ok(['expiring', '--open-branches', '--group', '1', '--now', now, '--json'], { cwd }).json;
    const group: Group = run.groups[0];
    assert.equal(run.groups.length, 1);
    assert.equal(group.branch, 'sign/root-v2+targets-v3+pkgs-bins-v2');
    assert.deepEqual(
      group.roles.map((r) => [r.role, r.version]),
      [
        ['root', 2],
        ['targets', 3],
        ['pkgs-*', 2],
      ],
    );
    assert.match(group.roles[2]!.reason, /less than a day after root's \(within 1\)$/);
    for (const bin of ['pkgs-0', 'pkgs-1', 'pkgs-2', 'pkgs-3'])
      assert.equal(JSON.parse(git(cwd, 'show', `${group.branch}:metadata/${bin}.json`)).signed.version, 2, bin);
    const message = git(cwd, 'log', '-1', '--format=%B', group.branch);
    const base = git(cwd, 'rev-parse', 'main').trim().slice(0, 12);
    assert.match(message, new RegExp(`Sign with: tufctl sign --base ${base} --key <your key> --commit`));
    assert.match(message, /Signing-role: pkgs-bins-v2\n/);

    git(cwd, 'checkout', '-q', group.branch);
    ok(['sign', '--base', base, '--key', fx.key('root'), '--key', fx.key('targets'), '--key', bins, '--commit', '--now', now], { cwd });
    const validate = tufctl(['validate', '--base', 'main', '--format', 'json', '--now', now], { cwd });
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    assert.deepEqual(
      JSON.parse(validate.stdout)
        .roles.map((r: { role: string }) => r.role)
        .sort(),
      ['pkgs-0', 'pkgs-1', 'pkgs-2', 'pkgs-3', 'root', 'targets'],
    );
  } finally {
    fx.cleanup();
  }
});

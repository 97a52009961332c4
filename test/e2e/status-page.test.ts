/**
 * `tufctl status --html` and the status.html that `tufctl export` publishes:
 * the page is rendered by a real headless Chromium (Debian's chromium), which
 * takes a screenshot (kept in test-artifacts/status-page.png) and dumps the
 * DOM it built; every role, its version and its timeline bar must be there,
 * with nothing loaded from the network and no scripts. Plus escaping of
 * user-controlled text and deterministic output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_DIR, newRepository, ok, readJson } from '../helpers/harness.js';
import { escapeHtml, renderStatusPage } from '../../src/status-page.js';
import type { RepositoryStatus } from '../../src/status.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_TIMEOUT_MS = 60_000;
const ARTIFACT_DIR = join(PROJECT_DIR, 'test-artifacts');

interface ChromiumResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs headless Chromium in its own process group with a fresh profile; the
 * whole group (browser, zygote, renderers) is killed when the browser exits
 * or after 60 s, whichever comes first.
 */
function chromium(args: string[]): Promise<ChromiumResult> {
  const profile = mkdtempSync(join(tmpdir(), 'tufctl-chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--window-size=1280,1000',
  ];
  return new Promise<ChromiumResult>((resolvePromise, reject) => {
    const child = spawn(CHROMIUM, [...flags, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let settled = false;
    const finish = (error: Error | undefined, code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup(child.pid);
      rmSync(profile, { recursive: true, force: true });
      if (error) reject(error);
      else resolvePromise({ code, stdout, stderr });
    };
    const timer = setTimeout(
      () => finish(new Error(`chromium did not finish within ${CHROMIUM_TIMEOUT_MS / 1000} s\n${stderr.slice(-2000)}`), null),
      CHROMIUM_TIMEOUT_MS,
    );
    child.on('error', (error) => finish(error, null));
    // Helpers may keep stdout open after the browser exits: kill the group, then collect.
    child.on('exit', () => killGroup(child.pid));
    child.on('close', (code) => finish(undefined, code));
  });
}

function assertChromium(): void {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the status page test needs Debian's chromium package (npm test installs it as root: apt-get install chromium)`,
  );
}

/** Remote references a page could load: src/href/xlink:href/url()/@import with http(s) or protocol-relative URLs. */
function remoteReferences(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b(?:src|href|xlink:href|srcset|action|poster|data)\s*=\s*["']?\s*((?:https?:)?\/\/[^"'\s>]*)/gi))
    found.push(m[0]);
  for (const m of html.matchAll(/(?:url\(\s*["']?|@import\s+["']?)((?:https?:)?\/\/[^"')\s]*)/gi)) found.push(m[0]);
  return found;
}

function rowOf(dom: string, role: string): string | undefined {
  const open = `<tr data-role="${escapeHtml(role)}"`;
  const start = dom.indexOf(open);
  if (start < 0) return undefined;
  return dom.slice(start, dom.indexOf('</tr>', start));
}

test('status --html: every role, version and timeline bar, rendered by headless Chromium; export publishes status.html', async () => {
  assertChromium();
  const fx = newRepository(['--no-policies']);
  try {
    const cwd = fx.repo;
    for (const name of ['doi', 'pkgs', 'bins']) ok(['key', 'generate', '--out', join(fx.keys, `${name}.pem`)]);
    // A delegated role whose key owner is markup, and a set of hashed bins below a path-delegated role.
    ok(['delegate', 'add', 'doi', '--paths', 'doi/*', '--key', join(fx.keys, 'doi.pub.pem'), '--owner', '@a'], { cwd });
    // Commands refuse such an owner; a pull request can still write one into the metadata.
    const targetsFile = join(cwd, 'metadata', 'targets.json');
    writeFileSync(targetsFile, readFileSync(targetsFile, 'utf8').replace('"@a"', '"@a<script>"'));
    ok(['delegate', 'add', 'pkgs', '--paths', 'pkgs/*', '--key', join(fx.keys, 'pkgs.pub.pem')], { cwd });
    ok(['delegate', 'add', 'pkgbin', '--bins', '8', '--from', 'pkgs', '--key', join(fx.keys, 'bins.pub.pem')], { cwd });
    // doi stays unsigned: the page must name its missing signer.
    ok(['sign', ...['targets', 'pkgs', 'bins'].flatMap((k) => ['--key', fx.key(k)])], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });

    // 36 hours on: the two-day timestamp is in its one-day signing period.
    const now = new Date(Date.now() + 36 * 60 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const page = join(fx.root, 'status.html');
    const withHtml = ok(['status', '--now', now, '--html', page], { cwd });
    assert.match(withHtml.stdout, new RegExp(`^wrote ${page.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(withHtml.stdout, /^timestamp .*IN SIGNING PERIOD/m);
    const html = readFileSync(page, 'utf8');

    // --json is unaffected by --html; the page is deterministic for a status and now.
    const plain = ok(['status', '--now', now, '--json'], { cwd });
    const page2 = join(fx.root, 'status2.html');
    const json = ok(['status', '--now', now, '--json', '--html', page2], { cwd });
    assert.deepEqual(json.json, plain.json);
    assert.equal(readFileSync(page2, 'utf8'), html, 'same status and now give the same page');
    const status = plain.json as RepositoryStatus;
    const roles = status.roles.map((r) => r.role);
    assert.deepEqual(roles, ['root', 'timestamp', 'snapshot', 'targets', 'doi', 'pkgs', 'pkgbin-*']);

    // Self-contained: no scripts, nothing remote, not even an http(s) URL in the source.
    assert.doesNotMatch(html, /<script/i);
    assert.deepEqual(remoteReferences(html), []);
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /<link\b/i);

    // Screenshot.
    mkdirSync(ARTIFACT_DIR, { recursive: true });
    const png = join(ARTIFACT_DIR, 'status-page.png');
    rmSync(png, { force: true });
    const shot = await chromium([`--screenshot=${png}`, pathToFileURL(page).href]);
    assert.equal(shot.code, 0, `chromium --screenshot failed:\n${shot.stderr.slice(-2000)}`);
    assert.ok(existsSync(png), `screenshot written to ${png}`);
    const bytes = readFileSync(png);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.ok(statSync(png).size > 10 * 1024, `screenshot is not tiny (${statSync(png).size} bytes)`);

    // The DOM Chromium built from the page.
    const dumped = await chromium(['--dump-dom', pathToFileURL(page).href]);
    assert.equal(dumped.code, 0, `chromium --dump-dom failed:\n${dumped.stderr.slice(-2000)}`);
    const dom = dumped.stdout;
    assert.match(dom, /<table class="roles">/);
    assert.doesNotMatch(dom, /<script/i);
    assert.deepEqual(remoteReferences(dom), []);
    for (const r of status.roles) {
      const row = rowOf(dom, r.role);
      assert.ok(row, `table row for ${r.role}`);
      assert.match(row, new RegExp(`<td class="version">${r.version}</td>`), `${r.role} shows v${r.version}`);
      const state = { valid: 'valid', 'in-signing-period': 'in signing period', expired: 'expired' }[r.state];
      assert.match(row, new RegExp(`data-state="${r.state}"`));
      assert.ok(row.includes(state), `${r.role} state in words: ${state}`);
    }
    assert.equal(readJson(join(cwd, 'metadata', 'doi.json')).signed.version, status.roles.find((r) => r.role === 'doi')!.version);
    assert.match(rowOf(dom, 'timestamp')!, /in signing period/);
    assert.match(rowOf(dom, 'pkgbin-*')!, /8\/8 bins signed/);
    // The key owner is text, not markup.
    assert.match(rowOf(dom, 'doi')!, /<span class="owner">@a&lt;script&gt;<\/span>/);
    assert.match(rowOf(dom, 'doi')!, /0 of 1/);

    // The SVG timeline: one bar per role, each with a <title>, a now marker and dated ticks.
    const svg = dom.slice(dom.indexOf('<svg'), dom.indexOf('</svg>'));
    assert.ok(svg.length > 0, 'inline SVG timeline');
    const bars = [...svg.matchAll(/<g class="bar[^"]*" data-role="([^"]*)"><title>([^<]*)<\/title>/g)];
    assert.deepEqual(
      bars.map((b) => b[1]),
      roles,
      'one bar per role, in table order',
    );
    for (const b of bars) assert.match(b[2]!, /expires \d{4}-\d{2}-\d{2}/);
    assert.match(svg, /<g class="now">/);
    assert.ok([...svg.matchAll(/<g class="tick">.*?<text[^>]*>\d{4}-\d{2}-\d{2}<\/text>/g)].length >= 2, 'axis ticks with dates');
    assert.ok(svg.includes('class="seg-signing"'), 'signing periods shaded');

    // export publishes status.html next to the metadata (once everything is signed).
    ok(['sign', '--key', join(fx.keys, 'doi.pem')], { cwd });
    ok(['snapshot', '--key', fx.key('online')], { cwd });
    ok(['timestamp', '--key', fx.key('online')], { cwd });
    const out = join(fx.root, 'export');
    const exported = ok(['export', out], { cwd });
    assert.match(exported.stdout, /^exported \d+ metadata file\(s\)/m);
    assert.match(exported.stdout, /wrote status page .*status\.html/);
    assert.ok(existsSync(join(out, 'metadata', 'timestamp.json')));
    const published = readFileSync(join(out, 'status.html'), 'utf8');
    assert.match(published, /<p class="summary ok" data-ok="true">/);
    for (const role of roles) assert.ok(published.includes(`<tr data-role="${escapeHtml(role)}"`), `published page lists ${role}`);
    const exportedJson = ok(['export', join(fx.root, 'export2'), '--json'], { cwd });
    assert.equal(exportedJson.json.statusPage, join(fx.root, 'export2', 'status.html'));
  } finally {
    fx.cleanup();
  }
});

test('status page escapes user-controlled text and is deterministic', () => {
  const status: RepositoryStatus = {
    now: '2030-01-01T00:00:00.000Z',
    trustedRootVersion: 1,
    ok: false,
    roles: [
      {
        role: 'root',
        version: 2,
        expires: '2031-01-01T00:00:00Z',
        signingPeriodStarts: '2030-11-02T00:00:00Z',
        state: 'valid',
        valid: 1,
        threshold: 1,
        missing: [],
        previous: { version: 1, valid: 0, threshold: 1, missing: ["@o'hara&co"] },
      },
      {
        role: 'x"><img src=x onerror=alert(1)>',
        version: 7,
        expires: '2029-12-30T00:00:00Z',
        signingPeriodStarts: '2029-11-01T00:00:00Z',
        state: 'expired',
        valid: 0,
        threshold: 2,
        missing: ['@a<script>', '@b'],
      },
    ],
  };
  const html = renderStatusPage(status, { repositoryName: '<b>repo</b>', version: '9.9.9' });
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<img/i);
  assert.doesNotMatch(html, /<b>repo/);
  assert.ok(html.includes('<span class="owner">@a&lt;script&gt;</span>'));
  assert.ok(html.includes('@o&#39;hara&amp;co'));
  assert.ok(html.includes('data-role="x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"'));
  assert.ok(html.includes('&lt;b&gt;repo&lt;/b&gt;'));
  assert.match(html, /old root \(v1\): 0 of 1/);
  assert.match(html, /new root \(v2\): 1 of 1/);
  assert.match(html, /tufctl 9\.9\.9/);
  assert.match(html, /✗ expired/);
  assert.equal([...html.matchAll(/<g class="bar /g)].length, 2);
  assert.equal(renderStatusPage(status, { repositoryName: '<b>repo</b>', version: '9.9.9' }), html);
  assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
});

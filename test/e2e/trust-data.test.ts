/**
 * Trust data through the CLI: the default policy set installed by init,
 * hand edits validated and applied, signer key and signature revocation,
 * JWKS mirroring from a real OIDC issuer on 127.0.0.1, promotion of the
 * testing channel, and the end-to-end path to a real registry read back by
 * tuf-js (tufctl client): the client's revocation list and JWKS match the
 * repository's byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { git, newRepository, ok, okAsync, readJson, tufctl, tufctlAsync, writeFile, type Fixture } from '../helpers/harness.js';
import { startRegistry } from '../helpers/registry.js';
import { newJwk, startOidcIssuer } from '../helpers/oidc-issuer.js';
import { generateSignerKey, keyEntry, keysYaml } from '../helpers/trust-fixtures.js';

const DIGEST_A = `sha256:${'a1'.repeat(32)}`;
const IMAGE_B = `sha256:${'b2'.repeat(32)}`;

function signing(fx: Fixture): string[] {
  return ['--sign', '--key', fx.key('targets'), '--key', fx.key('online')];
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

test('init installs the default policy set as valid, signed targets', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const valid = ok(['policy', 'validate', '--json'], { cwd });
    assert.equal(valid.json.ok, true);
    const targets = readJson(join(cwd, 'metadata', 'targets.json')).signed.targets;
    for (const path of ['mapping.yaml', 'attestations.yaml', 'revocations.json', 'doi/policy.rego', 'doi/data.yaml', 'doi/keys.yaml'])
      assert.ok(targets[path], `${path} is a target`);
    const data = parse(readFileSync(join(cwd, 'targets', 'doi', 'data.yaml'), 'utf8'));
    assert.equal(data['policy-id'], 'docker-official-images');
    assert.deepEqual(data.revoked_envelopes, {});
    assert.ok(data.required_attestations.length >= 2);
    const empty = newRepository(['--no-policies']);
    try {
      assert.equal(existsSync(join(empty.repo, 'targets', 'mapping.yaml')), false);
    } finally {
      empty.cleanup();
    }
  } finally {
    fx.cleanup();
  }
});

test('a hand edit with a typo is refused by validate, apply and sign, naming file, line and field; nothing changes', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const mapping = join(cwd, 'targets', 'mapping.yaml');
    const text = readFileSync(mapping, 'utf8');
    writeFile(mapping, text.replace('policy-id:', 'polcy-id:'));
    const line = text.split('\n').findIndex((l) => l.includes('policy-id:')) + 1;
    const validate = tufctl(['policy', 'validate'], { cwd });
    assert.equal(validate.code, 1);
    assert.match(validate.stderr, new RegExp(`targets/mapping\\.yaml:${line}: rules\\[0\\]`));
    assert.match(validate.stderr, /polcy-id/);
    const before = git(cwd, 'status', '--porcelain');
    const apply = tufctl(['policy', 'apply', ...signing(fx)], { cwd });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /error \[TRUST_INVALID\]/);
    assert.equal(git(cwd, 'status', '--porcelain'), before, 'apply changed nothing');
    const sign = tufctl(['sign', '--key', fx.key('targets')], { cwd });
    assert.equal(sign.code, 1);
    assert.match(sign.stderr, /refusing to sign/);
    const verify = tufctl(['verify'], { cwd });
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /targets\/mapping\.yaml:\d+: rules\[0\]\.polcy-id: unknown field/);

    // A valid hand edit: apply records it (and the client-visible target changes).
    writeFile(mapping, text.replace('description: ', 'description: Official images — '));
    const stale = tufctl(['policy', 'validate'], { cwd });
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /changed since it was recorded as a target of targets: run `tufctl policy apply`/);
    const applied = ok(['policy', 'apply', ...signing(fx), '--commit', '--json'], { cwd });
    assert.deepEqual(
      applied.json.trust.recorded.map((t: { path: string }) => t.path),
      ['mapping.yaml'],
    );
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('revoke key: the signer keys list ends the key, distrusts it, regenerates policy data; unknown keys and bad times are refused', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const signer = generateSignerKey();
    writeFile(join(cwd, 'targets', 'doi', 'keys.yaml'), keysYaml([keyEntry(signer, { from: '2025-01-01T00:00:00Z' })]));
    const attestations = join(cwd, 'targets', 'attestations.yaml');
    const doc = parse(readFileSync(attestations, 'utf8'));
    doc.policies['docker-official-images'].attestations[0].signers.push({ 'key-id': signer.id });
    writeFile(attestations, JSON.stringify(doc, null, 2));
    ok(['policy', 'apply', ...signing(fx), '--commit'], { cwd });
    let data = parse(readFileSync(join(cwd, 'targets', 'doi', 'data.yaml'), 'utf8'));
    assert.equal(data.keys[0].id, signer.id);

    const unknown = tufctl(['revoke', 'key', 'ffffffffffff', '--reason', 'x'], { cwd });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /SIGNER_KEY_UNKNOWN/);
    const early = tufctl(['revoke', 'key', signer.id.slice(0, 10), '--reason', 'x', '--at', '2024-01-01T00:00:00Z'], { cwd });
    assert.equal(early.code, 2);
    assert.match(early.stderr, /must be later/);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');

    const revoked = ok(
      [
        'revoke',
        'key',
        signer.id.slice(0, 10),
        '--reason',
        'key leaked',
        '--at',
        '2026-06-01T00:00:00Z',
        '--distrust',
        ...signing(fx),
        '--commit',
        '--json',
      ],
      { cwd },
    );
    assert.equal(revoked.json.revoked[0].id, signer.id);
    const keys = parse(readFileSync(join(cwd, 'targets', 'doi', 'keys.yaml'), 'utf8')).keys;
    assert.equal(keys[0].status, 'revoked');
    assert.equal(keys[0].to, '2026-06-01T00:00:00Z');
    assert.equal(keys[0].distrust, true);
    assert.equal(keys[0].reason, 'key leaked');
    data = parse(readFileSync(join(cwd, 'targets', 'doi', 'data.yaml'), 'utf8'));
    assert.equal(data.keys[0].distrust, true);
    assert.match(git(cwd, 'log', '-1', '--stat'), /doi\/keys\.yaml/);
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('a trust edit that cannot be signed puts every file back', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const before = readFileSync(join(cwd, 'targets', 'revocations.json'));
    const r = tufctl(['revoke', 'signature', DIGEST_A, '--reason', 'x', '--sign'], { cwd, env: { ...process.env } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--sign needs keys/);
    assert.deepEqual(readFileSync(join(cwd, 'targets', 'revocations.json')), before);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    const bad = tufctl(['revoke', 'signature', 'sha256:1234', '--reason', 'x'], { cwd });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /REVOCATION_INVALID/);
    const noChannel = tufctl(['policy', 'promote', 'testing'], { cwd });
    assert.equal(noChannel.code, 1);
    assert.match(noChannel.stderr, /TRUST_INVALID.*no testing channel to promote/);
    const noReason = tufctl(['revoke', 'signature', DIGEST_A], { cwd });
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /error \[USAGE\].*reason/);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
  } finally {
    fx.cleanup();
  }
});

test('policy promote testing: the top level takes the testing channel; files it no longer names are removed', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    const t = join(cwd, 'targets');
    for (const f of ['mapping.yaml', 'attestations.yaml', 'doi']) cpSync(join(t, f), join(t, 'testing', f), { recursive: true });
    // The testing channel moves the policy to doi2/.
    cpSync(join(t, 'testing', 'doi'), join(t, 'testing', 'doi2'), { recursive: true });
    rmSync(join(t, 'testing', 'doi'), { recursive: true });
    const mapping = readFileSync(join(t, 'testing', 'mapping.yaml'), 'utf8').replaceAll('doi/', 'doi2/');
    writeFile(join(t, 'testing', 'mapping.yaml'), mapping);
    ok(['policy', 'apply', ...signing(fx), '--commit'], { cwd });
    ok(['policy', 'validate'], { cwd });

    const promoted = ok(['policy', 'promote', 'testing', ...signing(fx), '--commit', '--json'], { cwd });
    assert.ok(promoted.json.promoted.copied.includes('mapping.yaml'));
    assert.ok(promoted.json.promoted.removed.includes('doi/policy.rego'));
    assert.equal(readFileSync(join(t, 'mapping.yaml'), 'utf8'), mapping);
    assert.equal(existsSync(join(t, 'doi', 'policy.rego')), false);
    const targets = readJson(join(cwd, 'metadata', 'targets.json')).signed.targets;
    assert.equal(targets['doi/policy.rego'], undefined);
    assert.ok(targets['doi2/policy.rego']);
    assert.ok(targets['doi2/data.yaml']);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('trust files follow a delegation: a changed policy file moves to the delegated role', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    ok(['key', 'generate', '--out', join(fx.keys, 'doi.pem')]);
    ok(['delegate', 'add', 'doi', '--paths', 'doi/*', '--key', join(fx.keys, 'doi.pub.pem'), '--terminating'], { cwd });
    // Still signed by targets, which a client searches before its delegations: valid.
    ok(['policy', 'validate'], { cwd });
    const rego = join(cwd, 'targets', 'doi', 'policy.rego');
    writeFile(rego, `${readFileSync(rego, 'utf8')}\n# reviewed\n`);
    const keysFile = join(cwd, 'targets', 'doi', 'keys.yaml');
    writeFile(keysFile, `${readFileSync(keysFile, 'utf8')}# reviewed\n`);
    const stale = tufctl(['policy', 'validate'], { cwd });
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /doi\/policy\.rego: changed since it was recorded/);
    ok(['policy', 'apply', ...signing(fx), '--key', join(fx.keys, 'doi.pem'), '--commit'], { cwd });
    const top = readJson(join(cwd, 'metadata', 'targets.json')).signed.targets;
    const doi = readJson(join(cwd, 'metadata', 'doi.json')).signed.targets;
    assert.equal(top['doi/policy.rego'], undefined);
    assert.ok(doi['doi/policy.rego'] && doi['doi/keys.yaml']);
    assert.ok(top['mapping.yaml']);
    ok(['verify'], { cwd });
  } finally {
    fx.cleanup();
  }
});

test('end to end: mirror an issuer, rotate, revoke a signature and a JWK, publish, and tuf-js reads matching revocations and JWKS', async () => {
  const fx = newRepository();
  const idp = await startOidcIssuer();
  const registry = await startRegistry();
  try {
    const cwd = fx.repo;
    const k1 = await newJwk('k1', 'RSA');
    const k2 = await newJwk('k2', 'EC');
    idp.setJwks({ keys: [k1] });
    const plain = await tufctlAsync(['jwks', 'add-issuer', idp.issuer], { cwd });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /JWKS_INSECURE_URL.*--allow-http-loopback/);
    await okAsync(['jwks', 'add-issuer', idp.issuer, '--allow-http-loopback', ...signing(fx), '--commit'], { cwd });
    const dir = join(cwd, 'targets', 'jwks', idp.issuer.replace('http://', '').replace(':', '_'));
    assert.deepEqual(
      readJson(join(dir, 'jwks.json')).keys.map((k: { kid: string }) => k.kid),
      ['k1'],
    );
    assert.equal(readJson(join(cwd, 'tufctl.json')).jwks.issuers[idp.issuer].allowHttpLoopback, true);

    // Rotation: k2 added, then k1 leaves the live JWKS (archived, still served), then k1 returns with other material.
    idp.setJwks({ keys: [k1, k2] });
    await okAsync(['jwks', 'sync', ...signing(fx), '--commit'], { cwd });
    idp.setJwks({ keys: [k2] });
    await okAsync(['jwks', 'sync', ...signing(fx), '--commit'], { cwd });
    const ledger = readJson(join(dir, 'ledger.json'));
    assert.equal(ledger.keys.k1.status, 'archived');
    assert.equal(ledger.keys.k2.status, 'active');
    const unchanged = await okAsync(['jwks', 'sync', '--json'], { cwd });
    assert.deepEqual(unchanged.json.changed, []);
    assert.deepEqual(unchanged.json.written, []);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '');
    idp.setJwks({ keys: [k2, await newJwk('k1', 'RSA')] });
    const conflict = await tufctlAsync(['jwks', 'sync', ...signing(fx)], { cwd });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /JWKS_KID_CONFLICT/);
    assert.equal(git(cwd, 'status', '--porcelain').trim(), '', 'a refused sync writes nothing');

    // Revocations.
    ok(['revoke', 'signature', DIGEST_A, '--reason', 'signed by a compromised workflow', ...signing(fx), '--commit'], { cwd });
    ok(['revoke', 'signature', IMAGE_B, '--image', '--reason', 'pulled', ...signing(fx), '--commit'], { cwd });
    ok(['jwks', 'revoke', idp.issuer, 'k1', '--reason', 'archived key leaked', ...signing(fx), '--commit'], { cwd });
    const revocations = readJson(join(cwd, 'targets', 'revocations.json'));
    assert.deepEqual(
      revocations.envelopes.map((e: { digest: string }) => e.digest),
      [DIGEST_A],
    );
    assert.deepEqual(
      revocations.images.map((e: { digest: string }) => e.digest),
      [IMAGE_B],
    );
    assert.deepEqual(
      readJson(join(dir, 'jwks.json')).keys.map((k: { kid: string }) => k.kid),
      ['k2'],
    );
    const data = parse(readFileSync(join(cwd, 'targets', 'doi', 'data.yaml'), 'utf8'));
    assert.equal(data.revoked_envelopes['a1'.repeat(32)], 'signed by a compromised workflow');
    assert.equal(data.revoked_images['b2'.repeat(32)], 'pulled');
    ok(['verify'], { cwd });

    // Publish to a real registry; the tuf-js client downloads what the repository holds.
    const to = `oci://${registry.host}/trust`;
    ok(['publish', '--to', to], { cwd });
    const jwksTarget = `jwks/${dir.split('/jwks/')[1]}/jwks.json`;
    for (const target of ['revocations.json', 'doi/data.yaml', jwksTarget, `${jwksTarget.replace('jwks.json', 'ledger.json')}`]) {
      const out = join(fx.root, 'client', target.replaceAll('/', '_'));
      ok([
        'client',
        'fetch',
        target,
        '--from',
        to,
        '--root',
        join(cwd, 'metadata', 'root_history', '1.root.json'),
        '--cache',
        join(fx.root, 'client-cache'),
        '--out',
        out,
      ]);
      assert.equal(sha256(out), sha256(join(cwd, 'targets', target)), `${target} downloaded intact`);
    }
  } finally {
    await idp.close();
    await registry.stop();
    fx.cleanup();
  }
});

test('verify remembers a clean trust validation in .git and notices any change to its inputs', () => {
  const fx = newRepository();
  try {
    const cwd = fx.repo;
    ok(['verify'], { cwd });
    const cache = join(cwd, '.git', 'tufctl', 'trust-validation.json');
    assert.ok(existsSync(cache), 'the validation was remembered');
    const inputs = Object.keys(readJson(cache).inputs);
    for (const path of [
      'targets/mapping.yaml',
      'targets/attestations.yaml',
      'targets/doi/keys.yaml',
      'targets/revocations.json',
      'targets/testing/mapping.yaml',
    ])
      assert.ok(inputs.includes(path), `${path} is an input`);
    ok(['verify'], { cwd });
    // A change to any input (here a new, unrecorded testing channel) is seen at once.
    cpSync(join(cwd, 'targets', 'mapping.yaml'), join(cwd, 'targets', 'testing', 'mapping.yaml'));
    const stale = tufctl(['verify'], { cwd });
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /targets\/testing\/mapping\.yaml/);
    rmSync(join(cwd, 'targets', 'testing'), { recursive: true });
    const attestations = join(cwd, 'targets', 'attestations.yaml');
    writeFile(attestations, readFileSync(attestations, 'utf8').replace('kind: required-attestations', 'kind: required-attestation'));
    const bad = tufctl(['verify'], { cwd });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /attestations\.yaml:\d+: kind/);
  } finally {
    fx.cleanup();
  }
});

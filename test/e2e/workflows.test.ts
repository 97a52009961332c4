/**
 * The workflows every new repository gets (repo-template/.github/workflows)
 * and the composite action (action.yml): static rules (they parse, least
 * privilege, every `uses:` pinned by commit SHA) and their `run:` steps
 * executed against a repository made by `tufctl init`, a bare git remote, a
 * runner checkout and a real OCI registry (test/helpers/workflow-runner.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, newRepository, ok, PROJECT_DIR, tempDir, tufctlAsync, type Fixture } from '../helpers/harness.js';
import { startAzureKeyVault } from '../helpers/azure-kv-server.js';
import { startGcpKms } from '../helpers/gcp-kms-server.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  ACTION_FILE,
  loadYaml,
  runWorkflow,
  substitute,
  type StepRecord,
  type WorkflowContext,
  type WorkflowRun,
} from '../helpers/workflow-runner.js';

const WORKFLOWS_DIR = join(PROJECT_DIR, 'repo-template', '.github', 'workflows');
/** The refresh step's AZURE_TOKEN_CREDENTIALS: only the Azure CLI login when Azure is configured, else the default chain. */
const AZURE_CLI_ONLY = "${{ vars.TUFCTL_AZURE_CLIENT_ID != '' && 'AzureCliCredential' || '' }}";
const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/;

/* eslint-disable @typescript-eslint/no-explicit-any */
function workflowFiles(): string[] {
  return readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));
}

function allUses(doc: any): string[] {
  const uses: string[] = [];
  for (const job of Object.values<any>(doc.jobs ?? {})) for (const step of job.steps ?? []) if (step.uses) uses.push(step.uses);
  for (const step of doc.runs?.steps ?? []) if (step.uses) uses.push(step.uses);
  return uses;
}

function pushesOrKms(doc: any, job: any): { pushes: boolean; kms: boolean } {
  const text = JSON.stringify(job.steps);
  return {
    pushes: /git push|--push/.test(text),
    kms:
      /configure-aws-credentials|google-github-actions\/auth|azure\/login/.test(text) || /awskms|gcpkms|azurekms/.test(JSON.stringify(doc)),
  };
}

test('workflows and action: parse, least privilege, every uses: pinned to a commit SHA', () => {
  const files = workflowFiles();
  assert.deepEqual(files.sort(), ['jwks-sync.yml', 'publish.yml', 'refresh.yml', 'smoke.yml', 'validate.yml']);
  for (const file of files) {
    const text = readFileSync(join(WORKFLOWS_DIR, file), 'utf8');
    const doc = loadYaml(join(WORKFLOWS_DIR, file));
    assert.ok(doc.on ?? doc[true as any], `${file}: no triggers`);
    assert.doesNotMatch(text, /write-all|read-all/, `${file}: blanket permissions`);
    const top = doc.permissions;
    assert.ok(
      top !== undefined && (Object.keys(top).length === 0 || (Object.keys(top).length === 1 && top.contents === 'read')),
      `${file}: top-level permissions must be {} or contents: read, got ${JSON.stringify(top)}`,
    );
    for (const [name, job] of Object.entries<any>(doc.jobs)) {
      assert.equal(typeof job.permissions, 'object', `${file}/${name}: per-job permissions`);
      const { pushes, kms } = pushesOrKms(doc, job);
      for (const [scope, level] of Object.entries<any>(job.permissions)) {
        assert.ok(['read', 'write', 'none'].includes(level), `${file}/${name}: ${scope}: ${level}`);
        if (scope === 'contents' && level === 'write') assert.ok(pushes, `${file}/${name}: contents: write without pushing`);
        if (scope === 'id-token' && level === 'write') assert.ok(kms, `${file}/${name}: id-token: write without KMS`);
      }
      if (/secrets\./.test(JSON.stringify(job))) assert.notEqual(file, 'validate.yml', 'validate.yml must not use secrets');
    }
    for (const uses of allUses(doc)) assert.match(uses, PINNED, `${file}: ${uses} is not pinned to a full commit SHA`);
    for (const job of Object.values<any>(doc.jobs))
      for (const step of job.steps ?? [])
        if (/^tufctl\/tufctl@/.test(step.uses ?? ''))
          assert.equal(String(step.with?.['node-version']), '24', `${file}: tufctl runs on Node 24`);
    for (const line of text.split('\n').filter((l) => /^\s*(-\s*)?uses:/.test(l)))
      assert.match(line, /#\s*v\d/, `${file}: "${line.trim()}" lacks a version comment`);
  }
  // publish and refresh share one concurrency group and never cancel each other.
  for (const file of ['publish.yml', 'refresh.yml']) {
    const doc = loadYaml(join(WORKFLOWS_DIR, file));
    assert.deepEqual(doc.concurrency, { group: 'tuf-publish', 'cancel-in-progress': false }, file);
    // The cloud logins: each selected by its repository variable, after the checkout (the GCP one writes its
    // credentials file into it), before tufctl runs; id-token: write is the only extra permission.
    const [job] = Object.values<any>(doc.jobs);
    const names = job.steps.map((st: any) => st.name ?? st.uses);
    const aws = job.steps.find((st: any) => /^aws-actions\/configure-aws-credentials@/.test(st.uses ?? ''));
    const gcp = job.steps.find((st: any) => /^google-github-actions\/auth@/.test(st.uses ?? ''));
    assert.equal(aws?.if, "vars.TUFCTL_AWS_ROLE_ARN != ''", `${file}: AWS login only when configured`);
    assert.equal(gcp?.name, 'Google Cloud credentials for the KMS online key', `${file}: GCP login step`);
    assert.equal(gcp.if, "vars.TUFCTL_GCP_WORKLOAD_IDENTITY_PROVIDER != ''", `${file}: GCP login only when configured`);
    assert.deepEqual(gcp.with, {
      workload_identity_provider: '${{ vars.TUFCTL_GCP_WORKLOAD_IDENTITY_PROVIDER }}',
      service_account: '${{ vars.TUFCTL_GCP_SERVICE_ACCOUNT }}',
    });
    assert.equal(gcp.uses, 'google-github-actions/auth@7c6bc770dae815cd3e89ee6cdf493a5fab2cc093', `${file}: auth v3.0.0 by commit`);
    assert.ok(
      names.indexOf(gcp.name) > 0 && names.indexOf(gcp.name) < names.indexOf('Install tufctl'),
      `${file}: after checkout, before tufctl`,
    );
    const azure = job.steps.find((st: any) => /^azure\/login@/.test(st.uses ?? ''));
    assert.equal(azure?.name, 'Azure credentials for the Key Vault online key', `${file}: Azure login step`);
    assert.equal(azure.if, "vars.TUFCTL_AZURE_CLIENT_ID != ''", `${file}: Azure login only when configured`);
    assert.equal(azure.uses, 'azure/login@f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca', `${file}: azure/login v3.0.1 by commit`);
    assert.deepEqual(azure.with, {
      'client-id': '${{ vars.TUFCTL_AZURE_CLIENT_ID }}',
      'tenant-id': '${{ vars.TUFCTL_AZURE_TENANT_ID }}',
      'allow-no-subscriptions': true,
    });
    assert.ok(
      names.indexOf(azure.name) > 0 && names.indexOf(azure.name) < names.indexOf('Install tufctl'),
      `${file}: after checkout, before tufctl`,
    );
    const signing = job.steps.find((st: any) => /tufctl refresh/.test(st.run ?? ''));
    assert.equal(signing.env.AZURE_TOKEN_CREDENTIALS, AZURE_CLI_ONLY, `${file}: the Azure CLI login is the only Azure credential`);
    assert.deepEqual(job.permissions, { contents: 'write', 'id-token': 'write' }, `${file}: least privilege`);
    assert.match(JSON.stringify(job.steps), /gha-creds-\*\.json.*\.git\/info\/exclude/, `${file}: the credentials file is never committed`);
  }
  assert.match(readFileSync(join(PROJECT_DIR, 'repo-template', '.gitignore'), 'utf8'), /^gha-creds-\*\.json$/m);
  const validate = loadYaml(join(WORKFLOWS_DIR, 'validate.yml'));
  assert.deepEqual(validate.jobs.validate.permissions, { contents: 'read', 'pull-requests': 'write' });
  assert.doesNotMatch(readFileSync(join(WORKFLOWS_DIR, 'validate.yml'), 'utf8'), /secrets\./);

  const action = loadYaml(ACTION_FILE);
  assert.equal(action.runs.using, 'composite');
  assert.deepEqual(Object.keys(action.inputs).sort(), ['args', 'node-version', 'working-directory']);
  assert.equal(action.inputs['node-version'].default, '24');
  assert.deepEqual(Object.keys(action.outputs).sort(), ['exit-code', 'report']);
  for (const uses of allUses(action)) assert.match(uses, PINNED);
  assert.match(readFileSync(ACTION_FILE, 'utf8'), /uses: actions\/setup-node@[0-9a-f]{40} # v\d+\.\d+\.\d+/);
});

test('tufctl init installs the workflows into new repositories', () => {
  const fx = newRepository();
  try {
    for (const file of workflowFiles()) assert.ok(existsSync(join(fx.repo, '.github', 'workflows', file)), file);
    assert.match(git(fx.repo, 'ls-files', '.github'), /publish\.yml/);
  } finally {
    fx.cleanup();
  }
});

// ---------------------------------------------------------------- executing the workflows

interface Setup {
  fx: Fixture;
  remote: string;
  work: string;
  home: string;
  cleanup: () => void;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'tufctl test',
  GIT_AUTHOR_EMAIL: 'test@tufctl.invalid',
  GIT_COMMITTER_NAME: 'tufctl test',
  GIT_COMMITTER_EMAIL: 'test@tufctl.invalid',
};

/** A repository made by init, pushed to a bare remote. */
function newSetup(): Setup {
  const fx = newRepository();
  const remote = join(fx.root, 'remote.git');
  git(fx.root, 'init', '--bare', '-b', 'main', remote);
  git(fx.repo, 'remote', 'add', 'origin', remote);
  git(fx.repo, 'push', '-q', 'origin', 'main');
  const home = join(fx.root, 'home');
  mkdirSync(home);
  return { fx, remote, work: join(fx.root, 'runner', 'work'), home, cleanup: fx.cleanup };
}

/** The runner's checkout (what actions/checkout with fetch-depth: 0 leaves). */
function checkout(s: Setup, branch = 'main'): string {
  const dir = join(s.fx.root, `runner-${Math.random().toString(36).slice(2, 8)}`, 'work');
  mkdirSync(join(dir, '..'), { recursive: true });
  git(join(dir, '..'), 'clone', '-q', '--branch', branch, s.remote, dir);
  return dir;
}

function github(event: string, workspace: string, extra: Record<string, any> = {}): Record<string, any> {
  const sha = git(workspace, 'rev-parse', 'HEAD').trim();
  return {
    event_name: event,
    ref: 'refs/heads/main',
    ref_name: 'main',
    sha,
    repository: 'acme/tuf',
    repository_owner: 'acme',
    server_url: 'https://github.com',
    run_id: '42',
    event: { repository: { default_branch: 'main' } },
    ...extra,
  };
}

async function run(s: Setup, file: string, workspace: string, context: WorkflowContext): Promise<WorkflowRun> {
  return runWorkflow(join(WORKFLOWS_DIR, file), { workspace, context, env: { ...IDENTITY, HOME: s.home } });
}

function step(result: WorkflowRun, name: string): StepRecord {
  const found = result.steps.find((st) => st.name === name);
  assert.ok(found, `no step "${name}" in ${result.steps.map((st) => st.name).join(', ')}`);
  return found;
}

function explain(result: WorkflowRun): string {
  return result.steps.map((st) => `${st.kind} ${st.outcome} ${st.name}`).join('\n') + '\n' + result.log;
}

function remoteVersion(s: Setup, role: string): number {
  return JSON.parse(git(s.remote, 'show', `main:metadata/${role}.json`)).signed.version;
}

let registry: TestRegistry;
before(async () => {
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
});

test('publish, refresh, smoke and jwks-sync run against a real repository, remote and registry', async (t) => {
  const s = newSetup();
  const dest = `oci://${registry.host}/acme`;
  const secrets = { TUFCTL_ONLINE_KEY: readFileSync(s.fx.key('online'), 'utf8') };
  const vars = { TUF_REGISTRY: dest };
  const clientCheck = () =>
    tufctlAsync([
      'client',
      'verify',
      '--from',
      dest,
      '--root',
      join(s.fx.repo, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(s.fx.root, `cache-${Date.now()}`),
    ]);
  try {
    // A merged change: a new target signed by the targets key; snapshot/timestamp left to the workflow.
    const { writeFile } = await import('../helpers/harness.js');
    writeFile(join(s.fx.repo, 'targets', 'app', 'config.json'), '{"hello":"world"}\n');
    ok(['target', 'add', 'targets/app/config.json', '--sign', '--key', s.fx.key('targets'), '--commit'], { cwd: s.fx.repo });
    git(s.fx.repo, 'push', '-q', 'origin', 'main');
    const snapshotBefore = remoteVersion(s, 'snapshot');
    const headBefore = git(s.remote, 'rev-parse', 'main').trim();

    await t.test('publish.yml signs, publishes and pushes', async () => {
      const ws = checkout(s);
      const result = await run(s, 'publish.yml', ws, { github: github('push', ws), vars, secrets });
      assert.ok(result.ok, explain(result));
      assert.equal(step(result, 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683').kind, 'uses-skipped');
      assert.equal(step(result, 'AWS credentials for the KMS online key').kind, 'if-skipped');
      const install = step(result, 'Install tufctl');
      assert.equal(install.kind, 'composite');
      assert.deepEqual(
        install.inner!.map((st) => st.kind),
        ['uses-skipped', 'run', 'if-skipped'],
      );
      assert.equal(step(result, 'Sign snapshot and timestamp, publish').outcome, 'success');
      assert.notEqual(git(s.remote, 'rev-parse', 'main').trim(), headBefore, 'a commit was pushed');
      assert.equal(remoteVersion(s, 'snapshot'), snapshotBefore + 1);
      const client = await clientCheck();
      assert.equal(client.code, 0, client.stdout + client.stderr);
    });

    await t.test('refresh.yml (workflow_dispatch, force) signs a new timestamp and publishes it', async () => {
      const ws = checkout(s);
      const timestampBefore = remoteVersion(s, 'timestamp');
      const result = await run(s, 'refresh.yml', ws, { github: github('workflow_dispatch', ws), vars, secrets, inputs: { force: true } });
      assert.ok(result.ok, explain(result));
      assert.match(step(result, 'Refresh snapshot and timestamp').stdout, /timestamp: signed/);
      assert.equal(step(result, 'Signing branches for offline roles').outcome, 'success');
      assert.equal(remoteVersion(s, 'timestamp'), timestampBefore + 1);
      const client = await clientCheck();
      assert.equal(client.code, 0, client.stdout + client.stderr);

      // Scheduled and nothing due: nothing signed, nothing pushed.
      const ws2 = checkout(s);
      const head = git(s.remote, 'rev-parse', 'main').trim();
      const idle = await run(s, 'refresh.yml', ws2, { github: github('schedule', ws2), vars, secrets, inputs: {} });
      assert.ok(idle.ok, explain(idle));
      assert.equal(git(s.remote, 'rev-parse', 'main').trim(), head);
    });

    await t.test('smoke.yml passes against the published repository, fails against an empty namespace', async () => {
      const ws = checkout(s);
      const good = await run(s, 'smoke.yml', ws, { github: github('schedule', ws), vars, secrets: {} });
      assert.ok(good.ok, explain(good));
      assert.equal(step(good, 'Open or update the tuf-smoke issue').kind, 'if-skipped');
      assert.equal(step(good, 'Close the tuf-smoke issue').kind, 'uses-skipped');

      const bad = await run(s, 'smoke.yml', ws, {
        github: github('schedule', ws),
        vars: { TUF_REGISTRY: `oci://${registry.host}/nothing-here` },
        secrets: {},
      });
      assert.equal(bad.ok, false);
      assert.notEqual(step(bad, 'Verify the published repository as a client').code, 0);
      assert.equal(step(bad, 'Open or update the tuf-smoke issue').kind, 'uses-skipped', 'the issue step would run');
      assert.equal(step(bad, 'Close the tuf-smoke issue').kind, 'if-skipped');
    });

    await t.test('jwks-sync.yml with no mirrored issuers changes nothing', async () => {
      const ws = checkout(s);
      const head = git(s.remote, 'rev-parse', 'main').trim();
      const result = await run(s, 'jwks-sync.yml', ws, { github: github('schedule', ws), vars, secrets: {} });
      assert.ok(result.ok, explain(result));
      assert.equal(step(result, 'Sync mirrored JWKS').outputs.changed, '0');
      assert.equal(step(result, 'Push the branch').kind, 'if-skipped');
      assert.equal(step(result, 'Open the pull request').kind, 'if-skipped');
      assert.equal(git(s.remote, 'rev-parse', 'main').trim(), head);
      assert.equal(git(s.remote, 'branch', '--list', 'jwks-sync/*').trim(), '');
    });
  } finally {
    s.cleanup();
  }
});

test('publish.yml with the online key in GCP KMS: the auth step is selected by its variable; refresh signs through Cloud KMS; the credentials file is never committed', async () => {
  const kms = await startGcpKms();
  const s = newSetup();
  try {
    const key = kms.createKey('EC_SIGN_P256_SHA256', { ring: 'tuf', key: 'online' });
    const pub = join(s.fx.root, 'gcp-online.pub.pem');
    writeFileSync(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
    const cwd = s.fx.repo;
    ok(['key', 'rotate-online', '--new-key', pub, '--online-uri', `gcpkms:${key.name}`, '--sign', '--key', s.fx.key('root'), '--commit'], {
      cwd,
    });
    git(cwd, 'push', '-q', 'origin', 'main');
    const snapshotBefore = remoteVersion(s, 'snapshot');

    // What google-github-actions/auth leaves behind: gha-creds-<16 hex>.json in the checkout, and its path exported.
    const ws = checkout(s);
    const creds = kms.credentialsFile(join(ws, 'gha-creds-0123456789abcdef.json'));
    const vars = {
      TUF_REGISTRY: `oci://${registry.host}/gcp`,
      TUFCTL_GCP_WORKLOAD_IDENTITY_PROVIDER: kms.audience.replace(/^\/\/iam\.googleapis\.com\//, ''),
      TUFCTL_GCP_SERVICE_ACCOUNT: kms.serviceAccount,
    };
    const result = await runWorkflow(join(WORKFLOWS_DIR, 'publish.yml'), {
      workspace: ws,
      context: { github: github('push', ws), vars, secrets: {} },
      env: {
        ...IDENTITY,
        HOME: s.home,
        GOOGLE_APPLICATION_CREDENTIALS: creds,
        TUFCTL_GCP_KMS_ENDPOINT: kms.endpoint,
        METADATA_SERVER_DETECTION: 'none',
      },
    });
    assert.ok(result.ok, explain(result));
    assert.equal(step(result, 'Google Cloud credentials for the KMS online key').kind, 'uses-skipped', 'the GCP login would run');
    assert.equal(step(result, 'AWS credentials for the KMS online key').kind, 'if-skipped');
    assert.ok(
      kms.requests.some((r) => r.operation === 'asymmetricSign' && r.status === 200),
      'snapshot and timestamp signed in Cloud KMS',
    );
    assert.equal(remoteVersion(s, 'snapshot'), snapshotBefore + 1);
    assert.doesNotMatch(git(s.remote, 'ls-tree', '-r', '--name-only', 'main'), /gha-creds/, 'the credentials file is not pushed');
    const client = await tufctlAsync([
      'client',
      'verify',
      '--from',
      vars.TUF_REGISTRY,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(s.fx.root, 'cache-gcp'),
    ]);
    assert.equal(client.code, 0, client.stdout + client.stderr);
  } finally {
    await kms.close();
    s.cleanup();
  }
});

test('publish.yml with the online key in Azure Key Vault: azure/login is selected by its variable; refresh signs with the CLI login only', async () => {
  const vars = {
    TUF_REGISTRY: `oci://${registry.host}/azure`,
    TUFCTL_AZURE_CLIENT_ID: '00000000-aaaa-4bbb-8ccc-000000000001',
    TUFCTL_AZURE_TENANT_ID: 'tenant',
  };
  // The chain is narrowed to the CLI credential whenever Azure is configured (never a managed identity probe), and left alone otherwise.
  assert.equal(substitute(AZURE_CLI_ONLY, { vars }), 'AzureCliCredential');
  assert.equal(substitute(AZURE_CLI_ONLY, { vars: {} }), '');
  const vault = await startAzureKeyVault();
  const s = newSetup();
  try {
    const key = vault.createKey('P-256', { name: 'tuf-online' });
    const pub = join(s.fx.root, 'azure-online.pub.pem');
    writeFileSync(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
    const cwd = s.fx.repo;
    ok(['key', 'rotate-online', '--new-key', pub, '--online-uri', vault.uriOf(key), '--sign', '--key', s.fx.key('root'), '--commit'], {
      cwd,
    });
    git(cwd, 'push', '-q', 'origin', 'main');
    const snapshotBefore = remoteVersion(s, 'snapshot');

    // What azure/login leaves behind: a logged-in Azure CLI (a stand-in answering get-access-token).
    const azBin = vault.azCli(join(s.fx.root, 'az-bin'));
    const ws = checkout(s);
    const result = await runWorkflow(join(WORKFLOWS_DIR, 'publish.yml'), {
      workspace: ws,
      context: { github: github('push', ws), vars, secrets: {} },
      env: { ...IDENTITY, HOME: s.home, PATH: `${azBin}:${process.env.PATH}`, TUFCTL_AZURE_KEYVAULT_ENDPOINT: vault.endpoint },
    });
    assert.ok(result.ok, explain(result));
    assert.equal(step(result, 'Azure credentials for the Key Vault online key').kind, 'uses-skipped', 'the Azure login would run');
    assert.equal(step(result, 'Google Cloud credentials for the KMS online key').kind, 'if-skipped');
    assert.ok(
      vault.requests.some((r) => r.operation === 'sign' && r.status === 200),
      'snapshot and timestamp signed in Key Vault',
    );
    assert.ok(vault.azCalls(azBin).length > 0, 'the token came from the Azure CLI');
    assert.equal(remoteVersion(s, 'snapshot'), snapshotBefore + 1);
    const client = await tufctlAsync([
      'client',
      'verify',
      '--from',
      vars.TUF_REGISTRY,
      '--root',
      join(cwd, 'metadata', 'root_history', '1.root.json'),
      '--cache',
      join(s.fx.root, 'cache-azure'),
    ]);
    assert.equal(client.code, 0, client.stdout + client.stderr);
  } finally {
    await vault.close();
    s.cleanup();
  }
});

test('validate.yml runs tufctl validate on a pull request and reports with the marker', async () => {
  const s = newSetup();
  try {
    git(s.fx.repo, 'checkout', '-q', '-b', 'change');
    ok(['threshold', 'targets', '1', '--commit'], { cwd: s.fx.repo });
    ok(['expiry', 'targets', '--period', '200', '--sign', '--key', s.fx.key('targets'), '--commit'], { cwd: s.fx.repo });
    git(s.fx.repo, 'push', '-q', 'origin', 'change');
    const ws = checkout(s, 'change');
    const result = await run(s, 'validate.yml', ws, {
      github: github('pull_request', ws, {
        ref: 'refs/pull/1/merge',
        ref_name: '1/merge',
        base_ref: 'main',
        head_ref: 'change',
        event: { pull_request: { number: 1 } },
      }),
      vars: {},
      secrets: {},
    });
    const validate = step(result, 'Validate the pull request');
    assert.equal(validate.outcome, 'success', explain(result));
    assert.ok(['0', '1', '2'].includes(validate.outputs['exit-code']!), explain(result));
    assert.match(result.summary, /^<!-- tufctl-validate -->/);
    assert.equal(step(result, 'Comment on the pull request').kind, 'uses-skipped');
    assert.equal(result.ok, validate.outputs['exit-code'] !== '1');
  } finally {
    s.cleanup();
  }
});

test('the composite action runs tufctl with args and reports exit-code and report', async () => {
  const dir = tempDir();
  try {
    const s = newSetup();
    try {
      const ws = checkout(s);
      const { writeFile } = await import('../helpers/harness.js');
      const wf = join(dir.path, 'wf.yml');
      writeFile(
        wf,
        [
          'on: push',
          'permissions: {}',
          'jobs:',
          '  j:',
          '    permissions: {}',
          '    steps:',
          '      - id: v',
          '        uses: tufctl/tufctl@0000000000000000000000000000000000000000 # v0.1.0',
          '        with:',
          '          args: status --json',
          '      - id: bad',
          '        continue-on-error: true',
          '        uses: tufctl/tufctl@0000000000000000000000000000000000000000 # v0.1.0',
          '        with:',
          '          args: verify --valid-for 100000 --output "$RUNNER_TEMP/out.txt"',
          '      - env:',
          '          CODE: ${{ steps.v.outputs.exit-code }}',
          '          BAD: ${{ steps.bad.outputs.exit-code }}',
          '          REPORT: ${{ steps.bad.outputs.report }}',
          '        run: echo "code=$CODE bad=$BAD report=$REPORT"; command -v tufctl',
        ].join('\n'),
      );
      const result = await runWorkflow(wf, { workspace: ws, context: { github: github('push', ws) }, env: { ...IDENTITY, HOME: s.home } });
      assert.ok(result.ok, explain(result));
      const last = result.steps.at(-1)!;
      assert.match(last.stdout, /code=0 bad=[1-9] report=\/.*\/out\.txt/);
      assert.match(last.stdout, /tufctl-bin\/tufctl/);
    } finally {
      s.cleanup();
    }
  } finally {
    dir.cleanup();
  }
});

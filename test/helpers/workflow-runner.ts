/**
 * Test helper: runs a GitHub Actions workflow's jobs locally, the way a
 * runner would for the parts that can run here.
 *
 * - `run:` steps are executed in order with `bash --noprofile --norc -eo pipefail`
 *   in the workspace, with the environment GitHub sets (GITHUB_WORKSPACE,
 *   GITHUB_REF, GITHUB_SHA, GITHUB_EVENT_NAME, GITHUB_OUTPUT/ENV/PATH/STEP_SUMMARY
 *   files, RUNNER_TEMP, CI=true, …) plus workflow, job and step `env:`.
 * - `${{ … }}` in `run`, `env`, `with`, `working-directory` and `if` is
 *   evaluated from a context (github, vars, secrets, inputs, steps.<id>.outputs,
 *   env, runner) by a small evaluator of the expression language: literals,
 *   property access, ! == != < > && ||, and success() failure() always()
 *   cancelled() startsWith() endsWith() contains() format().
 * - `uses:` steps are skipped and recorded, except the tufctl composite action
 *   (`tufctl/tufctl@…` or `./`), whose own `run:` steps are executed with
 *   github.action_path = this project (its build, bin/tufctl.js).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve, isAbsolute } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_DIR } from './harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Value = any;

export interface WorkflowContext {
  github: Record<string, Value>;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  inputs?: Record<string, Value>;
}

export interface StepRecord {
  job: string;
  name: string;
  id?: string;
  kind: 'run' | 'uses-skipped' | 'composite' | 'if-skipped';
  uses?: string;
  /** For run steps: bash's exit code. */
  code?: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  outcome: 'success' | 'failure' | 'skipped';
  /** The composite action's steps, for `kind: 'composite'`. */
  inner?: StepRecord[];
}

export interface WorkflowRun {
  ok: boolean;
  steps: StepRecord[];
  /** Every executed run step's stdout and stderr, in order (for failure messages). */
  log: string;
  summary: string;
}

export const ACTION_FILE = join(PROJECT_DIR, 'action.yml');
const TUFCTL_ACTION = /^(tufctl\/tufctl@|\.\/?$)/;

// ---------------------------------------------------------------- expressions

type Token = { t: 'str' | 'num' | 'id' | 'op' | 'punc'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      out.push({ t: 'str', v: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(src.slice(i))![0];
      out.push({ t: 'num', v: m });
      i += m.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))![0];
      out.push({ t: 'id', v: m });
      i += m.length;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('!<>'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else if ('.()[],*'.includes(c)) {
        out.push({ t: 'punc', v: c });
        i++;
      } else throw new Error(`unexpected ${c} in expression ${src}`);
    }
  }
  return out;
}

function truthy(v: Value): boolean {
  return !(v === false || v === null || v === undefined || v === '' || v === 0 || Number.isNaN(v));
}

function coerce(v: Value): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? 0 : Number(v);
  return NaN;
}

function looseEqual(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === 'object' || typeof b === 'object') return a === b;
  return coerce(a) === coerce(b);
}

export function toStr(v: Value): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function evaluate(src: string, ctx: Record<string, Value>, status: () => 'success' | 'failure'): Value {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (v?: string) => {
    const tok = tokens[pos++];
    if (!tok || (v !== undefined && tok.v !== v)) throw new Error(`expected ${v ?? 'a token'} in ${src}`);
    return tok;
  };
  const functions: Record<string, (...a: Value[]) => Value> = {
    success: () => status() === 'success',
    failure: () => status() === 'failure',
    always: () => true,
    cancelled: () => false,
    startswith: (a, b) => toStr(a).toLowerCase().startsWith(toStr(b).toLowerCase()),
    endswith: (a, b) => toStr(a).toLowerCase().endsWith(toStr(b).toLowerCase()),
    contains: (a, b) => (Array.isArray(a) ? a.some((x) => looseEqual(x, b)) : toStr(a).toLowerCase().includes(toStr(b).toLowerCase())),
    format: (f, ...args) => toStr(f).replace(/\{(\d+)\}/g, (_, n: string) => toStr(args[Number(n)])),
    tojson: (v) => JSON.stringify(v, null, 2),
    fromjson: (v) => JSON.parse(toStr(v)),
  };
  const primary = (): Value => {
    const tok = take();
    let value: Value;
    if (tok.t === 'str') value = tok.v;
    else if (tok.t === 'num') value = Number(tok.v);
    else if (tok.t === 'punc' && tok.v === '(') {
      value = or();
      take(')');
    } else if (tok.t === 'id') {
      if (tok.v === 'true' || tok.v === 'false') value = tok.v === 'true';
      else if (tok.v === 'null') value = null;
      else if (peek()?.v === '(') {
        take('(');
        const args: Value[] = [];
        while (peek()?.v !== ')') {
          args.push(or());
          if (peek()?.v === ',') take(',');
        }
        take(')');
        const fn = functions[tok.v.toLowerCase()];
        if (!fn) throw new Error(`unsupported function ${tok.v} in ${src}`);
        value = fn(...args);
      } else value = ctx[tok.v];
    } else throw new Error(`unexpected ${tok.v} in ${src}`);
    for (;;) {
      if (peek()?.v === '.') {
        take('.');
        const name = take().v;
        value = value === null || value === undefined ? undefined : value[name];
      } else if (peek()?.v === '[') {
        take('[');
        const key = or();
        take(']');
        value = value === null || value === undefined ? undefined : value[key];
      } else return value;
    }
  };
  const unary = (): Value => {
    if (peek()?.v === '!') {
      take('!');
      return !truthy(unary());
    }
    return primary();
  };
  const compare = (): Value => {
    let left = unary();
    while (peek()?.t === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(peek()!.v)) {
      const op = take().v;
      const right = unary();
      if (op === '==') left = looseEqual(left, right);
      else if (op === '!=') left = !looseEqual(left, right);
      else {
        const [a, b] = [coerce(left), coerce(right)];
        left = op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
      }
    }
    return left;
  };
  const and = (): Value => {
    let left = compare();
    while (peek()?.v === '&&') {
      take('&&');
      const right = compare();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const or = (): Value => {
    let left = and();
    while (peek()?.v === '||') {
      take('||');
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const value = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in expression ${src}`);
  return value;
}

/** Replaces every `${{ expr }}` in a string. */
export function substitute(text: string, ctx: Record<string, Value>, status: () => 'success' | 'failure' = () => 'success'): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) => toStr(evaluate(expr.trim(), ctx, status)));
}

function condition(ifExpr: Value, ctx: Record<string, Value>, status: () => 'success' | 'failure'): boolean {
  if (ifExpr === undefined || ifExpr === null) return status() === 'success';
  let expr = String(ifExpr).trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(expr);
  if (wrapped) expr = wrapped[1]!.trim();
  // Like GitHub: without a status function the condition is `success() && (…)`.
  if (!/\b(success|failure|always|cancelled)\s*\(/.test(expr)) expr = `success() && (${expr})`;
  return truthy(evaluate(expr, ctx, status));
}

// ---------------------------------------------------------------- files GitHub gives steps

function readKeyValueFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(path)) return out;
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

function runBash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------- the runner

export interface RunOptions {
  /** The runner's checkout (GITHUB_WORKSPACE). */
  workspace: string;
  context: WorkflowContext;
  /** Only these jobs (default: all, in file order). */
  jobs?: string[];
  /** Extra process environment (e.g. HOME, git identity). */
  env?: NodeJS.ProcessEnv;
  stepTimeoutMs?: number;
}

interface RunnerState {
  temp: string;
  paths: string[];
  envFromFile: Record<string, string>;
  summaryFile: string;
  log: string[];
}

export function loadYaml(path: string): Value {
  return parse(readFileSync(path, 'utf8'));
}

export async function runWorkflow(workflowPath: string, options: RunOptions): Promise<WorkflowRun> {
  const workflow = loadYaml(workflowPath);
  const temp = mkdtempSync(join(options.workspace, '..', 'runner-temp-'));
  const state: RunnerState = { temp, paths: [], envFromFile: {}, summaryFile: join(temp, '_step_summary'), log: [] };
  writeFileSync(state.summaryFile, '');
  const records: StepRecord[] = [];
  let ok = true;
  for (const [jobName, job] of Object.entries<Value>(workflow.jobs ?? {})) {
    if (options.jobs && !options.jobs.includes(jobName)) continue;
    const jobOk = await runJob(jobName, workflow, job, options, state, records);
    ok &&= jobOk;
  }
  return { ok, steps: records, log: state.log.join('\n'), summary: readFileSync(state.summaryFile, 'utf8') };
}

function baseEnv(options: RunOptions, state: RunnerState): NodeJS.ProcessEnv {
  const gh = options.context.github;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_REF: toStr(gh.ref),
    GITHUB_REF_NAME: toStr(gh.ref_name),
    GITHUB_SHA: toStr(gh.sha),
    GITHUB_EVENT_NAME: toStr(gh.event_name),
    GITHUB_REPOSITORY: toStr(gh.repository),
    GITHUB_REPOSITORY_OWNER: toStr(gh.repository).split('/')[0],
    GITHUB_SERVER_URL: toStr(gh.server_url ?? 'https://github.com'),
    GITHUB_RUN_ID: toStr(gh.run_id ?? '1'),
    GITHUB_ACTOR: toStr(gh.actor ?? 'github-actions[bot]'),
    GITHUB_STEP_SUMMARY: state.summaryFile,
    RUNNER_TEMP: state.temp,
    RUNNER_OS: 'Linux',
  };
  if (gh.event_name === 'pull_request') {
    env.GITHUB_BASE_REF = toStr(gh.base_ref);
    env.GITHUB_HEAD_REF = toStr(gh.head_ref);
  }
  // Keys of the developer's environment never leak into a run.
  for (const name of Object.keys(env)) if (name.startsWith('TUFCTL_KEY_') || name === 'TUFCTL_ONLINE_KEY') delete env[name];
  return env;
}

function evalMap(map: Value, ctx: Record<string, Value>, status: () => 'success' | 'failure'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries<Value>(map ?? {})) out[k] = typeof v === 'string' ? substitute(v, ctx, status) : toStr(v);
  return out;
}

async function runJob(
  jobName: string,
  workflow: Value,
  job: Value,
  options: RunOptions,
  state: RunnerState,
  records: StepRecord[],
): Promise<boolean> {
  let failed = false;
  const status = () => (failed ? 'failure' : 'success') as 'success' | 'failure';
  const steps: Record<string, { outputs: Record<string, string>; outcome: string; conclusion: string }> = {};
  const ctx = (): Record<string, Value> => ({
    github: { ...options.context.github, workspace: options.workspace },
    vars: options.context.vars ?? {},
    secrets: options.context.secrets ?? {},
    inputs: options.context.inputs ?? {},
    steps,
    env: { ...evalMapSafe(workflow.env), ...state.envFromFile },
    runner: { temp: state.temp, os: 'Linux' },
  });
  const evalMapSafe = (m: Value) => (m ? Object.fromEntries(Object.entries<Value>(m).map(([k, v]) => [k, toStr(v)])) : {});
  for (const [index, step] of (job.steps as Value[]).entries()) {
    const name = step.name ?? step.uses ?? String(step.run ?? '').split('\n')[0] ?? `step ${index}`;
    const record: StepRecord = { job: jobName, name, id: step.id, kind: 'run', stdout: '', stderr: '', outputs: {}, outcome: 'skipped' };
    if (step.uses) record.uses = step.uses;
    records.push(record);
    if (!condition(step.if, ctx(), status)) {
      record.kind = 'if-skipped';
    } else if (step.uses && TUFCTL_ACTION.test(step.uses)) {
      record.kind = 'composite';
      const env = { ...evalMap(workflow.env, ctx(), status), ...evalMap(job.env, ctx(), status), ...evalMap(step.env, ctx(), status) };
      const inner = await runComposite(evalMap(step.with, ctx(), status), env, options, state, jobName);
      record.inner = inner.records;
      record.outputs = inner.outputs;
      record.outcome = inner.ok ? 'success' : 'failure';
    } else if (step.uses) {
      record.kind = 'uses-skipped';
      record.outcome = 'success';
    } else {
      const env = { ...evalMap(workflow.env, ctx(), status), ...evalMap(job.env, ctx(), status), ...evalMap(step.env, ctx(), status) };
      const result = await runStep(substitute(String(step.run), ctx(), status), env, step['working-directory'], ctx(), options, state);
      Object.assign(record, result);
    }
    if (step.id) steps[step.id] = { outputs: record.outputs, outcome: record.outcome, conclusion: record.outcome };
    if (record.outcome === 'failure') {
      if (step['continue-on-error'] === true) {
        if (step.id) steps[step.id]!.conclusion = 'success';
      } else failed = true;
    }
  }
  return !failed;
}

async function runStep(
  script: string,
  stepEnv: Record<string, string>,
  workingDirectory: string | undefined,
  ctx: Record<string, Value>,
  options: RunOptions,
  state: RunnerState,
): Promise<Pick<StepRecord, 'code' | 'stdout' | 'stderr' | 'outputs' | 'outcome'>> {
  const stepDir = mkdtempSync(join(state.temp, '_step-'));
  const outputFile = join(stepDir, 'output');
  const envFile = join(stepDir, 'env');
  const pathFile = join(stepDir, 'path');
  for (const f of [outputFile, envFile, pathFile]) writeFileSync(f, '');
  const scriptFile = join(stepDir, 'script.sh');
  writeFileSync(scriptFile, script);
  const env: NodeJS.ProcessEnv = { ...baseEnv(options, state), ...state.envFromFile, ...stepEnv };
  env.GITHUB_OUTPUT = outputFile;
  env.GITHUB_ENV = envFile;
  env.GITHUB_PATH = pathFile;
  env.PATH = [...state.paths, env.PATH ?? ''].join(':');
  let cwd = options.workspace;
  if (workingDirectory) {
    const dir = substitute(workingDirectory, ctx);
    cwd = isAbsolute(dir) ? dir : resolve(options.workspace, dir);
  }
  const result = await runBash(scriptFile, cwd, env, options.stepTimeoutMs ?? 180_000);
  state.log.push(`$ ${script}\n[exit ${result.code}]\n${result.stdout}${result.stderr}`);
  Object.assign(state.envFromFile, readKeyValueFile(envFile));
  const added = readFileSync(pathFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  state.paths.unshift(...added.reverse());
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: readKeyValueFile(outputFile),
    outcome: result.code === 0 ? 'success' : 'failure',
  };
}

async function runComposite(
  withInputs: Record<string, string>,
  callerEnv: Record<string, string>,
  options: RunOptions,
  state: RunnerState,
  jobName: string,
): Promise<{ ok: boolean; records: StepRecord[]; outputs: Record<string, string> }> {
  const action = loadYaml(ACTION_FILE);
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries<Value>(action.inputs ?? {})) inputs[name] = withInputs[name] ?? toStr(spec.default);
  let failed = false;
  const status = () => (failed ? 'failure' : 'success') as 'success' | 'failure';
  const steps: Record<string, { outputs: Record<string, string>; outcome: string }> = {};
  const ctx = (): Record<string, Value> => ({
    github: { ...options.context.github, workspace: options.workspace, action_path: PROJECT_DIR },
    inputs,
    steps,
    env: { ...state.envFromFile, ...callerEnv },
    runner: { temp: state.temp, os: 'Linux' },
  });
  const records: StepRecord[] = [];
  for (const step of action.runs.steps as Value[]) {
    const record: StepRecord = {
      job: jobName,
      name: step.name ?? step.uses,
      id: step.id,
      kind: 'run',
      stdout: '',
      stderr: '',
      outputs: {},
      outcome: 'skipped',
    };
    records.push(record);
    if (!condition(step.if, ctx(), status)) record.kind = 'if-skipped';
    else if (step.uses) {
      record.kind = 'uses-skipped';
      record.uses = step.uses;
      record.outcome = 'success';
    } else {
      if (step.shell !== 'bash') throw new Error(`action.yml: step ${record.name} must use shell: bash`);
      // The caller's step env reaches the composite's steps, as on GitHub.
      const env = { ...callerEnv, ...evalMap(step.env, ctx(), status) };
      Object.assign(
        record,
        await runStep(substitute(String(step.run), ctx(), status), env, step['working-directory'], ctx(), options, state),
      );
    }
    if (step.id) steps[step.id] = { outputs: record.outputs, outcome: record.outcome };
    if (record.outcome === 'failure') failed = true;
  }
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries<Value>(action.outputs ?? {})) outputs[name] = substitute(toStr(spec.value), ctx(), status);
  return { ok: !failed, records, outputs };
}

/** Appends to a file, creating its directory (for tests writing event files). */
export function appendTo(path: string, text: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true });
  appendFileSync(path, text);
}

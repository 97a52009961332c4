/**
 * Rules for attestations.yaml (the required attestation list of a channel)
 * beyond its JSON Schema: it names the channel's mapped policies (and every
 * mapped policy has requirements), requirement names and predicate types are
 * unique, key-id signers are keys of the policy's keys.yaml, identity
 * patterns compile as Go (RE2) regular expressions, validity windows end
 * after they start.
 */
import type { TrustProblem } from './problems.js';
import { asArray, isObject, Reporter, str, timeOf } from './check-helpers.js';
import { re2Problem } from './re2.js';
import type { FieldPath, SourceDocument } from './yaml-source.js';

/** What the attestation rules need to know about one mapped policy's signer keys. */
export interface PolicyKeyInfo {
  /** keys.yaml of the policy (repository-relative), when it exists. */
  keysFile?: string;
  /** Where keys.yaml is expected (repository-relative), for messages. */
  expectedKeysFile: string;
  /** Keys by id. */
  keys: Map<string, { status?: string; distrust?: boolean }>;
}

export interface AttestationContext {
  /** Repository-relative path of the channel's mapping.yaml. */
  mappingFile: string;
  /** Policy ids of the mapping (undefined when the mapping could not be read: the policy checks are skipped). */
  mappedPolicyIds: string[] | undefined;
  /** Signer keys by policy id. */
  keysByPolicy: Map<string, PolicyKeyInfo>;
  /** Policies whose Rego names its required attestations itself (not missing from this list). */
  ownRequirements?: ReadonlySet<string>;
}

function checkWindow(signer: Record<string, unknown>, at: FieldPath, report: Reporter): void {
  const from = timeOf(signer.from);
  const to = timeOf(signer.to);
  if (from !== undefined && to !== undefined && to <= from) {
    report.error([...at, 'to'], `"to" (${String(signer.to)}) must be later than "from" (${String(signer.from)})`);
  }
}

function checkSigner(signer: unknown, at: FieldPath, policyId: string, context: AttestationContext, report: Reporter): void {
  if (!isObject(signer)) return;
  checkWindow(signer, at, report);
  const keyId = str(signer['key-id']);
  if (keyId !== undefined && /^[0-9a-f]{64}$/.test(keyId)) {
    const info = context.keysByPolicy.get(policyId);
    if (info) {
      const key = info.keys.get(keyId);
      if (!key) {
        const where = info.keysFile
          ? `no key with this id in ${info.keysFile}`
          : `the policy has no signer keys list (${info.expectedKeysFile})`;
        report.error([...at, 'key-id'], `unknown signer key ${keyId}: ${where}`);
      } else if (key.distrust === true || (key.status !== undefined && key.status !== 'active')) {
        const state = key.distrust === true ? 'distrusted' : String(key.status);
        report.warning(
          [...at, 'key-id'],
          `signer key ${keyId} is ${state}: the default policy accepts signatures only by active, trusted keys`,
        );
      }
    }
  }
  for (const field of ['subject-pattern', 'workflow-pattern']) {
    const pattern = str(signer[field]);
    if (pattern === undefined || pattern === '') continue;
    const problem = re2Problem(pattern);
    if (problem) report.error([...at, field], `"${pattern}" is not a valid Go (RE2) regular expression: ${problem}`);
  }
}

function checkPolicy(policyId: string, policy: unknown, context: AttestationContext, report: Reporter): void {
  if (!isObject(policy)) return;
  const names = new Map<string, number>();
  asArray(policy.attestations).forEach((requirement, i) => {
    if (!isObject(requirement)) return;
    const at: FieldPath = ['policies', policyId, 'attestations', i];
    const name = str(requirement.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) report.error([...at, 'name'], `duplicate requirement name "${name}" (also attestations[${first}])`);
      else names.set(name, i);
    }
    const types = new Map<string, number>();
    asArray(requirement['predicate-types']).forEach((type, k) => {
      if (typeof type !== 'string') return;
      const first = types.get(type);
      if (first !== undefined)
        report.error([...at, 'predicate-types', k], `duplicate predicate type "${type}" (also predicate-types[${first}])`);
      else types.set(type, k);
    });
    asArray(requirement.signers).forEach((signer, k) => checkSigner(signer, [...at, 'signers', k], policyId, context, report));
  });
}

/** Problems of a parsed attestations.yaml beyond its schema. */
export function attestationProblems(doc: SourceDocument, context: AttestationContext): TrustProblem[] {
  if (!isObject(doc.value)) return [];
  const report = new Reporter(doc);
  const policies = isObject(doc.value.policies) ? doc.value.policies : {};
  const mapped = context.mappedPolicyIds;
  for (const [policyId, policy] of Object.entries(policies)) {
    if (mapped && !mapped.includes(policyId)) {
      const known = mapped.length > 0 ? `its policies are ${mapped.join(', ')}` : 'it defines no policies';
      report.error(['policies', policyId], `unknown policy "${policyId}": ${context.mappingFile} has no policy with this id (${known})`);
      continue;
    }
    checkPolicy(policyId, policy, context, report);
  }
  for (const id of mapped ?? []) {
    if (!Object.hasOwn(policies, id) && !context.ownRequirements?.has(id)) {
      report.warning(
        ['policies'],
        `policy "${id}" of ${context.mappingFile} has no required attestations here; the default policy rejects every image until it has some`,
      );
    }
  }
  return report.problems;
}

/**
 * Client rules about keys and signatures: key types, schemes and public key
 * encodings a client lacks (per release), and signature values it cannot
 * decode.
 */
import { keyIssues, SIGNATURE_HEX, type KeyIssue, type Library } from './client-rules.js';
import { finding, shortKeyId, type LibraryFinding } from './findings.js';
import type { LintModel, MetadataFile, TrustingRole } from './repository-facts.js';

type KeyEntry = LintModel['keys'][number];

const fileOf = (role: string): string => `metadata/${role}.json`;

/** Keys of `role` the library can use at the given releases. */
function usableKeys(library: Library, model: LintModel, role: TrustingRole, versions: string): number {
  let usable = 0;
  for (const id of role.keyIds) {
    const key = model.keys.find((k) => k.keyId === id && k.listedIn === role.listedIn);
    if (key && !keyIssues(library.id, key.facts).some((i) => i.versions === versions)) usable++;
  }
  return usable;
}

function keyFinding(library: Library, model: LintModel, key: KeyEntry, issue: KeyIssue): LibraryFinding | undefined {
  const { keytype, scheme } = key.facts;
  const subject = `key ${shortKeyId(key.keyId)} (${keytype}/${scheme}) in ${fileOf(key.listedIn)}`;
  const roles = model.trusting.filter((r) => r.listedIn === key.listedIn && r.keyIds.includes(key.keyId));
  const limit = issue.limit ?? issue.problem;
  const base = { subject, limit, source: issue.source, versions: issue.versions };
  if (issue.effect === 'refuses-file') {
    const consequence =
      key.listedIn === 'root'
        ? 'it cannot read root.json at all, so it cannot use this repository'
        : `it cannot read ${fileOf(key.listedIn)}, so every target under it is lost`;
    return finding(library, 'key-support', { ...base, effect: 'refuses', message: `the client ${issue.problem}; ${consequence}` });
  }
  if (roles.length === 0) return undefined; // a key no role uses is never loaded
  const names = roles.map((r) => r.role).join(', ');
  if (issue.effect === 'refuses-role') {
    return finding(library, 'key-support', {
      ...base,
      effect: 'refuses',
      message: `the client ${issue.problem}; verification of ${names} fails`,
    });
  }
  const short = roles.filter((r) => usableKeys(library, model, r, issue.versions) < r.threshold);
  if (short.length > 0) {
    const detail = short
      .map((r) => `${r.role} (${usableKeys(library, model, r, issue.versions)} usable key(s), threshold ${r.threshold})`)
      .join(', ');
    return finding(library, 'key-support', {
      ...base,
      effect: 'refuses',
      message: `the client ${issue.problem}; its signatures do not count, so ${detail} cannot meet the threshold`,
    });
  }
  return finding(library, 'key-support', {
    ...base,
    effect: 'mishandles',
    message: `the client ${issue.problem}; its signatures silently do not count (${names} still meet their thresholds with the other keys)`,
  });
}

export function keyFindings(library: Library, model: LintModel): LibraryFinding[] {
  const findings: LibraryFinding[] = [];
  for (const key of model.keys) {
    for (const issue of keyIssues(library.id, key.facts)) {
      const f = keyFinding(library, model, key, issue);
      if (f) findings.push(f);
    }
  }
  return findings;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Signatures whose value is not hex: some clients refuse the whole file, others skip the signature. */
export function signatureFindings(library: Library, model: LintModel): LibraryFinding[] {
  const rule = SIGNATURE_HEX[library.id];
  const files: MetadataFile[] = [model.root, model.timestamp, model.snapshot, ...model.targetsRoles.values()];
  const findings: LibraryFinding[] = [];
  for (const file of files) {
    const bad = file.envelope.signatures.filter((s) => typeof s.sig === 'string' && s.sig !== '' && !HEX.test(s.sig));
    if (bad.length === 0) continue;
    const ids = bad.map((s) => shortKeyId(String(s.keyid))).join(', ');
    findings.push(
      finding(library, 'signature-encoding', {
        subject: file.file,
        effect: rule.effect === 'refuses-file' ? 'refuses' : 'mishandles',
        message:
          rule.effect === 'refuses-file'
            ? `signature(s) by ${ids} are not hex; the client cannot read ${file.file} at all, even if the other signatures meet the threshold`
            : `signature(s) by ${ids} are not hex; the client does not count them`,
        limit: 'signatures are hex strings',
        source: rule.source,
      }),
    );
  }
  return findings;
}

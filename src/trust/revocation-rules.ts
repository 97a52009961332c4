/**
 * Rules for revocations.json beyond its JSON Schema: in each list, digests
 * are well-formed (`sha256:` and 64 lowercase hex digits), unique, and
 * sorted, so the file has one canonical form and diffs stay readable.
 */
import type { TrustProblem } from './problems.js';
import { asArray, isObject, Reporter, str } from './check-helpers.js';
import type { SourceDocument } from './yaml-source.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Problems of a parsed revocations.json beyond its schema. */
export function revocationProblems(doc: SourceDocument): TrustProblem[] {
  if (!isObject(doc.value)) return [];
  const report = new Reporter(doc);
  for (const list of ['envelopes', 'images'] as const) {
    const seen = new Map<string, number>();
    let previous: string | undefined;
    asArray(doc.value[list]).forEach((entry, i) => {
      const digest = isObject(entry) ? str(entry.digest) : undefined;
      if (digest === undefined) return;
      if (!DIGEST.test(digest)) {
        // The schema reports the form; say how to fix the common near-misses.
        if (/^sha256:[0-9a-fA-F]{64}$/.test(digest)) report.error([list, i, 'digest'], 'write the digest in lowercase hex');
        else if (/^[0-9a-f]{64}$/.test(digest))
          report.error([list, i, 'digest'], 'the digest needs its algorithm: "sha256:" + 64 hex digits');
        return;
      }
      const first = seen.get(digest);
      if (first !== undefined) {
        report.error([list, i, 'digest'], `duplicate digest ${digest} (also ${list}[${first}])`);
        return;
      }
      seen.set(digest, i);
      if (previous !== undefined && digest < previous) {
        report.error([list, i, 'digest'], `not sorted: ${digest} comes before ${previous}; keep ${list} sorted by digest`);
      }
      previous = digest;
    });
  }
  return report.problems;
}

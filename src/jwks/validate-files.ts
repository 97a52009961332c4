/**
 * Validation of the committed JWKS mirror under `targets/jwks/`: every
 * ledger.json matches its JSON Schema (policies/schemas/jwks-ledger.schema.json),
 * lives in the directory its issuer maps to, and binds each kid to the
 * thumbprint of its key; every jwks.json publishes exactly the ledger's
 * active and archived keys, public members only.
 */
import { readFileSync } from 'node:fs';
import { sameCanonical } from '../metadata/json.js';
import { Reporter, isObject } from '../trust/check-helpers.js';
import { errorsOf, type TrustProblem } from '../trust/problems.js';
import { schemaProblems } from '../trust/schemas.js';
import { readSource } from '../trust/yaml-source.js';
import { issuerDirectory, issuerFiles, mirroredDirectories } from './issuer.js';
import { jwkProblem, jwkThumbprint, type PublicJwk } from './jwk-checks.js';
import { issuerFileBytes, publishedJwks, type KeyStatus, type Ledger } from './ledger.js';

/** policies/schemas/jwks-ledger.schema.json */
export const LEDGER_SCHEMA = 'jwks-ledger';

/** The members each status requires and forbids (beyond the schema). */
const STATUS_MEMBERS: Record<KeyStatus, { required: string[]; forbidden: string[] }> = {
  active: { required: [], forbidden: ['archived_at', 'revoked_at', 'reason'] },
  archived: { required: ['archived_at', 'reason'], forbidden: ['revoked_at'] },
  revoked: { required: ['revoked_at', 'reason'], forbidden: ['archived_at'] },
};

/**
 * Reads `targets/jwks/<dir>/ledger.json` and checks it: JSON, the schema,
 * the directory its issuer maps to, each entry's kid, status members and
 * thumbprint. `ledger` is set when there is no error.
 */
export function readLedger(repoDir: string, dir: string): { ledger?: Ledger; problems: TrustProblem[] } {
  const files = issuerFiles(repoDir, dir);
  const doc = readSource(files.ledgerPath, `targets/${files.ledgerTarget}`, { json: true });
  if (doc.value === undefined) return { problems: doc.problems };
  const schema = schemaProblems(LEDGER_SCHEMA, doc);
  if (schema.length > 0) return { problems: [...doc.problems, ...schema] };
  const ledger = doc.value as Ledger;
  const report = new Reporter(doc);
  try {
    const expected = issuerDirectory(ledger.issuer);
    if (expected !== dir)
      report.error(['issuer'], `issuer ${ledger.issuer} belongs in targets/jwks/${expected}/, not targets/jwks/${dir}/`);
  } catch (error) {
    report.error(['issuer'], (error as Error).message);
  }
  for (const [kid, entry] of Object.entries(ledger.keys)) {
    const at = (...path: string[]): string[] => ['keys', kid, ...path];
    if (entry.jwk.kid !== kid) report.error(at('jwk', 'kid'), `is ${JSON.stringify(entry.jwk.kid)}, not the entry's kid`);
    const { required, forbidden } = STATUS_MEMBERS[entry.status];
    for (const member of required) if (!(member in entry)) report.error(at(), `an ${entry.status} key needs "${member}"`);
    for (const member of forbidden) if (member in entry) report.error(at(member), `an ${entry.status} key has no "${member}"`);
    if (entry.last_seen < entry.first_seen) report.error(at('last_seen'), 'is before first_seen');
    const problem = jwkProblem(entry.jwk, 0);
    if (problem) report.error(at('jwk'), problem);
    else if (jwkThumbprint(entry.jwk) !== entry.thumbprint) {
      report.error(at('thumbprint'), `is ${entry.thumbprint}, but the key's thumbprint is ${jwkThumbprint(entry.jwk)}`);
    }
  }
  const problems = [...doc.problems, ...report.problems];
  return errorsOf(problems).length > 0 ? { problems } : { ledger, problems };
}

/** Checks `targets/jwks/<dir>/jwks.json` against its (valid) ledger: exactly its active and archived keys. */
function jwksProblems(repoDir: string, dir: string, ledger: Ledger): TrustProblem[] {
  const files = issuerFiles(repoDir, dir);
  const doc = readSource(files.jwksPath, `targets/${files.jwksTarget}`, { json: true });
  if (doc.value === undefined) return doc.problems;
  const report = new Reporter(doc);
  const value = doc.value;
  if (!isObject(value) || !Array.isArray(value.keys)) {
    report.error([], 'must be a JSON object with a "keys" array');
    return [...doc.problems, ...report.problems];
  }
  for (const member of Object.keys(value)) if (member !== 'keys') report.error([member], 'unknown field (only "keys" belongs here)');
  const expected = new Map(publishedJwks(ledger).keys.map((jwk) => [jwk.kid, jwk]));
  const seen = new Set<string>();
  for (const [index, key] of (value.keys as unknown[]).entries()) {
    const problem = jwkProblem(key, index);
    if (problem) {
      report.error(['keys', index], problem);
      if (isObject(key) && typeof key.kid === 'string') seen.add(key.kid); // bad, but not missing
      continue;
    }
    const jwk = key as PublicJwk;
    const kid = JSON.stringify(jwk.kid);
    const entry = ledger.keys[jwk.kid];
    if (seen.has(jwk.kid)) report.error(['keys', index], `kid ${kid} appears more than once`);
    seen.add(jwk.kid);
    if (!entry) report.error(['keys', index], `kid ${kid} is not in the ledger`);
    else if (entry.status === 'revoked') report.error(['keys', index], `kid ${kid} is revoked in the ledger`);
    else if (jwkThumbprint(jwk) !== entry.thumbprint) {
      report.error(['keys', index], `kid ${kid} has thumbprint ${jwkThumbprint(jwk)}, the ledger ${entry.thumbprint}`);
    } else if (!sameCanonical(jwk, expected.get(jwk.kid))) {
      report.error(['keys', index], `kid ${kid} differs from the ledger's key (only its public members belong here)`);
    }
  }
  for (const [kid, entry] of Object.entries(ledger.keys)) {
    if (expected.has(kid) && !seen.has(kid)) report.error(['keys'], `is missing the ${entry.status} key ${JSON.stringify(kid)}`);
  }
  return [...doc.problems, ...report.problems];
}

/** Every problem of the JWKS mirror in `repoDir`; an empty list when there is none (or no mirror). */
export function validateJwksFiles(repoDir: string): TrustProblem[] {
  const problems: TrustProblem[] = [];
  for (const { dir, hasLedger, hasJwks } of mirroredDirectories(repoDir)) {
    const files = issuerFiles(repoDir, dir);
    const problem = (target: string, message: string, severity: TrustProblem['severity'] = 'error'): void => {
      problems.push({ severity, file: `targets/${target}`, message });
    };
    if (!hasLedger) {
      problem(files.jwksTarget, 'has no ledger.json next to it');
      continue;
    }
    const { ledger, problems: found } = readLedger(repoDir, dir);
    problems.push(...found);
    if (!hasJwks) problem(files.jwksTarget, 'is missing (every ledger.json needs its jwks.json)');
    if (!ledger || !hasJwks) continue;
    const jwksFound = jwksProblems(repoDir, dir, ledger);
    problems.push(...jwksFound);
    if (errorsOf(jwksFound).length > 0) continue;
    // Same content, other bytes: harmless to verifiers, but the next sync will rewrite the file.
    const bytes = issuerFileBytes(ledger);
    if (!readFileSync(files.ledgerPath).equals(bytes.ledger)) problem(files.ledgerTarget, 'is not in the form tufctl writes', 'warning');
    if (!readFileSync(files.jwksPath).equals(bytes.jwks)) problem(files.jwksTarget, 'is not in the form tufctl writes', 'warning');
  }
  return problems;
}

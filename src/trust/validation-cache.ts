/**
 * The last trust data validation, remembered in `.git/tufctl/trust-validation.json`
 * with the size, mtime and inode of every file and directory it depended on
 * (present or absent). `verify` — and so every publish and refresh run —
 * reuses the result while nothing of it changed, without loading the
 * validators (Ajv, yaml) at all. Like the role index, the cache lives inside
 * `.git`, is never committed, and any mismatch means a full validation.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../fs-atomic.js';
import type { TrustProblem } from './problems.js';

interface CacheFile {
  /** Identifies the validator build: a new tufctl validates afresh. */
  validator: string;
  /** Repository-relative path → "size:mtimeNs:ino", or null when absent. */
  inputs: Record<string, string | null>;
  problems: TrustProblem[];
}

function cachePath(repoDir: string): string | undefined {
  const gitDir = join(repoDir, '.git');
  return existsSync(gitDir) && statSync(gitDir).isDirectory() ? join(gitDir, 'tufctl', 'trust-validation.json') : undefined;
}

function fingerprint(path: string): string | null {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.size}:${s.mtimeNs}:${s.ino}`;
  } catch {
    return null;
  }
}

/** The validator's own build (its compiled module's fingerprint). */
function validatorId(): string {
  return fingerprint(fileURLToPath(new URL('./trust-files.js', import.meta.url))) ?? 'unknown';
}

function readCache(repoDir: string): TrustProblem[] | undefined {
  const path = cachePath(repoDir);
  if (!path || !existsSync(path)) return undefined;
  try {
    const cache = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
    if (cache.validator !== validatorId()) return undefined;
    for (const [rel, expected] of Object.entries(cache.inputs)) if (fingerprint(join(repoDir, rel)) !== expected) return undefined;
    return cache.problems;
  } catch {
    return undefined;
  }
}

/** Every problem of the trust data, from the cache when none of its inputs changed. */
export async function trustProblemsCached(repoDir: string): Promise<TrustProblem[]> {
  const cached = readCache(repoDir);
  if (cached) return cached;
  const { trustProblems, trustValidationInputs } = await import('./trust-files.js');
  const inputs = trustValidationInputs(repoDir);
  const before = Object.fromEntries(inputs.map((rel) => [rel, fingerprint(join(repoDir, rel))]));
  const problems = trustProblems(repoDir);
  const path = cachePath(repoDir);
  // Recorded only if nothing changed while validating.
  if (path && inputs.every((rel) => fingerprint(join(repoDir, rel)) === before[rel])) {
    try {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileAtomic(path, JSON.stringify({ validator: validatorId(), inputs: before, problems } satisfies CacheFile));
    } catch {
      // a cache that cannot be written is only a missed speed-up
    }
  }
  return problems;
}

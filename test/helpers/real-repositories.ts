/**
 * Real tuf-on-ci repositories as test data: the git fixtures in
 * test/fixtures/real/ (selected commits of public repositories, metadata and
 * targets only; see its README.md for attribution) replayed into a fresh git
 * repository with `git fast-import`, and the facts recorded about them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PROJECT_DIR, git, tempDir } from './harness.js';

export const REAL_REPOSITORIES = ['root-signing-staging', 'root-signing', 'docker-tuf'] as const;
export type RealRepositoryName = (typeof REAL_REPOSITORIES)[number];

export interface RealRef {
  originalCommit: string;
  fixtureCommit: string;
  /** A time inside the validity of every role at this ref (or the commit time, on signing branches). */
  now: string;
  expiredAtNow: string[];
}

export interface RealRepositoryFacts {
  source: string;
  refs: Record<'main' | 'event-base' | 'event-partial' | 'event-complete', RealRef> & Record<string, RealRef>;
  event: { roles: string[]; description: string; signers: string[] };
  trustedRootVersion: number;
}

const FIXTURES = join(PROJECT_DIR, 'test', 'fixtures', 'real');

export function realRepositoryFacts(name: RealRepositoryName): RealRepositoryFacts {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as RealRepositoryFacts;
}

/** Replays the fixture into a new git repository with every ref, checked out at `ref` (default main). */
export function replayRealRepository(name: RealRepositoryName, ref = 'main'): { dir: string; root: string; cleanup: () => void } {
  const tmp = tempDir(`tufctl-real-${name}-`);
  const dir = join(tmp.path, name);
  git(tmp.path, 'init', '-q', dir);
  const imported = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, input: readFileSync(join(FIXTURES, `${name}.fast-export`)) });
  if (imported.status !== 0) throw new Error(`git fast-import ${name}: ${imported.stderr.toString()}`);
  git(dir, 'checkout', '-q', '-f', ref);
  return { dir, root: tmp.path, cleanup: tmp.cleanup };
}

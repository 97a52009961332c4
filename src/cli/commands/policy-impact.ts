/** `tufctl policy impact`: the policy each sample image gets before and after a change (the subcommand's handler). */
import { resolve } from 'node:path';
import { assertGitRepository } from '../../git/git-repo.js';
import { baseCommit, defaultBaseRef } from '../../git/merge-base.js';
import { gatherImageSamples } from '../../trust/image-samples.js';
import { policyImpact } from '../../trust/policy-impact.js';
import { impactMarkdown, impactText } from '../../trust/policy-impact-format.js';
import { materializeRef, workingTree } from '../../validate/trees.js';
import { nowFrom, repoDir, type GlobalArgs } from '../context.js';

export interface PolicyImpactArgs extends GlobalArgs {
  base?: string;
  images?: string[];
  format?: string;
}

export async function policyImpactCommand(args: PolicyImpactArgs): Promise<void> {
  const dir = repoDir(args);
  assertGitRepository(dir);
  const now = nowFrom(args);
  const chosen = args.base !== undefined ? { commit: baseCommit(dir, args.base), label: '' } : defaultBaseRef(dir);
  const gathered = gatherImageSamples(
    dir,
    (args.images ?? []).map((file) => ({ path: resolve(file), label: file })),
    true,
  );
  const base = materializeRef(dir, chosen.commit);
  const label = args.base !== undefined ? `${args.base} (${chosen.commit.slice(0, 7)})` : chosen.label;
  try {
    const head = workingTree(dir);
    const report = policyImpact({
      baseDir: base.dir,
      baseLabel: label,
      headDir: head.dir,
      headLabel: head.label,
      samples: gathered.samples,
      sampleLists: gathered.lists,
      now,
      strictHead: true,
    });
    if (args.json) process.stdout.write(JSON.stringify({ ok: true, ...report }, null, 2) + '\n');
    else if (args.format === 'markdown') process.stdout.write(impactMarkdown(report).join('\n') + '\n');
    else process.stdout.write(impactText(report).join('\n') + '\n');
  } finally {
    base.cleanup();
  }
}

/** The policy impact section of `tufctl validate`: the impact of the change on the head tree's sample images, never failing the check. */
import { gatherImageSamples } from '../trust/image-samples.js';
import { policyImpact, type PolicyImpactReport } from '../trust/policy-impact.js';
import type { Tree } from './trees.js';

/** The impact of `base` → `head`; problems (a malformed sample list, an unusable mapping) become its warnings. */
export function validateImpact(base: Tree, head: Tree, now: Date): { impact?: PolicyImpactReport } {
  try {
    const gathered = gatherImageSamples(head.dir, [], false);
    const impact = policyImpact({
      baseDir: base.dir,
      baseLabel: base.label,
      headDir: head.dir,
      headLabel: head.label,
      samples: gathered.samples,
      sampleLists: gathered.lists,
      now,
    });
    impact.warnings.unshift(...gathered.warnings);
    return { impact };
  } catch {
    return {}; // the trust checks of validate report what makes the trust data unusable
  }
}

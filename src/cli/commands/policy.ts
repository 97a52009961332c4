/** `tufctl policy …`: validate trust data, record hand edits as targets, promote the testing channel, show a change's impact on images. */
import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TrustDataError } from '../../errors.js';
import { errorsOf, formatProblem, formatProblemLine } from '../../trust/problems.js';
import type { PromoteResult } from '../../trust/promote.js';
import { describeOutcome, describeTrust, emit, openRepository, repoDir, runTrustEdit, type EditArgs, type GlobalArgs } from '../context.js';

export function register(cli: Argv): Argv {
  return cli.command('policy', 'Validate and apply trust data (policy mapping, policies, attestations, keys, revocations)', (y) =>
    y
      .command(
        'validate',
        'Validate every trust file (schemas, regexes, references, rewrite loops, keys, generated data, target entries)',
        (t) => t.example('$0 policy validate', 'Check the trust data before signing'),
        async (argv) => {
          const args = argv as unknown as GlobalArgs;
          const { unrecordedProblems } = await import('../../edit/trust-data.js');
          const { trustProblems } = await import('../../trust/trust-files.js');
          const dir = repoDir(args);
          const problems = trustProblems(dir);
          if (existsSync(join(dir, 'metadata', 'root.json'))) problems.push(...unrecordedProblems(openRepository(args, { git: false })));
          const errors = errorsOf(problems);
          if (errors.length > 0 && !args.json) {
            for (const warning of problems.filter((p) => p.severity === 'warning'))
              process.stderr.write(`tufctl: ${formatProblemLine(warning)}\n`);
            throw new TrustDataError(
              'TRUST_INVALID',
              `trust data does not validate (${errors.length} problem${errors.length === 1 ? '' : 's'})`,
              errors.map(formatProblem),
            );
          }
          const lines = problems.map(formatProblemLine);
          if (errors.length === 0) lines.push('trust data is valid');
          emit(args, lines, { ok: errors.length === 0, problems });
          if (errors.length > 0) process.exitCode = 1;
        },
      )
      .command(
        'apply',
        'Regenerate policy data files, validate, and record changed trust files as targets of the roles that sign them',
        (t) => t.example('$0 policy apply --sign --key targets.pem', 'After editing mapping.yaml by hand'),
        async (argv) => {
          const args = argv as unknown as EditArgs;
          const outcome = await runTrustEdit(args, () => {});
          emit(args, [...describeTrust(outcome.trust), ...describeOutcome(outcome)], { ok: true, ...outcome });
        },
      )
      .command(
        'promote <channel>',
        'Make the testing channel the released one: copy its trust files to the top level',
        (t) => t.positional('channel', { choices: ['testing'] as const, demandOption: true }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { channel: 'testing' };
          const { promoteChannel } = await import('../../trust/promote.js');
          const { removeTargets } = await import('../../edit/targets.js');
          let promoted: PromoteResult = { copied: [], removed: [] };
          const outcome = await runTrustEdit(args, (files, repo) => {
            promoted = promoteChannel(repo.dir, args.channel, files);
            if (promoted.removed.length > 0) removeTargets(repo, promoted.removed, { keepFiles: true });
          });
          const lines = [
            ...promoted.copied.map((p) => `promoted ${args.channel}/${p} → ${p}`),
            ...promoted.removed.map((p) => `removed ${p} (no longer in the mapping)`),
            ...describeTrust(outcome.trust),
            ...describeOutcome(outcome),
          ];
          emit(args, lines, { ok: true, promoted, ...outcome });
        },
      )
      .command(
        'impact',
        'What a change of the policy mapping does to images: the policy each sample image gets before and after, shadowed rules, unreachable policies',
        (t) =>
          t
            .option('base', {
              type: 'string',
              describe: 'Git ref to compare with (default: the merge base of HEAD and origin/main, or main)',
            })
            .option('images', { type: 'string', array: true, describe: "More sample image lists (FILE …), besides the repository's own" })
            .option('format', { type: 'string', choices: ['markdown', 'text'], describe: 'Report format (default text; --json for JSON)' })
            .example(
              '$0 policy impact --base origin/main --format markdown',
              "The impact of the working tree's mapping as a pull-request comment",
            )
            .example('$0 policy impact --images more-images.txt', 'Also evaluate the images listed in more-images.txt'),
        async (argv) => {
          const { policyImpactCommand } = await import('./policy-impact.js');
          await policyImpactCommand(argv as unknown as GlobalArgs & { base?: string; images?: string[]; format?: string });
        },
      )
      .demandCommand(1, 'name a policy command (see tufctl policy --help)'),
  );
}

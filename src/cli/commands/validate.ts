/**
 * `tufctl validate --base REF`: the pull-request check. Exit 0 ready to
 * merge, 1 invalid, 2 valid but waiting for signatures. (2 is also the
 * generic exit code of a usage error; usage errors print `tufctl: error
 * [USAGE]` and no report, and with --json carry `"ok": false`.)
 */
import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { assertGitRepository } from '../../git/git-repo.js';
import { nowFrom, repoDir, trustedRootFrom, type GlobalArgs } from '../context.js';

interface ValidateArgs extends GlobalArgs {
  base: string;
  head?: string;
  format?: string;
  output?: string;
}

export function register(cli: Argv): Argv {
  return cli.command(
    'validate',
    'Pull-request check: what changes for clients between --base and the working tree (or --head), is it valid, who still has to sign',
    (y) =>
      y
        .option('base', { type: 'string', demandOption: true, describe: 'Git ref to compare with (e.g. origin/main)' })
        .option('head', { type: 'string', describe: 'Git ref to check instead of the working tree (read from git, not checked out)' })
        .option('format', {
          type: 'string',
          choices: ['markdown', 'json', 'text'],
          describe: 'Report format (default text; json with --json)',
        })
        .option('output', { type: 'string', describe: 'Write the report to FILE (stdout then gets the one-line verdict)' })
        .example('$0 validate --base origin/main --format markdown --output comment.md', 'The report as a pull-request comment')
        .epilog(
          'Exit codes: 0 ready to merge, 1 invalid (the reasons are in the report), 2 valid but waiting for signatures. ' +
            'Usage errors also exit 2 (with "tufctl: error [USAGE]" on stderr and no report).',
        ),
    async (argv) => {
      const args = argv as unknown as ValidateArgs;
      if (!args.base) throw new UsageError('--base REF is required');
      const dir = repoDir(args);
      assertGitRepository(dir);
      const now = nowFrom(args);
      const { materializeRef, workingTree } = await import('../../validate/trees.js');
      const { validateChange, exitCodeOf } = await import('../../validate/validate.js');
      const { formatMarkdown, formatText } = await import('../../validate/format.js');
      const base = materializeRef(dir, args.base);
      let head;
      try {
        head = args.head ? materializeRef(dir, args.head) : workingTree(dir);
      } catch (error) {
        base.cleanup();
        throw error;
      }
      try {
        const report = await validateChange(base, head, { now, ...trustedRootFrom(args) });
        const format = args.format ?? (args.json ? 'json' : 'text');
        const json = { ok: true, ...report };
        const body =
          format === 'json' ? JSON.stringify(json, null, 2) + '\n' : format === 'markdown' ? formatMarkdown(report) : formatText(report);
        if (args.output) {
          writeFileSync(resolve(args.output), body);
          process.stdout.write(args.json ? JSON.stringify(json, null, 2) + '\n' : `${report.verdict}\n`);
        } else process.stdout.write(body);
        process.exitCode = exitCodeOf(report.result);
      } finally {
        base.cleanup();
        head.cleanup();
      }
    },
  );
}

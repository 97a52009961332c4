/** `tufctl sign`, `tufctl snapshot`, `tufctl timestamp`: add signatures; refresh the online roles. */
import type { Argv } from 'yargs';
import { remainingSignatures, signRoles } from '../../edit/signing.js';
import { Repository } from '../../metadata/repository.js';
import { doSnapshot, doTimestamp, type OnlineRoleResult } from '../../metadata/snapshot-timestamp.js';
import {
  assertCommittable,
  commitMessage,
  emit,
  formatSigning,
  nowFrom,
  onlineSigners,
  openRepository,
  repoDir,
  signersFrom,
  type EditArgs,
} from '../context.js';
import { commitStaged } from '../../git/git-repo.js';

function onlineLines(results: OnlineRoleResult[]): string[] {
  return results.map((r) => (r.updated ? `${r.role} v${r.version}: ${r.reasons.join('; ')}` : `${r.role} v${r.version}: up to date`));
}

export function register(cli: Argv): Argv {
  return cli
    .command(
      'sign [roles..]',
      'Sign the roles that changed (or the ones named) with every given key each role trusts',
      (y) =>
        y
          .positional('roles', { type: 'string', array: true, describe: 'Roles to sign (default: those changed since the base ref)' })
          .option('base', {
            type: 'string',
            describe: 'Git ref "changed" is counted from (default: tufctl.json baseRef, else HEAD; also TUFCTL_BASE_REF)',
          })
          .example('$0 sign --key ~/keys/targets.pem', 'Sign what changed with your key')
          .example('$0 sign --base origin/main --key ~/keys/targets.pem', 'On a pull-request branch: sign what the branch changed')
          .example('TUFCTL_KEY_ROOT="$(cat root.pem)" $0 sign root', 'Sign root with a key from the environment'),
      async (argv) => {
        const args = argv as unknown as EditArgs & { roles?: string[]; base?: string };
        const base = args.base || process.env.TUFCTL_BASE_REF || undefined;
        const repo = base ? Repository.open(repoDir(args), { now: nowFrom(args), baseRef: base }) : openRepository(args);
        if (args.commit) assertCommittable(repo.dir);
        const { assertTrustDataValid } = await import('../../edit/trust-data.js');
        assertTrustDataValid(repo);
        const results = await signRoles(repo, signersFrom(args), args.roles, { baseRef: base });
        const written = await repo.saveAsync();
        let commit: string | undefined;
        if (args.commit && written.length > 0) commit = await commitStaged(repo.dir, commitMessage(repo.changeLog()));
        const lines = results.length === 0 ? ['nothing to sign: no role changed since the base ref'] : results.map(formatSigning);
        for (const r of results)
          if (r.alreadySigned?.length) lines.push(`${r.role}: already signed with ${r.alreadySigned.map((k) => k.slice(0, 8)).join(', ')}`);
        const remaining = remainingSignatures(results);
        if (results.length > 0)
          lines.push(remaining.length > 0 ? `still needed: ${remaining.join('; ')}` : 'all signed: no signature is missing');
        if (commit) lines.push(`committed ${commit}`);
        const complete = remaining.length === 0;
        emit(args, lines, { ok: true, complete, roles: results, remaining, written, commit });
      },
    )
    .command(
      'snapshot',
      'Produce and sign a new snapshot with the online key when targets roles changed (or it is due or invalid)',
      (y) => y.option('force', { type: 'boolean', default: false, describe: 'Re-sign even if nothing changed' }),
      async (argv) => {
        const args = argv as unknown as EditArgs & { force: boolean };
        const repo = openRepository(args);
        if (args.commit) assertCommittable(repo.dir);
        const result = await doSnapshot(repo, await onlineSigners(repo, args.key), { force: args.force });
        const written = await repo.saveAsync();
        let commit: string | undefined;
        if (args.commit && written.length > 0) commit = await commitStaged(repo.dir, commitMessage(repo.changeLog()));
        emit(args, onlineLines([result]), { ok: true, ...result, written, commit });
      },
    )
    .command(
      'timestamp',
      'Produce and sign a new timestamp with the online key when snapshot changed (or it is due or invalid)',
      (y) => y.option('force', { type: 'boolean', default: false, describe: 'Re-sign even if nothing changed' }),
      async (argv) => {
        const args = argv as unknown as EditArgs & { force: boolean };
        const repo = openRepository(args);
        if (args.commit) assertCommittable(repo.dir);
        const result = await doTimestamp(repo, await onlineSigners(repo, args.key), { force: args.force });
        const written = await repo.saveAsync();
        let commit: string | undefined;
        if (args.commit && written.length > 0) commit = await commitStaged(repo.dir, commitMessage(repo.changeLog()));
        emit(args, onlineLines([result]), { ok: true, ...result, written, commit });
      },
    );
}

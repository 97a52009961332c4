/** `tufctl target …`: add and remove targets. */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { addTargetEntries, addTargetFiles, addTargets, removeTargets, targetEntries, type AddedTarget } from '../../edit/targets.js';
import { isJSONObject, type JSONObject } from '../../metadata/json.js';
import { JSONParseError, parseJSON } from '../../metadata/strict-json.js';
import { describeOutcome, emit, runEdit, type EditArgs } from '../context.js';

function parseCustom(value: string | undefined): JSONObject | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = parseJSON(value);
  } catch (error) {
    if (error instanceof JSONParseError && error.kind === 'duplicate') throw new UsageError(`--custom: ${error.message}`);
    throw new UsageError('--custom must be a JSON object, e.g. \'{"kind":"policy"}\'');
  }
  if (!isJSONObject(parsed)) throw new UsageError('--custom must be a JSON object');
  return parsed;
}

function summary(added: AddedTarget[]): string[] {
  if (added.length <= 20)
    return added.map((t) => `${t.role}: ${t.path} (${t.length} bytes, sha256 ${t.hashes.sha256?.slice(0, 12) ?? '?'}…)`);
  const roles = new Set(added.map((t) => t.role));
  return [`${added.length} targets in ${roles.size} role(s)`];
}

export function register(cli: Argv): Argv {
  return cli.command('target', 'Add and remove targets', (y) =>
    y
      .command(
        'add <files..>',
        "Add or update target files lying under the repository's targets/ directory",
        (t) =>
          t
            .positional('files', { type: 'string', array: true, demandOption: true })
            .option('custom', { type: 'string', describe: 'JSON object stored as the targets\' "custom" field' })
            .option('role', { type: 'string', describe: 'Role to sign the targets (default: the role a client would look in)' }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { files: string[]; custom?: string; role?: string };
          let added: AddedTarget[] = [];
          const outcome = await runEdit(args, (repo) => {
            added = addTargetFiles(repo, args.files, { custom: parseCustom(args.custom), role: args.role });
          });
          emit(args, [...summary(added), ...describeOutcome(outcome)], { ok: true, targets: added, ...outcome });
        },
      )
      .command(
        'add-entry <path>',
        'Add a target described without a file (e.g. an image digest)',
        (t) =>
          t
            .positional('path', { type: 'string', demandOption: true })
            .option('length', { type: 'number', demandOption: true })
            .option('sha256', { type: 'string', demandOption: true })
            .option('custom', { type: 'string', describe: 'JSON object stored as the target\'s "custom" field' })
            .option('role', { type: 'string', describe: 'Role to sign the target' }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { path: string; length: number; sha256: string; custom?: string; role?: string };
          let added: AddedTarget[] = [];
          const custom = parseCustom(args.custom);
          const outcome = await runEdit(args, (repo) => {
            added = addTargets(
              repo,
              [{ path: args.path, length: args.length, hashes: { sha256: args.sha256 }, ...(custom ? { custom } : {}) }],
              args.role ? { role: args.role } : {},
            );
          });
          emit(args, [...summary(added), ...describeOutcome(outcome)], { ok: true, targets: added, ...outcome });
        },
      )
      .command(
        'add-entries',
        'Bulk-add targets described in a JSON Lines file ({"path","length","sha256"} per line)',
        (t) => t.option('from', { type: 'string', demandOption: true, describe: 'JSON Lines file' }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { from: string };
          // Read while the targets are placed: a million lines are never held at once.
          const entries = targetEntries(args.from);
          let added = { added: 0, roles: 0 };
          const outcome = await runEdit(args, async (repo) => {
            added = await addTargetEntries(repo, entries);
          });
          emit(args, [`added ${added.added} targets in ${added.roles} role(s)`, ...describeOutcome(outcome)], {
            ok: true,
            added: added.added,
            roles: added.roles,
            written: outcome.written.length,
            commit: outcome.commit,
          });
        },
      )
      .command(
        'remove <paths..>',
        'Remove targets (and their files under targets/)',
        (t) =>
          t
            .positional('paths', { type: 'string', array: true, demandOption: true })
            .option('keep-file', { type: 'boolean', default: false, describe: 'Leave the file under targets/ in place' }),
        async (argv) => {
          const args = argv as unknown as EditArgs & { paths: string[]; 'keep-file': boolean };
          let removed: Array<{ path: string; role: string }> = [];
          const outcome = await runEdit(args, (repo) => {
            removed = removeTargets(repo, args.paths, { keepFiles: args['keep-file'] });
          });
          emit(args, [...removed.map((r) => `${r.role}: removed ${r.path}`), ...describeOutcome(outcome)], {
            ok: true,
            removed,
            ...outcome,
          });
        },
      )
      .demandCommand(1, 'name a target subcommand: add, add-entry, add-entries or remove'),
  );
}

/** `tufctl publish` and `tufctl client …`: the registry side. */
import type { Argv } from 'yargs';
import type { ClientOptions } from '../../client.js';
import { loadConfig } from '../../config.js';
import { VerificationError } from '../../errors.js';
import type { PublishEvent, TagMove } from '../../oci/publish.js';
import type { Tampering } from '../../oci/published-state.js';
import { emit, nowFrom, repoDir, trustedRootFrom, type GlobalArgs } from '../context.js';

interface PublishArgs extends GlobalArgs {
  to?: string;
  'plain-http': boolean;
  progress?: boolean;
  timeout: number;
  retries: number;
  concurrency?: number;
  repair: boolean;
  'dry-run': boolean;
}

interface ClientArgs extends GlobalArgs {
  from: string;
  root: string;
  cache?: string;
  'plain-http': boolean;
  'metadata-repository': string;
  'targets-repository': string;
  'max-metadata-bytes'?: number;
}

/** The client options every `tufctl client` subcommand shares. */
function clientOptions(args: ClientArgs): ClientOptions {
  return {
    from: args.from,
    root: args.root,
    cacheDir: args.cache,
    plainHttp: args['plain-http'],
    metadataRepository: args['metadata-repository'],
    targetsRepository: args['targets-repository'],
    ...(args['max-metadata-bytes'] !== undefined ? { maxMetadataBytes: args['max-metadata-bytes'] } : {}),
  };
}

function progressPrinter(args: PublishArgs): ((e: PublishEvent) => void) | undefined {
  const wanted = args.progress ?? (process.stderr.isTTY && !process.env.CI && !args.json);
  if (!wanted) return undefined;
  return (e) => {
    if (e.action !== 'skip') process.stderr.write(`${e.action === 'upload' ? 'uploaded' : 'tagged  '} ${e.repository} ${e.name}\n`);
  };
}

/** The checked plan: which tags move and why (printed by --repair and --dry-run). */
function planLines(plan: TagMove[], tampered: Tampering[], dryRun: boolean): string[] {
  const short = (digest?: string): string => (digest ? digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…') : '(new)');
  const lines: string[] = [];
  if (tampered.length > 0) {
    lines.push(`the registry serves ${tampered.length} file(s) or tag(s) the signed metadata does not vouch for:`);
    for (const t of tampered) lines.push(`  ${t.tag}: ${t.subject} ${t.problem}`);
  }
  lines.push(
    plan.length === 0
      ? 'plan: no tag moves'
      : `plan: ${plan.length} tag move(s)${dryRun ? ' (dry run: nothing is written)' : ', in this order'}:`,
  );
  for (const m of plan) lines.push(`  ${m.repair ? 'repair' : 'update'} ${m.tag} ${short(m.from)} -> ${short(m.to)}: ${m.reason}`);
  return lines;
}

export function register(cli: Argv): Argv {
  return cli
    .command(
      'publish',
      'Publish the verified repository to an OCI registry (or OCI layout directory) in the registry TUF layout',
      (y) =>
        y
          .option('to', { type: 'string', describe: 'oci://HOST[:PORT]/NAMESPACE or oci-layout:DIR (default: publishTo in tufctl.json)' })
          .option('plain-http', { type: 'boolean', default: false, describe: 'Allow plain HTTP to a non-loopback registry' })
          .option('timeout', { type: 'number', default: 60, describe: 'Seconds one registry request may take' })
          .option('retries', { type: 'number', default: 3, describe: 'Retries of a failed registry request (429, 5xx, resets, timeouts)' })
          .option('concurrency', {
            type: 'number',
            describe:
              'Registry uploads in flight at once, 1..64 (default: publishConcurrency in tufctl.json, else 8); the publish order holds at any value',
          })
          .option('progress', { type: 'boolean', describe: 'Show per-file progress (default: on a terminal, off in CI)' })
          .option('repair', {
            type: 'boolean',
            default: false,
            describe:
              'Check every tag against the signed metadata and rewrite those it does not vouch for (REGISTRY_TAMPERED otherwise); never lowers a validly signed version',
          })
          .option('dry-run', { type: 'boolean', default: false, describe: 'Read and check everything, print the plan, write nothing' })
          .example('$0 publish --to oci://registry.example.com/acme', 'Publish to acme/tuf-metadata and acme/tuf-targets')
          .example('$0 publish --repair --dry-run', 'Show which tampered tags a repair would rewrite, and why'),
      async (argv) => {
        const args = argv as unknown as PublishArgs;
        const dir = repoDir(args);
        const config = loadConfig(dir);
        const destination = args.to ?? config.publishTo;
        // Loaded here, not at the top: the registry code and tuf-js add ~40 ms to every tufctl start.
        const { openOciTarget } = await import('../../oci/destination.js');
        const { publishRepository } = await import('../../oci/publish.js');
        const target = openOciTarget(destination, {
          plainHttp: args['plain-http'],
          baseDir: dir,
          timeoutMs: args.timeout * 1000,
          retries: args.retries,
        });
        const report = await publishRepository(dir, target, {
          metadataRepository: config.metadataRepository,
          targetsRepository: config.targetsRepository,
          now: args.now ? nowFrom(args) : undefined,
          ...trustedRootFrom(args),
          onProgress: progressPrinter(args),
          repair: args.repair,
          dryRun: args['dry-run'],
          concurrency: args.concurrency ?? config.publishConcurrency,
          // The plan is shown before anything is written.
          ...(!args.json && (args.repair || args['dry-run'])
            ? { onPlan: (plan: TagMove[], tampered: Tampering[]) => emit(args, planLines(plan, tampered, args['dry-run']), undefined) }
            : {}),
        });
        const v = report.versions;
        if (report.dryRun) {
          emit(args, [`dry run: ${report.plan.length} tag move(s) planned for ${report.location}; nothing was written`], {
            ok: true,
            ...report,
          });
          return;
        }
        const lines = [
          report.changed
            ? `published root v${v.root}, targets v${v.targets}, snapshot v${v.snapshot}, timestamp v${v.timestamp} to ${report.location}`
            : `${report.location} already serves this repository (root v${v.root}, timestamp v${v.timestamp}); nothing uploaded`,
          `  ${report.stats.blobsUploaded} blob(s) and ${report.stats.manifestsPut} manifest(s) uploaded (${report.stats.bytesUploaded} bytes), ${report.skipped} skipped, ${report.stats.requests} request(s)`,
        ];
        if (report.targetsWithoutFiles > 0)
          lines.push(`  ${report.targetsWithoutFiles} target(s) have no local file (described by entry) and were not uploaded`);
        if (report.tampered.length > 0)
          lines.push(`  repaired: ${report.plan.filter((m) => m.repair).length} tag(s) rewritten from the signed metadata`);
        emit(args, lines, { ok: true, ...report });
      },
    )
    .command('client', 'A TUF client for published repositories (registry, OCI layout or HTTP mirror)', (y) =>
      y
        .option('from', { type: 'string', demandOption: true, describe: 'oci://HOST[:PORT]/NAMESPACE, oci-layout:DIR or https://MIRROR' })
        .option('root', { type: 'string', demandOption: true, describe: 'Trusted root metadata to start from (e.g. 1.root.json)' })
        .option('cache', { type: 'string', describe: 'Local metadata cache (default ~/.cache/tufctl/client/<source hash>)' })
        .option('plain-http', { type: 'boolean', default: false, describe: 'Allow plain HTTP to a non-loopback host' })
        .option('metadata-repository', { type: 'string', default: 'tuf-metadata' })
        .option('targets-repository', { type: 'string', default: 'tuf-targets' })
        .option('max-metadata-bytes', {
          type: 'number',
          describe: 'Largest snapshot or targets metadata read when trusted metadata gives no length (default 8 MiB)',
        })
        .check((a) => {
          const max = a['max-metadata-bytes'];
          if (max !== undefined && (!Number.isInteger(max) || max < 1024))
            throw new Error('--max-metadata-bytes must be an integer of at least 1024');
          return true;
        })
        .command(
          'fetch <target>',
          'Refresh trusted metadata, then download and verify one target',
          (c) =>
            c
              .positional('target', { type: 'string', demandOption: true })
              .option('out', { type: 'string', describe: 'Where to write the target' }),
          async (argv) => {
            const args = argv as unknown as ClientArgs & { target: string; out?: string };
            const { clientFetch } = await import('../../client.js');
            const result = await clientFetch({
              ...clientOptions(args),
              target: args.target,
              out: args.out,
              ...(args.now ? { now: nowFrom(args) } : {}),
            });
            emit(args, [`${result.target}: ${result.length} bytes, sha256 ${result.sha256 ?? '?'} verified -> ${result.out}`], {
              ok: true,
              ...result,
            });
          },
        )
        .command(
          'verify',
          'Refresh trusted metadata and check every top-level role stays valid for --valid-for days',
          (c) => c.option('valid-for', { type: 'number', default: 0 }),
          async (argv) => {
            const args = argv as unknown as ClientArgs & { 'valid-for': number };
            const { clientVerify } = await import('../../client.js');
            const result = await clientVerify({
              ...clientOptions(args),
              validForDays: args['valid-for'],
              now: args.now ? nowFrom(args) : undefined,
            });
            if (!result.ok)
              throw new VerificationError(`${args.from} does not stay valid for ${args['valid-for']} day(s)`, result.problems);
            emit(
              args,
              [...result.roles.map((r) => `${r.role.padEnd(10)} v${r.version} expires ${r.expires}`), `✓ ${args.from} verifies`],
              result,
            );
          },
        )
        .demandCommand(1, 'name a client subcommand: fetch or verify'),
    );
}

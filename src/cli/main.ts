/**
 * The tufctl command line: global options, command registration and the one
 * place errors become output and exit codes.
 *
 * Exit codes: 0 success; 1 a problem with the repository, keys or input;
 * 2 wrong usage of the command line.
 */
import { redactSecrets } from '../secrets.js';
import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { TufctlError, UsageError } from '../errors.js';
import * as delegate from './commands/delegate.js';
import * as init from './commands/init.js';
import * as inspect from './commands/inspect.js';
import * as jwks from './commands/jwks.js';
import * as keys from './commands/keys.js';
import * as policy from './commands/policy.js';
import * as publish from './commands/publish.js';
import * as recover from './commands/recover.js';
import * as refresh from './commands/refresh.js';
import * as revoke from './commands/revoke.js';
import * as signing from './commands/signing.js';
import * as targets from './commands/targets.js';
import * as validate from './commands/validate.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Every error goes out through here: private key material in a message is redacted (secrets.ts). */
function printError(error: unknown, json: boolean): number {
  if (error instanceof TufctlError) {
    const message = redactSecrets(error.message);
    const details = error.details.map(redactSecrets);
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: error.code, message, details } }, null, 2) + '\n');
    else {
      process.stderr.write(`tufctl: error [${error.code}]: ${message}\n`);
      for (const detail of details) process.stderr.write(`tufctl: error [${error.code}]: ${detail}\n`);
    }
    return error.code === 'USAGE' ? 2 : 1;
  }
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'INTERNAL', message } }, null, 2) + '\n');
  else process.stderr.write(`tufctl: error [INTERNAL]: ${message}\n`);
  if (process.env.TUFCTL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let cli: Argv = yargs(argv)
    .scriptName('tufctl')
    .usage(
      '$0 <command> [options]\n\nManage a git-backed TUF repository for signed container images: edit, sign, verify, publish; trust data; the refresh job.',
    )
    .option('repo', { type: 'string', default: '.', describe: 'Repository directory', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'Print machine-readable JSON', global: true })
    .option('commit', {
      type: 'boolean',
      default: false,
      describe: 'Commit the change with a generated message (mutating commands)',
      global: true,
    })
    .option('key', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'Key to sign with (repeatable): a private key file, or a hardware key as a pkcs11: URI (RFC 7512); keys also come from TUFCTL_KEY_<NAME>',
      global: true,
    })
    .option('sign', {
      type: 'boolean',
      default: false,
      describe: 'After editing, sign the changed roles with the given keys (and refresh snapshot/timestamp if the online key is given)',
      global: true,
    })
    .option('trusted-root-version', {
      type: 'number',
      describe: 'Root version clients embed: verification starts the root chain there (default: trustedRootVersion in tufctl.json, else 1)',
      global: true,
    })
    .option('now', { type: 'string', describe: 'Act as if it were this time (ISO 8601; drills and tests)', global: true, hidden: true })
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .strict()
    .recommendCommands()
    .demandCommand(1, 'name a command (see --help)')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      // Throwing stops yargs before it runs the command: a usage error must not change anything.
      if (error) throw error;
      throw new UsageError(message);
    });
  for (const group of [init, keys, targets, delegate, signing, inspect, publish, policy, revoke, jwks, refresh, recover, validate])
    cli = group.register(cli);
  try {
    await cli.parseAsync();
  } catch (error) {
    return printError(error, json);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

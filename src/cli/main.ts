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
import { MAX_PERIOD_DAYS } from '../metadata/expiry.js';
import { MAX_GROUP_DAYS } from '../refresh/signing-groups.js';
import * as delegate from './commands/delegate.js';
import * as init from './commands/init.js';
import * as inspect from './commands/inspect.js';
import * as jwks from './commands/jwks.js';
import * as keys from './commands/keys.js';
import * as lint from './commands/lint.js';
import * as policy from './commands/policy.js';
import * as publish from './commands/publish.js';
import * as recover from './commands/recover.js';
import * as refresh from './commands/refresh.js';
import * as revoke from './commands/revoke.js';
import * as signing from './commands/signing.js';
import * as targets from './commands/targets.js';
import * as validate from './commands/validate.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Longest message printed, and longest run of characters without a space (one value) within it. */
const MAX_MESSAGE = 2000;
const MAX_WORD = 300;
/** How much of a long value is kept. */
const KEEP = 240;

/** Characters shown escaped in messages: control characters, invisible and bidirectional-override characters. */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A message as it may be shown. Messages quote what the user gave (a target
 * path, a role name, a line of a file), which can hold control characters (a
 * terminal acts on them; a newline would forge a second error line),
 * invisible or bidirectional-override characters, or megabytes. Those
 * characters are shown escaped (`\n`, `\u001b`), each value longer than
 * MAX_WORD cut to its start, the whole message bounded by MAX_MESSAGE.
 * `escape` false (--json, where JSON escapes them) only cuts.
 */
export function printableMessage(message: string, escape = true): string {
  const text = escape
    ? message.replace(UNPRINTABLE, (c) => NAMED_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : message;
  let out = '';
  let at = 0;
  // Word by word (indexOf, not a regular expression: a 50 MB value must not cost more than a scan).
  while (at < text.length && out.length <= MAX_MESSAGE) {
    const space = text.indexOf(' ', at);
    const end = space === -1 ? text.length : space;
    const word = text.slice(at, end);
    out += word.length > MAX_WORD ? `${word.slice(0, KEEP)}… (${word.length - KEEP} more characters)` : word;
    if (space !== -1) out += ' ';
    at = end + 1;
  }
  const rest = Math.max(0, text.length - at);
  if (out.length > MAX_MESSAGE || rest > 0) {
    out = `${out.slice(0, MAX_MESSAGE)}… (${Math.max(0, out.length - MAX_MESSAGE) + rest} more characters)`;
  }
  return out;
}

/**
 * Every error goes out through here: private key material in a message is
 * redacted (secrets.ts), then the message is made printable (printableMessage).
 */
function printError(error: unknown, json: boolean): number {
  const shown = (text: string): string => printableMessage(redactSecrets(text), !json);
  if (error instanceof TufctlError) {
    const message = shown(error.message);
    const details = error.details.map(shown);
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: error.code, message, details } }, null, 2) + '\n');
    else {
      process.stderr.write(`tufctl: error [${error.code}]: ${message}\n`);
      for (const detail of details) process.stderr.write(`tufctl: error [${error.code}]: ${detail}\n`);
    }
    return error.code === 'USAGE' ? 2 : 1;
  }
  const message = shown(error instanceof Error ? error.message : String(error));
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'INTERNAL', message } }, null, 2) + '\n');
  else process.stderr.write(`tufctl: error [INTERNAL]: ${message}\n`);
  if (process.env.TUFCTL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  return 1;
}

/**
 * Bounds of numeric options (whole numbers unless marked): beyond them a value is a
 * mistake (`--period 1e9` is 2.7 million years, past the last date a TUF
 * expiry can name). Thresholds, --bins and --length are checked where they
 * are used, against the keys, the bin rule and the target.
 */
const NUMBER_OPTIONS: Record<string, { min: number; max: number; unit: string; fractional?: boolean }> = {
  period: { min: 1, max: MAX_PERIOD_DAYS, unit: 'days' },
  'signing-period': { min: 1, max: MAX_PERIOD_DAYS, unit: 'days' },
  // Expiry times have four-digit years: no role can be valid 3,000,000 days (8,200 years) ahead.
  // Fractions are meaningful here: the smoke workflow checks --valid-for 0.5 (12 hours).
  'valid-for': { min: 0, max: 3_000_000, unit: 'days', fractional: true },
  'retention-days': { min: 0, max: MAX_PERIOD_DAYS, unit: 'days' },
  timeout: { min: 1, max: 86_400, unit: 'seconds' },
  retries: { min: 0, max: 100, unit: '' },
  concurrency: { min: 1, max: 64, unit: '' },
  'trusted-root-version': { min: 1, max: Number.MAX_SAFE_INTEGER, unit: '' },
  group: { min: 0, max: MAX_GROUP_DAYS, unit: 'days' },
};

/** Refuses (USAGE) a numeric option outside its bounds, before any command runs. */
function checkNumberOptions(argv: Record<string, unknown>): void {
  for (const [name, { min, max, unit, fractional }] of Object.entries(NUMBER_OPTIONS)) {
    const value = argv[name];
    if (value === undefined) continue;
    const valid = typeof value === 'number' && (fractional ? Number.isFinite(value) : Number.isSafeInteger(value));
    if (!valid || (value as number) < min || (value as number) > max) {
      const kind = fractional ? 'a number' : 'a whole number';
      throw new UsageError(`--${name} must be ${kind}${unit ? ` of ${unit}` : ''} from ${min} to ${max} (got ${String(value)})`);
    }
  }
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
    .middleware((argv) => checkNumberOptions(argv))
    .fail((message, error) => {
      // Throwing stops yargs before it runs the command: a usage error must not change anything.
      if (error) throw error;
      throw new UsageError(message);
    });
  for (const group of [init, keys, targets, delegate, signing, inspect, lint, publish, policy, revoke, jwks, refresh, recover, validate])
    cli = group.register(cli);
  try {
    await cli.parseAsync();
  } catch (error) {
    return printError(error, json);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

/**
 * `tufctl lint`: what each widely used TUF client would refuse or mishandle
 * in this repository. Runs every rule for the chosen clients and attributes
 * the sigstore clients' findings to the library each is built on.
 */
import { UsageError } from '../errors.js';
import { loadConfig } from '../config.js';
import { CLIENT_IDS, LIBRARIES, SIGSTORE_CLIENTS, sourceText, type ClientId, type Library, type LibraryId } from './client-rules.js';
import type { UnreachableTargets } from './delegation-walk.js';
import type { ClientFinding, LibraryFinding } from './findings.js';
import { readLintModel, type LintModel } from './repository-facts.js';
import { refreshSchedule, type RefreshSchedule } from './refresh-schedule.js';
import { keyFindings, signatureFindings } from './rules-keys.js';
import { layoutFindings } from './rules-layout.js';
import { delegationFindings, rootRotationFindings, sizeFindings } from './rules-metadata.js';
import { expiryFindings } from './rules-expiry.js';

export interface LintOptions {
  /** Clients to check (default: all). */
  clients?: readonly ClientId[];
  /** The root version clients embed (default: tufctl.json's trustedRootVersion, else 1). */
  trustedRootVersion?: number;
  /** Hours between refresh runs (default: read from the refresh workflow's schedule). */
  refreshHours?: number;
}

export interface LintReport {
  clients: ClientId[];
  trustedRootVersion: number;
  refresh: RefreshSchedule;
  findings: ClientFinding[];
}

/** `go-tuf,tough` → the client ids, in the order given; an unknown name is a usage error. */
export function parseClientList(list: string): ClientId[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) throw new UsageError(`--clients needs at least one of ${CLIENT_IDS.join(', ')}`);
  const unknown = names.filter((n) => !(CLIENT_IDS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new UsageError(`--clients: unknown client ${unknown.map((n) => JSON.stringify(n)).join(', ')} (known: ${CLIENT_IDS.join(', ')})`);
  }
  return [...new Set(names)] as ClientId[];
}

interface Context {
  model: LintModel;
  trustedRootVersion: number;
  schedule: RefreshSchedule;
  walks: Map<number, UnreachableTargets[]>;
}

/** Every rule for one library; `registry` false leaves out the registry layout (sigstore clients read over HTTP). */
function libraryFindings(library: Library, ctx: Context, registry: boolean): LibraryFinding[] {
  const { model, trustedRootVersion } = ctx;
  return [
    ...sizeFindings(library, model, trustedRootVersion),
    ...rootRotationFindings(library, model, trustedRootVersion),
    ...delegationFindings(library, model, ctx.walks),
    ...keyFindings(library, model),
    ...signatureFindings(library, model),
    ...(registry ? layoutFindings(library, model) : []),
    ...expiryFindings(library, model, ctx.schedule),
  ];
}

/** The sigstore clients' findings: each library's (over HTTP), one finding per subject naming the sigstore clients it affects. */
function sigstoreFindings(ctx: Context, cache: Map<LibraryId, LibraryFinding[]>): ClientFinding[] {
  const merged = new Map<string, ClientFinding>();
  for (const client of SIGSTORE_CLIENTS) {
    const library = LIBRARIES[client.library];
    let own = cache.get(library.id);
    if (!own) cache.set(library.id, (own = libraryFindings(library, ctx, false)));
    for (const f of own) {
      if (f.rule === 'registry-layout') continue;
      const key = `${f.rule}\u0000${f.subject}`;
      const name = `${client.name} (${f.versions})`;
      const existing = merged.get(key);
      if (existing) {
        existing.library += `, ${name}`;
        if (f.effect === 'refuses') existing.effect = 'refuses';
        continue;
      }
      merged.set(key, {
        ...f,
        client: 'sigstore',
        library: name,
        versions: `${client.name} with ${f.versions}`,
        source: `${f.source}; ${sourceText(client.source)}`,
      });
    }
  }
  return [...merged.values()];
}

/** Lints the repository in `dir` for the chosen clients. */
export function lintClients(dir: string, options: LintOptions = {}): LintReport {
  const clients = options.clients && options.clients.length > 0 ? [...options.clients] : [...CLIENT_IDS];
  const config = loadConfig(dir);
  const trustedRootVersion = options.trustedRootVersion ?? config.trustedRootVersion ?? 1;
  const schedule: RefreshSchedule =
    options.refreshHours !== undefined ? { hours: options.refreshHours, from: '--refresh-every' } : refreshSchedule(dir);
  const ctx: Context = { model: readLintModel(dir), trustedRootVersion, schedule, walks: new Map() };
  const cache = new Map<LibraryId, LibraryFinding[]>();
  const findings: ClientFinding[] = [];
  for (const client of clients) {
    if (client === 'sigstore') {
      findings.push(...sigstoreFindings(ctx, cache));
      continue;
    }
    const library = LIBRARIES[client];
    const own = libraryFindings(library, ctx, true);
    cache.set(
      client,
      own.filter((f) => f.rule !== 'registry-layout'),
    );
    findings.push(...own.map((f) => ({ ...f, client, library: library.label })));
  }
  return { clients, trustedRootVersion, refresh: schedule, findings };
}

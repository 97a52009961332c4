/**
 * Whole-repository verification, client grade, reused by every command that
 * must not act on a broken repository (export, publish, sign's report).
 *
 * It reads every file itself (no caches) and checks what a TUF client checks,
 * collecting every problem instead of stopping at the first:
 * root chain 1..N (each root signed by its own and the previous threshold,
 * versions exactly +1), key ids, thresholds, expiry (now, or N days ahead),
 * timestamp -> snapshot -> targets consistency, the delegation graph (no
 * cycles, every delegated file present and signed, every target inside its
 * delegated paths), target paths, and every local target file's length and
 * hashes. Finally, a real TUF client (tuf-js) is run against the repository's
 * consistent-snapshot view (see client-check.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { Targets } from '@tufjs/models';
import { TufctlError } from '../errors.js';
import { loadConfig } from '../config.js';
import { roleNameProblem } from '../metadata/role-names.js';
import { secretIn } from '../secrets.js';
import { publicKeyObjectOf, spkiDerOf, verifyWithKey, type TufKeyJSON } from '../keys/tuf-key.js';
import { rulesMatching } from '../keys/key-ids.js';
import { canonicalBytes, isJSONObject, type JSONObject } from '../metadata/json.js';
import { SignaturePool, type SignatureCheck } from './signature-pool.js';
import { useLinearModels } from './linear-models.js';
import { parseExpiry } from '../metadata/expiry.js';
import { parseEnvelope, trustFromEntry, type Envelope, type RoleTrust } from '../metadata/repository.js';
import { binForTarget, binNames } from '../metadata/role-index.js';
import { hashProblem, targetPathProblem } from '../targets/target-paths.js';
import { digestFile } from '../targets/file-digest.js';
import { isObjectPrototypeName } from '../metadata/strict-json.js';
import type { ClientCheckResult } from './client-check.js';
import { formatProblem } from '../trust/problems.js';

export interface VerifyOptions {
  now?: Date;
  /** Require every role to stay valid this many days from now. */
  validForDays?: number;
  /** Run the tuf-js client over the repository: 'auto' (default) skips it for very large repositories. */
  /** 'metadata': refresh only (root chain, timestamp, snapshot, targets), no target walk. */
  client?: 'auto' | 'always' | 'metadata' | 'never';
  /** Validate the trust data files too (default true). */
  trustData?: boolean;
  /** The root version clients embed (default: tufctl.json's trustedRootVersion, else 1). */
  trustedRootVersion?: number;
}

export interface Problem {
  code: string;
  role?: string;
  message: string;
}

export interface RoleSummary {
  role: string;
  version: number;
  expires: string;
  signatures: string;
}

export interface TargetEntry {
  role: string;
  path: string;
  length: number;
  hashes: Record<string, string>;
  /** Absolute path of the local file, when the target has one. */
  file?: string;
}

/** The verified repository as publishers need it: exact bytes per file. */
export interface RepositoryView {
  rootHistory: Map<number, Buffer>;
  /** Targets roles, snapshot and timestamp: current bytes and version. */
  roles: Map<string, { bytes: Buffer; version: number }>;
  targets: TargetEntry[];
}

export interface VerifyReport {
  ok: boolean;
  problems: Problem[];
  warnings: string[];
  roles: RoleSummary[];
  targets: { total: number; withFiles: number };
  client: ClientCheckResult;
  checkedAt: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** With this many roles waiting to be checked, signatures are verified on worker threads (signature-pool.ts). */
const POOL_FROM_ROLES = 512;

/** Whether tuf-js will read large snapshots and targets roles in linear time. */
function linearModels(): boolean {
  return useLinearModels().installed;
}

function startPool(): SignaturePool | undefined {
  try {
    return availableParallelism() > 1 ? new SignaturePool() : undefined;
  } catch {
    return undefined; // (no worker threads here: everything is verified on this thread)
  }
}
/**
 * Without the linear @tufjs/models functions (linear-models.ts: another
 * models version), tuf-js parses snapshots and targets roles in quadratic
 * time: 'auto' then skips the client above this many roles, or above this
 * many targets in one role (about 3 s at 5,000 targets, an hour at 200,000).
 */
const MAX_CLIENT_SNAPSHOT_ROLES = 2048;
const MAX_CLIENT_ROLE_TARGETS = 5000;

class Collector {
  problems: Problem[] = [];
  warnings: string[] = [];
  /** Places kept for problems decided later (signatures verified on other threads), so the order stays the same. */
  readonly #slots = new Set<Problem>();
  add(code: string, message: string, role?: string): void {
    this.problems.push(role ? { code, role, message } : { code, message });
  }
  /** Keeps the place of a problem that may be found later; `fill` it, or it is dropped by `settle`. */
  reserve(): Problem {
    const slot: Problem = { code: '', message: '' };
    this.#slots.add(slot);
    this.problems.push(slot);
    return slot;
  }
  fill(slot: Problem, code: string, message: string, role?: string): void {
    this.#slots.delete(slot);
    Object.assign(slot, role ? { code, role, message } : { code, message });
  }
  settle(): void {
    if (this.#slots.size > 0) this.problems = this.problems.filter((p) => !this.#slots.has(p));
    this.#slots.clear();
  }
}

/** The checks countValid makes: per distinct trusted key id with a key and a signature, the two. */
function signatureChecks(envelope: Envelope, trust: RoleTrust): { keyIds: string[]; checks: SignatureCheck[] } {
  const keyIds: string[] = [];
  const checks: SignatureCheck[] = [];
  for (const keyId of new Set(trust.keyIds)) {
    const key = trust.keys[keyId];
    const signature = envelope.signatures.find((s) => s.keyid === keyId);
    if (!key || !signature?.sig) continue;
    keyIds.push(keyId);
    checks.push({ key, sig: signature.sig });
  }
  return { keyIds, checks };
}

/** Valid signatures by distinct trusted keys, from the outcome of each check: one key listed under two ids counts once. */
function countVerified(trust: RoleTrust, keyIds: string[], verified: boolean[]): { valid: number; keys: string[] } {
  const keys: string[] = [];
  const counted = new Set<string>();
  keyIds.forEach((keyId, i) => {
    if (!verified[i]) return;
    if (trust.keyIds.length > 1) {
      const material = keyMaterial(trust.keys[keyId]!);
      if (counted.has(material)) return;
      counted.add(material);
    }
    keys.push(keyId);
  });
  return { valid: keys.length, keys };
}

/** Valid signatures by distinct trusted keys: one key listed under two ids counts once. */
function countValid(envelope: Envelope, trust: RoleTrust): { valid: number; keys: string[] } {
  const data = canonicalBytes(envelope.signed);
  const { keyIds, checks } = signatureChecks(envelope, trust);
  return countVerified(
    trust,
    keyIds,
    checks.map((check) => verifyWithKey(check.key, data, check.sig)),
  );
}

/**
 * Key ids as clients use them: looked up as written. An id that is the
 * recomputed sha256 under neither rule (src/keys/key-ids.ts) is a warning; one
 * id naming two different keys across the repository's key tables is an
 * error. `seen` collects id -> key material over every table checked.
 */
function checkKeys(keys: unknown, where: string, c: Collector, seen: Map<string, { material: string; where: string }>): void {
  if (!isJSONObject(keys)) return;
  for (const [keyId, key] of Object.entries(keys)) {
    if (!isJSONObject(key)) continue;
    if (rulesMatching(keyId, key).length === 0) {
      c.warnings.push(
        `${where}: key id ${keyId.slice(0, 16)}… is not the sha256 of its canonical key, with or without its x- fields (clients look keys up by the id as written, so it is accepted)`,
      );
    }
    const material = keyMaterial(key);
    const before = seen.get(keyId);
    if (before && before.material !== material) {
      c.add('KEYID_CONFLICT', `${where}: key id ${keyId.slice(0, 16)}… names a different key than in ${before.where}`);
    } else if (!before) seen.set(keyId, { material, where });
  }
}

/** What identifies a key's material: its SPKI when it decodes, else its type and keyval. */
function keyMaterial(key: JSONObject): string {
  try {
    return spkiDerOf(publicKeyObjectOf(key as TufKeyJSON)).toString('hex');
  } catch {
    return `${String(key.keytype)}\n${JSON.stringify(key.keyval)}`;
  }
}

/** One key listed under two ids in one role would let it count twice towards the threshold. */
function checkDistinctKeys(trust: RoleTrust, role: string, where: string, c: Collector): void {
  const byMaterial = new Map<string, string>();
  for (const keyId of new Set(trust.keyIds)) {
    const key = trust.keys[keyId];
    if (!key) continue;
    const material = keyMaterial(key);
    const other = byMaterial.get(material);
    if (other) {
      c.add(
        'KEY_DUPLICATE',
        `${where}: ${role} lists one key under two ids (${other.slice(0, 16)}…, ${keyId.slice(0, 16)}…); a key counts once towards a threshold`,
        role,
      );
    } else byMaterial.set(material, keyId);
  }
}

function checkThresholdSane(trust: RoleTrust, role: string, where: string, c: Collector): void {
  checkDistinctKeys(trust, role, where, c);
  if (!Number.isInteger(trust.threshold) || trust.threshold < 1) {
    c.add('THRESHOLD_INVALID', `${where}: threshold of ${role} is ${trust.threshold}; it must be at least 1`, role);
  } else if (Object.keys(trust.keys).length < trust.threshold) {
    c.add(
      'THRESHOLD_INVALID',
      `${where}: ${role} needs ${trust.threshold} signatures but only ${Object.keys(trust.keys).length} usable keys are listed`,
      role,
    );
  }
}

function checkExpiry(envelope: Envelope, role: string, deadline: Date, validForDays: number, c: Collector): void {
  const expires = parseExpiry(envelope.signed.expires);
  if (!expires) return;
  if (expires.getTime() <= deadline.getTime()) {
    const when =
      validForDays > 0
        ? `within ${validForDays} days (expires ${envelope.signed.expires as string})`
        : `at ${envelope.signed.expires as string}`;
    c.add('EXPIRED', `${role} v${envelope.signed.version as number} expires ${when}`, role);
  }
}

function readRoleFile(dir: string, role: string, c: Collector): { envelope: Envelope; bytes: Buffer } | undefined {
  const rel = `metadata/${role}.json`;
  const path = join(dir, rel);
  if (!existsSync(path)) {
    c.add('METADATA_MISSING', `${rel} is missing`, role);
    return undefined;
  }
  const bytes = readFileSync(path);
  const secret = secretIn(bytes);
  if (secret) c.add('SECRET_DETECTED', `${rel} holds ${secret}; private key material never belongs in metadata`, role);
  try {
    return { envelope: parseEnvelope(bytes, role, rel), bytes };
  } catch (error) {
    c.add(error instanceof TufctlError ? error.code : 'METADATA_MALFORMED', (error as Error).message, role);
    return undefined;
  }
}

/** One root_history file: its bytes always (publish serves every root), its envelope when it parses. */
interface HistoryEntry {
  bytes: Buffer;
  envelope?: Envelope;
  error?: TufctlError | Error;
}

function readRootHistory(dir: string): Map<number, HistoryEntry> {
  const historyDir = join(dir, 'metadata', 'root_history');
  const history = new Map<number, HistoryEntry>();
  if (!existsSync(historyDir)) return history;
  for (const name of readdirSync(historyDir)) {
    const match = /^(\d+)\.root\.json$/.exec(name);
    if (!match) continue;
    const bytes = readFileSync(join(historyDir, name));
    try {
      history.set(Number(match[1]), { bytes, envelope: parseEnvelope(bytes, 'root', `metadata/root_history/${name}`) });
    } catch (error) {
      history.set(Number(match[1]), { bytes, error: error as Error });
    }
  }
  return history;
}

/**
 * The root chain as a client that embeds root v`trusted` walks it: v`trusted`
 * signed by its own threshold, every later version by its own and the
 * previous threshold, versions exactly +1. Roots before v`trusted` are checked
 * the same way but reported as warnings: clients never read them (early roots
 * of long-lived repositories predate today's formats). Every root's bytes go
 * into the view, since publish serves them all.
 */
function checkRootChain(
  dir: string,
  rootFile: { envelope: Envelope; bytes: Buffer },
  trusted: number,
  c: Collector,
  view: RepositoryView,
): void {
  const history = readRootHistory(dir);
  const current = rootFile.envelope.signed.version as number;
  const inHistory = history.get(current);
  if (!inHistory) {
    if (current === 1 && history.size === 0) history.set(1, rootFile);
    else c.add('ROOT_HISTORY', `metadata/root_history/${current}.root.json is missing (every root version must be kept)`, 'root');
  } else if (!inHistory.envelope || !canonicalBytes(inHistory.envelope).equals(canonicalBytes(rootFile.envelope))) {
    c.add('ROOT_HISTORY', `metadata/root.json differs from metadata/root_history/${current}.root.json`, 'root');
  }
  if (trusted > current) {
    c.add('ROOT_HISTORY', `the trusted root version is ${trusted}, but the repository's newest root is v${current}`, 'root');
    return;
  }
  const older = new Collector();
  let previous: Envelope | undefined;
  for (let v = 1; v <= current; v++) {
    const sink = v < trusted ? older : c;
    const entry: HistoryEntry | undefined = v === current && !history.get(v) ? rootFile : history.get(v);
    if (entry) view.rootHistory.set(v, entry.bytes);
    if (!entry || !entry.envelope) {
      if (entry?.error) {
        const hint =
          v < current && v >= trusted
            ? ' (if clients embed a later root, set trustedRootVersion in tufctl.json or pass --trusted-root-version)'
            : '';
        sink.add(entry.error instanceof TufctlError ? entry.error.code : 'METADATA_MALFORMED', `${entry.error.message}${hint}`, 'root');
      } else sink.add('ROOT_HISTORY', `metadata/root_history/${v}.root.json is missing: the root chain 1..${current} is broken`, 'root');
      previous = undefined;
      continue;
    }
    const signed = entry.envelope.signed;
    if (signed.version !== v) sink.add('ROOT_CHAIN', `root_history/${v}.root.json holds version ${signed.version as number}`, 'root');
    const own = trustFromEntry(signed.keys as JSONObject, (signed.roles as JSONObject).root as JSONObject);
    const ownCount = countValid(entry.envelope, own);
    if (ownCount.valid < own.threshold) {
      sink.add('THRESHOLD_UNMET', `root v${v} is signed by ${ownCount.valid}/${own.threshold} of its own root keys`, 'root');
    }
    if (previous && v > trusted) {
      const prevTrust = trustFromEntry(previous.signed.keys as JSONObject, (previous.signed.roles as JSONObject).root as JSONObject);
      const prevCount = countValid(entry.envelope, prevTrust);
      if (prevCount.valid < prevTrust.threshold) {
        c.add(
          'THRESHOLD_UNMET',
          `root v${v} is signed by ${prevCount.valid}/${prevTrust.threshold} keys of root v${v - 1} (a root must be signed by the previous root's threshold too)`,
          'root',
        );
      }
    } else if (previous && v < trusted) {
      const prevTrust = trustFromEntry(previous.signed.keys as JSONObject, (previous.signed.roles as JSONObject).root as JSONObject);
      if (countValid(entry.envelope, prevTrust).valid < prevTrust.threshold) {
        older.add('THRESHOLD_UNMET', `root v${v} is not signed by the threshold of root v${v - 1}`, 'root');
      }
    }
    previous = entry.envelope;
  }
  for (const problem of older.problems) {
    c.warnings.push(`root history before the trusted root v${trusted} (clients start at v${trusted}): ${problem.message}`);
  }
}

/** Verifies the repository in `dir`; never throws for repository problems (they are in the report). */
export async function verifyRepository(dir: string, options: VerifyOptions = {}): Promise<{ report: VerifyReport; view: RepositoryView }> {
  const now = options.now ?? new Date();
  const validForDays = options.validForDays ?? 0;
  const deadline = new Date(now.getTime() + validForDays * DAY_MS);
  const c = new Collector();
  const roles: RoleSummary[] = [];
  const view: RepositoryView = { rootHistory: new Map(), roles: new Map(), targets: [] };
  const trustedRootVersion = options.trustedRootVersion ?? loadConfig(dir).trustedRootVersion ?? 1;
  const keyIdsSeen = new Map<string, { material: string; where: string }>();

  // ---- root chain, from the root version clients embed
  const rootFile = readRoleFile(dir, 'root', c);
  let root: Envelope | undefined = rootFile?.envelope;
  if (rootFile) {
    checkRootChain(dir, rootFile, trustedRootVersion, c, view);
    root = rootFile.envelope;
    const signed = root.signed;
    if (signed.consistent_snapshot !== true) c.add('CONSISTENT_SNAPSHOT', 'root.consistent_snapshot must be true', 'root');
    checkKeys(signed.keys, 'root', c, keyIdsSeen);
    for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
      const entry = (signed.roles as JSONObject)[role];
      if (!isJSONObject(entry)) {
        c.add('METADATA_MALFORMED', `root has no "${role}" role`, 'root');
        continue;
      }
      checkThresholdSane(trustFromEntry(signed.keys as JSONObject, entry), role, 'root', c);
    }
    checkExpiry(root, 'root', deadline, validForDays, c);
    const rootTrust = trustFromEntry(signed.keys as JSONObject, (signed.roles as JSONObject).root as JSONObject);
    roles.push({
      role: 'root',
      version: signed.version as number,
      expires: signed.expires as string,
      signatures: `${countValid(root, rootTrust).valid}/${rootTrust.threshold}`,
    });
  }

  const topTrust = (role: string): RoleTrust | undefined => {
    if (!root) return undefined;
    const entry = (root.signed.roles as JSONObject)[role];
    return isJSONObject(entry) ? trustFromEntry(root.signed.keys as JSONObject, entry) : undefined;
  };

  const unmet = (envelope: Envelope, role: string, valid: number, trust: RoleTrust): string =>
    `${role} v${envelope.signed.version as number} is signed by ${valid}/${trust.threshold} trusted keys`;
  const checkSigned = (envelope: Envelope, role: string, trust: RoleTrust | undefined): string => {
    if (!trust) return '?';
    const { valid } = countValid(envelope, trust);
    if (valid < trust.threshold) c.add('THRESHOLD_UNMET', unmet(envelope, role, valid, trust), role);
    return `${valid}/${trust.threshold}`;
  };
  // Thousands of roles (hashed bins): their signatures are verified on worker threads while the next roles are read.
  let pool: SignaturePool | undefined;
  const verifying: Array<Promise<void>> = [];
  /** checkSigned through the pool: the problem keeps its place, the summary gets its count when known. */
  const checkSignedLater = (envelope: Envelope, role: string, trust: RoleTrust | undefined, summary: { signatures: string }): void => {
    if (!trust || !pool) {
      summary.signatures = checkSigned(envelope, role, trust);
      return;
    }
    const slot = c.reserve();
    const { keyIds, checks } = signatureChecks(envelope, trust);
    const data = canonicalBytes(envelope.signed);
    verifying.push(
      pool.verify(data, checks).then((verified) => {
        const { valid } = countVerified(trust, keyIds, verified);
        if (valid < trust.threshold) c.fill(slot, 'THRESHOLD_UNMET', unmet(envelope, role, valid, trust), role);
        summary.signatures = `${valid}/${trust.threshold}`;
      }),
    );
  };

  // ---- timestamp and snapshot
  const timestamp = readRoleFile(dir, 'timestamp', c);
  const snapshot = readRoleFile(dir, 'snapshot', c);
  if (timestamp) {
    roles.push({
      role: 'timestamp',
      version: timestamp.envelope.signed.version as number,
      expires: timestamp.envelope.signed.expires as string,
      signatures: checkSigned(timestamp.envelope, 'timestamp', topTrust('timestamp')),
    });
    checkExpiry(timestamp.envelope, 'timestamp', deadline, validForDays, c);
    view.roles.set('timestamp', { bytes: timestamp.bytes, version: timestamp.envelope.signed.version as number });
  }
  if (snapshot) {
    roles.push({
      role: 'snapshot',
      version: snapshot.envelope.signed.version as number,
      expires: snapshot.envelope.signed.expires as string,
      signatures: checkSigned(snapshot.envelope, 'snapshot', topTrust('snapshot')),
    });
    checkExpiry(snapshot.envelope, 'snapshot', deadline, validForDays, c);
    view.roles.set('snapshot', { bytes: snapshot.bytes, version: snapshot.envelope.signed.version as number });
  }
  if (timestamp && snapshot) {
    const entry = (timestamp.envelope.signed.meta as JSONObject)['snapshot.json'];
    if (!isJSONObject(entry)) c.add('SNAPSHOT_MISMATCH', 'timestamp has no meta for snapshot.json', 'timestamp');
    else checkMetaEntry(entry, 'snapshot', snapshot.envelope, snapshot.bytes, 'timestamp', c);
  }

  // ---- targets and the delegation graph (depth-first, with ancestors for cycle and path checks)
  const snapshotMeta = snapshot && isJSONObject(snapshot.envelope.signed.meta) ? snapshot.envelope.signed.meta : undefined;
  const reached = new Set<string>();
  let totalTargets = 0;
  let withFiles = 0;
  let largest = { role: '', targets: 0 };
  const targetFiles = new Set<string>();
  // Most targets have no local file: one existence check per directory, not per target, and none
  // below a directory that does not exist (a million targets spread over as many directories,
  // as package indexes lay them out, cost one check when targets/ holds none of them).
  const directories = new Map<string, boolean>([['', existsSync(join(dir, 'targets'))]]);
  // A target file reached through a symbolic link must still lie under targets/ (never follow one out of it).
  const targetsRoot = existsSync(join(dir, 'targets')) ? realpathSync(join(dir, 'targets')) : join(dir, 'targets');
  const inside = new Map<string, boolean>();
  const leavesTargets = (file: string, path: string, role: string): boolean => {
    const parent = dirname(file);
    let parentInside = inside.get(parent);
    if (parentInside === undefined) {
      const real = realpathSync(parent);
      inside.set(parent, (parentInside = real === targetsRoot || real.startsWith(targetsRoot + sep)));
    }
    const outside = !parentInside || (lstatSync(file).isSymbolicLink() && !realpathSync(file).startsWith(targetsRoot + sep));
    if (outside)
      c.add('TARGET_OUTSIDE_TARGETS_DIR', `targets/${path} resolves outside targets/ (a symbolic link); ${role} cannot sign it`, role);
    return outside;
  };
  /**
   * Whether the directory of target `path` exists under targets/ (from the path's text: it passed
   * targetPathProblem), found from the top down: the first directory on the way that does not exist answers.
   */
  const directoryMayHold = (path: string): boolean => {
    if (!directories.get('')) return false;
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
      const relDir = path.slice(0, slash);
      let exists = directories.get(relDir);
      if (exists === undefined) directories.set(relDir, (exists = existsSync(join(dir, 'targets', ...relDir.split('/')))));
      if (!exists) return false;
    }
    return true;
  };
  type Frame = { role: string; trust: RoleTrust | undefined; ancestors: string[]; guards: Array<(path: string) => boolean> };
  const stack: Frame[] = [{ role: 'targets', trust: topTrust('targets'), ancestors: [], guards: [] }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { role } = frame;
    if (frame.ancestors.includes(role)) {
      c.add('DELEGATION_CYCLE', `delegation cycle: ${[...frame.ancestors, role].join(' -> ')}`, role);
      continue;
    }
    if (reached.has(role)) continue;
    reached.add(role);
    const file = readRoleFile(dir, role, c);
    if (!file) continue;
    const { envelope, bytes } = file;
    view.roles.set(role, { bytes, version: envelope.signed.version as number });
    if (!pool && stack.length >= POOL_FROM_ROLES) pool = startPool();
    const summary: RoleSummary = {
      role,
      version: envelope.signed.version as number,
      expires: envelope.signed.expires as string,
      signatures: '?',
    };
    checkSignedLater(envelope, role, frame.trust, summary);
    if (role === 'targets' || roles.length < 50) roles.push(summary);
    checkExpiry(envelope, role, deadline, validForDays, c);
    if (snapshotMeta) {
      const listed = snapshotMeta[`${role}.json`];
      if (!isJSONObject(listed)) c.add('SNAPSHOT_MISMATCH', `snapshot does not list ${role}.json`, role);
      else checkMetaEntry(listed, role, envelope, bytes, 'snapshot', c);
    }
    const targets = isJSONObject(envelope.signed.targets) ? envelope.signed.targets : {};
    const count = Object.keys(targets).length;
    if (count > largest.targets) largest = { role, targets: count };
    for (const [path, info] of Object.entries(targets)) {
      totalTargets++;
      const problem = targetPathProblem(path);
      if (problem) {
        c.add('TARGET_PATH_INVALID', `${role}: target path "${path}" ${problem}`, role);
        continue;
      }
      if (!frame.guards.every((allowed) => allowed(path))) {
        c.add('TARGET_NOT_DELEGATED', `${role}: target "${path}" is outside the paths delegated to ${role}`, role);
      }
      if (role !== 'targets' && isObjectPrototypeName(path)) {
        c.add(
          'TARGET_PATH_INVALID',
          `${role}: target path "${path}" is the name of a built-in member of JavaScript objects: tuf-js clients find it only in the top-level targets role`,
          role,
        );
      }
      const target = info as JSONObject;
      const hashes = isJSONObject(target.hashes) ? target.hashes : {};
      const hashProblems = Object.entries(hashes).map(([algorithm, value]) => hashProblem(algorithm, value));
      if (Object.keys(hashes).length === 0) hashProblems.push('has no hashes');
      const badHash = hashProblems.find((p) => p !== undefined);
      if (badHash) {
        // Hash values name files (`<hash>.<name>`): such an entry is never exported or published.
        c.add('TARGET_HASH_INVALID', `${role}: target "${path}" ${badHash}`, role);
        continue;
      }
      const entry: TargetEntry = { role, path, length: target.length as number, hashes: hashes as Record<string, string> };
      const local = directoryMayHold(path) ? join(dir, 'targets', ...path.split('/')) : undefined;
      if (local && existsSync(local) && statSync(local).isFile() && !leavesTargets(local, path, role)) {
        withFiles++;
        targetFiles.add(local);
        entry.file = local;
        const size = statSync(local).size;
        if (size !== entry.length) {
          c.add('TARGET_MISMATCH', `targets/${path}: length ${size} differs from the ${entry.length} signed in ${role}`, role);
        } else {
          // One streaming pass for every digest and the secret scan: target files may exceed 2 GiB.
          const algorithms = Object.keys(entry.hashes).filter((a) => ['sha256', 'sha384', 'sha512'].includes(a));
          const digest = digestFile(local, algorithms);
          const secret = digest.privateKey
            ? 'a PEM private key'
            : path.endsWith('.json') && size <= 16 * 1024 * 1024
              ? secretIn(readFileSync(local)) // a JWKS with private members
              : undefined;
          if (secret) c.add('SECRET_DETECTED', `targets/${path} holds ${secret}; it must not be published`, role);
          for (const [algorithm, expected] of Object.entries(entry.hashes)) {
            if (!algorithms.includes(algorithm)) continue;
            if (digest.digests[algorithm] !== expected) {
              c.add(
                'TARGET_MISMATCH',
                `targets/${path}: ${algorithm} differs from the hash signed in ${role} (the file was modified)`,
                role,
              );
            }
          }
        }
      }
      view.targets.push(entry);
    }
    const delegations = envelope.signed.delegations;
    if (!isJSONObject(delegations)) continue;
    checkKeys(delegations.keys, role, c, keyIdsSeen);
    const keys = (delegations.keys ?? {}) as JSONObject;
    const ancestors = [...frame.ancestors, role];
    const model = Targets.fromJSON({ ...envelope.signed, targets: {} }).delegations; // without the (quadratic) targets table
    if (isJSONObject(delegations.succinct_roles) && model?.succinctRoles) {
      const succinct = model.succinctRoles;
      const trust = trustFromEntry(keys, delegations.succinct_roles);
      checkThresholdSane(trust, `${succinct.namePrefix}-* bins`, role, c);
      const names = binNames(succinct.namePrefix, succinct.bitLength);
      for (let i = names.length - 1; i >= 0; i--) {
        const bin = names[i]!;
        stack.push({ role: bin, trust, ancestors, guards: [...frame.guards, (p) => binForTarget(succinct, p) === bin] });
      }
    } else if (Array.isArray(delegations.roles)) {
      const children = delegations.roles as JSONObject[];
      for (let i = children.length - 1; i >= 0; i--) {
        const child = children[i]!;
        const name = String(child.name);
        const nameProblem = roleNameProblem(name);
        if (nameProblem) {
          c.add('ROLE_NAME_INVALID', `${role} delegates to ${JSON.stringify(name)}: the role name ${nameProblem}`, role);
          continue;
        }
        const delegated = model?.roles?.[name];
        const trust = trustFromEntry(keys, child);
        checkThresholdSane(trust, name, role, c);
        stack.push({ role: name, trust, ancestors, guards: [...frame.guards, (p) => delegated?.isDelegatedPath(p) ?? false] });
      }
    }
  }

  if (pool) {
    pool.flush();
    await Promise.all(verifying);
    void pool.close();
  }
  c.settle();

  // ---- files nobody references
  const unreferenced = listMetadataRoles(dir).filter((r) => !reached.has(r) && !['root', 'snapshot', 'timestamp'].includes(r));
  if (unreferenced.length > 0)
    c.warnings.push(`metadata files no role delegates to: ${unreferenced.slice(0, 10).join(', ')}${unreferenced.length > 10 ? ' …' : ''}`);
  const strayTargets = listFiles(join(dir, 'targets')).filter((f) => !targetFiles.has(f) && !f.endsWith(`${sep}.gitkeep`));
  if (strayTargets.length > 0) {
    c.warnings.push(
      `files under targets/ that no role signs: ${strayTargets
        .slice(0, 10)
        .map((f) => relative(dir, f))
        .join(', ')}${strayTargets.length > 10 ? ' …' : ''}`,
    );
  }

  // ---- trust data (policy mapping, policies, attestation list, signer keys, revocations, JWKS)
  if (options.trustData !== false) {
    // Loaded on demand, and skipped entirely while nothing it depends on changed (validation-cache.ts).
    const { trustProblemsCached } = await import('../trust/validation-cache.js');
    for (const problem of await trustProblemsCached(dir)) {
      if (problem.severity === 'error') c.add('TRUST_INVALID', formatProblem(problem));
      else c.warnings.push(formatProblem(problem));
    }
  }

  // ---- a real client over the consistent-snapshot view
  let client: ClientCheckResult = { ran: false, reason: 'repository has problems' };
  const mode = options.client ?? 'auto';
  if (mode === 'never') client = { ran: false, reason: 'disabled' };
  else if (c.problems.length > 0) client = { ran: false, reason: 'skipped: fix the problems above first' };
  else if (mode === 'auto' && !linearModels() && largest.targets > MAX_CLIENT_ROLE_TARGETS) {
    client = {
      ran: false,
      reason: `skipped: ${largest.role} holds ${largest.targets} targets, too many for tuf-js to parse in reasonable time (--client always runs it)`,
    };
  } else if (mode === 'auto' && !linearModels() && view.roles.size > MAX_CLIENT_SNAPSHOT_ROLES) {
    client = {
      ran: false,
      reason: `skipped: snapshot lists ${view.roles.size - 2} roles, which tuf-js parses in quadratic time (--client always runs it)`,
    };
  } else if (validForDays > 0) {
    client = { ran: false, reason: 'skipped: the client checks the repository as it is now, not days ahead' };
  } else {
    // Loaded only when it runs: tuf-js adds ~30 ms to every tufctl start otherwise.
    const { runClientCheck } = await import('./client-check.js');
    client = await runClientCheck(view, {
      downloadTargets: mode === 'always' || (mode === 'auto' && totalTargets <= 2000),
      // (every target looked up through the delegations: up to 256 roles of at most 5,000 targets each under 'auto')
      fullWalk: mode === 'always' || (mode === 'auto' && view.roles.size <= 256 && largest.targets <= MAX_CLIENT_ROLE_TARGETS),
      trustedRootVersion,
      ...(options.now ? { now: options.now } : {}),
    });
    if (!client.ok) c.add('CLIENT_REJECTED', `tuf-js client rejected the repository: ${client.reason ?? 'unknown reason'}`);
  }

  const report: VerifyReport = {
    ok: c.problems.length === 0,
    problems: c.problems,
    warnings: c.warnings,
    roles,
    targets: { total: totalTargets, withFiles },
    client,
    checkedAt: now.toISOString(),
  };
  return { report, view };
}

function checkMetaEntry(entry: JSONObject, role: string, envelope: Envelope, bytes: Buffer, by: string, c: Collector): void {
  const version = envelope.signed.version as number;
  if (entry.version !== version) {
    c.add('SNAPSHOT_MISMATCH', `${by} lists ${role} v${String(entry.version)} but metadata/${role}.json is v${version}`, role);
    return;
  }
  if (typeof entry.length === 'number' && entry.length !== bytes.length) {
    c.add('SNAPSHOT_MISMATCH', `${by} lists ${role}.json with length ${entry.length}, the file has ${bytes.length} bytes`, role);
  }
  if (isJSONObject(entry.hashes)) {
    for (const [algorithm, expected] of Object.entries(entry.hashes)) {
      if (!['sha256', 'sha512'].includes(algorithm)) continue;
      if (createHash(algorithm).update(bytes).digest('hex') !== expected) {
        c.add('SNAPSHOT_MISMATCH', `${by} lists a ${algorithm} for ${role}.json that does not match the file`, role);
      }
    }
  }
}

function listMetadataRoles(dir: string): string[] {
  const metadata = join(dir, 'metadata');
  if (!existsSync(metadata)) return [];
  return readdirSync(metadata)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .map((f) => f.slice(0, -5));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

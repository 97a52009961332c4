/**
 * Repository status per role: version, expiry, signing-period state,
 * signatures against the threshold and whose signatures are still missing
 * (for root, against both the previous and the new root's threshold).
 * Hashed bins are summarised as one line per bin set.
 */
import { signingPeriodStart, signingState, parseExpiry, type SigningState } from './metadata/expiry.js';
import type { Repository, SignatureStatus } from './metadata/repository.js';
import { RoleIndex } from './metadata/role-index.js';
import { ownersOf } from './edit/signing.js';
import { ATTESTATION_FIELD, deviceLabelOf } from './keys/piv-attestation.js';
import { KEYOWNER_FIELD } from './keys/tuf-key.js';
import { isJSONObject, type JSONObject } from './metadata/json.js';

export interface RoleStatus {
  role: string;
  version: number;
  expires: string;
  signingPeriodStarts: string;
  state: SigningState;
  valid: number;
  threshold: number;
  missing: string[];
  /** Next to `missing` (same order): the attested device of each missing key (`YubiKey 25515003`), null where none is recorded. Absent when no missing key has one. */
  missingDevices?: (string | null)[];
  /** Root: the previous root's threshold that this root must also meet. */
  previous?: { version: number; valid: number; threshold: number; missing: string[]; missingDevices?: (string | null)[] };
  /** For a set of hashed bins: how many bins this line stands for, and how many are unsigned. */
  bins?: { count: number; unsigned: number; prefix: string };
}

/** A trusted key whose object records a verified hardware attestation (`tufctl key add --attestation`). */
export interface AttestedKeyStatus {
  keyId: string;
  owner?: string;
  /** `YubiKey 25515003` */
  device: string;
  /** Roles (bin sets as `prefix-*`) that trust the key under this id. */
  roles: string[];
  attestation: JSONObject;
}

export interface RepositoryStatus {
  now: string;
  /** The root version clients embed: the root chain is checked from there. */
  trustedRootVersion: number;
  roles: RoleStatus[];
  /** Keys with a recorded attestation, when any. */
  attestedKeys?: AttestedKeyStatus[];
  ok: boolean;
}

function devicesOf(status: SignatureStatus): (string | null)[] | undefined {
  const devices = status.missing.map((id) => deviceLabelOf(status.keys[id]) ?? null);
  return devices.some((d) => d !== null) ? devices : undefined;
}

/** Collects the attested keys of every role statusOf looks at. */
class AttestedKeys {
  readonly #byId = new Map<string, AttestedKeyStatus>();

  add(role: string, status: SignatureStatus): void {
    for (const id of [...status.valid, ...status.missing]) {
      const key = status.keys[id];
      const device = deviceLabelOf(key);
      if (!device || !isJSONObject(key)) continue;
      let entry = this.#byId.get(id);
      if (!entry) {
        const owner = key[KEYOWNER_FIELD];
        entry = {
          keyId: id,
          ...(typeof owner === 'string' ? { owner } : {}),
          device,
          roles: [],
          attestation: key[ATTESTATION_FIELD] as JSONObject,
        };
        this.#byId.set(id, entry);
      }
      if (!entry.roles.includes(role)) entry.roles.push(role);
    }
  }

  list(): AttestedKeyStatus[] {
    return [...this.#byId.values()];
  }
}

function statusOf(repo: Repository, role: string, trustedRootVersion = 1, attested?: AttestedKeys, label = role): RoleStatus {
  const signed = repo.signed(role);
  const expires = parseExpiry(signed.expires) ?? new Date(0);
  const periods = repo.periods(role);
  const sig = repo.signatureStatus(role);
  const status: RoleStatus = {
    role,
    version: signed.version as number,
    expires: signed.expires as string,
    signingPeriodStarts: signingPeriodStart(expires, periods)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    state: signingState(expires, periods, repo.now),
    valid: sig.valid.length,
    threshold: sig.threshold,
    missing: sig.ok ? [] : ownersOf(sig),
  };
  const devices = sig.ok ? undefined : devicesOf(sig);
  if (devices) status.missingDevices = devices;
  attested?.add(label, sig);
  // The root clients embed is not checked against its predecessor.
  if (role === 'root' && status.version > trustedRootVersion) {
    const previousTrust = repo.previousRootTrust();
    if (previousTrust) {
      const prev = repo.signatureStatus('root', previousTrust);
      status.previous = {
        version: status.version - 1,
        valid: prev.valid.length,
        threshold: prev.threshold,
        missing: prev.ok ? [] : ownersOf(prev),
      };
      const previousDevices = prev.ok ? undefined : devicesOf(prev);
      if (previousDevices) status.previous.missingDevices = previousDevices;
    }
  }
  return status;
}

export function repositoryStatus(repo: Repository, options: { trustedRootVersion?: number } = {}): RepositoryStatus {
  const trustedRootVersion = options.trustedRootVersion ?? repo.config.trustedRootVersion ?? 1;
  const attested = new AttestedKeys();
  const roles: RoleStatus[] = ['root', 'timestamp', 'snapshot'].map((r) => statusOf(repo, r, trustedRootVersion, attested));
  const index = new RoleIndex(repo);
  const walk = index.walk();
  index.persist();
  const binParents = new Map<string, string>();
  for (const { role, info } of walk) if (info?.bins) binParents.set(role, info.bins[0]);
  const binGroups = new Map<string, RoleStatus>();
  for (const { role, parent, info } of walk) {
    if (!info) continue;
    const prefix = parent ? binParents.get(parent) : undefined;
    const s = statusOf(repo, role, 1, attested, prefix ? `${prefix}-*` : role);
    if (!prefix) {
      roles.push(s);
      continue;
    }
    const group = binGroups.get(prefix);
    const unsigned = s.valid < s.threshold ? 1 : 0;
    if (!group) {
      binGroups.set(prefix, { ...s, role: `${prefix}-*`, bins: { count: 1, unsigned, prefix } });
    } else {
      group.bins!.count++;
      group.bins!.unsigned += unsigned;
      if (s.expires < group.expires) {
        group.expires = s.expires;
        group.signingPeriodStarts = s.signingPeriodStarts;
        group.state = s.state;
      }
      group.version = Math.max(group.version, s.version);
      if (unsigned) {
        const devices = new Map<string, string | null>();
        for (const r of [group, s]) r.missing.forEach((m, i) => devices.set(m, devices.get(m) ?? r.missingDevices?.[i] ?? null));
        group.missing = [...new Set([...group.missing, ...s.missing])];
        const merged = group.missing.map((m) => devices.get(m) ?? null);
        if (merged.some((d) => d !== null)) group.missingDevices = merged;
      }
      group.valid = Math.min(group.valid, s.valid);
    }
  }
  roles.push(...binGroups.values());
  const ok = roles.every(
    (r) =>
      r.valid >= r.threshold && r.state !== 'expired' && (!r.previous || r.previous.valid >= r.previous.threshold) && !r.bins?.unsigned,
  );
  const attestedKeys = attested.list();
  return { now: repo.now.toISOString(), trustedRootVersion, roles, ...(attestedKeys.length > 0 ? { attestedKeys } : {}), ok };
}

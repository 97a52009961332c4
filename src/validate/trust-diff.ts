/**
 * Trust data changes in words: mapping rules and policies, required
 * attestations, signer keys, revocations and mirrored JWKS (per issuer, from
 * the ledger). Files are parsed leniently here: whether they are valid is
 * the validators' business (trustProblems).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { own, parseJSON } from '../metadata/strict-json.js';
import { canonicalize, isJSONObject, type JSONObject, type JSONValue } from '../metadata/json.js';

export interface TrustFileChange {
  /** Target path (relative to targets/). */
  file: string;
  change: 'added' | 'removed' | 'modified';
  /** What changed, one sentence each. */
  items: string[];
}

const short = (id: unknown): string => (typeof id === 'string' ? (id.length > 12 ? `${id.slice(0, 12)}…` : id) : '?');

function readParsed(dir: string, target: string): unknown {
  const file = join(dir, 'targets', ...target.split('/'));
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  try {
    // Duplicate members make a file unreadable here too (the trust validator reports them).
    return target.endsWith('.json') ? parseJSON(text) : (parseYaml(text, { uniqueKeys: true }) as unknown);
  } catch {
    return null;
  }
}

const same = (a: unknown, b: unknown): boolean =>
  a === b || (a !== undefined && b !== undefined && canonicalize((a ?? null) as JSONValue) === canonicalize((b ?? null) as JSONValue));

const list = (value: unknown): JSONObject[] => (Array.isArray(value) ? value.filter(isJSONObject) : []);

function ruleText(rule: JSONObject): string {
  const platforms = Array.isArray(rule.platforms) ? ` [${(rule.platforms as string[]).join(', ')}]` : '';
  const action = rule['policy-id'] !== undefined ? `policy \`${String(rule['policy-id'])}\`` : `rewrite \`${String(rule.rewrite)}\``;
  return `\`${String(rule.pattern)}\`${platforms} → ${action}`;
}

function mappingItems(before: unknown, after: unknown): string[] {
  const items: string[] = [];
  const b = isJSONObject(before) ? before : {};
  const a = isJSONObject(after) ? after : {};
  const pb = new Map(list(b.policies).map((p) => [String(p.id), p]));
  const pa = new Map(list(a.policies).map((p) => [String(p.id), p]));
  for (const [id, p] of pa) {
    const old = pb.get(id);
    if (!old)
      items.push(
        `policy \`${id}\` added (${list(p.files)
          .map((f) => String(f.path))
          .join(', ')})`,
      );
    else if (!same(old, p)) {
      const fields = [...new Set([...Object.keys(old), ...Object.keys(p)])].filter((k) => !same(old[k], p[k])).sort();
      items.push(`policy \`${id}\` changed: ${fields.join(', ')}`);
    }
  }
  for (const id of pb.keys()) if (!pa.has(id)) items.push(`policy \`${id}\` removed`);
  const rb = list(b.rules).map(ruleText);
  const ra = list(a.rules).map(ruleText);
  const remaining = [...rb];
  const added: string[] = [];
  for (const r of ra) {
    const i = remaining.indexOf(r);
    if (i === -1) added.push(r);
    else remaining.splice(i, 1);
  }
  for (const r of added) items.push(`rule added: ${r}`);
  for (const r of remaining) items.push(`rule removed: ${r}`);
  if (added.length === 0 && remaining.length === 0 && rb.join('\n') !== ra.join('\n')) items.push('rules reordered');
  for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => k !== 'policies' && k !== 'rules').sort()) {
    if (same(own(b, k), own(a, k))) continue;
    if (!Object.hasOwn(b, k)) items.push(`field \`${k}\` added`);
    else if (!Object.hasOwn(a, k)) items.push(`field \`${k}\` removed`);
    else items.push(`${k}: ${JSON.stringify(b[k])} → ${JSON.stringify(a[k])}`);
  }
  return items;
}

function attestationItems(before: unknown, after: unknown): string[] {
  const items: string[] = [];
  const b = isJSONObject(before) && isJSONObject(before.policies) ? before.policies : {};
  const a = isJSONObject(after) && isJSONObject(after.policies) ? after.policies : {};
  for (const id of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
    const pb = own(b, id);
    const pa = own(a, id);
    const eb = new Map(list(isJSONObject(pb) ? pb.attestations : undefined).map((e) => [String(e.name), e]));
    const ea = new Map(list(isJSONObject(pa) ? pa.attestations : undefined).map((e) => [String(e.name), e]));
    if (!Object.hasOwn(b, id)) items.push(`policy \`${id}\`: required attestations added (${[...ea.keys()].join(', ') || 'none'})`);
    else if (!Object.hasOwn(a, id)) items.push(`policy \`${id}\`: required attestations removed`);
    else {
      for (const [name, e] of ea) {
        const old = eb.get(name);
        const types = Array.isArray(e['predicate-types']) ? (e['predicate-types'] as string[]).join(', ') : '';
        if (!old) items.push(`policy \`${id}\`: required attestation \`${name}\` added (${types})`);
        else if (!same(old, e)) {
          const fields = [...new Set([...Object.keys(old), ...Object.keys(e)])].filter((k) => !same(old[k], e[k])).sort();
          items.push(`policy \`${id}\`: required attestation \`${name}\` changed: ${fields.join(', ')}`);
        }
      }
      for (const name of eb.keys()) if (!ea.has(name)) items.push(`policy \`${id}\`: required attestation \`${name}\` removed`);
    }
  }
  return items;
}

function signerKeyItems(before: unknown, after: unknown): string[] {
  const items: string[] = [];
  const kb = new Map(list(isJSONObject(before) ? before.keys : undefined).map((k) => [String(k.id), k]));
  const ka = new Map(list(isJSONObject(after) ? after.keys : undefined).map((k) => [String(k.id), k]));
  for (const [id, k] of ka) {
    const old = kb.get(id);
    if (!old) {
      items.push(`signer key ${short(id)} added (${String(k.status ?? 'active')}, from ${String(k.from ?? '—')})`);
      continue;
    }
    if (same(old, k)) continue;
    const revokedNow = k.status === 'revoked' && old.status !== 'revoked';
    const parts: string[] = [];
    if (!same(old.to, k.to)) parts.push(`to ${String(k.to ?? 'null')}`);
    if (k.distrust === true && old.distrust !== true) parts.push('distrusted');
    if (!same(old.reason, k.reason) && k.reason !== undefined) parts.push(`reason "${String(k.reason)}"`);
    if (!same(old.status, k.status) && !revokedNow) parts.push(`status ${String(old.status)} → ${String(k.status)}`);
    const rest = [...new Set([...Object.keys(old), ...Object.keys(k)])].filter(
      (f) => !['to', 'distrust', 'reason', 'status'].includes(f) && !same(old[f], k[f]),
    );
    if (rest.length > 0) parts.push(`changed: ${rest.sort().join(', ')}`);
    items.push(`signer key ${short(id)} ${revokedNow ? 'revoked' : 'changed'}${parts.length ? `: ${parts.join(', ')}` : ''}`);
  }
  for (const id of kb.keys()) if (!ka.has(id)) items.push(`signer key ${short(id)} removed`);
  return items;
}

function revocationItems(before: unknown, after: unknown): string[] {
  const items: string[] = [];
  for (const [field, what] of [
    ['envelopes', 'signature'],
    ['images', 'image'],
  ] as const) {
    const rb = new Map(list(isJSONObject(before) ? before[field] : undefined).map((e) => [String(e.digest), e]));
    const ra = new Map(list(isJSONObject(after) ? after[field] : undefined).map((e) => [String(e.digest), e]));
    for (const [digest, e] of ra) {
      if (!rb.has(digest)) items.push(`${what} revoked: ${digest} — "${String(e.reason ?? '')}"`);
      else if (!same(rb.get(digest), e)) items.push(`${what} revocation changed: ${digest}`);
    }
    for (const digest of rb.keys()) if (!ra.has(digest)) items.push(`${what} revocation REMOVED: ${digest} (it is trusted again)`);
  }
  return items;
}

function ledgerItems(before: unknown, after: unknown): string[] {
  const items: string[] = [];
  const issuer = String((isJSONObject(after) ? after.issuer : isJSONObject(before) ? before.issuer : undefined) ?? '?');
  const kb = isJSONObject(before) && isJSONObject(before.keys) ? before.keys : {};
  const ka = isJSONObject(after) && isJSONObject(after.keys) ? after.keys : {};
  const status = (e: unknown): string => (isJSONObject(e) ? String(e.status) : '?');
  for (const kid of Object.keys(ka).sort()) {
    const now = status(ka[kid]);
    if (!Object.hasOwn(kb, kid)) items.push(`${issuer}: key \`${kid}\` added (${now})`);
    else {
      const was = status(kb[kid]);
      if (was === now) {
        if (!same(isJSONObject(kb[kid]) ? kb[kid].thumbprint : null, isJSONObject(ka[kid]) ? ka[kid].thumbprint : null))
          items.push(`${issuer}: key \`${kid}\` changed key material`);
        continue;
      }
      const verb = now === 'archived' ? 'archived' : now === 'revoked' ? 'revoked' : now === 'active' ? 'reactivated' : `${was} → ${now}`;
      const reason = isJSONObject(ka[kid]) && typeof ka[kid].reason === 'string' ? ` ("${ka[kid].reason}")` : '';
      items.push(`${issuer}: key \`${kid}\` ${verb}${reason}`);
    }
  }
  for (const kid of Object.keys(kb).sort())
    if (!Object.hasOwn(ka, kid)) items.push(`${issuer}: key \`${kid}\` dropped (${status(kb[kid])}, retention over)`);
  return items;
}

function kindOf(target: string): 'mapping' | 'attestations' | 'keys' | 'revocations' | 'ledger' | 'jwks' | 'data' | 'other' {
  const name = posix.basename(target);
  if (name === 'mapping.yaml') return 'mapping';
  if (name === 'attestations.yaml') return 'attestations';
  if (target.startsWith('jwks/') && name === 'ledger.json') return 'ledger';
  if (target.startsWith('jwks/') && name === 'jwks.json') return 'jwks';
  if (name === 'keys.yaml') return 'keys';
  if (target === 'revocations.json') return 'revocations';
  if (name === 'data.yaml') return 'data';
  return 'other';
}

/** Files under targets/ of a tree, relative, `/`-separated. */
function listTargets(dir: string): Set<string> {
  const out = new Set<string>();
  const root = join(dir, 'targets');
  const walk = (rel: string): void => {
    const abs = rel ? join(root, ...rel.split('/')) : root;
    for (const name of readdirSync(abs)) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(join(abs, name)).isDirectory()) walk(r);
      else out.add(r);
    }
  };
  if (existsSync(root)) walk('');
  return out;
}

/**
 * Changes to trust files between two trees. `trustFiles` lists the trust
 * files of both trees (target paths); files other than those are ignored.
 */
export function compareTrustFiles(baseDir: string, headDir: string, trustFiles: Iterable<string>): TrustFileChange[] {
  const baseFiles = listTargets(baseDir);
  const headFiles = listTargets(headDir);
  const changes: TrustFileChange[] = [];
  for (const file of [...new Set(trustFiles)].sort()) {
    const inBase = baseFiles.has(file);
    const inHead = headFiles.has(file);
    if (!inBase && !inHead) continue;
    const bBytes = inBase ? readFileSync(join(baseDir, 'targets', ...file.split('/'))) : undefined;
    const aBytes = inHead ? readFileSync(join(headDir, 'targets', ...file.split('/'))) : undefined;
    if (bBytes && aBytes && bBytes.equals(aBytes)) continue;
    const change: TrustFileChange['change'] = !inBase ? 'added' : !inHead ? 'removed' : 'modified';
    const before = inBase ? readParsed(baseDir, file) : undefined;
    const after = inHead ? readParsed(headDir, file) : undefined;
    let items: string[] = [];
    const kind = kindOf(file);
    if (before === null || after === null) items = [`${after === null ? 'does not parse' : 'did not parse at the base'}`];
    else if (kind === 'mapping') items = mappingItems(before, after);
    else if (kind === 'attestations') items = attestationItems(before, after);
    else if (kind === 'keys') items = signerKeyItems(before, after);
    else if (kind === 'revocations') items = revocationItems(before, after);
    else if (kind === 'ledger') items = ledgerItems(before, after);
    else if (kind === 'jwks') items = ['published keys changed (see ledger.json)'];
    else if (kind === 'data') items = ['regenerated'];
    else items = [`${change === 'modified' ? 'changed' : change} (${bBytes?.length ?? 0} → ${aBytes?.length ?? 0} bytes)`];
    if (items.length === 0) items = ['changed (formatting or comments only)'];
    changes.push({ file, change, items });
  }
  return changes;
}

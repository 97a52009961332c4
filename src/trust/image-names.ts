/**
 * Image references normalised the way the reference verification client
 * does before it looks an image up in the policy mapping.
 *
 * Docker's attest library (policy/resolver.go, normalizeImageName) runs
 * `reference.ParseNormalizedNamed(name).Name()` from
 * github.com/distribution/reference (normalize.go, reference.go, regexp.go):
 * a familiar name gains the Docker Hub domain and, for a single path
 * component, the `library/` namespace (`alpine` → `docker.io/library/alpine`,
 * `index.docker.io/x/y` → `docker.io/x/y`); the tag and digest are dropped;
 * the repository path must be lowercase and at most 255 characters; a 64-digit
 * hex string alone is refused (it would be an image id).
 *
 * The reference grammar is matched with re2js (linear time), not with
 * JavaScript's backtracking RegExp: the grammar's nested repetitions
 * (`[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`) are the shape that makes a
 * backtracking engine take exponential time on a crafted line.
 */
import { RE2JS } from 're2js';

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_AND_PORT = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}';

const REFERENCE = RE2JS.compile(`^((?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_NAME = RE2JS.compile(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const IDENTIFIER = RE2JS.compile('^[a-f0-9]{64}$');

/** Longest repository path a reference may have. */
export const MAX_REPOSITORY_PATH = 255;
/** Longest reference tufctl reads (far above any valid one: domain, 255-character path, tag, digest). */
export const MAX_REFERENCE_LENGTH = 1024;

export type NormalizedName = { ok: true; name: string } | { ok: false; error: string };

/** The Docker Hub domain and the legacy one it stands for; `localhost` is always a domain. */
function splitDockerDomain(name: string): { domain: string; remote: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: 'docker.io', remote: `library/${name}` };
  const maybeDomain = name.slice(0, slash);
  let domain: string;
  let remote: string;
  if (maybeDomain === 'localhost' || /[.:]/.test(maybeDomain) || maybeDomain.toLowerCase() !== maybeDomain) {
    domain = maybeDomain === 'index.docker.io' ? 'docker.io' : maybeDomain;
    remote = name.slice(slash + 1);
  } else {
    domain = 'docker.io';
    remote = name;
  }
  if (domain === 'docker.io' && !remote.includes('/')) remote = `library/${remote}`;
  return { domain, remote };
}

/**
 * The name the verifier matches mapping rules against (`docker.io/library/alpine`
 * for `alpine:3.20`), or why the verifier could not parse the reference.
 */
export function normalizeImageName(reference: string): NormalizedName {
  if (reference.length > MAX_REFERENCE_LENGTH) return { ok: false, error: `longer than ${MAX_REFERENCE_LENGTH} characters` };
  if (IDENTIFIER.test(reference)) return { ok: false, error: 'a 64-digit hex string is an image id, not a repository name' };
  const { domain, remote } = splitDockerDomain(reference);
  const colon = remote.indexOf(':');
  const repository = colon < 0 ? remote : remote.slice(0, colon);
  if (repository.toLowerCase() !== repository) return { ok: false, error: `repository name "${repository}" must be lowercase` };
  const full = `${domain}/${remote}`;
  const m = REFERENCE.matcher(full);
  if (!m.matches()) return { ok: false, error: 'not a valid image reference (name[:tag][@digest])' };
  const name = m.group(1) ?? '';
  const parts = ANCHORED_NAME.matcher(name);
  const path = parts.matches() ? (parts.group(2) ?? name) : name;
  if (path.length > MAX_REPOSITORY_PATH) return { ok: false, error: `repository path longer than ${MAX_REPOSITORY_PATH} characters` };
  return { ok: true, name };
}

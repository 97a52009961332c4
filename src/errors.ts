/**
 * The one error hierarchy of tufctl.
 *
 * Every failure a user can cause or meet is a `TufctlError` with a stable,
 * machine-readable `code` (printed by the CLI and returned under `--json`).
 * Codes never change meaning once released; new ones may be added.
 */

export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'METADATA_MALFORMED'
  | 'METADATA_MISSING'
  | 'ROLE_UNKNOWN'
  | 'ROLE_NAME_INVALID'
  | 'ROLE_EXISTS'
  | 'THRESHOLD_INVALID'
  | 'THRESHOLD_UNMET'
  | 'KEY_INVALID'
  | 'KEY_UNSUPPORTED'
  | 'KEY_IS_PRIVATE'
  | 'KEY_IS_PUBLIC'
  | 'KEY_NOT_TRUSTED'
  | 'KEY_UNKNOWN'
  | 'KEYDIR_INSIDE_REPO'
  | 'PKCS11_UNAVAILABLE'
  | 'PKCS11_MODULE_MISSING'
  | 'PKCS11_TOKEN_MISSING'
  | 'PKCS11_OBJECT_MISSING'
  | 'PKCS11_PIN_INCORRECT'
  | 'PKCS11_FAILED'
  | 'TARGET_PATH_INVALID'
  | 'TARGET_NOT_FOUND'
  | 'TARGET_OUTSIDE_TARGETS_DIR'
  | 'TARGET_CONTAINS_PRIVATE_KEY'
  | 'TARGET_HASH_INVALID'
  | 'SECRET_DETECTED'
  | 'PATH_OUTSIDE'
  | 'DELEGATION_INVALID'
  | 'DELEGATION_CYCLE'
  | 'VERSION_ROLLBACK'
  | 'VERIFICATION_FAILED'
  | 'GIT_MISSING'
  | 'GIT_DIRTY'
  | 'GIT_FAILED'
  | 'DIRECTORY_NOT_EMPTY'
  | 'IO_FAILED'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_TAMPERED'
  | 'RESPONSE_TOO_LARGE'
  | 'PUBLISH_REFUSED'
  | 'PUBLISH_CONFLICT'
  | 'LAYOUT_UNSUPPORTED'
  | 'DIGEST_MISMATCH'
  | 'TRUST_INVALID'
  | 'TRUST_STALE'
  | 'IMAGE_LIST_INVALID'
  | 'BASE_UNREADABLE'
  | 'SIGNER_KEY_UNKNOWN'
  | 'REVOCATION_INVALID'
  | 'JWKS_INVALID'
  | 'JWKS_UNREACHABLE'
  | 'JWKS_INSECURE_URL'
  | 'JWKS_ISSUER_MISMATCH'
  | 'JWKS_TOO_LARGE'
  | 'JWKS_KID_CONFLICT'
  | 'ISSUER_UNKNOWN'
  | 'ATTESTATION_INVALID'
  | 'ATTESTATION_UNTRUSTED'
  | 'ATTESTATION_EXPIRED'
  | 'ATTESTATION_KEY_MISMATCH'
  | 'CLIENT_INCOMPATIBLE';

export class TufctlError extends Error {
  readonly code: ErrorCode;
  /** Extra lines for the user: one problem per entry (e.g. every verification failure). */
  readonly details: string[];

  constructor(code: ErrorCode, message: string, details: string[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: string[] } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** The command line or an API call was used wrongly. */
export class UsageError extends TufctlError {
  constructor(message: string, code: ErrorCode = 'USAGE') {
    super(code, message);
  }
}

/** A metadata file, or the repository layout, is unusable. */
export class MetadataError extends TufctlError {}

/** A key file or key reference is unusable or not trusted where it is used. */
export class KeyError extends TufctlError {}

/** A target path or target file is unacceptable. */
export class TargetError extends TufctlError {}

/** A delegation is malformed or would make the delegation graph invalid. */
export class DelegationError extends TufctlError {}

/** An edit would break a TUF rule (rollback, unmet threshold, ...). */
export class RuleError extends TufctlError {}

/** The registry layout cannot carry a role or target of the repository; `details` names each and the rule. */
export class LayoutError extends TufctlError {
  constructor(message: string, details: string[]) {
    super('LAYOUT_UNSUPPORTED', message, details);
  }
}

/** The repository does not verify; `details` lists every problem found. */
export class VerificationError extends TufctlError {
  constructor(message: string, details: string[]) {
    super('VERIFICATION_FAILED', message, details);
  }
}
/** Private key material (a PEM private key, a private JWK, a PIN) where tufctl would write or print it. */
export class SecretError extends TufctlError {}

/**
 * Trust data (policy mapping, policy files, required attestations, signer
 * keys, revocations) is invalid or out of date; `details` lists every problem
 * as `file:line: field: message`.
 */
export class TrustDataError extends TufctlError {}

/** An OIDC issuer, its discovery document or its JWKS is unusable or unsafe. */
export class JwksError extends TufctlError {}

/**
 * A hardware key attestation (YubiKey PIV) does not prove what it must:
 * malformed or not an attestation (ATTESTATION_INVALID), not leading to the
 * trusted CA (ATTESTATION_UNTRUSTED), a certificate outside its validity
 * (ATTESTATION_EXPIRED), or attesting another key (ATTESTATION_KEY_MISMATCH).
 */
export class AttestationError extends TufctlError {}

/** The directory a new repository is laid out in is not usable (not empty, inside another repository, ...). */
export class DirectoryError extends TufctlError {
  constructor(message: string) {
    super('DIRECTORY_NOT_EMPTY', message);
  }
}

/** git is missing, the repository is dirty, or a git command failed. */
export class GitError extends TufctlError {}

export function isTufctlError(value: unknown): value is TufctlError {
  return value instanceof TufctlError;
}

/** Turns any thrown value into a readable one-line message. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}

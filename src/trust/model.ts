/**
 * The trust file formats as TypeScript types (policies/schemas/ has the JSON
 * Schemas, which are the authority; these mirror them). Field names are the
 * files' own, hyphens included.
 */

/** A channel: the top level of `targets/` (''), or the `testing/` release channel that mirrors it. */
export type Channel = '' | 'testing';

export const MAPPING_FILE = 'mapping.yaml';
export const ATTESTATIONS_FILE = 'attestations.yaml';
export const SIGNER_KEYS_FILE = 'keys.yaml';
export const REVOCATIONS_FILE = 'revocations.json';

/** mapping.yaml (policies/schemas/mapping.schema.json). */
export interface PolicyMappingFile {
  version: 'v1';
  kind: 'policy-mapping';
  policies: MappedPolicy[];
  rules: MappingRule[];
}

export interface MappedPolicy {
  id: string;
  description?: string;
  files: Array<{ path: string }>;
  attestations?: { style?: 'attached' | 'referrers'; repo?: string };
}

export interface MappingRule {
  pattern: string;
  platforms?: string[];
  'policy-id'?: string;
  rewrite?: string;
}

/** attestations.yaml (policies/schemas/attestations.schema.json). */
export interface RequiredAttestationsFile {
  version: 'v1';
  kind: 'required-attestations';
  policies: Record<string, { attestations: RequiredAttestation[] }>;
}

export interface RequiredAttestation {
  name: string;
  /** Any one of these predicate types satisfies the requirement. */
  'predicate-types': string[];
  signers: AttestationSigner[];
}

export interface SignerWindow {
  from?: string;
  to?: string;
}

export interface KeySigner extends SignerWindow {
  'key-id': string;
}

export interface IdentitySigner extends SignerWindow {
  issuer: string;
  'subject-pattern': string;
  'workflow-pattern'?: string;
}

export type AttestationSigner = KeySigner | IdentitySigner;

export function isKeySigner(signer: AttestationSigner): signer is KeySigner {
  return typeof (signer as KeySigner)['key-id'] === 'string';
}

/** keys.yaml (policies/schemas/signer-keys.schema.json): the reference client's key metadata. */
export interface SignerKeysFile {
  version: 'v1';
  kind: 'signer-keys';
  keys: SignerKey[];
}

export interface SignerKey {
  /** sha256 hex of the DER SubjectPublicKeyInfo. */
  id: string;
  /** PEM public key. */
  key: string;
  from: string;
  to: string | null;
  status: 'active' | 'revoked' | 'retired';
  distrust?: boolean;
  'signing-format': 'dssev1';
  reason?: string;
}

/** revocations.json (policies/schemas/revocations.schema.json). */
export interface RevocationListFile {
  version: 'v1';
  kind: 'revocation-list';
  envelopes: RevokedDigest[];
  images: RevokedDigest[];
}

export interface RevokedDigest {
  /** `sha256:<64 hex>`. */
  digest: string;
  reason: string;
  revoked_at: string;
}

/**
 * The generated data file (data.yaml, policies/schemas/data.schema.json)
 * the default Rego reads at the root of OPA's data document.
 */
export interface PolicyDataFile {
  'policy-id': string;
  keys: SignerKey[];
  required_attestations: RequiredAttestation[];
  /** Envelope digest hex (no `sha256:`) → reason. */
  revoked_envelopes: Record<string, string>;
  /** Image digest hex (no `sha256:`) → reason. */
  revoked_images: Record<string, string>;
}

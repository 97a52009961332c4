/**
 * tufctl's public library API: everything the CLI does, as typed functions.
 * The CLI (src/cli) uses nothing else.
 */
export * from './errors.js';
export { loadConfig, DEFAULT_CONFIG, CONFIG_FILE, type RepositoryConfig } from './config.js';
export {
  Repository,
  parseEnvelope,
  roleKind,
  type Envelope,
  type RepositoryOptions,
  type SignatureStatus,
  type RoleTrust,
} from './metadata/repository.js';
export { toFileBytes, canonicalBytes } from './metadata/json.js';
export { DEFAULT_PERIODS, readPeriods, signingState, type Periods, type SigningState } from './metadata/expiry.js';
export { assertDelegatedRoleName, TOP_LEVEL_ROLES } from './metadata/role-names.js';
export { type Signer, LocalKeySigner, signerFromFile, signersFromEnvironment, collectSigners, KEY_ENV_PREFIX } from './keys/signer.js';
export { generateKeyPair, writeKeyPair, readPublicKeyFile, parsePublicKeyPem, readPrivateKeyFile } from './keys/key-files.js';
export { keyIdOf, verifyWithKey, tufKeyFromPublicKey, KEY_TYPES, type KeyType, type TufKeyJSON } from './keys/tuf-key.js';
export {
  verifyPivAttestation,
  parseCertificates,
  readCertificateFile,
  attestationRecord,
  deviceLabelOf,
  ATTESTATION_FIELD,
  type PivAttestation,
  type PivAttestationInput,
  type PivAttestationOptions,
  type CertificateSource,
} from './keys/piv-attestation.js';
export { addKey, removeKey, setThreshold, setPeriods } from './edit/role-trust.js';
export {
  addTargets,
  addTargetEntries,
  addTargetFiles,
  removeTargets,
  readTargetEntries,
  targetEntries,
  RoleResolver,
  type TargetDescription,
} from './edit/targets.js';
export { addDelegation, removeDelegation, type AddDelegationOptions } from './edit/delegations.js';
export { signRoles, pendingRoles, type RoleSigningResult } from './edit/signing.js';
export { initRepositoryAt, type InitOptions, type InitResult } from './init.js';
export { repositoryStatus, type RepositoryStatus, type RoleStatus } from './status.js';
export { verifyRepository, type VerifyOptions, type VerifyReport, type RepositoryView } from './verify/verify-repository.js';
export { runClientCheck, ViewFetcher } from './verify/client-check.js';
export { exportRepository, type ExportResult } from './export.js';
export { assertTargetPath, targetPathProblem } from './targets/target-paths.js';
export {
  publishRepository,
  VERSION_CONSTRAINTS_TARGET,
  type PublishOptions,
  type PublishReport,
  type PublishEvent,
  type TagMove,
} from './oci/publish.js';
export { openOciTarget, DEFAULT_DESTINATION } from './oci/destination.js';
export { RegistryTarget, parseOciUrl, type RegistryTargetOptions } from './oci/registry-client.js';
export { LayoutTarget } from './oci/layout-dir.js';
export { RegistryFetcher } from './oci/registry-fetcher.js';
export type { OciTarget, OciRepository, OciStats, Descriptor, StoredManifest } from './oci/store.js';
export { defaultCredentials, type CredentialSource } from './oci/credentials.js';
export { clientFetch, clientVerify, type ClientOptions } from './client.js';
export {
  onlineSignerFor,
  registerOnlineSignerScheme,
  onlineSignerSchemes,
  ONLINE_KEY_ENV,
  type OnlineSignerFactory,
  type OnlineSignerOptions,
} from './keys/online-signer.js';
export { doSnapshot, doTimestamp, snapshotChanges, type OnlineRoleResult, type OnlineRoleOptions } from './metadata/snapshot-timestamp.js';
export { refresh, dueOfflineRoles, signingGroupCandidates, type RefreshOptions, type RefreshReport } from './refresh/refresh.js';
export { decideRefresh, offlineNotices, type RefreshInputs, type RefreshPlan } from './refresh/decide.js';
export {
  openSigningBranches,
  openSigningGroups,
  type GroupMember,
  type SigningBranch,
  type SigningGroup,
} from './refresh/signing-branches.js';
export { groupBranchName, groupCandidates, type GroupCandidate } from './refresh/signing-groups.js';
export { readPublishedState, localMetadata, type PublishedState, type LocalMetadata, type Tampering } from './oci/published-state.js';
export { METADATA_LIMITS, MANIFEST_LIMIT, ResponseTooLargeError } from './oci/limits.js';
export { lintClients, parseClientList, type LintOptions, type LintReport } from './lint/lint.js';
export { CLIENT_IDS, LIBRARIES, type ClientId } from './lint/client-rules.js';
export type { ClientFinding } from './lint/findings.js';
export { validateTrustData, loadChannel, type TrustProblem } from './trust/index.js';
export { trustProblems, trustFilePaths } from './trust/trust-files.js';
export { TrustFileEdit, applyTrustData, assertTrustDataValid } from './edit/trust-data.js';
export { addIssuer, syncIssuers, revokeJwk, listIssuers } from './jwks/sync.js';
export { revokeKey } from './edit/key-revocation.js';
export { rotateOnlineKey, recoverFastForward, signRotatedRoles } from './edit/online-key.js';
export { renderStatusPage, escapeHtml } from './status-page.js';

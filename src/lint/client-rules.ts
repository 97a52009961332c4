/**
 * What each widely used TUF client library accepts, as read from its source:
 * metadata size caps, root-chain and delegation-walk caps, key types, schemes
 * and encodings, and the version boundaries that matter. Every fact carries
 * the file and name it comes from (docs/clients.md explains each one).
 */

export const CLIENT_IDS = ['go-tuf', 'python-tuf', 'tuf-js', 'tough', 'sigstore'] as const;
export type ClientId = (typeof CLIENT_IDS)[number];
/** The client libraries; `sigstore` clients are built on three of them. */
export type LibraryId = Exclude<ClientId, 'sigstore'>;
export const LIBRARY_IDS: readonly LibraryId[] = ['go-tuf', 'python-tuf', 'tuf-js', 'tough'];

/** Where a fact was read: repository, file, the constant or function, and the version. */
export interface Source {
  repository: string;
  path: string;
  name: string;
  version: string;
}

export function sourceText(source: Source): string {
  return `${source.repository} ${source.path} (${source.name}, ${source.version})`;
}

export type MetadataKind = 'root' | 'timestamp' | 'snapshot' | 'targets';

export interface SizeCap {
  bytes: number;
  /** The setting's name in the client. */
  name: string;
  source: Source;
}

export interface RootRotationCap {
  max: number;
  /** `stops`: the client keeps the root it reached and goes on; `fails`: the update ends with an error. */
  overflow: 'stops' | 'fails';
  source: Source;
  /** A lower cap of earlier, still deployed releases. */
  earlier?: { versions: string; max: number };
}

export interface Library {
  id: LibraryId;
  /** The release the facts were read from. */
  label: string;
  /** Who embeds it (sigstore clients, Docker's verifier). */
  usedBy: string;
  sizes: Record<MetadataKind, SizeCap>;
  rootRotations: RootRotationCap;
  /** The cap on roles visited while looking a target up; undefined: the client has none. */
  delegationsVisited?: { max: number; source: Source };
  /** The client reads repositories from an OCI registry in the registry TUF layout. */
  registryLayout?: { source: Source; how: string };
  /** What the client does when a metadata file is past its expiry. */
  expiry: Source;
}

const GO_TUF = 'theupdateframework/go-tuf';
const PYTHON_TUF = 'theupdateframework/python-tuf';
const TUF_JS = 'theupdateframework/tuf-js';
const TOUGH = 'awslabs/tough';
const SSLIB = 'secure-systems-lab/securesystemslib';

const goConfig: Source = { repository: GO_TUF, path: 'metadata/config/config.go', name: 'config.New defaults', version: 'v2.4.2' };
const pyConfig: Source = { repository: PYTHON_TUF, path: 'tuf/ngclient/config.py', name: 'UpdaterConfig', version: 'v5.1.0' };
const jsConfig: Source = { repository: TUF_JS, path: 'packages/client/src/config.ts', name: 'defaultConfig', version: 'tuf-js 6.0.2' };
const toughLimits: Source = { repository: TOUGH, path: 'tough/src/lib.rs', name: 'Limits::default', version: 'tough 0.19.0' };

const MiB = 1024 * 1024;

/** go-tuf, python-tuf and tuf-js share the same defaults (python-tuf's ngclient set them first). */
function sharedSizes(source: Source, names: Record<MetadataKind, string>): Record<MetadataKind, SizeCap> {
  return {
    root: { bytes: 512_000, name: names.root, source },
    timestamp: { bytes: 16_384, name: names.timestamp, source },
    snapshot: { bytes: 2_000_000, name: names.snapshot, source },
    targets: { bytes: 5_000_000, name: names.targets, source },
  };
}

export const LIBRARIES: Record<LibraryId, Library> = {
  'go-tuf': {
    id: 'go-tuf',
    label: 'go-tuf v2.4.2',
    usedBy: "Docker's image verifier (docker/attest, through its registry fetcher) and sigstore-go",
    sizes: sharedSizes(goConfig, {
      root: 'RootMaxLength',
      timestamp: 'TimestampMaxLength',
      snapshot: 'SnapshotMaxLength',
      targets: 'TargetsMaxLength',
    }),
    rootRotations: {
      max: 256,
      overflow: 'stops',
      source: {
        repository: GO_TUF,
        path: 'metadata/updater/updater.go',
        name: 'Updater.loadRoot, MaxRootRotations',
        version: 'v2.0.0 and later',
      },
    },
    delegationsVisited: {
      max: 32,
      source: {
        repository: GO_TUF,
        path: 'metadata/updater/updater.go',
        name: 'preOrderDepthFirstWalk, MaxDelegations',
        version: 'v2.4.2',
      },
    },
    registryLayout: {
      source: {
        repository: 'docker/attest',
        path: 'pkg/tuf/registry.go',
        name: 'RegistryFetcher.parseImgRef, roleFromConsistentName',
        version: 'main',
      },
      how: "through the registry fetcher of Docker's verifier",
    },
    expiry: { repository: GO_TUF, path: 'metadata/trustedmetadata/trustedmetadata.go', name: 'ErrExpiredMetadata', version: 'v2.4.2' },
  },
  'python-tuf': {
    id: 'python-tuf',
    label: 'python-tuf 5.1.0 (ngclient, securesystemslib 1.x)',
    usedBy: 'sigstore-python',
    sizes: sharedSizes(pyConfig, {
      root: 'root_max_length',
      timestamp: 'timestamp_max_length',
      snapshot: 'snapshot_max_length',
      targets: 'targets_max_length',
    }),
    rootRotations: {
      max: 256,
      overflow: 'stops',
      source: {
        repository: PYTHON_TUF,
        path: 'tuf/ngclient/updater.py',
        name: 'Updater._load_root, max_root_rotations',
        version: 'v5.1.0',
      },
      earlier: { versions: 'python-tuf before 5.1.0', max: 32 },
    },
    delegationsVisited: {
      max: 32,
      source: {
        repository: PYTHON_TUF,
        path: 'tuf/ngclient/updater.py',
        name: 'Updater._preorder_depth_first_walk, max_delegations',
        version: 'v5.1.0',
      },
    },
    expiry: {
      repository: PYTHON_TUF,
      path: 'tuf/ngclient/_internal/trusted_metadata_set.py',
      name: 'ExpiredMetadataError',
      version: 'v5.1.0',
    },
  },
  'tuf-js': {
    id: 'tuf-js',
    label: 'tuf-js 6.0.2 (@tufjs/models 5.0.2)',
    usedBy: 'sigstore-js (@sigstore/tuf) and npm',
    sizes: sharedSizes(jsConfig, {
      root: 'rootMaxLength',
      timestamp: 'timestampMaxLength',
      snapshot: 'snapshotMaxLength',
      targets: 'targetsMaxLength',
    }),
    rootRotations: {
      max: 256,
      overflow: 'stops',
      source: {
        repository: TUF_JS,
        path: 'packages/client/src/updater.ts',
        name: 'Updater.loadRoot, maxRootRotations',
        version: 'tuf-js 3.0.0 and later',
      },
      earlier: { versions: 'tuf-js before 3.0.0', max: 32 },
    },
    delegationsVisited: {
      max: 32,
      source: {
        repository: TUF_JS,
        path: 'packages/client/src/updater.ts',
        name: 'Updater.preorderDepthFirstWalk, maxDelegations',
        version: 'tuf-js 6.0.2',
      },
    },
    expiry: { repository: TUF_JS, path: 'packages/client/src/error.ts', name: 'ExpiredMetadataError', version: 'tuf-js 6.0.2' },
  },
  tough: {
    id: 'tough',
    label: 'tough 0.19.0',
    usedBy: 'Bottlerocket and tuftool',
    sizes: {
      root: { bytes: MiB, name: 'max_root_size', source: toughLimits },
      timestamp: { bytes: MiB, name: 'max_timestamp_size', source: toughLimits },
      snapshot: { bytes: MiB, name: 'max_snapshot_size', source: toughLimits },
      targets: { bytes: 10 * MiB, name: 'max_targets_size', source: toughLimits },
    },
    rootRotations: {
      max: 1024,
      overflow: 'fails',
      source: { repository: TOUGH, path: 'tough/src/lib.rs', name: 'load_root, max_root_updates', version: 'tough 0.19.0' },
    },
    expiry: { repository: TOUGH, path: 'tough/src/lib.rs', name: 'check_expired', version: 'tough 0.19.0' },
  },
};

/** The sigstore clients and the library each one's TUF layer is. */
export const SIGSTORE_CLIENTS: readonly { name: string; library: LibraryId; source: Source }[] = [
  {
    name: 'sigstore-go',
    library: 'go-tuf',
    source: { repository: 'sigstore/sigstore-go', path: 'pkg/tuf/client.go', name: 'tuf.New (go-tuf v2 defaults)', version: 'v1.2.1' },
  },
  {
    name: 'sigstore-js',
    library: 'tuf-js',
    source: {
      repository: 'sigstore/sigstore-js',
      path: 'packages/tuf/package.json',
      name: '@sigstore/tuf 5.0.1 needs tuf-js ^6.0.2',
      version: '@sigstore/tuf 5.0.1',
    },
  },
  {
    name: 'sigstore-python',
    library: 'python-tuf',
    source: {
      repository: 'sigstore/sigstore-python',
      path: 'sigstore/_internal/tuf.py',
      name: 'TrustUpdater._setup (ngclient Updater, default UpdaterConfig)',
      version: 'main',
    },
  },
];

// ------------------------------------------------------------------ keys

/** A public key as a client sees it in metadata. */
export interface KeyFacts {
  keyId: string;
  keytype: string;
  scheme: string;
  /** How `keyval.public` is written. */
  encoding: 'pem' | 'hex' | 'other';
  /** ECDSA curve ('P-256', 'P-384', ...) when it can be read. */
  curve?: string;
  /** RSA modulus length in bits when it can be read. */
  rsaBits?: number;
}

/**
 * What a client does with a key it cannot use:
 * - `refuses-file`: the metadata file whose key table lists the key cannot be read at all;
 * - `refuses-role`: every role the key is trusted for fails verification;
 * - `ignores-signatures`: the key's signatures never count (the role fails if the other keys cannot meet its threshold).
 */
export type KeyEffect = 'refuses-file' | 'refuses-role' | 'ignores-signatures';

export interface KeyIssue {
  /** Which releases are affected, e.g. `tuf-js before 6.0.2`. */
  versions: string;
  /** What the client lacks, in one phrase. */
  problem: string;
  effect: KeyEffect;
  source: Source;
  /** What the client accepts, in short. */
  limit?: string;
}

const goKeys: Source = { repository: GO_TUF, path: 'metadata/keys.go', name: 'Key.ToPublicKey', version: 'v2.4.2' };
const goVerify: Source = { repository: GO_TUF, path: 'metadata/metadata.go', name: 'VerifyDelegate', version: 'v2.4.2' };
const sslibTable: Source = {
  repository: SSLIB,
  path: 'securesystemslib/signer/__init__.py',
  name: 'KEY_FOR_TYPE_AND_SCHEME',
  version: 'v1.x',
};
const sslibKey: Source = { repository: SSLIB, path: 'securesystemslib/signer/_key.py', name: 'SSlibKey.verify_signature', version: 'v1.x' };
const jsKeys: Source = {
  repository: TUF_JS,
  path: 'packages/models/src/utils/key.ts',
  name: 'getPublicKey',
  version: '@tufjs/models 5.0.2',
};
const jsOldVerify: Source = {
  repository: TUF_JS,
  path: 'packages/models/src/utils/verify.ts',
  name: 'verifySignature (no digest named: SHA-256 for every ECDSA key)',
  version: '@tufjs/models before 5.0.2',
};
const toughKeys: Source = {
  repository: TOUGH,
  path: 'tough/src/schema/key.rs',
  name: 'Key, RsaScheme, Ed25519Scheme, EcdsaScheme',
  version: 'tough 0.19.0',
};
const toughRsa: Source = {
  repository: TOUGH,
  path: 'tough/src/schema/key.rs',
  name: 'Key::verify (RSA_PSS_2048_8192_SHA256)',
  version: 'tough 0.19.0',
};

const ECDSA_TYPES = new Set(['ecdsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384']);
const CURVE_OF_SCHEME: Record<string, string> = {
  'ecdsa-sha2-nistp256': 'P-256',
  'ecdsa-sha2-nistp384': 'P-384',
  'ecdsa-sha2-nistp521': 'P-521',
};

function goTufKeyIssues(key: KeyFacts): KeyIssue[] {
  const v = 'go-tuf v2';
  const { keytype, scheme, encoding } = key;
  if (keytype === 'ed25519') {
    return encoding === 'hex'
      ? []
      : [{ versions: v, problem: 'reads ed25519 public keys only as 64 hex characters', effect: 'refuses-role', source: goKeys }];
  }
  if (keytype === 'ecdsa' || keytype === 'ecdsa-sha2-nistp256') {
    if (encoding !== 'pem') {
      return [
        {
          versions: v,
          problem: 'reads ECDSA public keys only as PEM (hex-encoded ECDSA keys are refused)',
          effect: 'refuses-role',
          source: goKeys,
        },
      ];
    }
    if (scheme !== 'ecdsa-sha2-nistp256' && scheme !== 'ecdsa-sha2-nistp384') {
      return [
        {
          versions: v,
          problem: `has no digest for scheme "${scheme}" and checks it with SHA-256`,
          effect: 'ignores-signatures',
          source: goVerify,
        },
      ];
    }
    return [];
  }
  if (keytype === 'rsa') {
    if (encoding !== 'pem') return [{ versions: v, problem: 'reads RSA public keys only as PEM', effect: 'refuses-role', source: goKeys }];
    if (scheme !== 'rsassa-pss-sha256') {
      return [
        {
          versions: v,
          problem: `verifies every RSA key as RSASSA-PSS with SHA-256, not "${scheme}"`,
          effect: 'ignores-signatures',
          source: goVerify,
        },
      ];
    }
    return [];
  }
  return [
    {
      versions: v,
      problem: `has no key type "${keytype}" (ed25519, ecdsa, ecdsa-sha2-nistp256 and rsa only)`,
      effect: 'refuses-role',
      source: goKeys,
    },
  ];
}

const SSLIB_PAIRS = new Set([
  'ecdsa/ecdsa-sha2-nistp256',
  'ecdsa/ecdsa-sha2-nistp384',
  'ecdsa/ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp256/ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384/ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521/ecdsa-sha2-nistp521',
  'ed25519/ed25519',
  ...['pss-sha224', 'pss-sha256', 'pss-sha384', 'pss-sha512'].map((s) => `rsa/rsassa-${s}`),
  ...['sha224', 'sha256', 'sha384', 'sha512'].map((s) => `rsa/rsa-pkcs1v15-${s}`),
]);

function pythonTufKeyIssues(key: KeyFacts): KeyIssue[] {
  const v = 'python-tuf with securesystemslib 1.x';
  const { keytype, scheme, encoding } = key;
  if (!SSLIB_PAIRS.has(`${keytype}/${scheme}`)) {
    return [{ versions: v, problem: `has no key type/scheme pair "${keytype}/${scheme}"`, effect: 'refuses-file', source: sslibTable }];
  }
  if (keytype === 'ed25519' && encoding !== 'hex') {
    return [{ versions: v, problem: 'reads ed25519 public keys only as hex', effect: 'refuses-role', source: sslibKey }];
  }
  if (keytype !== 'ed25519' && encoding !== 'pem') {
    return [{ versions: v, problem: `reads ${keytype} public keys only as PEM`, effect: 'refuses-role', source: sslibKey }];
  }
  const curve = CURVE_OF_SCHEME[scheme];
  if (curve && key.curve && key.curve !== curve) {
    return [{ versions: v, problem: `refuses a ${key.curve} key under scheme "${scheme}"`, effect: 'refuses-role', source: sslibKey }];
  }
  return [];
}

function tufJsKeyIssues(key: KeyFacts): KeyIssue[] {
  const now = 'tuf-js 6.0.2';
  const before = 'tuf-js before 6.0.2';
  const { keytype, scheme, encoding } = key;
  if (keytype === 'ed25519') {
    return encoding === 'other'
      ? [{ versions: now, problem: 'reads ed25519 public keys only as hex or PEM', effect: 'ignores-signatures', source: jsKeys }]
      : [];
  }
  if (keytype === 'rsa') {
    if (encoding !== 'pem')
      return [{ versions: now, problem: 'reads RSA public keys only as PEM', effect: 'ignores-signatures', source: jsKeys }];
    if (!['rsassa-pss-sha256', 'rsassa-pss-sha384', 'rsassa-pss-sha512'].includes(scheme)) {
      return [{ versions: now, problem: `has no RSA scheme "${scheme}"`, effect: 'ignores-signatures', source: jsKeys }];
    }
    if (scheme !== 'rsassa-pss-sha256') {
      return [
        { versions: before, problem: `has no RSA scheme "${scheme}" (added in 6.0.2)`, effect: 'ignores-signatures', source: jsKeys },
      ];
    }
    return [];
  }
  if (ECDSA_TYPES.has(keytype)) {
    if (scheme !== 'ecdsa-sha2-nistp256' && scheme !== 'ecdsa-sha2-nistp384') {
      return [{ versions: now, problem: `has no ECDSA scheme "${scheme}"`, effect: 'ignores-signatures', source: jsKeys }];
    }
    if (keytype !== 'ecdsa' && keytype !== scheme) {
      return [
        { versions: now, problem: `refuses key type "${keytype}" with scheme "${scheme}"`, effect: 'ignores-signatures', source: jsKeys },
      ];
    }
    if (encoding === 'other')
      return [{ versions: now, problem: 'reads ECDSA public keys only as hex or PEM', effect: 'ignores-signatures', source: jsKeys }];
    if (key.curve && key.curve !== CURVE_OF_SCHEME[scheme]) {
      return [
        { versions: now, problem: `refuses a ${key.curve} key under scheme "${scheme}"`, effect: 'ignores-signatures', source: jsKeys },
      ];
    }
    if (scheme === 'ecdsa-sha2-nistp384') {
      return [
        {
          versions: before,
          problem: 'hashes every ECDSA signature with SHA-256, so P-384 (SHA-384) signatures never verify (P-384 arrived in tuf-js 6.0.2)',
          effect: 'ignores-signatures',
          source: jsOldVerify,
        },
      ];
    }
    return [];
  }
  return [{ versions: now, problem: `has no key type "${keytype}"`, effect: 'ignores-signatures', source: jsKeys }];
}

function toughKeyIssues(key: KeyFacts): KeyIssue[] {
  const v = 'tough 0.19.0';
  const { keytype, scheme, encoding } = key;
  const refuse = (problem: string): KeyIssue[] => [{ versions: v, problem, effect: 'refuses-file', source: toughKeys }];
  if (!/^[0-9a-fA-F]+$/.test(key.keyId)) return refuse('reads key ids only as hex');
  if (keytype === 'ed25519') {
    if (scheme !== 'ed25519') return refuse(`has no ed25519 scheme "${scheme}"`);
    return encoding === 'hex' ? [] : refuse('reads ed25519 public keys only as hex');
  }
  if (keytype === 'ecdsa' || keytype === 'ecdsa-sha2-nistp256') {
    if (scheme !== 'ecdsa-sha2-nistp256') return refuse(`has no ECDSA scheme "${scheme}" (ecdsa-sha2-nistp256 only; no P-384)`);
    return encoding === 'other' ? refuse('reads ECDSA public keys only as hex or PEM') : [];
  }
  if (keytype === 'rsa') {
    if (scheme !== 'rsassa-pss-sha256') return refuse(`has no RSA scheme "${scheme}" (rsassa-pss-sha256 only)`);
    if (encoding !== 'pem') return refuse('reads RSA public keys only as PEM');
    if (key.rsaBits !== undefined && (key.rsaBits < 2048 || key.rsaBits > 8192)) {
      return [
        {
          versions: v,
          problem: `verifies RSA keys of 2048 to 8192 bits only, not ${key.rsaBits}`,
          effect: 'ignores-signatures',
          source: toughRsa,
        },
      ];
    }
    return [];
  }
  return refuse(`has no key type "${keytype}" (ed25519, ecdsa, ecdsa-sha2-nistp256 and rsa only)`);
}

const KEY_RULES: Record<LibraryId, (key: KeyFacts) => KeyIssue[]> = {
  'go-tuf': goTufKeyIssues,
  'python-tuf': pythonTufKeyIssues,
  'tuf-js': tufJsKeyIssues,
  tough: toughKeyIssues,
};

/** What each library accepts, in short (the limit a key finding names). */
const KEY_LIMITS: Record<LibraryId, string> = {
  'go-tuf':
    'ed25519 as hex; ecdsa or ecdsa-sha2-nistp256 as PEM with scheme ecdsa-sha2-nistp256 or -nistp384; rsa as PEM, checked as rsassa-pss-sha256',
  'python-tuf': 'the key type/scheme pairs of KEY_FOR_TYPE_AND_SCHEME; ed25519 as hex, ECDSA and RSA as PEM',
  'tuf-js': 'ed25519 as hex or PEM; ecdsa P-256 or P-384 as hex or PEM; rsa as PEM with rsassa-pss-sha256/384/512',
  tough:
    'ed25519 as hex; ecdsa or ecdsa-sha2-nistp256 with scheme ecdsa-sha2-nistp256 (P-256 only) as hex or PEM; rsa as PEM with rsassa-pss-sha256, 2048-8192 bits; hex key ids',
};
const EARLIER_KEY_LIMITS: Partial<Record<LibraryId, string>> = {
  'tuf-js': 'ECDSA signatures checked over SHA-256 only (no P-384); RSA with rsassa-pss-sha256 only',
};

/** What `library` (at each affected version) cannot do with `key`; empty when it uses the key as it is. */
export function keyIssues(library: LibraryId, key: KeyFacts): KeyIssue[] {
  return KEY_RULES[library](key).map((issue) => ({
    ...issue,
    limit: (issue.versions.includes(' before ') ? EARLIER_KEY_LIMITS[library] : undefined) ?? KEY_LIMITS[library],
  }));
}

// ------------------------------------------------------------ signatures

/** What a client does with a signature whose `sig` is not hex (an empty one counts as no signature everywhere). */
export const SIGNATURE_HEX: Record<LibraryId, { effect: 'refuses-file' | 'ignores-signatures'; source: Source }> = {
  'go-tuf': {
    effect: 'refuses-file',
    source: { repository: GO_TUF, path: 'metadata/types.go', name: 'Signature.Signature (HexBytes)', version: 'v2.4.2' },
  },
  'python-tuf': { effect: 'refuses-file', source: sslibKey },
  'tuf-js': {
    effect: 'ignores-signatures',
    source: { repository: TUF_JS, path: 'packages/models/src/utils/verify.ts', name: 'verifySignature', version: '@tufjs/models 5.0.2' },
  },
  tough: {
    effect: 'refuses-file',
    source: { repository: TOUGH, path: 'tough/src/schema/mod.rs', name: 'Signature.sig (Decoded<Hex>)', version: 'tough 0.19.0' },
  },
};

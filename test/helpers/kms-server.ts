/**
 * A loopback AWS KMS for tests: a real HTTP server on 127.0.0.1 speaking the
 * KMS JSON 1.1 protocol (`POST /`, `X-Amz-Target: TrentService.<Operation>`,
 * `application/x-amz-json-1.1`) for GetPublicKey and Sign, over real keys
 * generated at test time and signing with node:crypto:
 *
 * - RAW messages are signed by node:crypto directly (ECDSA DER signatures,
 *   RSA-PSS with salt length = digest length, pure Ed25519);
 * - DIGEST messages are signed over the given digest: ECDSA with the curve
 *   arithmetic below (node:crypto cannot sign a pre-computed digest), RSA-PSS
 *   by EMSA-PSS encoding (RFC 8017 9.1.1) plus the raw RSA operation.
 *
 * Like KMS it refuses RAW messages over 4096 bytes, digests of the wrong
 * length, algorithms the key does not offer, disabled and non-signing keys.
 * It does not check SigV4 signatures but refuses requests without an
 * Authorization header. Every request is recorded; faults (AWS errors, HTTP
 * 5xx, hanging) can be injected.
 */
import { constants, createHash, generateKeyPairSync, privateDecrypt, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type KmsKeySpec = 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'RSA_3072' | 'ECC_NIST_EDWARDS25519' | 'ECC_SECG_P256K1';

export interface KmsKey {
  keyId: string;
  arn: string;
  spec: KmsKeySpec;
  usage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
  enabled: boolean;
  privateKey: KeyObject;
  publicKey: KeyObject;
  signingAlgorithms: string[];
  /** Operations (`GetPublicKey`, `Sign`) refused with AccessDeniedException. */
  denied: Set<string>;
}

export interface KmsRequest {
  /** The operation from X-Amz-Target (`GetPublicKey`, `Sign`, ...). */
  operation: string;
  target: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** HTTP status the server answered with. */
  status: number;
}

export interface KmsFault {
  /** Only for this operation (default: any). */
  operation?: string;
  /** HTTP status (default 400; 5xx make the SDK retry). */
  status?: number;
  /** AWS error type, e.g. `KMSInternalException`. */
  type?: string;
  message?: string;
  /** Never answer (the client's request timeout must end it). */
  hang?: boolean;
}

export interface LoopbackKms {
  endpoint: string;
  region: string;
  account: string;
  requests: KmsRequest[];
  keys: Map<string, KmsKey>;
  createKey(spec: KmsKeySpec, options?: { alias?: string; usage?: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' }): KmsKey;
  /** Queues a fault for the next matching request(s) (one entry per request). */
  fail(fault: KmsFault, times?: number): void;
  close(): Promise<void>;
}

const ALGORITHMS: Record<KmsKeySpec, string[]> = {
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
  ECC_NIST_EDWARDS25519: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
  RSA_3072: [
    'RSASSA_PSS_SHA_256',
    'RSASSA_PSS_SHA_384',
    'RSASSA_PSS_SHA_512',
    'RSASSA_PKCS1_V1_5_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_384',
    'RSASSA_PKCS1_V1_5_SHA_512',
  ],
};

const DIGESTS: Record<string, { hash: string; length: number }> = {
  ECDSA_SHA_256: { hash: 'sha256', length: 32 },
  ECDSA_SHA_384: { hash: 'sha384', length: 48 },
  RSASSA_PSS_SHA_256: { hash: 'sha256', length: 32 },
  RSASSA_PSS_SHA_384: { hash: 'sha384', length: 48 },
  RSASSA_PSS_SHA_512: { hash: 'sha512', length: 64 },
};

function generate(spec: KmsKeySpec): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (spec) {
    case 'ECC_NIST_P256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ECC_NIST_P384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ECC_SECG_P256K1':
      return generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    case 'ECC_NIST_EDWARDS25519':
      return generateKeyPairSync('ed25519');
    case 'RSA_3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
  }
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startKms(options: { region?: string; account?: string } = {}): Promise<LoopbackKms> {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '111122223333';
  const keys = new Map<string, KmsKey>();
  const aliases = new Map<string, string>();
  const requests: KmsRequest[] = [];
  const faults: KmsFault[] = [];

  const createKey: LoopbackKms['createKey'] = (spec, keyOptions = {}) => {
    const keyId = randomUUID();
    const usage = keyOptions.usage ?? 'SIGN_VERIFY';
    const key: KmsKey = {
      keyId,
      arn: `arn:aws:kms:${region}:${account}:key/${keyId}`,
      spec,
      usage,
      enabled: true,
      ...generate(spec),
      signingAlgorithms: usage === 'SIGN_VERIFY' ? ALGORITHMS[spec] : [],
      denied: new Set(),
    };
    keys.set(keyId, key);
    if (keyOptions.alias) aliases.set(keyOptions.alias.replace(/^alias\//, ''), keyId);
    return key;
  };

  function findKey(ref: unknown): KmsKey {
    if (typeof ref !== 'string' || ref === '') throw new KmsError('ValidationException', 'KeyId is required');
    let id: string | undefined;
    const arn = /^arn:aws:kms:([^:]+):(\d+):(key|alias)\/(.+)$/.exec(ref);
    if (arn) {
      if (arn[1] !== region || arn[2] !== account) throw new KmsError('NotFoundException', `Key '${ref}' does not exist`);
      id = arn[3] === 'key' ? arn[4] : aliases.get(arn[4]!);
    } else if (ref.startsWith('alias/')) {
      id = aliases.get(ref.slice('alias/'.length));
    } else if (ref.startsWith('arn:')) {
      throw new KmsError('InvalidArnException', `ARN ${ref} is not valid`);
    } else {
      id = ref;
    }
    const key = id === undefined ? undefined : keys.get(id);
    if (!key) throw new KmsError('NotFoundException', `Key '${ref}' does not exist`);
    return key;
  }

  function checkAccess(key: KmsKey, operation: string): void {
    if (key.denied.has(operation)) {
      throw new KmsError(
        'AccessDeniedException',
        `User: arn:aws:sts::${account}:assumed-role/tuf-online/ci is not authorized to perform: kms:${operation} on resource: ${key.arn} ` +
          `because no identity-based policy allows the kms:${operation} action`,
      );
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function getPublicKey(body: any): object {
    const key = findKey(body.KeyId);
    checkAccess(key, 'GetPublicKey');
    if (!key.enabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    return {
      KeyId: key.arn,
      PublicKey: key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      KeySpec: key.spec,
      CustomerMasterKeySpec: key.spec,
      KeyUsage: key.usage,
      ...(key.usage === 'SIGN_VERIFY' ? { SigningAlgorithms: key.signingAlgorithms } : { EncryptionAlgorithms: ['RSAES_OAEP_SHA_256'] }),
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function signOperation(body: any): object {
    const key = findKey(body.KeyId);
    checkAccess(key, 'Sign');
    if (!key.enabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    const algorithm = String(body.SigningAlgorithm);
    if (key.usage !== 'SIGN_VERIFY' || !key.signingAlgorithms.includes(algorithm)) {
      throw new KmsError('InvalidKeyUsageException', `You cannot use ${algorithm} with key ${key.arn}`);
    }
    if (typeof body.Message !== 'string') throw new KmsError('ValidationException', 'Message is required');
    const message = Buffer.from(body.Message, 'base64');
    const type = body.MessageType ?? 'RAW';
    if (message.length === 0 || (type === 'RAW' && message.length > 4096)) {
      throw new KmsError(
        'ValidationException',
        `1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096`,
      );
    }
    let signature: Buffer;
    if (type === 'RAW') {
      signature = signRaw(key, algorithm, message);
    } else if (type === 'DIGEST') {
      const digest = DIGESTS[algorithm];
      if (!digest) throw new KmsError('ValidationException', `MessageType DIGEST is not supported with ${algorithm} in this test KMS`);
      if (message.length !== digest.length) {
        throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
      }
      signature = algorithm.startsWith('ECDSA')
        ? ecdsaSignDigest(key.privateKey, message)
        : rsaPssSignDigest(key.privateKey, digest.hash, message);
    } else {
      throw new KmsError('ValidationException', `MessageType ${String(type)} is not valid`);
    }
    return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = req.headers['x-amz-target'] as string | undefined;
    const operation = target?.startsWith('TrentService.') ? target.slice('TrentService.'.length) : (target ?? '');
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      body = undefined;
    }
    const record: KmsRequest = {
      operation,
      target,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
      status: 0,
    };
    requests.push(record);
    const answer = (status: number, payload: object): void => {
      record.status = status;
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const index = faults.findIndex((f) => !f.operation || f.operation === operation);
      if (index >= 0) {
        const [fault] = faults.splice(index, 1);
        if (fault!.hang) return; // never answers
        throw new KmsError(fault!.type ?? 'KMSInternalException', fault!.message ?? 'injected fault', fault!.status ?? 400);
      }
      if (req.method !== 'POST' || (req.url ?? '/') !== '/')
        throw new KmsError('UnknownOperationException', `${req.method} ${req.url}`, 404);
      if (!req.headers.authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
      if (record.contentType !== 'application/x-amz-json-1.1')
        throw new KmsError('SerializationException', `content-type ${record.contentType}`);
      if (body === undefined || typeof body !== 'object' || body === null) throw new KmsError('SerializationException', 'body is not JSON');
      if (operation === 'GetPublicKey') answer(200, getPublicKey(body));
      else if (operation === 'Sign') answer(200, signOperation(body));
      else throw new KmsError('UnknownOperationException', `operation ${operation} is not supported by the loopback KMS`);
    } catch (error) {
      if (error instanceof KmsError) answer(error.status, { __type: error.type, message: error.message });
      else answer(500, { __type: 'KMSInternalException', message: (error as Error).message });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    account,
    requests,
    keys,
    createKey,
    fail: (fault, times = 1) => {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function signRaw(key: KmsKey, algorithm: string, message: Buffer): Buffer {
  if (algorithm === 'ED25519_SHA_512') return sign(null, message, key.privateKey);
  const digest = DIGESTS[algorithm];
  if (!digest) throw new KmsError('ValidationException', `${algorithm} is not supported by the loopback KMS`);
  if (algorithm.startsWith('RSASSA_PSS')) {
    return sign(digest.hash, message, {
      key: key.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  return sign(digest.hash, message, key.privateKey);
}

// ---------------------------------------------------------------------------
// Signing a pre-computed digest (KMS MessageType DIGEST).

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function invert(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

interface Curve {
  p: bigint;
  n: bigint;
  a: bigint;
  g: [bigint, bigint];
}

const CURVES: Record<string, Curve> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    a: -3n,
    g: [
      0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
      0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    ],
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    a: -3n,
    g: [
      0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
      0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    ],
  },
  secp256k1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn,
    n: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
    a: 0n,
    g: [
      0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n,
      0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n,
    ],
  },
};

type Point = [bigint, bigint] | null;

function add(c: Curve, P: Point, Q: Point): Point {
  if (!P) return Q;
  if (!Q) return P;
  const [x1, y1] = P;
  const [x2, y2] = Q;
  let lambda: bigint;
  if (x1 === x2) {
    if (mod(y1 + y2, c.p) === 0n) return null;
    lambda = mod((3n * x1 * x1 + c.a) * invert(2n * y1, c.p), c.p);
  } else {
    lambda = mod((y2 - y1) * invert(x2 - x1, c.p), c.p);
  }
  const x3 = mod(lambda * lambda - x1 - x2, c.p);
  return [x3, mod(lambda * (x1 - x3) - y1, c.p)];
}

function multiply(c: Curve, k: bigint, P: Point): Point {
  let result: Point = null;
  let addend = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(c, result, addend);
    addend = add(c, addend, addend);
  }
  return result;
}

const toBigInt = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`));

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

function derLength(length: number): Buffer {
  return length < 0x80 ? Buffer.from([length]) : Buffer.from([0x81, length]);
}

/** ECDSA over a digest (FIPS 186-4 6.4), DER-encoded as KMS returns it. */
export function ecdsaSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const curve = CURVES[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
  if (!curve) throw new KmsError('ValidationException', 'unsupported curve');
  const d = toBigInt(Buffer.from(String(privateKey.export({ format: 'jwk' }).d), 'base64url'));
  const nBits = curve.n.toString(2).length;
  let z = toBigInt(digest);
  if (digest.length * 8 > nBits) z >>= BigInt(digest.length * 8 - nBits);
  for (;;) {
    const k = mod(toBigInt(randomBytes(Math.ceil(nBits / 8) + 8)), curve.n - 1n) + 1n;
    const R = multiply(curve, k, curve.g);
    if (!R) continue;
    const r = mod(R[0], curve.n);
    if (r === 0n) continue;
    const s = mod(invert(k, curve.n) * (z + r * d), curve.n);
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  }
}

function mgf1(hash: string, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * seed.length < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RSASSA-PSS over a digest: EMSA-PSS-ENCODE with salt length = digest length, then m^d mod n. */
export function rsaPssSignDigest(privateKey: KeyObject, hash: string, mHash: Buffer): Buffer {
  const modBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  const salt = randomBytes(hLen);
  const H = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - hLen - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(hash, H, emLen - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, H, Buffer.from([0xbc])]);
  return privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
}

/**
 * Hardware keys through PKCS#11 (YubiKey PIV with Yubico's ykcs11 or OpenSC,
 * Nitrokey, cloud HSMs, SoftHSM): reading a token's public key and signing
 * with its private key, named by an RFC 7512 URI (pkcs11-uri.ts).
 *
 * The binding is pkcs11js (N-API; docs/decisions.md), an optional dependency
 * loaded only when a `pkcs11:` key is used. The token signs; Node's crypto
 * hashes, encodes the public key and checks every signature before it is
 * returned. ECDSA (P-256 with SHA-256, P-384 with SHA-384) signs the digest
 * with CKM_ECDSA and the raw r||s is DER-encoded as TUF expects; Ed25519
 * uses CKM_EDDSA; RSA uses CKM_SHA256_RSA_PKCS_PSS (salt = digest length).
 *
 * The PIN comes from the URI (`pin-value`, `pin-source=FILE`),
 * `TUFCTL_PKCS11_PIN`, or a no-echo prompt on a terminal, and is used for
 * C_Login only: it is never part of a message, a signer's source or a file.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KeyError, TufctlError, type ErrorCode } from '../errors.js';
import type { Signer } from './signer.js';
import { type TufKeyJSON, keyIdOf, tufKeyFromPublicKey, verifyWithKey } from './tuf-key.js';
import { describePkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';

type Pkcs11Module = typeof import('pkcs11js');
type Handle = Buffer;

export const PKCS11_MODULE_ENV = 'TUFCTL_PKCS11_MODULE';
export const PKCS11_PIN_ENV = 'TUFCTL_PKCS11_PIN';

const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;
const CURVES: Record<string, { crv: string; hash: 'sha256' | 'sha384' | null; size: number }> = {
  '06082a8648ce3d030107': { crv: 'P-256', hash: 'sha256', size: 32 },
  '06052b81040022': { crv: 'P-384', hash: 'sha384', size: 48 },
  '06032b6570': { crv: 'Ed25519', hash: null, size: 32 },
  '130c656477617264733235353139': { crv: 'Ed25519', hash: null, size: 32 }, // PrintableString "edwards25519"
};

function pkcs11Error(code: ErrorCode, message: string): KeyError {
  return new KeyError(code, message);
}

let binding: Pkcs11Module | undefined;
function loadBinding(): Pkcs11Module {
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
    return binding;
  } catch {
    throw pkcs11Error(
      'PKCS11_UNAVAILABLE',
      'PKCS#11 keys need the optional dependency pkcs11js, which did not install (it builds with node-gyp: install python3, make and a C++ compiler, then npm install)',
    );
  }
}

/** One loaded and initialized module per path, finalized when the process exits. */
const MODULES = new Map<string, InstanceType<Pkcs11Module['PKCS11']>>();
function openModule(path: string): InstanceType<Pkcs11Module['PKCS11']> {
  const open = MODULES.get(path);
  if (open) return open;
  if (!existsSync(path)) throw pkcs11Error('PKCS11_MODULE_MISSING', `PKCS#11 module ${path} does not exist`);
  const pkcs11 = loadBinding();
  const module = new pkcs11.PKCS11();
  try {
    module.load(path);
    module.C_Initialize();
  } catch (error) {
    throw pkcs11Error('PKCS11_MODULE_MISSING', `PKCS#11 module ${path} could not be loaded (${reasonOf(error)})`);
  }
  MODULES.set(path, module);
  if (MODULES.size === 1) {
    process.once('exit', () => {
      for (const m of MODULES.values()) {
        try {
          m.C_Finalize();
        } catch {
          // Nothing to do at exit.
        }
      }
    });
  }
  return module;
}

/** A PKCS#11 failure in words, without anything the caller passed in. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const name = /\bCKR_[A-Z_]+/.exec(message)?.[0];
  return name ?? message.split('\n')[0]!.slice(0, 120);
}

function modulePathOf(uri: Pkcs11Uri, env: NodeJS.ProcessEnv, where: string): string {
  const path = uri.modulePath ?? env[PKCS11_MODULE_ENV];
  if (!path) {
    throw pkcs11Error(
      'PKCS11_MODULE_MISSING',
      `${where}: no PKCS#11 module: add module-path=/path/to/module.so to the URI or set ${PKCS11_MODULE_ENV}`,
    );
  }
  return path;
}

const trimmed = (text: string): string => text.replace(/[\s\0]+$/, '');

/** A key object on a token: its public key now, its private key once logged in. */
export class Pkcs11Key {
  readonly where: string;
  readonly publicKeyObject: KeyObject;
  readonly #uri: Pkcs11Uri;
  readonly #env: NodeJS.ProcessEnv;
  readonly #module: InstanceType<Pkcs11Module['PKCS11']>;
  readonly #pkcs11: Pkcs11Module;
  readonly #slot: Handle;
  readonly #tokenLabel: string;
  #session: Handle | undefined;
  #loggedIn = false;

  constructor(uriText: string, env: NodeJS.ProcessEnv = process.env) {
    this.where = describePkcs11Uri(uriText);
    this.#uri = parsePkcs11Uri(uriText);
    this.#env = env;
    this.#pkcs11 = loadBinding();
    this.#module = openModule(modulePathOf(this.#uri, env, this.where));
    const { slot, label } = this.#findToken();
    this.#slot = slot;
    this.#tokenLabel = label;
    this.publicKeyObject = this.#readPublicKey();
  }

  #findToken(): { slot: Handle; label: string } {
    const wanted = this.#uri.token;
    const present: Array<{ slot: Handle; label: string }> = [];
    for (const slot of this.#module.C_GetSlotList(true)) {
      const info = this.#module.C_GetTokenInfo(slot);
      if (!(info.flags & this.#pkcs11.CKF_TOKEN_INITIALIZED)) continue;
      const label = trimmed(info.label);
      present.push({ slot, label });
      if (wanted.label !== undefined && label !== wanted.label) continue;
      if (wanted.serial !== undefined && trimmed(info.serialNumber) !== wanted.serial) continue;
      if (wanted.manufacturer !== undefined && trimmed(info.manufacturerID) !== wanted.manufacturer) continue;
      if (wanted.model !== undefined && trimmed(info.model) !== wanted.model) continue;
      if (wanted.slotId !== undefined && slot.readUIntLE(0, Math.min(slot.length, 6)) !== wanted.slotId) continue;
      return { slot, label };
    }
    const names = present.map((p) => `"${p.label}"`).join(', ') || 'none';
    const what = wanted.label !== undefined ? `no token labelled "${wanted.label}"` : 'no token matching the URI';
    throw pkcs11Error('PKCS11_TOKEN_MISSING', `${this.where}: ${what} is present (tokens present: ${names})`);
  }

  #openSession(): Handle {
    if (!this.#session) {
      const p = this.#pkcs11;
      this.#session = this.#module.C_OpenSession(this.#slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    }
    return this.#session;
  }

  #find(objectClass: number): Handle | undefined {
    const p = this.#pkcs11;
    const session = this.#openSession();
    const template: Array<{ type: number; value: number | string | Buffer }> = [{ type: p.CKA_CLASS, value: objectClass }];
    if (this.#uri.object.label !== undefined) template.push({ type: p.CKA_LABEL, value: this.#uri.object.label });
    if (this.#uri.object.id !== undefined) template.push({ type: p.CKA_ID, value: this.#uri.object.id });
    this.#module.C_FindObjectsInit(session, template);
    try {
      const found = this.#module.C_FindObjects(session, 2);
      if (found.length > 1) {
        throw pkcs11Error(
          'PKCS11_OBJECT_MISSING',
          `${this.where}: names more than one key object on token "${this.#tokenLabel}"; add id=…`,
        );
      }
      return found[0];
    } finally {
      this.#module.C_FindObjectsFinal(session);
    }
  }

  #attribute(handle: Handle, type: number): Buffer {
    const [attribute] = this.#module.C_GetAttributeValue(this.#openSession(), handle, [{ type }]);
    return attribute?.value as Buffer;
  }

  #missingObject(): TufctlError {
    const name = this.#uri.object.label !== undefined ? `"${this.#uri.object.label}"` : `id ${this.#uri.object.id!.toString('hex')}`;
    return pkcs11Error('PKCS11_OBJECT_MISSING', `${this.where}: token "${this.#tokenLabel}" holds no key object ${name}`);
  }

  #readPublicKey(): KeyObject {
    const p = this.#pkcs11;
    try {
      const publicHandle = this.#find(p.CKO_PUBLIC_KEY);
      if (publicHandle) return this.#publicKeyFromObject(publicHandle);
      // Some tokens (PIV) expose the key through its certificate only.
      const certificate = this.#find(p.CKO_CERTIFICATE);
      if (certificate) return new X509Certificate(this.#attribute(certificate, p.CKA_VALUE)).publicKey;
    } catch (error) {
      if (error instanceof TufctlError) throw error;
      throw pkcs11Error('PKCS11_FAILED', `${this.where}: reading the public key failed (${reasonOf(error)})`);
    }
    throw this.#missingObject();
  }

  #publicKeyFromObject(handle: Handle): KeyObject {
    const p = this.#pkcs11;
    const keyType = this.#attribute(handle, p.CKA_KEY_TYPE).readUIntLE(0, 4);
    if (keyType === p.CKK_RSA) {
      const n = this.#attribute(handle, p.CKA_MODULUS).toString('base64url');
      const e = this.#attribute(handle, p.CKA_PUBLIC_EXPONENT).toString('base64url');
      return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
    }
    if (keyType !== p.CKK_EC && keyType !== CKK_EC_EDWARDS) {
      throw pkcs11Error('KEY_UNSUPPORTED', `${this.where}: key type ${keyType} is not supported (ECDSA P-256/P-384, Ed25519 or RSA)`);
    }
    const curve = CURVES[this.#attribute(handle, p.CKA_EC_PARAMS).toString('hex')];
    if (!curve) throw pkcs11Error('KEY_UNSUPPORTED', `${this.where}: unsupported curve (use P-256, P-384 or Ed25519)`);
    let point = this.#attribute(handle, p.CKA_EC_POINT);
    // CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens give the bare point.
    if (point[0] === 0x04 && point.length > 2 && point[1] === point.length - 2 && curve.crv === 'Ed25519') point = point.subarray(2);
    else if (point[0] === 0x04 && point[1]! < 0x80 && point[1] === point.length - 2 && point[2] === 0x04) point = point.subarray(2);
    else if (point[0] === 0x04 && point[1] === 0x81 && point[2] === point.length - 3) point = point.subarray(3);
    if (curve.crv === 'Ed25519')
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') }, format: 'jwk' });
    const x = point.subarray(1, 1 + curve.size).toString('base64url');
    const y = point.subarray(1 + curve.size).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x, y }, format: 'jwk' });
  }

  /** Logs in (once) with the PIN from the URI, TUFCTL_PKCS11_PIN or a terminal prompt. */
  async login(): Promise<void> {
    if (this.#loggedIn) return;
    const pin = await this.#pin();
    try {
      this.#module.C_Login(this.#openSession(), this.#pkcs11.CKU_USER, pin);
    } catch (error) {
      const reason = reasonOf(error);
      if (reason === 'CKR_USER_ALREADY_LOGGED_IN') {
        this.#loggedIn = true;
        return;
      }
      if (reason === 'CKR_PIN_INCORRECT' || reason === 'CKR_PIN_LEN_RANGE' || reason === 'CKR_PIN_INVALID') {
        throw pkcs11Error('PKCS11_PIN_INCORRECT', `${this.where}: wrong PIN for token "${this.#tokenLabel}"`);
      }
      if (reason === 'CKR_PIN_LOCKED')
        throw pkcs11Error('PKCS11_PIN_INCORRECT', `${this.where}: the PIN of token "${this.#tokenLabel}" is locked`);
      throw pkcs11Error('PKCS11_FAILED', `${this.where}: login to token "${this.#tokenLabel}" failed (${reason})`);
    }
    this.#loggedIn = true;
  }

  async #pin(): Promise<string> {
    if (this.#uri.pinValue !== undefined) return this.#uri.pinValue;
    if (this.#uri.pinSource !== undefined) {
      try {
        return readFileSync(this.#uri.pinSource, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw pkcs11Error(
          'PKCS11_FAILED',
          `${this.where}: cannot read the PIN file given by pin-source (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
    const fromEnv = this.#env[PKCS11_PIN_ENV];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    if (process.stdin.isTTY && process.stderr.isTTY) return promptHidden(`PIN for token "${this.#tokenLabel}": `);
    throw pkcs11Error(
      'PKCS11_FAILED',
      `${this.where}: token "${this.#tokenLabel}" needs a PIN: add pin-source=FILE to the URI, set ${PKCS11_PIN_ENV}, or run on a terminal to be asked`,
    );
  }

  /** Signs `data` (the token signs; the scheme decides the mechanism), returning the raw signature bytes. */
  async signRaw(data: Uint8Array, scheme: string): Promise<Buffer> {
    await this.login();
    const p = this.#pkcs11;
    const privateKey = this.#find(p.CKO_PRIVATE_KEY);
    if (!privateKey) throw this.#missingObject();
    const session = this.#openSession();
    try {
      if (scheme === 'ecdsa-sha2-nistp256' || scheme === 'ecdsa-sha2-nistp384') {
        const hash = scheme === 'ecdsa-sha2-nistp256' ? 'sha256' : 'sha384';
        this.#module.C_SignInit(session, { mechanism: p.CKM_ECDSA }, privateKey);
        const raw = this.#module.C_Sign(session, createHash(hash).update(data).digest(), Buffer.alloc(256));
        return ecdsaDer(raw);
      }
      if (scheme === 'ed25519') {
        this.#module.C_SignInit(session, { mechanism: CKM_EDDSA }, privateKey);
        return this.#module.C_Sign(session, Buffer.from(data), Buffer.alloc(64));
      }
      if (scheme === 'rsassa-pss-sha256') {
        const parameter = { type: p.CK_PARAMS_RSA_PSS, hashAlg: p.CKM_SHA256, mgf: p.CKG_MGF1_SHA256, saltLen: 32 };
        this.#module.C_SignInit(session, { mechanism: p.CKM_SHA256_RSA_PKCS_PSS, parameter }, privateKey);
        return this.#module.C_Sign(session, Buffer.from(data), Buffer.alloc(1024));
      }
    } catch (error) {
      throw pkcs11Error('PKCS11_FAILED', `${this.where}: the token did not sign (${reasonOf(error)})`);
    }
    throw pkcs11Error('KEY_UNSUPPORTED', `${this.where}: cannot sign with scheme ${scheme}`);
  }
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` from the raw r||s a token returns for CKM_ECDSA. */
export function ecdsaDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const integer = (bytes: Buffer): Buffer => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const content = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  const length = content.length < 0x80 ? Buffer.from([content.length]) : Buffer.from([0x81, content.length]);
  return Buffer.concat([Buffer.from([0x30]), length, content]);
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(question);
    input.setRawMode(true);
    input.resume();
    let value = '';
    const done = (error?: Error): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(pkcs11Error('USAGE', 'PIN entry cancelled'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    input.on('data', onData);
  });
}

/** The TUF public key of a token's key object (for `key add ROLE pkcs11:…`); needs no PIN. */
export function readPkcs11PublicKey(uri: string, env: NodeJS.ProcessEnv = process.env): { keyId: string; key: TufKeyJSON } {
  const key = tufKeyFromPublicKey(new Pkcs11Key(uri, env).publicKeyObject);
  return { keyId: keyIdOf(key), key };
}

/** A signer whose private key never leaves the token. */
export class Pkcs11Signer implements Signer {
  readonly keyId: string;
  readonly publicKey: TufKeyJSON;
  readonly source: string;
  readonly #key: Pkcs11Key;

  constructor(uri: string, env: NodeJS.ProcessEnv = process.env) {
    this.#key = new Pkcs11Key(uri, env);
    this.source = this.#key.where;
    this.publicKey = tufKeyFromPublicKey(this.#key.publicKeyObject);
    this.keyId = keyIdOf(this.publicKey);
  }

  async sign(data: Uint8Array): Promise<string> {
    const signature = (await this.#key.signRaw(data, this.publicKey.scheme)).toString('hex');
    // The token's answer is checked like any other: a signature that does not verify is never written.
    if (!verifyWithKey(this.publicKey, Buffer.from(data), signature)) {
      throw pkcs11Error('PKCS11_FAILED', `${this.source}: the token's signature does not verify with its public key`);
    }
    return signature;
  }

  toJSON(): { keyId: string; source: string } {
    return { keyId: this.keyId, source: this.source };
  }
}

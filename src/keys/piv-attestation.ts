/**
 * YubiKey PIV attestation: evidence that a key was generated on a YubiKey.
 *
 * A YubiKey attests a key it generated in a PIV slot with an X.509
 * certificate (`yubico-piv-tool --action=attest --slot=9c`) that carries the
 * attested public key and the device's facts, signed by the device's own
 * attestation key in slot f9. The f9 certificate (`--action=read-certificate
 * --slot=f9`) is signed by Yubico's PIV attestation CA, directly (devices
 * until 2024) or through Yubico's intermediates (newer devices). Verifying
 * the attestation means: build the chain attestation → f9 certificate → …
 * → a self-signed CA the caller trusts, check every signature, validity
 * window and CA constraint on the way, then read the facts and compare the
 * attested key with the key being trusted.
 *
 * Certificates are parsed and signatures verified by Node's crypto
 * (`X509Certificate`); the small DER reader below only walks the certificate
 * structure to the extensions and the validity dates, which Node does not
 * expose, and decodes the few extension values tufctl reads.
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AttestationError, type ErrorCode } from '../errors.js';
import { isJSONObject, type JSONObject } from '../metadata/json.js';
import { keyIdOf, publicKeyObjectOf, spkiDerOf, tufKeyFromPublicKey, type TufKeyJSON } from './tuf-key.js';

/** The key object field tufctl records a verified attestation's facts in. */
export const ATTESTATION_FIELD = 'x-tufctl-attestation';

/** Yubico's PIV attestation extensions (arc 1.3.6.1.4.1.41482.3). */
const OID = {
  firmware: '1.3.6.1.4.1.41482.3.3',
  serial: '1.3.6.1.4.1.41482.3.7',
  policy: '1.3.6.1.4.1.41482.3.8',
  formFactor: '1.3.6.1.4.1.41482.3.9',
  fips: '1.3.6.1.4.1.41482.3.10',
  cspn: '1.3.6.1.4.1.41482.3.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
} as const;

/** Critical extensions this verifier understands; any other critical extension makes a certificate unusable (RFC 5280 4.2). */
const UNDERSTOOD_CRITICAL = new Set<string>([OID.basicConstraints, OID.keyUsage]);

const PIN_POLICIES: Record<number, string> = { 0: 'default', 1: 'never', 2: 'once', 3: 'always', 4: 'match-once', 5: 'match-always' };
const TOUCH_POLICIES: Record<number, string> = { 0: 'default', 1: 'never', 2: 'always', 3: 'cached' };
const FORM_FACTORS: Record<number, string> = {
  0: 'unspecified',
  1: 'usb-a-keychain',
  2: 'usb-a-nano',
  3: 'usb-c-keychain',
  4: 'usb-c-nano',
  5: 'usb-c-lightning',
  6: 'usb-a-bio',
  7: 'usb-c-bio',
};
/** Bit of the form factor byte that marks a device of the FIPS series. */
const FORM_FACTOR_FIPS_BIT = 0x80;

/** Chain depth limit: Yubico's longest chain has three certificates between the attestation and the root. */
const MAX_CHAIN = 6;

/** Certificates as read from a file (or given in memory), with a label for messages. */
export interface CertificateSource {
  /** How messages name it, usually the file name. */
  label: string;
  /** PEM text (one or more certificates) or DER bytes (one certificate). */
  data: string | Buffer;
}

export interface PivAttestationInput {
  /** The slot's attestation certificate (exactly one). */
  attestation: CertificateSource;
  /** The device's attestation certificate from slot f9, and any further intermediates (any order). */
  intermediates: CertificateSource[];
  /** The trusted CA: self-signed root certificates (a bundle may also carry intermediates). */
  ca: CertificateSource[];
}

export interface PivAttestationOptions {
  /** Time the validity windows are checked at (default: now). */
  now?: Date;
  /** The key the attestation must attest; `label` names it in messages (e.g. the public key file). */
  expectedKey?: { key: TufKeyJSON | KeyObject; label: string };
  /** The PIV slot the attestation must be for (e.g. `9c`). */
  slot?: string;
}

export interface ChainCertificate {
  /** File label, with the position when the file holds several certificates. */
  source: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
}

export interface PivAttestation {
  slot: string;
  serial?: number;
  firmware?: string;
  pinPolicy?: string;
  touchPolicy?: string;
  formFactor?: string;
  /** Whether the device is of the FIPS series (f9 certificate extension, or the form factor's FIPS bit). */
  fips?: boolean;
  /** Whether the device is of the CSPN series. */
  cspn?: boolean;
  /** From the attestation up to the trusted CA. */
  chain: ChainCertificate[];
  /** Subject and SHA-256 fingerprint of the CA certificate the chain ends at. */
  ca: { subject: string; sha256: string };
  /** The attested public key, as a TUF key, and its id without custom fields. */
  publicKey: TufKeyJSON;
  keyId: string;
  /** Set when an expected key was given (it matched, or verification threw). */
  keyMatches?: boolean;
  checkedAt: string;
}

// ---------------------------------------------------------------------------
// A minimal DER reader: enough to walk a certificate to its validity and extensions.

interface Tlv {
  /** First identifier octet (class, constructed bit, tag number < 31). */
  tag: number;
  /** Offset of the identifier octet in `bytes`. */
  start: number;
  /** Offset of the value. */
  valueStart: number;
  /** Offset just past the value. */
  end: number;
  bytes: Buffer;
}

class DerError extends Error {}

function readTlv(bytes: Buffer, offset: number, limit = bytes.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated');
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tag');
  let length = bytes[offset + 1]!;
  let valueStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported length');
    if (valueStart + count > limit) throw new DerError('truncated');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[valueStart + i]!;
    valueStart += count;
  }
  const end = valueStart + length;
  if (end > limit) throw new DerError('truncated');
  return { tag, start: offset, valueStart, end, bytes };
}

function valueOf(tlv: Tlv): Buffer {
  return tlv.bytes.subarray(tlv.valueStart, tlv.end);
}

function childrenOf(tlv: Tlv): Tlv[] {
  if (!(tlv.tag & 0x20)) throw new DerError('not constructed');
  const out: Tlv[] = [];
  for (let offset = tlv.valueStart; offset < tlv.end;) {
    const child = readTlv(tlv.bytes, offset, tlv.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** A DER value that must be exactly one TLV of the given tag. */
function single(bytes: Buffer, tag: number): Tlv {
  const tlv = readTlv(bytes, 0);
  if (tlv.tag !== tag || tlv.end !== bytes.length) throw new DerError(`expected tag 0x${tag.toString(16)}`);
  return tlv;
}

function oidOf(tlv: Tlv): string {
  const v = valueOf(tlv);
  if (tlv.tag !== 0x06 || v.length === 0) throw new DerError('not an OID');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of v) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift()!;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...arcs].join('.');
}

/** A non-negative DER INTEGER as a safe JavaScript number. */
function integerOf(tlv: Tlv): number {
  const v = valueOf(tlv);
  if (tlv.tag !== 0x02 || v.length === 0 || v[0]! & 0x80) throw new DerError('not a non-negative INTEGER');
  let n = 0;
  for (const byte of v) n = n * 256 + byte;
  if (!Number.isSafeInteger(n)) throw new DerError('INTEGER too large');
  return n;
}

function timeOf(tlv: Tlv): Date {
  const text = valueOf(tlv).toString('latin1');
  const m =
    tlv.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : tlv.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null;
  if (!m) throw new DerError('not a UTCTime or GeneralizedTime');
  let year = Number(m[1]);
  if (tlv.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

interface Extension {
  critical: boolean;
  value: Buffer;
}

interface ParsedCertificate {
  x509: X509Certificate;
  source: string;
  notBefore: Date;
  notAfter: Date;
  extensions: Map<string, Extension>;
  sha256: string;
}

/** Validity and extensions of a certificate Node has already parsed (its DER is well-formed). */
function readStructure(der: Buffer): { notBefore: Date; notAfter: Date; extensions: Map<string, Extension> } {
  const certificate = readTlv(der, 0);
  const tbs = childrenOf(certificate)[0];
  if (!tbs || tbs.tag !== 0x30) throw new DerError('no TBSCertificate');
  const fields = childrenOf(tbs);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  i += 3; // serialNumber, signature, issuer
  const validity = fields[i];
  if (!validity || validity.tag !== 0x30) throw new DerError('no validity');
  const [from, to] = childrenOf(validity);
  if (!from || !to) throw new DerError('incomplete validity');
  const extensions = new Map<string, Extension>();
  const explicit = fields.slice(i + 3).find((f) => f.tag === 0xa3); // [3] extensions, after subject and subjectPublicKeyInfo
  if (explicit) {
    const list = childrenOf(explicit)[0];
    if (!list || list.tag !== 0x30) throw new DerError('malformed extensions');
    for (const entry of childrenOf(list)) {
      const parts = childrenOf(entry);
      const oid = oidOf(parts[0]!);
      const critical = parts.length === 3 && parts[1]!.tag === 0x01 && valueOf(parts[1]!)[0] !== 0;
      const octets = parts[parts.length - 1]!;
      if (octets.tag !== 0x04) throw new DerError(`extension ${oid} value is not an OCTET STRING`);
      if (extensions.has(oid)) throw new DerError(`extension ${oid} appears twice`);
      extensions.set(oid, { critical, value: Buffer.from(valueOf(octets)) });
    }
  }
  return { notBefore: timeOf(from), notAfter: timeOf(to), extensions };
}

// ---------------------------------------------------------------------------

const iso = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const oneLine = (name: string): string => name.split('\n').join(', ');

function invalid(message: string, code: ErrorCode = 'ATTESTATION_INVALID'): AttestationError {
  return new AttestationError(code, message);
}

/** Every certificate of a source: PEM (one or more CERTIFICATE blocks) or DER (one). */
export function parseCertificates(source: CertificateSource): ParsedCertificate[] {
  const raw = typeof source.data === 'string' ? Buffer.from(source.data, 'utf8') : source.data;
  const text = raw.toString('latin1');
  const ders: Buffer[] = [];
  if (text.includes('-----BEGIN')) {
    const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
    const certificates = blocks.filter((b) => b[1] === 'CERTIFICATE' || b[1] === 'X509 CERTIFICATE' || b[1] === 'TRUSTED CERTIFICATE');
    if (certificates.length === 0) {
      const kinds = [...new Set(blocks.map((b) => b[1]!))];
      throw invalid(
        kinds.length > 0
          ? `${source.label} holds ${kinds.join(', ')}, not a certificate (expected "-----BEGIN CERTIFICATE-----")`
          : `${source.label} is malformed PEM: no complete "-----BEGIN CERTIFICATE-----" … "-----END CERTIFICATE-----" block`,
      );
    }
    for (const block of certificates) {
      const body = block[2]!.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw invalid(`${source.label} is malformed PEM: a certificate block is not base64`);
      ders.push(Buffer.from(body, 'base64'));
    }
  } else {
    ders.push(raw);
  }
  return ders.map((der, index) => {
    const label = ders.length > 1 ? `${source.label} (certificate ${index + 1})` : source.label;
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch (error) {
      throw invalid(
        text.includes('-----BEGIN')
          ? `${label} is malformed: the certificate does not parse (${(error as Error).message})`
          : `${label} is neither a PEM nor a DER certificate`,
      );
    }
    let structure: ReturnType<typeof readStructure>;
    try {
      structure = readStructure(x509.raw);
    } catch (error) {
      throw invalid(`${label} is malformed: ${(error as Error).message}`);
    }
    return { x509, source: label, ...structure, sha256: createHash('sha256').update(x509.raw).digest('hex') };
  });
}

/** Reads a certificate file for verifyPivAttestation, labelled with the path as given (unreadable: ATTESTATION_INVALID naming it). */
export function readCertificateFile(path: string): CertificateSource {
  try {
    return { label: path, data: readFileSync(path) };
  } catch (error) {
    throw invalid(`cannot read certificate file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function describe(cert: ParsedCertificate): string {
  return `${cert.source} (${oneLine(cert.x509.subject)})`;
}

function nameSigned(child: ParsedCertificate, parent: ParsedCertificate): { name: boolean; signature: boolean } {
  const name = child.x509.issuer === parent.x509.subject;
  let signature = false;
  try {
    signature = child.x509.verify(parent.x509.publicKey);
  } catch {
    signature = false;
  }
  return { name, signature };
}

function isSelfSigned(cert: ParsedCertificate): boolean {
  const r = nameSigned(cert, cert);
  return r.name && r.signature;
}

function basicConstraintsOf(cert: ParsedCertificate): { ca: boolean; pathLen?: number } | undefined {
  const ext = cert.extensions.get(OID.basicConstraints);
  if (!ext) return undefined;
  try {
    const parts = childrenOf(single(ext.value, 0x30));
    let ca = false;
    let pathLen: number | undefined;
    for (const part of parts) {
      if (part.tag === 0x01) ca = valueOf(part)[0] !== 0;
      else if (part.tag === 0x02) pathLen = integerOf(part);
    }
    return pathLen === undefined ? { ca } : { ca, pathLen };
  } catch (error) {
    throw invalid(`${describe(cert)} has malformed basic constraints: ${(error as Error).message}`);
  }
}

/** Whether keyUsage, if present, allows signing certificates (bit 5, keyCertSign). */
function mayCertSign(cert: ParsedCertificate): boolean {
  const ext = cert.extensions.get(OID.keyUsage);
  if (!ext) return true;
  try {
    const bits = valueOf(single(ext.value, 0x03));
    return bits.length >= 2 && (bits[1]! & 0x04) !== 0;
  } catch (error) {
    throw invalid(`${describe(cert)} has a malformed key usage: ${(error as Error).message}`);
  }
}

/** The chain from the attestation to a trusted root: [attestation, …intermediates, root]. */
function buildChain(
  attestation: ParsedCertificate,
  pool: ParsedCertificate[],
  roots: ParsedCertificate[],
  caLabel: string,
): ParsedCertificate[] {
  const chain = [attestation];
  const used = new Set<ParsedCertificate>();
  let current = attestation;
  for (;;) {
    const root = roots.find((r) => {
      const s = nameSigned(current, r);
      return s.name && s.signature;
    });
    if (root) {
      if (current === attestation) {
        throw invalid(
          `${describe(attestation)} is signed directly by the CA in ${caLabel}: a YubiKey attestation is signed by the device's own attestation key, whose certificate (slot f9) must come in between; give that certificate with --intermediate and the vendor's root as the CA`,
        );
      }
      chain.push(root);
      return chain;
    }
    const next = pool.find((p) => {
      if (used.has(p) || p === current) return false;
      const s = nameSigned(current, p);
      return s.name && s.signature;
    });
    if (next && chain.length <= MAX_CHAIN) {
      chain.push(next);
      used.add(next);
      current = next;
      continue;
    }
    throw untrusted(current, attestation, pool, roots, caLabel);
  }
}

function untrusted(
  current: ParsedCertificate,
  attestation: ParsedCertificate,
  pool: ParsedCertificate[],
  roots: ParsedCertificate[],
  caLabel: string,
): AttestationError {
  const issuer = oneLine(current.x509.issuer);
  const caNames = roots.map((r) => oneLine(r.x509.subject)).join('; ');
  if (current === attestation) {
    const sameName = pool.filter((p) => nameSigned(attestation, p).name);
    if (sameName.length > 0) {
      return invalid(
        `${describe(attestation)} is not signed by the attestation key of ${sameName.map(describe).join(', ')}: the issuer names match but the signature does not verify: a YubiKey with another f9 attestation key made it (several YubiKeys may share one), or it was altered; give the f9 certificate read from the YubiKey that made it`,
        'ATTESTATION_UNTRUSTED',
      );
    }
    return invalid(
      `${describe(attestation)} is issued by ${issuer}, which no given intermediate certificate is (${pool.map(describe).join(', ') || 'none given'}); give the device's f9 certificate with --intermediate`,
      'ATTESTATION_UNTRUSTED',
    );
  }
  if (roots.some((r) => nameSigned(current, r).name)) {
    return invalid(
      `chain from another CA: ${describe(current)} names ${issuer} as its issuer, like the CA in ${caLabel}, but that CA's key did not sign it (another CA with the same name, or an altered certificate)`,
      'ATTESTATION_UNTRUSTED',
    );
  }
  return invalid(
    `chain from another CA: ${describe(current)} is issued by ${issuer}, not by the CA in ${caLabel} (${caNames})`,
    'ATTESTATION_UNTRUSTED',
  );
}

function checkConstraints(chain: ParsedCertificate[]): void {
  for (const cert of chain) {
    for (const [oid, ext] of cert.extensions) {
      if (ext.critical && !UNDERSTOOD_CRITICAL.has(oid))
        throw invalid(`${describe(cert)} has a critical extension tufctl does not understand (${oid})`);
    }
  }
  const attestation = chain[0]!;
  if (basicConstraintsOf(attestation)?.ca) throw invalid(`${describe(attestation)} is a CA certificate, not an attestation`);
  for (let i = 1; i < chain.length; i++) {
    const issuer = chain[i]!;
    const bc = basicConstraintsOf(issuer);
    const signs = oneLine(chain[i - 1]!.x509.subject);
    if (bc && !bc.ca) throw invalid(`${describe(issuer)} is not a CA (basic constraints CA:FALSE), yet it signs ${signs}`);
    // Intermediate certificates below this one (the attestation itself is the end entity).
    const below = i - 1;
    if (bc?.pathLen !== undefined && below > bc.pathLen) {
      throw invalid(`${describe(issuer)} allows ${bc.pathLen} intermediate certificate(s) below it (pathlen), the chain has ${below}`);
    }
    if (!mayCertSign(issuer))
      throw invalid(`${describe(issuer)} may not sign certificates (its key usage lacks keyCertSign), yet it signs ${signs}`);
  }
}

function checkValidity(chain: ParsedCertificate[], now: Date): void {
  for (const cert of chain) {
    if (now.getTime() > cert.notAfter.getTime()) {
      throw invalid(`${describe(cert)} expired on ${iso(cert.notAfter)} (checked at ${iso(now)})`, 'ATTESTATION_EXPIRED');
    }
    if (now.getTime() < cert.notBefore.getTime()) {
      throw invalid(`${describe(cert)} is not valid before ${iso(cert.notBefore)} (checked at ${iso(now)})`);
    }
  }
}

interface DeviceFacts {
  serial?: number;
  firmware?: string;
  pinPolicy?: string;
  touchPolicy?: string;
  formFactor?: string;
  fips?: boolean;
  cspn?: boolean;
}

function readFacts(chain: ParsedCertificate[]): DeviceFacts {
  const attestation = chain[0]!;
  const facts: DeviceFacts = {};
  const bad = (what: string, detail: string): AttestationError =>
    invalid(`${describe(attestation)}: malformed ${what} extension (${detail})`);
  const ext = (oid: string): Buffer | undefined => attestation.extensions.get(oid)?.value;
  const firmware = ext(OID.firmware);
  if (firmware) {
    if (firmware.length !== 3) throw bad('firmware version', `${firmware.length} bytes, expected 3`);
    facts.firmware = [...firmware].join('.');
  }
  const serial = ext(OID.serial);
  if (serial) {
    try {
      facts.serial = integerOf(single(serial, 0x02));
    } catch (error) {
      throw bad('serial number', (error as Error).message);
    }
  }
  const policy = ext(OID.policy);
  if (policy) {
    if (policy.length !== 2) throw bad('PIN/touch policy', `${policy.length} bytes, expected 2`);
    facts.pinPolicy = PIN_POLICIES[policy[0]!] ?? `unknown-${policy[0]!}`;
    facts.touchPolicy = TOUCH_POLICIES[policy[1]!] ?? `unknown-${policy[1]!}`;
  }
  const formFactor = ext(OID.formFactor);
  if (formFactor) {
    if (formFactor.length !== 1) throw bad('form factor', `${formFactor.length} bytes, expected 1`);
    const code = formFactor[0]! & ~FORM_FACTOR_FIPS_BIT;
    facts.formFactor = FORM_FACTORS[code] ?? `unknown-0x${code.toString(16).padStart(2, '0')}`;
    if (formFactor[0]! & FORM_FACTOR_FIPS_BIT) facts.fips = true;
  }
  // The FIPS and CSPN markers sit on the device's f9 certificate (some devices also put them on the attestation).
  const device = chain.slice(0, 2);
  if (device.some((c) => c.extensions.has(OID.fips))) facts.fips = true;
  if (device.some((c) => c.extensions.has(OID.cspn))) facts.cspn = true;
  return facts;
}

function slotOf(attestation: ParsedCertificate): string {
  const cn = attestation.x509.subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3);
  const m = cn ? /^YubiKey PIV Attestation ([0-9A-Fa-f]{2})$/.exec(cn) : null;
  if (!m) {
    throw invalid(
      `${describe(attestation)} is not a YubiKey PIV attestation certificate (its subject is not "CN=YubiKey PIV Attestation <slot>")`,
    );
  }
  return m[1]!.toLowerCase();
}

/**
 * Verifies a YubiKey PIV attestation: the chain from the attestation
 * certificate through the given intermediates to a self-signed CA of
 * `input.ca`, every certificate's validity at `options.now`, CA constraints,
 * then the attested key against `options.expectedKey` and the slot against
 * `options.slot`. Returns the device facts; throws AttestationError with a
 * code saying what failed: ATTESTATION_INVALID (malformed, not an
 * attestation, constraints, slot), ATTESTATION_UNTRUSTED (signatures do not
 * lead to the CA), ATTESTATION_EXPIRED, ATTESTATION_KEY_MISMATCH.
 */
export function verifyPivAttestation(input: PivAttestationInput, options: PivAttestationOptions = {}): PivAttestation {
  const now = options.now ?? new Date();
  const attestations = parseCertificates(input.attestation);
  if (attestations.length !== 1) {
    throw invalid(`${input.attestation.label} holds ${attestations.length} certificates; give the slot's attestation certificate alone`);
  }
  const attestation = attestations[0]!;
  const slot = slotOf(attestation);
  if (input.intermediates.length === 0) throw invalid("no intermediate certificate given: the device's f9 certificate is needed");
  if (input.ca.length === 0) throw invalid('no CA certificate given');
  const pool = input.intermediates.flatMap(parseCertificates);
  const caCertificates = input.ca.flatMap(parseCertificates);
  const roots = caCertificates.filter(isSelfSigned);
  const caLabel = input.ca.map((c) => c.label).join(', ');
  if (roots.length === 0) {
    throw invalid(
      `${caLabel} holds no self-signed certificate (${caCertificates.map((c) => oneLine(c.x509.subject)).join('; ')}): give the vendor's root CA`,
    );
  }
  // Non-root certificates of a CA bundle may serve as intermediates; trust comes from the roots alone.
  const chain = buildChain(attestation, [...pool, ...caCertificates.filter((c) => !roots.includes(c))], roots, caLabel);
  checkConstraints(chain);
  checkValidity(chain, now);
  const facts = readFacts(chain);
  const attestedKey = attestation.x509.publicKey;
  let publicKey: TufKeyJSON;
  try {
    publicKey = tufKeyFromPublicKey(attestedKey);
  } catch (error) {
    throw invalid(`${describe(attestation)} attests a key TUF cannot use: ${(error as Error).message}`);
  }
  const root = chain[chain.length - 1]!;
  const result: PivAttestation = {
    slot,
    ...facts,
    chain: chain.map((c) => ({
      source: c.source,
      subject: oneLine(c.x509.subject),
      issuer: oneLine(c.x509.issuer),
      notBefore: iso(c.notBefore),
      notAfter: iso(c.notAfter),
      sha256: c.sha256,
    })),
    ca: { subject: oneLine(root.x509.subject), sha256: root.sha256 },
    publicKey,
    keyId: keyIdOf(publicKey),
    checkedAt: iso(now),
  };
  if (options.expectedKey) {
    const expected = options.expectedKey.key;
    const expectedObject = isKeyObject(expected) ? expected : publicKeyObjectOf(expected);
    if (!spkiDerOf(expectedObject).equals(spkiDerOf(attestedKey))) {
      throw invalid(
        `attestation of another key: ${input.attestation.label} attests ${publicKey.scheme} key ${result.keyId.slice(0, 12)}…, not ${options.expectedKey.label}`,
        'ATTESTATION_KEY_MISMATCH',
      );
    }
    result.keyMatches = true;
  }
  if (options.slot !== undefined && options.slot.toLowerCase() !== slot) {
    throw invalid(`wrong slot: ${input.attestation.label} attests the key in slot ${slot}, not in slot ${options.slot.toLowerCase()}`);
  }
  return result;
}

function isKeyObject(value: TufKeyJSON | KeyObject): value is KeyObject {
  return typeof (value as KeyObject).export === 'function' && typeof (value as KeyObject).type === 'string';
}

/** The facts tufctl records with a key (ATTESTATION_FIELD): what the attestation proved, and which CA vouched for it. */
export function attestationRecord(attestation: PivAttestation): JSONObject {
  const record: JSONObject = { kind: 'yubikey-piv', slot: attestation.slot };
  if (attestation.serial !== undefined) record.serial = attestation.serial;
  if (attestation.firmware !== undefined) record.firmware = attestation.firmware;
  if (attestation.pinPolicy !== undefined) record.pinPolicy = attestation.pinPolicy;
  if (attestation.touchPolicy !== undefined) record.touchPolicy = attestation.touchPolicy;
  if (attestation.formFactor !== undefined) record.formFactor = attestation.formFactor;
  if (attestation.fips) record.fips = true;
  if (attestation.cspn) record.cspn = true;
  record.ca = attestation.ca.subject;
  record.caSha256 = attestation.ca.sha256;
  return record;
}

/** `YubiKey 25515003` for a key object carrying a recorded attestation, else undefined. */
export function deviceLabelOf(key: unknown): string | undefined {
  if (!isJSONObject(key)) return undefined;
  const record = key[ATTESTATION_FIELD];
  if (!isJSONObject(record) || record.kind !== 'yubikey-piv') return undefined;
  return typeof record.serial === 'number' ? `YubiKey ${record.serial}` : 'YubiKey';
}

/** One line of device facts: `slot 9c, YubiKey 25515003, firmware 5.4.3, PIN always, touch never, usb-c-keychain, FIPS`. */
export function describeAttestation(a: Pick<PivAttestation, 'slot' | keyof DeviceFacts>): string {
  const parts = [`slot ${a.slot}`];
  if (a.serial !== undefined) parts.push(`YubiKey ${a.serial}`);
  if (a.firmware !== undefined) parts.push(`firmware ${a.firmware}`);
  if (a.pinPolicy !== undefined) parts.push(`PIN ${a.pinPolicy}`);
  if (a.touchPolicy !== undefined) parts.push(`touch ${a.touchPolicy}`);
  if (a.formFactor !== undefined) parts.push(a.formFactor);
  if (a.fips) parts.push('FIPS series');
  if (a.cspn) parts.push('CSPN series');
  return parts.join(', ');
}

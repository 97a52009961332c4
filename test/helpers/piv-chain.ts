/**
 * YubiKey-shaped PIV attestation chains made with the openssl command at
 * test time: a self-signed root CA → an intermediate standing for the
 * device's slot f9 certificate (CA, pathlen 0, firmware and FIPS extensions)
 * → an attestation certificate for a given key with Yubico's extensions
 * (firmware, serial as a DER INTEGER, PIN/touch policy, form factor) and the
 * subject "CN=YubiKey PIV Attestation <slot>", like the real ones.
 * `openssl ca` is used so that every certificate's validity window can be
 * set exactly (expired and not-yet-valid certificates).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issuer {
  cert: string;
  key: string;
}

/** Validity as openssl wants it: YYYYMMDDHHMMSSZ. */
export interface Validity {
  start: string;
  end: string;
}

export const LONG_VALIDITY: Validity = { start: '20160314000000Z', end: '20520417000000Z' };

function openssl(args: string[], cwd: string): string {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const hex = (bytes: number[]): string => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');

/** DER INTEGER of a non-negative number. */
function derInteger(n: number): number[] {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return [0x02, bytes.length, ...bytes];
}

let counter = 0;

/** A working directory with an `openssl ca` configuration. */
function caDir(dir: string): string {
  const work = join(dir, `.ca-${process.pid}-${counter++}`);
  mkdirSync(join(work, 'new'), { recursive: true });
  writeFileSync(join(work, 'index.txt'), '');
  // A random positive 16-byte serial, as Yubico's attestation certificates have.
  writeFileSync(
    join(work, 'serial'),
    `${((randomBytes(1)[0]! & 0x7f) | 0x01).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}\n`,
  );
  writeFileSync(
    join(work, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = CA_default',
      '[CA_default]',
      'database = index.txt',
      'new_certs_dir = new',
      'serial = serial',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      'email_in_dn = no',
      'copy_extensions = none',
      '[policy_any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  return work;
}

/**
 * Signs a certificate for the key in `keyFile` (a private key: the CSR is
 * made with it) with `issuer` (undefined: self-signed), with the given
 * extension lines and validity.
 */
export function issue(options: {
  dir: string;
  out: string;
  keyFile: string;
  subject: string;
  issuer?: Issuer;
  extensions: string[];
  validity?: Validity;
}): string {
  const work = caDir(options.dir);
  const validity = options.validity ?? LONG_VALIDITY;
  openssl(['req', '-new', '-key', options.keyFile, '-subj', `/CN=${options.subject}`, '-out', 'req.csr'], work);
  // Yubico's f9 and attestation certificates carry no key identifiers; openssl adds them unless told not to.
  const ids = options.issuer ? ['subjectKeyIdentifier = none', 'authorityKeyIdentifier = none'] : [];
  writeFileSync(join(work, 'ext.cnf'), ['[ext]', ...ids, ...options.extensions, ''].join('\n'));
  const signer = options.issuer
    ? ['-cert', options.issuer.cert, '-keyfile', options.issuer.key]
    : ['-selfsign', '-keyfile', options.keyFile];
  openssl(
    [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-notext',
      '-md',
      'sha256',
      '-in',
      'req.csr',
      '-out',
      options.out,
      '-subj',
      `/CN=${options.subject}`,
      '-startdate',
      validity.start,
      '-enddate',
      validity.end,
      '-extfile',
      'ext.cnf',
      '-extensions',
      'ext',
      ...signer,
    ],
    work,
  );
  return options.out;
}

/** A new private key: EC P-256 (quick to make), or RSA 2048 like Yubico's CA and f9 keys. */
export function newKey(dir: string, name: string, type: 'rsa' | 'ec' = 'ec'): string {
  const file = join(dir, `${name}.key`);
  const args =
    type === 'rsa'
      ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
      : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['genpkey', ...args, '-out', file], dir);
  return file;
}

/** A self-signed root CA (basic constraints CA, pathlen 1; key usage keyCertSign, cRLSign); EC P-256 unless keyType says RSA. */
export function makeRootCa(
  dir: string,
  options: { name?: string; file?: string; validity?: Validity; extensions?: string[]; keyType?: 'rsa' | 'ec' } = {},
): Issuer {
  const name = options.file ?? 'ca';
  const key = newKey(dir, name, options.keyType);
  const cert = issue({
    dir,
    out: join(dir, `${name}.pem`),
    keyFile: key,
    subject: options.name ?? 'Test PIV Root CA Serial 263751',
    extensions: options.extensions ?? ['basicConstraints = critical,CA:TRUE,pathlen:1', 'keyUsage = critical,keyCertSign,cRLSign'],
    ...(options.validity ? { validity: options.validity } : {}),
  });
  return { cert, key };
}

/** The device's f9 certificate: CA, pathlen 0, firmware 5.4.3 and the FIPS marker, signed by `ca`. */
export function makeIntermediate(
  dir: string,
  ca: Issuer,
  options: { name?: string; file?: string; validity?: Validity; extensions?: string[]; keyType?: 'rsa' | 'ec' } = {},
): Issuer {
  const name = options.file ?? 'f9';
  const key = newKey(dir, name, options.keyType);
  const cert = issue({
    dir,
    out: join(dir, `${name}.pem`),
    keyFile: key,
    subject: options.name ?? 'Test PIV Attestation',
    issuer: ca,
    extensions: options.extensions ?? [
      'basicConstraints = critical,CA:TRUE,pathlen:0',
      '1.3.6.1.4.1.41482.3.3 = DER:05:04:03',
      '1.3.6.1.4.1.41482.3.10 = DER:02:01:07',
    ],
    ...(options.validity ? { validity: options.validity } : {}),
  });
  return { cert, key };
}

export interface AttestationFacts {
  serial?: number;
  firmware?: [number, number, number];
  pinPolicy?: number;
  touchPolicy?: number;
  formFactor?: number;
  slot?: string;
}

/** The attestation certificate of the key in `keyFile` (a private key), signed by the f9 certificate `device`. */
export function makeAttestation(
  dir: string,
  device: Issuer,
  keyFile: string,
  options: AttestationFacts & { file?: string; validity?: Validity; extraExtensions?: string[]; subject?: string } = {},
): string {
  const facts = { serial: 12345678, firmware: [5, 4, 3], pinPolicy: 3, touchPolicy: 1, formFactor: 0x83, slot: '9c', ...options };
  return issue({
    dir,
    out: join(dir, `${options.file ?? 'attestation'}.pem`),
    keyFile,
    subject: options.subject ?? `YubiKey PIV Attestation ${facts.slot}`,
    issuer: device,
    extensions: [
      `1.3.6.1.4.1.41482.3.3 = DER:${hex(facts.firmware)}`,
      `1.3.6.1.4.1.41482.3.7 = DER:${hex(derInteger(facts.serial))}`,
      `1.3.6.1.4.1.41482.3.8 = DER:${hex([facts.pinPolicy, facts.touchPolicy])}`,
      `1.3.6.1.4.1.41482.3.9 = DER:${hex([facts.formFactor])}`,
      ...(options.extraExtensions ?? []),
    ],
    ...(options.validity ? { validity: options.validity } : {}),
  });
}

/** A whole chain for the key in `keyFile`: ca.pem → f9.pem → attestation.pem in `dir`, RSA keys like Yubico's. */
export function makePivChain(
  dir: string,
  keyFile: string,
  facts: AttestationFacts = {},
): { ca: Issuer; device: Issuer; attestation: string } {
  mkdirSync(dir, { recursive: true });
  const ca = makeRootCa(dir, { keyType: 'rsa' });
  const device = makeIntermediate(dir, ca, { keyType: 'rsa' });
  const attestation = makeAttestation(dir, device, keyFile, facts);
  return { ca, device, attestation };
}

/**
 * The secret scan: private key material never reaches a file tufctl writes
 * to git, nor its output. It looks for PEM private keys (PKCS#8, PKCS#1, SEC1,
 * OpenSSH, encrypted or not), JWKs with private members, and PKCS#11 URIs
 * carrying a PIN, wherever they hide (a custom `x-` field, an online URI, a
 * trust file), and is cheap enough to run on every write: a byte search
 * first, a structural look only when a marker is present.
 */
import { SecretError } from './errors.js';

const PEM_PRIVATE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function jwkWithPrivateMembers(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => jwkWithPrivateMembers(item, depth + 1));
  const object = value as Record<string, unknown>;
  if (typeof object.kty === 'string' && JWK_PRIVATE_MEMBERS.some((m) => Object.hasOwn(object, m))) return true;
  return Object.values(object).some((item) => jwkWithPrivateMembers(item, depth + 1));
}

/** What kind of secret `data` holds, or undefined. Never returns any of the secret itself. */
export function secretIn(data: string | Uint8Array): string | undefined {
  const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buffer.indexOf('PRIVATE KEY-----') >= 0 && PEM_PRIVATE.test(buffer.toString('latin1'))) return 'a PEM private key';
  if (buffer.indexOf('pkcs11:') >= 0 && /pkcs11:[^\s"']*[?&]pin-value=/.test(buffer.toString('latin1'))) {
    return 'a PKCS#11 URI with its PIN (pin-value)';
  }
  if (buffer.indexOf('"kty"') >= 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(buffer.toString('utf8'));
    } catch {
      // Not JSON (YAML, text): a JWK there is not one clients would read as such.
      return undefined;
    }
    if (jwkWithPrivateMembers(parsed)) return 'a JWK with private key members';
  }
  return undefined;
}

/** Refuses to write `data` to `file` when it holds a secret; nothing is written by the caller then. */
export function assertNoSecret(file: string, data: string | Uint8Array): void {
  const kind = secretIn(data);
  if (kind) {
    throw new SecretError(
      'SECRET_DETECTED',
      `refusing to write ${file}: it would hold ${kind}; private key material never goes into the repository (give public keys, and keep PINs and private keys in files or the environment)`,
    );
  }
}

/** `text` with PEM private key blocks replaced, for anything printed. */
export function redactSecrets(text: string): string {
  return text
    .replace(/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g, '[private key redacted]')
    .replace(/([?&]pin-value=)[^&\s"']*/g, '$1[redacted]');
}

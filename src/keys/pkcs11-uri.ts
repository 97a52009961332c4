/**
 * PKCS#11 URIs (RFC 7512): which token and key object a hardware key is, and
 * how to reach it.
 *
 *   pkcs11:token=tufhw;object=root-hw?module-path=/usr/lib/…/libykcs11.so&pin-source=/run/pin
 *
 * The path (before `?`) names the token and the object; the query says how
 * to load the module and where the PIN comes from. The query may hold a PIN
 * (`pin-value`), so only `describePkcs11Uri` (the path alone) ever appears in
 * a message, a signer's source or a file.
 */
import { KeyError } from '../errors.js';

export interface Pkcs11Uri {
  /** Token attributes: label (`token`), `manufacturer`, `serial`, `model`, `slot-id`. */
  token: { label?: string; manufacturer?: string; serial?: string; model?: string; slotId?: number };
  /** The key object: its label (`object`) and/or its CKA_ID bytes (`id`). */
  object: { label?: string; id?: Buffer };
  /** `type=private|public|cert` when given. */
  type?: string;
  modulePath?: string;
  moduleName?: string;
  pinValue?: string;
  pinSource?: string;
}

const PATH_ATTRIBUTES = new Set([
  'token',
  'manufacturer',
  'serial',
  'model',
  'object',
  'id',
  'type',
  'slot-id',
  'slot-description',
  'slot-manufacturer',
  'library-description',
  'library-manufacturer',
  'library-version',
]);
const QUERY_ATTRIBUTES = new Set(['module-path', 'module-name', 'pin-value', 'pin-source']);

export function isPkcs11Uri(value: string): boolean {
  return value.startsWith('pkcs11:');
}

/** The URI's path only, never its query (which may hold a PIN): safe for messages. */
export function describePkcs11Uri(value: string): string {
  const query = value.indexOf('?');
  return query < 0 ? value : value.slice(0, query);
}

function decode(raw: string, attribute: string, where: string): Buffer {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) {
    throw new KeyError('KEY_INVALID', `${where}: attribute "${attribute}" has a malformed percent-encoding`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(raw[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}

/**
 * Parses an RFC 7512 URI. Errors never quote the URI or a value (a PIN may be
 * in the wrong place); they name the attribute when it is a plain name.
 */
export function parsePkcs11Uri(value: string): Pkcs11Uri {
  if (!isPkcs11Uri(value)) throw new KeyError('KEY_INVALID', 'not a PKCS#11 URI (expected pkcs11:…)');
  const where = 'PKCS#11 URI';
  const [path = '', query = ''] = value.slice('pkcs11:'.length).split('?', 2);
  const uri: Pkcs11Uri = { token: {}, object: {} };
  const seen = new Set<string>();
  const pairs = (text: string, separator: string, allowed: Set<string>): Array<[string, string]> =>
    text === ''
      ? []
      : text.split(separator).map((part) => {
          const equals = part.indexOf('=');
          const name = equals < 0 ? part : part.slice(0, equals);
          if (equals < 0) throw new KeyError('KEY_INVALID', `${where}: an attribute has no "=" (attributes are name=value)`);
          if (!allowed.has(name)) {
            const shown = /^[a-z][a-z-]{0,29}$/.test(name) ? `"${name}"` : '(not a plain name)';
            throw new KeyError('KEY_INVALID', `${where}: unknown attribute ${shown} (known: ${[...allowed].join(', ')})`);
          }
          if (seen.has(name)) throw new KeyError('KEY_INVALID', `${where}: attribute "${name}" is given twice`);
          seen.add(name);
          return [name, part.slice(equals + 1)];
        });
  for (const [name, raw] of pairs(path, ';', PATH_ATTRIBUTES)) {
    const text = (): string => decode(raw, name, where).toString('utf8');
    if (name === 'token') uri.token.label = text();
    else if (name === 'manufacturer') uri.token.manufacturer = text();
    else if (name === 'serial') uri.token.serial = text();
    else if (name === 'model') uri.token.model = text();
    else if (name === 'object') uri.object.label = text();
    else if (name === 'id') uri.object.id = decode(raw, name, where);
    else if (name === 'type') uri.type = text();
    else if (name === 'slot-id') {
      if (!/^\d+$/.test(raw)) throw new KeyError('KEY_INVALID', `${where}: slot-id must be a number`);
      uri.token.slotId = Number(raw);
    }
  }
  // The query's values are not echoed in errors: pin-value is a secret.
  for (const [name, raw] of pairs(query, '&', QUERY_ATTRIBUTES)) {
    const text = decode(raw, name, where).toString('utf8');
    if (name === 'module-path') uri.modulePath = text;
    else if (name === 'module-name') uri.moduleName = text;
    else if (name === 'pin-value') uri.pinValue = text;
    else if (name === 'pin-source') uri.pinSource = text.startsWith('file:') ? text.slice('file:'.length) : text;
  }
  if (uri.type !== undefined && !['private', 'public', 'cert'].includes(uri.type)) {
    throw new KeyError('KEY_INVALID', `${where}: type must be private, public or cert`);
  }
  if (uri.object.label === undefined && uri.object.id === undefined) {
    throw new KeyError('KEY_INVALID', `${where}: name the key with object=LABEL or id=%01…`);
  }
  return uri;
}

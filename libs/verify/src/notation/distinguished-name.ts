import { ASN1Obj } from '@sigstore/core';

/** One attribute of a relative distinguished name, e.g. `{ type: 'CN', value: 'e2e' }`. */
export interface DnAttribute {
  /** Short name (`C`, `ST`, `O`, ...) in upper case, or the dotted OID for other attribute types. */
  type: string;
  value: string;
}

/** A distinguished name in certificate order; each entry is one (possibly multi-valued) RDN. */
export type DistinguishedName = DnAttribute[][];

// The attribute types with short names in RFC 4514 and in the notation CLI's output; any other
// type is written and matched by its dotted OID.
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.17': 'POSTALCODE',
};

/** Parses a DER-encoded `Name` (the certificate subject or issuer SEQUENCE). */
export function dnFromDer(der: Buffer<ArrayBuffer>): DistinguishedName {
  const name = ASN1Obj.parseBuffer(der);
  return name.subs.map((rdn) =>
    rdn.subs.map((pair) => {
      const [oid, value] = pair.subs;
      if (!oid || !value) throw new Error('malformed AttributeTypeAndValue');
      const dotted = oid.toOID();
      return { type: SHORT_NAMES[dotted] ?? dotted, value: decodeDirectoryString(value) };
    }),
  );
}

function decodeDirectoryString(value: ASN1Obj): string {
  switch (value.tag.number) {
    case 0x1e: // BMPString: UTF-16 big-endian
      return Buffer.from(value.value).swap16().toString('utf16le');
    case 0x14: // TeletexString, treated as Latin-1 as most implementations do
      return value.value.toString('latin1');
    default: // UTF8String, PrintableString, IA5String, VisibleString
      return value.value.toString('utf8');
  }
}

/** RFC 4514 string in certificate order with `, ` separators, e.g. `C=US, ST=WA, O=Notary, CN=e2e`. */
export function formatDn(dn: DistinguishedName): string {
  return dn.map((rdn) => rdn.map((a) => `${a.type}=${escapeValue(a.value)}`).join('+')).join(', ');
}

function escapeValue(value: string): string {
  let out = value.replace(/[\\,+"<>;]/g, (c) => `\\${c}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * Parses the DN of a trusted identity (`C=US, ST=WA, O=Notary`): RDNs separated by `,` or `;`,
 * multi-valued RDNs joined by `+`, values escaped with `\c` or `\hh` as RFC 4514 and the Notary
 * Project trust policy specification describe. Throws on syntax errors.
 */
export function parseDn(text: string): DistinguishedName {
  const dn: DistinguishedName = [];
  let rdn: DnAttribute[] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`missing '=' after ${JSON.stringify(text.slice(i))}`);
    const type = text.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/.test(type)) {
      throw new Error(`invalid attribute type ${JSON.stringify(type)}`);
    }
    const { value, end } = readValue(text, eq + 1);
    rdn.push({ type: type.toUpperCase(), value });
    const sep = text[end];
    i = end + 1;
    if (sep !== '+') {
      dn.push(rdn);
      rdn = [];
    }
    if (sep !== undefined && i >= text.length) throw new Error('trailing separator');
  }
  if (rdn.length > 0) dn.push(rdn);
  return dn;
}

/** Reads one attribute value starting at `start`; `end` is the index of its separator (or the end). */
function readValue(text: string, start: number): { value: string; end: number } {
  const parts: { bytes: Buffer; escaped: boolean }[] = [];
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ',' || c === ';' || c === '+') break;
    if (c === '\\') {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        parts.push({ bytes: Buffer.from(hex, 'hex'), escaped: true });
        i += 3;
        continue;
      }
      const next = text[i + 1];
      if (next === undefined) throw new Error('dangling escape at end of value');
      parts.push({ bytes: Buffer.from(next, 'utf8'), escaped: true });
      i += 2;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    parts.push({ bytes: Buffer.from(ch, 'utf8'), escaped: false });
    i += ch.length;
  }
  // Unescaped spaces around a value are insignificant.
  const isPad = (p: { bytes: Buffer; escaped: boolean }) => !p.escaped && p.bytes.toString() === ' ';
  while (parts.length > 0 && isPad(parts[0]!)) parts.shift();
  while (parts.length > 0 && isPad(parts[parts.length - 1]!)) parts.pop();
  const first = parts[0];
  if (first && !first.escaped && first.bytes.toString() === '#') {
    throw new Error('hex-encoded (#) attribute values are not supported');
  }
  if (parts.length === 0) throw new Error('empty attribute value');
  return { value: Buffer.concat(parts.map((p) => p.bytes)).toString('utf8'), end: i };
}

/** Flattens a DN to attribute type -> value; throws when a type occurs more than once. */
export function dnAttributes(dn: DistinguishedName): Map<string, string> {
  const map = new Map<string, string>();
  for (const { type, value } of dn.flat()) {
    if (map.has(type)) throw new Error(`attribute ${type} occurs more than once`);
    map.set(type, value);
  }
  return map;
}

/**
 * True when every attribute of the trusted identity is present in the subject with the same value.
 * RDN order is irrelevant; attribute values compare exactly.
 */
export function isSubsetDn(identity: Map<string, string>, subject: Map<string, string>): boolean {
  for (const [type, value] of identity) {
    if (subject.get(type) !== value) return false;
  }
  return true;
}

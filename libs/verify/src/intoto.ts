/** in-toto statements (v0.1 and v1) and the DSSE envelopes that carry them. */
import { decodeBase64 } from './base64.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPES = [
  'https://in-toto.io/Statement/v0.1',
  'https://in-toto.io/Statement/v1',
] as const;

/**
 * DigestSet algorithms whose values are hex (in-toto DigestSet v1.1: the NIST hashes, `dirHash`, the
 * git object ids, v0.1's `goModuleH1`); matched case-insensitively. Other algorithms of the
 * generalised DigestSet (immutable identifiers of any shape) are kept exactly as given.
 */
const HEX_DIGESTS = new Set([
  'sha256',
  'sha224',
  'sha384',
  'sha512',
  'sha512_224',
  'sha512_256',
  'sha3_224',
  'sha3_256',
  'sha3_384',
  'sha3_512',
  'shake128',
  'shake256',
  'blake2b',
  'blake2s',
  'ripemd160',
  'sm3',
  'gost',
  'sha1',
  'md5',
  'dirHash',
  'gitCommit',
  'gitTree',
  'gitBlob',
  'gitTag',
  'goModuleH1',
]);

export interface StatementSubject {
  name?: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  type: string;
  predicateType: string;
  subjects: StatementSubject[];
  predicate: unknown;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid?: string; sig: Buffer }[];
}

/** Content that is not what it claims to be; the message says what is wrong. */
export class DocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentError';
  }
}

export function parseJsonDocument(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    throw new DocumentError(`${what} is not valid JSON`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseDsseEnvelope(bytes: Uint8Array): DsseEnvelope {
  const doc = parseJsonDocument(bytes, 'DSSE envelope');
  if (!isObject(doc) || typeof doc.payloadType !== 'string' || typeof doc.payload !== 'string') {
    throw new DocumentError('DSSE envelope needs payloadType and payload');
  }
  const payload = decodeBase64(doc.payload);
  if (!payload) throw new DocumentError('DSSE envelope payload is not valid base64');
  const sigs = Array.isArray(doc.signatures) ? doc.signatures : [];
  return {
    payloadType: doc.payloadType,
    payload,
    signatures: sigs.flatMap((s: unknown, i) => {
      if (!isObject(s)) return [];
      // A signature without `sig` is an empty one (refused where signatures are counted).
      const sig = s.sig === undefined ? Buffer.alloc(0) : decodeBase64(s.sig);
      if (!sig) throw new DocumentError(`DSSE envelope signatures[${i}].sig is not valid base64`);
      return [{ ...(typeof s.keyid === 'string' ? { keyid: s.keyid } : {}), sig }];
    }),
  };
}

/** Parses a statement; `_type` must be a known in-toto statement type. */
export function parseStatement(bytes: Uint8Array): InTotoStatement {
  return statementFromJson(parseJsonDocument(bytes, 'in-toto statement'));
}

export function statementFromJson(doc: unknown): InTotoStatement {
  if (!isObject(doc)) throw new DocumentError('in-toto statement is not a JSON object');
  const type = doc._type;
  if (typeof type !== 'string' || !(STATEMENT_TYPES as readonly string[]).includes(type)) {
    throw new DocumentError(`unknown in-toto statement type ${JSON.stringify(type ?? null)}`);
  }
  if (typeof doc.predicateType !== 'string' || doc.predicateType === '') {
    throw new DocumentError('in-toto statement has no predicateType');
  }
  if (!Array.isArray(doc.subject)) throw new DocumentError('in-toto statement has no subject list');
  const subjects = doc.subject.filter(isObject).map((s) => {
    const digest: Record<string, string> = {};
    if (isObject(s.digest)) {
      for (const [k, v] of Object.entries(s.digest)) {
        if (typeof v === 'string') digest[k] = HEX_DIGESTS.has(k) ? v.toLowerCase() : v;
      }
    }
    return { ...(typeof s.name === 'string' ? { name: s.name } : {}), digest };
  });
  return { type, predicateType: doc.predicateType, subjects, predicate: doc.predicate };
}

/** True when a subject carries `algorithm:hex` (an OCI digest) under the same algorithm. */
export function statementNames(statement: InTotoStatement, digest: string): boolean {
  const [algorithm, hex] = digest.split(':', 2);
  if (!algorithm || !hex) return false;
  return statement.subjects.some((s) => s.digest[algorithm] === hex.toLowerCase());
}

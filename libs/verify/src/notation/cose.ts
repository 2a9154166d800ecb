// Notation COSE envelopes (`application/cose`): COSE_Sign1_Tagged (RFC 9052) per the Notary Project
// COSE envelope specification.
import { VerificationFailure } from '../result.js';
import {
  CborError,
  CborTag,
  decodeCbor,
  encodeHead,
  isCborMap,
  type CborMap,
  type CborValue,
} from './cbor.js';
import {
  ALGORITHMS,
  checkCritical,
  checkSigningTimes,
  malformed,
  NOTARY_HEADER as H,
  NOTARY_PAYLOAD_MEDIA_TYPE,
  signingScheme,
  type NotaryEnvelope,
  type SignatureAlgorithm,
} from './envelope.js';

const COSE_SIGN1_TAG = 18;
/** CBOR tag 1: epoch-based date/time (RFC 8949 3.4.2). */
const EPOCH_TIME_TAG = 1;

const LABEL = {
  alg: 1,
  crit: 2,
  contentType: 3,
  x5chain: 33,
  /** COSE Hash Envelope (draft-ietf-cose-hash-envelope): the payload is a hash, not a descriptor. */
  payloadHashAlg: 258,
} as const;

const ALG_BY_LABEL = new Map<number, SignatureAlgorithm>(
  Object.entries(ALGORITHMS).map(([name, a]) => [a.coseLabel, name as SignatureAlgorithm]),
);

/**
 * Parses a COSE_Sign1_Tagged notation envelope and validates its headers. Does not verify the
 * signature. Hostile bytes fail as `bundle_malformed`; valid COSE that notation does not define
 * (a hash envelope, an unknown critical header) fails as `unsupported`.
 */
export function parseCoseEnvelope(bytes: Buffer): NotaryEnvelope {
  const top = decode(bytes, 'the envelope');
  if (!(top instanceof CborTag) || top.tag !== COSE_SIGN1_TAG) {
    malformed('the envelope is not a COSE_Sign1_Tagged item (CBOR tag 18)');
  }
  const parts = top.value;
  if (!Array.isArray(parts) || parts.length !== 4) malformed('COSE_Sign1 is not an array of four items');
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!Buffer.isBuffer(protectedBytes) || protectedBytes.length === 0) {
    malformed('the protected header is missing or empty');
  }
  if (!isCborMap(unprotected)) malformed('the unprotected header is not a map');
  if (payload === null) malformed('detached payloads are not used by notation envelopes');
  if (!Buffer.isBuffer(payload)) malformed('the payload is not a byte string');
  if (!Buffer.isBuffer(signature)) malformed('the signature is not a byte string');
  const header = decode(protectedBytes, 'the protected header');
  if (!isCborMap(header)) malformed('the protected header is not a map');
  for (const label of header.keys()) {
    if (unprotected.has(label)) malformed(`header ${String(label)} is both protected and unprotected`);
  }

  if (header.has(LABEL.payloadHashAlg) || unprotected.has(LABEL.payloadHashAlg)) {
    throw new VerificationFailure(
      'unsupported',
      'COSE Hash Envelopes (payload hash alg, label 258) are not supported; the payload must be a notation descriptor',
    );
  }
  const alg = ALG_BY_LABEL.get(header.get(LABEL.alg) as number);
  if (!alg) malformed(`unsupported or missing signature algorithm ${describe(header.get(LABEL.alg))}`);
  if (header.get(LABEL.contentType) !== NOTARY_PAYLOAD_MEDIA_TYPE) {
    malformed(`unsupported payload content type ${describe(header.get(LABEL.contentType))}`);
  }
  const scheme = signingScheme(header.get(H.signingScheme));
  const crit = header.get(LABEL.crit);
  if (!Array.isArray(crit) || !crit.every((c) => typeof c === 'string' || typeof c === 'number')) {
    malformed('the protected header has no crit list');
  }
  checkCritical(crit, {
    has: (name) => header.has(name),
    // RFC 9052 3.1 and the specification: crit never lists the labels 0-8.
    forbidden: (name) => typeof name === 'number' && name >= 0 && name <= 8,
  });

  const signingTime = optionalTime(header, H.signingTime);
  const authenticSigningTime = optionalTime(header, H.authenticSigningTime);
  checkSigningTimes(scheme, signingTime, authenticSigningTime);

  return {
    format: 'COSE',
    alg,
    signingScheme: scheme,
    signingTime,
    authenticSigningTime,
    expiry: optionalTime(header, H.expiry),
    certificates: certificateChain(header.get(LABEL.x5chain) ?? unprotected.get(LABEL.x5chain)),
    timestampToken: timestampToken(unprotected.get(H.timestampSignature)),
    toBeSigned: sigStructure(protectedBytes, payload),
    signature,
    payload: () => payload,
  };
}

/** `Sig_structure = ["Signature1", body_protected, external_aad = h'', payload]`, encoded. */
function sigStructure(protectedBytes: Buffer, payload: Buffer): Buffer {
  const context = Buffer.from('Signature1', 'utf8');
  return Buffer.concat([
    encodeHead(4, 4),
    encodeHead(3, context.length),
    context,
    encodeHead(2, protectedBytes.length),
    protectedBytes,
    encodeHead(2, 0),
    encodeHead(2, payload.length),
    payload,
  ]);
}

/** x5chain (RFC 9360): one bstr for a single certificate, else an array of bstr, leaf first. */
function certificateChain(value: CborValue): Buffer[] {
  if (Buffer.isBuffer(value)) return [value];
  if (!Array.isArray(value) || value.length === 0) malformed('the envelope has no x5chain certificate chain');
  return value.map((entry, i) => {
    if (!Buffer.isBuffer(entry) || entry.length === 0) malformed(`x5chain[${i}] is not a byte string`);
    return entry;
  });
}

function timestampToken(value: CborValue): Buffer | undefined {
  if (value === undefined) return undefined;
  if (!Buffer.isBuffer(value)) malformed(`${H.timestampSignature} is not a byte string`);
  return value;
}

/** An epoch-based date/time: tag 1 over an integer or a finite float, in seconds. */
function optionalTime(header: CborMap, name: string): Date | undefined {
  const value = header.get(name);
  if (value === undefined) return undefined;
  const seconds = value instanceof CborTag && value.tag === EPOCH_TIME_TAG ? value.value : undefined;
  const time = typeof seconds === 'number' && seconds >= 0 ? new Date(seconds * 1000) : undefined;
  if (!time || Number.isNaN(time.getTime())) malformed(`${name} is not an epoch-based date/time (tag 1)`);
  return time;
}

function decode(bytes: Buffer, what: string): CborValue {
  try {
    return decodeCbor(bytes);
  } catch (err) {
    if (err instanceof CborError) malformed(`${what} is not valid CBOR: ${err.message}`);
    throw err;
  }
}

function describe(value: CborValue): string {
  if (typeof value === 'string' || typeof value === 'number') return JSON.stringify(value);
  return value === undefined ? 'none' : 'of the wrong type';
}

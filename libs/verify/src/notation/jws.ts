// Notation JWS envelopes (`application/jose+json`): flattened JWS JSON serialization per the Notary
// Project JWS envelope specification.
import { decodeBase64Url as base64Url, decodePaddedBase64 } from '../base64.js';
import {
  ALGORITHMS,
  checkCritical,
  checkSigningTimes,
  isObject,
  malformed,
  NOTARY_HEADER as H,
  NOTARY_PAYLOAD_MEDIA_TYPE,
  parseJsonObject,
  signingScheme,
  type NotaryEnvelope,
  type SignatureAlgorithm,
} from './envelope.js';

/** Registered JWS headers; RFC 7515 forbids listing them in `crit`. */
const REGISTERED = new Set<string | number>([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
]);

/**
 * Parses a JWS JSON serialization (flattened) notation envelope and validates its headers per the
 * Notary Project JWS envelope specification. Does not verify the signature.
 */
export function parseJwsEnvelope(bytes: Buffer): NotaryEnvelope {
  const envelope = parseJsonObject(bytes.toString('utf8'), 'the envelope');
  if ('signatures' in envelope) malformed('general JWS JSON serialization is not used by notation envelopes');
  const protectedText = stringMember(envelope, 'protected');
  const payload = stringMember(envelope, 'payload');
  const signature = decodeBase64Url(stringMember(envelope, 'signature'), 'signature');
  const unprotected = envelope.header;
  if (!isObject(unprotected)) malformed('the envelope has no unprotected header');

  const header = parseJsonObject(
    decodeBase64Url(protectedText, 'protected header').toString('utf8'),
    'protected',
  );
  const alg = header.alg;
  if (typeof alg !== 'string' || !Object.hasOwn(ALGORITHMS, alg)) {
    malformed(`unsupported or missing signature algorithm ${JSON.stringify(alg)}`);
  }
  if (header.cty !== NOTARY_PAYLOAD_MEDIA_TYPE) {
    malformed(`unsupported payload content type ${JSON.stringify(header.cty)}`);
  }
  const scheme = signingScheme(header[H.signingScheme]);
  const crit = header.crit;
  if (!Array.isArray(crit) || !crit.every((c) => typeof c === 'string')) {
    malformed('the protected header has no crit list');
  }
  checkCritical(crit, {
    has: (name) => Object.hasOwn(header, name),
    forbidden: (name) => REGISTERED.has(name),
  });

  const signingTime = optionalTime(header, H.signingTime);
  const authenticSigningTime = optionalTime(header, H.authenticSigningTime);
  checkSigningTimes(scheme, signingTime, authenticSigningTime);

  return {
    format: 'JWS',
    alg: alg as SignatureAlgorithm,
    signingScheme: scheme,
    signingTime,
    authenticSigningTime,
    expiry: optionalTime(header, H.expiry),
    certificates: certificateChain(unprotected.x5c),
    timestampToken: timestampToken(unprotected[H.timestampSignature]),
    toBeSigned: Buffer.from(`${protectedText}.${payload}`, 'ascii'),
    signature,
    // Decoded only after the signature verified: a bad encoding then fails as a bad signature.
    payload: () => decodeBase64Url(payload, 'payload'),
  };
}

function certificateChain(x5c: unknown): Buffer[] {
  if (!Array.isArray(x5c) || x5c.length === 0)
    malformed('the unprotected header has no x5c certificate chain');
  return x5c.map((entry, i) => decodeBase64(entry, `x5c[${i}]`));
}

function timestampToken(value: unknown): Buffer | undefined {
  return value === undefined ? undefined : decodeBase64(value, H.timestampSignature);
}

/** Standard padded base64 (x5c and the timestamp token). */
function decodeBase64(value: unknown, what: string): Buffer {
  return decodePaddedBase64(value) ?? malformed(`${what} is not base64 DER`);
}

/** JWS parts are unpadded base64url. */
function decodeBase64Url(text: string, what: string): Buffer {
  return base64Url(text) ?? malformed(`${what} is not base64url`);
}

function optionalTime(header: Record<string, unknown>, name: string): Date | undefined {
  const value = header[name];
  if (value === undefined) return undefined;
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
  const time = typeof value === 'string' && rfc3339.test(value) ? new Date(value) : undefined;
  if (!time || Number.isNaN(time.getTime())) malformed(`${name} is not an RFC 3339 time`);
  return time;
}

function stringMember(object: Record<string, unknown>, name: string): string {
  const value = object[name];
  if (typeof value !== 'string') malformed(`the envelope has no ${name} string`);
  return value;
}

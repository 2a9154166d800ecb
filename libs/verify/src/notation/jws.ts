import { constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { VerificationFailure } from '../result.js';

export const NOTARY_PAYLOAD_MEDIA_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

const H = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

const ALGORITHMS = {
  PS256: { hash: 'sha256', family: 'rsa' },
  PS384: { hash: 'sha384', family: 'rsa' },
  PS512: { hash: 'sha512', family: 'rsa' },
  ES256: { hash: 'sha256', family: 'ec' },
  ES384: { hash: 'sha384', family: 'ec' },
  ES512: { hash: 'sha512', family: 'ec' },
} as const;

export type JwsAlgorithm = keyof typeof ALGORITHMS;
export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

/** Headers a verifier must understand when marked critical; anything else critical is refused. */
const UNDERSTOOD_CRITICAL = new Set<string>([H.signingScheme, H.authenticSigningTime, H.expiry]);
/** Registered JWS headers; RFC 7515 forbids listing them in `crit`. */
const REGISTERED = new Set([
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

export interface JwsEnvelope {
  alg: JwsAlgorithm;
  signingScheme: SigningScheme;
  /** Signer-asserted signing time (`notary.x509`). */
  signingTime?: Date;
  /** Signing time asserted by the signing authority (`notary.x509.signingAuthority`). */
  authenticSigningTime?: Date;
  expiry?: Date;
  /** DER certificates from `x5c`, signing certificate first. */
  certificates: Buffer[];
  /** An RFC 3161 countersignature is attached (not evaluated by this verifier). */
  timestamped: boolean;
  /** `BASE64URL(protected) '.' BASE64URL(payload)` exactly as carried in the envelope. */
  signingInput: Buffer;
  signature: Buffer;
  /** The payload member as carried (base64url text). */
  payload: string;
}

export interface TargetArtifact {
  digest: string;
  mediaType: string;
  size: number;
}

/**
 * Parses a JWS JSON serialization (flattened) notation envelope and validates its headers per the
 * Notary Project JWS envelope specification. Does not verify the signature.
 */
export function parseJwsEnvelope(bytes: Buffer): JwsEnvelope {
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
  if (typeof alg !== 'string' || !(alg in ALGORITHMS)) {
    malformed(`unsupported or missing signature algorithm ${JSON.stringify(alg)}`);
  }
  if (header.cty !== NOTARY_PAYLOAD_MEDIA_TYPE) {
    malformed(`unsupported payload content type ${JSON.stringify(header.cty)}`);
  }
  const scheme = header[H.signingScheme];
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority') {
    malformed(`unsupported signing scheme ${JSON.stringify(scheme)}`);
  }
  checkCritical(header);

  const signingTime = optionalTime(header, H.signingTime);
  const authenticSigningTime = optionalTime(header, H.authenticSigningTime);
  if (scheme === 'notary.x509' && !signingTime) malformed(`${H.signingTime} is required by notary.x509`);
  if (scheme === 'notary.x509.signingAuthority' && !authenticSigningTime) {
    malformed(`${H.authenticSigningTime} is required by notary.x509.signingAuthority`);
  }

  return {
    alg: alg as JwsAlgorithm,
    signingScheme: scheme,
    signingTime,
    authenticSigningTime,
    expiry: optionalTime(header, H.expiry),
    certificates: certificateChain(unprotected.x5c),
    timestamped: unprotected[H.timestampSignature] !== undefined,
    signingInput: Buffer.from(`${protectedText}.${payload}`, 'ascii'),
    signature,
    payload,
  };
}

function checkCritical(header: Record<string, unknown>): void {
  const crit = header.crit;
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) {
    malformed('the protected header has no crit list');
  }
  const names = crit;
  if (new Set(names).size !== names.length) malformed('crit lists a header more than once');
  for (const name of names) {
    if (REGISTERED.has(name)) malformed(`crit must not list the registered header ${name}`);
    if (!(name in header)) malformed(`crit lists ${name}, which is not in the protected header`);
  }
  for (const required of [H.signingScheme, H.authenticSigningTime, H.expiry, H.verificationPlugin]) {
    if (required in header && !names.includes(required)) malformed(`${required} must be marked critical`);
  }
  if (H.verificationPlugin in header || H.verificationPluginMinVersion in header) {
    throw new VerificationFailure(
      'unsupported',
      `the signature requires the verification plugin ${JSON.stringify(header[H.verificationPlugin])}, which this verifier does not run`,
    );
  }
  const unknown = names.filter((name) => !UNDERSTOOD_CRITICAL.has(name));
  if (unknown.length > 0) {
    throw new VerificationFailure('unsupported', `unknown critical header(s): ${unknown.join(', ')}`);
  }
}

function certificateChain(x5c: unknown): Buffer[] {
  if (!Array.isArray(x5c) || x5c.length === 0)
    malformed('the unprotected header has no x5c certificate chain');
  return x5c.map((entry, i) => {
    if (typeof entry !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(entry) || entry.length % 4 !== 0) {
      malformed(`x5c[${i}] is not base64 DER`);
    }
    return Buffer.from(entry, 'base64');
  });
}

/** The JWS algorithm the specification assigns to a signing key, or undefined for other keys. */
export function algorithmForKey(key: KeyObject): JwsAlgorithm | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as const)[details.modulusLength ?? 0];
  }
  if (key.asymmetricKeyType === 'ec') {
    const byCurve: Record<string, JwsAlgorithm> = {
      prime256v1: 'ES256',
      secp384r1: 'ES384',
      secp521r1: 'ES512',
    };
    return byCurve[details.namedCurve ?? ''];
  }
  return undefined;
}

export function verifyJwsSignature(envelope: JwsEnvelope, key: KeyObject): boolean {
  const { hash, family } = ALGORITHMS[envelope.alg];
  try {
    return family === 'rsa'
      ? cryptoVerify(
          hash,
          envelope.signingInput,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          envelope.signature,
        )
      : cryptoVerify(hash, envelope.signingInput, { key, dsaEncoding: 'ieee-p1363' }, envelope.signature);
  } catch {
    return false;
  }
}

/** Decodes the payload; call only after the signature verified. */
export function decodePayload(envelope: JwsEnvelope): TargetArtifact {
  const payload = parseJsonObject(decodeBase64Url(envelope.payload, 'payload').toString('utf8'), 'payload');
  const target = payload.targetArtifact;
  if (!isObject(target)) malformed('the payload has no targetArtifact');
  const { digest, mediaType, size } = target;
  if (typeof digest !== 'string' || typeof mediaType !== 'string' || !Number.isSafeInteger(size)) {
    malformed('targetArtifact needs a digest, a mediaType and an integer size');
  }
  return { digest, mediaType, size: size as number };
}

function decodeBase64Url(text: string, what: string): Buffer {
  // Buffer.from ignores stray characters and padding; JWS requires unpadded base64url.
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) malformed(`${what} is not base64url`);
  return Buffer.from(text, 'base64url');
}

function optionalTime(header: Record<string, unknown>, name: string): Date | undefined {
  const value = header[name];
  if (value === undefined) return undefined;
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
  const time = typeof value === 'string' && rfc3339.test(value) ? new Date(value) : undefined;
  if (!time || Number.isNaN(time.getTime())) malformed(`${name} is not an RFC 3339 time`);
  return time;
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    malformed(`${what} is not JSON`);
  }
  if (!isObject(value)) malformed(`${what} is not a JSON object`);
  return value;
}

function stringMember(object: Record<string, unknown>, name: string): string {
  const value = object[name];
  if (typeof value !== 'string') malformed(`the envelope has no ${name} string`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(message: string): never {
  throw new VerificationFailure('bundle_malformed', message);
}

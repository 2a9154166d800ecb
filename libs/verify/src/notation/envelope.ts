// What the JWS and COSE notation envelopes have in common: the signed attributes they carry, the
// rules on critical headers and signing schemes, the signature algorithms, and the payload.
import { constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { VerificationFailure } from '../result.js';

export const NOTARY_PAYLOAD_MEDIA_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

/** Header names shared by both envelope formats (Notary Project signature specification). */
export const NOTARY_HEADER = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

/** The algorithms the specification allows, with their COSE `alg` labels. */
export const ALGORITHMS = {
  PS256: { hash: 'sha256', family: 'rsa', coseLabel: -37 },
  PS384: { hash: 'sha384', family: 'rsa', coseLabel: -38 },
  PS512: { hash: 'sha512', family: 'rsa', coseLabel: -39 },
  ES256: { hash: 'sha256', family: 'ec', coseLabel: -7 },
  ES384: { hash: 'sha384', family: 'ec', coseLabel: -35 },
  ES512: { hash: 'sha512', family: 'ec', coseLabel: -36 },
} as const;

export type SignatureAlgorithm = keyof typeof ALGORITHMS;
export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

/** A parsed envelope of either format; the signature is not verified yet. */
export interface NotaryEnvelope {
  format: 'JWS' | 'COSE';
  alg: SignatureAlgorithm;
  signingScheme: SigningScheme;
  /** Signer-asserted signing time (`notary.x509`). */
  signingTime?: Date;
  /** Signing time asserted by the signing authority (`notary.x509.signingAuthority`). */
  authenticSigningTime?: Date;
  expiry?: Date;
  /** DER certificates, signing certificate first. */
  certificates: Buffer[];
  /** DER RFC 3161 TimeStampToken over `signature`, when the envelope carries one. */
  timestampToken?: Buffer;
  /** The exact bytes the signature is over (JWS signing input, COSE Sig_structure). */
  toBeSigned: Buffer;
  /** The signature value (ECDSA as raw r||s); also what a timestamp countersigns. */
  signature: Buffer;
  /** The payload bytes (a JSON document); read only after the signature verified. */
  payload: () => Buffer;
}

export interface TargetArtifact {
  digest: string;
  mediaType: string;
  size: number;
}

/** Headers a verifier must understand when marked critical; anything else critical is refused. */
const UNDERSTOOD_CRITICAL = new Set<string | number>([
  NOTARY_HEADER.signingScheme,
  NOTARY_HEADER.authenticSigningTime,
  NOTARY_HEADER.expiry,
]);

/** Headers that must be listed in `crit` whenever they are present. */
const MUST_BE_CRITICAL = [
  NOTARY_HEADER.signingScheme,
  NOTARY_HEADER.authenticSigningTime,
  NOTARY_HEADER.expiry,
  NOTARY_HEADER.verificationPlugin,
];

export interface CriticalRules {
  /** Whether the protected header has this parameter. */
  has: (name: string | number) => boolean;
  /** Names the format forbids in `crit` (JWS registered headers, COSE labels 0-8). */
  forbidden: (name: string | number) => boolean;
}

/** Checks `crit` per the specification; unknown critical headers and plugins are unsupported. */
export function checkCritical(names: readonly (string | number)[], rules: CriticalRules): void {
  if (names.length === 0) malformed('the protected header has no crit list');
  if (new Set(names).size !== names.length) malformed('crit lists a header more than once');
  for (const name of names) {
    if (rules.forbidden(name)) malformed(`crit must not list the header ${String(name)}`);
    if (!rules.has(name)) malformed(`crit lists ${String(name)}, which is not in the protected header`);
  }
  for (const required of MUST_BE_CRITICAL) {
    if (rules.has(required) && !names.includes(required)) malformed(`${required} must be marked critical`);
  }
  if (rules.has(NOTARY_HEADER.verificationPlugin) || rules.has(NOTARY_HEADER.verificationPluginMinVersion)) {
    throw new VerificationFailure(
      'unsupported',
      'the signature requires a verification plugin, which this verifier does not run',
    );
  }
  const unknown = names.filter((name) => !UNDERSTOOD_CRITICAL.has(name));
  if (unknown.length > 0) {
    throw new VerificationFailure('unsupported', `unknown critical header(s): ${unknown.join(', ')}`);
  }
}

export function signingScheme(value: unknown): SigningScheme {
  if (value !== 'notary.x509' && value !== 'notary.x509.signingAuthority') {
    malformed(`unsupported signing scheme ${JSON.stringify(value)}`);
  }
  return value;
}

/** Each scheme requires its own signing-time attribute. */
export function checkSigningTimes(
  scheme: SigningScheme,
  signingTime: Date | undefined,
  authenticSigningTime: Date | undefined,
): void {
  if (scheme === 'notary.x509' && !signingTime) {
    malformed(`${NOTARY_HEADER.signingTime} is required by notary.x509`);
  }
  if (scheme === 'notary.x509.signingAuthority' && !authenticSigningTime) {
    malformed(`${NOTARY_HEADER.authenticSigningTime} is required by notary.x509.signingAuthority`);
  }
}

/** The algorithm the specification assigns to a signing key, or undefined for other keys. */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as const)[details.modulusLength ?? 0];
  }
  if (key.asymmetricKeyType === 'ec') {
    const byCurve: Record<string, SignatureAlgorithm> = {
      prime256v1: 'ES256',
      secp384r1: 'ES384',
      secp521r1: 'ES512',
    };
    return byCurve[details.namedCurve ?? ''];
  }
  return undefined;
}

/** RSASSA-PSS (salt length = hash length) or ECDSA with a raw r||s signature, per `alg`. */
export function verifyEnvelopeSignature(envelope: NotaryEnvelope, key: KeyObject): boolean {
  const { hash, family } = ALGORITHMS[envelope.alg];
  try {
    return family === 'rsa'
      ? cryptoVerify(
          hash,
          envelope.toBeSigned,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          envelope.signature,
        )
      : cryptoVerify(hash, envelope.toBeSigned, { key, dsaEncoding: 'ieee-p1363' }, envelope.signature);
  } catch {
    return false;
  }
}

/** Decodes the payload; call only after the signature verified. */
export function decodePayload(envelope: NotaryEnvelope): TargetArtifact {
  const payload = parseJsonObject(envelope.payload().toString('utf8'), 'payload');
  const target = payload.targetArtifact;
  if (!isObject(target)) malformed('the payload has no targetArtifact');
  const { digest, mediaType, size } = target;
  if (typeof digest !== 'string' || typeof mediaType !== 'string' || !Number.isSafeInteger(size)) {
    malformed('targetArtifact needs a digest, a mediaType and an integer size');
  }
  return { digest, mediaType, size: size as number };
}

export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    malformed(`${what} is not JSON`);
  }
  if (!isObject(value)) malformed(`${what} is not a JSON object`);
  return value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function malformed(message: string): never {
  throw new VerificationFailure('bundle_malformed', message);
}

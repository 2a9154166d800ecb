import {
  VerificationFailure,
  failed,
  type FailureReason,
  type SignerFacts,
  type VerificationResult,
} from '../result.js';
import {
  assertValidAt,
  findTrustAnchor,
  parseCertificate,
  parseTrustStore,
  validateChain,
  type ChainCertificate,
} from './certificates.js';
import { dnAttributes, formatDn, isSubsetDn, parseDn } from './distinguished-name.js';
import { parseCoseEnvelope } from './cose.js';
import { algorithmForKey, decodePayload, verifyEnvelopeSignature, type NotaryEnvelope } from './envelope.js';
import { parseJwsEnvelope } from './jws.js';
import { verifyTimestampToken } from './timestamp.js';

export const NOTATION_JWS_MEDIA_TYPE = 'application/jose+json';
export const NOTATION_COSE_MEDIA_TYPE = 'application/cose';

export interface NotationTrust {
  /** PEM certificates (contents, not paths); an entry may hold several. */
  trustStore: string[];
  /** `x509.subject: C=US, ST=WA, O=...` entries (each naming at least C, ST and O), or `['*']`. */
  trustedIdentities: string[];
  /** PEM TSA root certificates (`tsa` trust store). RFC 3161 countersignatures are verified only when given. */
  tsaTrustStore?: string[];
  /**
   * `always` (the default): with a TSA store, every `notary.x509` signature needs a verified
   * timestamp. `afterCertExpiry`: only once a certificate of the signing chain has expired.
   */
  verifyTimestamp?: 'always' | 'afterCertExpiry';
}

export interface NotationInput {
  envelope: Buffer;
  /** The envelope layer's media type: `application/jose+json` or `application/cose`. */
  envelopeMediaType: string;
  /** The signed manifest's descriptor; the payload's targetArtifact must name it. */
  subject: { digest: string; mediaType: string; size: number };
  trust: NotationTrust;
  /** Verification time; defaults to the current time. */
  now?: Date;
}

/**
 * The result vocabulary has no notation-specific codes; these are the shared codes used for each
 * outcome (kept in one place so a finer code can replace one without touching the checks).
 */
const REASON = {
  signatureExpired: 'certificate_time_invalid',
  identityNotTrusted: 'identity_mismatch',
  notInTrustStore: 'certificate_untrusted',
} as const satisfies Record<string, FailureReason>;

/**
 * Verifies a Notary Project signature envelope against a trust store and trusted identities.
 * Pure (no I/O) and never throws; every failure carries a stable reason code.
 *
 * Order (Notary Project trust policy specification, strict level): integrity (envelope, headers,
 * algorithm bound to the signing key, signature), binding to the subject, authenticity (chain,
 * certificate requirements, trust store, trusted identities), expiry, then certificate validity
 * time. Revocation (OCSP/CRL) is not checked: it needs the network.
 *
 * Validity time: for `notary.x509` with a TSA trust store (and, under `afterCertExpiry`, once a
 * certificate of the chain has expired), the envelope's RFC 3161 timestamp must verify and the
 * chain must be valid over the whole timestamp range (genTime ± accuracy): a verified timestamp is
 * what lets a signature outlive its certificate. Otherwise every certificate of the chain must be
 * valid at `now`. For `notary.x509.signingAuthority` the chain must be valid at the authentic
 * signing time the signing authority asserted; timestamps are not used.
 */
export function verifyNotationEnvelope(input: NotationInput): VerificationResult {
  const facts: SignerFacts = {};
  try {
    return run(input, facts);
  } catch (err) {
    if (err instanceof VerificationFailure) return failed(err.reason, err.message, facts);
    return failed('internal_error', `unexpected error during notation verification: ${String(err)}`, facts);
  }
}

function run(input: NotationInput, facts: SignerFacts): VerificationResult {
  const now = input.now ?? new Date();
  const trust = resolveTrust(input.trust);
  const envelope = parseEnvelope(input);

  // Integrity: the signature over protected.payload with the signing certificate's key.
  const chain = envelope.certificates.map((der, i) => parseCertificate(der, `x5c[${i}]`));
  const signer = chain[0]!;
  const key = signer.x509.publicKey;
  const expected = algorithmForKey(key);
  if (!expected) {
    throw new VerificationFailure('unsupported', `unsupported signing key ${describeKey(signer)}`);
  }
  if (expected !== envelope.alg) {
    throw new VerificationFailure(
      'signature_invalid',
      `algorithm ${envelope.alg} does not match the ${describeKey(signer)} signing key, which requires ${expected}`,
    );
  }
  if (!verifyEnvelopeSignature(envelope, key)) {
    throw new VerificationFailure(
      'signature_invalid',
      'the signature does not verify with the signing certificate key',
    );
  }
  facts.identity = formatDn(signer.subject);

  const target = decodePayload(envelope);
  const { subject } = input;
  if (
    target.digest !== subject.digest ||
    target.mediaType !== subject.mediaType ||
    target.size !== subject.size
  ) {
    throw new VerificationFailure(
      'artifact_mismatch',
      `the signature is over ${target.mediaType} ${target.digest} (${target.size} bytes), not ${subject.mediaType} ${subject.digest} (${subject.size} bytes)`,
    );
  }

  // Authenticity.
  validateChain(chain);
  const root = chain[chain.length - 1]!;
  facts.issuer = formatDn(root.subject);
  const anchor = findTrustAnchor(chain, trust.store);
  if (!anchor) {
    throw new VerificationFailure(
      REASON.notInTrustStore,
      `the certificate chain (root ${facts.issuer}) does not lead to a certificate in the trust store`,
    );
  }
  assertTrustedIdentity(signer, trust.identities);

  // Expiry: the artifact is expired when now >= expiry.
  if (envelope.expiry && now >= envelope.expiry) {
    throw new VerificationFailure(
      REASON.signatureExpired,
      `the signature expired at ${envelope.expiry.toISOString()} (expiry header)`,
    );
  }

  const validity = checkValidityTime(envelope, chain, trust, now);

  return {
    status: 'verified',
    reason: 'verified',
    message: `notation ${envelope.format} signature verified (${envelope.signingScheme}, ${envelope.alg}); chain to trusted ${formatDn(anchor.subject)}; ${validity}`,
    ...facts,
  };
}

/**
 * Checks the chain's validity time per the signing scheme and the timestamp policy; returns what
 * it was checked against, for the result message.
 */
function checkValidityTime(
  envelope: NotaryEnvelope,
  chain: readonly ChainCertificate[],
  trust: ResolvedTrust,
  now: Date,
): string {
  if (envelope.signingScheme === 'notary.x509.signingAuthority') {
    assertValidAt(chain, envelope.authenticSigningTime!, 'the authentic signing time');
    return `valid at the authentic signing time ${envelope.authenticSigningTime!.toISOString()}`;
  }
  const expiredNow = chain.some((cert) => now > cert.asn1.notAfter);
  const wanted = trust.tsaStore !== undefined && (trust.verifyTimestamp === 'always' || expiredNow);
  if (!wanted) {
    const when = trust.tsaStore
      ? 'verification time'
      : 'verification time (no tsa trust store: timestamps not evaluated)';
    assertValidAt(chain, now, when);
    return `valid at ${now.toISOString()}`;
  }
  if (!envelope.timestampToken) {
    throw new VerificationFailure(
      'timestamp_invalid',
      'no timestamp countersignature was found, and the trust policy requires one',
    );
  }
  const stamp = verifyTimestampToken(envelope.timestampToken, envelope.signature, trust.tsaStore!);
  const range = `${stamp.lower.toISOString()}..${stamp.upper.toISOString()}`;
  assertValidAt(chain, stamp.lower, `the timestamp range ${range}, lower limit`);
  assertValidAt(chain, stamp.upper, `the timestamp range ${range}, upper limit`);
  return `timestamped ${stamp.genTime.toISOString()} by ${stamp.tsa}`;
}

function parseEnvelope(input: NotationInput): NotaryEnvelope {
  switch (input.envelopeMediaType) {
    case NOTATION_JWS_MEDIA_TYPE:
      return parseJwsEnvelope(input.envelope);
    case NOTATION_COSE_MEDIA_TYPE:
      return parseCoseEnvelope(input.envelope);
    default:
      throw new VerificationFailure(
        'bundle_malformed',
        `${JSON.stringify(input.envelopeMediaType)} is not a notation signature envelope media type`,
      );
  }
}

interface ResolvedTrust {
  store: ReturnType<typeof parseTrustStore>;
  /** `undefined` for `*` (any identity that chains to the store). */
  identities: Map<string, string>[] | undefined;
  /** `undefined` when no `tsa` store is configured: timestamps are then not evaluated. */
  tsaStore: ReturnType<typeof parseTrustStore> | undefined;
  verifyTimestamp: 'always' | 'afterCertExpiry';
}

function resolveTrust(trust: NotationTrust | undefined): ResolvedTrust {
  if (!trust || trust.trustStore.length === 0) {
    throw new VerificationFailure('policy_missing', 'no notation trust store was given');
  }
  if (trust.trustedIdentities.length === 0) {
    throw new VerificationFailure(
      'policy_missing',
      'no trusted identities were given (use "*" to trust any signer)',
    );
  }
  const store = parseTrustStore(trust.trustStore);
  const tsa = {
    tsaStore: trust.tsaTrustStore?.length
      ? parseTrustStore(trust.tsaTrustStore, 'tsa trust store')
      : undefined,
    verifyTimestamp: trust.verifyTimestamp ?? 'always',
  };
  if (tsa.verifyTimestamp !== 'always' && tsa.verifyTimestamp !== 'afterCertExpiry') {
    throw new VerificationFailure(
      'policy_invalid',
      `verifyTimestamp ${JSON.stringify(tsa.verifyTimestamp)} is not always or afterCertExpiry`,
    );
  }
  if (trust.trustedIdentities.includes('*')) {
    if (trust.trustedIdentities.length > 1) {
      throw new VerificationFailure('policy_invalid', 'the wildcard "*" must be the only trusted identity');
    }
    return { store, identities: undefined, ...tsa };
  }
  return { store, identities: trust.trustedIdentities.map(parseTrustedIdentity), ...tsa };
}

const X509_SUBJECT = 'x509.subject:';

function parseTrustedIdentity(identity: string): Map<string, string> {
  if (!identity.startsWith(X509_SUBJECT)) {
    throw new VerificationFailure(
      'policy_invalid',
      `trusted identity ${JSON.stringify(identity)} is not "x509.subject: <DN>"`,
    );
  }
  let attributes: Map<string, string>;
  try {
    attributes = dnAttributes(parseDn(identity.slice(X509_SUBJECT.length)));
  } catch (err) {
    throw new VerificationFailure(
      'policy_invalid',
      `trusted identity ${JSON.stringify(identity)}: ${errorText(err)}`,
    );
  }
  const missing = ['C', 'ST', 'O'].filter((type) => !attributes.has(type));
  if (missing.length > 0) {
    throw new VerificationFailure(
      'policy_invalid',
      `trusted identity ${JSON.stringify(identity)} must name C, ST and O (missing ${missing.join(', ')})`,
    );
  }
  return attributes;
}

function assertTrustedIdentity(
  signer: ChainCertificate,
  identities: Map<string, string>[] | undefined,
): void {
  if (!identities) return;
  const subject = formatDn(signer.subject);
  let attributes: Map<string, string>;
  try {
    attributes = dnAttributes(signer.subject);
  } catch (err) {
    throw new VerificationFailure(
      REASON.identityNotTrusted,
      `the signing certificate subject ${subject} cannot be matched: ${errorText(err)}`,
    );
  }
  if (!identities.some((identity) => isSubsetDn(identity, attributes))) {
    throw new VerificationFailure(
      REASON.identityNotTrusted,
      `the signing certificate subject ${subject} matches no trusted identity`,
    );
  }
}

function describeKey(cert: ChainCertificate): string {
  const key = cert.x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const size = details.modulusLength ?? details.namedCurve ?? '';
  return `${key.asymmetricKeyType ?? 'unknown'}${size ? `-${size}` : ''}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Stable reason codes. They are stored with every verification result and returned to policy
 * engines, so existing codes never change meaning; new ones may be added.
 */
export const FAILURE_REASONS = [
  /** No policy was given, or it names neither an identity nor a key: nothing to pin trust to. */
  'policy_missing',
  /** The policy cannot be used as given (unparsable public key, invalid regular expression). */
  'policy_invalid',
  /** The trusted root is malformed or incomplete (e.g. a key validity period without a start). */
  'trust_root_invalid',
  /** Not JSON, not a known bundle media type, or a structurally invalid bundle. */
  'bundle_malformed',
  /** The bundle does not cover this artifact (digest or in-toto subject does not match). */
  'artifact_mismatch',
  /** The signing certificate does not chain to a trusted CA, or its SCT does not verify. */
  'certificate_untrusted',
  /** The signing certificate was not valid at the signed (logged or timestamped) time. */
  'certificate_time_invalid',
  /** The signature does not verify over the artifact or envelope with the signing key. */
  'signature_invalid',
  /** Transparency log evidence is missing, does not verify, or does not match the bundle. */
  'tlog_invalid',
  /** An RFC 3161 timestamp is missing where required, untrusted, or does not match. */
  'timestamp_invalid',
  /** The certificate's subject (SAN) does not match the policy's identity. */
  'identity_mismatch',
  /** The certificate's OIDC issuer does not match the policy's issuer. */
  'issuer_mismatch',
  /** The policy pins a key that did not make this signature, or the bundle names no usable key. */
  'key_mismatch',
  /** Valid input this engine cannot verify (e.g. a digest-only artifact with an Ed25519 key). */
  'unsupported',
  /** An unexpected error inside the engine; never a verified result. */
  'internal_error',
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];

/** What is known about the signer; filled as far as verification got. */
export interface SignerFacts {
  /** Certificate subject alternative name (URI or email). */
  identity?: string;
  /** OIDC issuer from the Fulcio certificate extension. */
  issuer?: string;
  /** Key hint of a key-signed bundle. */
  keyId?: string;
  /** Log index of the first transparency log entry (int64 as a decimal string). */
  tlogIndex?: string;
  /** Rekor integrated time (RFC 3339); absent for Rekor v2 entries, which carry none. */
  integratedTime?: string;
}

export type VerificationResult =
  | ({ status: 'verified'; reason: 'verified'; message: string } & SignerFacts)
  | ({ status: 'failed'; reason: FailureReason; message: string } & SignerFacts);

/** A failure raised inside the engine; converted to a `failed` result at the boundary. */
export class VerificationFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VerificationFailure';
  }
}

export function failed(reason: FailureReason, message: string, facts: SignerFacts = {}): VerificationResult {
  return { status: 'failed', reason, message, ...facts };
}

// Whether a verified envelope is a signature over its subject or an attestation about it.
import { COSIGN_SIGN_PREDICATE } from '#oci';
import { decodeBase64 } from './base64.js';
import { IN_TOTO_PAYLOAD_TYPE } from './intoto.js';
import type { LayerAction } from './plan.js';

/**
 * `signature`: a signature over the subject — cosign simplesigning, Sigstore message-signature
 * bundles, notation, and DSSE envelopes whose in-toto predicate is cosign v3's sign predicate.
 * `attestation`: a DSSE envelope carrying any other in-toto statement (cosign `.att`, attestation
 * bundles, GitHub attestations). Only signatures meet a signature requirement.
 */
export type SignatureKind = 'signature' | 'attestation';

/**
 * The kind of one signature layer, read from the signed bytes (a DSSE signature covers payload
 * type and payload), never from annotations — except when the bytes could not be read at all: the
 * row is then a failure whatever its kind, and `declaredPredicateType` only labels it.
 */
export function signatureKindOf(
  action: LayerAction,
  blob: Buffer | null,
  declaredPredicateType?: string,
): SignatureKind {
  const declared = (): SignatureKind =>
    declaredPredicateType === undefined || declaredPredicateType === COSIGN_SIGN_PREDICATE
      ? 'signature'
      : 'attestation';
  switch (action) {
    case 'cosign-simplesigning':
    case 'notation-jws':
    case 'notation-cose':
      return 'signature';
    case 'cosign-dsse': {
      const doc = blob ? json(blob) : undefined;
      if (doc === undefined)
        return declaredPredicateType === COSIGN_SIGN_PREDICATE ? 'signature' : 'attestation';
      return envelopeKind(doc);
    }
    case 'sigstore-bundle': {
      const doc = blob ? json(blob) : undefined;
      if (!isObject(doc)) return declared();
      if (isObject(doc.messageSignature)) return 'signature';
      if (isObject(doc.dsseEnvelope)) return envelopeKind(doc.dsseEnvelope);
      return declared();
    }
    case 'in-toto':
    case 'sbom':
    case 'vulnerability':
      // Unsigned statements and documents: never a signature.
      return 'attestation';
  }
}

/** A DSSE envelope is a signature only when it carries an in-toto statement with the sign predicate. */
function envelopeKind(envelope: unknown): SignatureKind {
  if (!isObject(envelope) || envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return 'attestation';
  // A payload that is not base64 carries no statement (its verification fails as malformed).
  const payload = decodeBase64(envelope.payload);
  if (!payload) return 'attestation';
  const statement = json(payload);
  return isObject(statement) && statement.predicateType === COSIGN_SIGN_PREDICATE
    ? 'signature'
    : 'attestation';
}

function json(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

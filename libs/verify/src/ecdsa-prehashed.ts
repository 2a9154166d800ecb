import type { KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';

/**
 * ECDSA verification over a message digest (FIPS 186-4 §6.4.2). node:crypto only verifies over a
 * message it hashes itself, but a digest-only artifact (an OCI digest) leaves nothing to hash, so
 * the curve arithmetic is @noble/curves' (audited) with `prehash: false`.
 */

const CURVES = { 'P-256': p256, 'P-384': p384, 'P-521': p521 } as const;

/** True when `signatureDer` (ASN.1 ECDSA-Sig-Value) is valid for `digest` under `key`. */
export function verifyEcdsaPrehashed(key: KeyObject, digest: Uint8Array, signatureDer: Uint8Array): boolean {
  if (key.asymmetricKeyType !== 'ec') return false;
  const jwk = key.export({ format: 'jwk' });
  const curve =
    jwk.crv && Object.hasOwn(CURVES, jwk.crv) ? CURVES[jwk.crv as keyof typeof CURVES] : undefined;
  if (!curve || !jwk.x || !jwk.y) return false;
  // SEC 1 uncompressed point; JWK coordinates are padded to the field size (RFC 7518 §6.2.1.2).
  const point = Buffer.concat([
    Buffer.of(0x04),
    Buffer.from(jwk.x, 'base64url'),
    Buffer.from(jwk.y, 'base64url'),
  ]);
  try {
    // lowS: false — ECDSA as signed by cosign, Go and OpenSSL does not normalise s.
    return curve.verify(Uint8Array.from(signatureDer), Uint8Array.from(digest), point, {
      prehash: false,
      format: 'der',
      lowS: false,
    });
  } catch {
    // Malformed DER or a point off the curve: not a valid signature.
    return false;
  }
}

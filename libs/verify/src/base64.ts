// The base64 forms of the documents refgraph verifies, checked before they are decoded:
// Buffer.from(text, 'base64') skips every character outside the alphabet (and stray padding), so a
// corrupted value would decode to whatever bytes survive and be parsed, verified or recorded as if
// those were the bytes that were signed. Each decoder answers undefined for a value not of its form.

const ANY_ALPHABET_RE = /^([A-Za-z0-9+/_-]*)(={0,2})$/;

/**
 * Standard or URL-safe alphabet (not both in one value), padding optional but right when present,
 * line breaks tolerated: protobuf JSON `bytes` (Sigstore bundles) and DSSE envelopes, whose spec
 * allows either alphabet. This is what protobuf-go and Go's decoders accept (they skip line breaks;
 * MIME-wrapped base64 occurs in real bundles).
 */
export function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ANY_ALPHABET_RE.exec(value.replace(/\r?\n/g, ''));
  if (!m) return undefined;
  const [, data, padding] = m as unknown as [string, string, string];
  if (/[+/]/.test(data) && /[-_]/.test(data)) return undefined;
  const rest = data.length % 4;
  if (rest === 1) return undefined;
  if (padding !== '' && padding.length !== 4 - rest) return undefined;
  return Buffer.from(data, /[-_]/.test(data) ? 'base64url' : 'base64');
}

/** Standard alphabet, padded: x5c certificates (RFC 7515 §4.1.6) and the Notary timestamp token. */
export function decodePaddedBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
    return undefined;
  }
  return Buffer.from(value, 'base64');
}

/** base64url without padding, as the parts of a JWS are (RFC 7515 §2). */
export function decodeBase64Url(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) {
    return undefined;
  }
  return Buffer.from(value, 'base64url');
}

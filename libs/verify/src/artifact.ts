import { createHash } from 'node:crypto';

/**
 * The thing a bundle must be about: its bytes, or only its SHA-256 digest (an image manifest
 * digest, or `sha256:<hex>` on the command line). Message-signature bundles are checked against
 * the digest; DSSE bundles bind the artifact through their in-toto statement's subjects.
 */
export type ArtifactInput = { bytes: Uint8Array } | { digest: string };

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

/** `sha256:<64 lowercase hex>` as used by OCI and the conformance CLI protocol. */
export function isSha256Digest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** The artifact's SHA-256, computed from bytes or taken from the digest. */
export function artifactSha256(artifact: ArtifactInput): Buffer {
  if ('bytes' in artifact) return createHash('sha256').update(artifact.bytes).digest();
  const m = DIGEST_RE.exec(artifact.digest);
  if (!m?.[1]) throw new TypeError(`not a sha256 digest: ${artifact.digest}`);
  return Buffer.from(m[1], 'hex');
}

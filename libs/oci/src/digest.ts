import { createHash } from 'node:crypto';

/**
 * A canonical digest: `sha256:` + 64, `sha384:` + 96 or `sha512:` + 128 lowercase hex characters
 * (the algorithms the OCI image-spec registers).
 */
export type Digest = string;

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha384: 96, sha512: 128 };
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export class InvalidDigestError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid digest "${truncate(input)}": ${reason}`);
    this.name = 'InvalidDigestError';
  }
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Validates a digest in its canonical form; anything else throws, naming what is wrong. */
export function parseDigest(value: string): Digest {
  if (DIGEST_RE.test(value)) return value;
  if (!ANY_DIGEST_RE.test(value)) throw new InvalidDigestError(value, 'expected algorithm:hex');
  const [algorithm, hex = ''] = value.split(':', 2);
  if (algorithm !== 'sha256' && algorithm !== 'sha384' && algorithm !== 'sha512') {
    throw new InvalidDigestError(value, `unsupported algorithm "${algorithm}" (sha256, sha384 or sha512)`);
  }
  const want = HEX_LENGTH[algorithm];
  if (hex.length !== want) throw new InvalidDigestError(value, `${algorithm} needs ${want} hex characters`);
  throw new InvalidDigestError(value, 'hex must be lowercase [a-f0-9]');
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** True when `bytes` hash to `digest` under the digest's own algorithm. */
export function matchesDigest(bytes: Uint8Array, digest: Digest): boolean {
  return digestOf(bytes, algorithmOf(digest)) === digest;
}

/** The algorithm a digest names; sha256 for anything unrecognised (which then never matches). */
export function algorithmOf(digest: string): DigestAlgorithm {
  if (digest.startsWith('sha512:')) return 'sha512';
  return digest.startsWith('sha384:') ? 'sha384' : 'sha256';
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

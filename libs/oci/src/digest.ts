import { createHash } from 'node:crypto';

/** A canonical digest: `sha256:` + 64 or `sha512:` + 128 lowercase hex characters. */
export type Digest = string;

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
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
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new InvalidDigestError(value, `unsupported algorithm "${algorithm}" (sha256 or sha512)`);
  }
  const want = algorithm === 'sha256' ? 64 : 128;
  if (hex.length !== want) throw new InvalidDigestError(value, `${algorithm} needs ${want} hex characters`);
  throw new InvalidDigestError(value, 'hex must be lowercase [a-f0-9]');
}

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** True when `bytes` hash to `digest` under the digest's own algorithm. */
export function matchesDigest(bytes: Uint8Array, digest: Digest): boolean {
  const algorithm = digest.startsWith('sha512:') ? 'sha512' : 'sha256';
  return digestOf(bytes, algorithm) === digest;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

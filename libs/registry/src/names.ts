import { createHash } from 'node:crypto';
import { RegistryError } from './errors.js';

// OCI distribution-spec name grammar: path components joined by "/".
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:\\/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
/** Distribution caps the full name at 255 characters. */
const MAX_REPOSITORY_LENGTH = 255;

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export function isRepositoryName(value: string): boolean {
  return value.length <= MAX_REPOSITORY_LENGTH && REPOSITORY_RE.test(value);
}

export function isTag(value: string): boolean {
  return TAG_RE.test(value);
}

/** Only digests whose algorithm we can recompute are accepted: a digest we cannot verify is refused. */
export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/**
 * A repository name or reference that fails the grammar. Thrown before any request is made; it is
 * not a RegistryError because the registry was never asked, and it is never worth retrying.
 */
export class InvalidNameError extends TypeError {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

export function assertRepository(value: string): void {
  if (typeof value !== 'string' || !isRepositoryName(value)) {
    throw new InvalidNameError(`invalid repository name: ${JSON.stringify(value)}`);
  }
}

export function assertTag(value: string): void {
  if (typeof value !== 'string' || !isTag(value))
    throw new InvalidNameError(`invalid tag: ${JSON.stringify(value)}`);
}

export function assertDigest(value: string): void {
  if (typeof value !== 'string' || !isDigest(value)) {
    throw new InvalidNameError(
      `invalid digest (sha256, sha384 or sha512, lowercase hex): ${JSON.stringify(value)}`,
    );
  }
}

/** A reference is a digest when it contains ":", else a tag; either must be valid. */
export function assertReference(value: string): 'digest' | 'tag' {
  if (typeof value === 'string' && value.includes(':')) {
    assertDigest(value);
    return 'digest';
  }
  assertTag(value);
  return 'tag';
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function algorithmOf(digest: string): DigestAlgorithm {
  if (digest.startsWith('sha512:')) return 'sha512';
  return digest.startsWith('sha384:') ? 'sha384' : 'sha256';
}

/** Parses a Docker-Content-Digest header; a present but malformed value is a bad response. */
export function headerDigest(res: { headers: { get(name: string): string | null } }): string | undefined {
  const value = res.headers.get('docker-content-digest')?.trim();
  if (!value) return undefined;
  if (!isDigest(value)) {
    throw new RegistryError(
      'bad_response',
      `unusable Docker-Content-Digest header: ${JSON.stringify(value)}`,
    );
  }
  return value;
}

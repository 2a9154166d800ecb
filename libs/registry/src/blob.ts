import { RegistryError } from './errors.js';
import { algorithmOf, digestOf } from './names.js';

/** Blob bytes must hash to the requested digest: a registry (or a redirect target) cannot substitute content. */
export function verifyBlob(bytes: Buffer, digest: string, what: string): Buffer {
  const actual = digestOf(bytes, algorithmOf(digest));
  if (actual !== digest) {
    throw new RegistryError('digest_mismatch', `${what}: received bytes hash to ${actual}`);
  }
  return bytes;
}

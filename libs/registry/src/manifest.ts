import { parseJson } from './body.js';
import { RegistryError } from './errors.js';
import type { HttpResponse } from './http.js';
import { essence, MANIFEST_MEDIA_TYPES } from './media-types.js';
import { algorithmOf, digestOf, headerDigest } from './names.js';

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
}

/**
 * Establishes the identity of fetched manifest bytes. By digest the bytes must hash to the request;
 * by tag the digest is computed, and a Docker-Content-Digest header must agree with it.
 */
export function verifyManifest(
  res: HttpResponse,
  bytes: Buffer,
  requested: { kind: 'digest' | 'tag'; reference: string },
  what: string,
): FetchedManifest {
  let digest: string;
  if (requested.kind === 'digest') {
    digest = digestOf(bytes, algorithmOf(requested.reference));
    if (digest !== requested.reference) {
      throw new RegistryError('digest_mismatch', `${what}: received bytes hash to ${digest}`);
    }
  } else {
    const claimed = headerDigest(res);
    digest = digestOf(bytes, claimed ? algorithmOf(claimed) : 'sha256');
    if (claimed !== undefined && claimed !== digest) {
      throw new RegistryError(
        'digest_mismatch',
        `${what}: Docker-Content-Digest ${claimed} but the received bytes hash to ${digest}`,
      );
    }
  }
  return { digest, mediaType: classify(res, bytes, what), size: bytes.length, bytes };
}

/** The body's own mediaType wins; the Content-Type header is the fallback (OCI makes the field optional). */
function classify(res: HttpResponse, bytes: Buffer, what: string): string {
  const body = parseJson(bytes, what);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RegistryError('bad_response', `${what}: manifest is not a JSON object`);
  }
  const field = (body as { mediaType?: unknown }).mediaType;
  if (field !== undefined && typeof field !== 'string') {
    throw new RegistryError('bad_response', `${what}: manifest mediaType is not a string`);
  }
  const mediaType = field ?? essence(res.headers.get('content-type'));
  if (mediaType === undefined || !MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new RegistryError(
      'bad_response',
      `${what}: unsupported manifest media type ${JSON.stringify(mediaType)}`,
    );
  }
  return mediaType;
}

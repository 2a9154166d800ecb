import { RegistryError } from './errors.js';
import { isDigest } from './names.js';

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrersListing {
  /** False when the registry has no referrers API (callers fall back to the tag schema). */
  supported: boolean;
  descriptors: ReferrerDescriptor[];
}

/** Statuses with which registries without the referrers API answer the endpoint. */
export const REFERRERS_UNSUPPORTED_STATUSES: ReadonlySet<number> = new Set([400, 404, 405]);

/** Validates one page of a referrers response (an OCI image index) and returns its descriptors. */
export function parseReferrersPage(body: unknown, what: string): ReferrerDescriptor[] {
  const bad = (why: string): RegistryError => new RegistryError('bad_response', `${what}: ${why}`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('not a JSON object');
  const manifests = (body as { manifests?: unknown }).manifests;
  if (manifests === undefined || manifests === null) return [];
  if (!Array.isArray(manifests)) throw bad('manifests is not an array');
  return manifests.map((d: unknown, i): ReferrerDescriptor => {
    if (d === null || typeof d !== 'object') throw bad(`manifests[${i}] is not an object`);
    const { mediaType, digest, size, artifactType, annotations } = d as Record<string, unknown>;
    if (typeof mediaType !== 'string' || !mediaType) throw bad(`manifests[${i}].mediaType missing`);
    if (typeof digest !== 'string' || !isDigest(digest)) throw bad(`manifests[${i}].digest invalid`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw bad(`manifests[${i}].size invalid`);
    }
    const out: ReferrerDescriptor = { mediaType, digest, size };
    if (artifactType !== undefined) {
      if (typeof artifactType !== 'string') throw bad(`manifests[${i}].artifactType is not a string`);
      out.artifactType = artifactType;
    }
    if (annotations !== undefined)
      out.annotations = stringRecord(annotations, () => bad(`manifests[${i}].annotations invalid`));
    return out;
  });
}

function stringRecord(value: unknown, bad: () => Error): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw bad();
    out[k] = v;
  }
  return out;
}

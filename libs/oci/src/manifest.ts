import { isDigest, matchesDigest, type Digest } from './digest.js';
import { isIndexMediaType, isManifestMediaType, MediaType } from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
  /**
   * Layers only: the URLs the layer MAY be fetched from (OCI descriptor `urls`), as foreign and
   * non-distributable layers carry them; absent when the layer names none.
   */
  urls?: string[];
}

/** `vulnerability`: a scanner's vulnerability report or a VEX document (see isVulnerabilityType). */
export type ArtifactKind =
  'image' | 'index' | 'signature' | 'attestation' | 'sbom' | 'vulnerability' | 'artifact';

/** A manifest or index, checked against its digest and reduced to what the graph needs. */
export interface ParsedManifest {
  digest: Digest;
  mediaType: string;
  size: number;
  isIndex: boolean;
  /** Its `artifactType`, else `config.mediaType` (manifests only): the OCI referrers API rule. */
  artifactType: string | null;
  annotations: Record<string, string>;
  subject: Descriptor | null;
  config: Descriptor | null;
  layers: Descriptor[];
  manifests: Descriptor[];
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function annotationsOf(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new ManifestError(`${where}.annotations must be an object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ManifestError(`${where}.annotations["${k}"] must be a string`);
    out[k] = val;
  }
  return out;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new ManifestError(`${where} must be a descriptor object`);
  const { mediaType, digest, size, artifactType, platform } = v;
  if (typeof mediaType !== 'string' || mediaType === '')
    throw new ManifestError(`${where}.mediaType is required`);
  if (!isDigest(digest)) throw new ManifestError(`${where}.digest is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${where}.size must be a non-negative integer`);
  }
  if (artifactType !== undefined && typeof artifactType !== 'string') {
    throw new ManifestError(`${where}.artifactType must be a string`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (artifactType) d.artifactType = artifactType;
  const annotations = annotationsOf(v.annotations, where);
  if (Object.keys(annotations).length) d.annotations = annotations;
  if (isObject(platform)) {
    d.platform = {};
    for (const key of ['os', 'architecture', 'variant'] as const) {
      const value = platform[key];
      if (typeof value === 'string') d.platform[key] = value;
    }
  }
  return d;
}

function descriptorList(v: unknown, where: string): Descriptor[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ManifestError(`${where} must be an array`);
  return v.map((d, i) => parseDescriptor(d, `${where}[${i}]`));
}

/** Layer descriptors, with their `urls` (a list of strings, as the OCI descriptor defines it). */
function layerList(v: unknown): Descriptor[] {
  return descriptorList(v, 'layers').map((d, i) => {
    const urls = ((v as unknown[])[i] as Json).urls;
    if (urls === undefined || urls === null) return d;
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) {
      throw new ManifestError(`layers[${i}].urls must be an array of strings`);
    }
    return urls.length ? { ...d, urls } : d;
  });
}

/**
 * Parses manifest or index bytes fetched for `digest`. The bytes must hash to the digest: identity
 * is content, and nothing unverified is ever parsed into the graph.
 */
export function parseManifest(bytes: Uint8Array, digest: Digest, mediaTypeHint?: string): ParsedManifest {
  if (!matchesDigest(bytes, digest)) throw new ManifestError(`content does not match digest ${digest}`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ManifestError('manifest is not valid JSON');
  }
  if (!isObject(doc)) throw new ManifestError('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw new ManifestError('only schemaVersion 2 manifests are supported');

  const declared = typeof doc.mediaType === 'string' && doc.mediaType ? doc.mediaType : undefined;
  const mediaType = declared ?? inferMediaType(doc, mediaTypeHint);
  const isIndex = isIndexMediaType(mediaType);
  if (!isIndex && !isManifestMediaType(mediaType)) {
    throw new ManifestError(`unsupported manifest media type "${mediaType}"`);
  }
  if (doc.artifactType !== undefined && typeof doc.artifactType !== 'string') {
    throw new ManifestError('artifactType must be a string');
  }

  const config = isIndex || doc.config === undefined ? null : parseDescriptor(doc.config, 'config');
  if (!isIndex && !config) throw new ManifestError('an image manifest needs a config descriptor');
  const artifactType = doc.artifactType || (config ? config.mediaType : null);
  return {
    digest,
    mediaType,
    size: bytes.byteLength,
    isIndex,
    artifactType: artifactType ?? null,
    annotations: annotationsOf(doc.annotations, 'manifest'),
    subject:
      doc.subject === undefined || doc.subject === null ? null : parseDescriptor(doc.subject, 'subject'),
    config,
    layers: isIndex ? [] : layerList(doc.layers),
    manifests: isIndex ? descriptorList(doc.manifests, 'manifests') : [],
  };
}

function inferMediaType(doc: Json, hint: string | undefined): string {
  if (hint && (isIndexMediaType(hint) || isManifestMediaType(hint))) return hint;
  // The OCI spec makes mediaType optional; the shape decides.
  if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
  if (doc.config !== undefined) return MediaType.OciManifest;
  throw new ManifestError('cannot tell the manifest media type');
}

/**
 * The blobs a manifest shows its repository holds (its config and layers, once each): what the
 * registry view may serve from that repository. A layer that carries `urls` (foreign and
 * non-distributable layers) is left out: clients fetch it from those URLs, and registries do not
 * check that the repository holds it when the manifest is pushed (Distribution skips that check
 * for such layers; containers/image does not upload them), so naming one proves nothing.
 */
export function blobDigests(m: ParsedManifest): Digest[] {
  const held = m.layers.filter((l) => !l.urls).map((l) => l.digest);
  return [...new Set(m.config ? [m.config.digest, ...held] : held)];
}

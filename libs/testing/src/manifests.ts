import { classify, digestOf, MediaType, parseManifest, type Descriptor, type ParsedManifest } from '#oci';

/** A manifest as real bytes with its real digest, for tests that never touch a registry. */
export interface BuiltManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  descriptor: Descriptor;
  parsed: ParsedManifest;
}

export function blobDescriptor(content: string, mediaType: string): Descriptor {
  const b = Buffer.from(content);
  return { mediaType, digest: digestOf(b), size: b.length };
}

export function buildManifest(doc: Record<string, unknown>): BuiltManifest {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = digestOf(bytes);
  const mediaType = (doc.mediaType as string | undefined) ?? MediaType.OciManifest;
  const parsed = parseManifest(bytes, digest, mediaType);
  const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
  if (parsed.artifactType && doc.artifactType) descriptor.artifactType = parsed.artifactType;
  return { bytes, digest, mediaType, descriptor, parsed };
}

let counter = 0;

/** A small OCI image whose content differs on every call. */
export function imageManifest(seed = `${Date.now()}-${counter++}-${Math.random()}`): BuiltManifest {
  return buildManifest({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: blobDescriptor(`{"architecture":"amd64","os":"linux","seed":"${seed}"}`, MediaType.OciConfig),
    layers: [blobDescriptor(`layer-${seed}`, 'application/vnd.oci.image.layer.v1.tar+gzip')],
  });
}

export function referrerManifest(
  subject: Descriptor,
  artifactType: string,
  annotations: Record<string, string> = {},
): BuiltManifest {
  return buildManifest({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType,
    config: blobDescriptor('{}', MediaType.OciEmpty),
    layers: [blobDescriptor(`payload-${counter++}-${Math.random()}`, 'application/octet-stream')],
    subject,
    annotations,
  });
}

/** A referrer carrying `layers` layers, as a cosign signature manifest gains one per signature. */
export function layeredReferrer(subject: Descriptor, artifactType: string, layers: number): BuiltManifest {
  const seed = `${counter++}-${Math.random()}`;
  return buildManifest({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType,
    config: blobDescriptor('{}', MediaType.OciEmpty),
    layers: Array.from({ length: layers }, (_, i) =>
      blobDescriptor(`payload-${seed}-${i}`, 'application/octet-stream'),
    ),
    subject,
  });
}

/** `n` manifests from `make`, in digest order (what reads ranked by digest meet first comes first). */
export function inDigestOrder(n: number, make: () => BuiltManifest): BuiltManifest[] {
  return Array.from({ length: n }, make).sort((a, b) => (a.digest < b.digest ? -1 : 1));
}

export function indexManifest(children: Descriptor[], extra: Record<string, unknown> = {}): BuiltManifest {
  return buildManifest({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: children, ...extra });
}

export function kindOf(m: BuiltManifest) {
  return classify(m.parsed);
}

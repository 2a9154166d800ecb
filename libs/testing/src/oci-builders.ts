import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** The OCI 1.1 empty descriptor: config of artifacts that have none. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const EMPTY_JSON = Buffer.from('{}');

export interface ContentDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface ContentBlob {
  digest: string;
  bytes: Buffer;
}

/** A manifest (or index) with its exact bytes, digest and the blobs it references. */
export interface PushableContent {
  manifest: Buffer;
  digest: string;
  mediaType: string;
  size: number;
  blobs: ContentBlob[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobOf(bytes: Buffer): ContentBlob {
  return { digest: sha256(bytes), bytes };
}

export function descriptorOf(m: PushableContent, extra: Partial<ContentDescriptor> = {}): ContentDescriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.size, ...extra };
}

function built(body: object, mediaType: string, blobs: ContentBlob[]): PushableContent {
  const manifest = Buffer.from(JSON.stringify(body));
  return { manifest, digest: sha256(manifest), mediaType, size: manifest.length, blobs };
}

function blobDescriptor(mediaType: string, b: ContentBlob): ContentDescriptor {
  return { mediaType, digest: b.digest, size: b.bytes.length };
}

/** A one-file ustar archive: enough for a layer that real tools (skopeo, umoci) accept. */
export function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (n: number, length: number): string => n.toString(8).padStart(length - 1, '0');
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(content.length, 12), 124, 12);
  field(octal(0, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(`${octal(sum, 7)}\u0000 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

export interface RandomImageOptions {
  architecture?: string;
  os?: string;
  annotations?: Record<string, string>;
  subject?: ContentDescriptor;
}

/** An OCI image manifest with a small config and one gzip layer holding random content. */
export function randomImage(opts: RandomImageOptions = {}): PushableContent {
  const tar = tarOf('random.bin', randomBytes(64));
  const layer = blobOf(gzipSync(tar));
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: opts.architecture ?? 'amd64',
        os: opts.os ?? 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    ),
  );
  return built(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: blobDescriptor(OCI_CONFIG, config),
      layers: [blobDescriptor(OCI_LAYER_GZIP, layer)],
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    OCI_MANIFEST,
    [config, layer],
  );
}

export interface ArtifactOptions {
  subject?: ContentDescriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Layer contents with their media types; default one random JSON layer. */
  layers?: Array<{ mediaType: string; bytes: Buffer }>;
}

/** An OCI 1.1 artifact manifest: empty config, `artifactType`, optional `subject`. */
export function artifactManifest(opts: ArtifactOptions = {}): PushableContent {
  const config = blobOf(EMPTY_JSON);
  const layers = (
    opts.layers ?? [
      {
        mediaType: 'application/json',
        bytes: Buffer.from(JSON.stringify({ nonce: randomBytes(8).toString('hex') })),
      },
    ]
  ).map((l) => ({ mediaType: l.mediaType, blob: blobOf(l.bytes) }));
  return built(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: opts.artifactType ?? 'application/vnd.refgraph.test.artifact',
      config: blobDescriptor(OCI_EMPTY, config),
      layers: layers.map((l) => blobDescriptor(l.mediaType, l.blob)),
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    OCI_MANIFEST,
    [config, ...layers.map((l) => l.blob)],
  );
}

export interface IndexOptions {
  mediaType?: string;
  artifactType?: string;
  subject?: ContentDescriptor;
  annotations?: Record<string, string>;
}

/** An image index over the given child descriptors (children must be pushed first). */
export function imageIndex(children: ContentDescriptor[], opts: IndexOptions = {}): PushableContent {
  const mediaType = opts.mediaType ?? OCI_INDEX;
  return built(
    {
      schemaVersion: 2,
      mediaType,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      manifests: children,
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    mediaType,
    [],
  );
}

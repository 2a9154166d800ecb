import {
  blobDigests,
  classify,
  contentEdges,
  digestOf,
  InvalidDigestError,
  ManifestError,
  matchesDigest,
  MediaType,
  parseDigest,
  parseManifest,
  parseTagSubject,
  tagEdges,
  type Descriptor,
} from '#oci';

function bytesOf(doc: unknown): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, digest: digestOf(bytes) };
}

function blob(content: string, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
  const b = Buffer.from(content);
  return { mediaType, digest: digestOf(b), size: b.length, ...extra };
}

const config = blob('{"architecture":"amd64","os":"linux"}', MediaType.OciConfig);
const layer = blob('layer-bytes', 'application/vnd.oci.image.layer.v1.tar+gzip');
const image = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] };
const imageBytes = bytesOf(image);
const imageDesc: Descriptor = {
  mediaType: MediaType.OciManifest,
  digest: imageBytes.digest,
  size: imageBytes.bytes.length,
};

function parse(doc: unknown, hint?: string) {
  const { bytes, digest } = bytesOf(doc);
  return parseManifest(bytes, digest, hint);
}

describe('digests', () => {
  it('accepts canonical sha256, sha384 and sha512 digests', () => {
    const d = digestOf(Buffer.from('x'));
    expect(parseDigest(d)).toBe(d);
    const d384 = digestOf(Buffer.from('x'), 'sha384');
    expect(parseDigest(d384)).toBe(d384);
    const d512 = digestOf(Buffer.from('x'), 'sha512');
    expect(parseDigest(d512)).toBe(d512);
  });

  it('checks content with the algorithm the digest names', () => {
    const bytes = Buffer.from('content');
    for (const algorithm of ['sha256', 'sha384', 'sha512'] as const) {
      expect(matchesDigest(bytes, digestOf(bytes, algorithm))).toBe(true);
      expect(matchesDigest(Buffer.from('other'), digestOf(bytes, algorithm))).toBe(false);
    }
  });

  it.each([
    ['sha256:abc', /64 hex/],
    [`sha256:${'A'.repeat(64)}`, /lowercase/],
    [`md5:${'a'.repeat(32)}`, /unsupported algorithm/],
    [`sha384:${'a'.repeat(64)}`, /96 hex/],
    ['latest', /algorithm:hex/],
    ['', /algorithm:hex/],
  ])('rejects %s', (input, reason) => {
    expect(() => parseDigest(input)).toThrow(InvalidDigestError);
    expect(() => parseDigest(input)).toThrow(reason);
  });
});

describe('parseManifest', () => {
  it('refuses bytes that do not hash to the digest', () => {
    expect(() => parseManifest(imageBytes.bytes, digestOf(Buffer.from('other')))).toThrow(/does not match/);
  });

  it('takes artifactType from config.mediaType when a manifest has none', () => {
    const m = parse(image);
    expect(m.artifactType).toBe(MediaType.OciConfig);
    expect(m.isIndex).toBe(false);
    expect(classify(m)).toBe('image');
  });

  it('infers the media type from shape when the manifest omits it', () => {
    const { mediaType: _omit, ...bare } = image;
    expect(parse(bare).mediaType).toBe(MediaType.OciManifest);
    expect(parse({ schemaVersion: 2, manifests: [imageDesc] }).mediaType).toBe(MediaType.OciIndex);
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), /not valid JSON/],
    ['schema 1', Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x' })), /schemaVersion 2/],
    [
      'bad child digest',
      Buffer.from(JSON.stringify({ ...image, layers: [{ ...layer, digest: 'sha256:zz' }] })),
      /layers\[0\]\.digest/,
    ],
    [
      'negative size',
      Buffer.from(JSON.stringify({ ...image, config: { ...config, size: -1 } })),
      /config\.size/,
    ],
    [
      'numeric annotation',
      Buffer.from(JSON.stringify({ ...image, annotations: { a: 1 } })),
      /annotations\["a"\]/,
    ],
    [
      'unknown type',
      Buffer.from(JSON.stringify({ ...image, mediaType: 'text/plain' })),
      /unsupported manifest media type/,
    ],
  ])('rejects %s with a reason', (_name, bytes, reason) => {
    expect(() => parseManifest(bytes, digestOf(bytes))).toThrow(ManifestError);
    expect(() => parseManifest(bytes, digestOf(bytes))).toThrow(reason);
  });
});

describe('blobDigests', () => {
  const foreign = blob('windows-base', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', {
    urls: ['https://mcr.example.test/blobs/base'],
  });
  const nondistributable = blob('licensed', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', {
    urls: ['https://vendor.example.test/layer'],
  });

  it('names the config and the layers a registry holds, once each', () => {
    const m = parse({ ...image, layers: [layer, layer] });
    expect(blobDigests(m)).toEqual([config.digest, layer.digest]);
  });

  it('leaves out layers that carry urls: clients fetch them there, and a push never proved them held', () => {
    const m = parse({ ...image, layers: [foreign, layer, nondistributable] });
    expect(m.layers.map((l) => l.urls ?? null)).toEqual([foreign.urls, null, nondistributable.urls]);
    expect(blobDigests(m)).toEqual([config.digest, layer.digest]);
    // Without urls the layer is the registry's to hold, whatever its media type says.
    const { urls: _none, ...held } = nondistributable;
    expect(blobDigests(parse({ ...image, layers: [held] }))).toEqual([config.digest, held.digest]);
    // An empty list names no URL to fetch it from.
    expect(blobDigests(parse({ ...image, layers: [{ ...layer, urls: [] }] }))).toEqual([
      config.digest,
      layer.digest,
    ]);
  });

  it('keeps a digest that another descriptor of the manifest names without urls', () => {
    const alsoHeld = { ...layer, mediaType: foreign.mediaType, urls: ['https://elsewhere.example.test/x'] };
    expect(blobDigests(parse({ ...image, layers: [alsoHeld, layer] }))).toEqual([
      config.digest,
      layer.digest,
    ]);
  });

  it.each([
    ['a string', 'https://x.example.test/'],
    ['numbers', [1]],
    ['an object', { u: 'x' }],
  ])('rejects urls given as %s', (_name, urls) => {
    expect(() => parse({ ...image, layers: [{ ...layer, urls }] })).toThrow(/layers\[0\]\.urls/);
  });
});

describe('classify and content edges', () => {
  it('links a referrer with subject to its subject', () => {
    const sbom = parse({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/spdx+json',
      config: blob('{}', MediaType.OciEmpty),
      layers: [blob('{"spdxVersion":"SPDX-2.3"}', 'application/spdx+json')],
      subject: imageDesc,
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    expect(classify(sbom)).toBe('sbom');
    expect(sbom.artifactType).toBe('application/spdx+json');
    expect(contentEdges(sbom)).toEqual([
      { subject: imageDesc.digest, referrer: sbom.digest, kind: 'subject' },
    ]);
  });

  it('classifies notation signatures by artifactType and by config media type', () => {
    const common = { schemaVersion: 2, mediaType: MediaType.OciManifest, subject: imageDesc };
    const jws = blob('{"payload":""}', 'application/jose+json');
    const byArtifactType = parse({
      ...common,
      artifactType: MediaType.NotationSignature,
      config: blob('{}', MediaType.OciEmpty),
      layers: [jws],
    });
    const byConfig = parse({ ...common, config: blob('{}', MediaType.NotationSignature), layers: [jws] });
    expect(classify(byArtifactType)).toBe('signature');
    expect(classify(byConfig)).toBe('signature');
    expect(byConfig.artifactType).toBe(MediaType.NotationSignature);
  });

  it('tells sigstore bundle signatures from bundle attestations by the predicate annotation', () => {
    const base = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: MediaType.SigstoreBundle,
      config: blob('{}', MediaType.OciEmpty),
      layers: [blob('{"mediaType":"bundle"}', MediaType.SigstoreBundle)],
      subject: imageDesc,
    };
    expect(classify(parse(base))).toBe('signature');
    const att = parse({
      ...base,
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' },
    });
    expect(classify(att)).toBe('attestation');
    // cosign v3 signs with a DSSE statement of the sign predicate: a signature.
    const v3 = parse({
      ...base,
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
    });
    expect(classify(v3)).toBe('signature');
  });

  it('classifies cosign legacy signature and attestation manifests by their layers', () => {
    const sig = parse({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: blob('{"architecture":"","os":""}', MediaType.OciConfig),
      layers: [
        blob('{"critical":{}}', MediaType.CosignSimpleSigning, {
          annotations: { 'dev.cosignproject.cosign/signature': 'MEU=' },
        }),
      ],
    });
    const att = parse({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: blob('{"architecture":"","os":""}', MediaType.OciConfig),
      layers: [blob('{"payloadType":"application/vnd.in-toto+json"}', MediaType.Dsse)],
    });
    expect(classify(sig)).toBe('signature');
    expect(classify(att)).toBe('attestation');
  });

  it('links index children and BuildKit attestation manifests to their platform manifest', () => {
    const attManifest = bytesOf({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: blob('{}', MediaType.OciConfig),
      layers: [
        blob('{"_type":"https://in-toto.io/Statement/v0.1"}', MediaType.InToto, {
          annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
        }),
      ],
    });
    const attDesc: Descriptor = {
      mediaType: MediaType.OciManifest,
      digest: attManifest.digest,
      size: attManifest.bytes.length,
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': imageDesc.digest,
      },
      platform: { os: 'unknown', architecture: 'unknown' },
    };
    const index = parse({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ ...imageDesc, platform: { os: 'linux', architecture: 'amd64' } }, attDesc],
    });
    expect(classify(index)).toBe('index');
    expect(classify(parseManifest(attManifest.bytes, attManifest.digest))).toBe('attestation');
    const edges = contentEdges(index);
    expect(edges.map((e) => [e.kind, e.subject, e.referrer])).toEqual([
      ['index-child', index.digest, imageDesc.digest],
      ['index-child', index.digest, attDesc.digest],
      ['buildkit-attestation', imageDesc.digest, attDesc.digest],
    ]);
  });

  it('gives an index with a subject its subject edge', () => {
    const idx = parse({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      artifactType: 'application/vnd.example+type',
      manifests: [],
      subject: imageDesc,
    });
    expect(idx.artifactType).toBe('application/vnd.example+type');
    expect(contentEdges(idx)).toEqual([{ subject: imageDesc.digest, referrer: idx.digest, kind: 'subject' }]);
  });
});

describe('tag-derived edges', () => {
  const hex = imageDesc.digest.slice('sha256:'.length);

  it('parses referrers tag schema and cosign tags', () => {
    expect(parseTagSubject(`sha256-${hex}`)).toEqual({ subject: imageDesc.digest, suffix: null });
    expect(parseTagSubject(`sha256-${hex}.sig`)).toEqual({ subject: imageDesc.digest, suffix: 'sig' });
    expect(parseTagSubject(`sha256-${hex}.att`)?.suffix).toBe('att');
    expect(parseTagSubject(`sha256-${hex}.sbom`)?.suffix).toBe('sbom');
    expect(parseTagSubject('latest')).toBeNull();
    expect(parseTagSubject(`sha256-${hex.slice(1)}`)).toBeNull();
    expect(parseTagSubject(`sha512-${hex}`)).toBeNull();
  });

  it('turns every descriptor of a tag-schema index into a referrer of the tagged subject', () => {
    const ref = blob('{"sig":1}', MediaType.OciManifest, {
      artifactType: MediaType.SigstoreBundle,
      annotations: { a: 'b' },
    });
    const idx = parse({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [ref] });
    expect(tagEdges(`sha256-${hex}`, idx)).toEqual([
      { subject: imageDesc.digest, referrer: ref.digest, kind: 'tag-schema', descriptor: ref },
    ]);
    expect(tagEdges('v1', idx)).toEqual([]);
  });

  it('makes a cosign-tagged manifest a referrer of the digest in its tag', () => {
    const sig = parse({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: blob('{}', MediaType.OciConfig),
      layers: [blob('x', MediaType.CosignSimpleSigning)],
    });
    expect(tagEdges(`sha256-${hex}.sig`, sig)).toEqual([
      { subject: imageDesc.digest, referrer: sig.digest, kind: 'cosign-tag' },
    ]);
    expect(tagEdges(`sha256-${hex}`, sig)).toEqual([]);
  });
});

import type { RegistryConfig } from '#config';
import {
  artifactManifest,
  descriptorOf,
  imageIndex,
  pushImage,
  pushManifest,
  randomImage,
  skopeoCopyImage,
  startRegistry,
  type TestRegistry,
} from '#testing';
import { MANIFEST_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST, RegistryClient, RegistryError } from '#registry';

// Behaviour against a real Distribution 2.8.2.

function configFor(url: string, extra: Partial<RegistryConfig> = {}): RegistryConfig {
  return {
    name: 'local',
    kind: 'distribution',
    url,
    webhookAuth: { type: 'none' },
    allowedRedirectHosts: [],
    allowedTokenRealms: [],
    maxManifestBytes: 4 * 1024 * 1024,
    ...extra,
  };
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('RegistryClient against Distribution 2.8.2', () => {
  let registry: TestRegistry;
  let client: RegistryClient;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient(configFor(registry.url));
  });
  afterAll(() => registry.stop());

  it('fetches a manifest by digest and by tag with identical bytes and digest', async () => {
    const image = randomImage();
    await pushImage(registry.url, 'app/web', 'v1', image);

    const byDigest = await client.fetchManifest('app/web', image.digest);
    expect(byDigest).toEqual({
      digest: image.digest,
      mediaType: OCI_MANIFEST,
      size: image.size,
      bytes: image.manifest,
    });

    const byTag = await client.fetchManifest('app/web', 'v1');
    expect(byTag.digest).toBe(image.digest);
    expect(byTag.bytes.equals(image.manifest)).toBe(true);
  });

  it('negotiates an image index through the Accept header', async () => {
    const amd = randomImage({ architecture: 'amd64' });
    const arm = randomImage({ architecture: 'arm64' });
    await pushImage(registry.url, 'multi', undefined, amd);
    await pushImage(registry.url, 'multi', undefined, arm);
    const index = imageIndex([
      descriptorOf(amd, { platform: { architecture: 'amd64', os: 'linux' } }),
      descriptorOf(arm, { platform: { architecture: 'arm64', os: 'linux' } }),
    ]);
    await pushManifest(registry.url, 'multi', 'latest', index.manifest, index.mediaType);

    const got = await client.fetchManifest('multi', 'latest');
    expect(got.mediaType).toBe(OCI_INDEX);
    expect(got.digest).toBe(index.digest);
    expect(JSON.parse(got.bytes.toString())).toMatchObject({
      manifests: [{ digest: amd.digest }, { digest: arm.digest }],
    });

    // Without the index media type in Accept the registry refuses to serve it; the list must hold all four.
    const res = await fetch(`${registry.url}/v2/multi/manifests/latest`, {
      headers: { Accept: OCI_MANIFEST },
    });
    await res.body?.cancel();
    expect(res.status).toBe(404);
    expect(MANIFEST_MEDIA_TYPES).toHaveLength(4);
  });

  it('reads an image pushed by skopeo from an OCI layout', async () => {
    const digest = await skopeoCopyImage(registry.url, 'tools/skopeo', 'copied');
    expect(await client.resolveTag('tools/skopeo', 'copied')).toBe(digest);
    const m = await client.fetchManifest('tools/skopeo', digest);
    expect(m.digest).toBe(digest);
    expect(m.mediaType).toBe(OCI_MANIFEST);
  });

  it('resolves tags to digests and answers null for a missing tag or repository', async () => {
    const image = randomImage();
    await pushImage(registry.url, 'resolve', 'stable', image);
    expect(await client.resolveTag('resolve', 'stable')).toBe(image.digest);
    expect(await client.resolveTag('resolve', 'missing')).toBeNull();
    expect(await client.resolveTag('no-such-repo', 'stable')).toBeNull();
  });

  it('tells whether a manifest exists by digest', async () => {
    const image = randomImage();
    await pushImage(registry.url, 'exists', undefined, image);
    expect(await client.manifestExists('exists', image.digest)).toBe(true);
    expect(await client.manifestExists('exists', randomImage().digest)).toBe(false);
  });

  it('answers not_found (not retryable) for a missing manifest', async () => {
    const missing = randomImage().digest;
    await expect(client.fetchManifest('exists', missing)).rejects.toMatchObject({
      code: 'not_found',
      retryable: false,
      status: 404,
    });
  });

  it('pages through the catalog and tag lists beyond the page size', async () => {
    const repos = ['page/a', 'page/b', 'page/c', 'page/d', 'page/e'];
    for (const r of repos) await pushImage(registry.url, r, 'v1', randomImage());
    const image = randomImage();
    const tags = ['t1', 't2', 't3', 't4', 't5', 't6', 't7'];
    await pushImage(registry.url, 'page/tags', undefined, image);
    for (const t of tags) await pushManifest(registry.url, 'page/tags', t, image.manifest, image.mediaType);

    const all = await collect(client.listRepositories(2));
    expect(all.filter((r) => r.startsWith('page/'))).toEqual([...repos, 'page/tags']);
    expect(new Set(all).size).toBe(all.length);

    // Distribution 2.8.2 ignores n and last on tag lists and returns them unordered: all must
    // still come back exactly once, whatever the page size.
    expect((await collect(client.listTags('page/tags', 3))).sort()).toEqual(tags);
    expect((await collect(client.listTags('page/tags', 7))).sort()).toEqual(tags);
    expect((await collect(client.listTags('page/tags'))).sort()).toEqual(tags);
  });

  it('reports not_found when listing tags of an unknown repository', async () => {
    await expect(collect(client.listTags('never/pushed'))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('reports the referrers API as unsupported on 2.8.2, even with a referrer pushed', async () => {
    const image = randomImage();
    await pushImage(registry.url, 'refs', 'v1', image);
    const sig = artifactManifest({
      subject: descriptorOf(image),
      artifactType: 'application/vnd.example.sig',
    });
    await pushImage(registry.url, 'refs', undefined, sig);
    expect(await client.fetchManifest('refs', sig.digest)).toMatchObject({ digest: sig.digest });
    expect(await client.listReferrers('refs', image.digest)).toEqual({ supported: false, descriptors: [] });
  });

  it('turns connection refused into a retryable unavailable error', async () => {
    const stopped = await startRegistry();
    await stopped.stop();
    const dead = new RegistryClient(configFor(stopped.url));
    const err = await dead.fetchManifest('app', 'v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'unavailable', retryable: true });
  });
});

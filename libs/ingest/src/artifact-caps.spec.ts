import { parseConfig } from '#config';
import type { SbomRecord, SignatureRecord, TrustRepository } from '#store';
import { RegistryClient } from '#registry';
import { CurrentTrust, TrustPolicy } from '#verify';
import { buildManifest, pushBlob, startRegistry, type TestRegistry } from '#testing';
import { ArtifactVerifier } from './verify-artifact.js';

// Layers come from the real Distribution through the real client (blob GETs counted around it);
// the trust repository is replaced by one that records what would be stored, which is what the
// caps decide.
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SPDX = 'application/spdx+json';
const SUBJECT = `sha256:${'a'.repeat(64)}`;

let registry: TestRegistry;
let client: RegistryClient;
let blobGets = 0;

function spdx(name: string, packages: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      name,
      packages: Array.from({ length: packages }, (_, i) => ({
        name: `${name}-p${i}`,
        versionInfo: '1.0',
        externalRefs: [{ referenceType: 'purl', referenceLocator: `pkg:npm/${name}-p${i}@1.0` }],
      })),
    }),
  );
}

async function layer(bytes: Buffer, mediaType: string, annotations?: Record<string, string>) {
  const digest = await pushBlob(registry.url, 'app', bytes);
  return { mediaType, digest, size: bytes.length, ...(annotations ? { annotations } : {}) };
}

async function verify(
  layers: object[],
  kind: string,
  limits?: { layersPerArtifact: number; packagesPerArtifact: number },
) {
  const m = buildManifest({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: kind === 'sbom' ? SPDX : 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 },
    layers,
    subject: { mediaType: OCI_MANIFEST, digest: SUBJECT, size: 100 },
  });
  const sboms: SbomRecord[] = [];
  const signatures: SignatureRecord[] = [];
  const trust = {
    findArtifact: (digest: string) =>
      Promise.resolve({ digest, kind, mediaType: OCI_MANIFEST, manifest: m.bytes }),
    findSubjects: () => Promise.resolve([{ subjectDigest: SUBJECT, registry: 'test', repository: 'app' }]),
    findPlaces: () => Promise.resolve([{ registryId: 1, repository: 'app' }]),
    upsertSignatures: (rows: SignatureRecord[]) => Promise.resolve(void signatures.push(...rows)),
    upsertAttestations: () => Promise.resolve(),
    upsertSbom: (row: SbomRecord) => Promise.resolve(void sboms.push(row)),
  } as unknown as TrustRepository;
  const policy = await TrustPolicy.load({ trustedRoot: 'public-good', authorities: [], repositories: [] });
  blobGets = 0;
  const blobs = {
    fetchBlob: (repository: string, digest: string, max: number) => {
      blobGets++;
      return client.fetchBlob(repository, digest, max);
    },
  };
  const verifier = new ArtifactVerifier(trust, new CurrentTrust(policy), () => blobs, limits);
  await verifier.run(m.digest);
  return { sboms, signatures };
}

beforeAll(async () => {
  registry = await startRegistry();
  const cfg = parseConfig(
    {
      registries: [
        { name: 'test', kind: 'distribution', url: registry.url, webhook: { auth: { type: 'none' } } },
      ],
    },
    {},
  );
  client = new RegistryClient(cfg.registries[0]!);
});
afterAll(() => registry.stop());

describe('artifact caps', () => {
  it('processes a layer repeated 20 times once: one fetch, one SBOM, its packages once', async () => {
    const sbom = await layer(spdx('dup', 50), SPDX);
    const { sboms } = await verify(Array(20).fill(sbom), 'sbom');
    expect(blobGets).toBe(1);
    expect(sboms).toHaveLength(1);
    expect(sboms[0]).toMatchObject({ layerDigest: sbom.digest, parseError: null });
    expect(sboms[0]!.packages).toHaveLength(50);
  });

  it('stores packages up to limits.packagesPerArtifact, summed over layers, and says why beyond', async () => {
    const a = await layer(spdx('a', 5), SPDX);
    const b = await layer(spdx('b', 5), SPDX);
    const c = await layer(spdx('c', 2), SPDX);
    const { sboms } = await verify([a, b, c], 'sbom', { layersPerArtifact: 10, packagesPerArtifact: 8 });
    expect(sboms.map((s) => [s.layerDigest, s.packages.length])).toEqual([
      [a.digest, 5],
      [b.digest, 0],
      [c.digest, 2],
    ]);
    expect(sboms[1]!.parseError).toMatch(
      /10 package rows .* over the limit of 8 \(limits\.packagesPerArtifact\)/,
    );
    expect(sboms.map((s) => s.parseError === null)).toEqual([true, false, true]);
  });

  it('does not read an artifact with more layers than limits.layersPerArtifact, and records why', async () => {
    const layers = await Promise.all(['w', 'x', 'y', 'z'].map((n) => layer(spdx(n, 1), SPDX)));
    const { sboms } = await verify(layers, 'sbom', { layersPerArtifact: 3, packagesPerArtifact: 100 });
    expect(blobGets).toBe(0);
    expect(sboms).toHaveLength(1);
    expect(sboms[0]).toMatchObject({
      packages: [],
      parseError: 'artifact has 4 layers, over the limit of 3 (limits.layersPerArtifact)',
    });
  });

  it('still counts a repeated signature layer with other annotations, fetching it once', async () => {
    const payload = Buffer.from('{"critical":{}}');
    const sig = (n: string) =>
      layer(payload, 'application/vnd.dev.cosign.simplesigning.v1+json', {
        'dev.cosignproject.cosign/signature': n,
      });
    const first = await sig('c2lnLTE=');
    const { signatures } = await verify([first, await sig('c2lnLTI='), first], 'signature');
    expect(blobGets).toBe(1);
    expect(signatures.map((s) => s.layerDigest)).toEqual([first.digest, `${first.digest}#1`]);
  });
});

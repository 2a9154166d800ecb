import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '#config';
import { RegistryClient, RegistryError } from '#registry';
import type { TrustRepository } from '#store';
import { CurrentTrust, TrustPolicy } from '#verify';
import { buildManifest, pushBlob, startRegistry, type TestRegistry } from '#testing';
import { LogSampler } from './log-sampler.js';
import { ArtifactVerifier, type BlobSource } from './verify-artifact.js';

// One line per verification outcome, read through a pino stream. Layers come from the real
// Distribution; the trust repository is replaced by one that serves a single artifact and keeps
// nothing (what is stored is verify-artifact.spec's concern), and a registry that is down on cue
// by a blob source that throws its error.
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SUBJECT = `sha256:${'a'.repeat(64)}`;

let registry: TestRegistry;
let client: RegistryClient;
const lines: Record<string, unknown>[] = [];
let log: LogSampler;

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
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  log = new LogSampler(pino({ level: 'debug' }, stream), { maxPerInterval: 1000, now: () => 0 });
});
afterAll(() => registry.stop());
beforeEach(() => void (lines.length = 0));

async function signature(): Promise<{ digest: string; trust: TrustRepository }> {
  const payload = Buffer.from('{"critical":{}}');
  const layer = {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: await pushBlob(registry.url, 'app', payload),
    size: payload.length,
    annotations: { 'dev.cosignproject.cosign/signature': 'c2lnLTE=' },
  };
  const m = buildManifest({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 },
    layers: [layer],
    subject: { mediaType: OCI_MANIFEST, digest: SUBJECT, size: 100 },
  });
  const trust = {
    findArtifact: (digest: string) =>
      Promise.resolve(
        digest === m.digest
          ? { digest, kind: 'signature', mediaType: OCI_MANIFEST, manifest: m.bytes }
          : null,
      ),
    findSubjects: () => Promise.resolve([{ subjectDigest: SUBJECT, registry: 'test', repository: 'app' }]),
    findPlaces: () => Promise.resolve([{ registryId: 1, repository: 'app' }]),
    upsertSignatures: () => Promise.resolve(),
    upsertAttestations: () => Promise.resolve(),
    upsertSbom: () => Promise.resolve(),
  } as unknown as TrustRepository;
  return { digest: m.digest, trust };
}

async function verifier(trust: TrustRepository, blobs: BlobSource): Promise<ArtifactVerifier> {
  const policy = await TrustPolicy.load({ trustedRoot: 'public-good', authorities: [], repositories: [] });
  return new ArtifactVerifier(trust, new CurrentTrust(policy), () => blobs, undefined, log);
}

describe('verification outcome lines', () => {
  it('writes the rows and their statuses at info', async () => {
    const { digest, trust } = await signature();
    const outcome = await (await verifier(trust, client)).run(digest);
    expect(outcome.signatures).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'artifact verified',
        digest,
        outcome: 'done',
        signatures: 1,
        attestations: 0,
        sboms: 0,
        statuses: { no_authority: 1 },
      }),
    ]);
  });

  it('writes a skip at debug with its reason', async () => {
    const { trust } = await signature();
    const other = `sha256:${'b'.repeat(64)}`;
    await (await verifier(trust, client)).run(other);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        digest: other,
        outcome: 'skipped',
        note: 'not a signature, attestation, SBOM or vulnerability document',
      }),
    ]);
  });

  it('warns with the reason when the registry is down and the job will run again', async () => {
    const { digest, trust } = await signature();
    const down: BlobSource = {
      fetchBlob: () => Promise.reject(new RegistryError('unavailable', 'registry answered 503')),
    };
    await expect((await verifier(trust, down)).run(digest)).rejects.toBeInstanceOf(RegistryError);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'artifact not verified',
        digest,
        outcome: 'retrying',
        error: 'unavailable: registry answered 503',
      }),
    ]);
  });
});

import { parseConfig } from '#config';
import type { AttestationRecord, SbomRecord, TrustRepository } from '#store';
import { RegistryClient } from '#registry';
import { CurrentTrust, TrustPolicy } from '#verify';
import { buildManifest, pushBlob, startRegistry, type TestRegistry } from '#testing';
import { ArtifactVerifier } from './verify-artifact.js';

// An in-toto statement is about the artifacts it names. Linked to a subject it does not name (a
// copy of another image's provenance or SBOM attached to this one), it must say nothing about that
// subject: the row records why, and no SBOM is stored for it. Layers come from the real
// Distribution; the trust repository records what would be stored.
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const IN_TOTO = 'application/vnd.in-toto+json';
const SUBJECT = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

let registry: TestRegistry;
let client: RegistryClient;

function statement(digest: string, predicateType: string, predicate: object): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'pkg:docker/app', digest: { sha256: digest.slice('sha256:'.length) } }],
      predicateType,
      predicate,
    }),
  );
}

async function records(layerBytes: Buffer, mediaType = IN_TOTO) {
  const digest = await pushBlob(registry.url, 'app', layerBytes);
  const m = buildManifest({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.docker.attestation.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 },
    layers: [{ mediaType, digest, size: layerBytes.length }],
    subject: { mediaType: OCI_MANIFEST, digest: SUBJECT, size: 100 },
  });
  const attestations: AttestationRecord[] = [];
  const sboms: SbomRecord[] = [];
  const trust = {
    findArtifact: (d: string) =>
      Promise.resolve({ digest: d, kind: 'attestation', mediaType: OCI_MANIFEST, manifest: m.bytes }),
    findSubjects: () => Promise.resolve([{ subjectDigest: SUBJECT, registry: 'test', repository: 'app' }]),
    findPlaces: () => Promise.resolve([{ registryId: 1, repository: 'app' }]),
    upsertSignatures: () => Promise.resolve(),
    upsertAttestations: (rows: AttestationRecord[]) => Promise.resolve(void attestations.push(...rows)),
    upsertSbom: (row: SbomRecord) => Promise.resolve(void sboms.push(row)),
    upsertVulnerabilityDocuments: () => Promise.resolve(),
  } as unknown as TrustRepository;
  const policy = await TrustPolicy.load({ trustedRoot: 'public-good', authorities: [], repositories: [] });
  const blobs = { fetchBlob: (repo: string, d: string, max: number) => client.fetchBlob(repo, d, max) };
  await new ArtifactVerifier(trust, new CurrentTrust(policy), () => blobs).run(m.digest);
  return { attestations, sboms };
}

const SPDX_PREDICATE = 'https://spdx.dev/Document';
const spdx = { spdxVersion: 'SPDX-2.3', name: 'app', packages: [{ name: 'left-pad', versionInfo: '1.3.0' }] };

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

describe('in-toto statements and the subjects they name', () => {
  it('records a statement for the subject it names, with its SBOM', async () => {
    const { attestations, sboms } = await records(statement(SUBJECT, SPDX_PREDICATE, spdx));
    expect(attestations).toEqual([
      expect.objectContaining({
        subjectDigest: SUBJECT,
        predicateType: SPDX_PREDICATE,
        parseError: null,
        signed: false,
      }),
    ]);
    expect(sboms).toEqual([
      expect.objectContaining({ subjectDigest: SUBJECT, parseError: null, signed: false }),
    ]);
  });

  it('records a statement out of a signature envelope as signed, whether or not the signature verified', async () => {
    const envelope = {
      payloadType: 'application/vnd.in-toto+json',
      payload: statement(SUBJECT, SPDX_PREDICATE, spdx).toString('base64'),
      signatures: [{ keyid: '', sig: Buffer.from('not a signature').toString('base64') }],
    };
    const { attestations, sboms } = await records(
      Buffer.from(JSON.stringify(envelope)),
      'application/vnd.dsse.envelope.v1+json',
    );
    expect(attestations).toEqual([
      expect.objectContaining({ subjectDigest: SUBJECT, predicateType: SPDX_PREDICATE, signed: true }),
    ]);
    expect(sboms).toEqual([
      expect.objectContaining({ subjectDigest: SUBJECT, parseError: null, signed: true }),
    ]);
  });

  it('records nothing a statement naming another artifact would say about the subject', async () => {
    const { attestations, sboms } = await records(statement(OTHER, SPDX_PREDICATE, spdx));
    expect(attestations).toEqual([
      expect.objectContaining({
        subjectDigest: SUBJECT,
        statement: null,
        parseError: `the statement does not name ${SUBJECT}`,
      }),
    ]);
    expect(sboms).toEqual([]);
  });
});

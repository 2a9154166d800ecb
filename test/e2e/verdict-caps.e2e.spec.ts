import { randomBytes } from 'node:crypto';
import type { SignatureRecord } from '#store';
import { imageManifest, inDigestOrder, layeredReferrer, type BuiltManifest } from '#testing';
import { postJson, startTeamWorld, type StartedRefgraph, type TeamWorld } from './harness.js';

/**
 * The verdict reads its evidence capped per subject (1000 signatures, 1000 attestations, 100
 * SBOMs). Anyone who can push referrers to the repository can add rows that never count (each
 * layer of a signature or attestation manifest is one): as many as the cap, sorting before the
 * valid evidence, they must not push it out and deny an image that carries it.
 */
const READER = randomBytes(16).toString('hex');
const SLSA = 'https://slsa.dev/provenance/v1';
const TRUSTED_BUILDER = 'https://ci.example/trusted-builder';
const HOST = '127.0.0.1:9';
const SIG = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

let world: TeamWorld;
let refgraph: StartedRefgraph;
const image = imageManifest();
// Each junk manifest sorts before the valid one: a read ranked by digest meets every junk row first.
const [junkSignatures, signature] = inDigestOrder(2, () => layeredReferrer(image.descriptor, SIG, 1000));
const [junkStatements, statement] = inDigestOrder(2, () => layeredReferrer(image.descriptor, BUNDLE, 1000));
const [junkSboms, sbom] = inDigestOrder(2, () => layeredReferrer(image.descriptor, BUNDLE, 100));

const post = (path: string, body: unknown) => postJson(refgraph.url, READER, path, body);

/** The verify job's outcome per layer of `carrier` (the first `layers` of them) over the image. */
function outcomes(
  carrier: BuiltManifest,
  kind: 'signature' | 'attestation',
  status: 'verified' | 'failed',
  layers = Infinity,
): SignatureRecord[] {
  return carrier.parsed.layers.slice(0, layers).map((l) => ({
    artifactDigest: carrier.digest,
    layerDigest: l.digest,
    subjectDigest: image.digest,
    repositoryId: world.repositoryIds.a,
    kind,
    format: 'sigstore-bundle',
    status,
    reason: status === 'verified' ? 'verified' : 'signature_mismatch',
    message: null,
    identity: status === 'verified' ? 'https://ci.example/a' : null,
    issuer: status === 'verified' ? 'https://issuer.example' : null,
    authority: status === 'verified' ? 'ci' : null,
    policyVersion: refgraph.running.runtime.trustVersion,
  }));
}

/** Signed SLSA statements claiming the trusted builder, one per layer of `carrier`. */
const statements = (carrier: BuiltManifest, layers = Infinity) =>
  world.trust.upsertAttestations(
    carrier.parsed.layers.slice(0, layers).map((l) => ({
      artifactDigest: carrier.digest,
      layerDigest: l.digest,
      subjectDigest: image.digest,
      predicateType: SLSA,
      statement: {},
      builderId: TRUSTED_BUILDER,
      signed: true,
    })),
  );

/** Signed SBOMs, one per layer of `carrier`. */
async function sboms(carrier: BuiltManifest, layers = Infinity) {
  for (const l of carrier.parsed.layers.slice(0, layers)) {
    await world.trust.upsertSbom({
      artifactDigest: carrier.digest,
      layerDigest: l.digest,
      subjectDigest: image.digest,
      format: 'spdx',
      specVersion: 'SPDX-2.3',
      name: 'app',
      parseError: null,
      signed: true,
      packages: [],
    });
  }
}

beforeAll(async () => {
  world = await startTeamWorld({
    tokens: [{ name: 'team-a', secret: READER, scopes: ['read:local/team-a/**'] }],
    trust: {
      authorities: [
        { name: 'ci', keyless: { issuer: 'https://issuer.example', subject: 'https://ci.example/a' } },
      ],
    },
    policies: [
      { name: 'signed', signatures: { authorities: ['ci'] } },
      { name: 'built-by-ci', attestations: [{ predicateType: SLSA, builderIds: [TRUSTED_BUILDER] }] },
      { name: 'has-sbom', sbom: true },
      {
        name: 'admission',
        signatures: { authorities: ['ci'] },
        attestations: [{ predicateType: SLSA, builderIds: [TRUSTED_BUILDER] }],
        sbom: true,
      },
    ],
  });
  refgraph = world.refgraph;
  await world.push('a', image, 'v1');
  for (const m of [junkSignatures, signature, junkStatements, statement, junkSboms, sbom])
    await world.push('a', m!);
  // 1000 signatures that failed, and one by the trusted authority.
  await world.trust.upsertSignatures([
    ...outcomes(junkSignatures!, 'signature', 'failed'),
    ...outcomes(signature!, 'signature', 'verified', 1),
  ]);
  // 1000 signed statements whose envelopes failed, and one whose envelope verified.
  await statements(junkStatements!);
  await statements(statement!, 1);
  await world.trust.upsertSignatures([
    ...outcomes(junkStatements!, 'attestation', 'failed'),
    ...outcomes(statement!, 'attestation', 'verified', 1),
  ]);
  // 100 signed SBOMs whose envelopes failed, and one whose envelope verified.
  await sboms(junkSboms!);
  await sboms(sbom!, 1);
  await world.trust.upsertSignatures([
    ...outcomes(junkSboms!, 'attestation', 'failed'),
    ...outcomes(sbom!, 'attestation', 'verified', 1),
  ]);
}, 120_000);

afterAll(async () => {
  await world?.close();
});

const verdict = async (policy: string) => {
  const v = await post('/api/v1/verdict', { policy, subjects: ['local/team-a/app:v1'] });
  expect(v.status).toBe(200);
  return v.body.subjects[0] as {
    allowed: boolean;
    codes: string[];
    requirements: Array<{ evidence: Array<{ artifact: string; status: string }> }>;
  };
};

describe('evidence past the read caps', () => {
  it('a verified signature counts under 1000 failed ones that sort before it', async () => {
    const v = await verdict('signed');
    expect(v).toMatchObject({ allowed: true, codes: [] });
    expect(v.requirements[0]!.evidence).toEqual([
      expect.objectContaining({ artifact: signature!.digest, status: 'verified' }),
    ]);
  });

  it('a statement whose envelope verified counts under 1000 of the same type whose envelopes failed', async () => {
    const v = await verdict('built-by-ci');
    expect(v).toMatchObject({ allowed: true, codes: [] });
    const evidence = v.requirements[0]!.evidence;
    expect(evidence).toHaveLength(1000);
    expect(evidence.filter((e) => e.status === 'satisfied').map((e) => e.artifact)).toEqual([
      statement!.digest,
    ]);
  });

  it('a signed SBOM whose envelope verified counts under 100 whose envelopes failed', async () => {
    const v = await verdict('has-sbom');
    expect(v).toMatchObject({ allowed: true, codes: [] });
    const evidence = v.requirements[0]!.evidence;
    expect(evidence).toHaveLength(100);
    expect(evidence.filter((e) => e.status === 'satisfied').map((e) => e.artifact)).toEqual([sbom!.digest]);
  });

  it('Gatekeeper admits the image on all three at once', async () => {
    const { status, body } = await post('/api/v1/gatekeeper/admission', {
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'ProviderRequest',
      request: { keys: [`${HOST}/team-a/app:v1`] },
    });
    expect([status, body.response.systemError]).toEqual([200, '']);
    expect(body.response.items).toEqual([
      {
        key: `${HOST}/team-a/app:v1`,
        value: { digest: image.digest, allowed: true, reasons: [], codes: [] },
      },
    ]);
  });
});

import { randomBytes } from 'node:crypto';
import { parseConfig } from '#config';
import { imageManifest, referrerManifest, type BuiltManifest } from '#testing';
import { postJson, startTeamWorld, type StartedRefgraph, type TeamWorld } from './harness.js';

/**
 * Verdicts are `allowed` only on evidence refgraph has verified (README, "Verdicts fail closed").
 * An attestation whose own envelope failed verification, or a policy that requires nothing, must
 * not let an image through.
 */
const READER = randomBytes(16).toString('hex');
const SLSA = 'https://slsa.dev/provenance/v1';
const TRUSTED_BUILDER = 'https://ci.example/trusted-builder';

const image = imageManifest();
const forged = referrerManifest(image.descriptor, 'application/vnd.in-toto+json', {});
// Signed under a trust policy that is no longer the configured one (an authority was rotated).
const staleImage = imageManifest();
const staleSig = referrerManifest(staleImage.descriptor, 'application/vnd.example.sig', {});
// Documents that came inside a signature envelope, per image: recorded as signed, with the
// envelope's verification failed, verified, or not yet run in this repository (a copy just linked).
const DOC = 'application/vnd.example.document';
const cases = ['unsigned', 'verified', 'failed', 'not-yet-verified'] as const;
type Case = (typeof cases)[number];
const documented = Object.fromEntries(
  cases.map((c) => {
    const subject = imageManifest();
    return [
      c,
      {
        subject,
        attestation: referrerManifest(subject.descriptor, DOC),
        sbom: referrerManifest(subject.descriptor, DOC),
      },
    ];
  }),
) as Record<Case, { subject: BuiltManifest; attestation: BuiltManifest; sbom: BuiltManifest }>;

let world: TeamWorld;
let refgraph: StartedRefgraph;

const post = (path: string, body: unknown) => postJson(refgraph.url, READER, path, body);

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
    ],
  });
  refgraph = world.refgraph;
  const { trust } = world;
  const repo = world.repositoryIds.a;
  const push = (m: BuiltManifest, tag?: string) => world.push('a', m, tag);
  await push(image, 'v1');
  await push(forged);
  await push(staleImage, 'stale');
  await push(staleSig);
  // A statement claiming the trusted builder, in an envelope whose signature did not verify.
  await trust.upsertAttestations([
    {
      artifactDigest: forged.digest,
      layerDigest: '',
      subjectDigest: image.digest,
      predicateType: SLSA,
      statement: {},
      builderId: TRUSTED_BUILDER,
    },
  ]);
  await trust.upsertSignatures([
    {
      artifactDigest: forged.digest,
      layerDigest: '',
      subjectDigest: image.digest,
      repositoryId: repo,
      kind: 'attestation',
      format: 'dsse',
      status: 'failed',
      reason: 'signature_mismatch',
      message: null,
      identity: null,
      issuer: null,
      authority: null,
      policyVersion: refgraph.running.runtime.trustVersion,
    },
    {
      artifactDigest: staleSig.digest,
      layerDigest: '',
      subjectDigest: staleImage.digest,
      repositoryId: repo,
      kind: 'signature',
      format: 'sigstore-bundle',
      status: 'verified',
      reason: 'verified',
      message: null,
      identity: 'https://ci.example/a',
      issuer: 'https://issuer.example',
      authority: 'ci',
      policyVersion: 'a-superseded-trust-policy',
    },
  ]);
  for (const c of cases) {
    const { subject, attestation, sbom } = documented[c];
    await push(subject, c);
    await push(attestation);
    await push(sbom);
    const signed = c !== 'unsigned';
    await trust.upsertAttestations([
      {
        artifactDigest: attestation.digest,
        layerDigest: '',
        subjectDigest: subject.digest,
        predicateType: SLSA,
        statement: {},
        builderId: TRUSTED_BUILDER,
        signed,
      },
    ]);
    await trust.upsertSbom({
      artifactDigest: sbom.digest,
      layerDigest: '',
      subjectDigest: subject.digest,
      format: 'spdx',
      specVersion: 'SPDX-2.3',
      name: c,
      parseError: null,
      signed,
      packages: [],
    });
    if (c !== 'verified' && c !== 'failed') continue;
    await trust.upsertSignatures(
      [attestation, sbom].map((envelope) => ({
        artifactDigest: envelope.digest,
        layerDigest: '',
        subjectDigest: subject.digest,
        repositoryId: repo,
        kind: 'attestation' as const,
        format: 'sigstore-bundle',
        status: c,
        reason: c === 'verified' ? 'verified' : 'signature_mismatch',
        message: null,
        identity: null,
        issuer: null,
        authority: null,
        policyVersion: refgraph.running.runtime.trustVersion,
      })),
    );
  }
}, 120_000);

afterAll(async () => {
  await world?.close();
});

describe('verdicts on evidence refgraph has not verified', () => {
  it('an attestation whose envelope failed verification does not satisfy a requirement', async () => {
    const v = await post('/api/v1/verdict', { policy: 'built-by-ci', subjects: ['local/team-a/app:v1'] });
    expect(v.status).toBe(200);
    expect(v.body.subjects[0].requirements[0].evidence[0].nested).toEqual([
      expect.objectContaining({ status: 'failed' }),
    ]);
    expect(v.body.subjects[0]).toMatchObject({ allowed: false });
    expect(v.body.allowed).toBe(false);
  });

  it('a result stored under a superseded trust policy is not evidence until it is re-verified', async () => {
    const v = await post('/api/v1/verdict', { policy: 'signed', subjects: ['local/team-a/app:stale'] });
    expect(v.status).toBe(200);
    expect(v.body.subjects[0].requirements[0].evidence).toHaveLength(1);
    expect(v.body.subjects[0]).toMatchObject({ allowed: false });
  });

  it.each(cases)(
    'a document that came signed counts only once its envelope verified in the repository: %s',
    async (c) => {
      const allowed = c === 'unsigned' || c === 'verified';
      const provenance = await post('/api/v1/verdict', {
        policy: 'built-by-ci',
        subjects: [`local/team-a/app:${c}`],
      });
      expect(provenance.status).toBe(200);
      expect(provenance.body.subjects[0]).toMatchObject({
        subject: documented[c].subject.digest,
        allowed,
        codes: allowed ? [] : ['attestation_not_satisfied'],
      });
      const sbom = await post('/api/v1/verdict', { policy: 'has-sbom', subjects: [`local/team-a/app:${c}`] });
      expect(sbom.status).toBe(200);
      expect(sbom.body.subjects[0]).toMatchObject({ allowed, codes: allowed ? [] : ['sbom_not_verified'] });
      expect(sbom.body.subjects[0].requirements[0].evidence).toEqual([
        expect.objectContaining({
          artifact: documented[c].sbom.digest,
          status: allowed ? 'satisfied' : 'unsatisfied',
        }),
      ]);
    },
  );

  it('a policy that requires nothing is refused at start-up (it would allow every known image)', () => {
    expect(() => parseConfig({ policies: [{ name: 'nothing-required' }] }, {})).toThrow();
    expect(() =>
      parseConfig({ policies: [{ name: 'no-sbom', sbom: false, attestations: [] }] }, {}),
    ).toThrow();
  });
});

// Capped evidence reads keep the rows a verdict can use: rows that can never count, however many
// and however their digests sort, do not push out the one that does.
import {
  Database,
  GraphRepository,
  ReadRepository,
  RegistryRepository,
  TrustRepository,
  type SignatureRecord,
} from '#store';
import {
  createTestDatabase,
  imageManifest,
  inDigestOrder,
  kindOf,
  layeredReferrer,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';

const SCOPE = ['local/team-a/**'];
const SIG = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const ATT = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SLSA = 'https://slsa.dev/provenance/v1';
const IN_FORCE = 'trust-in-force';

let tdb: TestDatabase;
let db: Database;
let read: ReadRepository;
let trust: TrustRepository;
let repositoryId: number;
let push: (m: BuiltManifest, tag?: string) => Promise<void>;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  read = new ReadRepository(db);
  trust = new TrustRepository(db);
  const registries = new RegistryRepository(db);
  const graph = new GraphRepository(db);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  repositoryId = await registries.ensureRepository(row!.id, 'team-a/app');
  push = async (m, tag) => {
    await graph.applyPush({
      repositoryId,
      manifest: m.parsed,
      kind: kindOf(m),
      bytes: m.bytes,
      tag,
      eventAt: new Date(),
    });
  };
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

/** One verification row per layer of `carrier` (over `subject`), as the verify job writes them. */
function outcomes(
  carrier: BuiltManifest,
  subject: string,
  kind: 'signature' | 'attestation',
  status: SignatureRecord['status'],
  policyVersion = IN_FORCE,
  authority = 'ci',
): SignatureRecord[] {
  return carrier.parsed.layers.map((l) => ({
    artifactDigest: carrier.digest,
    layerDigest: l.digest,
    subjectDigest: subject,
    repositoryId,
    kind,
    format: 'sigstore-bundle',
    status,
    reason: status === 'verified' ? 'verified' : 'signature_mismatch',
    message: null,
    authority: status === 'verified' ? authority : null,
    policyVersion,
  }));
}

/** An attestation row per layer of `carrier`, a statement (SLSA unless said) about `subject`. */
async function statements(
  carrier: BuiltManifest,
  subject: string,
  signed: boolean,
  parseError?: string,
  predicateType = SLSA,
) {
  await trust.upsertAttestations(
    carrier.parsed.layers.map((l) => ({
      artifactDigest: carrier.digest,
      layerDigest: l.digest,
      subjectDigest: subject,
      predicateType,
      statement: {},
      builderId: 'https://ci.example/builder',
      signed,
      parseError: parseError ?? null,
    })),
  );
}

describe('capped signature reads', () => {
  it('keep a verified signature whose digest sorts after more failed ones than the cap', async () => {
    const image = imageManifest();
    const [junk, valid] = inDigestOrder(2, () => layeredReferrer(image.descriptor, SIG, 5));
    for (const m of [image, junk!, valid!]) await push(m);
    await trust.upsertSignatures([
      ...outcomes(junk!, image.digest, 'signature', 'failed'),
      ...outcomes(valid!, image.digest, 'signature', 'verified').slice(0, 1),
    ]);
    const rows = await read.findSignatures(SCOPE, [image.digest], {
      by: 'subject',
      kind: 'signature',
      limit: 3,
    });
    expect(rows).toHaveLength(3);
    expect(rows.filter((r) => r.status === 'verified').map((r) => r.artifactDigest)).toEqual([valid!.digest]);
    // The output keeps its order: by artifact, then layer.
    expect(rows.map((r) => `${r.artifactDigest} ${r.layerDigest}`)).toEqual(
      rows.map((r) => `${r.artifactDigest} ${r.layerDigest}`).sort(),
    );
    const [grouped] = await read.findSignaturesByScope([{ scope: SCOPE, digests: [image.digest] }], {
      by: 'subject',
      kind: 'signature',
      limit: 3,
    });
    expect(grouped).toEqual(rows);
  });

  it('rank rows verified under the trust version in force before those verified under another', async () => {
    const image = imageManifest();
    const [stale, fresh] = inDigestOrder(2, () => layeredReferrer(image.descriptor, SIG, 3));
    for (const m of [image, stale!, fresh!]) await push(m);
    await trust.upsertSignatures([
      ...outcomes(stale!, image.digest, 'signature', 'verified', 'a-superseded-version'),
      ...outcomes(fresh!, image.digest, 'signature', 'verified').slice(0, 1),
    ]);
    const rows = await read.findSignatures(SCOPE, [image.digest], {
      by: 'subject',
      kind: 'signature',
      limit: 2,
      trustVersion: IN_FORCE,
    });
    expect(rows.filter((r) => r.policyVersion === IN_FORCE).map((r) => r.artifactDigest)).toEqual([
      fresh!.digest,
    ]);
  });

  it('rank signatures verified by the authorities asked for before ones verified by others', async () => {
    // Another authority of the trust policy (CI signing everything) is not the one a policy asks
    // for (release): its signatures verify, and still never count for that policy.
    const image = imageManifest();
    const [other, wanted] = inDigestOrder(2, () => layeredReferrer(image.descriptor, SIG, 3));
    for (const m of [image, other!, wanted!]) await push(m);
    await trust.upsertSignatures([
      ...outcomes(other!, image.digest, 'signature', 'verified', IN_FORCE, 'ci'),
      ...outcomes(wanted!, image.digest, 'signature', 'verified', IN_FORCE, 'release').slice(0, 1),
    ]);
    const [rows] = await read.findSignaturesByScope([{ scope: SCOPE, digests: [image.digest] }], {
      by: 'subject',
      kind: 'signature',
      limit: 2,
      trustVersion: IN_FORCE,
      authorities: ['release'],
    });
    expect(rows).toHaveLength(2);
    expect(rows!.filter((r) => r.authority === 'release').map((r) => r.artifactDigest)).toEqual([
      wanted!.digest,
    ]);
  });

  it("keep an attestation's verified envelope under failed signatures over its manifest (by either)", async () => {
    const image = imageManifest();
    // The signatures over the attestation manifest share its partition and sort before it.
    let att: BuiltManifest;
    let junk: BuiltManifest;
    do {
      att = referrerManifest(image.descriptor, ATT);
      junk = layeredReferrer(att.descriptor, SIG, 5);
    } while (junk.digest > att.digest);
    for (const m of [image, att, junk]) await push(m);
    await trust.upsertSignatures([
      ...outcomes(junk, att.digest, 'signature', 'failed'),
      ...outcomes(att, image.digest, 'attestation', 'verified'),
    ]);
    const rows = await read.findSignatures(SCOPE, [att.digest], { by: 'either', limit: 3 });
    expect(rows).toHaveLength(3);
    expect(rows.filter((r) => r.kind === 'attestation')).toEqual([
      expect.objectContaining({
        artifactDigest: att.digest,
        subjectDigest: image.digest,
        status: 'verified',
      }),
    ]);
  });
});

describe('capped attestation reads', () => {
  it('keep a statement whose envelope verified over more same-type statements that never count', async () => {
    const image = imageManifest();
    const [junk, unreadable, valid] = inDigestOrder(3, () => layeredReferrer(image.descriptor, ATT, 3));
    for (const m of [image, junk!, unreadable!, valid!]) await push(m);
    // Signed statements whose envelopes failed, or were never verified, and unreadable ones.
    await statements(junk!, image.digest, true);
    await statements(unreadable!, image.digest, false, 'not an in-toto statement');
    await statements(valid!, image.digest, true);
    await trust.upsertSignatures([
      ...outcomes(junk!, image.digest, 'attestation', 'failed').slice(0, 2),
      ...outcomes(valid!, image.digest, 'attestation', 'verified').slice(0, 1),
    ]);
    const opts = { by: 'subject' as const, limit: 2 };
    const rows = await read.findAttestations(SCOPE, [image.digest], opts);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => `${r.artifactDigest} ${r.layerDigest}`)).toContain(
      `${valid!.digest} ${valid!.parsed.layers[0]!.digest}`,
    );
    const [grouped] = await read.findAttestationsByScope([{ scope: SCOPE, digests: [image.digest] }], opts);
    expect(grouped).toEqual(rows);
  });

  it('keep an unsigned statement with a verified signature over its manifest over unsigned ones without', async () => {
    const image = imageManifest();
    const [junk, valid] = inDigestOrder(2, () => layeredReferrer(image.descriptor, ATT, 3));
    const signature = referrerManifest(valid!.descriptor, SIG);
    for (const m of [image, junk!, valid!, signature]) await push(m);
    await statements(junk!, image.digest, false);
    await statements(valid!, image.digest, false);
    await trust.upsertSignatures(outcomes(signature, valid!.digest, 'signature', 'verified'));
    const rows = await read.findAttestations(SCOPE, [image.digest], { by: 'subject', limit: 1 });
    expect(rows.map((r) => r.artifactDigest)).toEqual([valid!.digest]);
  });

  it('read only the predicate types asked for: statements of others never push one out', async () => {
    const image = imageManifest();
    const [other, valid] = inDigestOrder(2, () => layeredReferrer(image.descriptor, ATT, 3));
    for (const m of [image, other!, valid!]) await push(m);
    // Verified statements of a type that sorts first and that no requirement asks for.
    await statements(other!, image.digest, true, undefined, 'https://example.com/a-type');
    await statements(valid!, image.digest, true);
    await trust.upsertSignatures([
      ...outcomes(other!, image.digest, 'attestation', 'verified'),
      ...outcomes(valid!, image.digest, 'attestation', 'verified').slice(0, 1),
    ]);
    const [rows] = await read.findAttestationsByScope([{ scope: SCOPE, digests: [image.digest] }], {
      by: 'subject',
      limit: 2,
      trustVersion: IN_FORCE,
      predicateTypes: [SLSA],
    });
    expect(rows!.map((r) => [r.artifactDigest, r.predicateType])).toContainEqual([valid!.digest, SLSA]);
    expect(rows!.filter((r) => r.predicateType !== SLSA)).toEqual([]);
  });

  it('keep an unsigned statement over signed ones whose envelopes failed', async () => {
    const image = imageManifest();
    const [junk, valid] = inDigestOrder(2, () => layeredReferrer(image.descriptor, ATT, 3));
    for (const m of [image, junk!, valid!]) await push(m);
    await statements(junk!, image.digest, true);
    await trust.upsertSignatures(outcomes(junk!, image.digest, 'attestation', 'failed'));
    await statements(valid!, image.digest, false);
    const rows = await read.findAttestations(SCOPE, [image.digest], { by: 'subject', limit: 1 });
    expect(rows).toEqual([expect.objectContaining({ artifactDigest: valid!.digest, signed: false })]);
  });
});

describe('capped policy SBOM reads', () => {
  /** An SBOM row per layer of `carrier`, describing `subject`. */
  const sboms = async (carrier: BuiltManifest, subject: string, signed: boolean, layers = Infinity) => {
    for (const l of carrier.parsed.layers.slice(0, layers)) {
      await trust.upsertSbom({
        artifactDigest: carrier.digest,
        layerDigest: l.digest,
        subjectDigest: subject,
        format: 'spdx',
        specVersion: 'SPDX-2.3',
        name: null,
        parseError: null,
        signed,
        packages: [],
      });
    }
  };

  it('keep a signed SBOM whose envelope verified over more signed ones whose envelopes failed', async () => {
    const image = imageManifest();
    const [junk, valid] = inDigestOrder(2, () => layeredReferrer(image.descriptor, ATT, 100));
    for (const m of [image, junk!, valid!]) await push(m);
    await sboms(junk!, image.digest, true);
    await sboms(valid!, image.digest, true);
    await trust.upsertSignatures([
      ...outcomes(junk!, image.digest, 'attestation', 'failed'),
      ...outcomes(valid!, image.digest, 'attestation', 'verified').slice(0, 1),
    ]);
    const [rows] = await read.findPolicySbomsByScope([{ scope: SCOPE, digests: [image.digest] }]);
    expect(rows).toHaveLength(100);
    expect(rows!.filter((r) => r.artifactDigest === valid!.digest)).toEqual([
      expect.objectContaining({ layerDigest: valid!.parsed.layers[0]!.digest, signed: true }),
    ]);
  });

  it('keep unsigned SBOMs (they count as they are) and verified signed ones alike, before the rest', async () => {
    const image = imageManifest();
    const [junk, unsigned, valid] = inDigestOrder(3, () => layeredReferrer(image.descriptor, ATT, 100));
    for (const m of [image, junk!, unsigned!, valid!]) await push(m);
    await sboms(junk!, image.digest, true);
    await trust.upsertSignatures(outcomes(junk!, image.digest, 'attestation', 'failed'));
    await sboms(unsigned!, image.digest, false, 1);
    await sboms(valid!, image.digest, true, 1);
    await trust.upsertSignatures(outcomes(valid!, image.digest, 'attestation', 'verified').slice(0, 1));
    const [rows] = await read.findPolicySbomsByScope([{ scope: SCOPE, digests: [image.digest] }]);
    expect(rows).toHaveLength(100);
    // Unsigned first, then signed whose envelope verified (the output's order is the rank).
    expect(rows!.slice(0, 3).map((r) => [r.artifactDigest, r.signed])).toEqual([
      [unsigned!.digest, false],
      [valid!.digest, true],
      [junk!.digest, true],
    ]);
  });
});

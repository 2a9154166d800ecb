import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createClient } from 'graphql-ws';
import type { SignatureRecord, TrustRepository } from '#store';
import { imageManifest, referrerManifest, type BuiltManifest } from '#testing';
import { eventually, startTeamWorld, type StartedRefgraph, type TeamWorld } from './harness.js';

/**
 * One image (the same digest) lives in team-a/app and team-b/app, each repository with its own
 * signatures, SBOM, attestation, tags and cosign `.sig`. A token scoped to team-a must see all of
 * team-a's and nothing of team-b's, through every read route and protocol.
 */
const READER = randomBytes(16).toString('hex');
const ADMIN = randomBytes(16).toString('hex');

const image = imageManifest();
const hex = image.digest.slice('sha256:'.length);
const SIG = 'application/vnd.example.sig';
const SBOM = 'application/spdx+json';
const mk = (type: string, who: string) =>
  referrerManifest(image.descriptor, type, { 'org.example/owner': who });
const a = { sig: mk(SIG, 'a'), sbom: mk(SBOM, 'a'), cosign: imageManifest() };
const b = {
  sig: mk(SIG, 'b'),
  sbom: mk(SBOM, 'b'),
  cosign: imageManifest(),
  att: mk('application/vnd.in-toto+json', 'b'),
};
const onlyB = imageManifest();
const SECRET_PURL = 'pkg:npm/team-b-secret@1.0.0';
const OWN_PURL = 'pkg:npm/team-a-lib@2.0.0';

let world: TeamWorld;
let refgraph: StartedRefgraph;
let trust: TrustRepository;

const call = (path: string, token = READER, init: RequestInit = {}) =>
  fetch(`${refgraph.url}${path}`, {
    ...init,
    headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}` },
  });
const json = async (path: string, token = READER, init: RequestInit = {}) => {
  const res = await call(path, token, init);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const post = (path: string, body: unknown, token = READER) =>
  json(path, token, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
const gql = async (query: string, token = READER) =>
  (await post('/graphql', { query }, token)).body as { data?: any; errors?: unknown[] };

const B_DIGESTS = [b.sig.digest, b.sbom.digest, b.cosign.digest, b.att.digest, onlyB.digest];
const A_DIGESTS = [a.sig.digest, a.sbom.digest, a.cosign.digest];

function signatureRow(
  sig: BuiltManifest,
  repo: 'a' | 'b',
  extra: Partial<SignatureRecord> = {},
): SignatureRecord {
  return {
    artifactDigest: sig.digest,
    layerDigest: '',
    subjectDigest: image.digest,
    repositoryId: world.repositoryIds[repo],
    kind: 'signature',
    format: 'sigstore-bundle',
    status: 'verified',
    reason: 'verified',
    message: null,
    identity: `https://ci.example/${repo}`,
    issuer: 'https://issuer.example',
    authority: 'ci',
    policyVersion: refgraph.running.runtime.trustVersion,
    ...extra,
  };
}

beforeAll(async () => {
  world = await startTeamWorld({
    tokens: [
      { name: 'team-a', secret: READER, scopes: ['read:local/team-a/**'] },
      { name: 'ops', secret: ADMIN, scopes: ['admin'] },
    ],
    trust: {
      authorities: [
        { name: 'ci', keyless: { issuer: 'https://issuer.example', subject: 'https://ci.example/a' } },
      ],
    },
    policies: [
      { name: 'signed', signatures: { authorities: ['ci'] } },
      { name: 'sbom', sbom: true },
      { name: 'provenance', attestations: [{ predicateType: 'https://slsa.dev/provenance/v1' }] },
    ],
  });
  ({ refgraph, trust } = world);
  const push = world.push;
  await push('a', image, 'v1');
  await push('b', image, 'b-only');
  await push('b', onlyB, 'hidden');
  await push('a', a.sig);
  await push('a', a.sbom);
  await push('a', a.cosign, `sha256-${hex}.sig`);
  await push('b', b.sig);
  await push('b', b.sbom);
  await push('b', b.att);
  await push('b', b.cosign, `sha256-${hex}.sig`);
  // Someone copies team-a's signature into team-b, whose rule does not trust it.
  await push('b', a.sig);
  // Results as the trust pipeline stores them: one row per repository whose rule decided it.
  await trust.upsertSignatures([
    signatureRow(a.sig, 'a'),
    signatureRow(a.cosign, 'a', { format: 'cosign' }),
    signatureRow(b.sig, 'b', { identity: 'https://ci.example/secret-b' }),
    signatureRow(b.cosign, 'b', { format: 'cosign' }),
    signatureRow(b.att, 'b', { kind: 'attestation', format: 'sigstore-bundle' }),
    signatureRow(a.sig, 'b', { status: 'failed', reason: 'key_mismatch', authority: null }),
  ]);
  await trust.upsertAttestations([
    {
      artifactDigest: b.att.digest,
      layerDigest: '',
      subjectDigest: image.digest,
      predicateType: 'https://slsa.dev/provenance/v1',
      statement: {},
      builderId: 'https://ci.example/secret-builder',
    },
  ]);
  for (const [m, purl] of [
    [a.sbom, OWN_PURL],
    [b.sbom, SECRET_PURL],
  ] as const) {
    await trust.upsertSbom({
      artifactDigest: m.digest,
      layerDigest: '',
      subjectDigest: image.digest,
      format: 'spdx',
      specVersion: 'SPDX-2.3',
      name: purl,
      parseError: null,
      packages: [{ name: purl, version: '1', purl, purlBase: purl.split('@')[0]!, licenses: [] }],
    });
  }
}, 120_000);

afterAll(async () => {
  await world?.close();
});

/** Nothing of team-b's in a response: no digest of its artifacts, no identity, no purl, no repository. */
function expectNothingOfB(text: string) {
  for (const d of B_DIGESTS) expect(text).not.toContain(d);
  expect(text).not.toContain('team-b');
  expect(text).not.toContain('secret');
}

describe('a token scoped to team-a learns nothing of team-b', () => {
  it('REST: summary, referrers, signatures, attestations, packages, search, resolve, registries', async () => {
    const summary = await json(`/api/v1/artifacts/${image.digest}`);
    expect(summary.status).toBe(200);
    expect(summary.body.locations).toEqual([{ registry: 'local', repository: 'team-a/app', tags: ['v1'] }]);
    expect(summary.body.signatures).toMatchObject({ total: 2, verified: 2 });
    expect(summary.body.sboms).toBe(1);
    expect(summary.body.attestations).toEqual({});
    expectNothingOfB(JSON.stringify(summary.body));

    const referrers = await json(`/api/v1/artifacts/${image.digest}/referrers`);
    expect(referrers.status).toBe(200);
    const listed = (referrers.body.referrers as Array<{ digest: string }>).map((r) => r.digest).sort();
    expect(listed).toEqual([...A_DIGESTS].sort());
    expectNothingOfB(JSON.stringify(referrers.body));

    const signatures = await json(`/api/v1/artifacts/${image.digest}/signatures`);
    expect(
      (signatures.body.signatures as Array<{ artifactDigest: string }>).map((s) => s.artifactDigest).sort(),
    ).toEqual([a.sig.digest, a.cosign.digest].sort());
    expectNothingOfB(JSON.stringify(signatures.body));

    const attestations = await json(`/api/v1/artifacts/${image.digest}/attestations`);
    expect(attestations.body.attestations).toEqual([]);

    const packages = await json(`/api/v1/artifacts/${image.digest}/sbom/packages`);
    expect((packages.body.packages as Array<{ purl: string }>).map((p) => p.purl)).toEqual([OWN_PURL]);

    expect((await json(`/api/v1/packages?purl=${encodeURIComponent(SECRET_PURL)}`)).body.artifacts).toEqual(
      [],
    );
    expect((await json(`/api/v1/packages?purl=${encodeURIComponent(OWN_PURL)}`)).body.artifacts).toEqual([
      expect.objectContaining({ digest: image.digest }),
    ]);

    // Another spelling of the same purl (an encoded letter) finds it: searches compare canonical forms.
    expect(
      (
        await json(
          `/api/v1/packages?purl=${encodeURIComponent(OWN_PURL.replace('pkg:npm/t', 'pkg:npm/%74'))}`,
        )
      ).body.artifacts,
    ).toEqual([expect.objectContaining({ digest: image.digest })]);
    expect((await json(`/api/v1/resolve?reference=local/team-b/app:b-only`)).status).toBe(404);
    expect((await json(`/api/v1/resolve?reference=local/team-a/app:b-only`)).status).toBe(404);
    expect((await json(`/api/v1/resolve?reference=${onlyB.digest}`)).status).toBe(404);
    expect((await json(`/api/v1/artifacts/${onlyB.digest}`)).status).toBe(404);
    expect((await json(`/api/v1/resolve?reference=local/team-a/app:v1`)).body.digest).toBe(image.digest);
    // Out of scope, a configured registry and an unknown one answer alike.
    const outside = await Promise.all(
      ['local', 'nowhere'].map(
        async (r) => (await json(`/api/v1/resolve?reference=${r}/team-b/app:v1`)).body,
      ),
    );
    expect(outside.map((b) => [b.error.code, b.error.reason])).toEqual([
      ['not_found', 'not_in_scope'],
      ['not_found', 'not_in_scope'],
    ]);

    const registries = await json('/api/v1/registries');
    expect(registries.body.registries).toEqual([expect.objectContaining({ name: 'local', repositories: 1 })]);
    expect(registries.body.registries[0].failedEvents).toBeNull();
  });

  it('the admin sees both repositories (the fixture really has team-b content)', async () => {
    const summary = await json(`/api/v1/artifacts/${image.digest}`, ADMIN);
    expect(summary.body.locations).toHaveLength(2);
    expect(summary.body.signatures.total).toBe(5);
    const referrers = await json(`/api/v1/artifacts/${image.digest}/referrers`, ADMIN);
    expect(referrers.body.referrers).toHaveLength(A_DIGESTS.length + 4);
    expect(
      (await json(`/api/v1/packages?purl=${encodeURIComponent(SECRET_PURL)}`, ADMIN)).body.artifacts,
    ).toHaveLength(1);
  });

  it('verdicts and Gatekeeper count only evidence the rule of the named repository sees', async () => {
    const v = await post('/api/v1/verdict', {
      policy: 'provenance',
      subjects: ['local/team-a/app:v1', image.digest, 'local/team-b/app:b-only'],
    });
    expect(v.status).toBe(200);
    expect(v.body.allowed).toBe(false);
    expect(v.body.subjects.map((s: any) => [s.allowed, s.codes])).toEqual([
      [false, ['no_attestation']],
      [false, ['no_attestation']],
      [false, ['not_in_scope']],
    ]);
    // Nothing of team-b's beyond the reference the caller itself sent.
    expectNothingOfB(
      JSON.stringify({
        ...v.body,
        subjects: v.body.subjects.map((x: any) => ({
          ...x,
          reference: '',
          reasons: x.subject ? x.reasons : [],
        })),
      }),
    );
    // The admin reading team-b's image finds team-b's provenance: the evidence exists.
    const admin = await post(
      '/api/v1/verdict',
      { policy: 'provenance', subjects: ['local/team-b/app:b-only'] },
      ADMIN,
    );
    expect(admin.body.subjects[0].allowed).toBe(true);
    const adminA = await post(
      '/api/v1/verdict',
      { policy: 'provenance', subjects: ['local/team-a/app:v1'] },
      ADMIN,
    );
    expect(adminA.body.subjects[0]).toMatchObject({ allowed: false, codes: ['no_attestation'] });

    const gk = await post('/api/v1/gatekeeper/sbom', {
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'ProviderRequest',
      request: { keys: ['127.0.0.1:9/team-a/app:v1', '127.0.0.1:9/team-b/app:b-only'] },
    });
    const items = gk.body.response.items;
    expect(items[0]).toMatchObject({ key: '127.0.0.1:9/team-a/app:v1', value: { allowed: true } });
    expect(items[1]).toMatchObject({
      key: '127.0.0.1:9/team-b/app:b-only',
      value: { allowed: false, codes: ['not_in_scope'] },
    });
    expect(items[1].error).toEqual(expect.any(String));
  });

  it("a copy of a signature in another repository never changes the original repository's verdict", async () => {
    for (const token of [READER, ADMIN]) {
      const v = await post('/api/v1/verdict', { policy: 'signed', subjects: ['local/team-a/app:v1'] }, token);
      expect(v.body.subjects[0]).toMatchObject({ allowed: true, codes: [] });
      const used = v.body.subjects[0].requirements[0].evidence.map((e: any) => [e.artifact, e.repository]);
      expect(used).toContainEqual([a.sig.digest, 'local/team-a/app']);
    }
    // The admin sees the copy's own result in team-b, decided by team-b's rule.
    const sigs = await json(`/api/v1/artifacts/${image.digest}/signatures`, ADMIN);
    const copy = (sigs.body.signatures as any[]).filter((x) => x.artifactDigest === a.sig.digest);
    expect(copy.map((x) => [x.repository, x.status]).sort()).toEqual([
      ['local/team-a/app', 'verified'],
      ['local/team-b/app', 'failed'],
    ]);
  });

  it('GraphQL: artifact, references, nested fields and package search', async () => {
    const r = await gql(`{
      artifact(digest: "${image.digest}") {
        digest tags repositories { repository }
        signatures { artifactDigest identity }
        attestations { predicateType builderId }
        sbom { name packages(first: 10) { edges { node { purl } } } }
        sboms { name }
        referrers(first: 50) { edges { node { digest verification { identity } } } }
      }
      byB: artifact(reference: "local/team-b/app:b-only") { digest }
      hidden: artifact(digest: "${onlyB.digest}") { digest }
      bPurl: packages(purl: "${SECRET_PURL}") { digest }
      own: packages(purl: "${OWN_PURL}") { digest }
      artifacts(first: 100) { edges { node { digest } } }
    }`);
    expect(r.errors).toBeUndefined();
    const d = r.data;
    expect(d.artifact.tags).toEqual(['local/team-a/app:v1']);
    expect(d.artifact.repositories).toEqual([{ repository: 'team-a/app' }]);
    expect(d.artifact.signatures.map((s: any) => s.artifactDigest).sort()).toEqual(
      [a.sig.digest, a.cosign.digest].sort(),
    );
    expect(d.artifact.attestations).toEqual([]);
    expect(d.artifact.sboms).toEqual([{ name: OWN_PURL }]);
    expect(d.artifact.referrers.edges.map((e: any) => e.node.digest).sort()).toEqual([...A_DIGESTS].sort());
    expect(d.byB).toBeNull();
    expect(d.hidden).toBeNull();
    expect(d.bPurl).toEqual([]);
    expect(d.own).toEqual([{ digest: image.digest }]);
    expectNothingOfB(JSON.stringify(d));
  });

  it('the OCI referrers API: team-b is refused, team-a lists its own referrers only', async () => {
    const refused = await call(`/v2/local/team-b/app/referrers/${image.digest}`);
    expect([401, 403, 404]).toContain(refused.status);
    const own = await call(`/v2/local/team-a/app/referrers/${image.digest}`);
    expect(own.status).toBe(200);
    const text = await own.text();
    for (const dgst of A_DIGESTS) expect(text).toContain(dgst);
    expectNothingOfB(text);
  });

  it('verificationChanged delivers results of team-a repositories only', async () => {
    // graphql-ws needs a WebSocket implementation on Node 20; `ws` is the one mercurius uses.
    const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: unknown };
    const client = createClient({
      url: `${refgraph.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${READER}` },
    });
    const received: Array<{ artifactDigest: string; status: string }> = [];
    const errors: unknown[] = [];
    client.subscribe(
      {
        query: 'subscription ($s: String!) { verificationChanged(subject: $s) { artifactDigest status } }',
        variables: { s: image.digest },
      },
      {
        next: (v) => received.push((v.data as any).verificationChanged),
        error: (e) => errors.push(e),
        complete: () => undefined,
      },
    );
    try {
      // Probe with team-a results until the subscription is live.
      await eventually(async () => {
        await trust.upsertSignatures([signatureRow(a.sig, 'a', { status: 'pending' })]);
        expect(received.length).toBeGreaterThan(0);
      }, 20_000);
      // A marker after the probes: once it is the last event, every probe's event has arrived.
      await trust.upsertSignatures([signatureRow(a.sig, 'a', { status: 'no_authority' })]);
      await eventually(async () => expect(received.at(-1)?.status).toBe('no_authority'), 20_000);
      const before = received.length;
      // Events arrive in order on one listener: team-b's change comes first and must be dropped.
      await trust.upsertSignatures([signatureRow(b.sig, 'b', { status: 'failed', reason: 'key_mismatch' })]);
      await trust.upsertSignatures([signatureRow(a.sig, 'a', { status: 'verified' })]);
      await eventually(async () => expect(received.length).toBeGreaterThan(before), 20_000);
      expect(received.slice(before)).toEqual([{ artifactDigest: a.sig.digest, status: 'verified' }]);
      expect(errors).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});

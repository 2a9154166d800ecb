import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  artifactManifest,
  createTestDatabase,
  descriptorOf,
  pushImage,
  randomImage,
  startRegistry,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { eventually, startRecordingForwarder, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * Evidence for a verdict about `<registry>/<repository>` must be linked to the subject in that
 * repository. Here prod holds image Y with an SBOM and a provenance statement (both with OCI
 * `subject: Y`) and image X with neither. Someone who may pull from prod and push only to
 * team-a/tools pushes byte-identical copies of Y's SBOM and provenance there, tagged
 * `sha256-<X>.sbom` and `sha256-<X>.att`. refgraph links them to X in team-a/tools and the verify
 * job writes SBOM and attestation rows for subject X; those rows must not count for prod, where
 * nothing links them to X.
 */
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const HOOK = randomBytes(16).toString('hex');
const ADMISSION = randomBytes(16).toString('hex');
const PROD_VIEWER = randomBytes(16).toString('hex');
const SLSA = 'https://slsa.dev/provenance/v1';
const TRUSTED_BUILDER = 'https://ci.example/trusted-builder';
const IN_TOTO = 'application/vnd.in-toto+json';

let tdb: TestDatabase;
let db: pg.Client;
let registry: TestRegistry;
let refgraph: StartedRefgraph;
let refgraphUrl = '';
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;

const x = randomImage();
const y = randomImage();
const sbomOfY = artifactManifest({
  subject: descriptorOf(y),
  artifactType: 'application/spdx+json',
  layers: [
    {
      mediaType: 'application/spdx+json',
      bytes: Buffer.from(
        JSON.stringify({
          spdxVersion: 'SPDX-2.3',
          name: 'y',
          packages: [{ name: 'libc', versionInfo: '1.0', SPDXID: 'SPDXRef-1' }],
        }),
      ),
    },
  ],
});
const provenanceOfY = artifactManifest({
  subject: descriptorOf(y),
  artifactType: IN_TOTO,
  layers: [
    {
      mediaType: IN_TOTO,
      bytes: Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'y', digest: { sha256: y.digest.slice('sha256:'.length) } }],
          predicateType: SLSA,
          predicate: { runDetails: { builder: { id: TRUSTED_BUILDER } } },
        }),
      ),
    },
  ],
});

const verdict = async (policy: string, subject: string) => {
  const res = await fetch(`${refgraphUrl}/api/v1/verdict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMISSION}` },
    body: JSON.stringify({ policy, subjects: [subject] }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { allowed: boolean; subjects: Array<{ allowed: boolean; codes: string[] }> };
};

const count = async (sql: string, params: unknown[]) =>
  Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new pg.Client({ connectionString: tdb.url });
  await db.connect();
  forwarder = await startRecordingForwarder(() => refgraphUrl);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: HOOK,
  });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: registry.url,
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
        },
      ],
      policies: [
        { name: 'has-sbom', sbom: true },
        { name: 'built-by-ci', attestations: [{ predicateType: SLSA, builderIds: [TRUSTED_BUILDER] }] },
      ],
      auth: {
        tokens: [
          { name: 'admission', sha256: sha(ADMISSION), scopes: ['read:**'] },
          { name: 'prod-viewer', sha256: sha(PROD_VIEWER), scopes: ['read:local/prod/**'] },
        ],
      },
    },
    { HOOK },
  );
  refgraphUrl = refgraph.url;

  await pushImage(registry.url, 'prod/app', 'v1', y);
  await pushImage(registry.url, 'prod/app', 'v2', x);
  await pushImage(registry.url, 'prod/app', undefined, sbomOfY);
  await pushImage(registry.url, 'prod/app', undefined, provenanceOfY);
  // Y's evidence is recorded and counts for Y: the fixture is not vacuous.
  await eventually(async () => {
    expect(await count('SELECT count(*) AS n FROM sbom WHERE subject_digest = $1', [y.digest])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM attestation WHERE subject_digest = $1', [y.digest])).toBe(
      1,
    );
  }, 60_000);
  expect((await verdict('has-sbom', 'local/prod/app:v1')).allowed).toBe(true);
  expect((await verdict('built-by-ci', 'local/prod/app:v1')).allowed).toBe(true);
  // Both tags are recorded (events are processed in any order): X is known and lacks an SBOM.
  await eventually(async () =>
    expect((await verdict('has-sbom', 'local/prod/app:v2')).subjects[0]!.codes).toEqual(['no_sbom']),
  );

  // team-a/tools: byte-identical copies of prod's SBOM and provenance (anyone who may pull them
  // can), tagged the cosign way for X.
  const xTag = `sha256-${x.digest.slice('sha256:'.length)}`;
  await pushImage(registry.url, 'team-a/tools', `${xTag}.sbom`, sbomOfY);
  await pushImage(registry.url, 'team-a/tools', `${xTag}.att`, provenanceOfY);
  // The tags are ingested and the verify jobs have run again for the new subject.
  await eventually(async () => {
    expect(await count('SELECT count(*) AS n FROM sbom WHERE subject_digest = $1', [x.digest])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM attestation WHERE subject_digest = $1', [x.digest])).toBe(
      1,
    );
  }, 60_000);
}, 180_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await db?.end();
  await tdb?.drop();
});

describe("copies tagged for X in another repository do not lend Y's evidence to prod's X", () => {
  it('an SBOM of Y does not meet the SBOM requirement for prod X', async () => {
    const v = await verdict('has-sbom', 'local/prod/app:v2');
    expect(v.subjects[0]).toMatchObject({ allowed: false, codes: ['no_sbom'] });
  });

  it('provenance of Y does not meet the provenance requirement for prod X', async () => {
    const v = await verdict('built-by-ci', 'local/prod/app:v2');
    expect(v.subjects[0]).toMatchObject({ allowed: false, codes: ['no_attestation'] });
  });

  it("a prod reader's summary of X counts no SBOM and no attestation", async () => {
    const res = await fetch(`${refgraphUrl}/api/v1/artifacts/${x.digest}`, {
      headers: { authorization: `Bearer ${PROD_VIEWER}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { sboms: number; attestations: Record<string, number> };
    // In prod nothing links an SBOM or attestation to X (only team-a/tools does).
    expect({ sboms: body.sboms, attestations: body.attestations }).toEqual({ sboms: 0, attestations: {} });
  });
});

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { graphql, lexicographicSortSchema, printSchema } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import {
  artifactManifest,
  createTestDatabase,
  descriptorOf,
  pushImage,
  randomImage,
  startRegistry,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  eventually,
  localDistribution,
  readStatementsDuring,
  startRefgraph,
  type StartedRefgraph,
} from './harness.js';

// graphql-ws needs a WebSocket implementation on Node 20; `ws` is the one mercurius itself uses.
const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: unknown };

const token = randomBytes(16).toString('hex');
const SBOM = 'application/spdx+json';
const NOTATION = 'application/vnd.cncf.notary.signature';
const PROVENANCE = 'application/vnd.in-toto+json';
const SIGNED = 24;

let tdb: TestDatabase;
let registry: TestRegistry;
let refgraph: StartedRefgraph;

const image = randomImage();
const sbom = artifactManifest({
  subject: descriptorOf(image),
  artifactType: SBOM,
  layers: [{ mediaType: SBOM, bytes: Buffer.from('{"spdxVersion":"SPDX-2.3"}') }],
});
const signature = artifactManifest({ subject: descriptorOf(image), artifactType: NOTATION });
const provenance = artifactManifest({
  subject: descriptorOf(image),
  artifactType: PROVENANCE,
  annotations: { 'org.example.note': 'built in CI' },
});
const provenanceSig = artifactManifest({ subject: descriptorOf(provenance), artifactType: NOTATION });
/** Enough signed images for a 50-artifact page where every artifact has referrers or is one. */
const signedImages = Array.from({ length: SIGNED }, () => randomImage());
const imageSignatures = signedImages.map((i) =>
  artifactManifest({ subject: descriptorOf(i), artifactType: NOTATION }),
);

type Json = Record<string, any>;

async function gql(query: string, variables: Json = {}) {
  const res = await fetch(`${refgraph.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { data?: Json; errors?: Json[] } };
}

async function rest(path: string): Promise<Json> {
  const res = await fetch(`${refgraph.url}${path}`);
  return (await res.json()) as Json;
}

async function sql(text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function push(repo: string, m: PushableContent, tag?: string) {
  await pushImage(registry.url, repo, tag, m);
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  const { freePort } = await import('#store');
  const port = await freePort();
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${port}/webhooks/local`,
    notifyToken: token,
  });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { port },
      registries: [localDistribution(registry.url)],
    },
    { HOOK: token },
  );
  await push('demo', image, 'v1');
  for (const m of [sbom, signature, provenance, provenanceSig]) await push('demo', m);
  for (const [i, img] of signedImages.entries()) {
    await push('fleet', img, `r${i}`);
    await push('fleet', imageSignatures[i]!);
  }
  const [row] = await sql(
    `INSERT INTO sbom (artifact_digest, subject_digest, format, spec_version, name, package_count)
     VALUES ($1, $2, 'spdx', 'SPDX-2.3', 'demo', 3) RETURNING id`,
    [sbom.digest, image.digest],
  );
  await sql(
    `INSERT INTO sbom_package (sbom_id, name, version, purl, purl_base, licenses) VALUES
       ($1, 'lodash', '4.17.21', 'pkg:npm/lodash@4.17.21', 'pkg:npm/lodash', '{MIT}'),
       ($1, 'left-pad', '1.3.0', 'pkg:npm/left-pad@1.3.0', 'pkg:npm/left-pad', '{WTFPL}'),
       ($1, 'zlib', '1.3', 'pkg:deb/debian/zlib@1.3', 'pkg:deb/debian/zlib', '{}')`,
    [row!.id],
  );
  await sql(
    `INSERT INTO attestation (artifact_digest, subject_digest, predicate_type, builder_id, source_repo, vuln_counts)
     VALUES ($1, $2, 'https://slsa.dev/provenance/v1', 'https://ci.example/builder', 'git+https://example/demo',
             '{"critical": 0, "high": 2}')`,
    [provenance.digest, image.digest],
  );
  await eventually(async () => {
    const { body } = await gql(`{ artifacts(first: 100) { edges { node { digest } } } }`);
    expect(body.data!.artifacts.edges).toHaveLength(5 + 2 * SIGNED);
    const deep = await rest(`/api/v1/artifacts/${provenance.digest}/referrers`);
    expect(deep.referrers).toHaveLength(1);
    const last = await rest(`/api/v1/artifacts/${signedImages.at(-1)!.digest}/referrers`);
    expect(last.referrers).toHaveLength(1);
  }, 60_000);
  // Verification results as the trust pipeline stores them, for the repository holding each
  // signature (known once ingested).
  await sql(
    `INSERT INTO signature (artifact_digest, subject_digest, repository_id, kind, format, status, identity, issuer, policy_version)
     SELECT s, d, (SELECT l.repository_id FROM artifact_location l WHERE l.digest = s LIMIT 1), 'signature',
            'notation', 'verified', 'CN=release', NULL, 'v1' FROM unnest($1::text[], $2::text[]) AS x(s, d)`,
    [
      [signature.digest, provenanceSig.digest, ...imageSignatures.map((s) => s.digest)],
      [image.digest, provenance.digest, ...signedImages.map((s) => s.digest)],
    ],
  );
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await tdb?.drop();
});

const ARTIFACT_QUERY = `query ($digest: String, $reference: String) {
  artifact(digest: $digest, reference: $reference) {
    digest mediaType artifactType kind size tags
    annotations { key value }
    repositories { registry repository tags }
    referrers { edges { kind node { digest artifactType kind referrers { edges { node { digest kind } } } } } }
    signatures { artifactDigest status identity format }
    subject { digest }
  }
}`;

describe('GraphQL over a graph built from the real registry', () => {
  it('agrees with REST and the OCI referrers API about the same graph', async () => {
    const { body } = await gql(ARTIFACT_QUERY, { reference: 'local/demo:v1' });
    expect(body.errors).toBeUndefined();
    const a = body.data!.artifact;
    const summary = await rest(`/api/v1/artifacts/${image.digest}`);
    expect(a).toMatchObject({
      digest: image.digest,
      mediaType: summary.mediaType,
      kind: summary.kind.toUpperCase(),
      size: summary.size,
      tags: ['local/demo:v1'],
      repositories: summary.locations,
      subject: null,
    });

    const restTree = await rest(`/api/v1/artifacts/${image.digest}/referrers?depth=2`);
    const oci = await rest(`/v2/local/demo/referrers/${image.digest}`);
    const gqlEdges = a.referrers.edges as Json[];
    const fromGql = gqlEdges.map((e) => [
      e.node.digest,
      e.node.artifactType,
      e.node.kind.toLowerCase(),
      e.kind,
    ]);
    const fromRest = (restTree.referrers as Json[]).map((r) => [
      r.digest,
      r.artifactType,
      r.kind,
      r.edgeKind.toUpperCase(),
    ]);
    expect(fromGql).toEqual(fromRest);
    expect(fromGql.map((r) => r[0])).toEqual([sbom.digest, signature.digest, provenance.digest].sort());
    expect((oci.manifests as Json[]).map((m) => [m.digest, m.artifactType]).sort()).toEqual(
      fromGql.map((r) => [r[0], r[1]]).sort(),
    );
    const prov = gqlEdges.find((e) => e.node.digest === provenance.digest)!;
    expect(prov.node.referrers.edges).toEqual([
      { node: { digest: provenanceSig.digest, kind: 'SIGNATURE' } },
    ]);

    const restSigs = await rest(`/api/v1/artifacts/${image.digest}/signatures`);
    expect(a.signatures).toEqual(
      (restSigs.signatures as Json[]).map((s) => ({
        artifactDigest: s.artifactDigest,
        status: s.status,
        identity: s.identity,
        format: s.format,
      })),
    );
    // The trust pipeline may add its own rows beside the seeded one; REST and GraphQL agree either way.
    expect(a.signatures).toContainEqual({
      artifactDigest: signature.digest,
      status: 'verified',
      identity: 'CN=release',
      format: 'notation',
    });

    const byDigest = await gql(`{ artifact(digest: "${provenance.digest}") {
      annotations { key value } subject { digest } verification { status } } }`);
    expect(byDigest.body.data!.artifact).toEqual({
      annotations: [{ key: 'org.example.note', value: 'built in CI' }],
      subject: { digest: image.digest },
      verification: [],
    });
  });

  it('filters and pages referrers and artifacts like REST', async () => {
    const q = `query ($d: String!, $after: String, $kind: ReferrerKind, $type: String) {
      artifact(digest: $d) { referrers(first: 1, after: $after, kind: $kind, artifactType: $type) {
        edges { node { digest } } pageInfo { hasNextPage endCursor } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const { body } = await gql(q, { d: image.digest, after });
      const conn = body.data!.artifact.referrers;
      seen.push(...conn.edges.map((e: Json) => e.node.digest));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual([sbom.digest, signature.digest, provenance.digest].sort());

    const sboms = await gql(q, { d: image.digest, kind: 'SBOM' });
    expect(sboms.body.data!.artifact.referrers.edges).toEqual([{ node: { digest: sbom.digest } }]);
    const notation = await gql(q, { d: image.digest, type: NOTATION });
    expect(notation.body.data!.artifact.referrers.edges).toEqual([{ node: { digest: signature.digest } }]);

    const fleet = await gql(`{ artifacts(first: 100, filter: { repository: "fleet", kind: SIGNATURE }) {
      edges { node { digest subject { digest } } } } }`);
    const nodes = fleet.body.data!.artifacts.edges.map((e: Json) => e.node);
    expect(nodes).toHaveLength(SIGNED);
    expect(nodes.map((n: Json) => n.subject.digest).sort()).toEqual(signedImages.map((i) => i.digest).sort());
  });

  it('serves attestations, the SBOM and package search like REST', async () => {
    const { body } = await gql(`{ artifact(digest: "${image.digest}") {
      attestations { artifactDigest predicateType builderId sourceRepo vulnerabilities { severity count } }
      sboms { artifactDigest format specVersion packageCount
        packages(first: 2) { edges { node { name version purl licenses } } pageInfo { hasNextPage endCursor } } }
    } }`);
    expect(body.errors).toBeUndefined();
    const a = body.data!.artifact;
    const restAtt = await rest(`/api/v1/artifacts/${image.digest}/attestations`);
    expect(
      a.attestations.map((x: Json) => [x.artifactDigest, x.predicateType, x.builderId, x.sourceRepo]),
    ).toEqual(
      (restAtt.attestations as Json[]).map((x) => [
        x.artifactDigest,
        x.predicateType,
        x.builderId,
        x.sourceRepo,
      ]),
    );
    const slsa = a.attestations.find((x: Json) => x.builderId === 'https://ci.example/builder');
    expect(slsa.vulnerabilities).toEqual([
      { severity: 'critical', count: 0 },
      { severity: 'high', count: 2 },
    ]);
    // The seeded SBOM record (the pipeline may store its own parse of the same artifact beside it).
    const seeded = a.sboms.find((x: Json) => x.packageCount === 3);
    expect(seeded).toMatchObject({
      artifactDigest: sbom.digest,
      format: 'spdx',
      specVersion: 'SPDX-2.3',
      packageCount: 3,
    });
    const restPkgs = await rest(`/api/v1/artifacts/${image.digest}/sbom/packages?first=10`);
    const page2 = await gql(`{ artifact(digest: "${image.digest}") { sboms { packageCount
      packages(first: 2, after: "${seeded.packages.pageInfo.endCursor}") { edges { node { name version purl licenses } }
      pageInfo { hasNextPage } } } } }`);
    const rest2 = page2.body.data!.artifact.sboms.find((x: Json) => x.packageCount === 3);
    const pages = [...seeded.packages.edges, ...rest2.packages.edges].map((e: Json) => e.node);
    expect(seeded.packages.pageInfo.hasNextPage).toBe(true);
    expect(rest2.packages.pageInfo.hasNextPage).toBe(false);
    // REST lists the packages of every SBOM of the subject; the other SBOMs here list none.
    expect(a.sboms.reduce((n: number, x: Json) => n + x.packageCount, 0)).toBe(3);
    expect(pages).toEqual(restPkgs.packages);
    const filtered = await gql(`{ artifact(digest: "${image.digest}") { sboms { packages(query: "pad") {
      edges { node { name } } } } } }`);
    expect(filtered.body.data!.artifact.sboms.flatMap((x: Json) => x.packages.edges)).toEqual([
      { node: { name: 'left-pad' } },
    ]);

    const search = await gql(
      `{ packages(purl: "pkg:npm/lodash") { purl version digest artifact { digest kind } } }`,
    );
    const restSearch = await rest(`/api/v1/packages?purl=${encodeURIComponent('pkg:npm/lodash')}`);
    expect(search.body.data!.packages).toEqual(
      (restSearch.artifacts as Json[]).map((m) => ({
        purl: m.purl,
        version: m.version,
        digest: m.digest,
        artifact: { digest: m.digest, kind: 'IMAGE' },
      })),
    );
    expect(search.body.data!.packages).toHaveLength(1);
  });

  it('answers a page of 50 artifacts with referrers and signatures in at most 3 SQL statements', async () => {
    // Every statement the read model sends while the request runs.
    const { statements, result } = await readStatementsDuring(refgraph, () =>
      gql(`{ artifacts(first: 50) { edges { node {
          digest kind
          referrers { edges { kind node { digest artifactType signatures { status } } } }
          signatures { status identity artifactDigest }
        } } } }`),
    );
    const body: Json = result.body;
    expect(body.errors).toBeUndefined();
    const nodes = body.data.artifacts.edges.map((e: Json) => e.node) as Json[];
    expect(nodes).toHaveLength(50);
    const withReferrers = nodes.filter((n) => n.referrers.edges.length > 0);
    const withSignatures = nodes.filter((n) => n.signatures.length > 0);
    expect(withReferrers.length).toBeGreaterThanOrEqual(10);
    expect(withSignatures.length).toBeGreaterThanOrEqual(10);
    // Without batching this page would cost 1 + 50 + 50 + (referrers) statements.
    expect(statements.length).toBeGreaterThanOrEqual(3);
    expect(statements.length).toBeLessThanOrEqual(3);
    if (process.env.DEBUG_SQL)
      process.stdout.write(`STATEMENTS ${statements.length}\n${statements.join('\n---\n')}\n`);
  });

  it('refuses queries over the depth and complexity limits with clear errors', async () => {
    const deep = await gql(`{ artifact(digest: "${image.digest}") { referrers(first: 1) { edges { node {
      referrers(first: 1) { edges { node { referrers(first: 1) { edges { node {
      referrers(first: 1) { edges { node { digest } } } } } } } } } } } } } }`);
    expect(deep.status).toBe(400);
    expect(deep.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/nested 1[34] levels deep( or more)?; the limit is 12/),
        extensions: expect.objectContaining({ code: 'QUERY_TOO_DEEP' }),
      }),
    ]);
    const wide = await gql(`{ artifacts(first: 100) { edges { node { referrers(first: 100) { edges { node {
      signatures { status } } } } } } } }`);
    expect(wide.status).toBe(400);
    expect(wide.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/complexity \d+ .*the limit is 50000/),
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }),
      }),
    ]);
    expect(wide.body.data).toBeNull();
  });

  it('reports invalid input with a code and never a stack trace or SQL', async () => {
    const cases: Array<[string, string]> = [
      [`{ artifact(digest: "sha256:abc") { digest } }`, 'INVALID_DIGEST'],
      [`{ artifact(reference: "no-slash") { digest } }`, 'INVALID_REFERENCE'],
      [`{ artifact(digest: "${image.digest}", reference: "local/demo:v1") { digest } }`, 'BAD_USER_INPUT'],
      [`{ artifacts(after: "bm9wZQ") { edges { cursor } } }`, 'INVALID_CURSOR'],
      [`{ artifacts(first: 1000) { edges { cursor } } }`, 'BAD_USER_INPUT'],
      [`{ packages(purl: "lodash") { digest } }`, 'BAD_USER_INPUT'],
      [`{ artifact(digest: "${image.digest}") { nope } }`, 'GRAPHQL_VALIDATION_FAILED'],
      [`{ artifact(`, 'GRAPHQL_PARSE_FAILED'],
    ];
    for (const [query, code] of cases) {
      const { text, body } = await gql(query);
      expect(body.errors?.[0]?.extensions?.code).toBe(code);
      expect(text).not.toMatch(/\bat .*\.(ts|js):\d+|SELECT|stack/);
    }
    const unknown = await gql(`{ artifact(digest: "sha256:${'1'.repeat(64)}") { digest } }`);
    expect(unknown.body).toEqual({ data: { artifact: null } });
    const noTag = await gql(`{ artifact(reference: "local/demo:missing") { digest } }`);
    expect(noTag.body).toEqual({ data: { artifact: null } });
  });

  it('applies the caller scope to every field, nested ones and search included', async () => {
    // Executed on the running schema with the request the auth guard would have scoped.
    const schema = refgraph.running.app!.get(GraphQLSchemaHost).schema;
    const run = async (scope: string[] | undefined, source: string) => {
      const r = await graphql({
        schema,
        source,
        contextValue: { req: { refgraphPrincipal: { name: 'test' }, refgraphScope: scope } },
      });
      expect(r.errors).toBeUndefined();
      return r.data as Json;
    };
    const fleetImage = signedImages[0]!.digest;
    const q = `{ demo: artifact(digest: "${image.digest}") { digest referrers { edges { node { digest } } }
                   signatures { artifactDigest } repositories { repository } }
                 fleet: artifact(digest: "${fleetImage}") { digest }
                 fleetSig: artifact(digest: "${imageSignatures[0]!.digest}") { subject { digest } }
                 artifacts(first: 100) { edges { node { digest } } } }`;
    const all = await run(undefined, q);
    expect(all.fleet).toEqual({ digest: fleetImage });
    expect(all.fleetSig).toEqual({ subject: { digest: fleetImage } });

    const demoOnly = await run(['local/demo'], q);
    expect(demoOnly.fleet).toBeNull();
    expect(demoOnly.fleetSig).toBeNull();
    expect(demoOnly.demo.referrers.edges).toHaveLength(3);
    expect(demoOnly.demo.signatures).toEqual([{ artifactDigest: signature.digest }]);
    expect(demoOnly.artifacts.edges).toHaveLength(5);

    const fleetOnly = await run(['local/fleet'], q);
    expect(fleetOnly.demo).toBeNull();
    expect(fleetOnly.fleetSig).toEqual({ subject: { digest: fleetImage } });
    expect(fleetOnly.artifacts.edges).toHaveLength(2 * SIGNED);
    // Nested fields of a visible artifact hide what lives elsewhere.
    const nested = await run(
      ['local/fleet'],
      `{ artifact(digest: "${imageSignatures[0]!.digest}") { subject { referrers { edges { node { digest } } } } } }`,
    );
    expect(nested.artifact.subject.referrers.edges).toEqual([
      { node: { digest: imageSignatures[0]!.digest } },
    ]);
    const none = await run(['other/**'], `{ artifact(digest: "${image.digest}") { digest } }`);
    expect(none.artifact).toBeNull();
    const search = `{ packages(purl: "pkg:npm/lodash@4.17.21") { digest } }`;
    expect((await run(['local/demo'], search)).packages).toEqual([{ digest: image.digest }]);
    expect((await run(['local/fleet'], search)).packages).toEqual([]);
    const sbomOf = `{ artifact(digest: "${image.digest}") { sbom { format } attestations { predicateType } } }`;
    expect((await run(['local/d*'], sbomOf)).artifact).toEqual({
      sbom: { format: 'spdx' },
      attestations: expect.arrayContaining([{ predicateType: 'https://slsa.dev/provenance/v1' }]),
    });
    expect((await run(['local/fleet'], sbomOf)).artifact).toBeNull();
  });

  it('delivers referrerAdded over a real WebSocket, also after the LISTEN connection was lost', async () => {
    const target = randomImage();
    await push('live', target, 'v1');
    const client: Client = createClient({
      url: `${refgraph.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const received: Json[] = [];
    const errors: unknown[] = [];
    const dispose = client.subscribe(
      {
        query: `subscription ($s: String!) { referrerAdded(subject: $s) {
          subject referrerDigest kind registry repository } }`,
        variables: { s: target.digest },
      },
      { next: (v) => received.push(v), error: (e) => errors.push(e), complete: () => undefined },
    );
    try {
      // Subscribed once the server holds an active subscription on the socket.
      await new Promise((r) => setTimeout(r, 500));
      const first = artifactManifest({ subject: descriptorOf(target), artifactType: NOTATION });
      await push('live', first);
      await eventually(async () => expect(received).toHaveLength(1), 30_000);
      expect(errors).toEqual([]);
      expect(received[0]).toEqual({
        data: {
          referrerAdded: {
            subject: target.digest,
            referrerDigest: first.digest,
            kind: 'SUBJECT',
            registry: 'local',
            repository: 'live',
          },
        },
      });

      // Kill the shared LISTEN connection: the listener reconnects and events flow again.
      const [killed] = await sql(
        `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity
         WHERE application_name = 'refgraph-listener' AND datname = current_database()`,
      );
      expect(killed).toMatchObject({ ok: true });
      await eventually(async () => {
        const rows = await sql(
          `SELECT pid FROM pg_stat_activity WHERE application_name = 'refgraph-listener'
           AND datname = current_database() AND pid <> $1`,
          [killed!.pid],
        );
        expect(rows).toHaveLength(1);
      }, 15_000);
      const second = artifactManifest({ subject: descriptorOf(target), artifactType: SBOM });
      await push('live', second);
      await eventually(async () => expect(received).toHaveLength(2), 30_000);
      expect(received[1]!.data.referrerAdded.referrerDigest).toBe(second.digest);
    } finally {
      dispose();
      await client.dispose();
    }
  });

  it('serves the GraphQL IDE and its assets locally', async () => {
    const page = await fetch(`${refgraph.url}/graphql/ide`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/graphql\/ide\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(
      expect.arrayContaining([
        '/graphql/ide/assets/react.production.min.js',
        '/graphql/ide/assets/react-dom.production.min.js',
        '/graphql/ide/assets/graphiql.min.js',
        '/graphql/ide/assets/graphiql.min.css',
      ]),
    );
    expect(html).not.toMatch(/https?:\/\//);
    for (const path of assets) {
      const res = await fetch(`${refgraph.url}${path}`);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(path.endsWith('ide.js') ? 100 : 10_000);
    }
    const bundle = await (await fetch(`${refgraph.url}/graphql/ide/assets/graphiql.min.js`)).text();
    expect(bundle).toContain('graphql-transport-ws');
    expect((await fetch(`${refgraph.url}/graphql/ide/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('serves the committed schema.graphql (regenerate with REFGRAPH_WRITE_SCHEMA=1)', async () => {
    const running = refgraph.running.app!.get(GraphQLSchemaHost).schema;
    const header = `# ------------------------------------------------------
# THIS FILE WAS AUTOMATICALLY GENERATED (DO NOT MODIFY)
# ------------------------------------------------------

`;
    const expected = `${header}${printSchema(lexicographicSortSchema(running))}\n`;
    const committed = readFileSync(join(process.cwd(), 'schema.graphql'), 'utf8');
    expect(committed).toBe(expected);
    // Every type and field is documented (root types by their fields).
    const builtIn = ['String', 'Boolean', 'Int', 'Float', 'ID'];
    const roots = ['Query', 'Subscription'];
    const undocumented: string[] = [];
    for (const type of Object.values(running.getTypeMap())) {
      if (type.name.startsWith('__') || builtIn.includes(type.name)) continue;
      if (!type.description && !roots.includes(type.name)) undocumented.push(type.name);
      if ('getFields' in type) {
        for (const f of Object.values(type.getFields()))
          if (!f.description) undocumented.push(`${type.name}.${f.name}`);
      }
    }
    expect(undocumented).toEqual([]);
  });
});

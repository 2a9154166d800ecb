import { randomBytes } from 'node:crypto';
import { MediaType } from '#oci';
import { imageManifest, indexManifest, referrerManifest, type BuiltManifest } from '#testing';
import { startTeamWorld, type StartedRefgraph, type TeamWorld } from './harness.js';

/**
 * Reads that a token scoped to team-a can steer with content it may push into team-a: a
 * tag-schema index listing a digest that lives only in team-b, and a densely linked referrer
 * graph. Also input a caller controls directly (text parameters).
 */
const READER = randomBytes(16).toString('hex');
const SIG = 'application/vnd.example.sig';
const hexOf = (m: BuiltManifest) => m.digest.slice('sha256:'.length);

const image = imageManifest();
const onlyB = imageManifest();
// team-b's signature over an image only team-b has, with an annotation only team-b may read.
const secretSig = referrerManifest(onlyB.descriptor, SIG, { 'org.example/owner': 'team-b-secret' });
// team-a's tag-schema index for its own image lists that digest with a bare descriptor.
const listing = indexManifest([{ mediaType: MediaType.OciManifest, digest: secretSig.digest, size: 1 }]);

// A small, densely linked referrer graph in team-a: every node's tag-schema index lists every
// other node, and the root lists them all.
const DENSE = 6;
const root = imageManifest();
const dense = Array.from({ length: DENSE }, () => imageManifest());

let world: TeamWorld;
let refgraph: StartedRefgraph;

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${refgraph.url}${path}`, {
    ...init,
    headers: { ...(init.headers ?? {}), authorization: `Bearer ${READER}` },
  });
const json = async (path: string) => {
  const res = await call(path);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const gql = async (query: string, variables: Record<string, unknown> = {}) => {
  const res = await call('/graphql', {
    method: 'POST',
    body: JSON.stringify({ query, variables }),
    headers: { 'content-type': 'application/json' },
  });
  return (await res.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
};

beforeAll(async () => {
  world = await startTeamWorld({
    tokens: [{ name: 'team-a', secret: READER, scopes: ['read:local/team-a/**'] }],
  });
  refgraph = world.refgraph;
  const push = world.push;
  await push('a', image, 'v1');
  await push('b', onlyB, 'hidden');
  await push('b', secretSig);
  await push('a', listing, `sha256-${hexOf(image)}`);

  await push('a', root, 'dense');
  for (const n of dense) await push('a', n);
  await push('a', indexManifest(dense.map((n) => n.descriptor)), `sha256-${hexOf(root)}`);
  for (const n of dense) {
    const others = dense.filter((o) => o !== n).map((o) => o.descriptor);
    await push('a', indexManifest(others), `sha256-${hexOf(n)}`);
  }
}, 120_000);

afterAll(async () => {
  await world?.close();
});

describe('a referrer listed in team-a but stored only in team-b', () => {
  it("REST referrers describe it by the listing only, not by team-b's stored manifest", async () => {
    const r = await json(`/api/v1/artifacts/${image.digest}/referrers`);
    expect(r.status).toBe(200);
    const node = (r.body.referrers as any[]).find((n) => n.digest === secretSig.digest);
    expect(node).toBeDefined();
    expect(JSON.stringify(r.body)).not.toContain('team-b-secret');
    expect(node).toMatchObject({ kind: 'unknown', artifactType: null, size: 1, annotations: {} });
  });

  it("GraphQL referrer nodes do not carry team-b's annotations, kind or subject", async () => {
    const r = await gql(
      `query ($d: String!) {
      artifact(digest: $d) {
        referrers(first: 20) { edges { node { digest kind size artifactType subjectDigest annotations { key value } } } }
      }
    }`,
      { d: image.digest },
    );
    expect(r.errors).toBeUndefined();
    const node = r.data.artifact.referrers.edges
      .map((e: any) => e.node)
      .find((n: any) => n.digest === secretSig.digest);
    expect(node).toBeDefined();
    const text = JSON.stringify(r.data);
    expect(text).not.toContain('team-b-secret');
    // The digest of the image team-b signed is not team-a's to learn.
    expect(text).not.toContain(onlyB.digest);
    expect(node).toMatchObject({ kind: 'UNKNOWN', size: 1, artifactType: null, annotations: [] });
  });

  it("the OCI referrers API lists the descriptor team-a stored, not team-b's manifest", async () => {
    const res = await call(`/v2/local/team-a/app/referrers/${image.digest}`);
    expect(res.status).toBe(200);
    const index = (await res.json()) as { manifests: any[] };
    const d = index.manifests.find((m) => m.digest === secretSig.digest);
    expect(d).toBeDefined();
    expect(JSON.stringify(index)).not.toContain('team-b-secret');
    expect(d.artifactType).toBeUndefined();
    expect(d.size).toBe(1);
  });
});

describe('filters over a referrer listed in team-a but stored only in team-b', () => {
  // Its listing carries no artifactType: only team-b's stored manifest says it is a signature.
  const type = encodeURIComponent(SIG);
  it("REST, GraphQL and the OCI API do not match it by team-b's artifact type", async () => {
    const rest = await json(`/api/v1/artifacts/${image.digest}/referrers?artifactType=${type}`);
    expect(rest.status).toBe(200);
    expect(rest.body.referrers).toEqual([]);
    const g = await gql(
      `query ($d: String!, $t: String!) { artifact(digest: $d) { referrers(artifactType: $t) { edges { node { digest } } } } }`,
      { d: image.digest, t: SIG },
    );
    expect(g.errors).toBeUndefined();
    expect(g.data.artifact.referrers.edges).toEqual([]);
    const oci = await call(`/v2/local/team-a/app/referrers/${image.digest}?artifactType=${type}`);
    expect(((await oci.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });
});

/** Every node of a REST referrers tree, with its depth. */
function walk(nodes: any[], depth = 1, out: number[] = []): number[] {
  for (const n of nodes) {
    out.push(depth);
    walk(n.referrers ?? [], depth + 1, out);
  }
  return out;
}

describe('REST referrer trees over a densely linked graph', () => {
  it('stop at the requested depth and hold each (subject, referrer) pair the statement returned', async () => {
    const r = await json(`/api/v1/artifacts/${root.digest}/referrers?depth=2`);
    expect(r.status).toBe(200);
    const depths = walk(r.body.referrers as any[]);
    // depth 2: the root's six referrers and, under each, the five others.
    expect(Math.max(...depths)).toBeLessThanOrEqual(2);
    expect(depths.length).toBeLessThanOrEqual(DENSE + DENSE * (DENSE - 1));
  });
});

describe("text parameters with a NUL character are the caller's mistake (4xx), never a 500", () => {
  const nul = encodeURIComponent('\u0000');
  it.each([
    [`/api/v1/artifacts/${'sha256:' + 'a'.repeat(64)}/referrers?artifactType=${nul}`],
    [`/api/v1/packages?purl=pkg:npm/${nul}`],
    [`/v2/local/team-a/app/referrers/${'sha256:' + 'a'.repeat(64)}?artifactType=${nul}`],
  ])('GET %s', async (path) => {
    const fixed = path.replace('sha256:' + 'a'.repeat(64), image.digest);
    const res = await call(fixed);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('GraphQL artifacts(filter:) with a NUL is a user-input error', async () => {
    const r = await gql(
      'query ($r: String!) { artifacts(filter: { repository: $r }) { edges { node { digest } } } }',
      {
        r: 'team-a/\u0000',
      },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

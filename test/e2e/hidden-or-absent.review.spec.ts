import { randomBytes } from 'node:crypto';
import { pushImage, randomImage } from '#testing';
import { eventually } from './harness.js';
import { startRegistryWorld, type RegistryWorld } from './registry-world.js';

/**
 * What a token scoped to team-a learns about content that only team-b has, on a real registry:
 * exactly what it learns about content that exists nowhere. Every answer (status, headers, body,
 * length) is compared with the digest, or tag, put in place by a placeholder.
 */
const TEAM_A = randomBytes(16).toString('hex');
const ADMIN = randomBytes(16).toString('hex');
const SPDX = 'application/spdx+json';

let world: RegistryWorld;
const own = randomImage();
/** Pushed to team-b only, tagged `secret`, with an SBOM there. */
const hidden = randomImage();
/** Never pushed anywhere. */
const absent = randomImage();

beforeAll(async () => {
  world = await startRegistryWorld({
    tokens: [
      { name: 'team-a', secret: TEAM_A, scopes: ['read:local/team-a/**'] },
      { name: 'ops', secret: ADMIN, scopes: ['admin'] },
    ],
    images: {},
    policies: [{ name: 'sbom', sbom: true }],
  });
  await pushImage(world.registry.url, 'team-a/app', 'v1', own);
  await pushImage(world.registry.url, 'team-b/app', 'secret', hidden);
  const sbom = await world.attach('team-b/app', hidden, SPDX, { spdxVersion: 'SPDX-2.3', name: 'b' });
  await eventually(async () => {
    for (const d of [own.digest, hidden.digest, sbom])
      expect((await world.get(`/api/v1/artifacts/${d}`, ADMIN)).status).toBe(200);
    const tree = await world.get(`/api/v1/artifacts/${hidden.digest}/referrers`, ADMIN);
    expect(tree.body.referrers).toHaveLength(1);
  }, 60_000);
}, 120_000);

afterAll(async () => {
  await world?.close();
});

interface Seen {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request as team-a; `what` (a digest, or a tag of the same length) is replaced by a placeholder. */
async function ask(what: string, path: string, init: RequestInit = {}): Promise<Seen> {
  const res = await fetch(`${world.refgraph.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TEAM_A}`, ...(init.headers ?? {}) },
  });
  const body = (await res.text())
    .split(what)
    .join('<x>')
    .replace(/"(requestId|errorId)":"[^"]*"/g, '"$1":""')
    .replace(/quote [0-9a-f-]{36}/g, 'quote <id>');
  const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== 'date'));
  // Request ids in REST bodies differ in length from request to request; nothing else may.
  if (body.includes('"requestId"')) delete headers['content-length'];
  return { status: res.status, headers, body };
}

/** team-b's answer for `hidden` and the answer for `absent`, the same request otherwise. */
async function compare(label: string, request: (x: string) => [string, RequestInit?], x: [string, string]) {
  const [hiddenSeen, absentSeen] = [await ask(x[0], ...request(x[0])), await ask(x[1], ...request(x[1]))];
  expect({ label, seen: hiddenSeen }).toEqual({ label, seen: absentSeen });
  return hiddenSeen;
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

it('the registry view: manifests, blobs, referrers and tag-schema tags', async () => {
  const digests: [string, string] = [hidden.digest, absent.digest];
  const layers: [string, string] = [hidden.blobs.at(-1)!.digest, absent.blobs.at(-1)!.digest];
  const tagged: [string, string] = [`sha256-${hidden.digest.slice(7)}`, `sha256-${absent.digest.slice(7)}`];
  for (const method of ['GET', 'HEAD']) {
    const m = await compare(
      `${method} manifest`,
      (x) => [`/v2/local/team-a/app/manifests/${x}`, { method }],
      digests,
    );
    expect(m.status).toBe(404);
    const b = await compare(`${method} blob`, (x) => [`/v2/local/team-a/app/blobs/${x}`, { method }], layers);
    expect(b.status).toBe(404);
  }
  const r = await compare('referrers', (x) => [`/v2/local/team-a/app/referrers/${x}`], digests);
  expect(r.status).toBe(200);
  for (const suffix of ['', '.sig', '.sbom'])
    expect(
      (await compare(`tag ${suffix}`, (x) => [`/v2/local/team-a/app/manifests/${x}${suffix}`], tagged))
        .status,
    ).toBe(404);
  const tag = await compare('tag', (x) => [`/v2/local/team-a/app/manifests/${x}`], ['secret', 'absent']);
  expect(tag.status).toBe(404);
  // Not vacuous: where team-b's content lives, a reader of it gets it.
  const there = (path: string) =>
    fetch(`${world.refgraph.url}/v2/local/team-b/app/${path}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
  expect((await there(`manifests/${hidden.digest}`)).status).toBe(200);
  expect((await there(`manifests/secret`)).status).toBe(200);
  expect((await there(`blobs/${layers[0]}`)).status).toBe(200);
  const listed = (await (await there(`referrers/${hidden.digest}`)).json()) as { manifests: unknown[] };
  expect(listed.manifests).toHaveLength(1);
});

it('REST, verdicts and GraphQL', async () => {
  const digests: [string, string] = [hidden.digest, absent.digest];
  for (const sub of ['', '/referrers', '/signatures', '/attestations', '/sbom/packages', '/vulnerabilities'])
    expect((await compare(`artifact${sub}`, (x) => [`/api/v1/artifacts/${x}${sub}`], digests)).status).toBe(
      404,
    );
  for (const ref of [(x: string) => x, (x: string) => `local/team-a/app@${x}`]) {
    const s = await compare(
      'resolve',
      (x) => [`/api/v1/resolve?reference=${encodeURIComponent(ref(x))}`],
      digests,
    );
    expect(s.status).toBe(404);
    const v = await compare(
      'verdict',
      (x) => ['/api/v1/verdict', json({ policy: 'sbom', subjects: [ref(x)] })],
      digests,
    );
    expect(JSON.parse(v.body)).toMatchObject({ allowed: false, subjects: [{ codes: ['unknown_digest'] }] });
  }
  const host = world.registry.host;
  const gk = await compare(
    'gatekeeper',
    (x) => [
      '/api/v1/gatekeeper/sbom',
      json({
        apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
        kind: 'ProviderRequest',
        request: { keys: [`${host}/team-a/app@${x}`] },
      }),
    ],
    digests,
  );
  expect(JSON.parse(gk.body).response.items[0].value.allowed).toBe(false);
  const q = (x: string) =>
    `{ a: artifact(digest: "${x}") { digest } b: artifact(reference: "local/team-a/app@${x}") { digest } }`;
  const g = await compare('graphql', (x) => ['/graphql', json({ query: q(x) })], digests);
  expect(JSON.parse(g.body)).toEqual({ data: { a: null, b: null } });
  // The tag only team-b has, named in team-a.
  const t = await compare('tag', (x) => [`/api/v1/resolve?reference=local/team-a/app:${x}`], [
    'secret',
    'absent',
  ]);
  expect(t.status).toBe(404);
});

import { randomBytes } from 'node:crypto';
import { imageManifest } from '#testing';
import { startTeamWorld, type TeamWorld } from './harness.js';

/**
 * Parameters as callers may spell them. A query parameter given more than once (`?a=1&a=2`,
 * which the query string parser turns into a list): the REST and policy routes refuse it with a
 * 400 naming the parameter, never answering for one of the values, a joined "1,2" or a 5xx. Path
 * parameters as long as the schemas allow reach their routes.
 */
const READER = randomBytes(16).toString('hex');
const ADMIN = randomBytes(16).toString('hex');
const image = imageManifest();
const hidden = imageManifest();

let world: TeamWorld;

const call = (path: string, token = READER) =>
  fetch(`${world.refgraph.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  world = await startTeamWorld({
    tokens: [
      { name: 'team-a', secret: READER, scopes: ['read:local/team-a/**'] },
      { name: 'ops', secret: ADMIN, scopes: ['admin'] },
    ],
  });
  await world.push('a', image, 'v1');
  await world.push('b', hidden, 'hidden');
}, 120_000);

afterAll(async () => {
  await world?.close();
});

describe('REST routes that read query parameters', () => {
  const d = () => image.digest;
  // Each route with a parameter it reads, a value it takes, and another one.
  const cases: Array<{ route: () => string; name: string; one: string; two: string; token?: string }> = [
    {
      route: () => '/api/v1/resolve',
      name: 'reference',
      one: 'local/team-a/app:v1',
      two: 'local/team-b/app:hidden',
    },
    { route: () => `/api/v1/artifacts/${d()}/referrers`, name: 'depth', one: '1', two: '2' },
    { route: () => `/api/v1/artifacts/${d()}/referrers`, name: 'first', one: '1', two: '1' },
    { route: () => `/api/v1/artifacts/${d()}/referrers`, name: 'artifactType', one: 'a/b', two: 'c/d' },
    { route: () => `/api/v1/artifacts/${d()}/referrers`, name: 'kind', one: 'signature', two: 'sbom' },
    { route: () => `/api/v1/artifacts/${d()}/referrers`, name: 'children', one: 'true', two: 'true' },
    {
      route: () => `/api/v1/artifacts/${d()}/referrers`,
      name: 'after',
      one: `sha256:${'0'.repeat(64)}`,
      two: d(),
    },
    { route: () => `/api/v1/artifacts/${d()}/attestations`, name: 'predicateType', one: 'x', two: 'y' },
    { route: () => `/api/v1/artifacts/${d()}/sbom/packages`, name: 'q', one: 'a', two: 'b' },
    { route: () => `/api/v1/artifacts/${d()}/sbom/packages`, name: 'after', one: '1', two: '2' },
    { route: () => '/api/v1/packages', name: 'purl', one: 'pkg:npm/a', two: 'pkg:npm/b' },
    { route: () => '/api/v1/packages?purl=pkg:npm/a', name: 'first', one: '1', two: '2' },
    {
      route: () => '/api/v1/vulnerabilities/CVE-2024-3094/artifacts',
      name: 'vex',
      one: 'any',
      two: 'verified',
    },
    { route: () => `/api/v1/artifacts/${d()}/vulnerabilities`, name: 'first', one: '5', two: '6' },
    { route: () => '/api/v1/events', name: 'status', one: 'failed', two: 'done', token: ADMIN },
    { route: () => '/api/v1/events', name: 'before', one: '1', two: '2', token: ADMIN },
  ];

  it.each(cases)(
    '$name twice is a 400 naming it; once it is answered',
    async ({ route, name, one, two, token }) => {
      const path = route();
      const q = (v: string) => `${path.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(v)}`;
      const twice = await call(`${path}${q(one)}&${name}=${encodeURIComponent(two)}`, token);
      const body = (await twice.json()) as { error: { code: string; message: string } };
      expect([path, name, twice.status, body.error.code, body.error.message]).toEqual([
        path,
        name,
        400,
        'invalid_request',
        `query.${name}: given more than once; pass it once`,
      ]);
      const once = await call(`${path}${q(one)}`, token);
      expect([path, name, once.status]).toEqual([path, name, 200]);
    },
  );

  it('names every parameter given more than once, and only those', async () => {
    const res = await call(
      `/api/v1/artifacts/${image.digest}/referrers?depth=1&first=2&depth=3&kind=sbom&kind=sbom`,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'query.depth: given more than once; pass it once; query.kind: given more than once; pass it once',
    );
  });
});

describe('path parameters as long as their schemas allow', () => {
  const sha512 = `sha512:${'ab'.repeat(64)}`;

  it.each(['', '/referrers', '/signatures', '/attestations', '/sbom/packages', '/vulnerabilities'])(
    'a sha512 digest reaches /api/v1/artifacts/{digest}%s: not known, in the one error shape',
    async (sub) => {
      const res = await call(`/api/v1/artifacts/${sha512}${sub}`);
      const body = (await res.json()) as { error: { code: string; reason?: string } };
      expect([sub, res.status, body.error.code, body.error.reason]).toEqual([
        sub,
        404,
        'not_found',
        'unknown_digest',
      ]);
    },
  );

  it("a vulnerability id of 128 characters is answered; one longer is the schema's 400", async () => {
    const id = `CVE-${'1'.repeat(124)}`;
    const res = await call(`/api/v1/vulnerabilities/${id}/artifacts`);
    expect([res.status, ((await res.json()) as { artifacts: unknown[] }).artifacts]).toEqual([200, []]);
    const longer = await call(`/api/v1/vulnerabilities/${id}1/artifacts`);
    const body = (await longer.json()) as { error: { code: string; message: string } };
    expect([longer.status, body.error.code, body.error.message]).toEqual([
      400,
      'invalid_request',
      'path.id: must be a vulnerability id such as CVE-2024-3094',
    ]);
  });
});

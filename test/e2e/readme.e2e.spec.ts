import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { freePort } from '#store';
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
import { readmeBlocks, readmeInlineCode, readmeProse } from '../platform/readme.js';
import { eventually, localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * The README's examples executed against a seeded graph: its GraphQL document, its REST routes
 * and verdict request, with its own refgraph.yaml sections (policies, access control) as the
 * configuration. The static checks of the same blocks are in test/platform/readme.spec.ts.
 */
type Json = Record<string, any>;

// README's access-control example: the hashes are of these two tokens.
const READ_TOKEN = 'test'; // gatekeeper, read:local/**
const ADMIN_TOKEN = 'test2'; // operations, admin
const LOG4J = 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1';
const SPDX = 'application/spdx+json';

const hook = randomBytes(16).toString('hex');
const image = randomImage();
const sbom = artifactManifest({
  subject: descriptorOf(image),
  artifactType: SPDX,
  layers: [
    {
      mediaType: SPDX,
      bytes: Buffer.from(
        JSON.stringify({
          spdxVersion: 'SPDX-2.3',
          name: 'app',
          packages: [
            {
              name: 'log4j-core',
              versionInfo: '2.14.1',
              externalRefs: [{ referenceType: 'purl', referenceLocator: LOG4J }],
            },
          ],
        }),
      ),
    },
  ],
});

let tdb: TestDatabase;
let registry: TestRegistry;
let refgraph: StartedRefgraph;

/** README's refgraph.yaml sections that need no files on this machine. */
function readmeConfig(): Json {
  const sections = readmeBlocks()
    .filter((b) => b.lang === 'yaml')
    .map((b) => parseYaml(b.body) as Json);
  const policies = sections.find((s) => s.policies)!.policies as Json[];
  const auth = sections.find((s) => s.auth)!.auth as Json;
  const trust = sections.find((s) => s.trust)!.trust as Json;
  const keyless = (trust.authorities as Json[]).filter((a) => a.keyless);
  const names = new Set(keyless.map((a) => a.name as string));
  delete auth.oidc; // no issuer to reach from here
  const database = sections.find((s) => s.database)!.database as Json;
  return {
    policies,
    auth,
    // The README's replica settings; the primary stands in for the replica (out of rotation: not
    // in recovery), which is enough for its gauges to be exported.
    database: { ...database, readReplicas: { ...database.readReplicas, urls: [tdb.url] } },
    trust: {
      ...trust,
      authorities: keyless,
      repositories: (trust.repositories as Json[]).map((r) => ({
        ...r,
        authorities: (r.authorities as string[]).filter((a) => names.has(a)),
      })),
    },
  };
}

async function call(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await fetch(`${refgraph.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  const port = await freePort();
  registry = await startRegistry({ notifyUrl: `http://127.0.0.1:${port}/webhooks/local`, notifyToken: hook });
  refgraph = await startRefgraph(
    tdb.url,
    { ...readmeConfig(), server: { port }, registries: [localDistribution(registry.url)] },
    { HOOK: hook },
  );
  await pushImage(registry.url, 'app', 'v1', image);
  await pushImage(registry.url, 'app', undefined, sbom);
  // The SBOM goes through the pipeline: fetched, parsed, its purl stored in canonical form.
  await eventually(async () => {
    const { body } = await call('GET', `/api/v1/packages?purl=${encodeURIComponent(LOG4J)}`);
    expect(JSON.stringify(body)).toContain(image.digest);
  }, 60_000);
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await tdb?.drop();
});

it('the GraphQL document runs without errors on a seeded graph, with the read token', async () => {
  const [doc] = readmeBlocks().filter((b) => b.lang === 'graphql');
  const res = await call('POST', '/graphql', { query: doc!.body }, READ_TOKEN);
  expect(res.body.errors).toBeUndefined();
  const a = res.body.data!.artifact as Json;
  expect(a.digest).toBe(image.digest);
  expect(a.tags).toEqual(['local/app:v1']);
  expect(a.referrers.edges.map((e: Json) => e.node.digest)).toEqual([sbom.digest]);
  expect(a.sbom.format).toBe('spdx');
  expect(a.sbom.packages.edges.map((e: Json) => e.node)).toEqual([
    { name: 'log4j-core', version: '2.14.1', purl: LOG4J },
  ]);
  expect(res.body.data!.packages.map((p: Json) => p.digest)).toEqual([image.digest]);
});

/** README's REST routes as written (`GET /api/v1/…`), with the seeded digest and names filled in. */
const routes = readmeInlineCode()
  .filter((c) => /^(GET|POST) \/api\/v1\//.test(c))
  .map((c) => {
    const [method, path] = c.split(' ') as [string, string];
    return { text: c, method, path };
  });

/** Request bodies for the README's POST routes; a new POST route without one fails below. */
const POST_BODIES: Record<string, { body: unknown; status: number }> = {
  '/api/v1/verdict': { body: { policy: 'production', subjects: ['local/app:v1'] }, status: 200 },
  '/api/v1/gatekeeper/production': {
    body: {
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'ProviderRequest',
      request: { keys: ['local/app:v1'] },
    },
    status: 200,
  },
  '/api/v1/events/1/replay': { body: {}, status: 404 }, // no failed event 1 here: an answer, not a missing route
  '/api/v1/registries/local/sync': { body: {}, status: 202 },
};

it('the README names the REST routes it documents', () => {
  expect(routes.length).toBeGreaterThanOrEqual(10);
});

it.each(routes.map((r) => [r.text, r] as const))('`%s` answers as documented', async (_, r) => {
  // Parameters the README leaves empty are dropped, except the ones it is about.
  const url = new URL(
    r.path
      .replace('{digest}', image.digest)
      .replace('{policy}', 'production')
      .replace('{id}', '1')
      .replace('<name>', 'local'),
    'http://x',
  );
  const fill: Record<string, string> = { reference: 'local/app:v1', purl: LOG4J };
  for (const [k, v] of [...url.searchParams]) {
    if (v === '' && fill[k]) url.searchParams.set(k, fill[k]);
    else if (v === '') url.searchParams.delete(k);
  }
  const path = `${url.pathname}${url.search}`;
  if (r.method === 'GET') {
    const res = await call('GET', path);
    expect([path, res.status]).toEqual([path, 200]);
    return;
  }
  const post = POST_BODIES[path];
  expect([path, post !== undefined]).toEqual([path, true]);
  const res = await call('POST', path, post!.body);
  expect([path, res.status]).toEqual([path, post!.status]);
  // Either a result or the service's own error envelope (not the router's "no such route").
  if (res.status >= 400) expect(res.body.error?.code).toEqual(expect.any(String));
  if (path === '/api/v1/verdict') {
    // No signature by release-ci: denied, with a reason (fail closed).
    expect(res.body.subjects[0]).toMatchObject({ reference: 'local/app:v1', allowed: false });
  }
});

/** Every `refgraph_…` metric the README and docs/operations.md name. */
const METRICS = [
  ...new Set(
    ['README.md', 'docs/operations.md'].flatMap((f) =>
      readmeInlineCode(f).flatMap((c) => [...c.matchAll(/\brefgraph_[a-z_]+/g)].map((m) => m[0])),
    ),
  ),
];

it('every metric the README and docs/operations.md name is exported on /metrics', async () => {
  expect(METRICS.length).toBeGreaterThanOrEqual(15);
  const res = await fetch(`${refgraph.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  // `refgraph_jobs_*` names a family: some exported metric starts with it.
  const missing = METRICS.filter((m) =>
    m.endsWith('_') ? ![...exported].some((e) => e.startsWith(m)) : !exported.has(m),
  );
  expect(missing).toEqual([]);
});

/** The paths the README calls public (Access control), asked without any credential. */
const PUBLIC = /Public: (.*?); webhooks/s
  .exec(readmeProse())![1]!
  .match(/`\/[^`]*`/g)!
  .map((c) => c.slice(1, -1));

it.each(PUBLIC)('public `%s` answers 200 without a token', async (path) => {
  const res = await fetch(`${refgraph.url}${path}`);
  expect([path, res.status]).toEqual([path, 200]);
});

it('`/` leads to the explorer', async () => {
  const res = await fetch(`${refgraph.url}/`);
  expect([res.status, new URL(res.url).pathname.startsWith('/ui')]).toEqual([200, true]);
});

/** `GET /path` spans of the README without placeholders, outside /api/v1 (those are above). */
const PLAIN_GETS = readmeInlineCode()
  .filter((c) => /^GET \/[^\s<{…?]*$/.test(c) && !c.startsWith('GET /api/v1/'))
  .map((c) => c.slice('GET '.length));

it.each([...new Set(PLAIN_GETS)])('`GET %s` answers 200 with a token', async (path) => {
  const res = await fetch(`${refgraph.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect([path, res.status]).toEqual([path, 200]);
});

it('the OCI referrers endpoint answers as the Endpoints table says', async () => {
  const base = `${refgraph.url}/v2/local/app/referrers`;
  const auth = { authorization: `Bearer ${READ_TOKEN}` };
  const res = await fetch(`${base}/${image.digest}`, { headers: auth });
  expect(res.status).toBe(200);
  expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  const index = (await res.json()) as Json;
  expect(index.manifests.map((m: Json) => [m.digest, m.artifactType])).toEqual([[sbom.digest, SPDX]]);
  const filtered = await fetch(`${base}/${image.digest}?artifactType=${encodeURIComponent('x/none')}`, {
    headers: auth,
  });
  expect([filtered.status, filtered.headers.get('oci-filters-applied')]).toEqual([200, 'artifactType']);
  expect(((await filtered.json()) as Json).manifests).toEqual([]);
  const unknown = await fetch(`${base}/sha256:${'0'.repeat(64)}`, { headers: auth });
  expect([unknown.status, ((await unknown.json()) as Json).manifests]).toEqual([200, []]);
  const bad = await fetch(`${base}/sha256:nothex`, { headers: auth });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as Json).errors[0].code).toBe('DIGEST_INVALID');
});

/** The refusals the Endpoints table lists for `POST /webhooks/<registry-name>`, each provoked. */
const WEBHOOK_ROW = readmeProse()
  .split('\n')
  .find((l) => l.startsWith('| `POST /webhooks/<registry-name>`'))!;
const REFUSALS: Record<string, { registry?: string; token?: string; type?: string; body?: string }> = {
  '400': { body: '{"not":"events"}' },
  '401': { token: 'wrong' },
  '404': { registry: 'nosuch' },
  '413': { body: `{"events":[${'1,'.repeat(600_000)}1]}` },
  '415': { type: 'text/plain' },
};
const refusals = [...WEBHOOK_ROW.slice(WEBHOOK_ROW.indexOf('`400`')).matchAll(/`(4\d\d)`/g)].map(
  (m) => m[1]!,
);

it('the README lists the webhook refusals tested here', () => {
  expect(refusals.sort()).toEqual(Object.keys(REFUSALS).sort());
});

it.each(refusals)('`POST /webhooks/<registry-name>` refuses with %s as documented', async (status) => {
  const r = REFUSALS[status]!;
  const res = await fetch(`${refgraph.url}/webhooks/${r.registry ?? 'local'}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${r.token ?? hook}`,
      'content-type': r.type ?? 'application/vnd.docker.distribution.events.v1+json',
    },
    body: r.body ?? '{"events":[]}',
  });
  expect(res.status).toBe(Number(status));
  expect(((await res.json()) as Json).error.code).toEqual(expect.any(String));
});

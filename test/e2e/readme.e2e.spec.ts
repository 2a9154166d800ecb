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
import { readmeBlocks, readmeInlineCode } from '../platform/readme.js';
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
  return {
    policies,
    auth,
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

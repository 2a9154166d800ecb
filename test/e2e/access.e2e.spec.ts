import { createHash, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { parseConfig } from '#config';
import { createTestDatabase, type TestDatabase } from '#testing';
import { createApp, type RunningApp } from '../../apps/server/src/app.js';
import type { Access } from '../../apps/server/src/auth/access.js';
import { eventually, localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';
import { graphqlWsInit, handshakeHeaders, rawRequest } from './wire.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const READER = randomBytes(16).toString('hex');
const ADMIN = randomBytes(16).toString('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let dbSecured: TestDatabase;
let dbOpen: TestDatabase;
/** Tokens configured. */
let secured: StartedRefgraph;
/** No `auth:` section: reads open, admin closed. Its log lines are kept. */
let open: { running: RunningApp; url: string; logs: string[] };

beforeAll(async () => {
  [dbSecured, dbOpen] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  secured = await startRefgraph(
    dbSecured.url,
    {
      server: { rateLimitPerMinute: 0 },
      worker: { enabled: false },
      registries: [localDistribution('http://127.0.0.1:9')],
      policies: [{ name: 'p', sbom: true }],
      auth: {
        tokens: [
          { name: 'reader', sha256: sha(READER), scopes: ['read:local/**'] },
          { name: 'ops', sha256: sha(ADMIN), scopes: ['admin'] },
        ],
      },
    },
    { HOOK: 'hook-secret' },
  );
  const logs: string[] = [];
  const cfg = parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, rateLimitPerMinute: 0 },
      worker: { enabled: false },
      registries: [localDistribution('http://127.0.0.1:9')],
    },
    { HOOK: 'hook-secret' },
  );
  const logger = pino({ level: 'info' }, { write: (l: string) => logs.push(l) });
  const running = await createApp({ config: cfg, databaseUrl: dbOpen.url, logger });
  open = { running, url: await running.listen(), logs };
});

afterAll(async () => {
  await secured?.running.close();
  await open?.running.close();
  await Promise.all([dbSecured?.drop(), dbOpen?.drop()]);
});

/** Every route refgraph serves today and its policy; a new route must declare one (see access.ts). */
const EXPECTED: Record<string, Access> = {
  'GET /': 'public',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /docs/assets/:file': 'public',
  'GET /ui': 'public',
  'GET /ui/:file': 'public',
  'GET /ui/:dir/:file': 'public',
  'GET /graphql/ide': 'public',
  'GET /graphql/ide/assets/:file': 'public',
  'POST /webhooks/:registry': 'webhook',
  'GET /graphql': 'read',
  'POST /graphql': 'read',
  'GET /v2/': 'read',
  'GET /v2/*': 'read',
  'PUT /v2/*': 'read',
  'POST /v2/*': 'read',
  'PATCH /v2/*': 'read',
  'DELETE /v2/*': 'read',
  'GET /v2/token': 'public',
  'GET /api/v1/resolve': 'read',
  'GET /api/v1/artifacts/:digest': 'read',
  'GET /api/v1/artifacts/:digest/referrers': 'read',
  'GET /api/v1/artifacts/:digest/signatures': 'read',
  'GET /api/v1/artifacts/:digest/attestations': 'read',
  'GET /api/v1/artifacts/:digest/sbom/packages': 'read',
  'GET /api/v1/packages': 'read',
  'GET /api/v1/vulnerabilities/:id/artifacts': 'read',
  'GET /api/v1/artifacts/:digest/vulnerabilities': 'read',
  'POST /api/v1/verdict': 'read',
  'GET /api/v1/policies': 'read',
  'GET /api/v1/registries': 'read',
  'POST /api/v1/gatekeeper/:policy': 'read',
  'GET /api/v1/events': 'admin',
  'POST /api/v1/events/:id/replay': 'admin',
  'POST /api/v1/registries/:name/sync': 'admin',
  'GET /api/v1/registries/:name/sync': 'admin',
};

function concrete(url: string): string {
  return url
    .replace(':digest', `sha256:${'0'.repeat(64)}`)
    .replace(':registry', 'local')
    .replace(':name', 'local')
    .replace(':policy', 'p')
    .replace(':id', '1')
    .replace(':file', 'swagger-ui.css')
    .replace(':dir', 'x')
    .replace(/\*$/, `local/app/referrers/sha256:${'0'.repeat(64)}`);
}

describe('route policy walk', () => {
  it('every registered route declares a policy, and the policies are the expected ones', () => {
    const routes = secured.running.routes;
    expect(routes.filter((r) => r.access === undefined)).toEqual([]);
    const actual = Object.fromEntries(routes.map((r) => [`${r.method} ${r.url}`, r.access]));
    for (const [route, access] of Object.entries(EXPECTED))
      expect([route, actual[route]]).toEqual([route, access]);
    // Fastify's implicit HEAD routes carry their GET route's declaration.
    for (const r of routes.filter((x) => x.method === 'HEAD'))
      expect([r.url, r.access]).toEqual([r.url, actual[`GET ${r.url}`]]);
    // Opening a route to anyone is never silent: the public and webhook set is exactly this.
    const openRoutes = routes
      .filter((r) => r.method !== 'HEAD' && (r.access === 'public' || r.access === 'webhook'))
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    const expectedOpen = Object.entries(EXPECTED)
      .filter(([, a]) => a === 'public' || a === 'webhook')
      .map(([r]) => r)
      .sort();
    expect(openRoutes).toEqual(expectedOpen);
    // Every family is in the walk.
    const urls = new Set(routes.map((r) => r.url));
    for (const u of [
      '/api/v1/events',
      '/v2/*',
      '/graphql',
      '/ui',
      '/docs',
      '/webhooks/:registry',
      '/metrics',
      '/healthz',
    ])
      expect(urls).toContain(u);
  });

  it('every route enforces what it declares, for no token, a read token and an admin token', async () => {
    const routes = secured.running.routes.filter((r) => r.method === 'GET' || r.method === 'POST');
    for (const r of routes) {
      const send = (headers: Record<string, string>) =>
        fetch(`${secured.url}${concrete(r.url)}`, {
          method: r.method,
          headers: { ...headers, ...(r.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          ...(r.method === 'POST' ? { body: '{}' } : {}),
        }).then((res) => res.status);
      const [none, reader, admin] = [await send({}), await send(bearer(READER)), await send(bearer(ADMIN))];
      const seen = [r.method, r.url, none, reader, admin];
      switch (r.access) {
        case 'public':
          if (r.url === '/v2/token') {
            // The token endpoint is open to the hook but checks credentials itself (Basic or Bearer).
            expect([none, reader, admin]).toEqual([401, 200, 200]);
            break;
          }
          expect([none, reader, admin].some((s) => s === 401 || s === 403)).toBe(false);
          break;
        case 'webhook':
          // The registry's own secret, not an API token.
          expect(seen).toEqual([r.method, r.url, 401, 401, 401]);
          break;
        case 'read':
          expect([seen[2], seen[3] === 401 || seen[3] === 403]).toEqual([401, false]);
          break;
        case 'admin':
          expect([none, reader, admin === 401 || admin === 403]).toEqual([401, 403, false]);
          break;
        case undefined:
          throw new Error(`${r.method} ${r.url} declares no policy`);
      }
    }
  });
});

/** The worker role's own listener (apps/server/src/health/worker-listener.ts): these and no others. */
const EXPECTED_WORKER: Record<string, Access> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
};

describe('route policy walk of the worker listener', () => {
  let worker: RunningApp | undefined;
  let url = '';
  beforeAll(async () => {
    const cfg = parseConfig(
      {
        server: { host: '127.0.0.1', port: 0, logLevel: 'silent' },
        worker: { host: '127.0.0.1', port: 0, pollIntervalMs: 100, concurrency: 1 },
        registries: [localDistribution('http://127.0.0.1:9')],
        auth: { tokens: [{ name: 'ops', sha256: sha(ADMIN), scopes: ['admin'] }] },
      },
      { HOOK: 'hook-secret' },
    );
    worker = await createApp({
      config: cfg,
      databaseUrl: dbOpen.url,
      logger: pino({ level: 'silent' }),
      role: 'worker',
    });
    url = await worker.listen();
    // Ready once its job runner holds its presence (taken on a connection of its own pool, which
    // opens after start-up): the walk below is about the routes' policies, not that moment.
    await eventually(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200));
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('registers exactly the three probes-and-metrics routes, each declared public', () => {
    const routes = worker!.routes.filter((r) => r.method !== 'HEAD');
    expect(Object.fromEntries(routes.map((r) => [`${r.method} ${r.url}`, r.access]))).toEqual(
      EXPECTED_WORKER,
    );
    for (const r of worker!.routes.filter((x) => x.method === 'HEAD'))
      expect([r.url, r.access]).toEqual([r.url, EXPECTED_WORKER[`GET ${r.url}`]]);
  });

  it('answers them without credentials, and nothing else with or without them', async () => {
    for (const route of Object.keys(EXPECTED_WORKER)) {
      const path = route.split(' ')[1]!;
      for (const headers of [{}, bearer(ADMIN)])
        expect([path, (await fetch(`${url}${path}`, { headers })).status]).toEqual([path, 200]);
    }
    for (const [method, path] of [
      ['GET', '/api/v1/events'],
      ['POST', '/webhooks/local'],
      ['GET', '/v2/'],
      ['POST', '/graphql'],
      ['GET', '/docs'],
    ] as const)
      for (const headers of [{}, bearer(ADMIN)])
        expect([method, path, (await fetch(`${url}${path}`, { method, headers })).status]).toEqual([
          method,
          path,
          404,
        ]);
  });
});

/** Spellings of one admin route; which of them the router matches is its business, not ours. */
function spellings(path: string, host: string): string[] {
  const [first, ...rest] = path.slice(1).split('/');
  const last = rest.at(-1)!;
  const encodeFirstChar = (seg: string) => `%${seg.charCodeAt(0).toString(16)}${seg.slice(1)}`;
  const encodeAll = (s: string) =>
    s
      .split('/')
      .map((seg) => [...seg].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join(''))
      .join('/');
  const withLast = (seg: string) => `/${[first, ...rest.slice(0, -1), seg].join('/')}`;
  return [
    path,
    withLast(encodeFirstChar(last)),
    `/${encodeFirstChar(first!)}/${rest.join('/')}`,
    encodeAll(path),
    withLast(`%25${last.charCodeAt(0).toString(16)}${last.slice(1)}`),
    `http://${host}${path}`,
    `http://attacker.invalid${withLast(encodeFirstChar(last))}`,
    `${path}#fragment`,
    `${withLast(encodeFirstChar(last))}#x`,
    `/${path}`,
    path.replace('/v1/', '//v1/'),
    `${path}/`,
    path.toUpperCase(),
    withLast(last[0]!.toUpperCase() + last.slice(1)),
    `${path};x=1`,
    path.replace('/v1/', '/v1/./'),
    path.replace('/v1/', '/v1/x/../'),
    path.replace('/v1/', '/v1%2F'),
    `${path}?x=1`,
  ];
}

const ADMIN_TARGETS: Array<[string, string]> = [
  ['GET', '/api/v1/events'],
  ['POST', '/api/v1/registries/local/sync'],
  ['GET', '/api/v1/registries/local/sync'],
  ['POST', '/api/v1/events/1/replay'],
];

describe('admin routes under every spelling', () => {
  it('refuse a read token and no token; unmatched spellings answer the same 404 to everyone', async () => {
    const host = new URL(secured.url).host;
    let matched = 0;
    for (const [method, path] of ADMIN_TARGETS) {
      for (const target of spellings(path, host)) {
        const body = method === 'POST' ? '{}' : '';
        const headers: Record<string, string> =
          method === 'POST' ? { 'content-type': 'application/json' } : {};
        const send = (base: string, h: Record<string, string>) =>
          rawRequest(base, method, target, { ...headers, ...h }, body);
        const admin = await send(secured.url, bearer(ADMIN));
        const reader = await send(secured.url, bearer(READER));
        const none = await send(secured.url, {});
        const anonymous = await send(open.url, {});
        const where = `${method} ${target}`;
        // The router's answer for an admin decides whether the spelling reaches the route at all.
        const routed = !(admin.status === 404 && /^not_found: Cannot /.test(errorMessage(admin.body)));
        if (routed) {
          matched++;
          expect([where, reader.status, none.status, anonymous.status]).toEqual([where, 403, 401, 401]);
        } else {
          expect([where, reader.status, none.status, anonymous.status]).toEqual([where, 404, 404, 404]);
          const shapes = [admin, reader, none].map((r) => errorMessage(r.body));
          expect([where, ...shapes]).toEqual([where, shapes[0], shapes[0], shapes[0]]);
        }
      }
    }
    // Not vacuous: the encoded and absolute spellings do reach the admin routes.
    expect(matched).toBeGreaterThanOrEqual(4 * ADMIN_TARGETS.length);
  });

  it('the spellings of the issue reach their admin route and are refused to a read token', async () => {
    const host = new URL(secured.url).host;
    for (const [method, target] of [
      ['GET', '/api/v1/%65vents'],
      ['POST', '/api/v1/registries/local/%73ync'],
      ['GET', `http://${host}/api/v1/events`],
    ] as const) {
      const body = method === 'POST' ? '{}' : '';
      const headers: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {};
      const status = async (base: string, h: Record<string, string>) =>
        (await rawRequest(base, method, target, { ...headers, ...h }, body)).status;
      expect([target, await status(secured.url, bearer(ADMIN))]).toEqual([
        target,
        method === 'POST' ? 202 : 200,
      ]);
      expect([target, await status(secured.url, bearer(READER))]).toEqual([target, 403]);
      expect([target, await status(secured.url, {})]).toEqual([target, 401]);
      expect([target, await status(open.url, {})]).toEqual([target, 401]);
    }
  });

  it('with no auth section, reads stay open under every spelling', async () => {
    const host = new URL(open.url).host;
    for (const target of ['/api/v1/registries', '/api/v1/%72egistries', `http://${host}/api/v1/registries`]) {
      expect([target, (await rawRequest(open.url, 'GET', target)).status]).toEqual([target, 200]);
    }
  });
});

function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
    return `${parsed.error?.code}: ${parsed.error?.message}`;
  } catch {
    return body;
  }
}

describe('WebSocket and GraphQL over GET', () => {
  const query = encodeURIComponent('{ registries { name } }');

  it('a GET query with an Upgrade header but no handshake authenticates like any request', async () => {
    for (const extra of [
      { upgrade: 'websocket' } as Record<string, string>,
      { upgrade: 'websocket', connection: 'keep-alive, Upgrade' },
      { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13' },
      { ...handshakeHeaders(), 'sec-websocket-key': 'short' },
      { ...handshakeHeaders(), 'sec-websocket-version': '8' },
    ]) {
      const res = await rawRequest(secured.url, 'GET', `/graphql?query=${query}`, extra);
      expect([extra, res.status, res.body.includes('registries')]).toEqual([extra, 401, false]);
    }
    // A complete handshake is answered by the websocket server (101), never by the HTTP query handler.
    const upgraded = await rawRequest(secured.url, 'GET', `/graphql?query=${query}`, handshakeHeaders());
    expect([upgraded.status, upgraded.body]).toEqual([101, '']);
  });

  it('a real handshake anywhere but the subscription route is an ordinary request', async () => {
    for (const target of [
      '/api/v1/registries',
      '/api/v1/events',
      `/v2/local/app/referrers/sha256:${'0'.repeat(64)}`,
    ]) {
      const res = await rawRequest(secured.url, 'GET', target, handshakeHeaders());
      expect([target, res.status]).toEqual([target, 401]);
    }
    const admin = await rawRequest(secured.url, 'GET', '/api/v1/events', handshakeHeaders(bearer(READER)));
    expect(admin.status).toBe(403);
  });

  it('a socket without credentials is refused; a token in connection_init or on the handshake is accepted', async () => {
    expect(await graphqlWsInit(secured.url, undefined)).not.toBe('ack');
    expect(await graphqlWsInit(secured.url, {})).not.toBe('ack');
    expect(await graphqlWsInit(secured.url, { authorization: 'Bearer wrong' })).not.toBe('ack');
    expect(await graphqlWsInit(secured.url, { authorization: 42 })).not.toBe('ack');
    expect(await graphqlWsInit(secured.url, { authorization: `Bearer ${READER}` })).toBe('ack');
    expect(await graphqlWsInit(secured.url, { Authorization: `Bearer ${ADMIN}` })).toBe('ack');
    expect(await graphqlWsInit(secured.url, undefined, bearer(READER))).toBe('ack');
    expect(await graphqlWsInit(secured.url, undefined, bearer('wrong'))).toBe('http:401');
    // Without any configured credentials, reads (and so sockets) are open.
    expect(await graphqlWsInit(open.url, undefined)).toBe('ack');
  });
});

describe('asset maps', () => {
  it('answer 404 for names of Object.prototype, without an error or a path in the log', async () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
    const paths = [
      ...names.map((n) => `/docs/assets/${n}`),
      ...names.map((n) => `/graphql/ide/assets/${n}`),
      ...names.map((n) => `/ui/${n}`),
      ...names.map((n) => `/ui/${n}/${n}`),
      '/ui/__proto__/index.html',
    ];
    const before = open.logs.length;
    for (const p of paths) expect([p, (await fetch(`${open.url}${p}`)).status]).toEqual([p, 404]);
    const logged = open.logs.slice(before).join('\n');
    expect(logged).not.toMatch(/unhandled error|ENOENT/);
    expect(logged).not.toContain(process.cwd());
    // The maps still serve what they list.
    expect((await fetch(`${open.url}/docs/assets/swagger-ui.css`)).status).toBe(200);
    expect((await fetch(`${open.url}/graphql/ide/assets/ide.js`)).status).toBe(200);
  });
});

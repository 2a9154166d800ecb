import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createRequire } from 'node:module';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { Database, GraphRepository, RegistryRepository, type GraphListener } from '#store';
import { createTestDatabase, imageManifest, kindOf, referrerManifest, type TestDatabase } from '#testing';
import { GRAPH_LISTENER } from '../../apps/server/src/graphql/events.js';
import { eventually, startRefgraph, type StartedRefgraph } from './harness.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const READER = randomBytes(16).toString('hex');
const ADMIN = randomBytes(16).toString('hex');
const NO_READ = randomBytes(16).toString('hex');

let tdb: TestDatabase;
let refgraph: StartedRefgraph;
let jwks: Server;
let issuer = '';
let signingKey: CryptoKey;
const imageA = imageManifest();
const imageB = imageManifest();
const sigA = referrerManifest(imageA.descriptor, 'application/vnd.example.sig');
const sigB = referrerManifest(imageB.descriptor, 'application/vnd.example.sig');

/** Subscriptions attached to the process's LISTEN connection: an event NOTIFYed from then on reaches them. */
const subscribers = () =>
  refgraph.running.app!.get<GraphListener>(GRAPH_LISTENER, { strict: false }).subscribers;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  signingKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  // The identity provider's key endpoint; a stand-in because no real OIDC issuer runs here.
  jwks = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;

  tdb = await createTestDatabase();
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: 'http://127.0.0.1:9',
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
        },
      ],
      policies: [{ name: 'p', sbom: true }],
      auth: {
        tokens: [
          { name: 'reader', sha256: sha(READER), scopes: ['read:local/team-a/**'] },
          { name: 'ops', sha256: sha(ADMIN), scopes: ['admin'] },
          { name: 'nothing', sha256: sha(NO_READ), scopes: ['read:other/none'] },
        ],
        oidc: { issuer, audience: 'refgraph', jwksUri: `${issuer}/jwks`, scopes: ['read:local/team-b/**'] },
      },
    },
    { HOOK: 'hook-secret' },
  );
  const db = new Database({ url: tdb.url, maxConnections: 2 });
  const registries = new RegistryRepository(db);
  const graph = new GraphRepository(db);
  const reg = (await registries.findRegistryByName('local'))!;
  const at = new Date();
  for (const [repo, m] of [
    ['team-a/app', imageA],
    ['team-a/app', sigA],
    ['team-b/app', imageB],
    ['team-b/app', sigB],
  ] as const) {
    const id = await registries.ensureRepository(reg.id, repo);
    await graph.applyPush({
      repositoryId: id,
      manifest: m.parsed,
      kind: kindOf(m),
      bytes: m.bytes,
      eventAt: at,
    });
  }
  await db.close();
});

afterAll(async () => {
  await refgraph?.running.close();
  await tdb?.drop();
  await new Promise((r) => jwks?.close(r));
});

const call = (path: string, token?: string, init: RequestInit = {}) =>
  fetch(`${refgraph.url}${path}`, {
    ...init,
    headers: { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

function concrete(url: string): string {
  return url
    .replace(':digest', `sha256:${'0'.repeat(64)}`)
    .replace(':registry', 'local')
    .replace(':name', 'local')
    .replace(':policy', 'p')
    .replace(':id', '1')
    .replace(':file', 'swagger-ui.css')
    .replace(/\*.*$/, `local/team-a/app/referrers/sha256:${'0'.repeat(64)}`);
}

const PUBLIC = new Set([
  '/',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/docs',
  '/docs/assets/:file',
]);

describe('deny by default', () => {
  it('every registered route refuses missing and wrong credentials, except the public ones', async () => {
    const routes = refgraph.running.routes.filter((r) => !['HEAD', 'OPTIONS'].includes(r.method));
    expect(routes.length).toBeGreaterThan(15);
    const checked: string[] = [];
    for (const r of routes) {
      const path = concrete(r.url);
      const init: RequestInit = {
        method: r.method,
        ...(r.method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}),
      };
      const none = await call(path, undefined, init);
      const wrong = await call(path, 'wrong-token', init);
      if (PUBLIC.has(r.url) || r.url.startsWith('/graphql/ide') || /^\/ui(\/|$)/.test(r.url)) {
        expect([r.url, none.status]).not.toEqual([r.url, 401]);
        continue;
      }
      if (r.url.startsWith('/webhooks/')) {
        // Webhooks answer to their registry's own secret, not to API tokens.
        expect([r.url, wrong.status]).toEqual([r.url, 401]);
        continue;
      }
      // The registry view challenges as OCI clients expect: a token realm URL, and Basic at that realm.
      const challenge =
        r.url === '/v2/token'
          ? 'Basic realm="refgraph"'
          : r.url.startsWith('/v2/')
            ? `Bearer realm="${refgraph.url}/v2/token",service="refgraph"` +
              (r.url === '/v2/*' ? ',scope="repository:local/team-a/app:pull"' : '')
            : 'Bearer realm="refgraph"';
      expect([r.method, r.url, none.status, none.headers.get('www-authenticate')]).toEqual([
        r.method,
        r.url,
        401,
        challenge,
      ]);
      expect([r.method, r.url, wrong.status]).toEqual([r.method, r.url, 401]);
      checked.push(`${r.method} ${r.url}`);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['GET /api/v1/artifacts/:digest', 'POST /api/v1/verdict', 'GET /api/v1/events']),
    );
  });

  it('admin routes refuse a read-only token', async () => {
    expect((await call('/api/v1/events', READER)).status).toBe(403);
    expect((await call('/api/v1/events', ADMIN)).status).toBe(200);
  });

  it('a token scoped to other repositories sees nothing here', async () => {
    expect((await call(`/api/v1/artifacts/${imageA.digest}`, NO_READ)).status).toBe(404);
    expect((await call(`/v2/local/team-a/app/referrers/${imageA.digest}`, NO_READ)).status).toBe(403);
    expect((await call('/api/v1/events', NO_READ)).status).toBe(403);
  });
});

describe('read scopes', () => {
  it('show what is in scope and hide the rest, on REST and the OCI referrers API', async () => {
    expect((await call(`/api/v1/artifacts/${imageA.digest}`, READER)).status).toBe(200);
    expect((await call(`/api/v1/artifacts/${imageB.digest}`, READER)).status).toBe(404);
    expect((await call(`/api/v1/artifacts/${imageB.digest}/referrers`, READER)).status).toBe(404);
    const inScope = await call(`/v2/local/team-a/app/referrers/${imageA.digest}`, READER);
    expect(
      ((await inScope.json()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest),
    ).toEqual([sigA.digest]);
    // The registry view's answer outside the scope; never a 404, which clients take for a
    // registry without the referrers API.
    const outOfScope = await call(`/v2/local/team-b/app/referrers/${imageB.digest}`, READER);
    expect(outOfScope.status).toBe(403);
    expect(((await outOfScope.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED');
    const admin = await call(`/api/v1/artifacts/${imageB.digest}`, ADMIN);
    expect(admin.status).toBe(200);
  });
});

describe('OIDC bearer tokens', () => {
  const jwt = (claims: { aud?: string; exp?: number; iss?: string }) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('ci-bot')
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? 'refgraph')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(signingKey);

  it('accepts a token from the issuer for the audience, with the configured scopes', async () => {
    const token = await jwt({});
    expect((await call(`/api/v1/artifacts/${imageB.digest}`, token)).status).toBe(200);
    expect((await call(`/api/v1/artifacts/${imageA.digest}`, token)).status).toBe(404);
  });

  it('refuses another audience, another issuer and an expired token', async () => {
    expect((await call(`/api/v1/artifacts/${imageB.digest}`, await jwt({ aud: 'other' }))).status).toBe(401);
    expect(
      (await call(`/api/v1/artifacts/${imageB.digest}`, await jwt({ iss: 'http://127.0.0.1:1' }))).status,
    ).toBe(401);
    const expired = await jwt({ exp: Math.floor(Date.now() / 1000) - 600 });
    expect((await call(`/api/v1/artifacts/${imageB.digest}`, expired)).status).toBe(401);
    // Without an expiry a token would never stop being valid: refused, with the claim named.
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('ci-bot')
      .setIssuer(issuer)
      .setAudience('refgraph')
      .setIssuedAt()
      .sign(signingKey);
    const refused = await call(`/api/v1/artifacts/${imageB.digest}`, forever);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      'invalid token: ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
  });

  it('closes a GraphQL socket when the token it was opened with expires', async () => {
    const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: unknown };
    const token = await jwt({ exp: Math.floor(Date.now() / 1000) + 2 });
    const before = subscribers();
    const events: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      const client = createClient({
        url: `${refgraph.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        connectionParams: { authorization: `Bearer ${token}` },
        on: {
          connected: () => events.push('connected'),
          closed: (e) => {
            const { code, reason } = e as { code: number; reason: string };
            resolve({ code, reason });
          },
        },
      });
      client.subscribe(
        {
          query: 'subscription ($s: String!) { referrerAdded(subject: $s) { referrerDigest } }',
          variables: { s: imageB.digest },
        },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
    });
    // Accepted while the token was valid, then closed by the server with graphql-ws's Forbidden.
    expect(await closed).toEqual({ code: 4403, reason: 'credentials expired' });
    expect(events).toEqual(['connected']);
    // Its subscription ended on the server too (and before the next test counts subscribers).
    await eventually(async () => expect(subscribers()).toBe(before));
  });
});

describe('GraphQL over WebSocket', () => {
  // graphql-ws needs a WebSocket implementation on Node 20; `ws` is the one mercurius uses.
  const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: unknown };

  /** Subscribes to referrerAdded for `subject` on a socket whose connection_init carries `params`. */
  function subscribe(params: Record<string, string>, subject: string) {
    const client = createClient({
      url: `${refgraph.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: params,
    });
    const received: unknown[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      {
        query: 'subscription ($s: String!) { referrerAdded(subject: $s) { referrerDigest } }',
        variables: { s: subject },
      },
      { next: (v) => received.push(v.data), error: (e) => errors.push(e), complete: () => undefined },
    );
    return { received, errors, dispose: () => client.dispose() };
  }

  it('authenticates the token a browser sends in connection_init, and applies its scope', async () => {
    const attached = subscribers();
    const reader = subscribe({ authorization: `Bearer ${READER}` }, imageA.digest);
    const bare = subscribe({}, imageA.digest);
    const wrong = subscribe({ authorization: 'Bearer wrong' }, imageA.digest);
    try {
      // The reader's subscription is attached (the refused sockets never attach one).
      await eventually(async () => expect(subscribers()).toBe(attached + 1));
      const db = new Database({ url: tdb.url, maxConnections: 1 });
      const registries = new RegistryRepository(db);
      const reg = (await registries.findRegistryByName('local'))!;
      const late = referrerManifest(imageA.descriptor, 'application/vnd.example.late');
      await new GraphRepository(db).applyPush({
        repositoryId: await registries.ensureRepository(reg.id, 'team-a/app'),
        manifest: late.parsed,
        kind: kindOf(late),
        bytes: late.bytes,
        eventAt: new Date(),
      });
      await db.close();
      await eventually(async () =>
        expect(reader.received).toEqual([{ referrerAdded: { referrerDigest: late.digest } }]),
      );
      // No credentials on the handshake nor in connection_init: the connection is refused (and a
      // refused socket receives nothing after that).
      await eventually(async () => {
        expect(bare.errors.length).toBeGreaterThan(0);
        expect(wrong.errors.length).toBeGreaterThan(0);
      });
      expect(bare.received).toEqual([]);
      expect(wrong.received).toEqual([]);
      expect(subscribers()).toBe(attached + 1);
    } finally {
      await Promise.all([reader.dispose(), bare.dispose(), wrong.dispose()]);
      // Detached again before the next test counts subscribers.
      await eventually(async () => expect(subscribers()).toBe(attached));
    }
  });
});

describe('verificationChanged', () => {
  it('reaches a subscriber when a verification outcome is stored', async () => {
    const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: unknown };
    const client = createClient({
      url: `${refgraph.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${READER}` },
    });
    const received: unknown[] = [];
    const attached = subscribers();
    client.subscribe(
      {
        query:
          'subscription ($s: String!) { verificationChanged(subject: $s) { subject artifactDigest status } }',
        variables: { s: imageA.digest },
      },
      { next: (v) => received.push(v.data), error: () => undefined, complete: () => undefined },
    );
    try {
      await eventually(async () => expect(subscribers()).toBe(attached + 1));
      await refgraph.running.runtime.trust.upsertSignatures([
        {
          artifactDigest: sigA.digest,
          layerDigest: '',
          subjectDigest: imageA.digest,
          repositoryId: Number(
            (
              await refgraph.running.runtime.db.pool.query<{ id: string }>(
                "SELECT id FROM repository WHERE name = 'team-a/app'",
              )
            ).rows[0]!.id,
          ),
          kind: 'signature',
          format: 'sigstore-bundle',
          status: 'failed',
          reason: 'identity_mismatch',
          message: 'not the expected signer',
          policyVersion: 'test',
        },
      ]);
      await eventually(async () =>
        expect(received).toEqual([
          { verificationChanged: { subject: imageA.digest, artifactDigest: sigA.digest, status: 'failed' } },
        ]),
      );
    } finally {
      await client.dispose();
    }
  });
});

describe('without any configured token', () => {
  it('says loudly that reads are open, keeps admin closed and webhooks on their secrets', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const db = await createTestDatabase();
    const { parseConfig } = await import('#config');
    const { createApp } = await import('../../apps/server/src/app.js');
    const cfg = parseConfig(
      {
        server: { host: '127.0.0.1', port: 0, rateLimitPerMinute: 3 },
        worker: { enabled: false },
        registries: [
          {
            name: 'local',
            kind: 'distribution',
            url: 'http://127.0.0.1:9',
            webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
          },
        ],
      },
      { HOOK: 'hook-secret' },
    );
    const running = await createApp({ config: cfg, databaseUrl: db.url, logger });
    try {
      const url = await running.listen();
      expect(lines.join('\n')).toMatch(/all reads are open/);
      expect((await fetch(`${url}/api/v1/registries`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/events`)).status).toBe(401);
      const hook = await fetch(`${url}/webhooks/local`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"events":[]}',
      });
      expect(hook.status).toBe(401);
      // The limit is 3 a minute per client: the fourth read is refused.
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/api/v1/registries`)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await running.close();
      await db.drop();
    }
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { ConfigError, parseConfig } from '#config';
import { createTestDatabase, type TestDatabase } from '#testing';
import { localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';
import { graphqlWsInit, handshakeHeaders, rawRequest } from './wire.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const READER = randomBytes(16).toString('hex');
const OTHER = randomBytes(16).toString('hex');

const dbs: TestDatabase[] = [];
const apps: StartedRefgraph[] = [];

/** An instance allowing 2 requests per client a minute, with its own database. */
async function limited(extra: { trustProxy?: string[]; tokens?: boolean }): Promise<string> {
  const db = await createTestDatabase();
  dbs.push(db);
  const app = await startRefgraph(
    db.url,
    {
      server: { rateLimitPerMinute: 2, ...(extra.trustProxy ? { trustProxy: extra.trustProxy } : {}) },
      worker: { enabled: false },
      registries: [localDistribution('http://127.0.0.1:9')],
      ...(extra.tokens
        ? {
            auth: {
              tokens: [
                { name: 'reader', sha256: sha(READER), scopes: ['read:**'] },
                { name: 'other', sha256: sha(OTHER), scopes: ['read:**'] },
              ],
            },
          }
        : {}),
    },
    { HOOK: 'hook-secret' },
  );
  apps.push(app);
  return app.url;
}

afterAll(async () => {
  for (const a of apps) await a.running.close();
  for (const d of dbs) await d.drop();
});

const statuses = async (url: string, forwardedFor: string[]) => {
  const out: number[] = [];
  for (const ip of forwardedFor)
    out.push((await fetch(`${url}/api/v1/registries`, { headers: { 'x-forwarded-for': ip } })).status);
  return out;
};

describe('server.trustProxy', () => {
  it('off by default: X-Forwarded-For does not choose the client, so it cannot dodge the limit', async () => {
    const url = await limited({});
    expect(await statuses(url, ['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([200, 200, 429]);
  });

  it('listed proxies are believed: each forwarded client has its own limit', async () => {
    const url = await limited({ trustProxy: ['127.0.0.1'] });
    expect(await statuses(url, ['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([200, 200, 200]);
    expect(await statuses(url, ['10.0.0.9', '10.0.0.9', '10.0.0.9'])).toEqual([200, 200, 429]);
  });

  it('a refused client is told when to come back, in the distribution-spec shape on /v2', async () => {
    const url = await limited({});
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/v2/`)).status).toBe(200);
    const view = await fetch(`${url}/v2/`);
    expect(view.status).toBe(429);
    const retryAfter = Number(view.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await view.json()).toEqual({
      errors: [{ code: 'TOOMANYREQUESTS', message: 'too many requests' }],
    });
    const rest = await fetch(`${url}/api/v1/registries`);
    expect(rest.status).toBe(429);
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('a proxy that is not listed is not believed', async () => {
    const url = await limited({ trustProxy: ['10.255.0.0/16'] });
    expect(await statuses(url, ['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([200, 200, 429]);
  });

  it('accepts addresses and CIDR ranges only', () => {
    const cfg = (trustProxy: unknown) => () => parseConfig({ server: { trustProxy } }, {});
    expect(cfg(['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'])).not.toThrow();
    expect(parseConfig({}, {}).server.trustProxy).toEqual([]);
    for (const bad of [true, ['*'], ['10.0.0.0/33'], ['example.com'], ['10.0.0.1/8/1'], ['::1/129']])
      expect(cfg(bad)).toThrow(ConfigError);
  });
});

describe('refused credentials', () => {
  it('count against the address, on REST, GraphQL, admin routes and the registry view', async () => {
    const url = await limited({ tokens: true, trustProxy: ['127.0.0.1'] });
    for (const [i, path] of [
      '/api/v1/registries',
      '/graphql?query={__typename}',
      '/api/v1/events',
      '/v2/',
    ].entries()) {
      const headers = (authorization: string) => ({ authorization, 'x-forwarded-for': `10.3.0.${i}` });
      const out = [];
      for (const authorization of ['Bearer guess-1', 'Basic Z3Vlc3M6Mg==', 'Bearer guess-3'])
        out.push((await fetch(`${url}${path}`, { headers: headers(authorization) })).status);
      expect([path, out]).toEqual([path, [401, 401, 429]]);
    }
    // A valid token is limited as its principal: another address's guesses do not use it up.
    const ok = await fetch(`${url}/api/v1/registries`, {
      headers: { authorization: `Bearer ${READER}`, 'x-forwarded-for': '10.3.0.0' },
    });
    expect(ok.status).toBe(200);
  });
});

describe('rate limits on GraphQL sockets', () => {
  it('count handshakes per address and connection_init tokens per principal', async () => {
    // Forwarded addresses give each scenario a fresh per-address budget.
    const url = await limited({ tokens: true, trustProxy: ['127.0.0.1'] });
    const bare = [];
    for (let i = 0; i < 3; i++) {
      bare.push(
        (await rawRequest(url, 'GET', '/graphql', handshakeHeaders({ 'x-forwarded-for': '10.1.0.1' })))
          .status,
      );
    }
    expect(bare).toEqual([101, 101, 429]);

    const withHeader = [];
    for (let i = 0; i < 3; i++)
      withHeader.push(await graphqlWsInit(url, undefined, { authorization: `Bearer ${READER}` }));
    expect(withHeader.slice(0, 2)).toEqual(['ack', 'ack']);
    expect(withHeader[2]).toBe('http:429');

    const inInit = [];
    for (let i = 0; i < 3; i++)
      inInit.push(
        await graphqlWsInit(url, { authorization: `Bearer ${OTHER}` }, { 'x-forwarded-for': `10.2.0.${i}` }),
      );
    expect(inInit.slice(0, 2)).toEqual(['ack', 'ack']);
    expect(inInit[2]).not.toBe('ack');
  });
});

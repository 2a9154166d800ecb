import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  randomImage,
  pushImage,
  startHttpStub,
  startRegistry,
  type HttpStub,
  type TestRegistry,
} from '#testing';
import { RegistryClient } from '#registry';
import { testRegistryConfig } from './test-config.js';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('basic auth against Distribution 2.8.2 with htpasswd', () => {
  const user = { username: 'puller', password: 'pa55-word' };
  let registry: TestRegistry;
  const image = randomImage();

  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: user });
    await pushImage(registry.url, 'private/app', 'v1', image, { auth: user });
  });
  afterAll(() => registry.stop());

  it('fetches with the configured credentials', async () => {
    const client = new RegistryClient(
      testRegistryConfig(registry.url, { credentials: { type: 'basic', ...user } }),
    );
    expect((await client.fetchManifest('private/app', 'v1')).digest).toBe(image.digest);
    expect(await client.resolveTag('private/app', 'v1')).toBe(image.digest);
  });

  it('is unauthorized without or with wrong credentials', async () => {
    const anonymous = new RegistryClient(testRegistryConfig(registry.url));
    await expect(anonymous.fetchManifest('private/app', 'v1')).rejects.toMatchObject({
      code: 'unauthorized',
      retryable: false,
      status: 401,
    });
    const wrong = new RegistryClient(
      testRegistryConfig(registry.url, {
        credentials: { type: 'basic', username: 'puller', password: 'nope' },
      }),
    );
    await expect(wrong.manifestExists('private/app', image.digest)).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });
});

// The stubs below stand in for a token-auth registry and its token service, because the real
// Distribution here cannot be made to issue Bearer challenges without a separate token server.
describe('Docker token flow', () => {
  const image = randomImage();
  let registry: HttpStub;
  let realm: HttpStub;
  let issued = 0;
  let challengeRealm = '';
  let tokenBody: () => object = () => ({ token: `tok-${issued}`, expires_in: 300 });

  const serveRegistry = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/token' || req.url?.startsWith('/token?')) return serveToken(req, res);
    if (req.url?.startsWith('/missing')) return void res.writeHead(404).end();
    const auth = req.headers.authorization ?? '';
    if (!/^Bearer tok-\d+$/.test(auth) && auth !== 'Bearer static-token') {
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="${challengeRealm}",service="stub.registry",scope="repository:app:pull"`,
      });
      return void res.end();
    }
    res.writeHead(200, { 'Content-Type': image.mediaType, 'Docker-Content-Digest': image.digest });
    res.end(image.manifest);
  };
  const serveToken = (_req: IncomingMessage, res: ServerResponse): void => {
    issued++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(tokenBody()));
  };
  const tokenRequests = (stub: HttpStub) => stub.requests.filter((r) => r.url.startsWith('/token'));

  beforeEach(async () => {
    issued = 0;
    tokenBody = () => ({ token: `tok-${issued}`, expires_in: 300 });
    registry = await startHttpStub(serveRegistry);
    realm = await startHttpStub(serveToken);
    challengeRealm = `${registry.url}/token`;
  });
  afterEach(async () => {
    await registry.stop();
    await realm.stop();
  });

  it('gets a token from a same-origin realm with service, scope and basic credentials, then retries', async () => {
    const client = new RegistryClient(
      testRegistryConfig(registry.url, { credentials: { type: 'basic', username: 'u', password: 'p' } }),
    );
    expect((await client.fetchManifest('app', 'v1')).digest).toBe(image.digest);
    const [token] = tokenRequests(registry);
    const params = new URL(token!.url, registry.url).searchParams;
    expect(params.get('service')).toBe('stub.registry');
    expect(params.get('scope')).toBe('repository:app:pull');
    expect(token!.headers.authorization).toBe(basic('u', 'p'));
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([
      basic('u', 'p'),
      basic('u', 'p'),
      'Bearer tok-1',
    ]);
  });

  it('caches the token per scope until expires_in runs out', async () => {
    let now = 1_000_000;
    const client = new RegistryClient(testRegistryConfig(registry.url), { now: () => now });
    await client.fetchManifest('app', 'v1');
    await client.manifestExists('app', image.digest);
    expect(tokenRequests(registry)).toHaveLength(1);
    now += 301_000;
    await client.fetchManifest('app', 'v1');
    expect(tokenRequests(registry)).toHaveLength(2);
    expect(registry.requests.at(-1)?.headers.authorization).toBe('Bearer tok-2');
  });

  it('accepts access_token and defaults the lifetime to 60 seconds', async () => {
    tokenBody = () => ({ access_token: `tok-${issued}` });
    let now = 0;
    const client = new RegistryClient(testRegistryConfig(registry.url), { now: () => now });
    await client.fetchManifest('app', 'v1');
    now += 30_000;
    await client.fetchManifest('app', 'v1');
    expect(tokenRequests(registry)).toHaveLength(1);
    now += 31_000;
    await client.fetchManifest('app', 'v1');
    expect(tokenRequests(registry)).toHaveLength(2);
  });

  it.each([
    ['1e308 s', 1e308],
    ['ten years', 10 * 365 * 86_400],
    ['an hour in milliseconds', 3_600_000],
  ])('reuses a token at most an hour when expires_in says %s', async (_name, expiresIn) => {
    tokenBody = () => ({ token: `tok-${issued}`, expires_in: expiresIn });
    let now = 0;
    const client = new RegistryClient(testRegistryConfig(registry.url), { now: () => now });
    await client.fetchManifest('app', 'v1');
    now += 3_590_000;
    await client.fetchManifest('app', 'v1');
    expect(tokenRequests(registry)).toHaveLength(1);
    now += 10_000;
    await client.fetchManifest('app', 'v1');
    expect(tokenRequests(registry)).toHaveLength(2);
    expect(registry.requests.at(-1)?.headers.authorization).toBe('Bearer tok-2');
  });

  it('keeps the tokens of the most recently used scopes, however many repositories are asked about', async () => {
    const client = new RegistryClient(testRegistryConfig(registry.url));
    const repositories = Array.from({ length: 1001 }, (_, i) => `team/app-${i}`);
    for (const name of repositories) await client.manifestExists(name, image.digest);
    expect(tokenRequests(registry)).toHaveLength(1001);
    // The newest scopes still have their tokens; the oldest was forgotten and is asked for again.
    await client.manifestExists('team/app-1000', image.digest);
    await client.manifestExists('team/app-1', image.digest);
    expect(tokenRequests(registry)).toHaveLength(1001);
    await client.manifestExists('team/app-0', image.digest);
    expect(tokenRequests(registry)).toHaveLength(1002);
  });

  it('retries only once: a token the registry still refuses is unauthorized', async () => {
    tokenBody = () => ({ token: 'rejected' });
    const client = new RegistryClient(testRegistryConfig(registry.url));
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'unauthorized',
      status: 401,
    });
    expect(tokenRequests(registry)).toHaveLength(1);
    expect(registry.requests.filter((r) => r.url.startsWith('/v2/'))).toHaveLength(2);
  });

  it('refuses a plain-http realm on another origin that is not listed, without contacting it', async () => {
    challengeRealm = `${realm.url}/token`;
    const client = new RegistryClient(
      testRegistryConfig(registry.url, { credentials: { type: 'basic', username: 'u', password: 'p' } }),
    );
    await expect(client.fetchManifest('app', 'v1')).rejects.toThrow(/allowedTokenRealms/);
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'unauthorized' });
    expect(realm.requests).toHaveLength(0);
  });

  it('uses a listed realm on another origin and sends it the credentials', async () => {
    challengeRealm = `${realm.url}/token`;
    const client = new RegistryClient(
      testRegistryConfig(registry.url, {
        credentials: { type: 'basic', username: 'u', password: 'p' },
        allowedTokenRealms: [realm.url],
      }),
    );
    expect((await client.fetchManifest('app', 'v1')).digest).toBe(image.digest);
    expect(realm.requests).toHaveLength(1);
    expect(realm.requests[0]?.headers.authorization).toBe(basic('u', 'p'));
  });

  it('refuses an unlisted https realm: no request, no credentials, no token forwarded', async () => {
    challengeRealm = 'https://auth.example.test/token';
    const seen: string[] = [];
    // Loopback cannot serve trusted https, so the https realm would be answered by the injected fetch.
    const fetchVia: typeof fetch = async (input, init) => {
      const url = input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url);
      if (url.origin !== 'https://auth.example.test') return fetch(input, init);
      seen.push(url.toString());
      return new Response(JSON.stringify({ token: 'tok-9' }), { status: 200 });
    };
    const client = new RegistryClient(
      testRegistryConfig(registry.url, { credentials: { type: 'basic', username: 'u', password: 'p' } }),
      { fetch: fetchVia },
    );
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/not listed in allowedTokenRealms/),
    });
    expect(seen).toEqual([]);
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([basic('u', 'p')]);
  });

  it('sends configured bearer credentials as they are', async () => {
    const client = new RegistryClient(
      testRegistryConfig(registry.url, { credentials: { type: 'bearer', token: 'static-token' } }),
    );
    expect((await client.fetchManifest('app', 'v1')).digest).toBe(image.digest);
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual(['Bearer static-token']);
  });

  it('maps a failing token endpoint to unauthorized', async () => {
    challengeRealm = `${registry.url}/missing-token-endpoint`;
    const client = new RegistryClient(testRegistryConfig(registry.url));
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'unauthorized',
      status: 404,
    });
    expect(registry.requests.map((r) => r.url.split('?')[0])).toEqual([
      '/v2/app/manifests/v1',
      '/missing-token-endpoint',
    ]);
  });
});

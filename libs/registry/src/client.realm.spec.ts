import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomImage, startHttpStub, startHungServer, type HttpStub, type HungServer } from '#testing';
import { RegistryClient } from '#registry';
import type { ResolvedAddress } from './address.js';
import { isNonPublicAddress } from './address.js';
import { testRegistryConfig } from './test-config.js';

// A scripted registry stub issues the Bearer challenges (the real Distribution here cannot without a
// separate token server); the realm is a loopback TCP server counting connections, so "never
// contacted" is observed as zero accepted connections, whatever the scheme. DNS answers that point
// at private addresses cannot be produced on cue, so a stand-in resolver gives them.
describe('token realm allow-list', () => {
  const image = randomImage();
  let registry: HttpStub;
  let realm: HungServer;
  let challengeRealm = '';

  const serveRegistry = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.authorization !== 'Bearer tok-1') {
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="${challengeRealm}",service="stub",scope="repository:app:pull"`,
      });
      return void res.end();
    }
    res.writeHead(200, { 'Content-Type': image.mediaType, 'Docker-Content-Digest': image.digest });
    res.end(image.manifest);
  };
  const creds = { type: 'basic' as const, username: 'u', password: 'p' };
  const staticResolver =
    (answers: Record<string, string[]>) =>
    (host: string): Promise<ResolvedAddress[]> =>
      Promise.resolve(
        (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );

  beforeEach(async () => {
    registry = await startHttpStub(serveRegistry);
    realm = await startHungServer();
  });
  afterEach(async () => {
    await registry.stop();
    await realm.stop();
  });

  const authorizations = () => registry.requests.map((r) => r.headers.authorization ?? null);

  it('refuses an unlisted realm on loopback, another port, over https and http', async () => {
    for (const scheme of ['https', 'http']) {
      challengeRealm = `${scheme}://127.0.0.1:${realm.port}/token`;
      const client = new RegistryClient(testRegistryConfig(registry.url, { credentials: creds }));
      await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
        code: 'unauthorized',
        message: expect.stringMatching(/not listed in allowedTokenRealms/),
      });
    }
    expect(realm.connections).toBe(0);
    expect(authorizations().every((a) => a?.startsWith('Basic '))).toBe(true);
  });

  it('refuses a listed realm named by a host name that resolves to loopback', async () => {
    challengeRealm = `http://localhost:${realm.port}/token`;
    const client = new RegistryClient(
      testRegistryConfig(registry.url, {
        credentials: creds,
        allowedTokenRealms: [`http://localhost:${realm.port}`],
      }),
    );
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/localhost resolves to non-public address (127\.0\.0\.1|::1)/),
    });
    expect(realm.connections).toBe(0);
  });

  it('uses a listed host name on loopback when the registry allows private token realms', async () => {
    const tokens = await startHttpStub((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok-1' }));
    });
    try {
      const port = new URL(tokens.url).port;
      challengeRealm = `http://localhost:${port}/token`;
      const client = new RegistryClient(
        testRegistryConfig(registry.url, {
          credentials: creds,
          allowedTokenRealms: [`http://localhost:${port}`],
          allowPrivateTokenRealms: true,
        }),
      );
      expect((await client.fetchManifest('app', 'v1')).digest).toBe(image.digest);
      expect(tokens.requests).toHaveLength(1);
      expect(authorizations().at(-1)).toBe('Bearer tok-1');
    } finally {
      await tokens.stop();
    }
  });

  it('refuses a listed host name when any of its addresses is private or link-local', async () => {
    for (const bad of ['10.1.2.3', '169.254.169.254', 'fd00::1']) {
      challengeRealm = 'https://auth.example.test/token';
      const asked: string[] = [];
      const client = new RegistryClient(
        testRegistryConfig(registry.url, { credentials: creds, allowedTokenRealms: [challengeRealm] }),
        {
          resolver: staticResolver({ 'auth.example.test': ['203.0.113.7', bad] }),
          fetch: async (input, init) => {
            const url = new URL(String(input instanceof Request ? input.url : input));
            if (url.hostname === 'auth.example.test') asked.push(url.toString());
            return fetch(input, init);
          },
        },
      );
      await expect(client.fetchManifest('app', 'v1')).rejects.toThrow(`non-public address ${bad}`);
      expect(asked).toEqual([]);
    }
  });

  it('uses a listed public realm, sends it the credentials and forwards its token to the registry only', async () => {
    challengeRealm = 'https://auth.example.test/token';
    const asked: Array<string | null> = [];
    // Loopback cannot serve trusted https: the realm's answer comes from the injected fetch.
    const client = new RegistryClient(
      testRegistryConfig(registry.url, {
        credentials: creds,
        allowedTokenRealms: ['https://auth.example.test'],
      }),
      {
        resolver: staticResolver({ 'auth.example.test': ['203.0.113.7'] }),
        fetch: async (input, init) => {
          const url = new URL(String(input instanceof Request ? input.url : input));
          if (url.hostname !== 'auth.example.test') return fetch(input, init);
          asked.push(new Headers(init?.headers).get('authorization'));
          return new Response(JSON.stringify({ token: 'tok-1' }), { status: 200 });
        },
      },
    );
    expect((await client.fetchManifest('app', 'v1')).digest).toBe(image.digest);
    expect(asked).toEqual([`Basic ${Buffer.from('u:p').toString('base64')}`]);
    expect(authorizations().at(-1)).toBe('Bearer tok-1');
  });

  it('connects only to the vetted addresses: a name that re-resolves to loopback is refused', async () => {
    challengeRealm = `http://rebind.example.test:${realm.port}/token`;
    let lookups = 0;
    // First answer public (passes the check), then loopback when the socket opens: DNS rebinding.
    const resolver = (): Promise<ResolvedAddress[]> =>
      Promise.resolve([{ address: lookups++ === 0 ? '203.0.113.7' : '127.0.0.1', family: 4 }]);
    const client = new RegistryClient(
      testRegistryConfig(registry.url, { credentials: creds, allowedTokenRealms: [challengeRealm] }),
      { resolver },
    );
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'unauthorized',
      retryable: false,
      message: expect.stringMatching(/non-public address 127\.0\.0\.1/),
    });
    expect(lookups).toBeGreaterThanOrEqual(2);
    expect(realm.connections).toBe(0);
  });

  it('classifies addresses', () => {
    const nonPublic = [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd12::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '224.0.0.1',
      'not-an-address',
    ];
    const publicOnes = ['8.8.8.8', '203.0.113.7', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'];
    expect(nonPublic.filter((a) => !isNonPublicAddress(a))).toEqual([]);
    expect(publicOnes.filter((a) => isNonPublicAddress(a))).toEqual([]);
  });
});

describe('connect and first-byte timeouts', () => {
  let hung: HungServer;
  beforeAll(async () => {
    hung = await startHungServer();
  });
  afterAll(() => hung.stop());

  it('gives up on a registry that accepts and never answers after the first-byte timeout', async () => {
    const client = new RegistryClient(
      testRegistryConfig(hung.url, { timeouts: { connectMs: 1_000, firstByteMs: 200 } }),
    );
    await expect(client.fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'unavailable',
      retryable: true,
      message: expect.stringMatching(/first-byte timeout/),
    });
    expect(hung.connections).toBe(1);
  });
});

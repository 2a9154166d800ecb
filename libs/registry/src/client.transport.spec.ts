import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomImage, startHttpStub, type HttpStub } from '#testing';
import { OCI_INDEX, OCI_MANIFEST, RegistryClient, RegistryError } from '#registry';
import { testRegistryConfig } from './test-config.js';

// Scripted node:http servers stand in for misbehaving registries and foreign hosts: the real
// Distribution cannot be made to rate-limit, fail, hang, redirect elsewhere or mis-paginate.
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('registry transport', () => {
  const image = randomImage();
  let registry: HttpStub;
  let foreign: HttpStub;
  let onRegistry: Handler;
  let onForeign: Handler;
  const serveImage: Handler = (_req, res) => {
    res.writeHead(200, { 'Content-Type': OCI_MANIFEST });
    res.end(image.manifest);
  };

  beforeAll(async () => {
    registry = await startHttpStub((req, res) => onRegistry(req, res));
    foreign = await startHttpStub((req, res) => onForeign(req, res));
  });
  afterAll(async () => {
    await registry.stop();
    await foreign.stop();
  });
  beforeEach(() => {
    registry.requests.length = 0;
    foreign.requests.length = 0;
    onForeign = serveImage;
  });

  const client = (extra = {}, timeoutMs = 2_000) =>
    new RegistryClient(
      testRegistryConfig(registry.url, {
        credentials: { type: 'basic', username: 'u', password: 'p' },
        ...extra,
      }),
      { timeoutMs },
    );
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as RegistryError,
    );

  describe('errors', () => {
    it('429 is rate_limited with Retry-After in seconds or as an HTTP date', async () => {
      onRegistry = (_req, res) => void res.writeHead(429, { 'Retry-After': '7' }).end();
      expect(await failure(client().fetchManifest('app', 'v1'))).toMatchObject({
        code: 'rate_limited',
        retryable: true,
        retryAfterMs: 7000,
        status: 429,
      });
      const at = new Date(Date.now() + 120_000).toUTCString();
      onRegistry = (_req, res) => void res.writeHead(429, { 'Retry-After': at }).end();
      const err = await failure(client().resolveTag('app', 'v1'));
      expect(err?.code).toBe('rate_limited');
      expect(err?.retryAfterMs).toBeGreaterThan(100_000);
      expect(err?.retryAfterMs).toBeLessThanOrEqual(120_000);
    });

    it('5xx is unavailable and retryable', async () => {
      for (const status of [500, 502, 503]) {
        onRegistry = (_req, res) => void res.writeHead(status).end('oops');
        expect(await failure(client().fetchManifest('app', 'v1'))).toMatchObject({
          code: 'unavailable',
          retryable: true,
          status,
        });
      }
    });

    it('403 is unauthorized, other 4xx a bad response', async () => {
      onRegistry = (_req, res) => void res.writeHead(403).end();
      expect(await failure(client().manifestExists('app', image.digest))).toMatchObject({
        code: 'unauthorized',
        retryable: false,
      });
      onRegistry = (_req, res) => void res.writeHead(418).end();
      expect(await failure(client().fetchManifest('app', 'v1'))).toMatchObject({
        code: 'bad_response',
        status: 418,
      });
    });

    it('a server that never answers times out as unavailable', async () => {
      onRegistry = () => undefined;
      const started = Date.now();
      expect(await failure(client({}, 200).fetchManifest('app', 'v1'))).toMatchObject({
        code: 'unavailable',
        retryable: true,
      });
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('a body that stalls after the headers times out as unavailable', async () => {
      onRegistry = (_req, res) => {
        res.writeHead(200, { 'Content-Type': OCI_MANIFEST });
        res.write('{"schemaVersion":');
      };
      expect(await failure(client({}, 300).fetchManifest('app', 'v1'))).toMatchObject({
        code: 'unavailable',
        retryable: true,
      });
    });

    it('a reset connection is unavailable', async () => {
      onRegistry = (req) => req.socket.destroy();
      expect(await failure(client().fetchManifest('app', 'v1'))).toMatchObject({
        code: 'unavailable',
        retryable: true,
      });
    });
  });

  describe('redirects', () => {
    const redirectTo =
      (location: (req: IncomingMessage) => string): Handler =>
      (req, res) => {
        if (req.url?.startsWith('/blobstore/')) return serveImage(req, res);
        res.writeHead(307, { Location: location(req) }).end();
      };

    it('follows a same-origin redirect and keeps the credentials', async () => {
      onRegistry = redirectTo(() => '/blobstore/m');
      expect((await client().fetchManifest('app', image.digest)).digest).toBe(image.digest);
      expect(registry.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
        ['/v2/app/manifests/' + image.digest, 'Basic dTpw'],
        ['/blobstore/m', 'Basic dTpw'],
      ]);
    });

    it('refuses a host that is not allowed, without contacting it', async () => {
      onRegistry = redirectTo(() => `${foreign.url}/m`);
      expect(await failure(client().fetchManifest('app', image.digest))).toMatchObject({
        code: 'forbidden_redirect',
        retryable: false,
      });
      onRegistry = redirectTo(() => 'file:///etc/passwd');
      expect(await failure(client().fetchManifest('app', image.digest))).toMatchObject({
        code: 'forbidden_redirect',
      });
      expect(foreign.requests).toHaveLength(0);
    });

    it('follows an allowed host but never forwards credentials to it', async () => {
      onRegistry = redirectTo(() => `${foreign.url}/m`);
      const c = client({ allowedRedirectHosts: [foreign.host] });
      expect((await c.fetchManifest('app', image.digest)).digest).toBe(image.digest);
      expect(foreign.requests).toHaveLength(1);
      expect(foreign.requests[0]?.headers.authorization).toBeUndefined();
      // The digest is still checked on bytes served from elsewhere.
      onForeign = (_req, res) =>
        void res.writeHead(200, { 'Content-Type': OCI_MANIFEST }).end(randomImage().manifest);
      expect(await failure(c.fetchManifest('app', image.digest))).toMatchObject({ code: 'digest_mismatch' });
    });

    it('does not answer a token challenge from a redirect target', async () => {
      onRegistry = redirectTo(() => `${foreign.url}/m`);
      onForeign = (_req, res) =>
        void res
          .writeHead(401, { 'WWW-Authenticate': `Bearer realm="${foreign.url}/token",service="x"` })
          .end();
      const c = client({ allowedRedirectHosts: [foreign.host], allowedTokenRealms: [foreign.url] });
      expect(await failure(c.fetchManifest('app', image.digest))).toMatchObject({ code: 'unauthorized' });
      expect(foreign.requests.map((r) => r.url)).toEqual(['/m']);
    });

    it('stops after three redirects', async () => {
      let hops = 0;
      onRegistry = redirectTo(() => `/v2/app/manifests/hop${++hops}`);
      expect(await failure(client().fetchManifest('app', 'v1'))).toMatchObject({
        code: 'forbidden_redirect',
      });
      expect(registry.requests).toHaveLength(4);
      hops = 0;
      registry.requests.length = 0;
      onRegistry = (req, res) =>
        hops < 3
          ? void res.writeHead(302, { Location: `/v2/app/manifests/hop${++hops}` }).end()
          : serveImage(req, res);
      expect((await client().fetchManifest('app', 'v1')).digest).toBe(image.digest);
    });
  });

  describe('referrers', () => {
    const descriptor = (i: number) => ({
      mediaType: OCI_MANIFEST,
      digest: randomImage().digest,
      size: 100 + i,
      artifactType: 'application/vnd.example.sig',
      annotations: { n: String(i) },
    });
    const page = (res: ServerResponse, manifests: object[], link?: string) => {
      res.writeHead(200, { 'Content-Type': OCI_INDEX, ...(link ? { Link: link } : {}) });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    };

    it('follows relative and absolute same-origin Link headers', async () => {
      const all = [0, 1, 2, 3, 4].map(descriptor);
      onRegistry = (req, res) => {
        const n = new URL(req.url ?? '', registry.url).searchParams.get('page');
        if (n === null)
          return page(res, all.slice(0, 2), `</v2/app/referrers/${image.digest}?page=2>; rel="next"`);
        if (n === '2')
          return page(
            res,
            all.slice(2, 4),
            `<${registry.url}/v2/app/referrers/${image.digest}?page=3>; rel="next"`,
          );
        page(res, all.slice(4));
      };
      const listing = await client().listReferrers('app', image.digest);
      expect(listing).toEqual({ supported: true, descriptors: all });
      expect(registry.requests.map((r) => r.headers.accept)).toEqual([OCI_INDEX, OCI_INDEX, OCI_INDEX]);
    });

    it('treats 404, 405 and 400 as no referrers API', async () => {
      for (const status of [404, 405, 400]) {
        onRegistry = (_req, res) => void res.writeHead(status).end();
        expect(await client().listReferrers('app', image.digest)).toEqual({
          supported: false,
          descriptors: [],
        });
      }
      onRegistry = (_req, res) => void res.writeHead(503).end();
      expect(await failure(client().listReferrers('app', image.digest))).toMatchObject({
        code: 'unavailable',
      });
    });

    it('refuses a Link to another origin and a malformed index', async () => {
      onRegistry = (_req, res) =>
        page(res, [descriptor(0)], `<${foreign.url}/v2/app/referrers/x>; rel="next"`);
      expect(await failure(client().listReferrers('app', image.digest))).toMatchObject({
        code: 'bad_response',
      });
      expect(foreign.requests).toHaveLength(0);
      onRegistry = (_req, res) => page(res, [{ mediaType: OCI_MANIFEST, digest: 'sha256:bad', size: 1 }]);
      expect(await failure(client().listReferrers('app', image.digest))).toMatchObject({
        code: 'bad_response',
      });
    });

    it('lists a page of 200,000 referrers whole', async () => {
      const many = Array.from({ length: 200_000 }, (_, i) => ({
        mediaType: OCI_MANIFEST,
        digest: `sha256:${i.toString(16).padStart(64, '0')}`,
        size: i,
      }));
      onRegistry = (_req, res) => page(res, many);
      const big = new RegistryClient(testRegistryConfig(registry.url), { maxListBytes: 64 * 1024 * 1024 });
      const listing = await big.listReferrers('app', image.digest);
      expect(listing.descriptors).toHaveLength(many.length);
      expect(listing.descriptors.at(-1)).toEqual(many.at(-1));
    });

    it('bounds the whole listing, not each page: a registry that pages on and on is too_large', async () => {
      onRegistry = (req, res) => {
        const n = Number(new URL(req.url ?? '', registry.url).searchParams.get('page') ?? '0');
        const manifests = Array.from({ length: 8 }, (_, i) => descriptor(n * 8 + i));
        page(res, manifests, `</v2/app/referrers/${image.digest}?page=${n + 1}>; rel="next"`);
      };
      const small = new RegistryClient(testRegistryConfig(registry.url), { maxListBytes: 16 * 1024 });
      const err = await failure(small.listReferrers('app', image.digest));
      expect(err).toMatchObject({ code: 'too_large', retryable: false });
      expect(err?.message).toMatch(/listing bytes left/);
      // Each page is about 1.7 KiB: the budget runs out after some ten of them.
      expect(registry.requests.length).toBeLessThan(12);
    });

    it('refuses a Link that loops', async () => {
      onRegistry = (req, res) => page(res, [descriptor(0)], `<${req.url}>; rel="next"`);
      expect(await failure(client().listReferrers('app', image.digest))).toMatchObject({
        code: 'bad_response',
      });
      expect(registry.requests).toHaveLength(1);
    });
  });

  describe('catalog pagination', () => {
    const collect = async (it: AsyncIterable<string>) => {
      const out: string[] = [];
      for await (const x of it) out.push(x);
      return out;
    };

    it('sends n, follows Link, and continues with last when Link is missing', async () => {
      onRegistry = (req, res) => {
        const q = new URL(req.url ?? '', registry.url).searchParams;
        const json = (repositories: string[], link?: string) => {
          res.writeHead(200, { 'Content-Type': 'application/json', ...(link ? { Link: link } : {}) });
          res.end(JSON.stringify({ repositories }));
        };
        if (!q.get('last')) return json(['a', 'b'], '</v2/_catalog?last=b&n=2>; rel="next"');
        if (q.get('last') === 'b') return json(['c', 'd']); // full page, no Link
        if (q.get('last') === 'd') return json(['e']);
        json(['unexpected']);
      };
      expect(await collect(client().listRepositories(2))).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(registry.requests.map((r) => r.url)).toEqual([
        '/v2/_catalog?n=2',
        '/v2/_catalog?last=b&n=2',
        '/v2/_catalog?n=2&last=d',
      ]);
    });

    it('refuses a Link to another origin and invalid names', async () => {
      onRegistry = (_req, res) =>
        void res
          .writeHead(200, { Link: `<${foreign.url}/v2/_catalog?n=1>; rel="next"` })
          .end('{"repositories":["a"]}');
      await expect(collect(client().listRepositories(1))).rejects.toMatchObject({ code: 'bad_response' });
      expect(foreign.requests).toHaveLength(0);
      onRegistry = (_req, res) => void res.writeHead(200).end('{"repositories":["../x"]}');
      await expect(collect(client().listRepositories())).rejects.toMatchObject({ code: 'bad_response' });
    });
  });

  describe('connections', () => {
    it('reuses connections whether a body is read or discarded (a 404, a redirect)', async () => {
      const ports: number[] = [];
      onRegistry = (req, res) => {
        ports.push(req.socket.remotePort!);
        if (req.url === '/v2/app/manifests/gone') return void res.writeHead(404).end('{"errors":[]}');
        if (req.url === '/v2/app/manifests/moved')
          return void res.writeHead(307, { Location: `/v2/app/manifests/${image.digest}` }).end('moved');
        serveImage(req, res);
      };
      const c = client();
      for (let i = 0; i < 5; i++) {
        expect((await c.fetchManifest('app', 'v1')).digest).toBe(image.digest);
        expect(await failure(c.fetchManifest('app', 'gone'))).toMatchObject({ code: 'not_found' });
        expect((await c.fetchManifest('app', 'moved')).digest).toBe(image.digest);
      }
      expect(ports).toHaveLength(20);
      // undici's pool may hand the next request to a second connection before it counts the first
      // one free again; what must not happen is a connection per request.
      expect(new Set(ports).size).toBeLessThanOrEqual(2);
    });
  });
});

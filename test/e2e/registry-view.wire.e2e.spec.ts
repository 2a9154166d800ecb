import { randomBytes } from 'node:crypto';
import { artifactManifest, pushImage, randomImage, type PushableContent } from '#testing';
import { eventually, type StartedRefgraph } from './harness.js';
import { startRegistryWorld, type RegistryWorld } from './registry-world.js';

/**
 * The wire details OCI clients read from the registry view, each test written as that client's
 * request sequence (the source file it follows is named in the test): pagination through Link,
 * filters, empty answers, Accept negotiation, the API version header and the status a caller
 * outside its scope gets.
 */

const TEAM_A = randomBytes(16).toString('hex');
const READ_ALL = randomBytes(16).toString('hex');
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const NOTATION = 'application/vnd.cncf.notary.signature';
const SPDX = 'application/spdx+json';
/** Spec codes (distribution-spec "Error Codes") and Distribution's own 5xx ones. */
const SPEC_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
];

let world: RegistryWorld;
let refgraph: StartedRefgraph;
const image = randomImage();
const lonely = randomImage();
const TAGS = ['a1', 'b2', 'c3', 'v1'];
let referrers: PushableContent[];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const url = (path: string) => `${refgraph.url}/v2/${path}`;
const get = (path: string, headers: Record<string, string> = {}, token = TEAM_A, method = 'GET') =>
  fetch(path.startsWith('http') ? path : url(path), { method, headers: { ...bearer(token), ...headers } });
const codeOf = async (res: Response) =>
  ((await res.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]!;

/** The next page as oras-go (parseLink) and regclient resolve it: relative to the request URL. */
function nextPage(res: Response): string | undefined {
  const link = res.headers.get('link');
  if (!link) return undefined;
  const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  expect(m).not.toBeNull();
  return new URL(m![1]!, res.url).toString();
}

beforeAll(async () => {
  world = await startRegistryWorld({
    tokens: [
      { name: 'team-a', secret: TEAM_A, scopes: ['read:local/team-a/**'] },
      { name: 'all', secret: READ_ALL, scopes: ['read:**'] },
    ],
    images: {},
  });
  refgraph = world.refgraph;
  const source = world.registry;
  for (const tag of TAGS) await pushImage(source.url, 'team-a/app', tag, image);
  await pushImage(source.url, 'team-a/app', 'lonely', lonely);
  const subject = { mediaType: image.mediaType, digest: image.digest, size: image.size };
  referrers = [NOTATION, NOTATION, SPDX].map((type, i) =>
    artifactManifest({
      subject,
      artifactType: type,
      layers: [
        {
          mediaType: 'application/octet-stream',
          bytes: Buffer.from(`referrer ${i} ${randomBytes(4).toString('hex')}`),
        },
      ],
    }),
  );
  for (const m of referrers) await pushImage(source.url, 'team-a/app', undefined, m);
  await eventually(async () => {
    const res = await get(`local/team-a/app/referrers/${image.digest}`);
    expect(((await res.json()) as { manifests: unknown[] }).manifests).toHaveLength(referrers.length);
    const tags = (await (await get('local/team-a/app/tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toEqual([...TAGS, 'lonely'].sort());
  }, 60_000);
}, 120_000);

afterAll(async () => {
  await world?.close();
});

describe('referrers API', () => {
  it('oras-go referrersPageByAPI: filtered pages through Link, each an index with OCI-Filters-Applied', async () => {
    const seen: string[] = [];
    let next: string | undefined = url(
      `local/team-a/app/referrers/${image.digest}?artifactType=${encodeURIComponent(NOTATION)}&n=1`,
    );
    let pages = 0;
    while (next) {
      const res = await get(next, { accept: OCI_INDEX });
      expect([res.status, res.headers.get('content-type')]).toEqual([200, OCI_INDEX]);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      const index = (await res.json()) as { manifests: Array<{ digest: string; artifactType: string }> };
      for (const m of index.manifests) {
        expect(m.artifactType).toBe(NOTATION);
        seen.push(m.digest);
      }
      next = nextPage(res);
      pages++;
    }
    const notations = referrers.slice(0, 2).map((m) => m.digest);
    expect(seen.sort()).toEqual(notations.sort());
    expect(pages).toBe(2);
  });

  it('an empty answer is 200 with an empty manifests list: no referrers, a sha512 subject, a repository never seen', async () => {
    for (const path of [
      `local/team-a/app/referrers/${lonely.digest}`,
      `local/team-a/app/referrers/sha512:${'ab'.repeat(64)}`,
      `local/team-a/app/referrers/${image.digest}?artifactType=${encodeURIComponent('application/x-none')}`,
      `local/team-a/never-pushed/referrers/${image.digest}`,
    ]) {
      const res = await get(path, { accept: OCI_INDEX });
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, OCI_INDEX]);
      expect(await res.json()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      expect(res.headers.get('link')).toBeNull();
    }
  });

  it('outside the scope: 403 DENIED, never the 404 that sends go-containerregistry and regclient to the tag fallback', async () => {
    const res = await get(`local/team-b/app/referrers/${image.digest}`);
    expect(res.status).toBe(403);
    expect((await codeOf(res)).code).toBe('DENIED');
    // oras-go takes 404 NAME_UNKNOWN for "no such repository": an unconfigured registry, in scope.
    const unknown = await get(`nowhere/app/referrers/${image.digest}`, {}, READ_ALL);
    expect([unknown.status, (await codeOf(unknown)).code]).toEqual([404, 'NAME_UNKNOWN']);
    // Anonymous: the challenge, with the repository scope for the token request.
    const anonymous = await fetch(url(`local/team-a/app/referrers/${image.digest}`));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="${refgraph.url}/v2/token",service="refgraph",scope="repository:local/team-a/app:pull"`,
    );
  });
});

describe('tags/list (distribution-spec "Listing Tags")', () => {
  it('go-containerregistry remote.List and containers/image: n pages with a Link until the end', async () => {
    const seen: string[] = [];
    let next: string | undefined = url('local/team-a/app/tags/list?n=2');
    while (next) {
      const res = await get(next);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { name: string; tags: string[] };
      expect(body.name).toBe('local/team-a/app');
      expect(body.tags.length).toBeLessThanOrEqual(2);
      seen.push(...body.tags);
      next = nextPage(res);
    }
    expect(seen).toEqual([...TAGS, 'lonely'].sort());
  });

  it('n=0 is an empty list without a Link; last beyond the end is an empty list', async () => {
    for (const path of [
      'local/team-a/app/tags/list?n=0',
      'local/team-a/app/tags/list?n=0&last=a1',
      'local/team-a/app/tags/list?last=zzz',
      'local/team-a/app/tags/list?n=5&last=v1',
    ]) {
      const res = await get(path);
      expect([path, res.status, res.headers.get('link')]).toEqual([path, 200, null]);
      expect(((await res.json()) as { tags: string[] }).tags).toEqual([]);
    }
  });
});

describe('tags/list parameters as Distribution reads them (registry/handlers/tags.go)', () => {
  const all = () => [...TAGS, 'lonely'].sort();
  const tagsOf = async (res: Response) => ((await res.json()) as { tags: string[] }).tags;

  it('n: empty is no n; an optional sign and digits; anything else is PAGINATION_NUMBER_INVALID', async () => {
    const empty = await get('local/team-a/app/tags/list?n=');
    expect([empty.status, await tagsOf(empty), empty.headers.get('link')]).toEqual([200, all(), null]);
    const signed = await get('local/team-a/app/tags/list?n=%2B2');
    expect([signed.status, await tagsOf(signed)]).toEqual([200, all().slice(0, 2)]);
    const zero = await get('local/team-a/app/tags/list?n=-0');
    expect([zero.status, await tagsOf(zero)]).toEqual([200, []]);
    for (const n of ['1e3', '0x10', ' 2', '2.0', '-1', '99999999999999999999', 'two']) {
      const res = await get(`local/team-a/app/tags/list?n=${encodeURIComponent(n)}`);
      expect([n, res.status, (await codeOf(res)).code]).toEqual([n, 400, 'PAGINATION_NUMBER_INVALID']);
    }
  });

  it('last: any text, even longer than any tag, lists the tags after it', async () => {
    const res = await get(`local/team-a/app/tags/list?last=${'b'.repeat(200)}`);
    expect([res.status, await tagsOf(res)]).toEqual([200, all().filter((t) => t > 'b'.repeat(200))]);
  });

  it('a parameter given twice counts with its first value, as Query().Get reads it', async () => {
    const n = await get('local/team-a/app/tags/list?n=2&n=100');
    expect([n.status, await tagsOf(n)]).toEqual([200, all().slice(0, 2)]);
    const last = await get('local/team-a/app/tags/list?last=b2&last=a1');
    expect([last.status, await tagsOf(last)]).toEqual([200, all().filter((t) => t > 'b2')]);
  });
});

describe('manifest GET and HEAD: Accept negotiation', () => {
  it('a stored OCI manifest is served to an Accept that admits it, by tag and by digest, HEAD like GET', async () => {
    const admitting = [
      `${DOCKER_MANIFEST}, ${OCI_MANIFEST}`,
      `${OCI_MANIFEST};q=0.5`,
      '*/*',
      'application/*',
      `${DOCKER_MANIFEST}, */*;q=0.1`,
    ];
    for (const accept of admitting) {
      for (const ref of ['v1', image.digest]) {
        for (const method of ['GET', 'HEAD']) {
          const res = await get(`local/team-a/app/manifests/${ref}`, { accept }, TEAM_A, method);
          expect([accept, ref, method, res.status, res.headers.get('content-type')]).toEqual([
            accept,
            ref,
            method,
            200,
            OCI_MANIFEST,
          ]);
          expect(res.headers.get('docker-content-digest')).toBe(image.digest);
          expect(res.headers.get('content-length')).toBe(String(image.size));
        }
      }
    }
  });

  it('is not found for an Accept that leaves its type out or refuses it with q=0, as Distribution answers', async () => {
    for (const accept of [
      DOCKER_MANIFEST,
      `${OCI_MANIFEST};q=0, */*`,
      `*/*;q=0`,
      `${OCI_MANIFEST}; q=0.000`,
    ]) {
      const res = await get(`local/team-a/app/manifests/${image.digest}`, { accept });
      expect([accept, res.status]).toEqual([accept, 404]);
      expect((await codeOf(res)).code).toBe('MANIFEST_UNKNOWN');
    }
  });
});

describe('every /v2 answer', () => {
  it('carries Docker-Distribution-API-Version, the 401 of the ping and every error included', async () => {
    const answers: Array<[string, Response]> = [
      ['ping, anonymous', await fetch(url(''))],
      ['ping', await get('')],
      ['manifest', await get('local/team-a/app/manifests/v1', { accept: OCI_MANIFEST })],
      ['referrers', await get(`local/team-a/app/referrers/${image.digest}`)],
      ['denied', await get('local/team-b/app/manifests/v1')],
      ['unknown', await get(`local/team-a/app/manifests/sha256:${'0'.repeat(64)}`)],
      ['write', await get('local/team-a/app/manifests/v9', {}, TEAM_A, 'PUT')],
      ['catalog', await get('_catalog')],
    ];
    for (const [what, res] of answers) {
      expect([what, res.headers.get('docker-distribution-api-version')]).toEqual([what, 'registry/2.0']);
      if (res.status >= 400) {
        const err = await codeOf(res);
        expect([what, SPEC_CODES.includes(err.code)]).toEqual([what, true]);
      }
    }
    expect(answers.map(([, r]) => r.status)).toEqual([401, 200, 200, 200, 403, 404, 405, 404]);
  });
});

import { createHash, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import {
  artifactManifest,
  cosignKeyedAnnotations,
  cosignSignatureManifest,
  createTestDatabase,
  pushImage,
  randomImage,
  sha256,
  simpleSigningPayload,
  startRegistry,
  type ContentDescriptor,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { eventually, startRecordingForwarder, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * The request sequences real OCI clients make, read from their sources, against the registry
 * view over a real Distribution registry. Each test asserts the statuses and headers that client
 * depends on: a missing header or a wrong status ends that client's flow.
 */

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const HOOK = randomBytes(16).toString('hex');
const TEAM_A = randomBytes(16).toString('hex');
const READ_ALL = randomBytes(16).toString('hex');
const TEAM_B = randomBytes(16).toString('hex');
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const NOTATION = 'application/vnd.cncf.notary.signature';
// oras-go registry/remote manifestAcceptHeader; go-containerregistry remote defaultAccept (same set).
const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.oci.artifact.manifest.v1+json',
].join(', ');

let tdb: TestDatabase;
let source: TestRegistry;
let refgraph: StartedRefgraph;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const image = randomImage();
const signed = randomImage();
const twice = randomImage();
const other = randomImage();
let sbom: PushableContent;
let notation: PushableContent;
let cosignReferrer: PushableContent;
let cosignTagged: PushableContent;
let twiceSigs: PushableContent[];
const envelope = Buffer.from(JSON.stringify({ payload: 'e30', protected: 'e30', signature: 'c2ln' }));

const descriptor = (m: PushableContent): ContentDescriptor => ({
  mediaType: m.mediaType,
  digest: m.digest,
  size: m.size,
});

/** A cosign legacy-format signature manifest, attached to its subject with an OCI 1.1 `subject`. */
function cosignAttached(subject: PushableContent, repo: string): PushableContent {
  const payload = simpleSigningPayload(`${source.host}/${repo}`, subject.digest);
  const legacy = cosignSignatureManifest([
    { payload, annotations: cosignKeyedAnnotations(payload, privateKey) },
  ]);
  const doc = { ...(JSON.parse(legacy.manifest.toString()) as object), subject: descriptor(subject) };
  const manifest = Buffer.from(JSON.stringify(doc));
  return { ...legacy, manifest, digest: sha256(manifest), size: manifest.length };
}

const url = (path: string) => `${refgraph.url}/v2/local/${path}`;
const basic = (token: string) => `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}`;
const get = (
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
  token = TEAM_A,
) => fetch(url(path), { ...init, headers: { authorization: basic(token), ...init.headers } });
const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());
const hex = (d: string) => d.slice('sha256:'.length);

beforeAll(async () => {
  tdb = await createTestDatabase();
  let target = '';
  forwarder = await startRecordingForwarder(() => target);
  source = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: HOOK,
  });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: source.url,
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
        },
      ],
      auth: {
        tokens: [
          { name: 'team-a', sha256: sha(TEAM_A), scopes: ['read:local/team-a/**'] },
          { name: 'team-b', sha256: sha(TEAM_B), scopes: ['read:local/team-b/**'] },
          { name: 'all', sha256: sha(READ_ALL), scopes: ['read:**'] },
        ],
      },
    },
    { HOOK },
  );
  target = refgraph.url;

  const repo = 'team-a/app';
  await pushImage(source.url, repo, 'v1', image);
  await pushImage(source.url, repo, 'signed', signed);
  await pushImage(source.url, repo, 'twice', twice);
  await pushImage(source.url, 'team-b/app', 'v1', other);
  sbom = artifactManifest({
    subject: descriptor(image),
    artifactType: 'application/spdx+json',
    layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from('{"spdxVersion":"SPDX-2.3"}') }],
  });
  notation = artifactManifest({
    subject: descriptor(image),
    artifactType: NOTATION,
    layers: [{ mediaType: 'application/jose+json', bytes: envelope }],
  });
  cosignReferrer = cosignAttached(image, repo);
  const payload = simpleSigningPayload(`${source.host}/${repo}`, signed.digest);
  cosignTagged = cosignSignatureManifest([
    { payload, annotations: cosignKeyedAnnotations(payload, privateKey) },
  ]);
  twiceSigs = [cosignAttached(twice, repo), cosignAttached(twice, repo)];
  for (const m of [sbom, notation, cosignReferrer, ...twiceSigs])
    await pushImage(source.url, repo, undefined, m);
  await pushImage(source.url, repo, `sha256-${hex(signed.digest)}.sig`, cosignTagged);

  await eventually(async () => {
    for (const [subject, n] of [
      [image, 3],
      [twice, 2],
      [signed, 1],
    ] as const) {
      const res = await get(`team-a/app/referrers/${subject.digest}`);
      expect(((await res.json()) as { manifests: unknown[] }).manifests).toHaveLength(n);
    }
  }, 60_000);
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await source?.stop();
  await forwarder?.stop();
  await tdb?.drop();
});

function expectManifestHeaders(res: Response, m: { mediaType: string; digest: string; size: number }) {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(m.mediaType);
  expect(res.headers.get('content-length')).toBe(String(m.size));
  expect(res.headers.get('docker-content-digest')).toBe(m.digest);
}

describe('oras-go (oras discover, Ratify ORAS store)', () => {
  it('Resolve: HEAD by tag answers media type, size and digest without a body', async () => {
    const res = await get('team-a/app/manifests/v1', { method: 'HEAD', headers: { accept: ACCEPT } });
    expectManifestHeaders(res, image);
    expect((await bytesOf(res)).length).toBe(0);
  });

  it('Referrers: the index lists every referrer with the index media type', async () => {
    const res = await get(`team-a/app/referrers/${image.digest}`, { headers: { accept: OCI_INDEX } });
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    const body = (await res.json()) as { manifests: Array<{ digest: string }> };
    expect(body.manifests.map((m) => m.digest).sort()).toEqual(
      [sbom, notation, cosignReferrer].map((m) => m.digest).sort(),
    );
  });

  it('tag-schema fallback: FetchReference(sha256-<hex>) gives a digest-true index of the same referrers', async () => {
    const res = await get(`team-a/app/manifests/sha256-${hex(image.digest)}`, {
      headers: { accept: ACCEPT },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    const body = await bytesOf(res);
    expect(res.headers.get('docker-content-digest')).toBe(sha256(body));
    expect(res.headers.get('content-length')).toBe(String(body.length));
    const index = JSON.parse(body.toString()) as { mediaType: string; manifests: Array<{ digest: string }> };
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests.map((m) => m.digest).sort()).toEqual(
      [sbom, notation, cosignReferrer].map((m) => m.digest).sort(),
    );
    // Resolve-then-fetch by the digest the tag resolved to.
    const again = await get(`team-a/app/manifests/${sha256(body)}`, {
      method: 'HEAD',
      headers: { accept: ACCEPT },
    });
    expectManifestHeaders(again, { mediaType: OCI_INDEX, digest: sha256(body), size: body.length });
    // A subject without referrers has no tag-schema index.
    expect((await get(`team-a/app/manifests/sha256-${hex(other.digest)}`)).status).toBe(404);
  });

  it('Ratify ORAS store: subject, referrers, reference manifest and blob content with a /v2/token token', async () => {
    const tokenRes = await fetch(
      `${refgraph.url}/v2/token?service=refgraph&scope=repository:local/team-a/app:pull`,
      {
        headers: { authorization: basic(TEAM_A) },
      },
    );
    expect(tokenRes.status).toBe(200);
    const { token } = (await tokenRes.json()) as { token: string };
    const bearer = { authorization: `Bearer ${token}` };
    const head = await fetch(url(`team-a/app/manifests/${image.digest}`), {
      method: 'HEAD',
      headers: { ...bearer, accept: ACCEPT },
    });
    expectManifestHeaders(head, image);
    const refs = await fetch(
      url(`team-a/app/referrers/${image.digest}?artifactType=${encodeURIComponent(NOTATION)}`),
      { headers: bearer },
    );
    expect(
      ((await refs.json()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest),
    ).toEqual([notation.digest]);
    const manifest = await fetch(url(`team-a/app/manifests/${notation.digest}`), {
      headers: { ...bearer, accept: OCI_MANIFEST },
    });
    expect((await bytesOf(manifest)).equals(notation.manifest)).toBe(true);
    const layer = notation.blobs.at(-1)!;
    const blob = await fetch(url(`team-a/app/blobs/${layer.digest}`), { headers: bearer });
    expect(blob.status).toBe(200);
    expect(blob.headers.get('content-length')).toBe(String(layer.bytes.length));
    expect((await bytesOf(blob)).equals(layer.bytes)).toBe(true);
  });
});

describe('go-containerregistry (cosign tree / verify, Kyverno)', () => {
  it('Kyverno remote.Head: all three headers on HEAD by tag', async () => {
    const res = await get('team-a/app/manifests/v1', { method: 'HEAD', headers: { accept: ACCEPT } });
    expectManifestHeaders(res, image);
  });

  it('remote.Get by digest: the body hashes to the digest asked for', async () => {
    const res = await get(`team-a/app/manifests/${image.digest}`, { headers: { accept: ACCEPT } });
    expect(sha256(await bytesOf(res))).toBe(image.digest);
  });

  it('cosign tree: .sig and .sbom resolve from OCI 1.1 referrers; .att is unknown', async () => {
    const sig = await get(`team-a/app/manifests/sha256-${hex(image.digest)}.sig`, {
      headers: { accept: ACCEPT },
    });
    expectManifestHeaders(sig, cosignReferrer);
    expect((await bytesOf(sig)).equals(cosignReferrer.manifest)).toBe(true);
    const sb = await get(`team-a/app/manifests/sha256-${hex(image.digest)}.sbom`, {
      headers: { accept: ACCEPT },
    });
    expect((await bytesOf(sb)).equals(sbom.manifest)).toBe(true);
    const att = await get(`team-a/app/manifests/sha256-${hex(image.digest)}.att`, {
      headers: { accept: ACCEPT },
    });
    expect(att.status).toBe(404);
    expect(((await att.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe(
      'MANIFEST_UNKNOWN',
    );
  });

  it('cosign verify (legacy path): .sig manifest, then each payload blob verifies with the key', async () => {
    for (const subject of [image, signed]) {
      const res = await get(`team-a/app/manifests/sha256-${hex(subject.digest)}.sig`, {
        headers: { accept: ACCEPT },
      });
      expect(res.status).toBe(200);
      const body = await bytesOf(res);
      expect(sha256(body)).toBe(res.headers.get('docker-content-digest'));
      const m = JSON.parse(body.toString()) as {
        layers: Array<{ digest: string; annotations: Record<string, string> }>;
      };
      for (const l of m.layers) {
        const payload = await bytesOf(await get(`team-a/app/blobs/${l.digest}`));
        const sig = Buffer.from(l.annotations['dev.cosignproject.cosign/signature']!, 'base64');
        expect(verify('sha256', payload, publicKey, sig)).toBe(true);
        expect(JSON.parse(payload.toString()).critical.image['docker-manifest-digest']).toBe(subject.digest);
      }
    }
    // A real .sig tag is served as the registry holds it.
    const real = await get(`team-a/app/manifests/sha256-${hex(signed.digest)}.sig`, {
      headers: { accept: ACCEPT },
    });
    expect((await bytesOf(real)).equals(cosignTagged.manifest)).toBe(true);
  });

  it('several legacy-format signatures merge into one .sig whose every blob is in the repository', async () => {
    const res = await get(`team-a/app/manifests/sha256-${hex(twice.digest)}.sig`, {
      headers: { accept: ACCEPT },
    });
    const body = await bytesOf(res);
    expect(sha256(body)).toBe(res.headers.get('docker-content-digest'));
    const m = JSON.parse(body.toString()) as {
      config: { digest: string };
      layers: Array<{ digest: string }>;
    };
    const want = twiceSigs.map(
      (s) => (JSON.parse(s.manifest.toString()) as { layers: Array<{ digest: string }> }).layers[0]!.digest,
    );
    expect(m.layers.map((l) => l.digest).sort()).toEqual(want.sort());
    for (const d of [m.config.digest, ...want])
      expect((await get(`team-a/app/blobs/${d}`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('notation-go (notation list / verify)', () => {
  it('resolves by digest, lists signatures filtered, fetches the signature manifest and envelope blob', async () => {
    expectManifestHeaders(
      await get(`team-a/app/manifests/${image.digest}`, { method: 'HEAD', headers: { accept: ACCEPT } }),
      image,
    );
    const refs = await get(
      `team-a/app/referrers/${image.digest}?artifactType=${encodeURIComponent(NOTATION)}`,
    );
    expect(refs.headers.get('oci-filters-applied')).toBe('artifactType');
    const listed = ((await refs.json()) as { manifests: Array<{ digest: string; artifactType: string }> })
      .manifests;
    expect(listed).toEqual([expect.objectContaining({ digest: notation.digest, artifactType: NOTATION })]);
    const m = await get(`team-a/app/manifests/${notation.digest}`, { headers: { accept: OCI_MANIFEST } });
    expectManifestHeaders(m, notation);
    const layer = (JSON.parse((await bytesOf(m)).toString()) as { layers: ContentDescriptor[] }).layers[0]!;
    const blob = await get(`team-a/app/blobs/${layer.digest}`);
    expect(blob.headers.get('docker-content-digest')).toBe(layer.digest);
    expect((await bytesOf(blob)).equals(envelope)).toBe(true);
  });
});

describe('regclient (regctl artifact tree / get)', () => {
  it('tree: manifest GET by tag with digest header, then referrers of that digest', async () => {
    const res = await get('team-a/app/manifests/v1', { headers: { accept: ACCEPT } });
    expectManifestHeaders(res, image);
    const refs = await get(`team-a/app/referrers/${res.headers.get('docker-content-digest')}`);
    expect(((await refs.json()) as { manifests: unknown[] }).manifests).toHaveLength(3);
  });

  it('get: the referrer manifest, then its layer; HEAD and Range on blobs', async () => {
    expectManifestHeaders(
      await get(`team-a/app/manifests/${sbom.digest}`, { headers: { accept: ACCEPT } }),
      sbom,
    );
    const layer = sbom.blobs.at(-1)!;
    const head = await get(`team-a/app/blobs/${layer.digest}`, { method: 'HEAD' });
    expect([
      head.status,
      head.headers.get('content-length'),
      head.headers.get('docker-content-digest'),
    ]).toEqual([200, String(layer.bytes.length), layer.digest]);
    const part = await get(`team-a/app/blobs/${layer.digest}`, { headers: { range: 'bytes=0-9' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-9/${layer.bytes.length}`);
    expect((await bytesOf(part)).equals(layer.bytes.subarray(0, 10))).toBe(true);
  });
});

describe('Range on blobs, over the real registry', () => {
  it('serves one byte range, ignores other units, refuses several ranges and malformed ones with 416', async () => {
    const layer = sbom.blobs.at(-1)!;
    const n = layer.bytes.length;
    const ranged = async (range: string) => {
      const res = await get(`team-a/app/blobs/${layer.digest}`, { headers: { range } });
      const bytes = await bytesOf(res);
      return { range, status: res.status, contentRange: res.headers.get('content-range'), bytes };
    };
    expect(await ranged('bytes=-5')).toEqual({
      range: 'bytes=-5',
      status: 206,
      contentRange: `bytes ${n - 5}-${n - 1}/${n}`,
      bytes: layer.bytes.subarray(n - 5),
    });
    // Another unit: the whole blob, checked against its digest as any whole blob is.
    expect(await ranged('items=0-1')).toEqual({
      range: 'items=0-1',
      status: 200,
      contentRange: null,
      bytes: layer.bytes,
    });
    // Distribution answers several ranges with a multipart body; it used to be refused with 502.
    for (const [range, message] of [
      ['bytes=0-1,4-5', /only one byte range/],
      ['bytes=0-1, 3-4', /only one byte range/],
      ['bytes=abc', /not a byte range/],
      ['bytes=9-2', /before the first/],
    ] as const) {
      const res = await ranged(range);
      expect({ range, status: res.status }).toEqual({ range, status: 416 });
      const body = JSON.parse(res.bytes.toString()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors).toEqual([{ code: 'RANGE_INVALID', message: expect.stringMatching(message) }]);
    }
  });
});

describe('auth the way OCI clients do it', () => {
  it('challenges with a token realm URL, service and repository scope', async () => {
    const base = await fetch(`${refgraph.url}/v2/`);
    expect(base.status).toBe(401);
    expect(base.headers.get('www-authenticate')).toBe(
      `Bearer realm="${refgraph.url}/v2/token",service="refgraph"`,
    );
    const repo = await fetch(url('team-a/app/manifests/v1'));
    expect(repo.status).toBe(401);
    expect(repo.headers.get('www-authenticate')).toBe(
      `Bearer realm="${refgraph.url}/v2/token",service="refgraph",scope="repository:local/team-a/app:pull"`,
    );
    expect(((await repo.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAUTHORIZED');
  });

  it('issues Docker-spec tokens for Basic and Bearer API tokens, refuses others', async () => {
    for (const authorization of [basic(TEAM_A), `Bearer ${TEAM_A}`]) {
      const res = await fetch(`${refgraph.url}/v2/token?service=refgraph`, { headers: { authorization } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token']);
      expect(body.expires_in).toBe(300);
      expect(body.token).toBe(body.access_token);
      const v2 = await fetch(`${refgraph.url}/v2/`, {
        headers: { authorization: `Bearer ${String(body.token)}` },
      });
      expect(v2.status).toBe(200);
      // An issued token reads, but does not buy a fresher one, as Bearer or as the Basic password.
      for (const again of [`Bearer ${String(body.token)}`, basic(String(body.token))]) {
        const renewed = await fetch(`${refgraph.url}/v2/token`, { headers: { authorization: again } });
        expect(renewed.status).toBe(401);
      }
    }
    for (const authorization of [undefined, basic('wrong'), 'Bearer wrong']) {
      const res = await fetch(
        `${refgraph.url}/v2/token`,
        authorization ? { headers: { authorization } } : {},
      );
      expect(res.status).toBe(401);
    }
  });

  it('outside the scope, a configured registry and an unknown one answer alike', async () => {
    const ask = async (path: string) => {
      const res = await fetch(`${refgraph.url}/v2/${path}`, { headers: { authorization: basic(TEAM_A) } });
      const { errors } = (await res.json()) as { errors: Array<{ code: string }> };
      return `${res.status} ${errors[0]!.code}`;
    };
    const digest = `sha256:${'ab'.repeat(32)}`;
    for (const registry of ['local', 'nowhere']) {
      expect(await ask(`${registry}/team-b/app/manifests/v1`)).toBe('403 DENIED');
      expect(await ask(`${registry}/team-b/app/blobs/${digest}`)).toBe('403 DENIED');
      expect(await ask(`${registry}/team-b/app/tags/list`)).toBe('403 DENIED');
      expect(await ask(`${registry}/team-b/app/referrers/${digest}`)).toBe('403 DENIED');
    }
    // In scope (`**`), an unknown registry is named as such.
    const open = await fetch(`${refgraph.url}/v2/nowhere/app/manifests/v1`, {
      headers: { authorization: basic(READ_ALL) },
    });
    expect(open.status).toBe(404);
    expect(await open.text()).toContain('no registry named \\"nowhere\\" is configured');
  });

  it('issues tokens only for its own service', async () => {
    const res = await fetch(`${refgraph.url}/v2/token?service=registry.example`, {
      headers: { authorization: basic(TEAM_A) },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe(
      'tokens here are for service "refgraph" only',
    );
  });

  it('a token is limited to the requested scope within the API token scope', async () => {
    const issue = async (scope: string) =>
      (
        (await (
          await fetch(`${refgraph.url}/v2/token?scope=${encodeURIComponent(scope)}`, {
            headers: { authorization: basic(TEAM_A) },
          })
        ).json()) as { token: string }
      ).token;
    const narrow = await issue('repository:local/team-a/app:pull');
    const beyond = await issue('repository:local/team-b/app:pull');
    const use = (t: string, path: string) => fetch(url(path), { headers: { authorization: `Bearer ${t}` } });
    expect((await use(narrow, 'team-a/app/manifests/v1')).status).toBe(200);
    expect((await use(narrow, 'team-a/other/manifests/v1')).status).toBe(403);
    expect((await use(narrow, 'team-b/app/manifests/v1')).status).toBe(403);
    expect((await use(beyond, 'team-b/app/manifests/v1')).status).toBe(403);
    expect((await use(`${narrow.slice(0, -4)}AAAA`, 'team-a/app/manifests/v1')).status).toBe(401);
  });

  it('a narrow token never reads other repositories: manifests, blobs, tags, by digest and by tag', async () => {
    const layer = other.blobs.at(-1)!.digest;
    for (const path of [
      `team-b/app/manifests/${other.digest}`,
      'team-b/app/manifests/v1',
      `team-b/app/blobs/${layer}`,
      'team-b/app/tags/list',
    ]) {
      for (const method of ['GET', 'HEAD']) {
        const res = await get(path, { method });
        expect([path, method, res.status]).toEqual([path, method, 403]);
      }
    }
    // Through a repository in scope, another repository's content is not there.
    expect((await get(`team-a/app/manifests/${other.digest}`)).status).toBe(404);
    expect((await get(`team-a/app/blobs/${layer}`)).status).toBe(404);
    expect((await get(`team-b/app/manifests/v1`, {}, TEAM_B)).status).toBe(200);
  });

  it("a blob the registry mounted into team-a from team-b is not team-a's until a team-a manifest names it", async () => {
    const layer = other.blobs.at(-1)!.digest;
    const mount = await fetch(`${source.url}/v2/team-a/app/blobs/uploads/?mount=${layer}&from=team-b/app`, {
      method: 'POST',
    });
    expect(mount.status).toBe(201);
    // Distribution now serves it under team-a/app; refgraph's record says no manifest there names it.
    expect((await fetch(`${source.url}/v2/team-a/app/blobs/${layer}`)).status).toBe(200);
    const res = await get(`team-a/app/blobs/${layer}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('BLOB_UNKNOWN');
    expect((await get(`team-b/app/blobs/${layer}`, {}, TEAM_B)).status).toBe(200);
  });
});

describe('tags, errors and writes', () => {
  it('tags/list pages with n and last and a Link to the next page', async () => {
    const all = (await (await get('team-a/app/tags/list')).json()) as { name: string; tags: string[] };
    expect(all.name).toBe('local/team-a/app');
    expect(all.tags).toEqual([`sha256-${hex(signed.digest)}.sig`, 'signed', 'twice', 'v1'].sort());
    const first = await get('team-a/app/tags/list?n=2');
    expect(((await first.json()) as { tags: string[] }).tags).toEqual(all.tags.slice(0, 2));
    expect(first.headers.get('link')).toBe(
      `</v2/local/team-a/app/tags/list?n=2&last=${encodeURIComponent(all.tags[1]!)}>; rel="next"`,
    );
    const rest = await get(`team-a/app/tags/list?n=2&last=${encodeURIComponent(all.tags[1]!)}`);
    expect(((await rest.json()) as { tags: string[] }).tags).toEqual(all.tags.slice(2));
    expect((await get('team-a/nothing/tags/list')).status).toBe(404);
  });

  it('answers bad input and unknown content with spec codes', async () => {
    const cases: Array<[string, number, string]> = [
      ['team-a/app/manifests/sha256:xyz', 400, 'DIGEST_INVALID'],
      [`team-a/app/blobs/sha256:${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'],
      ['Team-A/app/manifests/v1', 400, 'NAME_INVALID'],
      [`team-a/app/manifests/sha256:${'0'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN'],
      [`team-a/app/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
      ['team-a/app/manifests/nope', 404, 'MANIFEST_UNKNOWN'],
    ];
    for (const [path, status, code] of cases) {
      const res = await get(path);
      const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
      expect([path, res.status, body.errors[0]!.code]).toEqual([path, status, code]);
      expect(body.errors[0]!.message.length).toBeGreaterThan(0);
    }
    const unknown = await fetch(`${refgraph.url}/v2/elsewhere/app/manifests/v1`, {
      headers: { authorization: basic(READ_ALL) },
    });
    expect(unknown.status).toBe(404);
    // Like Distribution: a manifest whose type the client does not accept is not found for it.
    const picky = await get('team-a/app/manifests/v1', {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(picky.status).toBe(404);
  });

  it('refuses writes with 405 UNSUPPORTED', async () => {
    for (const [method, path] of [
      ['PUT', 'team-a/app/manifests/v2'],
      ['DELETE', `team-a/app/manifests/${image.digest}`],
      ['POST', 'team-a/app/blobs/uploads/'],
      ['PATCH', 'team-a/app/blobs/uploads/x'],
    ] as const) {
      const res = await get(path, { method });
      expect([method, res.status]).toEqual([method, 405]);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNSUPPORTED');
    }
  });

  it('counts view requests, upstream fetches and proxied bytes in /metrics', async () => {
    const text = await (await fetch(`${refgraph.url}/metrics`)).text();
    expect(text).toMatch(
      /refgraph_view_requests_total\{route="manifests",method="HEAD",status="200"\} [1-9]/,
    );
    expect(text).toMatch(/refgraph_view_requests_total\{route="blobs",method="GET",status="403"\} [1-9]/);
    expect(text).toMatch(
      /refgraph_view_upstream_seconds_count\{registry="local",operation="blob",outcome="ok"\} [1-9]/,
    );
    expect(text).toMatch(/refgraph_view_blob_bytes_proxied_total\{registry="local"\} [1-9]/);
    expect(text).toMatch(/refgraph_view_requests_total\{route="token",method="GET",status="200"\} [1-9]/);
  });
});

import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RegistryCatalog } from '#ingest';
import { MediaType, type Descriptor } from '#oci';
import { Database, GraphRepository, ReferrersRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  imageManifest,
  indexManifest,
  kindOf,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';
import { referrersRoutes } from './referrers.routes.js';

let tdb: TestDatabase;
let db: Database;
let app: FastifyInstance;
let base: string;

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const randomDigest = () => `sha256:${randomBytes(32).toString('hex')}`;
const BUILDKIT = 'attestation-manifest';

/** What the referrers API answers for each visible referrer of the subject, by digest. */
const expected = new Map<string, Record<string, unknown>>();
let subject: BuiltManifest;

function describedBy(m: BuiltManifest): Record<string, unknown> {
  const d: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
  if (m.parsed.artifactType) d.artifactType = m.parsed.artifactType;
  if (m.parsed.annotations && Object.keys(m.parsed.annotations).length) d.annotations = m.parsed.annotations;
  return d;
}

/**
 * One subject (an image index) in one repository with 1,132 referrers over every referrer edge kind:
 * 700 with an OCI subject field, 250 of them also listed by the tag-schema index and one also
 * tagged as its cosign signature; 400 only listed by the tag-schema index (never fetched); 30
 * BuildKit attestations listed by another index, 10 of them also listed by the tag-schema index;
 * two more under cosign tags. 125 of them are deleted from the repository, some while the
 * tag-schema index still lists them. The subject's own children are index-child edges.
 */
beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  const graph = new GraphRepository(db);
  const registries = new RegistryRepository(db);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  const repo = await registries.ensureRepository(row!.id, 'many');
  const push = (m: BuiltManifest, t: number, tag?: string) =>
    graph.applyPush({
      repositoryId: repo,
      manifest: m.parsed,
      kind: kindOf(m),
      bytes: m.bytes,
      tag,
      eventAt: at(t),
    });

  subject = indexManifest([imageManifest().descriptor, imageManifest().descriptor]);
  await push(subject, 1);
  const hex = subject.digest.slice('sha256:'.length);

  const withSubject = Array.from({ length: 700 }, (_, i) =>
    referrerManifest(
      subject.descriptor,
      i % 2 ? 'type/a' : 'type/b',
      i % 3 ? {} : { 'org.example/n': String(i) },
    ),
  );
  for (const m of withSubject) await push(m, 2);
  for (const m of withSubject) expected.set(m.digest, describedBy(m));

  const listedOnly: Descriptor[] = Array.from({ length: 400 }, (_, i) => ({
    mediaType: MediaType.OciManifest,
    digest: randomDigest(),
    size: 1000 + i,
    artifactType: i % 2 ? 'type/a' : 'type/listed',
    ...(i % 5 ? {} : { annotations: { 'org.example/listed': String(i) } }),
  }));
  for (const d of listedOnly) expected.set(d.digest, { ...d });

  const attestations: Descriptor[] = Array.from({ length: 30 }, (_, i) => ({
    mediaType: MediaType.OciManifest,
    digest: randomDigest(),
    size: 500 + i,
    annotations: { 'vnd.docker.reference.type': BUILDKIT, 'vnd.docker.reference.digest': subject.digest },
  }));
  for (const d of attestations) expected.set(d.digest, { ...d });
  await push(indexManifest([imageManifest().descriptor, ...attestations]), 3);

  // The same descriptor wherever a referrer is listed twice, so either listing describes it.
  const tagSchema = indexManifest([
    ...withSubject.slice(0, 250).map((m) => ({ ...m.descriptor, artifactType: 'type/listed' })),
    ...listedOnly,
    ...attestations.slice(0, 10),
  ]);
  await push(tagSchema, 4, `sha256-${hex}`);

  await push(withSubject[5]!, 5, `sha256-${hex}.sig`);
  const att = imageManifest();
  const sbom = imageManifest();
  await push(att, 5, `sha256-${hex}.att`);
  await push(sbom, 5, `sha256-${hex}.sbom`);
  expected.set(att.digest, describedBy(att));
  expected.set(sbom.digest, describedBy(sbom));

  // Deleted: 80 with a subject field (30 of them still listed by the tag-schema index), 40 only
  // listed, 5 BuildKit attestations (2 of them also listed by the tag-schema index).
  const deleted = [
    ...withSubject.slice(220, 300).map((m) => m.digest),
    ...listedOnly.slice(0, 40).map((d) => d.digest),
    ...attestations.slice(8, 13).map((d) => d.digest),
  ];
  for (const d of deleted) {
    await graph.applyDelete(repo, d, at(6));
    expected.delete(d);
  }

  app = Fastify();
  // The route reads as the authenticated caller (the auth hook's job, tested in test/e2e/auth):
  // here a caller who may read everything.
  app.addHook('onRequest', async (req) => {
    (req as { refgraphPrincipal?: { name: string } }).refgraphPrincipal = { name: 'reader' };
  });
  const catalog = {
    byName: (name: string) => (name === 'local' ? {} : undefined),
  } as unknown as RegistryCatalog;
  await app.register(referrersRoutes(new ReferrersRepository(db), catalog));
  // Over HTTP: Fastify's inject loads an ES-module-only dependency that Jest cannot require.
  base = await app.listen({ port: 0, host: '127.0.0.1' });
}, 180_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
  await tdb?.drop();
});

/** Follows Link rel="next" from the first page to the last; every page as answered. */
async function walk(
  query: string,
): Promise<Array<{ manifests: Array<Record<string, unknown>>; link?: string }>> {
  const pages: Array<{ manifests: Array<Record<string, unknown>>; link?: string }> = [];
  let url: string | undefined = `/v2/local/many/referrers/${subject.digest}${query}`;
  while (url) {
    const res = await fetch(`${base}${url}`);
    expect(res.status).toBe(200);
    const link = res.headers.get('link') ?? undefined;
    const body = (await res.json()) as { manifests: Array<Record<string, unknown>> };
    pages.push({ manifests: body.manifests, link });
    if (link === undefined) break;
    const next = /^<([^>]+)>; rel="next"$/.exec(link);
    expect(next).not.toBeNull();
    url = next![1];
    expect(pages.length).toBeLessThan(2000);
  }
  return pages;
}

describe('OCI referrers API paging over a subject with many referrers', () => {
  const sorted = () => [...expected.keys()].sort();

  it('lists every visible referrer exactly once, in digest order, across Link pages', async () => {
    expect(expected.size).toBe(1132 - 125);
    const pages = await walk('?n=100');
    expect(pages).toHaveLength(Math.ceil(expected.size / 100));
    for (const p of pages.slice(0, -1)) expect(p.manifests).toHaveLength(100);
    const all = pages.flatMap((p) => p.manifests);
    expect(all.map((m) => m.digest)).toEqual(sorted());
    // The stored manifest describes a referrer also listed by an index; a listing describes the rest.
    expect(all).toEqual(sorted().map((d) => expected.get(d)));
  });

  it('pages by the default page size', async () => {
    const pages = await walk('');
    expect(pages.map((p) => p.manifests.length)).toEqual([500, 500, expected.size - 1000]);
    expect(pages[0]!.link).toBe(
      `</v2/local/many/referrers/${subject.digest}?n=500&last=${encodeURIComponent(String(pages[0]!.manifests[499]!.digest))}>; rel="next"`,
    );
    expect(pages.flatMap((p) => p.manifests.map((m) => m.digest))).toEqual(sorted());
  });

  it('answers a page of at most 1,000 for any larger n, with a Link that names the page it gave', async () => {
    // The distribution spec allows a smaller page than asked for when a Link leads on.
    const pages = await walk('?n=1000000000000');
    expect(pages.map((p) => p.manifests.length)).toEqual([1000, expected.size - 1000]);
    expect(pages[0]!.link).toBe(
      `</v2/local/many/referrers/${subject.digest}?n=1000&last=${encodeURIComponent(String(pages[0]!.manifests[999]!.digest))}>; rel="next"`,
    );
    expect(pages.flatMap((p) => p.manifests.map((m) => m.digest))).toEqual(sorted());
  });

  it('keeps the artifactType filter on every page', async () => {
    const pages = await walk('?n=50&artifactType=type%2Fa');
    const want = sorted().filter((d) => expected.get(d)!.artifactType === 'type/a');
    expect(want.length).toBeGreaterThan(300);
    expect(pages.flatMap((p) => p.manifests.map((m) => m.digest))).toEqual(want);
    for (const p of pages.slice(0, -1)) expect(p.link).toContain('?artifactType=type%2Fa&n=50&last=');
    expect(pages.at(-1)!.link).toBeUndefined();
  });

  it('steps past duplicate edges exactly once with pages of one referrer', async () => {
    const pages = await walk('?n=1');
    expect(pages.flatMap((p) => p.manifests.map((m) => m.digest))).toEqual(sorted());
  }, 120_000);
});

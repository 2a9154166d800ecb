import { MediaType } from '#oci';
import {
  Database,
  GraphRepository,
  ReferrersRepository,
  RegistryRepository,
  RegistryViewRepository,
} from '#store';
import {
  createTestDatabase,
  imageManifest,
  indexManifest,
  kindOf,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';

let tdb: TestDatabase;
let db: Database;
let graph: GraphRepository;
let referrers: ReferrersRepository;
let registries: RegistryRepository;
let registryId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  graph = new GraphRepository(db);
  referrers = new ReferrersRepository(db);
  registries = new RegistryRepository(db);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  registryId = row!.id;
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

async function repo(name: string) {
  return registries.ensureRepository(registryId, name);
}

function push(repositoryId: number, m: BuiltManifest, eventAt: Date, tag?: string) {
  return graph.applyPush({ repositoryId, manifest: m.parsed, kind: kindOf(m), bytes: m.bytes, tag, eventAt });
}

async function referrerDigests(repository: string, subject: string, artifactType?: string) {
  const rows = await referrers.findReferrers({
    registry: 'local',
    repository,
    subject,
    artifactType,
    limit: 1000,
  });
  return rows.map((r) => r.digest);
}

describe('GraphRepository', () => {
  it('serves a referrer pushed before its subject, with the referrer manifest as descriptor', async () => {
    const r = await repo('early');
    const image = imageManifest();
    const sig = referrerManifest(image.descriptor, 'application/vnd.example.sig', {
      'org.example/who': 'ci',
    });
    await push(r, sig, at(1));
    const rows = await referrers.findReferrers({
      registry: 'local',
      repository: 'early',
      subject: image.digest,
      limit: 10,
    });
    expect(rows).toEqual([
      {
        mediaType: MediaType.OciManifest,
        digest: sig.digest,
        size: sig.bytes.length,
        artifactType: 'application/vnd.example.sig',
        annotations: { 'org.example/who': 'ci' },
      },
    ]);
    await push(r, image, at(2));
    expect(await referrerDigests('early', image.digest)).toEqual([sig.digest]);
  });

  it('filters by artifactType and pages by digest', async () => {
    const r = await repo('paging');
    const image = imageManifest();
    const refs = Array.from({ length: 5 }, (_, i) =>
      referrerManifest(image.descriptor, i % 2 ? 'type/a' : 'type/b'),
    );
    for (const m of refs) await push(r, m, at(1));
    const all = refs.map((m) => m.digest).sort();
    expect(await referrerDigests('paging', image.digest)).toEqual(all);
    expect(await referrerDigests('paging', image.digest, 'type/a')).toEqual(
      refs
        .filter((_, i) => i % 2)
        .map((m) => m.digest)
        .sort(),
    );
    const first = await referrers.findReferrers({
      registry: 'local',
      repository: 'paging',
      subject: image.digest,
      limit: 2,
    });
    const second = await referrers.findReferrers({
      registry: 'local',
      repository: 'paging',
      subject: image.digest,
      limit: 2,
      after: first[1]!.digest,
    });
    expect([...first, ...second].map((d) => d.digest)).toEqual(all.slice(0, 4));
  });

  it('keeps repositories apart', async () => {
    const a = await repo('team-a');
    const image = imageManifest();
    await push(a, referrerManifest(image.descriptor, 'type/x'), at(1));
    expect(await referrerDigests('team-a', image.digest)).toHaveLength(1);
    expect(await referrerDigests('team-b', image.digest)).toEqual([]);
  });

  it('removes a deleted referrer, and ignores a push older than the delete', async () => {
    const r = await repo('deletes');
    const image = imageManifest();
    const sig = referrerManifest(image.descriptor, 'type/sig');
    await push(r, sig, at(1));
    expect((await graph.applyDelete(r, sig.digest, at(2))).applied).toBe(true);
    expect(await referrerDigests('deletes', image.digest)).toEqual([]);
    expect((await push(r, sig, at(1))).applied).toBe(false);
    expect(await referrerDigests('deletes', image.digest)).toEqual([]);
    expect((await push(r, sig, at(3))).applied).toBe(true);
    expect(await referrerDigests('deletes', image.digest)).toEqual([sig.digest]);
  });

  it('follows the tag-schema index the tag points at, last writer wins', async () => {
    const r = await repo('tagschema');
    const image = imageManifest();
    const tag = `sha256-${image.digest.slice(7)}`;
    const a = referrerManifest(image.descriptor, 'type/a');
    const b = referrerManifest(image.descriptor, 'type/b');
    const idx1 = indexManifest([{ ...a.descriptor, artifactType: 'type/a' }]);
    const idx2 = indexManifest([
      { ...a.descriptor, artifactType: 'type/a' },
      { ...b.descriptor, artifactType: 'type/b' },
    ]);
    // Newer index first, older one after: the older must not win.
    await push(r, idx2, at(5), tag);
    await push(r, idx1, at(4), tag);
    expect(await referrerDigests('tagschema', image.digest)).toEqual([a.digest, b.digest].sort());
    // The descriptor from the index answers before the referrer manifests were fetched.
    const rows = await referrers.findReferrers({
      registry: 'local',
      repository: 'tagschema',
      subject: image.digest,
      limit: 10,
    });
    expect(rows.find((d) => d.digest === b.digest)?.artifactType).toBe('type/b');
    // Retagging back to the smaller index drops b.
    await push(r, idx1, at(6), tag);
    expect(await referrerDigests('tagschema', image.digest)).toEqual([a.digest]);
    // Deleting the index the tag points at removes its edges.
    await graph.applyDelete(r, idx1.digest, at(7));
    expect(await referrerDigests('tagschema', image.digest)).toEqual([]);
  });

  it('treats cosign tags as referrers of the digest they name', async () => {
    const r = await repo('cosign');
    const image = imageManifest();
    const sig = imageManifest('signature-manifest');
    await push(r, sig, at(1), `sha256-${image.digest.slice(7)}.sig`);
    expect(await referrerDigests('cosign', image.digest)).toEqual([sig.digest]);
    await graph.applyTagDelete(r, `sha256-${image.digest.slice(7)}.sig`, at(2));
    expect(await referrerDigests('cosign', image.digest)).toEqual([]);
  });

  it('stores every manifest of one statement with its own bytes and media type', async () => {
    const r = await repo('bytes');
    const image = imageManifest();
    const many = Array.from({ length: 5 }, (_, i) =>
      referrerManifest(image.descriptor, 'application/vnd.example.sig', { n: 'x'.repeat(1 + i * 700) }),
    );
    const index = indexManifest(many.map((m) => m.descriptor));
    const all = [image, ...many, index];
    const outcomes = await graph.applyPushes(
      all.map((m) => ({
        repositoryId: r,
        manifest: m.parsed,
        kind: kindOf(m),
        bytes: m.bytes,
        eventAt: at(1),
      })),
    );
    expect(outcomes.every((o) => o.applied)).toBe(true);
    const stored = await graph.findManifests(all.map((m) => m.digest));
    for (const m of all) {
      expect(stored.get(m.digest)?.bytes.equals(m.bytes)).toBe(true);
      expect(stored.get(m.digest)?.mediaType).toBe(m.mediaType);
    }
  });

  it('does not list index children as referrers', async () => {
    const r = await repo('index');
    const image = imageManifest();
    const idx = indexManifest([image.descriptor]);
    await push(r, idx, at(1));
    expect(await referrerDigests('index', idx.digest)).toEqual([]);
    expect(await referrerDigests('index', image.digest)).toEqual([]);
  });

  it('links the blobs a manifest names into its repository, stale or deleted alike, and nowhere else', async () => {
    const r = await repo('blobs');
    await repo('blobs-other');
    const view = new RegistryViewRepository(db);
    const image = imageManifest();
    const blobs = [image.parsed.config!.digest, ...image.parsed.layers.map((l) => l.digest)];
    await push(r, image, at(2));
    // An older push of the same manifest is stale for the graph; its blobs stay linked all the same.
    await push(r, image, at(1));
    await graph.applyDelete(r, image.digest, at(3));
    for (const d of blobs) {
      expect([d, await view.blobLinked('local', 'blobs', d)]).toEqual([d, true]);
      expect([d, await view.blobLinked('local', 'blobs-other', d)]).toEqual([d, false]);
    }
    // A manifest's own digest is not a blob of the repository.
    expect(await view.blobLinked('local', 'blobs', image.digest)).toBe(false);
  });
});

import { compilePatterns } from '#config';
import { Database, GraphRepository, ReadRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  imageManifest,
  kindOf,
  PATTERN_CASES,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';

let tdb: TestDatabase;
let db: Database;
let read: ReadRepository;
let push: (repo: string, m: BuiltManifest, tag?: string) => Promise<void>;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  read = new ReadRepository(db);
  const registries = new RegistryRepository(db);
  const graph = new GraphRepository(db);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  push = async (repo, m, tag) => {
    const id = await registries.ensureRepository(row!.id, repo);
    await graph.applyPush({
      repositoryId: id,
      manifest: m.parsed,
      kind: kindOf(m),
      bytes: m.bytes,
      tag,
      eventAt: new Date(),
    });
  };
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

describe('the scope rule in Postgres', () => {
  it('matches exactly the paths the in-memory matcher matches, for every case of the table', async () => {
    const { rows } = await db.pool.query<{ i: number; m: boolean }>(
      `SELECT i::int, path ~ re AS m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(path, re, i)`,
      [PATTERN_CASES.map(([, path]) => path), PATTERN_CASES.map(([p]) => compilePatterns([p]).sql)],
    );
    expect(rows.map((r) => r.m)).toEqual(PATTERN_CASES.map(([, , expected]) => expected));
  });
});

describe('referrer trees', () => {
  it('list a cosign .sig (a referrer without a subject field) under the subject its tag names', async () => {
    const image = imageManifest();
    const sig = imageManifest();
    const withSubject = referrerManifest(image.descriptor, 'application/vnd.example.sbom');
    await push('app', image, 'v1');
    await push('app', sig, `sha256-${image.digest.slice('sha256:'.length)}.sig`);
    await push('app', withSubject);
    for (const scope of [undefined, ['local/app'], ['local/**']]) {
      const rows = await read.findReferrerTree(scope, { subjects: [image.digest], depth: 1, limit: 10 });
      expect(rows.map((r) => [r.subject, r.digest]).sort()).toEqual(
        [
          [image.digest, sig.digest],
          [image.digest, withSubject.digest],
        ].sort(),
      );
      // The .sig's own manifest names no subject; the edge's subject must stand.
      expect(rows.find((r) => r.digest === sig.digest)!.artifact!.subjectDigest).toBeNull();
    }
    expect(
      await read.findReferrerTree(['local/other'], { subjects: [image.digest], depth: 1, limit: 10 }),
    ).toEqual([]);
  });
});

import { Database, RegistryRepository } from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';

let tdb: TestDatabase;
let db: Database;
let registries: RegistryRepository;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  registries = new RegistryRepository(db);
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

describe('RegistryRepository', () => {
  it('keeps one row per configured name, in the order given, with its id across upserts', async () => {
    const first = await registries.upsertRegistries([
      { name: 'zot', kind: 'zot', url: 'http://127.0.0.1:1' },
      { name: 'hub', kind: 'distribution', url: 'http://127.0.0.1:2' },
    ]);
    expect(first.map((r) => r.name)).toEqual(['zot', 'hub']);
    const again = await registries.upsertRegistries([
      { name: 'hub', kind: 'harbor', url: 'http://127.0.0.1:3' },
      { name: 'zot', kind: 'zot', url: 'http://127.0.0.1:1' },
    ]);
    expect(again.map((r) => [r.name, r.id])).toEqual([
      ['hub', first[1]!.id],
      ['zot', first[0]!.id],
    ]);
    expect(again[0]).toMatchObject({ kind: 'harbor', baseUrl: 'http://127.0.0.1:3', referrersApi: null });
    expect(await registries.upsertRegistries([])).toEqual([]);
    expect((await registries.listRegistries()).map((r) => r.name)).toEqual(['hub', 'zot']);
  });

  it('remembers whether the referrers API answered, and reads rows as Prisma maps them', async () => {
    const [row] = await registries.upsertRegistries([
      { name: 'probed', kind: 'distribution', url: 'http://127.0.0.1:4' },
    ]);
    await registries.setReferrersApi(row!.id, false);
    const found = await registries.findRegistryByName('probed');
    expect(found).toMatchObject({ id: row!.id, referrersApi: false, lastEventAt: null });
    // The SQL's column names are the schema's fields: what Prisma's client reads is the same row.
    const prisma = await db.prisma();
    expect(await prisma.registry.findUnique({ where: { name: 'probed' } })).toMatchObject({ ...found });
    expect(await registries.findRegistryByName('nowhere')).toBeNull();
  });

  it('keeps a bounded number of repository ids, asking Postgres again for a forgotten one', async () => {
    const [row] = await registries.upsertRegistries([
      { name: 'many', kind: 'distribution', url: 'http://127.0.0.1:5' },
    ]);
    const ids: number[] = [];
    // A pool of its own, whose checkouts count the statements this repository sends.
    const own = new Database({ url: tdb.url, maxConnections: 2 });
    let statements = 0;
    own.pool.on('acquire', () => statements++);
    const bounded = new RegistryRepository(own, { cachedRepositoryIds: 8 });
    try {
      const names = Array.from({ length: 50 }, (_, i) => `team/app-${i}`);
      for (const name of names) ids.push(await bounded.ensureRepository(row!.id, name));
      expect(new Set(ids).size).toBe(names.length);
      expect(statements).toBe(50);

      // The eight most recent names are answered from memory.
      for (let i = 42; i < 50; i++) expect(await bounded.ensureRepository(row!.id, names[i]!)).toBe(ids[i]);
      expect(statements).toBe(50);
      // The first names were forgotten: each is asked again, and Postgres gives the same id back.
      for (let i = 0; i < 8; i++) expect(await bounded.ensureRepository(row!.id, names[i]!)).toBe(ids[i]);
      expect(statements).toBe(58);
      // Those are now the recent ones; the names they pushed out are asked again in turn.
      expect(await bounded.ensureRepository(row!.id, names[0]!)).toBe(ids[0]);
      expect(statements).toBe(58);
      expect(await bounded.ensureRepository(row!.id, names[42]!)).toBe(ids[42]);
      expect(statements).toBe(59);
    } finally {
      await own.close();
    }
    // The ids handed out are the rows' ids.
    const { rows } = await db.pool.query<{ name: string; id: number }>(
      `SELECT name, id FROM repository WHERE registry_id = $1 ORDER BY id`,
      [row!.id],
    );
    expect(rows.map((r) => r.id)).toEqual(ids);
  });
});

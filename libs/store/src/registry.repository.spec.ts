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
});

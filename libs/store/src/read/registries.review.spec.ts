import { Database, GraphRepository, InboxRepository, ReadRepository, RegistryRepository } from '#store';
import { createTestDatabase, imageManifest, kindOf, type TestDatabase } from '#testing';

/**
 * `/api/v1/registries` lists, for a scoped caller, the registries holding a repository in scope.
 * The registry's last event time moves with every delivery, whichever repository it names: shown
 * to a team-a reader, it tells them when team-b pushes (and how often). Like failed-event counts,
 * it is for callers who may read every repository.
 */
let tdb: TestDatabase;
let db: Database;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
});

afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});

it("a scoped caller's registry list does not carry the time of another team's last push", async () => {
  const registries = new RegistryRepository(db);
  const [reg] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  const image = imageManifest();
  await new GraphRepository(db).applyPush({
    repositoryId: await registries.ensureRepository(reg!.id, 'team-a/app'),
    manifest: image.parsed,
    kind: kindOf(image),
    bytes: image.bytes,
    tag: 'v1',
    eventAt: new Date(),
  });
  // Only team-b's repository ever sends an event.
  const pushedAt = new Date('2031-05-04T03:02:01Z');
  await new InboxRepository(db, 5).record(
    reg!.id,
    [{ action: 'push', repository: 'team-b/secret', digest: imageManifest().digest, tag: 'v9' }],
    { receivedAt: pushedAt },
  );
  const read = new ReadRepository(db);
  const [admin] = await read.listRegistries(undefined, ['local']);
  expect(admin?.lastEventAt?.toISOString()).toBe(pushedAt.toISOString()); // not vacuous
  const [teamA] = await read.listRegistries(['local/team-a/**'], ['local']);
  expect(teamA).toMatchObject({ name: 'local', repositories: 1 });
  expect(teamA!.lastEventAt).toBeNull();
});

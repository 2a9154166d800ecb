// The registry view's blob links when reads go to a streaming replica: a link the view wrote at
// pull-through (on the primary) counts before the standby has replayed it.
import { randomBytes } from 'node:crypto';
import { Database, GraphRepository, RegistryRepository, RegistryViewRepository } from '#store';
import { sha256, startStreamingPair, type StreamingPair } from '#testing';

let pair: StreamingPair;
let primary: Database;
let standby: Database;
let repositoryId: number;

beforeAll(async () => {
  pair = await startStreamingPair();
  primary = new Database({ url: pair.primaryUrl, maxConnections: 2 });
  standby = new Database({ url: pair.standbyUrl, maxConnections: 2 });
  const registries = new RegistryRepository(primary);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  repositoryId = await registries.ensureRepository(row!.id, 'app');
  await registries.ensureRepository(row!.id, 'other');
  await pair.waitForReplay();
}, 120_000);

afterAll(async () => {
  await standby?.close();
  await primary?.close();
  await pair?.destroy();
});

it('a link written on the primary counts while the standby has not replayed it, in its repository only', async () => {
  const blob = sha256(randomBytes(32));
  await standby.pool.query('SELECT pg_wal_replay_pause()');
  try {
    // Written twice (two replicas pulling the same manifest through): the second adds nothing.
    await new GraphRepository(primary).linkBlobs(repositoryId, [blob, blob]);
    await new GraphRepository(primary).linkBlobs(repositoryId, [blob]);
    const { rows } = await primary.pool.query(
      'SELECT blob_digest FROM repository_blob WHERE repository_id = $1',
      [repositoryId],
    );
    expect(rows).toEqual([{ blob_digest: blob }]);
    expect(await new RegistryViewRepository(standby).blobLinked('local', 'app', blob)).toBe(false);
    const view = new RegistryViewRepository(standby, primary);
    expect(await view.blobLinked('local', 'app', blob)).toBe(true);
    expect(await view.blobLinked('local', 'other', blob)).toBe(false);
  } finally {
    await standby.pool.query('SELECT pg_wal_replay_resume()');
  }
});

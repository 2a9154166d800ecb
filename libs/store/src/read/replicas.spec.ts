// A replica that accepts connections and never answers (a hung host: a real standby cannot hang
// on cue, so a loopback TCP server stands in for it) stays out of rotation, and neither the lag
// checks nor the reads wait on it.
import { Database, ReadReplicas, ReadRepository } from '#store';
import { createTestDatabase, startHungServer, type HungServer, type TestDatabase } from '#testing';

let tdb: TestDatabase;
let db: Database;
let hung: HungServer;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  hung = await startHungServer();
});

afterAll(async () => {
  await db.close();
  await hung.stop();
  await tdb.drop();
});

describe('a hung replica', () => {
  it('is reported unreachable by a bounded check, and reads go to the primary', async () => {
    const replicas = new ReadReplicas(db, {
      urls: [`postgresql://refgraph@127.0.0.1:${hung.port}/refgraph`],
      maxLagSeconds: 1,
      checkIntervalMs: 200,
    });
    try {
      await replicas.start();
      const [status] = replicas.status();
      expect(status).toEqual(
        expect.objectContaining({
          name: `127.0.0.1:${hung.port}/refgraph`,
          inRotation: false,
          lagSeconds: null,
        }),
      );
      expect(status!.reason).toMatch(/^unreachable: no answer to the lag check/);
      expect(hung.connections).toBeGreaterThanOrEqual(1);
      // A second check is not stalled behind the first one's hung connection.
      await replicas.check();
      expect(replicas.status()[0]!.inRotation).toBe(false);
      expect(
        await new ReadRepository(replicas).findArtifacts(undefined, ['sha256:' + '0'.repeat(64)]),
      ).toEqual([]);
      expect(replicas.primaryQueries).toBe(1);
      expect(replicas.replicaQueries()).toEqual({ [`127.0.0.1:${hung.port}/refgraph`]: 0 });
    } finally {
      await replicas.close();
    }
  });
});

describe('a replica that refuses the connection', () => {
  it("is reported by the error's code, never the server's message naming users or hosts", async () => {
    const url = new URL(tdb.url);
    url.username = 'refgraph_reader_nobody_has';
    url.password = 'not-the-password';
    const replicas = new ReadReplicas(db, { urls: [url.toString()], maxLagSeconds: 1, checkIntervalMs: 200 });
    try {
      await replicas.start();
      const [status] = replicas.status();
      expect(status!.inRotation).toBe(false);
      // 28P01 (password authentication failed) or 28000 (no such role), as the server's auth says.
      expect(status!.reason).toMatch(/^unreachable: error 28(P01|000)$/);
      expect(JSON.stringify(status)).not.toMatch(/refgraph_reader_nobody_has|not-the-password|password/);
    } finally {
      await replicas.close();
    }
  });
});

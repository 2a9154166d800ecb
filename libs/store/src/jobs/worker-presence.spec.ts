import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#testing';
import { WorkerPresence } from './worker-presence.js';

let tdb: TestDatabase;
let alive: pg.Pool;
let sweeper: pg.Pool;

beforeAll(async () => {
  tdb = await createTestDatabase();
  alive = new pg.Pool({ connectionString: tdb.url, max: 3 });
  sweeper = new pg.Pool({ connectionString: tdb.url, max: 3 });
});

afterAll(async () => {
  await alive.end();
  await sweeper.end();
  await tdb.drop();
});

/** A job locked by `workerId` `ageSeconds` ago, as graphile-worker leaves it. */
async function lockedJob(workerId: string, ageSeconds: number): Promise<string> {
  const { rows } = await sweeper.query<{ id: string }>(
    `SELECT id::text FROM graphile_worker.add_job('presence_test', '{}'::json)`,
  );
  const id = rows[0]!.id;
  await sweeper.query(
    `UPDATE graphile_worker._private_jobs SET locked_by = $2, locked_at = now() - make_interval(secs => $3) WHERE id = $1`,
    [id, workerId, ageSeconds],
  );
  return id;
}

async function lockOf(id: string): Promise<string | null> {
  const { rows } = await sweeper.query<{ locked_by: string | null }>(
    'SELECT locked_by FROM graphile_worker._private_jobs WHERE id = $1',
    [id],
  );
  return rows[0]!.locked_by;
}

describe('WorkerPresence', () => {
  it('hands back the jobs of a pool nobody holds, and only after the grace period', async () => {
    const mine = new WorkerPresence(alive, { graceSeconds: 10, sweepIntervalMs: 60_000 });
    mine.add('pool-alive');
    // Once the first sweep is over, the lock is held and no sweep of `mine` runs for a minute.
    await mine.start();
    const other = new WorkerPresence(sweeper, { graceSeconds: 10, sweepIntervalMs: 60_000 });
    try {
      const live = await lockedJob('pool-alive', 60);
      const dead = await lockedJob('pool-dead', 60);
      const young = await lockedJob('pool-young', 1);
      expect(await other.reclaim()).toBe(1);
      expect(await lockOf(live)).toBe('pool-alive');
      expect(await lockOf(dead)).toBeNull();
      expect(await lockOf(young)).toBe('pool-young');

      // A pool that ended (or a process that died) no longer holds its lock.
      await mine.remove('pool-alive');
      expect(await other.reclaim()).toBe(1);
      expect(await lockOf(live)).toBeNull();
    } finally {
      await mine.stop();
      await other.stop();
    }
  });

  it('does not count a lock held in another database on the same server', async () => {
    const elsewhere = await createTestDatabase();
    const foreignPool = new pg.Pool({ connectionString: elsewhere.url, max: 2 });
    const foreign = new WorkerPresence(foreignPool, { graceSeconds: 10, sweepIntervalMs: 60_000 });
    try {
      foreign.add('pool-shared-name');
      await foreign.start();
      const job = await lockedJob('pool-shared-name', 60);
      expect(await new WorkerPresence(sweeper, { graceSeconds: 10 }).reclaim()).toBe(1);
      expect(await lockOf(job)).toBeNull();
    } finally {
      await foreign.stop();
      await foreignPool.end();
      await elsewhere.drop();
    }
  });
});

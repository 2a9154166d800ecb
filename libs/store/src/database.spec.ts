import { createTestDatabase, startPgBouncer, type PgBouncer, type TestDatabase } from '#testing';
import { Database } from './database.js';

describe('Database', () => {
  let target: TestDatabase;
  let bouncer: PgBouncer;

  beforeAll(async () => {
    target = await createTestDatabase();
    bouncer = await startPgBouncer(target.url);
  });

  afterAll(async () => {
    await bouncer?.stop();
    await target?.drop();
  });

  // docs/operations.md puts PgBouncer (session mode) in front of Postgres. It refuses a startup
  // packet carrying settings it does not track (synchronous_commit is not one of them), so the
  // setting must reach each connection otherwise, or the job runner's pool never connects.
  it('sets synchronous_commit on every connection, also through PgBouncer', async () => {
    const jobs = new Database({ url: bouncer.url, maxConnections: 2, synchronousCommit: 'off' });
    try {
      const a = await jobs.pool.connect();
      const b = await jobs.pool.connect();
      try {
        for (const c of [a, b]) {
          const { rows } = await c.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
          expect(rows[0]!.synchronous_commit).toBe('off');
        }
      } finally {
        a.release();
        b.release();
      }
    } finally {
      await jobs.close();
    }
  });

  it("leaves Postgres' own setting without the option", async () => {
    const main = new Database({ url: bouncer.url, maxConnections: 1 });
    try {
      const { rows } = await main.pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      expect(rows[0]!.synchronous_commit).toBe('on');
    } finally {
      await main.close();
    }
  });
});

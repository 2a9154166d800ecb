// The read pool's two bounds on real servers: Postgres' own statement_timeout (a slow statement on
// a live server), and the client-side bound (a server that accepts connections and never answers:
// a loopback TCP server stands in for a frozen host, which a real Postgres cannot be on cue here).
import pg from 'pg';
import { BoundedReads, isReadTimeout } from '#store';
import { createTestDatabase, startHungServer, type HungServer, type TestDatabase } from '#testing';

let tdb: TestDatabase;
let hung: HungServer;

beforeAll(async () => {
  tdb = await createTestDatabase();
  hung = await startHungServer();
});

afterAll(async () => {
  await hung.stop();
  await tdb.drop();
});

const BOUNDS = { statementTimeoutMs: 300, answerTimeoutMs: 5000 };

describe('BoundedReads', () => {
  it('has Postgres cancel a statement past statement_timeout, and keeps the connection', async () => {
    const reads = new BoundedReads(tdb.url, BOUNDS, 'primary', 1);
    try {
      const { rows } = await reads.pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows).toEqual([{ statement_timeout: '300ms' }]);
      const err = await reads.pool.query('SELECT pg_sleep(3)').catch((e: unknown) => e);
      expect(isReadTimeout(err)).toBe(true);
      expect((err as Error).message).toBe(
        'primary gave no answer within its read bounds (statement 300 ms, answer 5000 ms)',
      );
      expect(((err as Error).cause as pg.DatabaseError).code).toBe('57014');
      // The server's own cancel leaves the one connection usable: same backend, same setting.
      const pids = await Promise.all(
        [1, 2].map(() => reads.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')),
      );
      expect(new Set(pids.map((p) => p.rows[0]!.pid)).size).toBe(1);
      // A statement's own error is not a timeout.
      const bad = await reads.pool.query('SELECT 1/0').catch((e: unknown) => e);
      expect(isReadTimeout(bad)).toBe(false);
      expect((bad as pg.DatabaseError).code).toBe('22012');
    } finally {
      await reads.close();
    }
  });

  it('gives a server that never answers up at answerTimeoutMs while connecting (a frozen standby mid-statement: apps/server/src/health/replicas.spec.ts)', async () => {
    const reads = new BoundedReads(
      `postgresql://refgraph@127.0.0.1:${hung.port}/refgraph`,
      {
        statementTimeoutMs: 100,
        answerTimeoutMs: 300,
      },
      'replica',
      2,
    );
    try {
      const errs = await Promise.all(
        [1, 2, 3].map(() => reads.pool.query('SELECT 1').catch((e: unknown) => e)),
      );
      for (const err of errs) {
        expect(isReadTimeout(err)).toBe(true);
        expect((err as Error).message).toMatch(/^replica gave no answer within its read bounds/);
      }
      expect(hung.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await reads.close();
    }
  });
});

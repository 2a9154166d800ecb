import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#testing';
import { RECORD_EVENTS_SQL, recordDeliveries } from '../inbox-accept.js';
import { contentSha256 } from '../inbox-rows.js';
import { planQueueStatementsPerCall } from './queue-plans.js';

let tdb: TestDatabase;
let admin: pg.Pool;
let registryId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  admin = new pg.Pool({ connectionString: tdb.url, max: 2 });
  const { rows } = await admin.query<{ id: number }>(
    `INSERT INTO registry (name, kind, base_url) VALUES ('plans', 'distribution', 'http://127.0.0.1:1') RETURNING id`,
  );
  registryId = rows[0]!.id;
});

afterAll(async () => {
  await admin.end();
  await tdb.drop();
});

async function settings(): Promise<Record<string, string[] | null>> {
  const { rows } = await admin.query<{ proname: string; proconfig: string[] | null }>(
    `SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'graphile_worker' AND p.proname IN ('add_job', 'add_jobs') ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.proname, r.proconfig]));
}

let n = 0;
const delivery = () => ({
  registryId,
  events: [{ action: 'push' as const, repository: 'app', senderEventId: `plans-${n++}` }],
  rejected: [],
  receivedAt: new Date(),
});

describe('planQueueStatementsPerCall', () => {
  it('is set on add_job and add_jobs by the queue migration, and set again once they are replaced', async () => {
    const set = {
      add_job: ['plan_cache_mode=force_custom_plan'],
      add_jobs: ['plan_cache_mode=force_custom_plan'],
    };
    expect(await settings()).toEqual(set);
    // What the queue's next migration does to a function it redefines.
    await admin.query(
      `ALTER FUNCTION graphile_worker.add_jobs(graphile_worker.job_spec[], boolean) RESET plan_cache_mode`,
    );
    expect((await settings()).add_jobs).toBeNull();
    expect(await planQueueStatementsPerCall(admin)).toBe(true);
    expect(await planQueueStatementsPerCall(admin)).toBe(true);
    expect(await settings()).toEqual(set);
  });

  it('keeps the accept statement from reading the pending jobs as the backlog grows', async () => {
    // One connection, as a pool's: its cached plans were made while the queue was nearly empty.
    const accept = new pg.Pool({ connectionString: tdb.url, max: 1 });
    try {
      for (let i = 0; i < 8; i++) await recordDeliveries(accept, [delivery()], 5);
      await admin.query(
        `SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
           SELECT json_populate_record(NULL::graphile_worker.job_spec, json_build_object(
             'identifier', 'plans_backlog', 'payload', json_build_object('n', g)))
           FROM generate_series(1, 10000) g))`,
      );
      const { rows: size } = await admin.query<{ pages: number }>(
        `SELECT (pg_relation_size('graphile_worker._private_jobs') / current_setting('block_size')::int)::int AS pages`,
      );
      const d = delivery();
      const e = d.events[0]!;
      const client = await accept.connect();
      let blocks: number;
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, number> }> }>(
          `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${RECORD_EVENTS_SQL}`,
          [
            [registryId],
            [e.senderEventId],
            [null],
            [
              contentSha256({
                action: e.action,
                repository: e.repository,
                digest: null,
                tag: null,
                mediaType: null,
              }),
            ],
            [e.action],
            [e.repository],
            [null],
            [null],
            [null],
            [d.receivedAt],
            [d.receivedAt],
            ['pending'],
            [null],
            5,
            [],
            [],
          ],
        );
        const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
        blocks = plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!;
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
      // A scan of the job table alone would touch every one of its pages.
      expect(size[0]!.pages).toBeGreaterThan(100);
      expect(blocks).toBeLessThan(size[0]!.pages / 2);
    } finally {
      await accept.end();
    }
  });
});

// The clean-up of a server that several test runs share: a run drops the databases of runs that
// are over and nothing else. Other runs are played by clients of this test holding (or not) a
// run's liveness lock, on this run's server.
import pg from 'pg';
import { dropAbandonedDatabases, dropRunDatabases, holdRunLock, runOf } from './global-setup.js';
import { createTestDatabase, type TestDatabase } from './database.js';

const adminUrl = () => process.env.REFGRAPH_TEST_ADMIN_URL!;

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  return c;
}

async function exists(admin: pg.Client, names: string[]): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname = ANY($1)',
    [names],
  );
  return rows.map((r) => r.datname).sort();
}

let admin: pg.Client;
let own: TestDatabase;

beforeAll(async () => {
  admin = await connect();
  own = await createTestDatabase();
});

afterAll(async () => {
  await own?.drop();
  await admin?.end();
});

describe('test databases on a shared server', () => {
  it('carry the id of the run that created them', () => {
    expect(runOf(own.name)).toBe(process.env.REFGRAPH_TEST_RUN_ID);
    expect(runOf(`refgraph_tpl_${process.env.REFGRAPH_TEST_RUN_ID}`)).toBe(process.env.REFGRAPH_TEST_RUN_ID);
    expect(runOf('refgraph_tpl_123_abc_building')).toBe('123_abc');
    expect(runOf('refgraph_t_0123456789ab')).toBeUndefined();
    expect(runOf('refgraph')).toBeUndefined();
  });

  it("are dropped only once their run is over: never a live run's, never a name without a run", async () => {
    const live = '4242_liverun';
    const over = '4343_overrun';
    const names = [
      `refgraph_t_${live}_0a1b2c3d4e5f`,
      `refgraph_tpl_${live}`,
      `refgraph_t_${over}_0a1b2c3d4e5f`,
      `refgraph_tpl_${over}_building`,
      // The old naming (no run id): nothing proves such a database abandoned.
      'refgraph_t_0123456789ab',
    ];
    for (const n of names) await admin.query(`CREATE DATABASE "${n}"`);
    const other = await connect(); // the live run's own session
    try {
      await holdRunLock(other, live);
      const dropped = await dropAbandonedDatabases(admin);
      expect(dropped.sort()).toEqual([`refgraph_t_${over}_0a1b2c3d4e5f`, `refgraph_tpl_${over}_building`]);
      expect(await exists(admin, [...names, own.name])).toEqual(
        [
          `refgraph_t_${live}_0a1b2c3d4e5f`,
          `refgraph_tpl_${live}`,
          'refgraph_t_0123456789ab',
          own.name,
        ].sort(),
      );
    } finally {
      await other.end();
    }
    // The live run ended (its session is gone): its databases are leftovers now.
    expect((await dropAbandonedDatabases(admin)).sort()).toEqual([
      `refgraph_t_${live}_0a1b2c3d4e5f`,
      `refgraph_tpl_${live}`,
    ]);
    // This run is alive throughout (global setup holds its lock): its own database stays.
    expect(await exists(admin, [own.name, 'refgraph_t_0123456789ab'])).toEqual(
      [own.name, 'refgraph_t_0123456789ab'].sort(),
    );
    await admin.query('DROP DATABASE "refgraph_t_0123456789ab"');
  });

  it("a run's teardown drops its own databases and no other run's", async () => {
    const mine = '4444_mine';
    const theirs = '4545_theirs';
    const names = [
      `refgraph_t_${mine}_aaaaaaaaaaaa`,
      `refgraph_tpl_${mine}`,
      `refgraph_t_${theirs}_bbbbbbbbbbbb`,
    ];
    for (const n of names) await admin.query(`CREATE DATABASE "${n}"`);
    try {
      expect((await dropRunDatabases(admin, mine)).sort()).toEqual([
        `refgraph_t_${mine}_aaaaaaaaaaaa`,
        `refgraph_tpl_${mine}`,
      ]);
      expect(await exists(admin, names)).toEqual([`refgraph_t_${theirs}_bbbbbbbbbbbb`]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "refgraph_t_${theirs}_bbbbbbbbbbbb"`);
    }
  });
});

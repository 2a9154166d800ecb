import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { migrateQueue } from '../../ingest/src/queue.js';
import { applyMigrations, readMigrations } from '../../store/src/migrator.js';

const TEMPLATE_LOCK_KEY = 7_246_113_099;

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.REFGRAPH_TEST_ADMIN_URL;
  if (!url) throw new Error('REFGRAPH_TEST_ADMIN_URL is not set: run tests through jest (global setup)');
  return url;
}

function urlFor(database: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The run's migrated template; the first test worker to ask builds it, the others wait. */
async function ensureTemplate(): Promise<string> {
  const name = `refgraph_tpl_${process.env.REFGRAPH_TEST_RUN_ID ?? 'local'}`;
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) return;
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building}`);
      await admin.query(`CREATE DATABASE ${building}`);
      const tpl = new pg.Client({ connectionString: urlFor(building) });
      await tpl.connect();
      try {
        await applyMigrations(tpl, await readMigrations(resolve('prisma/migrations')));
      } finally {
        await tpl.end();
      }
      const pool = new pg.Pool({ connectionString: urlFor(building), max: 2 });
      pool.on('error', () => undefined);
      try {
        await migrateQueue(pool);
      } finally {
        await pool.end();
      }
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  });
  return name;
}

function handle(name: string): TestDatabase {
  return {
    url: urlFor(name),
    name,
    drop: () =>
      withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined)),
  };
}

/**
 * A test database's name: it carries the run's id, so that on a shared server only this run, or
 * a later one once this run is over, drops it (global-setup.ts).
 */
function testDatabaseName(): string {
  return `refgraph_t_${process.env.REFGRAPH_TEST_RUN_ID ?? 'local'}_${randomBytes(6).toString('hex')}`;
}

/** A fresh database with every migration applied, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = await ensureTemplate();
  const name = testDatabaseName();
  // CREATE DATABASE ... TEMPLATE fails while another session is connected to the template.
  await withAdmin(async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      await c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  });
  return handle(name);
}

/** An empty database (no migrations), for tests of the migrator itself. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = testDatabaseName();
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  return handle(name);
}

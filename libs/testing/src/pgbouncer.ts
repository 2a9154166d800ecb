// A real PgBouncer (the Debian package) in session mode on a free loopback port, in front of a
// test database: what docs/operations.md suggests in front of Postgres. PgBouncer refuses to run
// as root, so as root it runs as the `postgres` OS user, which owns its directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../store/src/embedded-postgres.js';
import { postgresOsUser } from './streaming-replica.js';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  /** `target`'s database through PgBouncer. */
  url: string;
  /** Ends PgBouncer (its pid, SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer with its defaults but for what a test needs (where it listens, no auth of its
 * own, session pooling); resolves once it answers a query for `target`'s database.
 */
export async function startPgBouncer(target: string): Promise<PgBouncer> {
  const t = new URL(target);
  const database = decodeURIComponent(t.pathname.slice(1));
  const owner = await postgresOsUser();
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

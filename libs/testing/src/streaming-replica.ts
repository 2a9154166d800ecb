// A real PostgreSQL streaming replication pair for tests: a primary (wal_level=replica) and a hot
// standby cloned from it with `pg_basebackup -R`, both from the machine's PostgreSQL 15 server
// binaries, on free loopback ports in temporary directories. Postgres refuses to run as root, so
// as root every server command runs as the `postgres` OS user, which owns the directories.
import { execFile } from 'node:child_process';
import { chown, mkdtemp, appendFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateQueue } from '../../ingest/src/queue.js';
import { applyMigrations, readMigrations } from '../../store/src/migrator.js';

const run = promisify(execFile);
const BIN = process.env.REFGRAPH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const USER = 'refgraph';
const DATABASE = 'refgraph';

export interface StreamingPair {
  primaryUrl: string;
  standbyUrl: string;
  /** Stops the standby (`pg_ctl stop -m fast`). */
  stopStandby(): Promise<void>;
  /** Stops both servers and removes their directories. */
  destroy(): Promise<void>;
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

/** Runs a server binary, as `postgres` when this process is root. */
async function pgBin(asPostgres: boolean, cmd: string, args: string[]): Promise<void> {
  const file = join(BIN, cmd);
  const opts = { cwd: tmpdir(), timeout: 120_000 };
  if (asPostgres) await run('runuser', ['-u', 'postgres', '--', file, ...args], opts);
  else await run(file, args, opts);
}

function url(port: number): string {
  return `postgresql://${USER}@127.0.0.1:${port}/${DATABASE}`;
}

async function serverSettings(dir: string, port: number): Promise<void> {
  await appendFile(
    join(dir, 'postgresql.conf'),
    [
      '',
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${dir}'`,
      'wal_level = replica',
      'max_wal_senders = 4',
      'hot_standby = on',
      'fsync = off',
      'max_connections = 40',
      '',
    ].join('\n'),
  );
}

/** Starts a primary, migrates it as libs/testing/src/database.ts does, and a standby streaming from it. */
export async function startStreamingPair(): Promise<StreamingPair> {
  const owner = await osUser();
  const root = await mkdtemp(join(tmpdir(), 'refgraph-replica-'));
  if (owner) await chown(root, owner.uid, owner.gid);
  const primaryDir = join(root, 'primary');
  const standbyDir = join(root, 'standby');
  const started: string[] = [];
  const stop = async (dir: string) => {
    await pgBin(!!owner, 'pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };
  const destroy = async () => {
    for (const dir of started.reverse()) await stop(dir);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const [primaryPort, standbyPort] = [await freePort(), await freePort()];
    await pgBin(!!owner, 'initdb', ['-D', primaryDir, '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await serverSettings(primaryDir, primaryPort);
    await appendFile(join(primaryDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    await pgBin(!!owner, 'pg_ctl', ['-D', primaryDir, '-l', join(root, 'primary.log'), '-w', 'start']);
    started.push(primaryDir);

    const admin = new pg.Client({ connectionString: url(primaryPort).replace(/\/refgraph$/, '/postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DATABASE}`).finally(() => admin.end());
    const client = new pg.Client({ connectionString: url(primaryPort) });
    await client.connect();
    try {
      await applyMigrations(client, await readMigrations(resolve('prisma/migrations')));
    } finally {
      await client.end();
    }
    const pool = new pg.Pool({ connectionString: url(primaryPort), max: 2 });
    pool.on('error', () => undefined);
    pool.on('connect', (c) => c.on('error', () => undefined));
    await migrateQueue(pool).finally(() => pool.end());

    await pgBin(!!owner, 'pg_basebackup', [
      '-D',
      standbyDir,
      '-R',
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      USER,
      '-X',
      'stream',
    ]);
    // The clone carries the primary's settings; later lines win.
    await serverSettings(standbyDir, standbyPort);
    await pgBin(!!owner, 'pg_ctl', ['-D', standbyDir, '-l', join(root, 'standby.log'), '-w', 'start']);
    started.push(standbyDir);
    return {
      primaryUrl: url(primaryPort),
      standbyUrl: url(standbyPort),
      stopStandby: () => stop(standbyDir),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

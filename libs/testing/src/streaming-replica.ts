// A real PostgreSQL streaming replication pair for tests and the bench: a primary
// (wal_level=replica) and a hot standby cloned from it with `pg_basebackup -R`, both from the
// machine's PostgreSQL 15 server binaries, on free loopback ports in temporary directories.
// Postgres refuses to run as root, so as root every server command runs as the `postgres` OS
// user, which owns the directories.
import { execFile } from 'node:child_process';
import { chown, mkdtemp, appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateQueue } from '../../ingest/src/queue.js';
import { freePort } from '../../store/src/embedded-postgres.js';
import { applyMigrations, readMigrations } from '../../store/src/migrator.js';

const run = promisify(execFile);
/** The PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) the pair is built from. */
export const PG_BIN = process.env.REFGRAPH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const USER = 'refgraph';
const DATABASE = 'refgraph';

export interface StreamingPairOptions {
  /**
   * false turns fsync off on both servers: a crash may then lose or corrupt committed data, which
   * only a pair that is thrown away afterwards (the bench's) may accept. Default true.
   */
  fsync?: boolean;
  /** More postgresql.conf settings for both servers (e.g. shared_buffers for a larger load). */
  settings?: Record<string, string | number>;
}

export interface StreamingPair {
  primaryUrl: string;
  standbyUrl: string;
  /**
   * Resolves once the standby has replayed the primary's WAL up to where it was when called
   * (pg_current_wal_lsn on the primary against pg_last_wal_replay_lsn on the standby); rejects
   * after `deadlineMs`. Returns that position.
   */
  waitForReplay(deadlineMs?: number): Promise<{ lsn: string }>;
  /** Bytes of the primary's WAL the standby has not replayed yet (0: caught up). */
  replayLagBytes(): Promise<number>;
  /** Stops the standby (`pg_ctl stop -m fast`). */
  stopStandby(): Promise<void>;
  /**
   * SIGSTOPs a server's postmaster and every process it started: the host is frozen, connections
   * are accepted by the kernel and never answered, and no statement_timeout can fire. thaw()
   * (SIGCONT) must follow, also when the test fails. Returns how many processes were stopped.
   */
  freeze(server: 'primary' | 'standby'): Promise<number>;
  thaw(server: 'primary' | 'standby'): Promise<void>;
  /** Stops both servers and removes their directories. */
  destroy(): Promise<void>;
}

/** The `postgres` OS user's ids when running as root (Postgres refuses to run as root); else undefined. */
export async function postgresOsUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a server binary, as `postgres` when this process is root. */
async function pgBin(asPostgres: boolean, cmd: string, args: string[]): Promise<void> {
  const file = join(PG_BIN, cmd);
  const opts = { cwd: tmpdir(), timeout: 120_000 };
  if (asPostgres) await run('runuser', ['-u', 'postgres', '--', file, ...args], opts);
  else await run(file, args, opts);
}

function url(port: number): string {
  return `postgresql://${USER}@127.0.0.1:${port}/${DATABASE}`;
}

async function serverSettings(dir: string, port: number, options: StreamingPairOptions): Promise<void> {
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: `'127.0.0.1'`,
    unix_socket_directories: `'${dir}'`,
    wal_level: 'replica',
    max_wal_senders: 4,
    hot_standby: 'on',
    fsync: options.fsync === false ? 'off' : 'on',
    max_connections: 40,
    ...options.settings,
  };
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${v}`);
  await appendFile(join(dir, 'postgresql.conf'), ['', ...lines, ''].join('\n'));
}

/** One query on a short-lived connection. */
async function queryOnce<T>(connectionString: string, sql: string, params: unknown[] = []): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows[0] as T;
  } finally {
    await client.end();
  }
}

/** The postmaster of a data directory (line 1 of postmaster.pid) and the processes it forked. */
async function serverProcesses(dir: string): Promise<number[]> {
  const postmaster = Number((await readFile(join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid) follows the command name in parentheses, which may itself hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

/** Starts a primary, migrates it as libs/testing/src/database.ts does, and a standby streaming from it. */
export async function startStreamingPair(options: StreamingPairOptions = {}): Promise<StreamingPair> {
  const owner = await postgresOsUser();
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
    await serverSettings(primaryDir, primaryPort, options);
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
      // The backup starts at once instead of after a spread checkpoint (minutes on an idle primary).
      '--checkpoint=fast',
    ]);
    // The clone carries the primary's settings; later lines win.
    await serverSettings(standbyDir, standbyPort, options);
    await pgBin(!!owner, 'pg_ctl', ['-D', standbyDir, '-l', join(root, 'standby.log'), '-w', 'start']);
    started.push(standbyDir);
    const frozen = new Map<string, number[]>();
    const dirOf = (server: 'primary' | 'standby') => (server === 'primary' ? primaryDir : standbyDir);
    const thaw = async (server: 'primary' | 'standby') => {
      for (const pid of frozen.get(server) ?? []) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Gone already.
        }
      }
      frozen.delete(server);
    };
    const primaryUrl = url(primaryPort);
    const standbyUrl = url(standbyPort);
    return {
      primaryUrl,
      standbyUrl,
      async waitForReplay(deadlineMs = 60_000) {
        const { lsn } = await queryOnce<{ lsn: string }>(
          primaryUrl,
          'SELECT pg_current_wal_lsn()::text AS lsn',
        );
        const end = Date.now() + deadlineMs;
        const standby = new pg.Client({ connectionString: standbyUrl });
        await standby.connect();
        try {
          for (;;) {
            const { rows } = await standby.query<{ behind: string }>(
              'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()) AS behind',
              [lsn],
            );
            if (Number(rows[0]!.behind) <= 0) return { lsn };
            if (Date.now() > end)
              throw new Error(`the standby had not replayed up to ${lsn} after ${deadlineMs} ms`);
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          await standby.end();
        }
      },
      async replayLagBytes() {
        const { replayed } = await queryOnce<{ replayed: string }>(
          standbyUrl,
          'SELECT pg_last_wal_replay_lsn()::text AS replayed',
        );
        const { diff } = await queryOnce<{ diff: string }>(
          primaryUrl,
          'SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0) AS diff',
          [replayed],
        );
        return Number(diff);
      },
      stopStandby: () => stop(standbyDir),
      async freeze(server) {
        // The postmaster first: once it is stopped it forks nothing new, so the list is complete.
        const [postmaster, ...children] = await serverProcesses(dirOf(server));
        process.kill(postmaster!, 'SIGSTOP');
        frozen.set(server, [postmaster!]);
        const all = await serverProcesses(dirOf(server));
        for (const pid of new Set([...children, ...all.slice(1)])) {
          process.kill(pid, 'SIGSTOP');
          frozen.get(server)!.push(pid);
        }
        return frozen.get(server)!.length;
      },
      thaw,
      async destroy() {
        await thaw('primary');
        await thaw('standby');
        await destroy();
      },
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

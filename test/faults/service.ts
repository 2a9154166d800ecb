import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '#store';
import { NOTIFICATION_TYPE } from './corpus.js';

/**
 * Runs refgraph the way it is deployed: `node dist/apps/server/src/main.js` as its own process,
 * one role per process, so faults (SIGKILL, a database that goes away) hit a real process and a
 * crash is seen as an exit rather than as a failed promise inside the test runner.
 */

const MAIN = 'dist/apps/server/src/main.js';
const LOCK = join(tmpdir(), 'refgraph-faults-build.lock');

function newest(dir: string, ext: string, skip: RegExp): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext) && !skip.test(f) && !f.includes('node_modules'))
    .reduce((m, f) => Math.max(m, statSync(join(dir, f)).mtimeMs), 0);
}

/** dist/ must be at least as new as apps/ and libs/; builds it (once, under a lock) otherwise. */
export async function ensureBuilt(): Promise<void> {
  const stale = () => {
    const src = Math.max(
      newest('apps', '.ts', /\.spec\.ts$/),
      newest('libs', '.ts', /\.spec\.ts$|^testing\//),
    );
    return (
      !existsSync(MAIN) || Math.min(newest('dist/apps', '.js', /^$/), newest('dist/libs', '.js', /^$/)) < src
    );
  };
  if (!stale()) return;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than the deadline belongs to a dead run.
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      const age = lock ? Date.now() - lock.mtimeMs : 0;
      if (Date.now() > deadline || age > 180_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
      if (!stale()) return;
    }
  }
  try {
    if (!stale()) return;
    const res = spawnSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
      {
        stdio: 'pipe',
        timeout: 170_000,
      },
    );
    if (!existsSync(MAIN)) throw new Error(`build failed: ${res.stdout?.toString().slice(-2000)}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export type Role = 'api' | 'worker' | 'all';

export interface ServiceProcess {
  role: Role;
  /** Base URL: the api's for api/all roles, the worker listener's (probes and metrics) for a worker. */
  url: string;
  child: ChildProcess;
  /** Last output lines (logs), for failure messages. */
  output(): string;
  /** Resolves with the exit code or signal once the process has exited. */
  exited: Promise<string>;
  hasExited(): boolean;
  kill(signal?: NodeJS.Signals): Promise<string>;
}

const running = new Set<ServiceProcess>();

export interface StartOptions {
  role: Role;
  /** Omitted: the service starts its embedded Postgres (set REFGRAPH_DATA_DIR in `env`). */
  databaseUrl?: string;
  /** The refgraph.yaml content (JSON is YAML). */
  config: Record<string, unknown>;
  env?: Record<string, string>;
  /** The api's port, or the worker listener's (WORKER_PORT) for a worker; default a free one. */
  port?: number;
  /**
   * Leads its own process group, as a shell's foreground job does, so that a signal can go to
   * the group as a terminal's Ctrl-C does (`process.kill(-pid, …)`).
   */
  group?: boolean;
}

export async function startService(opts: StartOptions): Promise<ServiceProcess> {
  const dir = join(tmpdir(), `refgraph-fault-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'refgraph.yaml');
  writeFileSync(configPath, JSON.stringify(opts.config));
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [MAIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.group === true,
    env: {
      PATH: process.env.PATH ?? '',
      ...opts.env,
      ...(opts.databaseUrl !== undefined && { DATABASE_URL: opts.databaseUrl }),
      REFGRAPH_CONFIG: configPath,
      REFGRAPH_ROLE: opts.role,
      ...(opts.role === 'worker' ? { PORT: '0', WORKER_PORT: String(port) } : { PORT: String(port) }),
      LOG_LEVEL: 'info',
    },
  });
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let done = false;
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      rmSync(dir, { recursive: true, force: true });
      resolve(signal ?? `exit ${code}`);
    }),
  );
  const proc: ServiceProcess = {
    role: opts.role,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => tail,
    exited,
    hasExited: () => done,
    async kill(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        running.delete(proc);
      }
    },
  };
  running.add(proc);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (done) throw new Error(`refgraph ${opts.role} exited during start-up:\n${tail}`);
    if (Date.now() > deadline) {
      await proc.kill('SIGKILL');
      throw new Error(`refgraph ${opts.role} did not start within 60 s:\n${tail}`);
    }
    if (/"msg":"refgraph started\b/.test(tail)) {
      const ok = await fetch(`${proc.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return proc;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A Postgres cluster of the test file's own (a fault may hit every backend of it), kept on one port. */
export interface OwnPostgres {
  readonly url: string;
  /** Stops the server (fast shutdown); the data directory stays. */
  stop(): Promise<void>;
  /**
   * Crashes it: an immediate shutdown (SIGQUIT to the postmaster), which neither flushes WAL
   * buffers nor checkpoints, so the next start recovers from the WAL on disk as after a power cut.
   */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it if it runs and removes its directory (afterAll). */
  destroy(): Promise<void>;
}

export async function startOwnPostgres(name: string): Promise<OwnPostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), `refgraph-${name}-`));
  const port = await freePort();
  let server: EmbeddedDatabase | undefined = await startEmbeddedPostgres(dataDir, { port });
  const url = server.url;
  return {
    url,
    async stop() {
      const s = server;
      server = undefined;
      await s?.stop();
    },
    async crash() {
      if (!server) return;
      server = undefined;
      const pidFile = join(dataDir, 'postmaster.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n', 1)[0]);
      process.kill(pid, 'SIGQUIT');
      // The postmaster removes its pid file as it exits; until then the directory is in use.
      const deadline = Date.now() + 30_000;
      while (existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (existsSync(pidFile)) throw new Error(`Postgres (pid ${pid}) did not exit after SIGQUIT`);
    },
    async start() {
      server ??= await startEmbeddedPostgres(dataDir, { port });
    },
    async destroy() {
      await server?.stop().catch(() => undefined);
      server = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A refgraph process with every role, taking Distribution notifications for registry "local". */
export interface WebhookService {
  service: ServiceProcess;
  /** Posts one notification body; the status, or 0 when no answer came at all. */
  post(body: string): Promise<number>;
  /** /readyz's status and body; status 0 when no answer came. */
  readyz(): Promise<{ status: number; body: Record<string, unknown> }>;
}

export async function startWebhookService(opts: {
  databaseUrl: string;
  registryUrl: string;
  token: string;
  concurrency: number;
  /** More of the registry's settings (timeouts, fetch concurrency) when a suite needs them. */
  registry?: Record<string, unknown>;
}): Promise<WebhookService> {
  const service = await startService({
    role: 'all',
    databaseUrl: opts.databaseUrl,
    env: { HOOK_TOKEN: opts.token },
    config: {
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: opts.registryUrl,
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK_TOKEN' } },
          ...opts.registry,
        },
      ],
      worker: { concurrency: opts.concurrency, pollIntervalMs: 200 },
      server: { host: '127.0.0.1', rateLimitPerMinute: 0 },
    },
  });
  return {
    service,
    async post(body) {
      try {
        const res = await fetch(`${service.url}/webhooks/local`, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.token}`, 'content-type': NOTIFICATION_TYPE },
          body,
        });
        await res.arrayBuffer();
        return res.status;
      } catch {
        return 0; // no answer at all (the suites assert the process is still running)
      }
    },
    readyz: () =>
      fetch(`${service.url}/readyz`).then(
        async (r) => ({
          status: r.status,
          body: (await r.json().catch(() => ({}))) as Record<string, unknown>,
        }),
        () => ({ status: 0, body: {} }),
      ),
  };
}

/** Kills every process this file started that is still running (afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}

/** One-shot SQL against a test database. */
export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

export interface EventCounts {
  total: number;
  pending: number;
  done: number;
  skipped: number;
  failed: number;
  /** Sum of attempts over all events: equals `total` when every event ran exactly once to completion. */
  attempts: number;
  jobs: number;
}

/**
 * The event counts once nothing is pending and no ingest job is left, or once nothing has moved
 * for `stallMs` (a stall, which the caller's assertions then report). Bounded by progress, not by
 * a clock: a slow machine takes longer, it does not fail.
 */
export async function settledCounts(url: string, stallMs = 30_000): Promise<EventCounts> {
  let counts = await eventCounts(url);
  let movedAt = Date.now();
  while ((counts.pending > 0 || counts.jobs > 0) && Date.now() - movedAt < stallMs) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await eventCounts(url);
    if (now.pending !== counts.pending || now.jobs !== counts.jobs) movedAt = Date.now();
    counts = now;
  }
  return counts;
}

export async function eventCounts(url: string): Promise<EventCounts> {
  const [r] = await sql<Record<string, string>>(
    url,
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE status = 'pending') AS pending,
            count(*) FILTER (WHERE status = 'done') AS done,
            count(*) FILTER (WHERE status = 'skipped') AS skipped,
            count(*) FILTER (WHERE status = 'failed') AS failed,
            coalesce(sum(attempts), 0) AS attempts,
            (SELECT count(*) FROM graphile_worker.jobs WHERE task_identifier = 'ingest_event') AS jobs
     FROM webhook_event`,
  );
  const n = (k: string) => Number(r![k]);
  return {
    total: n('total'),
    pending: n('pending'),
    done: n('done'),
    skipped: n('skipped'),
    failed: n('failed'),
    attempts: n('attempts'),
    jobs: n('jobs'),
  };
}

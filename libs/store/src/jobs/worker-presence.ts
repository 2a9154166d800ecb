// Liveness of worker pools and the sweep that hands back the jobs of dead ones (graphile-worker internals).
import type pg from 'pg';

/** Advisory lock class of "graphile worker <id> is alive" locks (the other key is hashtext(id)). */
const PRESENCE_LOCK_CLASS = 0x52_46_57; // "RFW"
/** stop() waits at most this long for the presence connection to close. */
const STOP_CLOSE_MS = 2_000;

export interface WorkerPresenceOptions {
  /** A job locked for less than this is never reclaimed: covers a new worker not yet holding its lock. */
  graceSeconds?: number;
  sweepIntervalMs?: number;
  onError?: (err: unknown) => void;
  /** Told each time the presence connection is won (its locks taken) or lost. */
  onHeld?: (held: boolean) => void;
}

/**
 * Advisory locks are per database but pg_locks shows the whole cluster, so the sweep only counts
 * locks taken in its own database (two deployments may share one server).
 *
 * graphile-worker frees the jobs of a worker that vanished without a graceful shutdown (SIGKILL,
 * OOM kill, lost host) only after 4 hours, so its events would stay pending that long. Each worker
 * process therefore holds, on one dedicated connection, a session advisory lock per graphile worker
 * id it runs; Postgres drops them the moment that connection goes away. Every worker process
 * periodically unlocks the jobs of workers whose lock nobody holds. A job may then run twice (once
 * cut short by the crash), which idempotent processing absorbs.
 */
export class WorkerPresence {
  private readonly ids = new Set<string>();
  private client?: pg.PoolClient;
  private connecting?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Unlocks in flight: stop() lets them finish before it destroys their connection. */
  private readonly unlocking = new Set<Promise<void>>();
  private readonly grace: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: WorkerPresenceOptions = {},
  ) {
    this.grace = opts.graceSeconds ?? 20;
  }

  /** Starts holding locks and sweeping; the promise settles when the first sweep is over. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), this.opts.sweepIntervalMs ?? 5000);
    this.timer.unref();
    return this.tick();
  }

  /** Announces a worker pool of this process (graphile-worker's `pool:create`); jobs are locked in its id. */
  add(workerId: string): void {
    this.ids.add(workerId);
    if (this.client) void this.lock(this.client, [workerId]).catch((err: unknown) => this.lost(err));
  }

  /** A pool of this process that has ended: its jobs, if it left any locked, become reclaimable. */
  async remove(workerId: string): Promise<void> {
    if (!this.ids.delete(workerId) || !this.client) return;
    const done = this.client
      .query('SELECT pg_advisory_unlock($1::int4, hashtext($2))', [PRESENCE_LOCK_CLASS, workerId])
      .then(
        () => undefined,
        (err: unknown) => this.lost(err),
      );
    this.unlocking.add(done);
    await done.finally(() => this.unlocking.delete(done));
  }

  /** Unlocks the jobs of dead workers; returns how many worker ids were reclaimed. */
  async reclaim(): Promise<number> {
    const { rows } = await this.pool.query<{ ids: string[] | null }>(
      `SELECT array_agg(DISTINCT j.locked_by) AS ids
       FROM graphile_worker._private_jobs j
       WHERE j.locked_by IS NOT NULL AND j.locked_at < now() - make_interval(secs => $2)
         AND NOT EXISTS (
           SELECT 1 FROM pg_locks l
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid = $1::int4::oid AND l.objid = hashtext(j.locked_by)::oid)`,
      [PRESENCE_LOCK_CLASS, this.grace],
    );
    const dead = rows[0]?.ids ?? [];
    if (dead.length > 0)
      await this.pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [dead]);
    return dead.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.connecting?.catch(() => undefined);
    await Promise.all(this.unlocking);
    // Destroying the connection drops its advisory locks. Waiting for it to close keeps shutdown
    // ordered: a database stopped next would otherwise terminate it mid-close, as an error.
    const client = this.client;
    this.client = undefined;
    this.opts.onHeld?.(false);
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((resolve) => {
      client.once('end', resolve);
      timer = setTimeout(resolve, STOP_CLOSE_MS);
    });
    client.release(true);
    await closed.finally(() => clearTimeout(timer));
  }

  private async tick(): Promise<void> {
    try {
      if (!this.client) await this.connect();
      await this.reclaim();
    } catch (err) {
      // Database away: the next tick tries again.
      this.opts.onError?.(err);
    }
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const client = await this.pool.connect();
      client.on('error', (err) => this.lost(err));
      if (this.stopped) return client.release(true);
      // Set first: a worker announced from now on locks itself, one announced before is in the list.
      this.client = client;
      await this.lock(client, [...this.ids]).catch((err: unknown) => {
        this.lost(err);
        throw err;
      });
      if (this.client === client) this.opts.onHeld?.(true);
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async lock(client: pg.PoolClient, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await client.query('SELECT pg_try_advisory_lock($1::int4, hashtext(id)) FROM unnest($2::text[]) AS id', [
      PRESENCE_LOCK_CLASS,
      ids,
    ]);
  }

  private lost(err: unknown): void {
    const client = this.client;
    this.client = undefined;
    client?.release(err instanceof Error ? err : true);
    if (client) this.opts.onHeld?.(false);
    this.opts.onError?.(err);
  }
}

/**
 * How many jobs any worker could take right now (up to `cap`): available, due, and not held back
 * by a locked named queue. The queue supervisor compares it with the jobs its pool picks up.
 */
export async function countRunnableJobs(pool: pg.Pool, cap = 1000): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM graphile_worker._private_jobs j
       WHERE j.is_available AND j.run_at <= now()
         AND (j.job_queue_id IS NULL OR EXISTS (
           SELECT 1 FROM graphile_worker._private_job_queues q WHERE q.id = j.job_queue_id AND q.is_available))
       LIMIT $1) s`,
    [cap],
  );
  return rows[0]!.n;
}

import type pg from 'pg';
import type { Database } from './database.js';
import { addSyncJob } from './jobs/jobs.js';

/** First key of the two-key advisory lock that admits one sync run per registry at a time. */
const SYNC_LOCK_NAMESPACE = 72_461_130;

export type SyncStatus = 'running' | 'done' | 'interrupted' | 'failed';

export interface SyncStateRow {
  registryId: number;
  runId: string;
  jobId: string | null;
  status: SyncStatus;
  reconcile: boolean;
  /** Sorted repository names, or null for the whole catalog. */
  scope: string[] | null;
  resumeAfter: string | null;
  resumed: boolean;
  summary: Record<string, unknown>;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface BeginRun {
  runId: string;
  jobId: string | null;
  reconcile: boolean;
  scope: string[] | null;
  resumeAfter: string | null;
  resumed: boolean;
}

/** Held for the whole run on its own connection; released explicitly or when the process dies. */
export interface SyncLock {
  release(): Promise<void>;
}

export interface SyncJobPayload {
  registry: string;
  reconcile: boolean;
  repositories?: string[];
  periodic?: boolean;
}

export interface QueueSyncOptions {
  /** Jobs of one queue run one after another. */
  queue: string;
  runAt?: Date;
  /** With a key, a job not yet started is updated instead of duplicated. */
  jobKey?: string;
  maxAttempts?: number;
}

/** Sync bookkeeping: run state, the per-registry run lock, the DB's view of a repository, queueing. */
export class SyncRepository {
  constructor(private readonly db: Database) {}

  /** Null when another run of the registry holds the lock (in this process or any other). */
  async tryLock(registryId: number): Promise<SyncLock | null> {
    const client = await this.db.pool.connect();
    let locked = false;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        SYNC_LOCK_NAMESPACE,
        registryId,
      ]);
      locked = rows[0]?.ok === true;
    } finally {
      if (!locked) client.release();
    }
    if (!locked) return null;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await client.query('SELECT pg_advisory_unlock($1, $2)', [SYNC_LOCK_NAMESPACE, registryId]);
          client.release();
        } catch (err) {
          // A broken connection drops its session locks with it; never return it to the pool.
          client.release(err as Error);
        }
      },
    };
  }

  async findState(registryId: number): Promise<SyncStateRow | null> {
    const { rows } = await this.db.pool.query(`SELECT * FROM sync_state WHERE registry_id = $1`, [
      registryId,
    ]);
    const r = rows[0] as Record<string, unknown> | undefined;
    return r ? toState(r) : null;
  }

  async beginRun(registryId: number, run: BeginRun): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO sync_state (registry_id, run_id, job_id, status, reconcile, scope, resume_after, resumed, summary,
                               error, started_at, updated_at, finished_at)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, '{}', NULL, now(), now(), NULL)
       ON CONFLICT (registry_id) DO UPDATE SET
         run_id = EXCLUDED.run_id, job_id = EXCLUDED.job_id, status = 'running', reconcile = EXCLUDED.reconcile,
         scope = EXCLUDED.scope, resume_after = EXCLUDED.resume_after, resumed = EXCLUDED.resumed, summary = '{}',
         error = NULL, started_at = now(), updated_at = now(), finished_at = NULL`,
      [
        registryId,
        run.runId,
        run.jobId,
        run.reconcile,
        run.scope === null ? null : JSON.stringify(run.scope),
        run.resumeAfter,
        run.resumed,
      ],
    );
  }

  /** Only the run that owns the row writes it: a stale writer from a lost run changes nothing. */
  async saveProgress(
    registryId: number,
    runId: string,
    resumeAfter: string | null,
    summary: object,
  ): Promise<void> {
    await this.db.pool.query(
      `UPDATE sync_state SET resume_after = $3, summary = $4, updated_at = now()
       WHERE registry_id = $1 AND run_id = $2`,
      [registryId, runId, resumeAfter, JSON.stringify(summary)],
    );
  }

  async finishRun(
    registryId: number,
    runId: string,
    status: Exclude<SyncStatus, 'running'>,
    summary: object,
    error?: string,
  ): Promise<void> {
    await this.db.pool.query(
      `UPDATE sync_state SET status = $3, summary = $4, error = $5, updated_at = now(), finished_at = now()
       WHERE registry_id = $1 AND run_id = $2`,
      [registryId, runId, status, JSON.stringify(summary), error ?? null],
    );
  }

  /** Repositories of the registry in which the graph holds anything present or tagged. */
  async repositoriesWithContent(registryId: number): Promise<string[]> {
    const { rows } = await this.db.pool.query<{ name: string }>(
      `SELECT r.name FROM repository r
       WHERE r.registry_id = $1
         AND (EXISTS (SELECT 1 FROM artifact_location l WHERE l.repository_id = r.id AND l.present)
              OR EXISTS (SELECT 1 FROM tag t WHERE t.repository_id = r.id AND t.digest IS NOT NULL))
       ORDER BY r.name`,
      [registryId],
    );
    return rows.map((r) => r.name);
  }

  /** Digests the graph holds as present in a repository. */
  async presentDigests(registryId: number, repository: string): Promise<string[]> {
    return column(
      this.db.pool,
      `SELECT l.digest AS v FROM artifact_location l JOIN repository r ON r.id = l.repository_id
       WHERE r.registry_id = $1 AND r.name = $2 AND l.present ORDER BY 1`,
      [registryId, repository],
    );
  }

  /** Tags the graph holds as pointing somewhere (not tombstones). */
  async liveTags(registryId: number, repository: string): Promise<string[]> {
    return column(
      this.db.pool,
      `SELECT t.name AS v FROM tag t JOIN repository r ON r.id = t.repository_id
       WHERE r.registry_id = $1 AND r.name = $2 AND t.digest IS NOT NULL ORDER BY 1`,
      [registryId, repository],
    );
  }

  /** Queues a sync job; returns its id. */
  async queueSync(payload: SyncJobPayload, opts: QueueSyncOptions): Promise<string> {
    return addSyncJob(this.db.pool, { payload, ...opts });
  }
}

async function column(pool: pg.Pool, sql: string, values: unknown[]): Promise<string[]> {
  const { rows } = await pool.query<{ v: string }>(sql, values);
  return rows.map((r) => r.v);
}

function toState(r: Record<string, unknown>): SyncStateRow {
  return {
    registryId: r.registry_id as number,
    runId: r.run_id as string,
    jobId: (r.job_id as string | null) ?? null,
    status: r.status as SyncStatus,
    reconcile: r.reconcile as boolean,
    scope: (r.scope as string[] | null) ?? null,
    resumeAfter: (r.resume_after as string | null) ?? null,
    resumed: r.resumed as boolean,
    summary: (r.summary as Record<string, unknown>) ?? {},
    error: (r.error as string | null) ?? null,
    startedAt: r.started_at as Date,
    updatedAt: r.updated_at as Date,
    finishedAt: (r.finished_at as Date | null) ?? null,
  };
}

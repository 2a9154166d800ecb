// Every job refgraph puts in graphile-worker's queue: task names, and each add_job(s) call.
import type pg from 'pg';

export const INGEST_TASK = 'ingest_event';
export const SYNC_TASK = 'registry_sync';
export const VERIFY_TASK = 'verify_artifact';

/**
 * graphile-worker runs numerically smaller priorities first (ingest jobs have 0): verification
 * waits while events are queued, so it never holds back the graph, and catches up once they are not.
 */
export const VERIFY_PRIORITY = 10;

/**
 * An event's ingest job as a `graphile_worker.job_spec`, for statements that store events and
 * queue their jobs at once (`addJobsSql`). Arguments are SQL expressions (parameters, columns).
 */
export function ingestJobSpecSql(eventId: string, maxAttempts: string): string {
  return `json_populate_record(NULL::graphile_worker.job_spec, json_build_object(
            'identifier', '${INGEST_TASK}'::text, 'payload', json_build_object('eventId', ${eventId}),
            'max_attempts', ${maxAttempts}::int))`;
}

/** A fresh ingest job for one event (replay). */
export async function addIngestJob(c: pg.ClientBase, eventId: number, maxAttempts: number): Promise<void> {
  await c.query(
    `SELECT graphile_worker.add_job($1, json_build_object('eventId', $2::bigint), max_attempts := $3)`,
    [INGEST_TASK, eventId, maxAttempts],
  );
}

export interface SyncJobSpec {
  payload: unknown;
  /** Jobs of one queue run one after another. */
  queue: string;
  runAt?: Date;
  /** With a key, a job not yet started is updated instead of duplicated. */
  jobKey?: string;
  maxAttempts?: number;
}

/** Queues a sync job; returns its id. */
export async function addSyncJob(pool: pg.Pool, spec: SyncJobSpec): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id::text AS id FROM graphile_worker.add_job($1, $2::json, queue_name := $3, run_at := $4,
       max_attempts := $5, job_key := $6, job_key_mode := 'preserve_run_at')`,
    [
      SYNC_TASK,
      JSON.stringify(spec.payload),
      spec.queue,
      spec.runAt ?? null,
      spec.maxAttempts ?? 5,
      spec.jobKey ?? null,
    ],
  );
  return rows[0]!.id;
}

/**
 * SQL expression adding the verification job of `digest` (one job per digest: its key), for
 * statements that queue them for many rows at once. Arguments are SQL expressions (parameters).
 */
export function addVerifyJobSql(task: string, digest: string, priority: string): string {
  return `graphile_worker.add_job(${task}, json_build_object('digest', ${digest}), job_key := ${task} || ':' || ${digest},
                                 priority := ${priority})`;
}

/** The same job as a `graphile_worker.job_spec`, for `graphile_worker.add_jobs(specs)`. */
export function verifyJobSpecSql(task: string, digest: string, priority: string): string {
  return `ROW(${task}::text, json_build_object('digest', ${digest}), NULL, NULL, NULL,
              ${task}::text || ':' || ${digest}, ${priority}::smallint, NULL)::graphile_worker.job_spec`;
}

/** SQL expression adding every job of a `graphile_worker.job_spec[]` with one statement and notification. */
export function addJobsSql(specs: string): string {
  return `graphile_worker.add_jobs(${specs})`;
}

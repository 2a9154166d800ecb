import type { Database } from './database.js';

export interface InboxEvent {
  action: 'push' | 'delete';
  repository: string;
  digest?: string;
  tag?: string;
  mediaType?: string;
  occurredAt?: Date;
  senderEventId?: string;
}

export interface StoredEvent {
  id: number;
  registryId: number;
  action: 'push' | 'delete';
  repository: string;
  digest: string | null;
  tag: string | null;
  mediaType: string | null;
  eventAt: Date;
  status: EventStatus;
  attempts: number;
  lastError: string | null;
}

export type EventStatus = 'pending' | 'done' | 'skipped' | 'failed';

export const INGEST_TASK = 'ingest_event';

/**
 * The durable inbox. Events and their jobs are written in one transaction, so a webhook is
 * acknowledged only once both are stored, and a stored event always has a job.
 */
export class InboxRepository {
  constructor(
    private readonly db: Database,
    private readonly maxAttempts: number,
  ) {}

  /** Returns how many events were new; exact duplicates (same sender event id) are dropped. */
  async record(
    registryId: number,
    events: InboxEvent[],
    receivedAt = new Date(),
  ): Promise<{ stored: number }> {
    if (events.length === 0) return { stored: 0 };
    const result = await this.db.transaction(async (c) => {
      const { rows } = await c.query<{ id: number }>(
        `INSERT INTO webhook_event (registry_id, sender_event_id, action, repository, digest, tag, media_type, event_at, received_at)
         SELECT $1, s, a, r, d, t, m, COALESCE(e, $9), $9
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
           AS ev(s, a, r, d, t, m, e)
         ON CONFLICT (registry_id, sender_event_id) DO NOTHING
         RETURNING id`,
        [
          registryId,
          events.map((e) => e.senderEventId ?? null),
          events.map((e) => e.action),
          events.map((e) => e.repository),
          events.map((e) => e.digest ?? null),
          events.map((e) => e.tag ?? null),
          events.map((e) => e.mediaType ?? null),
          events.map((e) => e.occurredAt ?? null),
          receivedAt,
        ],
      );
      if (rows.length > 0) {
        await c.query(
          `SELECT graphile_worker.add_job($1, json_build_object('eventId', id), max_attempts := $3)
           FROM unnest($2::bigint[]) AS id`,
          [INGEST_TASK, rows.map((r) => r.id), this.maxAttempts],
        );
      }
      return { stored: rows.length };
    });
    await this.touchRegistry(registryId, receivedAt);
    return result;
  }

  private readonly touched = new Map<number, number>();

  /**
   * Records the registry's last event time, at most once a second per registry and outside the
   * events' transaction: one hot row updated by every delivery would serialise all commits.
   */
  private async touchRegistry(registryId: number, at: Date): Promise<void> {
    const last = this.touched.get(registryId) ?? 0;
    if (at.getTime() - last < 1000) return;
    this.touched.set(registryId, at.getTime());
    await this.db.pool
      .query('UPDATE registry SET last_event_at = GREATEST(last_event_at, $2) WHERE id = $1', [
        registryId,
        at,
      ])
      .catch(() => undefined);
  }

  async find(id: number): Promise<StoredEvent | null> {
    const { rows } = await this.db.pool.query(
      `SELECT id, registry_id, action, repository, digest, tag, media_type, event_at, status, attempts, last_error
       FROM webhook_event WHERE id = $1`,
      [id],
    );
    const r = rows[0] as Record<string, unknown> | undefined;
    return r ? toStored(r) : null;
  }

  async finish(
    id: number,
    status: Exclude<EventStatus, 'pending'>,
    attempts: number,
    error?: string,
  ): Promise<void> {
    await this.db.pool.query(
      `UPDATE webhook_event SET status = $2, attempts = $3, last_error = $4, processed_at = now() WHERE id = $1`,
      [id, status, attempts, error ?? null],
    );
  }

  async recordAttempt(id: number, attempts: number, error: string): Promise<void> {
    await this.db.pool.query('UPDATE webhook_event SET attempts = $2, last_error = $3 WHERE id = $1', [
      id,
      attempts,
      error,
    ]);
  }

  async list(status: EventStatus | undefined, limit: number, beforeId?: number): Promise<StoredEvent[]> {
    const { rows } = await this.db.pool.query(
      `SELECT id, registry_id, action, repository, digest, tag, media_type, event_at, status, attempts, last_error
       FROM webhook_event
       WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR id < $2)
       ORDER BY id DESC LIMIT $3`,
      [status ?? null, beforeId ?? null, limit],
    );
    return rows.map((r) => toStored(r as Record<string, unknown>));
  }

  /** Puts a failed or skipped event back in the queue with a fresh job; false when there is none. */
  async replay(id: number): Promise<boolean> {
    return this.db.transaction(async (c) => {
      const res = await c.query(
        `UPDATE webhook_event SET status = 'pending', attempts = 0, last_error = NULL, processed_at = NULL
         WHERE id = $1 AND status IN ('failed', 'skipped') RETURNING id`,
        [id],
      );
      if (!res.rowCount) return false;
      await c.query(
        `SELECT graphile_worker.add_job($1, json_build_object('eventId', $2::bigint), max_attempts := $3)`,
        [INGEST_TASK, id, this.maxAttempts],
      );
      return true;
    });
  }

  /** Pending event count and the age of the oldest, for readiness of the queue and metrics. */
  async backlog(): Promise<{ pending: number; oldestAgeSeconds: number; failed: number }> {
    const { rows } = await this.db.pool.query<{ pending: number; oldest: number | null; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
              extract(epoch FROM now() - min(received_at) FILTER (WHERE status = 'pending'))::float8 AS oldest,
              count(*) FILTER (WHERE status = 'failed') AS failed
       FROM webhook_event WHERE status IN ('pending', 'failed')`,
    );
    const r = rows[0]!;
    return { pending: r.pending, oldestAgeSeconds: r.oldest ?? 0, failed: r.failed };
  }
}

function toStored(r: Record<string, unknown>): StoredEvent {
  return {
    id: r.id as number,
    registryId: r.registry_id as number,
    action: r.action as 'push' | 'delete',
    repository: r.repository as string,
    digest: (r.digest as string | null) ?? null,
    tag: (r.tag as string | null) ?? null,
    mediaType: (r.media_type as string | null) ?? null,
    eventAt: r.event_at as Date,
    status: r.status as EventStatus,
    attempts: r.attempts as number,
    lastError: (r.last_error as string | null) ?? null,
  };
}

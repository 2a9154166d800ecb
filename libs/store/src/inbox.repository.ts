import type pg from 'pg';
import type { Database } from './database.js';
import type { EventMark, ManifestContent } from './graph-push.js';
import { GroupCommit } from './group-commit.js';
import { addIngestJob, addIngestJobs } from './jobs/jobs.js';

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

/** One webhook delivery's events, as recorded by one call. */
interface Delivery {
  registryId: number;
  events: InboxEvent[];
  receivedAt: Date;
}

/** Deliveries written in one transaction at most. */
const MAX_BATCH = 200;

/**
 * The durable inbox. Events and their jobs are written in one transaction, so a webhook is
 * acknowledged only once both are stored, and a stored event always has a job. Concurrent
 * deliveries share transactions (group commit): one commit, and one fsync, for many deliveries.
 */
export class InboxRepository {
  private readonly commits = new GroupCommit<Delivery, number>(
    (batch) => this.db.transaction((c) => this.insert(c, batch)),
    { maxBatch: MAX_BATCH },
  );

  constructor(
    private readonly db: Database,
    private readonly maxAttempts: number,
  ) {}

  /**
   * Returns how many events were new, once they and their jobs are committed; exact duplicates
   * (same sender event id, stored already or earlier in the same transaction) are dropped.
   */
  async record(
    registryId: number,
    events: InboxEvent[],
    receivedAt = new Date(),
  ): Promise<{ stored: number }> {
    if (events.length === 0) return { stored: 0 };
    const stored = await this.commits.submit({ registryId, events, receivedAt });
    await this.touchRegistry(registryId, receivedAt);
    return { stored };
  }

  /** Inserts the deliveries' new events and a job for each; returns each delivery's new-event count. */
  private async insert(c: pg.PoolClient, deliveries: Delivery[]): Promise<number[]> {
    // A sender event id seen earlier in the batch is dropped here, so the first delivery wins and
    // each row inserted below belongs to exactly one delivery.
    const seen = new Set<string>();
    const rows: { delivery: number; d: Delivery; e: InboxEvent; key: string | null }[] = [];
    deliveries.forEach((d, delivery) => {
      for (const e of d.events) {
        const key = keyOf(d.registryId, e);
        if (key !== null && seen.has(key)) continue;
        if (key !== null) seen.add(key);
        rows.push({ delivery, d, e, key });
      }
    });
    const { rows: inserted } = await c.query<{
      id: number;
      registry_id: number;
      sender_event_id: string | null;
    }>(
      `INSERT INTO webhook_event (registry_id, sender_event_id, action, repository, digest, tag, media_type, event_at, received_at)
       SELECT g, s, a, r, d, t, m, COALESCE(e, rcv), rcv
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::timestamptz[], $9::timestamptz[])
         AS ev(g, s, a, r, d, t, m, e, rcv)
       ON CONFLICT (registry_id, sender_event_id) DO NOTHING
       RETURNING id, registry_id, sender_event_id`,
      [
        rows.map((x) => x.d.registryId),
        rows.map((x) => x.e.senderEventId ?? null),
        rows.map((x) => x.e.action),
        rows.map((x) => x.e.repository),
        rows.map((x) => x.e.digest ?? null),
        rows.map((x) => x.e.tag ?? null),
        rows.map((x) => x.e.mediaType ?? null),
        rows.map((x) => x.e.occurredAt ?? null),
        rows.map((x) => x.d.receivedAt),
      ],
    );
    if (inserted.length > 0) {
      await addIngestJobs(
        c,
        inserted.map((r) => r.id),
        this.maxAttempts,
      );
    }
    // Events without a sender event id never conflict (NULLs are distinct in the unique index).
    const stored = new Set(inserted.map((r) => keyOf(r.registry_id, { senderEventId: r.sender_event_id })));
    const counts = deliveries.map(() => 0);
    for (const r of rows) if (r.key === null || stored.has(r.key)) counts[r.delivery]!++;
    return counts;
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

  /**
   * The event and, when the graph already holds the digest it names, the stored manifest, in one
   * round trip (the worker's first read).
   */
  async findWithManifest(
    id: number,
  ): Promise<{ event: StoredEvent; content: ManifestContent | null } | null> {
    const { rows } = await this.db.pool.query<Record<string, unknown>>({
      name: 'refgraph-find-event',
      text: `SELECT e.id, e.registry_id, e.action, e.repository, e.digest, e.tag, e.media_type, e.event_at,
                    e.status, e.attempts, e.last_error, a.manifest, a.media_type AS manifest_media_type
             FROM webhook_event e LEFT JOIN artifact a ON a.digest = e.digest
             WHERE e.id = $1`,
      values: [id],
    });
    const r = rows[0];
    if (!r) return null;
    const manifest = r.manifest as Buffer | null;
    const mediaType = r.manifest_media_type as string | null;
    return { event: toStored(r), content: manifest && mediaType ? { bytes: manifest, mediaType } : null };
  }

  /**
   * Records the outcome of a still pending event, through `client` when the event's writes went
   * there so that both commit together; false when another run had finished it.
   */
  async finishPending(
    event: EventMark,
    status: Exclude<EventStatus, 'pending'>,
    note?: string,
    client?: pg.ClientBase,
  ): Promise<boolean> {
    const res = await (client ?? this.db.pool).query(
      `UPDATE webhook_event SET status = $2, attempts = $3, last_error = $4, processed_at = now()
       WHERE id = $1 AND status = 'pending'`,
      [event.id, status, event.attempts, note ?? null],
    );
    return (res.rowCount ?? 0) > 0;
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
      await addIngestJob(c, id, this.maxAttempts);
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

/** The event's dedup key, null when the sender gave it no id. */
function keyOf(registryId: number, e: { senderEventId?: string | null }): string | null {
  return e.senderEventId == null ? null : `${registryId}:${e.senderEventId}`;
}

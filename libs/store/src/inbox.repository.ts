import type pg from 'pg';
import type { Database } from './database.js';
import type { EventMark, ManifestContent } from './graph-push.js';
import { GroupCommit } from './group-commit.js';
import { recordDeliveries } from './inbox-accept.js';
import type { InboxRejectedEvent } from './inbox-rejected.js';
import type { Counts, Delivery, InboxEvent } from './inbox-rows.js';
import { addIngestJob } from './jobs/jobs.js';

export type { InboxRejectedEvent } from './inbox-rejected.js';
export {
  clampEventTime,
  contentSha256,
  MAX_EVENT_CLOCK_SKEW_MS,
  type EventContent,
  type InboxEvent,
} from './inbox-rows.js';

export interface RecordOptions {
  receivedAt?: Date;
  /** Events of the same delivery refused one by one: stored as `rejected`, without a job. */
  rejected?: InboxRejectedEvent[];
  /**
   * Hex SHA-256 of the delivery's signed body. A delivery id travels outside the signature, so a
   * captured delivery replayed under a fresh id is caught by its body.
   */
  bodySha256?: string;
}

export interface StoredEvent {
  id: number;
  registryId: number;
  /** `unknown` only on rejected events that named no action. */
  action: 'push' | 'delete' | 'unknown';
  repository: string;
  digest: string | null;
  tag: string | null;
  mediaType: string | null;
  eventAt: Date;
  status: EventStatus;
  attempts: number;
  lastError: string | null;
}

export type EventStatus = 'pending' | 'done' | 'skipped' | 'failed' | 'rejected';

/** Deliveries written in one statement at most. */
const MAX_BATCH = 200;

/** How often a registry's last event time is written, at most. */
const TOUCH_INTERVAL_MS = 1000;

/**
 * The durable inbox. Events and their jobs are written in one statement (inbox-accept.ts), so a
 * webhook is acknowledged only once both are committed, and a stored event always has a job.
 * Concurrent deliveries share statements (group commit): one commit, and one fsync, for many
 * deliveries; a sender delivering one at a time pays one round trip per delivery, and no more.
 */
export class InboxRepository {
  private readonly commits = new GroupCommit<Delivery, Counts>((batch) => this.write(batch), {
    maxBatch: MAX_BATCH,
  });
  /** Per registry, the last event time written (ms). */
  private readonly touched = new Map<number, number>();

  constructor(
    private readonly db: Database,
    private readonly maxAttempts: number,
  ) {}

  /**
   * Returns how many admitted and how many rejected events were new, once they and the admitted
   * events' jobs are committed. Duplicates (same sender event id asking the same thing, or same
   * signed body, stored already or earlier in the same transaction) are dropped; an event under an
   * id used before for something else is stored, and its id listed in `reusedIds`. Event times
   * are clamped (`clampEventTime`).
   */
  async record(registryId: number, events: InboxEvent[], options: RecordOptions = {}): Promise<Counts> {
    const rejected = options.rejected ?? [];
    if (events.length === 0 && rejected.length === 0) return { stored: 0, rejected: 0 };
    const receivedAt = options.receivedAt ?? new Date();
    return this.commits.submit({
      registryId,
      events,
      rejected,
      receivedAt,
      ...(options.bodySha256 !== undefined && { bodySha256: options.bodySha256 }),
    });
  }

  /**
   * One batch's statement. It also records each registry's last event time, at most once a second
   * per registry: one hot row written by every delivery would hold up every commit behind it,
   * while a separate statement would cost the delivery that carries it a second round trip and
   * commit.
   */
  private async write(batch: Delivery[]): Promise<Counts[]> {
    const latest = new Map<number, number>();
    for (const d of batch)
      latest.set(d.registryId, Math.max(latest.get(d.registryId) ?? 0, d.receivedAt.getTime()));
    const touches = [...latest]
      .filter(([id, at]) => at - (this.touched.get(id) ?? 0) >= TOUCH_INTERVAL_MS)
      .map(([registryId, at]) => ({ registryId, at: new Date(at) }));
    const counts = await recordDeliveries(this.db.pool, batch, this.maxAttempts, touches);
    for (const t of touches) this.touched.set(t.registryId, t.at.getTime());
    return counts;
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
    action: r.action as StoredEvent['action'],
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

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

/**
 * An event refused at admission. It is stored (for operators: what was sent and why it was
 * refused) and never processed; its names are as the sender gave them, already made storable.
 */
export interface InboxRejectedEvent {
  /** A short code: invalid_digest, unstorable, ... */
  reason: string;
  message: string;
  action?: 'push' | 'delete';
  repository?: string;
  digest?: string;
  tag?: string;
  occurredAt?: Date;
  senderEventId?: string;
}

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

/**
 * How far ahead of its receipt an event may be dated. Sender clocks order events (last writer
 * wins), so an unbounded one could win every later comparison: one delete dated 9999-12-31 would
 * hide an image for good. Clamped, a sender's clock can reorder events only within this window,
 * and sync and reconcile (which write the time they looked) win once it has passed.
 */
export const MAX_EVENT_CLOCK_SKEW_MS = 60_000;

/** The time an event is ordered by: the sender's, but never later than receipt plus the skew. */
export function clampEventTime(occurredAt: Date | undefined, receivedAt: Date): Date {
  const limit = receivedAt.getTime() + MAX_EVENT_CLOCK_SKEW_MS;
  if (occurredAt === undefined || !Number.isFinite(occurredAt.getTime())) return receivedAt;
  return occurredAt.getTime() > limit ? new Date(limit) : occurredAt;
}

/** One webhook delivery's events, as recorded by one call. */
interface Delivery {
  registryId: number;
  events: InboxEvent[];
  rejected: InboxRejectedEvent[];
  receivedAt: Date;
  bodySha256?: string;
}

/** A row to insert: an admitted event (pending, with a job) or a rejected one (no job). */
interface Row {
  delivery: number;
  registryId: number;
  status: 'pending' | 'rejected';
  action: string;
  repository: string;
  digest: string | null;
  tag: string | null;
  mediaType: string | null;
  eventAt: Date;
  receivedAt: Date;
  senderEventId: string | null;
  bodySha256: string | null;
  lastError: string | null;
}

/** Per delivery, how many admitted and how many rejected events were new. */
interface Counts {
  stored: number;
  rejected: number;
}

/** Deliveries written in one transaction at most. */
const MAX_BATCH = 200;

/**
 * The durable inbox. Events and their jobs are written in one transaction, so a webhook is
 * acknowledged only once both are stored, and a stored event always has a job. Concurrent
 * deliveries share transactions (group commit): one commit, and one fsync, for many deliveries.
 */
export class InboxRepository {
  private readonly commits = new GroupCommit<Delivery, Counts>(
    (batch) => this.db.transaction((c) => this.insert(c, batch)),
    { maxBatch: MAX_BATCH },
  );

  constructor(
    private readonly db: Database,
    private readonly maxAttempts: number,
  ) {}

  /**
   * Returns how many admitted and how many rejected events were new, once they and the admitted
   * events' jobs are committed. Duplicates (same sender event id, or same signed body, stored
   * already or earlier in the same transaction) are dropped. Event times are clamped
   * (`clampEventTime`).
   */
  async record(registryId: number, events: InboxEvent[], options: RecordOptions = {}): Promise<Counts> {
    const rejected = options.rejected ?? [];
    if (events.length === 0 && rejected.length === 0) return { stored: 0, rejected: 0 };
    const receivedAt = options.receivedAt ?? new Date();
    const counts = await this.commits.submit({
      registryId,
      events,
      rejected,
      receivedAt,
      ...(options.bodySha256 !== undefined && { bodySha256: options.bodySha256 }),
    });
    await this.touchRegistry(registryId, receivedAt);
    return counts;
  }

  /** Inserts the deliveries' new events, and a job for each admitted one; returns each delivery's counts. */
  private async insert(c: pg.PoolClient, deliveries: Delivery[]): Promise<Counts[]> {
    // A key seen earlier in the batch drops the row here, so the first delivery wins and each
    // row inserted below belongs to exactly one delivery.
    const seen = new Set<string>();
    const rows: Row[] = [];
    deliveries.forEach((d, delivery) => {
      for (const row of rowsOf(d, delivery)) {
        const keys = keysOf(row);
        if (keys.some((k) => seen.has(k))) continue;
        for (const k of keys) seen.add(k);
        rows.push(row);
      }
    });
    const col = <T>(f: (r: Row) => T): T[] => rows.map(f);
    // Without a conflict target, a row that conflicts on either unique key (sender id, body) is skipped.
    const { rows: inserted } = await c.query<{
      id: number;
      registry_id: number;
      sender_event_id: string | null;
      body_sha256: string | null;
      status: Row['status'];
    }>(
      `INSERT INTO webhook_event (registry_id, sender_event_id, body_sha256, action, repository, digest, tag,
                                  media_type, event_at, received_at, status, last_error)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                            $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[])
       ON CONFLICT DO NOTHING
       RETURNING id, registry_id, sender_event_id, body_sha256, status`,
      [
        col((r) => r.registryId),
        col((r) => r.senderEventId),
        col((r) => r.bodySha256),
        col((r) => r.action),
        col((r) => r.repository),
        col((r) => r.digest),
        col((r) => r.tag),
        col((r) => r.mediaType),
        col((r) => r.eventAt),
        col((r) => r.receivedAt),
        col((r) => r.status),
        col((r) => r.lastError),
      ],
    );
    const pending = inserted.filter((r) => r.status === 'pending');
    if (pending.length > 0) {
      await addIngestJobs(
        c,
        pending.map((r) => r.id),
        this.maxAttempts,
      );
    }
    // Rows without keys never conflict (NULLs are distinct in unique indexes); a keyed row was
    // inserted when a returned row carries its key (keys are unique within `rows`).
    const stored = new Set(
      inserted.flatMap((r) =>
        keysOf({ registryId: r.registry_id, senderEventId: r.sender_event_id, bodySha256: r.body_sha256 }),
      ),
    );
    const counts = deliveries.map((): Counts => ({ stored: 0, rejected: 0 }));
    for (const r of rows) {
      const keys = keysOf(r);
      if (keys.length > 0 && !keys.some((k) => stored.has(k))) continue;
      if (r.status === 'pending') counts[r.delivery]!.stored++;
      else counts[r.delivery]!.rejected++;
    }
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

/** A delivery's rows: admitted events, then rejected ones, each body-keyed by its position. */
function rowsOf(d: Delivery, delivery: number): Row[] {
  const bodyKey = (n: number): string | null =>
    d.bodySha256 === undefined ? null : n === 0 ? d.bodySha256 : `${d.bodySha256}#${n}`;
  const base = { delivery, registryId: d.registryId, receivedAt: d.receivedAt };
  const admitted = d.events.map((e, n): Row => ({
    ...base,
    status: 'pending',
    action: e.action,
    repository: e.repository,
    digest: e.digest ?? null,
    tag: e.tag ?? null,
    mediaType: e.mediaType ?? null,
    eventAt: clampEventTime(e.occurredAt, d.receivedAt),
    senderEventId: e.senderEventId ?? null,
    bodySha256: bodyKey(n),
    lastError: null,
  }));
  const rejected = d.rejected.map((e, n): Row => ({
    ...base,
    status: 'rejected',
    action: e.action ?? 'unknown',
    repository: e.repository ?? '',
    digest: e.digest ?? null,
    tag: e.tag ?? null,
    mediaType: null,
    eventAt: clampEventTime(e.occurredAt, d.receivedAt),
    senderEventId: e.senderEventId ?? null,
    bodySha256: bodyKey(d.events.length + n),
    lastError: `${e.reason}: ${e.message}`,
  }));
  return [...admitted, ...rejected];
}

/** The row's dedup keys: its sender event id and its signed body, where it has them. */
function keysOf(r: {
  registryId: number;
  senderEventId: string | null;
  bodySha256: string | null;
}): string[] {
  const keys: string[] = [];
  if (r.senderEventId !== null) keys.push(`id:${r.registryId}:${r.senderEventId}`);
  if (r.bodySha256 !== null) keys.push(`body:${r.registryId}:${r.bodySha256}`);
  return keys;
}

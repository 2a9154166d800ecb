// The accept path's one write: a batch of deliveries' events, the admitted events' ingest jobs
// and the registries' last event times, in one statement (one round trip, one commit).
import type pg from 'pg';
import { idOf, keysOf, rowsOf, type Counts, type Delivery, type Row } from './inbox-rows.js';
import { addJobsSql, ingestJobSpecSql } from './jobs/jobs.js';

/** A registry's last event time to record with a batch. */
export interface Touch {
  registryId: number;
  at: Date;
}

/**
 * Inserts the events, skipping any that conflict on either unique key (sender event id with the
 * event's content, signed body), and queues one ingest job per admitted event inserted. Both are
 * one statement, so they commit together: an acknowledged event always has its job, and an event
 * whose insert lost to a duplicate gets none. add_jobs is called once (one NOTIFY) and not at all
 * without jobs.
 *
 * A sender event id counts only together with what the event asks (`contentSha256`): under an id
 * already stored with other content the event is stored as its own, and flagged `reused`. The flag
 * reads the rows committed before the statement (its snapshot never holds the rows it inserts), so
 * reuse within the batch is found before the statement (recordDeliveries); two deliveries
 * committing at the same moment on different connections are both stored, but not flagged.
 *
 * The same statement moves the registries' last event time forward ($15, $16: usually none, at
 * most one per registry a second). A registry row another transaction has locked is skipped, not
 * waited for: the time is bookkeeping, and the events' commit must never queue behind it.
 */
export const RECORD_EVENTS_SQL = `
WITH touched AS (
  UPDATE registry g SET last_event_at = GREATEST(g.last_event_at, t.at)
  FROM unnest($15::int[], $16::timestamptz[]) AS t(id, at)
  WHERE g.id = t.id
    AND g.id IN (SELECT id FROM registry WHERE id = ANY($15::int[]) FOR NO KEY UPDATE SKIP LOCKED)
), inserted AS (
  INSERT INTO webhook_event (registry_id, sender_event_id, body_sha256, content_sha256, action, repository,
                             digest, tag, media_type, event_at, received_at, status, last_error)
  SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[])
  ON CONFLICT DO NOTHING
  RETURNING id, registry_id, sender_event_id, body_sha256, content_sha256, status
), jobs AS MATERIALIZED (
  SELECT ARRAY(SELECT ${ingestJobSpecSql('id', '$14')} FROM inserted WHERE status = 'pending') AS specs
), queued AS (
  SELECT count(*) AS n FROM jobs CROSS JOIN LATERAL ${addJobsSql('jobs.specs')}
  WHERE cardinality(jobs.specs) > 0
)
SELECT i.registry_id, i.sender_event_id, i.body_sha256, i.content_sha256, i.status,
       i.sender_event_id IS NOT NULL AND EXISTS (
         SELECT 1 FROM webhook_event w
         WHERE w.registry_id = i.registry_id AND w.sender_event_id = i.sender_event_id
           AND w.content_sha256 <> i.content_sha256
       ) AS reused,
       (SELECT n FROM queued) AS queued
FROM inserted i`;

/** Writes the deliveries' new events and their jobs (and `touches`); returns each delivery's counts. */
export async function recordDeliveries(
  db: pg.Pool,
  deliveries: Delivery[],
  maxAttempts: number,
  touches: Touch[] = [],
): Promise<Counts[]> {
  // A key seen earlier in the batch drops the row here, so the first delivery wins and each
  // row inserted belongs to exactly one delivery. An id seen earlier with other content does not:
  // the row is kept, and is a reuse within the batch, which the statement cannot see.
  const seen = new Set<string>();
  const contentById = new Map<string, string>();
  const reusedInBatch = new Set<Row>();
  const rows: Row[] = [];
  deliveries.forEach((d, delivery) => {
    for (const row of rowsOf(d, delivery)) {
      const keys = keysOf(row);
      if (keys.some((k) => seen.has(k))) continue;
      for (const k of keys) seen.add(k);
      rows.push(row);
      if (row.senderEventId === null) continue;
      const first = contentById.get(idOf(row));
      if (first === undefined) contentById.set(idOf(row), row.contentSha256);
      else if (first !== row.contentSha256) reusedInBatch.add(row);
    }
  });
  const col = <T>(f: (r: Row) => T): T[] => rows.map(f);
  const { rows: inserted } = await db.query<{
    registry_id: number;
    sender_event_id: string | null;
    body_sha256: string | null;
    content_sha256: string;
    status: Row['status'];
    reused: boolean;
  }>({
    name: 'refgraph-record-events',
    text: RECORD_EVENTS_SQL,
    values: [
      col((r) => r.registryId),
      col((r) => r.senderEventId),
      col((r) => r.bodySha256),
      col((r) => r.contentSha256),
      col((r) => r.action),
      col((r) => r.repository),
      col((r) => r.digest),
      col((r) => r.tag),
      col((r) => r.mediaType),
      col((r) => r.eventAt),
      col((r) => r.receivedAt),
      col((r) => r.status),
      col((r) => r.lastError),
      maxAttempts,
      touches.map((t) => t.registryId),
      touches.map((t) => t.at),
    ],
  });
  // Rows without keys never conflict (NULLs are distinct in unique indexes); a keyed row was
  // inserted when a returned row carries its key (keys are unique within `rows`).
  const stored = new Map<string, boolean>();
  for (const r of inserted) {
    const keys = keysOf({
      registryId: r.registry_id,
      senderEventId: r.sender_event_id,
      bodySha256: r.body_sha256,
      contentSha256: r.content_sha256,
    });
    for (const k of keys) stored.set(k, r.reused);
  }
  const counts = deliveries.map((): Counts => ({ stored: 0, rejected: 0 }));
  for (const r of rows) {
    const keys = keysOf(r);
    const hits = keys.filter((k) => stored.has(k));
    if (keys.length > 0 && hits.length === 0) continue;
    const c = counts[r.delivery]!;
    if (r.status === 'pending') c.stored++;
    else c.rejected++;
    if (r.senderEventId !== null && (reusedInBatch.has(r) || hits.some((k) => stored.get(k))))
      (c.reusedIds ??= []).push(r.senderEventId);
  }
  return counts;
}

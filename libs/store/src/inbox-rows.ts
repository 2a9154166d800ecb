// What one webhook delivery becomes in the inbox: its rows (admitted events, then rejected ones),
// their event times and the keys that make a retried delivery a duplicate.
import { createHash } from 'node:crypto';
import { rejectedRowFields, type InboxRejectedEvent } from './inbox-rejected.js';

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
export interface Delivery {
  registryId: number;
  events: InboxEvent[];
  rejected: InboxRejectedEvent[];
  receivedAt: Date;
  bodySha256?: string;
}

/** A row to insert: an admitted event (pending, with a job) or a rejected one (no job). */
export interface Row {
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
  /** `contentSha256` of the row: with the sender event id, what makes a retry a duplicate. */
  contentSha256: string;
  lastError: string | null;
}

/** Per delivery, how many admitted and how many rejected events were new. */
export interface Counts {
  stored: number;
  rejected: number;
  /**
   * Sender event ids of new events (admitted or rejected) that the registry had already used for
   * an event asking something else: stored as events of their own. Present only when there are any.
   */
  reusedIds?: string[];
}

/** The fields of a row that say what the event asks (`contentSha256`). */
export interface EventContent {
  action: string;
  repository: string;
  digest: string | null;
  tag: string | null;
  mediaType: string | null;
}

/**
 * Hex SHA-256 of what an event asks: its action, repository, digest, tag and media type, each as
 * `<UTF-8 byte length>:<text>,` or `~` when absent, so no two different field lists encode alike
 * (an absent tag is not an empty one, a separator inside a name cannot shift a boundary).
 *
 * Two events under one sender event id are the same request, and the second a redelivery, only
 * when this hash is the same; otherwise both are stored. An id alone is no proof: it is not
 * signed, senders with weak or no auth can be forged by anyone who guesses the next one, buggy
 * senders reuse ids, and ids of different sources share one namespace per registry. So an event
 * that came first under an id must never make a different one under it a duplicate, and the
 * worst an id can do is be deduplicated against an event that asks exactly the same thing.
 *
 * The time is left out. Retries of every sender that has ids repeat the event as it was
 * (Distribution resends the identical envelope, Harbor retries the job holding the payload, Event
 * Grid, EventBridge and Pub/Sub redeliver the stored message, GitHub keeps the delivery), but the
 * stored time is not the sender's: senders without a timestamp (GitHub, Gitea) get the receipt
 * time, which differs on each retry, and every time is clamped to receipt plus the allowed skew.
 * A hash over it would make retries new events, and the migration could not rebuild it for
 * stored rows. What leaving it out costs: a sender reusing one id for a later event asking exactly
 * the same thing (push, delete, push again of one digest) has the repeat dropped, and presence
 * follows the delete until the periodic reconcile; a forger gains nothing it could not get with
 * an id of its own.
 *
 * The media type stays in although ingest fetches the manifest anyway: a field the sender gave
 * differently makes it another event, and the cost of keeping one too many is one more idempotent
 * ingest, while the cost of one too few is a lost event.
 *
 * The migration `20261205000000_event_content` computes the same hash in SQL for stored rows, and
 * a CHECK on `webhook_event` recomputes it for every row written: a hash that disagreed with it
 * would fail the insert rather than quietly dedup on something else. Changing the fields or the
 * encoding here takes a migration that changes both.
 */
export function contentSha256(e: EventContent): string {
  const parts = [e.action, e.repository, e.digest, e.tag, e.mediaType].map((v) =>
    v === null ? '~' : `${Buffer.byteLength(v, 'utf8')}:${v},`,
  );
  return createHash('sha256').update(parts.join(''), 'utf8').digest('hex');
}

/** A delivery's rows: admitted events, then rejected ones, each body-keyed by its position. */
export function rowsOf(d: Delivery, delivery: number): Row[] {
  const bodyKey = (n: number): string | null =>
    d.bodySha256 === undefined ? null : n === 0 ? d.bodySha256 : `${d.bodySha256}#${n}`;
  const base = { delivery, registryId: d.registryId, receivedAt: d.receivedAt };
  const admitted = d.events.map((e, n): Row => {
    const content: EventContent = {
      action: e.action,
      repository: e.repository,
      digest: e.digest ?? null,
      tag: e.tag ?? null,
      mediaType: e.mediaType ?? null,
    };
    return {
      ...base,
      status: 'pending',
      ...content,
      eventAt: clampEventTime(e.occurredAt, d.receivedAt),
      senderEventId: e.senderEventId ?? null,
      bodySha256: bodyKey(n),
      contentSha256: contentSha256(content),
      lastError: null,
    };
  });
  const rejected = d.rejected.map((e, n): Row => {
    const fields = rejectedRowFields(e);
    return {
      ...base,
      status: 'rejected',
      ...fields,
      eventAt: clampEventTime(e.occurredAt, d.receivedAt),
      bodySha256: bodyKey(d.events.length + n),
      contentSha256: contentSha256(fields),
    };
  });
  return [...admitted, ...rejected];
}

/** The row's dedup keys: its sender event id with its content, and its signed body, where it has them. */
export function keysOf(r: {
  registryId: number;
  senderEventId: string | null;
  bodySha256: string | null;
  contentSha256: string;
}): string[] {
  const keys: string[] = [];
  if (r.senderEventId !== null) keys.push(`id:${r.contentSha256}:${idOf(r)}`);
  if (r.bodySha256 !== null) keys.push(`body:${r.registryId}:${r.bodySha256}`);
  return keys;
}

/** The registry and sender event id of a row that has one, whatever it asks. */
export function idOf(r: { registryId: number; senderEventId: string | null }): string {
  return `${r.registryId}:${r.senderEventId}`;
}

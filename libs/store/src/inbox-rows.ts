// What one webhook delivery becomes in the inbox: its rows (admitted events, then rejected ones),
// their event times and the keys that make a retried delivery a duplicate.
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
  lastError: string | null;
}

/** Per delivery, how many admitted and how many rejected events were new. */
export interface Counts {
  stored: number;
  rejected: number;
}

/** A delivery's rows: admitted events, then rejected ones, each body-keyed by its position. */
export function rowsOf(d: Delivery, delivery: number): Row[] {
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
    ...rejectedRowFields(e),
    eventAt: clampEventTime(e.occurredAt, d.receivedAt),
    bodySha256: bodyKey(d.events.length + n),
  }));
  return [...admitted, ...rejected];
}

/** The row's dedup keys: its sender event id and its signed body, where it has them. */
export function keysOf(r: {
  registryId: number;
  senderEventId: string | null;
  bodySha256: string | null;
}): string[] {
  const keys: string[] = [];
  if (r.senderEventId !== null) keys.push(`id:${r.registryId}:${r.senderEventId}`);
  if (r.bodySha256 !== null) keys.push(`body:${r.registryId}:${r.bodySha256}`);
  return keys;
}

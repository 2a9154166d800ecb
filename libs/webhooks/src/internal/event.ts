import { WebhookError, type RegistryEvent, type RejectedEvent, type WebhookResult } from '../types.js';
import { quote } from './body.js';
import { present, type Target } from './reference.js';

/** Longest free-text field stored (sender ids, media types); names have their own grammar caps. */
export const MAX_FIELD_LENGTH = 255;
const MAX_MESSAGE_LENGTH = 500;

/** Postgres text holds neither NUL nor a lone surrogate (which has no UTF-8 encoding). */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this must find.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** Throws an event rejection when `value` could not be stored as it is. */
function requireStorable(path: string, value: string): string {
  if (UNSTORABLE.test(value)) {
    throw new WebhookError(
      'bad_request',
      `${path}: ${quote(sanitise(value))} contains NUL or text that is not UTF-8`,
      'unstorable',
    );
  }
  if (value.length > MAX_FIELD_LENGTH) {
    throw new WebhookError(
      'bad_request',
      `${path}: ${value.length} characters, at most ${MAX_FIELD_LENGTH}`,
      'too_long',
    );
  }
  return value;
}

/** `value` made storable and bounded, for showing what a rejected event said. */
export function sanitise(value: string, max = MAX_FIELD_LENGTH): string {
  const clean = value.replace(UNSTORABLE_ALL, '\ufffd');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * A sender's timestamp as a Date, or undefined. Timestamps only order events, so an unreadable
 * one is dropped rather than failing the delivery; Go's zero time ("0001-01-01T00:00:00Z", which
 * GitHub sends for unset version times) and anything before 1970 count as unset.
 */
export function timestamp(value: string | number | null | undefined): Date | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const ms = typeof value === 'number' ? value * 1000 : Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return new Date(ms);
}

export interface EventParts {
  action: RegistryEvent['action'];
  repository: string;
  target: Target;
  mediaType?: string | null;
  occurredAt?: Date;
  senderEventId?: string | null;
}

/**
 * Builds an event with absent fields left out, so stored and compared events stay minimal. A media
 * type is only a hint and is dropped when it could not be stored; a sender id identifies the event,
 * so one that could not be stored rejects it.
 */
export function makeEvent(parts: EventParts): RegistryEvent {
  const hint = present(parts.mediaType);
  const mediaType =
    hint !== undefined && !UNSTORABLE.test(hint) && hint.length <= MAX_FIELD_LENGTH ? hint : undefined;
  const id = present(parts.senderEventId);
  const senderEventId = id === undefined ? undefined : requireStorable('event id', id);
  return {
    action: parts.action,
    repository: parts.repository,
    ...(parts.target.digest !== undefined && { digest: parts.target.digest }),
    ...(parts.target.tag !== undefined && { tag: parts.target.tag }),
    ...(mediaType !== undefined && { mediaType }),
    ...(parts.occurredAt !== undefined && { occurredAt: parts.occurredAt }),
    ...(senderEventId !== undefined && { senderEventId }),
  };
}

/** What a rejected event is known to name, read from the raw payload before validation. */
export interface Hints {
  action?: unknown;
  repository?: unknown;
  digest?: unknown;
  tag?: unknown;
  occurredAt?: Date;
  senderEventId?: unknown;
}

/** A string field of an unvalidated value, or undefined. */
export function field(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? sanitise(value) : undefined;

function rejection(err: WebhookError, hints: Hints): RejectedEvent {
  const action = hints.action === 'push' || hints.action === 'delete' ? hints.action : undefined;
  const repository = text(hints.repository);
  const digest = text(hints.digest);
  const tag = text(hints.tag);
  const id = hints.senderEventId;
  // A changed id would no longer match the sender's retries; an unusable one is left out.
  const senderEventId = typeof id === 'string' && id !== '' && text(id) === id ? id : undefined;
  return {
    reason: err.reason,
    message: sanitise(err.message, MAX_MESSAGE_LENGTH),
    ...(action !== undefined && { action }),
    ...(repository !== undefined && { repository }),
    ...(digest !== undefined && { digest }),
    ...(tag !== undefined && { tag }),
    ...(hints.occurredAt !== undefined && { occurredAt: hints.occurredAt }),
    ...(senderEventId !== undefined && { senderEventId }),
  };
}

/**
 * Accumulates the outcome of one delivery: each event is added, ignored or rejected on its own,
 * so one bad event never costs the others (senders retry a refused delivery, some forever).
 */
export class Outcome {
  readonly events: RegistryEvent[] = [];
  readonly rejected: RejectedEvent[] = [];
  ignored = 0;

  add(event: RegistryEvent): void {
    this.events.push(event);
  }

  ignore(count = 1): void {
    this.ignored += count;
  }

  /**
   * Parses one event with `parse`. A bad-request WebhookError it throws rejects this event alone
   * (recorded with what `hints` says it named); anything else propagates.
   */
  each(hints: Hints, parse: () => void): void {
    const before = this.events.length;
    try {
      parse();
    } catch (err) {
      if (!(err instanceof WebhookError) || err.code !== 'bad_request') throw err;
      // An event is admitted whole or not at all.
      this.events.length = before;
      this.rejected.push(rejection(err, hints));
    }
  }

  result(): WebhookResult {
    return {
      events: this.events,
      ignored: this.ignored,
      ...(this.rejected.length > 0 && { rejected: this.rejected }),
    };
  }
}

export const ignoredOnly = (count = 1): WebhookResult => ({ events: [], ignored: count });

import type { RegistryEvent, WebhookResult } from '../types.js';
import { present, type Target } from './reference.js';

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

/** Builds an event with absent fields left out, so stored and compared events stay minimal. */
export function makeEvent(parts: EventParts): RegistryEvent {
  const mediaType = present(parts.mediaType);
  const senderEventId = present(parts.senderEventId);
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

/** Accumulates the outcome of one delivery. */
export class Outcome {
  readonly events: RegistryEvent[] = [];
  ignored = 0;

  add(event: RegistryEvent): void {
    this.events.push(event);
  }

  ignore(count = 1): void {
    this.ignored += count;
  }

  result(): WebhookResult {
    return { events: this.events, ignored: this.ignored };
  }
}

export const ignoredOnly = (count = 1): WebhookResult => ({ events: [], ignored: count });

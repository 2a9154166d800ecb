import { z } from 'zod';
import { WebhookError, type WebhookRequest } from '../types.js';
import { header, validate } from './body.js';
import { timestamp } from './event.js';

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_JSON = 'application/cloudevents-batch+json';

/** The context attributes refgraph uses, plus the data. */
export interface CloudEvent {
  id: string;
  type: string;
  source: string;
  time?: Date;
  data: unknown;
}

export const structured = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  type: z.string().min(1),
  source: z.string().min(1),
  time: z.string().nullish(),
  data: z.unknown(),
});

/** Structured content mode: attributes and data in one JSON object. */
export function structuredEvent(value: unknown, at = ''): CloudEvent {
  const ce = validate(structured, value, at);
  const time = timestamp(ce.time);
  return { id: ce.id, type: ce.type, source: ce.source, ...(time && { time }), data: ce.data };
}

/** Batched structured mode: a JSON array of structured events, each still to be read. */
export function batchItems(value: unknown): unknown[] {
  if (!Array.isArray(value))
    throw new WebhookError('bad_request', 'body: a CloudEvents batch must be a JSON array');
  return value as unknown[];
}

/** Binary content mode: attributes in `Ce-*` headers, the body is the data alone. */
export function binaryEvent(req: WebhookRequest, data: unknown): CloudEvent {
  const attr = (name: string): string => {
    const value = header(req, `ce-${name}`);
    if (value === undefined || value === '') {
      throw new WebhookError('bad_request', `missing Ce-${name[0]?.toUpperCase()}${name.slice(1)} header`);
    }
    return value;
  };
  const specversion = attr('specversion');
  if (specversion !== '1.0') throw new WebhookError('bad_request', 'Ce-Specversion must be 1.0');
  const time = timestamp(header(req, 'ce-time'));
  return { id: attr('id'), type: attr('type'), source: attr('source'), ...(time && { time }), data };
}

/**
 * Matches an event type by its suffix: senders let operators configure a type prefix (zot's
 * `typePrefix`), so only the final dotted components are stable.
 */
export function typeEndsWith(type: string, suffix: string): boolean {
  return type === suffix || type.endsWith(`.${suffix}`);
}

import { z } from 'zod';
import type { WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import {
  batchItems,
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  structured,
  structuredEvent,
  typeEndsWith,
  type CloudEvent,
} from '../internal/cloudevents.js';
import { field, makeEvent, Outcome, timestamp } from '../internal/event.js';
import { deleteTarget, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

const str = z.string().nullish();

/** The registry event itself: the whole body of an ACR webhook, `data` of an Event Grid event. */
const acrEvent = z.object({
  id: str,
  timestamp: str,
  action: z.string(),
  target: z.object({ mediaType: str, digest: str, repository: str, tag: str }).nullish(),
});

/** Event Grid's own schema: a JSON array of these. */
const gridEvent = z.object({ eventType: z.string(), data: z.unknown() });

const VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';
const validationData = z.object({ validationCode: z.string().min(1) });

/**
 * Adds one registry event. push and delete are the only actions that change manifests:
 * chart_push/chart_delete concern the legacy Helm repository, quarantine and ping nothing.
 * ACR sends `delete` for manifest and repository deletes, never for a tag delete, so a delete
 * names the digest only; a delete without digest or tag is a repository delete, left to reconcile.
 */
function addRegistryEvent(out: Outcome, value: unknown, at: string): void {
  const hints = {
    action: field(value, 'action'),
    repository: field(value, 'target', 'repository'),
    digest: field(value, 'target', 'digest'),
    tag: field(value, 'target', 'tag'),
    senderEventId: field(value, 'id'),
  };
  out.each(hints, () => addValidEvent(out, value, at));
}

function addValidEvent(out: Outcome, value: unknown, at: string): void {
  const event = validate(acrEvent, value, at);
  const action = event.action === 'push' || event.action === 'delete' ? event.action : undefined;
  if (!action) return out.ignore();
  const t = event.target;
  const field = (name: string): string => (at ? `${at}.target.${name}` : `target.${name}`);
  const target = resolveTarget(
    { path: field('digest'), value: t?.digest },
    { path: field('tag'), value: t?.tag },
  );
  if (action === 'delete' && !target.digest && !target.tag) return out.ignore();
  out.add(
    makeEvent({
      action,
      repository: repositoryName(field('repository'), t?.repository),
      // By-digest pushes come without a tag.
      target: requireTarget(action === 'delete' ? deleteTarget(target, 'digest') : target, at || 'target'),
      mediaType: t?.mediaType,
      occurredAt: timestamp(event.timestamp),
      // The registry's event id, the same whichever channel delivers it.
      senderEventId: event.id,
    }),
  );
}

function isImageEventType(type: string): boolean {
  return typeEndsWith(type, 'ImagePushed') || typeEndsWith(type, 'ImageDeleted');
}

function parseGridEvents(body: unknown[]): WebhookResult {
  const out = new Outcome();
  for (const [i, item] of body.entries()) {
    const event = gridEvent.safeParse(item);
    if (!event.success) {
      out.each({ action: field(item, 'data', 'action') }, () => validate(gridEvent, item, `[${i}]`));
      continue;
    }
    if (event.data.eventType === VALIDATION_EVENT) {
      // The subscription handshake: echo the code. validationUrl is never called.
      const { validationCode } = validate(validationData, event.data.data, `[${i}].data`);
      return { events: [], ignored: 0, reply: { status: 200, body: { validationResponse: validationCode } } };
    }
    if (isImageEventType(event.data.eventType)) addRegistryEvent(out, event.data.data, `[${i}].data`);
    else out.ignore();
  }
  return out.result();
}

function addCloudEvent(out: Outcome, ce: CloudEvent, at: string): void {
  if (isImageEventType(ce.type)) addRegistryEvent(out, ce.data, at);
  else out.ignore();
}

/** A batch is an envelope: each structured event in it is read, and rejected, on its own. */
function parseBatch(body: unknown): WebhookResult {
  const out = new Outcome();
  for (const [i, item] of batchItems(body).entries()) {
    const parsed = structured.safeParse(item);
    if (parsed.success) addCloudEvent(out, structuredEvent(item, `[${i}]`), `[${i}].data`);
    else out.each({ action: field(item, 'data', 'action') }, () => structuredEvent(item, `[${i}]`));
  }
  return out.result();
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json', CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON]);
  const body = readJson(req, mediaType);
  if (mediaType === CLOUDEVENTS_JSON) {
    const out = new Outcome();
    addCloudEvent(out, structuredEvent(body), 'data');
    return out.result();
  }
  if (mediaType === CLOUDEVENTS_BATCH_JSON) return parseBatch(body);
  if (Array.isArray(body)) return parseGridEvents(body);
  // A body without a string action is no ACR event at all; anything else is read as one event.
  validate(z.object({ action: z.string() }), body);
  const out = new Outcome();
  addRegistryEvent(out, body, '');
  return out.result();
}

export const acrAdapter: WebhookAdapter = {
  kind: 'acr',
  // Custom headers (webhook) or delivery properties (Event Grid) are the only credentials.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

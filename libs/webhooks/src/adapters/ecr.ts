import { z } from 'zod';
import type { RegistryEvent, WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import { field, ignoredOnly, makeEvent, Outcome, timestamp } from '../internal/event.js';
import { deleteTarget, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

const str = z.string().nullish();

/** An EventBridge event as an API destination posts it (no input transformer). */
const eventSchema = z.object({
  id: str,
  source: str,
  time: str,
  'detail-type': z.string(),
  detail: z.unknown(),
});

const detailSchema = z.object({
  'action-type': z.string(),
  result: str,
  'repository-name': str,
  'image-digest': str,
  'image-tag': str,
  'manifest-media-type': str,
});

/** Referrer actions use the same detail; only their PUSH/DELETE (if ever sent) change the graph. */
const DETAIL_TYPES = new Set(['ECR Image Action', 'ECR Referrer Action']);
const ACTIONS = new Map<string, RegistryEvent['action']>([
  ['PUSH', 'push'],
  ['DELETE', 'delete'],
]);

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json']);
  const event = validate(eventSchema, readJson(req, mediaType));
  // Scan results, pull-through cache, replication and storage-class changes are ignored.
  if (event.source !== 'aws.ecr' || !DETAIL_TYPES.has(event['detail-type'])) return ignoredOnly();
  const type = field(event.detail, 'action-type');
  // Scan, replication and failed actions are ignored whatever else their detail carries.
  if (typeof type === 'string' && !ACTIONS.has(type)) return ignoredOnly();
  const out = new Outcome();
  const occurredAt = timestamp(event.time);
  const hints = {
    action: typeof type === 'string' ? ACTIONS.get(type) : undefined,
    repository: field(event.detail, 'repository-name'),
    digest: field(event.detail, 'image-digest'),
    tag: field(event.detail, 'image-tag'),
    senderEventId: event.id,
    ...(occurredAt && { occurredAt }),
  };
  out.each(hints, () => imageAction(out, event));
  return out.result();
}

function imageAction(out: Outcome, event: z.output<typeof eventSchema>): void {
  const detail = validate(detailSchema, event.detail, 'detail');
  const action = ACTIONS.get(detail['action-type']);
  if (!action || (detail.result ?? 'SUCCESS') !== 'SUCCESS') return out.ignore();
  // Untagged pushes carry no image-tag.
  const named = requireTarget(
    resolveTarget(
      { path: 'detail.image-digest', value: detail['image-digest'] },
      { path: 'detail.image-tag', value: detail['image-tag'] },
    ),
    'detail',
  );
  // A DELETE with image-tag removes that tag; the image goes only with its last tag, which the
  // event does not say, so it is passed on as an untag and reconcile settles the rest.
  const target = action === 'delete' ? deleteTarget(named, 'tag') : named;
  out.add(
    makeEvent({
      action,
      repository: repositoryName('detail.repository-name', detail['repository-name']),
      target,
      mediaType: detail['manifest-media-type'],
      occurredAt: timestamp(event.time),
      senderEventId: event.id,
    }),
  );
}

export const ecrAdapter: WebhookAdapter = {
  kind: 'ecr',
  // The API destination's connection sends Basic, an API-key header, or an OAuth bearer token.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

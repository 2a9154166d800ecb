import { z } from 'zod';
import {
  WebhookError,
  type RegistryEvent,
  type WebhookAdapter,
  type WebhookRequest,
  type WebhookResult,
} from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import { CLOUDEVENTS_JSON, structuredEvent } from '../internal/cloudevents.js';
import { field, makeEvent, Outcome, timestamp } from '../internal/event.js';
import { present, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

const str = z.string().nullish();

/** Harbor's "default" format; CloudEvents (Harbor >= 2.8) is chosen per policy. */
const defaultFormat = z.object({
  type: z.string(),
  occur_at: z.number().nullish(),
  event_data: z.unknown(),
});

const eventData = z.object({
  resources: z.array(z.object({ digest: str, tag: str })).min(1),
  repository: z.object({ repo_full_name: str, namespace: str, name: str }),
});

const DEFAULT_TYPES = new Map<string, RegistryEvent['action']>([
  ['PUSH_ARTIFACT', 'push'],
  ['DELETE_ARTIFACT', 'delete'],
]);

const CLOUDEVENT_TYPES = new Map<string, RegistryEvent['action']>([
  ['harbor.artifact.pushed', 'push'],
  ['harbor.artifact.deleted', 'delete'],
]);

interface Envelope {
  action: RegistryEvent['action'];
  data: unknown;
  at: string;
  occurredAt?: Date;
  senderEventId?: string;
}

/** One event per resource; each is admitted or rejected on its own. */
function events(envelope: Envelope): WebhookResult {
  const out = new Outcome();
  const first = field(field(envelope.data, 'resources'), '0');
  const hints = {
    action: envelope.action,
    repository: field(envelope.data, 'repository', 'repo_full_name'),
    digest: field(first, 'digest'),
    tag: field(first, 'tag'),
    senderEventId: envelope.senderEventId,
    ...(envelope.occurredAt && { occurredAt: envelope.occurredAt }),
  };
  out.each(hints, () => resources(out, envelope));
  return out.result();
}

function resources(out: Outcome, envelope: Envelope): void {
  const data = validate(eventData, envelope.data, envelope.at);
  const repo = data.repository;
  const fullName =
    present(repo.repo_full_name) ??
    (present(repo.namespace) && present(repo.name) ? `${repo.namespace}/${repo.name}` : undefined);
  const repository = repositoryName(`${envelope.at}.repository.repo_full_name`, fullName);
  for (const [i, resource] of data.resources.entries()) {
    const at = `${envelope.at}.resources[${i}]`;
    // The inbox drops repeated sender ids, so several resources need ids of their own.
    const senderEventId =
      envelope.senderEventId && data.resources.length > 1
        ? `${envelope.senderEventId}#${i}`
        : envelope.senderEventId;
    const hints = { action: envelope.action, repository, ...resource, senderEventId };
    out.each(hints, () => addResource(out, envelope, repository, resource, at, senderEventId));
  }
}

function addResource(
  out: Outcome,
  envelope: Envelope,
  repository: string,
  resource: z.output<typeof eventData>['resources'][number],
  at: string,
  senderEventId: string | undefined,
): void {
  // Untagged pushes carry the digest in `tag`; it fails tag syntax and is dropped there.
  let target = requireTarget(
    resolveTarget(
      { path: `${at}.digest`, value: resource.digest },
      { path: `${at}.tag`, value: resource.tag },
    ),
    at,
  );
  if (envelope.action === 'delete') {
    // DELETE_ARTIFACT removes the artifact with every tag; its `tag` (the first one) is not an
    // untag, so the event is reduced to the digest. Without a digest there is nothing to delete.
    if (!target.digest)
      throw new WebhookError(
        'bad_request',
        `${at}.digest: a deleted artifact needs a valid digest`,
        'invalid_digest',
      );
    target = { digest: target.digest };
  }
  out.add(
    makeEvent({
      action: envelope.action,
      repository,
      target,
      occurredAt: envelope.occurredAt,
      senderEventId,
    }),
  );
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json', CLOUDEVENTS_JSON]);
  const body = readJson(req, mediaType);
  if (mediaType === CLOUDEVENTS_JSON) {
    const ce = structuredEvent(body);
    const action = CLOUDEVENT_TYPES.get(ce.type);
    if (!action) return { events: [], ignored: 1 };
    return events({ action, data: ce.data, at: 'data', occurredAt: ce.time, senderEventId: ce.id });
  }
  const payload = validate(defaultFormat, body);
  const action = DEFAULT_TYPES.get(payload.type);
  // Pulls, scans, quota and replication events have other shapes and never change the graph.
  if (!action) return { events: [], ignored: 1 };
  return events({
    action,
    data: payload.event_data,
    at: 'event_data',
    occurredAt: timestamp(payload.occur_at),
  });
}

export const harborAdapter: WebhookAdapter = {
  kind: 'harbor',
  // The policy's "Auth Header" arrives verbatim as Authorization: `header` auth for a raw value,
  // `bearer` when the configured value is "Bearer <token>". Harbor has no signing.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

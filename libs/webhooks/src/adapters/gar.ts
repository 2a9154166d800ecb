import { z } from 'zod';
import {
  WebhookError,
  type RegistryEvent,
  type WebhookAdapter,
  type WebhookRequest,
  type WebhookResult,
} from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { header, parseJsonText, quote, readJson, requireMediaType, validate } from '../internal/body.js';
import { field, ignoredOnly, makeEvent, Outcome, timestamp } from '../internal/event.js';
import {
  deleteTarget,
  present,
  repositoryName,
  requireTarget,
  resolveTarget,
  splitReference,
} from '../internal/reference.js';

const str = z.string().nullish();

/** Pub/Sub push wrapper; both spellings of the message fields occur in the wild. */
const pushSchema = z.object({
  message: z.object({
    data: z.string(),
    messageId: str,
    message_id: str,
    publishTime: str,
    publish_time: str,
  }),
});

/** Artifact Registry's message: `digest` and `tag` are full references, either may be absent. */
const dataSchema = z.object({ action: z.string(), digest: str, tag: str });

const ACTIONS = new Map<string, RegistryEvent['action']>([
  ['INSERT', 'push'],
  ['DELETE', 'delete'],
]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

interface Message {
  data: unknown;
  at: string;
  id?: string | null;
  publishTime?: string | null;
}

/**
 * The message either wrapped by Pub/Sub push (base64 `message.data`) or, with payload
 * unwrapping enabled, the bare data with its metadata in `x-goog-pubsub-*` headers.
 */
function unwrap(req: WebhookRequest, body: unknown): Message {
  if (typeof body !== 'object' || body === null || !('message' in body)) {
    return {
      data: body,
      at: '',
      id: header(req, 'x-goog-pubsub-message-id'),
      publishTime: header(req, 'x-goog-pubsub-publish-time'),
    };
  }
  const { message } = validate(pushSchema, body);
  if (!BASE64.test(message.data)) throw new WebhookError('bad_request', 'message.data: not base64');
  const text = Buffer.from(message.data, 'base64').toString('utf8');
  return {
    data: parseJsonText(text, 'message.data'),
    at: 'message.data',
    id: message.messageId ?? message.message_id,
    publishTime: message.publishTime ?? message.publish_time,
  };
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json']);
  const message = unwrap(req, readJson(req, mediaType));
  const type = field(message.data, 'action');
  if (typeof type === 'string' && !ACTIONS.has(type)) return ignoredOnly();
  const occurredAt = timestamp(message.publishTime);
  const out = new Outcome();
  const hints = {
    action: typeof type === 'string' ? ACTIONS.get(type) : undefined,
    // Full references, kept as they were sent.
    digest: field(message.data, 'digest'),
    tag: field(message.data, 'tag'),
    senderEventId: message.id,
    ...(occurredAt && { occurredAt }),
  };
  out.each(hints, () => out.add(messageEvent(message)));
  return out.result();
}

function messageEvent(message: Message): RegistryEvent {
  const field = (name: string): string => (message.at ? `${message.at}.${name}` : name);
  const data = validate(dataSchema, message.data, message.at);
  const action = ACTIONS.get(data.action);
  if (!action) throw new WebhookError('bad_request', `${field('action')}: not an image action`);

  const byDigest = present(data.digest) === undefined ? undefined : splitReference(data.digest ?? '');
  const byTag = present(data.tag) === undefined ? undefined : splitReference(data.tag ?? '');
  if (byDigest && byTag && byDigest.repository !== byTag.repository) {
    throw new WebhookError(
      'bad_request',
      `${field('digest')} and ${field('tag')} name different repositories (${quote(byDigest.repository)}, ${quote(byTag.repository)})`,
    );
  }
  const named = requireTarget(
    resolveTarget(
      byDigest && { path: field('digest'), value: byDigest.digest ?? data.digest },
      byTag && { path: field('tag'), value: byTag.tag ?? data.tag },
    ),
    message.at || 'body',
  );
  // Image deletes name the digest, tag deletes the tag.
  const target = action === 'delete' ? deleteTarget(named, 'digest') : named;
  const repository = repositoryName(
    byDigest ? field('digest') : field('tag'),
    (byDigest ?? byTag)?.repository,
  );
  return makeEvent({
    action,
    repository,
    target,
    occurredAt: timestamp(message.publishTime),
    senderEventId: message.id,
  });
}

export const garAdapter: WebhookAdapter = {
  kind: 'gar',
  // Push subscriptions can attach a Google-signed OIDC token; verifying it needs Google's keys
  // and is not done here, so only the static schemes apply.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

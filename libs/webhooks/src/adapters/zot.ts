import { z } from 'zod';
import type { RegistryEvent, WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import {
  binaryEvent,
  CLOUDEVENTS_JSON,
  structuredEvent,
  typeEndsWith,
  type CloudEvent,
} from '../internal/cloudevents.js';
import { field, ignoredOnly, makeEvent, Outcome } from '../internal/event.js';
import {
  deleteTarget,
  present,
  repositoryName,
  requireTarget,
  resolveTarget,
} from '../internal/reference.js';

const str = z.string().nullish();

/**
 * `manifest` (the whole manifest as a string, on image.updated) is deliberately not read:
 * content is always fetched from the configured registry and verified against its digest.
 */
const imageData = z.object({ name: str, reference: str, digest: str, mediaType: str });

function actionOf(type: string): RegistryEvent['action'] | undefined {
  if (typeEndsWith(type, 'image.updated')) return 'push';
  if (typeEndsWith(type, 'image.deleted')) return 'delete';
  return undefined;
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json', CLOUDEVENTS_JSON]);
  const body = readJson(req, mediaType);
  // zot's HTTP sink uses binary mode; structured mode is accepted for relays that convert.
  const structured = mediaType === CLOUDEVENTS_JSON;
  const ce = structured ? structuredEvent(body) : binaryEvent(req, body);
  const action = actionOf(ce.type);
  // lint_failed, scanned, repository.created: nothing in the graph changes.
  if (!action) return ignoredOnly();
  const at = structured ? 'data' : '';
  const out = new Outcome();
  const hints = {
    action,
    repository: field(ce.data, 'name'),
    digest: field(ce.data, 'digest'),
    tag: field(ce.data, 'reference'),
    senderEventId: ce.id,
    ...(ce.time && { occurredAt: ce.time }),
  };
  out.each(hints, () => out.add(imageEvent(action, ce, at)));
  return out.result();
}

function imageEvent(action: RegistryEvent['action'], ce: CloudEvent, at: string): RegistryEvent {
  const field = (name: string): string => (at ? `${at}.${name}` : name);
  const data = validate(imageData, ce.data, at);
  // `reference` is the tag, or the digest for by-digest pushes and deletes. Tags cannot contain
  // ":", digests always do.
  const reference = present(data.reference);
  const referenceIsDigest = reference?.includes(':') ?? false;
  const named = requireTarget(
    resolveTarget(
      referenceIsDigest && !present(data.digest)
        ? { path: field('reference'), value: reference }
        : { path: field('digest'), value: data.digest },
      referenceIsDigest ? undefined : { path: field('reference'), value: reference },
    ),
    at || 'body',
  );
  // image.deleted by tag removes that tag only; the manifest may remain under its digest.
  const target = action === 'delete' ? deleteTarget(named, referenceIsDigest ? 'digest' : 'tag') : named;
  return makeEvent({
    action,
    repository: repositoryName(field('name'), data.name),
    target,
    mediaType: data.mediaType,
    occurredAt: ce.time,
    senderEventId: ce.id,
  });
}

export const zotAdapter: WebhookAdapter = {
  kind: 'zot',
  // zot sends Basic (username/password), Bearer (token) or static headers; it has no signing.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

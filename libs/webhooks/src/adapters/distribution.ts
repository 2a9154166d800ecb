import { z } from 'zod';
import type { WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import { field, makeEvent, Outcome, timestamp } from '../internal/event.js';
import {
  deleteTarget,
  present,
  repositoryName,
  requireTarget,
  resolveTarget,
} from '../internal/reference.js';

/** v1 is Distribution 2.x, v2 is 3.0 and later; plain JSON for relays and hand-configured senders. */
const MEDIA_TYPES = [
  'application/vnd.docker.distribution.events.v1+json',
  'application/vnd.docker.distribution.events.v2+json',
  'application/json',
];

/** Distribution only accepts manifests of these types, so any other target type is a blob. */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

const str = z.string().nullish();

/** The envelope alone: each event in it is read, and admitted or rejected, on its own. */
const envelope = z.object({ events: z.array(z.unknown()) });

const eventSchema = z.object({
  id: str,
  timestamp: str,
  action: z.string(),
  target: z.object({ mediaType: str, digest: str, repository: str, url: str, tag: str }).nullish(),
});

type Target = NonNullable<z.output<typeof eventSchema>['target']>;

/**
 * Manifest or blob. The target's media type decides when present: Distribution's own test
 * fixtures carry manifest URLs on blob events. Without one, the URL path decides (read as a
 * name, never fetched). Deletes carry neither: Distribution cannot tell a blob delete from a
 * manifest delete, so both are passed on and a blob digest simply matches no artifact.
 */
function isManifestTarget(target: Target): boolean {
  const mediaType = present(target.mediaType);
  if (mediaType !== undefined) return MANIFEST_MEDIA_TYPES.has(mediaType.toLowerCase());
  const url = present(target.url);
  if (url !== undefined) {
    let path = url;
    try {
      path = new URL(url).pathname;
    } catch {
      // Not absolute: match the raw text.
    }
    if (/\/blobs\/[^/]+\/?$/.test(path)) return false;
  }
  return true;
}

function addEvent(out: Outcome, event: z.output<typeof eventSchema>, at: string): void {
  const action = event.action === 'push' || event.action === 'delete' ? event.action : undefined;
  if (!action || !event.target || !isManifestTarget(event.target)) return out.ignore();
  const target = resolveTarget(
    { path: `${at}.digest`, value: event.target.digest },
    { path: `${at}.tag`, value: event.target.tag },
  );
  // A delete naming only the repository is a repository delete: reconcile handles it.
  if (action === 'delete' && !target.digest && !target.tag) return out.ignore();
  out.add(
    makeEvent({
      action,
      repository: repositoryName(`${at}.repository`, event.target.repository),
      // Manifest deletes and untags are separate events here, so a delete never names both.
      target: requireTarget(action === 'delete' ? deleteTarget(target, 'digest') : target, at),
      mediaType: event.target.mediaType,
      occurredAt: timestamp(event.timestamp),
      senderEventId: event.id,
    }),
  );
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, MEDIA_TYPES);
  const body = validate(envelope, readJson(req, mediaType));
  const out = new Outcome();
  for (const [i, raw] of body.events.entries()) {
    const hints = {
      action: field(raw, 'action'),
      repository: field(raw, 'target', 'repository'),
      digest: field(raw, 'target', 'digest'),
      tag: field(raw, 'target', 'tag'),
      senderEventId: field(raw, 'id'),
    };
    // pull and mount (and any future action) never change the graph, whatever else they carry.
    if (typeof hints.action === 'string' && hints.action !== 'push' && hints.action !== 'delete') {
      out.ignore();
      continue;
    }
    out.each(hints, () => addEvent(out, validate(eventSchema, raw, `events[${i}]`), `events[${i}].target`));
  }
  return out.result();
}

export const distributionAdapter: WebhookAdapter = {
  kind: 'distribution',
  // No signing exists; static headers from `notifications.endpoints[].headers` are the only auth.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

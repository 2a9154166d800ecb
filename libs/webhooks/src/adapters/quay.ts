import { z } from 'zod';
import type { WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import { ignoredOnly, makeEvent, Outcome } from '../internal/event.js';
import { present, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

const str = z.string().nullish();

/**
 * Quay's notification body carries no event name; `repo_push` is the one with `updated_tags`.
 * Build and vulnerability notifications lack it and are ignored.
 */
const notification = z.object({
  repository: str,
  namespace: str,
  name: str,
  updated_tags: z.array(z.string()).nullish(),
});

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json']);
  const body = validate(notification, readJson(req, mediaType));
  if (!body.updated_tags) return ignoredOnly();
  const tags = body.updated_tags;
  if (tags.length === 0) return ignoredOnly();
  const fullName =
    present(body.repository) ??
    (present(body.namespace) && present(body.name) ? `${body.namespace}/${body.name}` : undefined);
  const out = new Outcome();
  // A bad repository name rejects every tag's event; a bad tag only its own.
  out.each({ action: 'push', repository: fullName, tag: tags[0] }, () => {
    const repository = repositoryName('repository', fullName);
    // No digest or media type: each tag is resolved at the registry. By-digest pushes (referrers,
    // index children) are never notified and are found by reconcile.
    for (const [i, tag] of tags.entries()) {
      out.each({ action: 'push', repository, tag }, () =>
        out.add(
          makeEvent({
            action: 'push',
            repository,
            target: requireTarget(
              resolveTarget(undefined, { path: `updated_tags[${i}]`, value: tag }),
              `updated_tags[${i}]`,
            ),
          }),
        ),
      );
    }
  });
  return out.result();
}

export const quayAdapter: WebhookAdapter = {
  kind: 'quay',
  // Quay sends no credentials of its own; userinfo in the webhook URL becomes Basic auth.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

import { z } from 'zod';
import type { WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import { makeEvent, Outcome, timestamp } from '../internal/event.js';
import { present, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

const str = z.string().nullish();

/** `callback_url` is a legacy field and is never called. */
const payload = z.object({
  push_data: z.object({ tag: str, pushed_at: z.number().nullish() }),
  repository: z.object({ repo_name: str, namespace: str, name: str }),
});

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json']);
  const body = validate(payload, readJson(req, mediaType));
  const repo = body.repository;
  let name =
    present(repo.repo_name) ??
    (present(repo.namespace) && present(repo.name) ? `${repo.namespace}/${repo.name}` : undefined);
  // Single-component names are official images, which the registry API serves under "library/".
  if (name !== undefined && !name.includes('/')) name = `library/${name}`;
  const occurredAt = timestamp(body.push_data.pushed_at);
  const out = new Outcome();
  const hints = {
    action: 'push',
    repository: name,
    tag: body.push_data.tag,
    ...(occurredAt && { occurredAt }),
  };
  out.each(hints, () => {
    // Push is the only event Docker Hub sends, and it names only the tag.
    const target = requireTarget(
      resolveTarget(undefined, { path: 'push_data.tag', value: body.push_data.tag }),
      'push_data',
    );
    out.add(
      makeEvent({
        action: 'push',
        repository: repositoryName('repository.repo_name', name),
        target,
        occurredAt,
      }),
    );
  });
  return out.result();
}

export const dockerhubAdapter: WebhookAdapter = {
  kind: 'dockerhub',
  // Docker Hub sends no credentials or signature; only a secret in the URL path can guard it.
  authenticate: (req, auth) => verifyCredentials(req, auth),
  parse,
};

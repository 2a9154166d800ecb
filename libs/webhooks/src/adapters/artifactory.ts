import { z } from 'zod';
import type { RegistryEvent, WebhookAdapter, WebhookRequest, WebhookResult } from '../types.js';
import { verifyCredentials, type SignatureScheme } from '../internal/auth.js';
import { readJson, requireMediaType, validate } from '../internal/body.js';
import { field, ignoredOnly, makeEvent, Outcome } from '../internal/event.js';
import { deleteTarget, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

/**
 * With "use secret for signing" the secret keys an HMAC of the body, sent as hex in the same
 * header that otherwise carries the secret itself (`header` auth). The algorithm is what
 * third-party receivers verify; JFrog does not document it.
 */
export const JFROG_SIGNATURE: SignatureScheme = [{ name: 'x-jfrog-event-auth', prefix: '' }];

const str = z.string().nullish();

const envelopeSchema = z.object({ domain: z.string(), event_type: z.string(), data: z.unknown() });

const dataSchema = z.object({
  repo_key: z.string(),
  image_name: z.string(),
  tag: str,
  sha256: str,
});

/**
 * `promoted` copies a tag into another repository key; its payload is undocumented here, so it
 * is ignored and the target repository is caught by reconcile.
 */
const ACTIONS = new Map<string, RegistryEvent['action']>([
  ['pushed', 'push'],
  ['deleted', 'delete'],
]);

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json']);
  const envelope = validate(envelopeSchema, readJson(req, mediaType));
  const action = ACTIONS.get(envelope.event_type);
  if (envelope.domain !== 'docker' || !action) return ignoredOnly();
  const out = new Outcome();
  const hints = {
    action,
    repository: [field(envelope.data, 'repo_key'), field(envelope.data, 'image_name')]
      .filter((part) => typeof part === 'string')
      .join('/'),
    tag: field(envelope.data, 'tag'),
    digest: field(envelope.data, 'sha256'),
  };
  out.each(hints, () => out.add(dockerEvent(action, envelope.data)));
  return out.result();
}

function dockerEvent(action: RegistryEvent['action'], value: unknown): RegistryEvent {
  const data = validate(dataSchema, value, 'data');
  // `sha256` is the bare hex digest of the manifest file named in `path`.
  const hex = data.sha256 ?? '';
  const digest = /^[0-9a-fA-F]{64}$/.test(hex) ? `sha256:${hex}` : data.sha256;
  const named = requireTarget(
    resolveTarget({ path: 'data.sha256', value: digest }, { path: 'data.tag', value: data.tag }),
    'data',
  );
  // Events are per tag: `deleted` is an untag, whatever happened to the manifest.
  const target = action === 'delete' ? deleteTarget(named, 'tag') : named;
  return makeEvent({
    action,
    // Repository-path addressing: the registry API serves <repo_key>/<image> from the root.
    repository: repositoryName('data.image_name', `${data.repo_key}/${data.image_name}`),
    target,
  });
}

export const artifactoryAdapter: WebhookAdapter = {
  kind: 'artifactory',
  authenticate: (req, auth) => verifyCredentials(req, auth, JFROG_SIGNATURE),
  parse,
};

import { z } from 'zod';
import {
  WebhookError,
  type RegistryEvent,
  type WebhookAdapter,
  type WebhookRequest,
  type WebhookResult,
} from '../types.js';
import { verifyCredentials, type SignatureScheme } from '../internal/auth.js';
import { FORM_MEDIA_TYPE, header, readJson, requireMediaType, validate } from '../internal/body.js';
import { ignoredOnly, makeEvent, Outcome } from '../internal/event.js';
import { repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

/** Forgejo and Gitea both send bare hex; the GitHub-compatible header is the last resort. */
export const GITEA_SIGNATURE: SignatureScheme = [
  { name: 'x-forgejo-signature', prefix: '' },
  { name: 'x-gitea-signature', prefix: '' },
  { name: 'x-hub-signature-256', prefix: 'sha256=' },
];

const payloadSchema = z.object({
  action: z.string(),
  package: z.object({
    type: z.string(),
    name: z.string().min(1),
    version: z.string().min(1),
    owner: z.object({ login: z.string().min(1) }),
  }),
});

const ACTIONS = new Map<string, RegistryEvent['action']>([
  ['created', 'push'],
  ['deleted', 'delete'],
]);

function firstHeader(req: WebhookRequest, names: readonly string[]): string | undefined {
  return names.map((n) => header(req, n)).find((v) => v !== undefined);
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json', FORM_MEDIA_TYPE]);
  const eventName = firstHeader(req, ['x-forgejo-event', 'x-gitea-event', 'x-gogs-event']);
  if (eventName === undefined)
    throw new WebhookError('bad_request', 'missing X-Gitea-Event or X-Forgejo-Event header');
  if (eventName !== 'package') return ignoredOnly();
  const payload = validate(payloadSchema, readJson(req, mediaType));
  const pkg = payload.package;
  const action = ACTIONS.get(payload.action);
  if (pkg.type !== 'container' || !action) return ignoredOnly();
  // The version is the request reference, lowercased: a tag, or the digest of a by-digest push.
  const isDigest = pkg.version.includes(':');
  // Container images are served at <owner>/<name>, lowercase.
  const name = `${pkg.owner.login}/${pkg.name}`.toLowerCase();
  const senderEventId = firstHeader(req, ['x-forgejo-delivery', 'x-gitea-delivery']);
  const out = new Outcome();
  const hints = {
    action,
    repository: name,
    [isDigest ? 'digest' : 'tag']: pkg.version,
    senderEventId,
  };
  out.each(hints, () => {
    const version = { path: 'package.version', value: pkg.version };
    const target = requireTarget(
      resolveTarget(isDigest ? version : undefined, isDigest ? undefined : version),
      'package',
    );
    out.add(makeEvent({ action, repository: repositoryName('package.name', name), target, senderEventId }));
  });
  return out.result();
}

export const giteaAdapter: WebhookAdapter = {
  kind: 'gitea',
  authenticate: (req, auth) => verifyCredentials(req, auth, GITEA_SIGNATURE),
  parse,
};

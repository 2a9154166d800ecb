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
import { present, repositoryName, requireTarget, resolveTarget } from '../internal/reference.js';

export const GITHUB_SIGNATURE: SignatureScheme = [{ name: 'x-hub-signature-256', prefix: 'sha256=' }];

const str = z.string().nullish();

const packageSchema = z.object({
  name: z.string().min(1),
  namespace: str,
  ecosystem: str,
  package_type: str,
  owner: z.object({ login: z.string() }).nullish(),
  package_version: z.object({
    version: str,
    name: str,
    container_metadata: z
      .object({
        tag: z.object({ name: str, digest: str }).nullish(),
        manifest: z.object({ digest: str, media_type: str }).nullish(),
      })
      .nullish(),
  }),
});

const payloadSchema = z.object({
  action: z.string(),
  package: packageSchema.nullish(),
  registry_package: packageSchema.nullish(),
});

const CONTAINER_TYPES = new Set(['container', 'docker']);
const PUSH_ACTIONS = new Set(['published', 'updated']);

function isContainer(pkg: z.output<typeof packageSchema>): boolean {
  return [pkg.package_type, pkg.ecosystem].some((t) => CONTAINER_TYPES.has((t ?? '').toLowerCase()));
}

function parse(req: WebhookRequest): WebhookResult {
  const mediaType = requireMediaType(req, ['application/json', FORM_MEDIA_TYPE]);
  const eventName = header(req, 'x-github-event');
  if (eventName === undefined) throw new WebhookError('bad_request', 'missing X-GitHub-Event header');
  // `ping` on hook creation and every other event type: acknowledged, nothing to record.
  if (eventName !== 'package' && eventName !== 'registry_package') return ignoredOnly();
  const payload = validate(payloadSchema, readJson(req, mediaType));
  const pkg = payload[eventName];
  if (!pkg) throw new WebhookError('bad_request', `${eventName}: missing`);
  if (!isContainer(pkg) || !PUSH_ACTIONS.has(payload.action)) return ignoredOnly();

  const namespace = present(pkg.namespace) ?? present(pkg.owner?.login);
  const name = namespace && `${namespace}/${pkg.name}`.toLowerCase();
  // Redeliveries keep the GUID, so it identifies the delivery across retries.
  const senderEventId = header(req, 'x-github-delivery');
  const meta = pkg.package_version.container_metadata;
  const out = new Outcome();
  const hints = { action: 'push', repository: name, tag: meta?.tag?.name, senderEventId };
  out.each(hints, () => out.add(versionEvent(eventName, pkg, name, senderEventId)));
  return out.result();
}

function versionEvent(
  eventName: string,
  pkg: z.output<typeof packageSchema>,
  name: string | undefined,
  senderEventId: string | undefined,
): RegistryEvent {
  const at = `${eventName}.package_version`;
  const version = pkg.package_version;
  const meta = version.container_metadata;
  // GHCR names a container version by its manifest digest, so the version is the authoritative
  // digest; container_metadata.manifest.digest is only a fallback for versions named otherwise.
  const versionDigest = [version.version, version.name].find((v) => present(v)?.includes(':'));
  const digest = versionDigest
    ? { path: `${at}.version`, value: versionDigest }
    : { path: `${at}.container_metadata.manifest.digest`, value: meta?.manifest?.digest };
  const target = requireTarget(
    resolveTarget(digest, { path: `${at}.container_metadata.tag.name`, value: meta?.tag?.name }),
    at,
  );
  // Images live at <namespace>/<name>: the namespace is the owner on GHCR and was
  // owner/repository on GitHub's older repository-scoped Docker registry. GHCR paths are lowercase.
  const repository = repositoryName(`${eventName}.name`, name);
  return makeEvent({
    action: 'push',
    repository,
    target,
    mediaType: meta?.manifest?.media_type,
    senderEventId,
  });
}

export const ghcrAdapter: WebhookAdapter = {
  kind: 'ghcr',
  authenticate: (req, auth) => verifyCredentials(req, auth, GITHUB_SIGNATURE),
  parse,
};

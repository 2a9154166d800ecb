import { WebhookError } from '../types.js';
import { quote } from './body.js';

const DIGEST = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
/** The OCI image-spec digest grammar: a well-formed digest of an algorithm we do not know. */
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const KNOWN_ALGORITHM = /^(sha256|sha384|sha512):/;
const DIGEST_FORMS = 'sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>';
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** OCI distribution-spec repository name grammar; it also keeps `..` and `//` out of request paths. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const MAX_REPOSITORY_LENGTH = 255;

/** `sha256:` + 64, `sha384:` + 96 or `sha512:` + 128 hex, hex lowercased; anything else is undefined. */
export function normaliseDigest(value: string): string | undefined {
  const m = DIGEST.exec(value);
  if (!m?.[1] || !m[2] || m[2].length !== HEX_LENGTH[m[1]]) return undefined;
  return `${m[1]}:${m[2].toLowerCase()}`;
}

export function isValidTag(value: string): boolean {
  return TAG.test(value);
}

/** Senders encode "absent" as missing, null or "" (Distribution v3); all three mean the same. */
export function present(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

export function repositoryName(path: string, value: string | null | undefined): string {
  const name = present(value);
  if (name === undefined) throw new WebhookError('bad_request', `${path}: missing repository name`);
  if (name.length > MAX_REPOSITORY_LENGTH || !REPOSITORY.test(name)) {
    throw new WebhookError(
      'bad_request',
      `${path}: ${quote(name)} is not a valid repository name`,
      name.length > MAX_REPOSITORY_LENGTH ? 'too_long' : 'invalid_name',
    );
  }
  return name;
}

export interface Field {
  /** Where the value sits in the payload, for error messages. */
  path: string;
  value: string | null | undefined;
}

export interface Target {
  digest?: string;
  tag?: string;
}

/**
 * The digest and tag an event names. An invalid value is dropped when the other one still
 * identifies the target (the tag is resolved at the registry later; a digest is enough on its
 * own); with nothing valid left the event cannot be acted on and the request is refused.
 * Both absent returns an empty target: whether that is acceptable depends on the sender.
 */
export function resolveTarget(digest: Field | undefined, tag: Field | undefined): Target {
  const rawDigest = present(digest?.value);
  const rawTag = present(tag?.value);
  const d = rawDigest === undefined ? undefined : normaliseDigest(rawDigest);
  const t = rawTag !== undefined && isValidTag(rawTag) ? rawTag : undefined;
  if (d === undefined && t === undefined) {
    if (rawDigest !== undefined && digest) {
      const unsupported = ANY_DIGEST.test(rawDigest) && !KNOWN_ALGORITHM.test(rawDigest);
      throw new WebhookError(
        'bad_request',
        `${digest.path}: ${quote(rawDigest)} is not a valid digest (${DIGEST_FORMS})`,
        unsupported ? 'unsupported_digest' : 'invalid_digest',
      );
    }
    if (rawTag !== undefined && tag) {
      throw new WebhookError(
        'bad_request',
        `${tag.path}: ${quote(rawTag)} is not a valid tag`,
        'invalid_name',
      );
    }
  }
  return { ...(d !== undefined && { digest: d }), ...(t !== undefined && { tag: t }) };
}

/**
 * A delete names either the manifest (digest only: gone with every tag) or one tag (tag only:
 * untagged, the manifest may remain), never both, because ingest reads a digest as "manifest
 * gone". `prefer` says which one the sender's delete event is about when it names both.
 */
export function deleteTarget(target: Target, prefer: 'digest' | 'tag'): Target {
  const { digest, tag } = target;
  if (prefer === 'tag' && tag !== undefined) return { tag };
  if (digest !== undefined) return { digest };
  return tag !== undefined ? { tag } : {};
}

/** Requires a target for events that are meaningless without one (pushes, per-sender deletes). */
export function requireTarget(target: Target, where: string): Target {
  if (target.digest === undefined && target.tag === undefined) {
    throw new WebhookError('bad_request', `${where}: names neither a digest nor a tag`, 'no_target');
  }
  return target;
}

export interface ParsedReference {
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Splits a pull reference `host/path[:tag][@digest]` into names. The first component is a host
 * when it contains "." or ":" or is "localhost" (the docker reference rule); it is discarded,
 * since the registry address always comes from configuration.
 */
export function splitReference(reference: string): ParsedReference {
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    rest = rest.slice(slash + 1);
  }
  return { repository: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

import type { RegistryKind, WebhookAuth } from '#config';

/** What every sender's payload is reduced to. Content is never taken from here: only names. */
export interface RegistryEvent {
  action: 'push' | 'delete';
  /** Repository path inside the registry, e.g. "library/nginx". */
  repository: string;
  /** Lowercase `algorithm:hex`; absent for tag-only events (resolved at the registry later). */
  digest?: string;
  tag?: string;
  /** The sender's media type for the target, a hint only. */
  mediaType?: string;
  /** When the sender says it happened; orders events (last writer wins). */
  occurredAt?: Date;
  /** The sender's own event id, used to drop exact duplicates. */
  senderEventId?: string;
}

export interface WebhookRequest {
  /** Lower-case header names as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The exact bytes received (HMAC is computed over these). */
  rawBody: Buffer;
}

/** Why one event of a readable delivery was not admitted. */
export type RejectionReason =
  /** Not of the sender's event shape (wrong types, missing fields). */
  | 'malformed'
  /** A digest that is not `algorithm:hex` of the right length. */
  | 'invalid_digest'
  /** A well-formed digest whose algorithm is not sha256, sha384 or sha512. */
  | 'unsupported_digest'
  /** A repository or tag outside the distribution-spec grammar. */
  | 'invalid_name'
  /** A push or delete that names neither a digest nor a tag. */
  | 'no_target'
  /** A value Postgres cannot store: NUL, or text with no UTF-8 encoding (lone surrogates). */
  | 'unstorable'
  | 'too_long';

/**
 * An event refused on its own while the rest of its delivery is admitted. Senders retry refused
 * deliveries (Distribution forever, in order), so a bad event is recorded, never answered with 4xx.
 * The names are what the event said, made storable (bounded, NUL and lone surrogates replaced).
 */
export interface RejectedEvent {
  reason: RejectionReason;
  /** Where in the payload and what is wrong; bounded. */
  message: string;
  action?: RegistryEvent['action'];
  repository?: string;
  digest?: string;
  tag?: string;
  occurredAt?: Date;
  /** Only when the sender's id was storable as it was, so it still identifies retries. */
  senderEventId?: string;
}

export interface WebhookResult {
  events: RegistryEvent[];
  /** Events understood but not relevant (pulls, blob pushes, unknown types). */
  ignored: number;
  /** Events refused one by one; absent when there are none. */
  rejected?: RejectedEvent[];
  /** A reply the sender expects instead of the usual acknowledgement (Event Grid validation). */
  reply?: { status: number; body: unknown };
}

export interface WebhookAdapter {
  readonly kind: RegistryKind;
  /** Throws WebhookError('unauthorized') unless the request carries the configured credentials. */
  authenticate(req: WebhookRequest, auth: WebhookAuth, now?: Date): void;
  /**
   * Throws WebhookError('bad_request' | 'unsupported_media_type') only for bodies that are not an
   * envelope of this sender at all; a bad event inside a readable envelope is in `rejected`.
   */
  parse(req: WebhookRequest): WebhookResult;
}

export type WebhookErrorCode = 'unauthorized' | 'bad_request' | 'unsupported_media_type';

export class WebhookError extends Error {
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
    /** What kind of problem it is when it concerns one event (thrown while parsing that event). */
    readonly reason: RejectionReason = 'malformed',
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

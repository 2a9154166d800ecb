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

export interface WebhookResult {
  events: RegistryEvent[];
  /** Events understood but not relevant (pulls, blob pushes, unknown types). */
  ignored: number;
  /** A reply the sender expects instead of the usual acknowledgement (Event Grid validation). */
  reply?: { status: number; body: unknown };
}

export interface WebhookAdapter {
  readonly kind: RegistryKind;
  /** Throws WebhookError('unauthorized') unless the request carries the configured credentials. */
  authenticate(req: WebhookRequest, auth: WebhookAuth, now?: Date): void;
  /** Throws WebhookError('bad_request' | 'unsupported_media_type') for payloads it cannot read. */
  parse(req: WebhookRequest): WebhookResult;
}

export type WebhookErrorCode = 'unauthorized' | 'bad_request' | 'unsupported_media_type';

export class WebhookError extends Error {
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

// The rejected-event path of the inbox: events refused one by one at admission, stored so an
// operator sees what was sent and why, never queued for processing.

/**
 * An event refused at admission. It is stored (for operators: what was sent and why it was
 * refused) and never processed; its names are as the sender gave them, already made storable.
 */
export interface InboxRejectedEvent {
  /** A short code: invalid_digest, unstorable, ... */
  reason: string;
  message: string;
  action?: 'push' | 'delete';
  repository?: string;
  digest?: string;
  tag?: string;
  occurredAt?: Date;
  senderEventId?: string;
}

/** A rejected event as its row holds it: no media type, the reason as the row's error. */
export interface RejectedRowFields {
  action: string;
  repository: string;
  digest: string | null;
  tag: string | null;
  mediaType: null;
  senderEventId: string | null;
  lastError: string;
}

export function rejectedRowFields(e: InboxRejectedEvent): RejectedRowFields {
  return {
    // A refused event may name no action or repository; the row still records that it came.
    action: e.action ?? 'unknown',
    repository: e.repository ?? '',
    digest: e.digest ?? null,
    tag: e.tag ?? null,
    mediaType: null,
    senderEventId: e.senderEventId ?? null,
    lastError: `${e.reason}: ${e.message}`,
  };
}

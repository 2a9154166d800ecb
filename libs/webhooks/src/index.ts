/**
 * Registry webhooks, normalised. A `delete` names either a digest (the manifest is gone from the
 * repository, with its tags) or a tag (that tag was removed; the manifest may remain), never both.
 * Deliveries are neither ordered nor unique; `senderEventId` is unique per event where the sender
 * provides one. Each event of a readable delivery is admitted, ignored or rejected on its own
 * (`WebhookResult.rejected`); only a body that is no envelope of the sender is refused whole.
 */
export * from './types.js';
export { getAdapter, SIGNING_KINDS } from './adapters.js';
export { normaliseDigest } from './internal/reference.js';

/**
 * Registry webhooks, normalised. A `delete` names either a digest (the manifest is gone from the
 * repository, with its tags) or a tag (that tag was removed; the manifest may remain), never both.
 * Deliveries are neither ordered nor unique; `senderEventId` is unique per event where the sender
 * provides one.
 */
export * from './types.js';
export { getAdapter, SIGNING_KINDS } from './adapters.js';
export { normaliseDigest } from './internal/reference.js';

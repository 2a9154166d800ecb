import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RegistryCatalog, Metrics } from '#ingest';
import type { InboxRepository } from '#store';
import { getAdapter, SIGNING_KINDS, WebhookError, type RejectedEvent, type WebhookRequest } from '#webhooks';

export interface WebhookReply {
  status: number;
  body: unknown;
}

const STATUS_BY_CODE: Record<WebhookError['code'], number> = {
  unauthorized: 401,
  bad_request: 400,
  unsupported_media_type: 415,
};

/** Rejections listed in a reply and a log line; the counts cover all of them. */
const MAX_LISTED_REJECTIONS = 20;
/**
 * Rejected events stored per delivery. A rejected event can be two bytes (`0,` in an events
 * array), so without a cap one body within the size limit would write tens of thousands of rows;
 * beyond it they are counted (reply, metrics, log) but not stored.
 */
export const MAX_STORED_REJECTIONS = 100;

/**
 * Authenticates, parses and durably stores one webhook delivery. Answers 2xx only after every
 * relevant event and its job are committed. A delivery is refused (and nothing stored) only when
 * its credentials are wrong or its body is no envelope of the sender at all; within a readable
 * envelope each event is admitted, ignored or rejected on its own, and rejected events are stored
 * as such, because senders retry a refused delivery (Distribution forever, in order, so one
 * refused event would block every later one).
 */
export class WebhookReceiver {
  constructor(
    private readonly catalog: RegistryCatalog,
    private readonly inbox: InboxRepository,
    private readonly metrics: Metrics,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {}

  async receive(registryName: string, req: WebhookRequest): Promise<WebhookReply> {
    const entry = this.catalog.byName(registryName);
    if (!entry) {
      this.metrics.webhookRejected.inc({ registry: 'unknown', reason: 'registry_unknown' });
      return reject(404, 'registry_unknown', `no registry named "${registryName}" is configured`);
    }
    const adapter = getAdapter(entry.config.kind);
    let result;
    try {
      adapter.authenticate(req, entry.config.webhookAuth);
      result = adapter.parse(req);
    } catch (err) {
      if (err instanceof WebhookError) {
        this.metrics.webhookRejected.inc({ registry: registryName, reason: err.code });
        return reject(STATUS_BY_CODE[err.code], err.code, err.message);
      }
      throw err;
    }
    if (result.reply) return result.reply;
    const rejected = result.rejected ?? [];
    const kept = rejected.slice(0, MAX_STORED_REJECTIONS);
    // Signed senders sign the body but not the delivery id: a captured delivery replayed under a
    // fresh id is recognised by its body.
    const bodySha256 = SIGNING_KINDS.includes(entry.config.kind)
      ? createHash('sha256').update(req.rawBody).digest('hex')
      : undefined;
    const counts = await this.inbox.record(entry.id, result.events, {
      rejected: kept,
      ...(bodySha256 !== undefined && { bodySha256 }),
    });
    this.metrics.webhookEvents.inc({ registry: registryName }, counts.stored);
    this.metrics.webhookIgnored.inc({ registry: registryName }, result.ignored);
    this.metrics.jobsQueued.inc(counts.stored);
    // Rejections beyond the stored ones cannot be told from a retry's: they count with the
    // delivery's stored ones, i.e. when the delivery is new.
    const fresh = counts.rejected > 0 ? counts.rejected + rejected.length - kept.length : 0;
    if (fresh > 0) this.reportRejections(registryName, rejected, fresh);
    return {
      status: 202,
      body: {
        accepted: counts.stored,
        duplicates: result.events.length + kept.length - counts.stored - counts.rejected,
        ignored: result.ignored,
        rejected: rejected.length,
        rejections: rejected
          .slice(0, MAX_LISTED_REJECTIONS)
          .map((r) => ({ reason: r.reason, message: r.message })),
      },
    };
  }

  /**
   * Counts and logs rejected events once, when first stored: a sender's retries of the same
   * delivery are duplicates and stay quiet.
   */
  private reportRejections(registry: string, rejected: RejectedEvent[], fresh: number): void {
    // A retried delivery is a duplicate as a whole, so the fresh ones are (all but never) the first.
    for (const r of rejected.slice(0, fresh))
      this.metrics.webhookEventsRejected.inc({ registry, reason: r.reason });
    this.logger?.warn(
      { registry, rejected: fresh, reasons: rejected.slice(0, MAX_LISTED_REJECTIONS).map((r) => r.message) },
      'webhook events rejected',
    );
  }
}

function reject(status: number, code: string, message: string): WebhookReply {
  return { status, body: { error: { code, message } } };
}

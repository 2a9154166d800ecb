import { createHash } from 'node:crypto';
import { LogSampler, type LineSink, type RegistryCatalog, type Metrics } from '#ingest';
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

/** Rejections (and reused ids) listed in a reply or a log line; the counts cover all of them. */
const MAX_LISTED_REJECTIONS = 20;
/**
 * Rejected events stored per delivery. A rejected event can be two bytes (`0,` in an events
 * array), so without a cap one body within the size limit would write tens of thousands of rows;
 * beyond it they are counted (reply, metrics, log) but not stored.
 */
export const MAX_STORED_REJECTIONS = 100;
/** A registry name from the URL is the caller's text: logged, but not at any length. */
const MAX_LOGGED_NAME = 100;

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
    log?: LineSink | LogSampler,
  ) {
    this.log = log instanceof LogSampler || !log ? log : new LogSampler(log);
  }

  private readonly log: LogSampler | undefined;

  async receive(registryName: string, req: WebhookRequest): Promise<WebhookReply> {
    const entry = this.catalog.byName(registryName);
    if (!entry) {
      this.metrics.webhookRejected.inc({ registry: 'unknown', reason: 'registry_unknown' });
      const name = JSON.stringify(registryName.slice(0, MAX_LOGGED_NAME));
      return this.refuse(registryName, 404, 'registry_unknown', `no registry named ${name} is configured`);
    }
    const adapter = getAdapter(entry.config.kind);
    let result;
    try {
      adapter.authenticate(req, entry.config.webhookAuth);
      result = adapter.parse(req);
    } catch (err) {
      if (err instanceof WebhookError) {
        this.metrics.webhookRejected.inc({ registry: registryName, reason: err.code });
        return this.refuse(registryName, STATUS_BY_CODE[err.code], err.code, err.message);
      }
      throw err;
    }
    if (result.reply) {
      this.log?.write(
        'info',
        { registry: registryName, status: result.reply.status, outcome: 'reply' },
        'webhook delivery',
      );
      return result.reply;
    }
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
    // Stored as events of their own (an id is not the event); counted and logged so that operators
    // see a sender reusing ids, or someone sending under ids the registry uses.
    const reused = counts.reusedIds ?? [];
    if (reused.length > 0) this.metrics.webhookEventIdsReused.inc({ registry: registryName }, reused.length);
    // Rejections beyond the stored ones cannot be told from a retry's: they count with the
    // delivery's stored ones, i.e. when the delivery is new.
    const fresh = counts.rejected > 0 ? counts.rejected + rejected.length - kept.length : 0;
    if (fresh > 0) this.countRejections(registryName, rejected, fresh);
    const body = {
      accepted: counts.stored,
      duplicates: result.events.length + kept.length - counts.stored - counts.rejected,
      ignored: result.ignored,
      rejected: rejected.length,
    };
    // One line per delivery. Rejected events and reused ids make it a warning once, when first
    // stored: a sender's retries of the same delivery are duplicates and stay at info.
    this.log?.write(
      fresh > 0 || reused.length > 0 ? 'warn' : 'info',
      {
        registry: registryName,
        status: 202,
        outcome:
          fresh > 0
            ? 'rejected'
            : body.accepted > 0
              ? 'accepted'
              : body.duplicates > 0
                ? 'duplicate'
                : 'ignored',
        ...body,
        ...(fresh > 0 && { reasons: rejected.slice(0, MAX_LISTED_REJECTIONS).map((r) => r.message) }),
        ...(reused.length > 0 && {
          reused: reused.length,
          reusedIds: reused.slice(0, MAX_LISTED_REJECTIONS),
        }),
      },
      'webhook delivery',
    );
    return {
      status: 202,
      body: {
        ...body,
        rejections: rejected
          .slice(0, MAX_LISTED_REJECTIONS)
          .map((r) => ({ reason: r.reason, message: r.message })),
      },
    };
  }

  /**
   * The one line for a delivery refused as a whole, here or before the receiver saw it (a body
   * over the limit): status, code and reason, never the credentials or the body.
   */
  refuse(registryName: string, status: number, code: string, message: string): WebhookReply {
    this.log?.write(
      'warn',
      { registry: registryName.slice(0, MAX_LOGGED_NAME), status, outcome: code, reason: message },
      'webhook refused',
    );
    return reject(status, code, message);
  }

  /** Counts rejected events once, when first stored. */
  private countRejections(registry: string, rejected: RejectedEvent[], fresh: number): void {
    // A retried delivery is a duplicate as a whole, so the fresh ones are (all but never) the first.
    for (const r of rejected.slice(0, fresh))
      this.metrics.webhookEventsRejected.inc({ registry, reason: r.reason });
  }
}

function reject(status: number, code: string, message: string): WebhookReply {
  return { status, body: { error: { code, message } } };
}

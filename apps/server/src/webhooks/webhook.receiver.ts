import type { RegistryCatalog, Metrics } from '#ingest';
import type { InboxRepository } from '#store';
import { getAdapter, WebhookError, type WebhookRequest } from '#webhooks';

export interface WebhookReply {
  status: number;
  body: unknown;
}

const STATUS_BY_CODE: Record<WebhookError['code'], number> = {
  unauthorized: 401,
  bad_request: 400,
  unsupported_media_type: 415,
};

/**
 * Authenticates, parses and durably stores one webhook delivery. Answers 2xx only after every
 * relevant event and its job are committed; anything refused stores nothing.
 */
export class WebhookReceiver {
  constructor(
    private readonly catalog: RegistryCatalog,
    private readonly inbox: InboxRepository,
    private readonly metrics: Metrics,
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
    const { stored } = await this.inbox.record(entry.id, result.events);
    this.metrics.webhookEvents.inc({ registry: registryName }, stored);
    this.metrics.webhookIgnored.inc({ registry: registryName }, result.ignored);
    this.metrics.jobsQueued.inc(stored);
    return {
      status: 202,
      body: { accepted: stored, duplicates: result.events.length - stored, ignored: result.ignored },
    };
  }
}

function reject(status: number, code: string, message: string): WebhookReply {
  return { status, body: { error: { code, message } } };
}

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every counter the service exports, on one registry per process (tests make their own). */
export class Metrics {
  readonly registry = new Registry();
  readonly webhookEvents = new Counter({
    name: 'refgraph_webhook_events_received_total',
    help: 'Webhook events stored durably, by registry',
    labelNames: ['registry'],
    registers: [this.registry],
  });
  readonly webhookIgnored = new Counter({
    name: 'refgraph_webhook_events_ignored_total',
    help: 'Webhook events understood but not relevant (pulls, blobs, unknown types)',
    labelNames: ['registry'],
    registers: [this.registry],
  });
  readonly webhookEventsRejected = new Counter({
    name: 'refgraph_webhook_events_rejected_total',
    help: 'Webhook events refused one by one at admission (stored as rejected), by registry and reason',
    labelNames: ['registry', 'reason'],
    registers: [this.registry],
  });
  readonly webhookEventIdsReused = new Counter({
    name: 'refgraph_webhook_event_ids_reused_total',
    help: 'Webhook events stored under a sender event id the registry had already used for an event asking something else (a buggy or forged sender), by registry',
    labelNames: ['registry'],
    registers: [this.registry],
  });
  readonly webhookRejected = new Counter({
    name: 'refgraph_webhook_requests_rejected_total',
    help: 'Webhook requests refused, by registry and reason',
    labelNames: ['registry', 'reason'],
    registers: [this.registry],
  });
  readonly jobsQueued = new Counter({
    name: 'refgraph_jobs_queued_total',
    help: 'Ingest jobs queued',
    registers: [this.registry],
  });
  readonly jobsDone = new Counter({
    name: 'refgraph_jobs_done_total',
    help: 'Ingest jobs finished, by outcome (done, skipped, failed)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly tagsUnconfirmed = new Counter({
    name: 'refgraph_webhook_tags_unconfirmed_total',
    help: 'Tagged pushes whose tag the registry no longer points at their digest (replayed or out of date): the manifest is recorded, the tag not moved',
    labelNames: ['registry'],
    registers: [this.registry],
  });
  readonly deletesUnconfirmed = new Counter({
    name: 'refgraph_webhook_deletes_unconfirmed_total',
    help: 'Delete events naming a manifest or tag the registry still serves (forged, replayed or out of date): nothing removed',
    labelNames: ['registry'],
    registers: [this.registry],
  });
  readonly jobsRetried = new Counter({
    name: 'refgraph_jobs_retried_total',
    help: 'Ingest job attempts that failed and will be retried',
    registers: [this.registry],
  });
  readonly fetchSeconds = new Histogram({
    name: 'refgraph_registry_fetch_seconds',
    help: 'Manifest fetch latency, by registry and outcome',
    labelNames: ['registry', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueLag = new Gauge({
    name: 'refgraph_queue_lag_seconds',
    help: 'Age of the oldest event not processed yet',
    registers: [this.registry],
  });
  readonly queuePending = new Gauge({
    name: 'refgraph_queue_pending_events',
    help: 'Events stored and not processed yet',
    registers: [this.registry],
  });
  readonly eventsFailed = new Gauge({
    name: 'refgraph_events_failed',
    help: 'Events whose processing failed for good (kept for inspection and replay)',
    registers: [this.registry],
  });
  readonly trustRootRefreshed = new Gauge({
    name: 'refgraph_trust_root_last_refresh_timestamp_seconds',
    help: 'When a TUF refresh last verified the trusted root (Unix time; absent before the first success)',
    registers: [this.registry],
  });
  readonly trustRootRefreshFailures = new Counter({
    name: 'refgraph_trust_root_refresh_failures_total',
    help: 'TUF refreshes of the trusted root that failed (mirror unreachable, expired or invalid metadata); the root in force stays',
    registers: [this.registry],
  });
}

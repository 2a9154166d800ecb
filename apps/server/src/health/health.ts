// What /readyz and /metrics answer, for the api's controller and the worker's own listener alike.
import type { Metrics, WorkerHealth } from '#ingest';
import type { Database, InboxRepository, ReadReplicas } from '#store';

export interface HealthSources {
  db: Database;
  inbox: InboxRepository;
  metrics: Metrics;
  worker: WorkerHealth;
  replicas?: ReadReplicas | null;
}

export interface Readiness {
  ready: boolean;
  body: Record<string, unknown>;
}

/**
 * Ready: the database answers, every migration is applied, and the job runner of this process
 * (if it runs one) is taking jobs: not while it is restarting after a stop or stall, nor while
 * the process is shutting down. `requireWorker` (the worker role) also demands that a job runner
 * runs and holds its presence lock (without it the other workers hand its jobs out again). Read
 * replicas are reported (lag, in rotation) but never make the process unready: with none in
 * rotation the read model reads from the primary.
 */
export async function readiness(
  s: HealthSources,
  opts: { requireWorker?: boolean } = {},
): Promise<Readiness> {
  const database = await s.db.isReady();
  const worker = s.worker.snapshot();
  const workerReady = opts.requireWorker
    ? worker.state === 'running' && worker.presence === true
    : s.worker.ready;
  const ready = database && workerReady;
  return {
    ready,
    body: {
      status: ready ? 'ready' : 'not ready',
      database,
      worker: worker.state,
      workerRestarts: worker.restarts,
      ...(worker.state !== 'off' ? { workerPresence: worker.presence === true } : {}),
      ...(worker.reason ? { workerReason: worker.reason } : {}),
      ...(s.replicas ? { replicas: s.replicas.status() } : {}),
    },
  };
}

/** The Prometheus exposition, with the queue gauges read from Postgres now. */
export async function scrape(s: HealthSources): Promise<{ contentType: string; text: string }> {
  try {
    const backlog = await s.inbox.backlog();
    s.metrics.queuePending.set(backlog.pending);
    s.metrics.queueLag.set(backlog.oldestAgeSeconds);
    s.metrics.eventsFailed.set(backlog.failed);
  } catch {
    // Database down: the counters still answer; readiness reports the outage.
  }
  return { contentType: s.metrics.registry.contentType, text: await s.metrics.registry.metrics() };
}

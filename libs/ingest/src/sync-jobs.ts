import type { Task } from 'graphile-worker';
import type { SyncJobPayload, SyncRepository, SyncStateRow } from '#store';
import type { RegistryCatalog } from './catalog.js';
import type { LogSink } from './queue.js';
import { SyncError, type RegistrySync } from './sync.js';

export interface SyncRequest {
  registry: string;
  reconcile?: boolean;
  repositories?: string[];
}

/** Sync jobs of one registry share a queue, so the queue itself runs them one after another. */
export function syncQueueName(registry: string): string {
  return `sync:${registry}`;
}

function periodicKey(registry: string): string {
  return `reconcile:${registry}`;
}

/** Queues a sync or reconcile of one registry; the worker role runs it. Returns the job id. */
export function queueSync(queue: SyncRepository, req: SyncRequest): Promise<string> {
  const payload: SyncJobPayload = {
    registry: req.registry,
    reconcile: req.reconcile ?? false,
    ...(req.repositories?.length ? { repositories: req.repositories } : {}),
  };
  return queue.queueSync(payload, { queue: syncQueueName(req.registry) });
}

/** Sync requests from the API: queue one, read the last run; null for an unconfigured registry. */
export class SyncRequests {
  constructor(
    private readonly catalog: RegistryCatalog,
    private readonly syncs: SyncRepository,
  ) {}

  async request(req: SyncRequest): Promise<{ jobId: string } | null> {
    if (!this.catalog.byName(req.registry)) return null;
    return { jobId: await queueSync(this.syncs, req) };
  }

  async lastRun(registry: string): Promise<{ run: SyncStateRow | null } | null> {
    const entry = this.catalog.byName(registry);
    if (!entry) return null;
    return { run: await this.syncs.findState(entry.id) };
  }
}

/**
 * The periodic reconcile is one keyed job per registry. Adding it with the same key while one is
 * waiting keeps the waiting one and its time (job_key_mode preserve_run_at), so every worker may
 * call this at start-up and there is still one pending reconcile per registry; the run itself
 * queues the next one when it ends.
 */
export async function schedulePeriodicReconcile(
  queue: SyncRepository,
  registries: string[],
  intervalSeconds: number,
): Promise<void> {
  if (intervalSeconds <= 0) return;
  for (const registry of registries) await scheduleNext(queue, registry, intervalSeconds);
}

function scheduleNext(queue: SyncRepository, registry: string, intervalSeconds: number): Promise<string> {
  return queue.queueSync(
    { registry, reconcile: true, periodic: true },
    {
      queue: syncQueueName(registry),
      jobKey: periodicKey(registry),
      runAt: new Date(Date.now() + intervalSeconds * 1000),
      maxAttempts: 1,
    },
  );
}

export interface SyncTaskDeps {
  sync: RegistrySync;
  queue: SyncRepository;
  reconcileIntervalSeconds: number;
  log?: LogSink;
}

/**
 * Runs one queued sync. Registry trouble never fails the job (it is in the run's summary); a run
 * stopped by shutdown, or refused because another run of the registry holds the lock, throws so
 * the queue tries again later and the new attempt resumes. A periodic run that finds the registry
 * busy is skipped: the next period comes anyway.
 */
export function syncTask(deps: SyncTaskDeps): Task {
  return async (raw, helpers) => {
    const p = parsePayload(raw);
    try {
      const res = await deps.sync.run(p.registry, {
        reconcile: p.reconcile,
        ...(p.repositories ? { repositories: p.repositories } : {}),
        signal: helpers.abortSignal,
        jobId: String(helpers.job.id),
      });
      deps.log?.log(res.summary.errors ? 'warn' : 'info', `sync of ${p.registry} ${res.status}`, {
        ...res.summary,
      });
      if (res.status === 'interrupted' && !p.periodic)
        throw new Error(`sync of ${p.registry} interrupted; will resume`);
    } catch (err) {
      if (err instanceof SyncError && (err.code === 'registry_unknown' || p.periodic)) {
        deps.log?.log('warn', `sync of ${p.registry} skipped: ${err.message}`);
        return;
      }
      throw err;
    } finally {
      if (p.periodic && deps.reconcileIntervalSeconds > 0) {
        await scheduleNext(deps.queue, p.registry, deps.reconcileIntervalSeconds);
      }
    }
  };
}

function parsePayload(raw: unknown): SyncJobPayload {
  const p = (raw ?? {}) as Record<string, unknown>;
  if (typeof p.registry !== 'string') throw new Error('sync job without a registry name');
  const repositories = Array.isArray(p.repositories)
    ? p.repositories.filter((r): r is string => typeof r === 'string')
    : undefined;
  return {
    registry: p.registry,
    reconcile: p.reconcile === true,
    ...(repositories?.length ? { repositories } : {}),
    ...(p.periodic === true ? { periodic: true } : {}),
  };
}

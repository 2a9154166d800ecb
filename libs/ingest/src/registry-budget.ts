// Per-registry concurrency budget of the worker: a slow or hung registry delays only its own jobs.
import type { Task } from 'graphile-worker';
import type { ReferrersListing } from '#registry';
import { RegistryCatalog, type RegistrySource } from './catalog.js';
import type { BlobSource } from './verify-artifact.js';

/**
 * Thrown, instead of waiting, when a registry's budget is used up. Retryable, and never a failed
 * attempt: the job is rescheduled by `deferWhenBusy` (see there).
 */
export class RegistryBusyError extends Error {
  readonly code = 'busy';
  readonly retryable = true;

  constructor(readonly registry: string) {
    super(`registry ${registry}: all of its fetch slots are in use; the job runs again shortly`);
    this.name = 'RegistryBusyError';
  }
}

export function isRegistryBusy(err: unknown): err is RegistryBusyError {
  return err instanceof RegistryBusyError;
}

export interface BudgetStats {
  inFlight: number;
  /** Fetches refused because the budget was used up (each one rescheduled its job). */
  refused: number;
}

/**
 * One in-process counting semaphore per registry. Worker slots are shared by every registry, so a
 * job must never wait for a registry's slot while holding a worker slot: acquisition is
 * non-blocking, and a job that finds its registry's budget used up gives its worker slot back.
 * The budget is per worker process; N worker replicas allow N times as many fetches.
 */
export class RegistryBudget {
  private readonly state = new Map<string, { limit: number; inFlight: number; refused: number }>();

  constructor(limits: Record<string, number>) {
    for (const [name, limit] of Object.entries(limits)) {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`budget of ${name} must be ≥ 1`);
      this.state.set(name, { limit, inFlight: 0, refused: 0 });
    }
  }

  /** A release function, or undefined when the registry's budget is used up. */
  tryAcquire(registry: string): (() => void) | undefined {
    const s = this.state.get(registry);
    if (!s) return () => undefined;
    if (s.inFlight >= s.limit) {
      s.refused++;
      return undefined;
    }
    s.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      s.inFlight--;
    };
  }

  stats(registry: string): BudgetStats {
    const s = this.state.get(registry);
    return { inFlight: s?.inFlight ?? 0, refused: s?.refused ?? 0 };
  }

  /** The same registries, with every single fetch (manifest, tag, blob, HEAD) under the budget. */
  wrap(catalog: RegistryCatalog): RegistryCatalog {
    return new RegistryCatalog(
      catalog.all().map((e) => ({ ...e, client: new BudgetedSource(e.config.name, e.client, this) })),
    );
  }
}

type Source = RegistrySource & Partial<BlobSource>;

/** Listings (sync, reconcile) pass through: they have their own limiter and their own tasks. */
export class BudgetedSource implements RegistrySource, BlobSource {
  constructor(
    private readonly registry: string,
    private readonly inner: Source,
    private readonly budget: RegistryBudget,
  ) {}

  fetchManifest(repository: string, reference: string) {
    return this.within(() => this.inner.fetchManifest(repository, reference));
  }

  resolveTag(repository: string, tag: string) {
    return this.within(() => this.inner.resolveTag(repository, tag));
  }

  manifestExists(repository: string, digest: string) {
    return this.within(() => this.inner.manifestExists(repository, digest));
  }

  listReferrers(repository: string, digest: string): Promise<ReferrersListing> {
    return this.within(() => this.inner.listReferrers(repository, digest));
  }

  fetchBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const fetchBlob = this.inner.fetchBlob?.bind(this.inner);
    if (!fetchBlob) return Promise.reject(new TypeError(`registry ${this.registry} serves no blobs`));
    return this.within(() => fetchBlob(repository, digest, maxBytes));
  }

  listRepositories(): AsyncIterable<string> {
    return this.inner.listRepositories();
  }

  listTags(repository: string): AsyncIterable<string> {
    return this.inner.listTags(repository);
  }

  private async within<T>(run: () => Promise<T>): Promise<T> {
    const release = this.budget.tryAcquire(this.registry);
    if (!release) throw new RegistryBusyError(this.registry);
    try {
      return await run();
    } finally {
      release();
    }
  }
}

/** Carried in a rescheduled job's payload: attempts already spent, times deferred. */
interface Deferral {
  attemptsBefore: number;
  count: number;
}

const DEFER_BASE_MS = 500;
const DEFER_MAX_MS = 30_000;

/**
 * Wraps a task so that a job refused by a registry's budget is rescheduled rather than failed: a
 * new job with the same payload (and job key) runs after a short, growing, jittered delay, and the
 * current one completes, freeing its worker slot at once. graphile-worker counts an attempt when
 * it picks a job up, so the new job carries the attempts spent before this one; the task sees
 * attempts and max_attempts as if the deferral had not happened, and a deferral is never a failure.
 */
export function deferWhenBusy(task: Task): Task {
  return async (payload, helpers) => {
    const { job } = helpers;
    const body = (payload ?? {}) as Record<string, unknown>;
    const prior = deferralOf(body.deferral);
    const attempts = job.attempts + prior.attemptsBefore;
    const maxAttempts = job.max_attempts + prior.attemptsBefore;
    const view = Object.create(helpers, {
      job: { value: { ...job, attempts, max_attempts: maxAttempts } },
    }) as typeof helpers;
    try {
      await task(payload, view);
    } catch (err) {
      if (!isRegistryBusy(err)) throw err;
      const next: Deferral = { attemptsBefore: attempts - 1, count: prior.count + 1 };
      const delay = Math.min(DEFER_MAX_MS, DEFER_BASE_MS * 2 ** Math.min(prior.count, 6));
      await helpers.addJob(
        job.task_identifier,
        { ...body, deferral: next },
        {
          runAt: new Date(Date.now() + delay * (0.75 + Math.random() / 2)),
          maxAttempts: maxAttempts - next.attemptsBefore,
          priority: job.priority,
          ...(job.key ? { jobKey: job.key, jobKeyMode: 'preserve_run_at' as const } : {}),
        },
      );
    }
  };
}

function deferralOf(v: unknown): Deferral {
  const d = (v ?? {}) as Partial<Deferral>;
  const whole = (n: unknown) => (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0);
  return { attemptsBefore: whole(d.attemptsBefore), count: whole(d.count) };
}

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

/** Longest a job waits in process for a slot of a registry whose fetches are all recent. */
export const BUDGET_WAIT_MS = 500;

interface Grant {
  startedAt: number;
}

interface Lane {
  limit: number;
  active: Set<Grant>;
  waiting: Array<(grant: Grant | undefined) => void>;
  refused: number;
}

/**
 * One in-process counting semaphore per registry. Worker slots are shared by every registry, so a
 * job must not wait long for a registry's slot while holding a worker slot. A job waits (at most
 * BUDGET_WAIT_MS, first come first served) only while every fetch in flight started less than
 * BUDGET_WAIT_MS ago: a busy but answering registry frees a slot within that time, so a burst on
 * one healthy registry is not churned through the queue. When a fetch in flight is older (a slow
 * or hung registry), or the wait runs out, the job is refused at once and gives its worker slot
 * back. The budget is per worker process; N worker replicas allow N times as many fetches.
 */
export class RegistryBudget {
  private readonly state = new Map<string, Lane>();

  constructor(
    limits: Record<string, number>,
    private readonly waitMs: number = BUDGET_WAIT_MS,
  ) {
    for (const [name, limit] of Object.entries(limits)) {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`budget of ${name} must be ≥ 1`);
      this.state.set(name, { limit, active: new Set(), waiting: [], refused: 0 });
    }
  }

  /** A release function, or undefined when the registry's budget stays used up. */
  async acquire(registry: string): Promise<(() => void) | undefined> {
    const lane = this.state.get(registry);
    if (!lane) return () => undefined;
    let grant: Grant | undefined;
    if (lane.active.size < lane.limit) {
      grant = { startedAt: Date.now() };
      lane.active.add(grant);
    } else if (this.allRecent(lane)) {
      grant = await this.wait(lane);
    }
    if (!grant) {
      lane.refused++;
      return undefined;
    }
    const held = grant;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      lane.active.delete(held);
      const next = lane.waiting.shift();
      if (next) {
        const handed = { startedAt: Date.now() };
        lane.active.add(handed);
        next(handed);
      }
    };
  }

  private allRecent(lane: Lane): boolean {
    const now = Date.now();
    for (const g of lane.active) if (now - g.startedAt >= this.waitMs) return false;
    return true;
  }

  private wait(lane: Lane): Promise<Grant | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = lane.waiting.indexOf(take);
        if (i >= 0) lane.waiting.splice(i, 1);
        resolve(undefined);
      }, this.waitMs);
      const take = (grant: Grant | undefined) => {
        clearTimeout(timer);
        resolve(grant);
      };
      lane.waiting.push(take);
    });
  }

  stats(registry: string): BudgetStats {
    const lane = this.state.get(registry);
    return { inFlight: lane?.active.size ?? 0, refused: lane?.refused ?? 0 };
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
    const release = await this.budget.acquire(this.registry);
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
const DEFER_MAX_MS = 10_000;

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

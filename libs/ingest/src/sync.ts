import { randomUUID } from 'node:crypto';
import {
  GroupCommit,
  type GraphRepository,
  type PushInput,
  type RegistryRepository,
  type SyncRepository,
  type SyncStateRow,
  type SyncStatus,
  type TrustRepository,
} from '#store';
import type { CatalogEntry, RegistryCatalog, RegistrySource } from './catalog.js';
import { reconcileRepository } from './reconcile.js';
import { RequestLimiter, sleep, TaskPool } from './sync-limiter.js';
import { emptySummary, isItemError, recordError, type SyncSummary } from './sync-summary.js';
import { collect, ReferrersProbe, RepositoryWalk, type WalkContext } from './sync-walk.js';

export interface SyncOptions {
  /** Only these repositories; default the whole catalog. */
  repositories?: string[];
  /** Also turn what the registry no longer has into deletes. */
  reconcile?: boolean;
  /** Stops the run between items; it ends `interrupted` and the next run with the same scope resumes. */
  signal?: AbortSignal;
  jobId?: string;
  onProgress?: (summary: Readonly<SyncSummary>) => void;
}

export interface SyncResult {
  status: Exclude<SyncStatus, 'running'>;
  summary: SyncSummary;
  error?: string;
}

export interface RegistrySyncDeps {
  catalog: RegistryCatalog;
  graph: GraphRepository;
  registries: RegistryRepository;
  sync: SyncRepository;
  /** Queues verification of signatures, attestations and SBOMs written by the walk. */
  trust?: Pick<TrustRepository, 'verifyJobs'>;
  /** Requests in flight per registry (config.sync.concurrency). */
  concurrency: number;
  /** Retry policy for registry calls; defaults suit real registries. */
  retries?: number;
  retryBaseDelayMs?: number;
  /** The client to walk a registry with; default the catalog's. */
  sourceFor?: (entry: CatalogEntry) => RegistrySource;
  /** Least time between two progress writes while repositories finish; default 1 s. */
  checkpointIntervalMs?: number;
}

export type SyncErrorCode = 'registry_unknown' | 'busy';

export class SyncError extends Error {
  constructor(
    readonly code: SyncErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/**
 * Backfill and reconcile of one configured registry: builds the graph webhook ingestion would
 * have built from what the registry holds now. One run per registry at a time (an advisory lock,
 * so the CLI and every service replica agree). Repositories are walked in name order, and the
 * run records how far it got, so a run that stopped early is continued by the next run with the
 * same scope. A digest already stored is not fetched by digest again, and a tag of a repository
 * the graph already holds tags of is resolved with HEAD; in a repository it holds no tag of, each
 * tag is read with one GET instead of HEAD and GET (see RepositoryWalk).
 */
export class RegistrySync {
  constructor(private readonly deps: RegistrySyncDeps) {}

  async run(registry: string, opts: SyncOptions = {}): Promise<SyncResult> {
    const entry = this.deps.catalog.byName(registry);
    const row = entry ? await this.deps.registries.findRegistryByName(registry) : null;
    if (!entry || !row)
      throw new SyncError('registry_unknown', `no registry named "${registry}" is configured`);
    const lock = await this.deps.sync.tryLock(entry.id);
    if (!lock) throw new SyncError('busy', `a sync of registry "${registry}" is already running`);
    try {
      return await this.locked(entry, row.referrersApi, opts);
    } finally {
      await lock.release();
    }
  }

  private async locked(
    entry: CatalogEntry,
    referrersApi: boolean | null,
    opts: SyncOptions,
  ): Promise<SyncResult> {
    const reconcile = opts.reconcile ?? false;
    const scope = opts.repositories?.length ? [...new Set(opts.repositories)].sort(byName) : null;
    const previous = await this.deps.sync.findState(entry.id);
    const resumeAfter = resumable(previous, reconcile, scope) ? previous!.resumeAfter : null;
    const resumed = resumable(previous, reconcile, scope);
    const runId = randomUUID();
    const summary = emptySummary(entry.config.name, reconcile);
    summary.resumed = resumed;
    summary.resumeAfter = resumeAfter;
    await this.deps.sync.beginRun(entry.id, {
      runId,
      jobId: opts.jobId ?? null,
      reconcile,
      scope,
      resumeAfter,
      resumed,
    });

    const limiter = new RequestLimiter({
      concurrency: this.deps.concurrency,
      ...(this.deps.retries === undefined ? {} : { retries: this.deps.retries }),
      ...(this.deps.retryBaseDelayMs === undefined ? {} : { baseDelayMs: this.deps.retryBaseDelayMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const ctx: WalkContext = {
      registryId: entry.id,
      source: this.deps.sourceFor?.(entry) ?? entry.client,
      limiter,
      graph: this.deps.graph,
      // Concurrent writes of the walk share statements and commits, as the worker's do; the walk
      // does not wait for them, so a batch gathers a while first (see WRITE_GATHER_MS).
      pushes: new GroupCommit((inputs: PushInput[]) => this.deps.graph.applyPushes(inputs), {
        maxBatch: WRITE_BATCH,
        lanes: 2,
        gather: () => sleep(WRITE_GATHER_MS),
      }),
      maxPendingPushes: WRITE_BACKLOG,
      registries: this.deps.registries,
      sync: this.deps.sync,
      ...(this.deps.trust ? { trust: this.deps.trust } : {}),
      probe: new ReferrersProbe(entry.id, referrersApi, this.deps.registries, summary),
      summary,
      width: this.deps.concurrency,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onManifest: () => opts.onProgress!(summary) } : {}),
    };
    let cursor = new Watermark([], resumeAfter);
    const progress = new Checkpoints(
      () => cursor.current,
      (at) => {
        Object.assign(summary, limiter.stats);
        return this.deps.sync.saveProgress(entry.id, runId, at, summary);
      },
      this.deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
      resumeAfter,
    );
    const finish = async (status: SyncResult['status'], error?: string): Promise<SyncResult> => {
      Object.assign(summary, limiter.stats);
      // The run's last watermark, which the interval may have held back, is stored before the end.
      if (progress.behind) await progress.flush();
      await this.deps.sync.finishRun(entry.id, runId, status, summary, error);
      opts.onProgress?.(summary);
      return { status, summary, ...(error === undefined ? {} : { error }) };
    };

    try {
      const names = await this.repositories(ctx, scope, reconcile);
      if (names === null)
        return await finish('failed', summary.errorSamples[0]?.message ?? 'catalog unavailable');
      const todo = names.filter((n) => resumeAfter === null || byName(n, resumeAfter) > 0);
      summary.repositoriesTotal = todo.length;
      cursor = new Watermark(todo, resumeAfter);
      const pool = new TaskPool(this.deps.concurrency, opts.signal);
      todo.forEach((name, i) =>
        pool.add(async () => {
          const walk = await new RepositoryWalk(ctx, name).run();
          // A walk cut short saw only part of the repository: nothing may be deleted on its word,
          // and the repository is not finished.
          if (opts.signal?.aborted) return;
          if (reconcile) await reconcileRepository(ctx, this.deps.sync, name, walk);
          if (opts.signal?.aborted) return;
          summary.repositories++;
          cursor.done(i);
          await progress.tick();
          opts.onProgress?.(summary);
        }),
      );
      await pool.run();
      if (opts.signal?.aborted)
        return await finish('interrupted', 'stopped before the end; the next run resumes');
      return await finish('done');
    } catch (err) {
      await progress.flush().catch(() => undefined);
      if (opts.signal?.aborted)
        return await finish('interrupted', 'stopped before the end; the next run resumes');
      await finish('failed', err instanceof Error ? err.message : String(err)).catch(() => undefined);
      throw err;
    }
  }

  /** The repositories to walk, sorted; null when the catalog could not be read. */
  private async repositories(
    ctx: WalkContext,
    scope: string[] | null,
    reconcile: boolean,
  ): Promise<string[] | null> {
    if (scope) return scope;
    let names: string[];
    try {
      names = await ctx.limiter.call(() => collect(ctx.source.listRepositories()));
    } catch (err) {
      if (!isItemError(err)) throw err;
      recordError(ctx.summary, err, undefined, '_catalog');
      return null;
    }
    // A repository gone from the catalog may still hold content in the graph: reconcile checks it.
    if (reconcile) names.push(...(await this.deps.sync.repositoriesWithContent(ctx.registryId)));
    return [...new Set(names)].sort(byName);
  }
}

function resumable(prev: SyncStateRow | null, reconcile: boolean, scope: string[] | null): boolean {
  if (!prev || prev.status === 'done') return false;
  return prev.reconcile === reconcile && JSON.stringify(prev.scope) === JSON.stringify(scope);
}

/** Code-unit order, the same in every run and in Postgres' "C" collation. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const CHECKPOINT_INTERVAL_MS = 1000;
/**
 * A sync's writes: up to WRITE_BATCH pushes per statement, each batch gathering for up to
 * WRITE_GATHER_MS. A registry answering 500 manifests/s so fills about 25 per statement instead of
 * the one or two that arrive while the previous commit is in flight. Each statement costs Postgres
 * and the walk about as much again as its rows (measured: 3,000 pushes in 400 statements took
 * 1.5 s of Postgres CPU, in 150-190 statements 1.1-1.25 s), on the two cores the walk, the
 * registry and the database share. Nothing waits for a batch but the end of each repository.
 */
const WRITE_BATCH = 200;
const WRITE_GATHER_MS = 50;
/** Pushes waiting for their batch before the walk waits for them (a database slower than the registry). */
const WRITE_BACKLOG = 4 * WRITE_BATCH;

/**
 * The run's progress writes (watermark and summary): one at a time and in order, so a later
 * watermark is never overwritten by an earlier one, and while repositories finish at most one per
 * interval. Each write stores the state current when it runs. A run that ends any way but a
 * killed process flushes the last watermark; a killed one resumes from the last write, at most an
 * interval behind, and redoes those repositories without fetching what they stored.
 */
class Checkpoints {
  private last = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly current: () => string | null,
    private readonly save: (resumeAfter: string | null) => Promise<void>,
    private readonly intervalMs: number,
    /** What the row holds now (the run began with it). */
    private stored: string | null,
  ) {}

  /** A repository finished: write unless the last write is more recent than the interval. */
  tick(): Promise<void> {
    return Date.now() - this.last < this.intervalMs ? Promise.resolve() : this.flush();
  }

  /** Whether the watermark moved past what the row holds. */
  get behind(): boolean {
    return this.current() !== this.stored;
  }

  flush(): Promise<void> {
    this.last = Date.now();
    const run = this.chain.then(async () => {
      const resumeAfter = this.current();
      await this.save(resumeAfter);
      this.stored = resumeAfter;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** The last name of the longest finished prefix of `names`: everything up to it is done. */
class Watermark {
  private readonly finished = new Set<number>();
  private next = 0;
  current: string | null;

  constructor(
    private readonly names: string[],
    start: string | null,
  ) {
    this.current = start;
  }

  done(index: number): string | null {
    this.finished.add(index);
    while (this.finished.has(this.next)) this.next++;
    if (this.next > 0) this.current = this.names[this.next - 1]!;
    return this.current;
  }
}

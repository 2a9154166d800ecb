// The job runner (graphile-worker) of a worker process, supervised: replaced when it stops or stalls.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, run, runMigrations, type Runner, type Task, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import { countRunnableJobs, planQueueStatementsPerCall, WorkerPresence } from '#store';
import { WorkerHealth } from './worker-health.js';

export interface LogSink {
  log(level: 'error' | 'warn' | 'info' | 'debug', message: string, meta?: Record<string, unknown>): void;
}

function workerLogger(sink: LogSink | undefined): Logger {
  return new Logger(() => (level, message, meta) => {
    if (!sink) return;
    const l = String(level) === 'error' ? 'error' : String(level) === 'warning' ? 'warn' : 'debug';
    sink.log(l, `queue: ${message}`, meta);
  });
}

/** graphile-worker's own schema; it takes its own lock, so concurrent start-ups are safe. */
export async function migrateQueue(pool: pg.Pool): Promise<void> {
  await runMigrations({ pgPool: pool, logger: workerLogger(undefined) });
  await planQueueStatementsPerCall(pool);
}

/** How long stop() waits for running jobs before leaving them to the queue (they run again). */
export const DRAIN_DEADLINE_MS = 10_000;
/** A pool shutting down by itself that has not finished after this long is abandoned. */
export const DYING_POOL_GRACE_MS = 5_000;
/** No pick-up for this long (at least) while jobs wait and slots are free: the pool is stalled. */
export const MIN_STALL_MS = 10_000;

export interface QueueWorkerOptions {
  pool: pg.Pool;
  concurrency: number;
  pollInterval: number;
  tasks: Record<string, Task>;
  log?: LogSink;
  /** Updated as the runner starts, stalls, restarts and stops (read by /readyz). */
  health?: WorkerHealth;
  drainDeadlineMs?: number;
  stallMs?: number;
}

function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Starts the job runner and keeps it taking jobs until stop().
 *
 * graphile-worker stops its pool when it cannot record a job's outcome (connection terminated or
 * refused are not among its retryable errors), and its batcher can then wait forever for the
 * outcome it never recorded: the pool neither takes jobs nor finishes shutting down. So the pool
 * is replaced, with backoff, when (a) it finishes, (b) it starts shutting down by itself and is
 * not done within DYING_POOL_GRACE_MS, or (c) jobs are runnable, worker slots are free and it
 * picked none up for the stall time (a heartbeat of pick-ups against the backlog). A replaced
 * pool is killed without waiting and its advisory presence dropped, so its locked jobs are
 * reclaimed by the presence sweep (WorkerPresence) and run again (processing is idempotent).
 * stop() drains for at most DRAIN_DEADLINE_MS, then leaves running jobs to the queue.
 */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<Runner> {
  const log = (level: 'error' | 'warn' | 'info', message: string, meta?: Record<string, unknown>) =>
    opts.log?.log(level, `queue: ${message}`, meta);
  const health = opts.health ?? new WorkerHealth();
  const drainMs = opts.drainDeadlineMs ?? DRAIN_DEADLINE_MS;
  const stallMs = opts.stallMs ?? Math.max(MIN_STALL_MS, 5 * opts.pollInterval);
  const presence = new WorkerPresence(opts.pool, {
    onError: (err) => log('warn', 'worker presence', { error: String(err) }),
    onHeld: (held) => health.presenceHeld(held),
  });
  const events: WorkerEvents = new EventEmitter();

  // The pool the current runner owns (pool:create fires while run() starts it) and its heartbeat.
  let poolId: string | undefined;
  let lastCreated: string | undefined;
  let active = 0;
  let dyingSince: number | undefined;
  let waitingSince: number | undefined;
  // Jobs are locked in the name of the pool (one per process), not of its individual workers; a
  // released pool's leftover locks become reclaimable.
  events.on('pool:create', ({ workerPool }) => {
    lastCreated = workerPool.id;
    presence.add(workerPool.id);
  });
  events.on('pool:release', ({ workerPool }) => void presence.remove(workerPool.id));
  events.on('job:start', ({ worker }) => {
    if (worker.workerPool.id !== poolId) return;
    active++;
    waitingSince = undefined;
    health.pickedUp();
  });
  events.on('job:complete', ({ worker }) => {
    if (worker.workerPool.id === poolId) active = Math.max(0, active - 1);
  });
  const dying = ({ workerPool }: { workerPool: { id: string } }) => {
    if (workerPool.id !== poolId || stopping) return;
    dyingSince ??= Date.now();
    health.set('restarting', 'the job runner is shutting down after an error');
  };
  events.on('pool:gracefulShutdown', dying);
  events.on('pool:forcefulShutdown', dying);

  const start = async () => {
    const runner = await run({
      pgPool: opts.pool,
      concurrency: opts.concurrency,
      pollInterval: opts.pollInterval,
      noHandleSignals: true,
      taskList: opts.tasks,
      logger: workerLogger(opts.log),
      events,
      // Unbatched, graphile-worker does not await recording a failed job, so a database outage
      // became an unhandled rejection that killed the process; batched, the error reaches its
      // handler, which stops the pool (and the supervisor below starts a new one).
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
    poolId = lastCreated;
    active = 0;
    dyingSince = undefined;
    waitingSince = undefined;
    return runner;
  };

  let stopping = false;
  const halted = new AbortController();
  let current = await start();
  health.set('running');
  let replacing: Promise<void> | undefined;

  /** Replaces `runner` (if still current) by a new one, with backoff, unless stopping. */
  const replace = (runner: Runner, why: string, abandon: boolean) => {
    if (stopping || runner !== current || replacing) return;
    replacing = (async () => {
      log('error', 'job runner stopped taking jobs; starting a new one', { reason: why });
      health.set('restarting', why);
      health.restarted();
      const old = poolId;
      poolId = undefined;
      if (abandon) {
        // Not awaited: a stuck pool may never finish. Dropping its presence lets the sweep hand
        // its locked jobs back.
        void runner.kill(why).catch(() => undefined);
        if (old) void presence.remove(old);
      }
      for (let delayMs = 1000; !stopping; delayMs = Math.min(delayMs * 2, 30_000)) {
        await sleep(delayMs, undefined, { signal: halted.signal }).catch(() => undefined);
        if (stopping) return;
        try {
          const next = await start();
          current = next;
          // stop() came while it was starting: it must not outlive the service.
          if (stopping) return void (await next.stop().catch(() => undefined));
          health.set('running');
          supervise(next);
          return;
        } catch (err) {
          log('warn', 'job runner could not start yet', { error: String(err) });
        }
      }
    })().finally(() => {
      replacing = undefined;
    });
  };
  const supervise = (runner: Runner) => {
    runner.promise.then(
      () => replace(runner, 'stopped', false),
      (err: unknown) => replace(runner, String(err), false),
    );
  };
  supervise(current);

  // The heartbeat: pick-ups against the backlog, and pools that never finish shutting down.
  let checking = false;
  const check = async () => {
    if (stopping || replacing || checking) return;
    checking = true;
    try {
      const now = Date.now();
      if (dyingSince !== undefined && now - dyingSince > DYING_POOL_GRACE_MS) {
        return replace(
          current,
          `the job runner did not finish shutting down within ${DYING_POOL_GRACE_MS} ms`,
          true,
        );
      }
      if (active >= opts.concurrency) return void (waitingSince = undefined); // busy, not stuck
      const runnable = await countRunnableJobs(opts.pool);
      if (runnable === 0) return void (waitingSince = undefined);
      waitingSince ??= now;
      if (Date.now() - waitingSince > stallMs) {
        replace(current, `no job picked up for ${stallMs} ms while ${runnable} wait`, true);
      }
    } catch {
      // Database away: readiness reports it; pick-ups resume or the runner stops by itself.
    } finally {
      checking = false;
    }
  };
  const heartbeat = setInterval(() => void check(), Math.max(1000, opts.pollInterval));
  heartbeat.unref();
  void presence.start();

  const halt = async (how: 'stop' | 'kill', reason?: string) => {
    stopping = true;
    halted.abort();
    clearInterval(heartbeat);
    health.set('stopping');
    try {
      const ended = current[how](reason).catch((err: unknown) => {
        // Already stopped by itself: nothing left to stop.
        if (!String(err).includes('already')) throw err;
      });
      if (!(await settleWithin(ended, drainMs))) {
        log('warn', `drain deadline of ${drainMs} ms passed; running jobs are left to the queue`, {
          active,
        });
        void current.kill('drain deadline passed').catch(() => undefined);
      }
      await settleWithin(replacing ?? Promise.resolve(), 1000);
    } finally {
      await presence.stop();
      health.set('stopped');
    }
  };
  return {
    get addJob() {
      return current.addJob;
    },
    get promise() {
      return current.promise;
    },
    events,
    stop: (reason?: string) => halt('stop', reason),
    kill: (reason?: string) => halt('kill', reason),
  };
}

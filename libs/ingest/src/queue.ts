import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, run, runMigrations, type Runner, type Task, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import { WorkerPresence } from '#store';

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
}

export interface QueueWorkerOptions {
  pool: pg.Pool;
  concurrency: number;
  pollInterval: number;
  tasks: Record<string, Task>;
  log?: LogSink;
}

/**
 * Starts the job runner and keeps it running. Jobs of a worker process that died without shutting
 * down (SIGKILL) are handed back to the queue within seconds by the survivors (WorkerPresence), not
 * after graphile-worker's 4-hour lock expiry. graphile-worker stops its pool for good when it cannot
 * record a job's outcome (Postgres restarting: connection refused or terminated are not among its
 * retryable errors); a stopped pool is replaced, with backoff, until stop() is called.
 */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<Runner> {
  const presence = new WorkerPresence(opts.pool, {
    onError: (err) => opts.log?.log('warn', 'queue: worker presence', { error: String(err) }),
  });
  const events: WorkerEvents = new EventEmitter();
  // Jobs are locked in the name of the pool (one per process), not of its individual workers; a
  // released pool's leftover locks become reclaimable.
  events.on('pool:create', ({ workerPool }) => presence.add(workerPool.id));
  events.on('pool:release', ({ workerPool }) => void presence.remove(workerPool.id));
  const start = () =>
    run({
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

  let stopping = false;
  const halted = new AbortController();
  let current = await start();
  let restarting: Promise<void> = Promise.resolve();
  const supervise = (runner: Runner) => {
    restarting = runner.promise.then(
      () => restart(runner, 'stopped'),
      (err: unknown) => restart(runner, String(err)),
    );
  };
  const restart = async (runner: Runner, why: string) => {
    if (stopping || runner !== current) return;
    opts.log?.log('error', 'queue: job runner stopped unexpectedly; starting a new one', { reason: why });
    for (let delayMs = 1000; !stopping; delayMs = Math.min(delayMs * 2, 30_000)) {
      await sleep(delayMs, undefined, { signal: halted.signal }).catch(() => undefined);
      if (stopping) return;
      try {
        current = await start();
        // stop() came while it was starting: it must not outlive the service.
        if (stopping) return await current.stop();
        supervise(current);
        return;
      } catch (err) {
        opts.log?.log('warn', 'queue: job runner could not start yet', { error: String(err) });
      }
    }
  };
  supervise(current);
  void presence.start();
  const halt = async (how: 'stop' | 'kill', reason?: string) => {
    stopping = true;
    halted.abort();
    try {
      await current[how](reason).catch((err: unknown) => {
        // Already stopped by itself: nothing left to stop.
        if (!String(err).includes('already')) throw err;
      });
      await restarting;
    } finally {
      await presence.stop();
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

import type { Runner, WorkerPool } from 'graphile-worker';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#testing';
import { startQueueWorker, type LogSink } from './queue.js';
import { WorkerHealth } from './worker-health.js';

/**
 * The supervisor on a real graphile-worker and Postgres. A pool that starts shutting down by
 * itself and never finishes (what graphile-worker 0.17 can do after it failed to record a job's
 * outcome twice) is produced on cue by asking the real pool to shut down while one of its jobs
 * hangs: the supervisor must replace it, report not ready meanwhile, and stop within its drain
 * deadline while a job still hangs.
 */

let tdb: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  tdb = await createTestDatabase();
  pool = new pg.Pool({ connectionString: tdb.url, max: 8 });
  pool.on('error', () => undefined);
});

afterAll(async () => {
  await pool.end();
  await tdb.drop();
});

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('replaces a pool that never finishes shutting down, reports it, and stops within the drain deadline', async () => {
  const logs: string[] = [];
  const sink: LogSink = { log: (level, message) => void logs.push(`${level} ${message}`) };
  const health = new WorkerHealth();
  const hang = gate();
  let hangsStarted = 0;
  const done: string[] = [];
  const states = new Set<string>();
  let runner: Runner | undefined;
  try {
    runner = await startQueueWorker({
      pool,
      concurrency: 2,
      pollInterval: 100,
      health,
      log: sink,
      drainDeadlineMs: 1000,
      tasks: {
        hang: async () => {
          hangsStarted++;
          await hang.opened;
        },
        ok: async (payload) => {
          done.push((payload as { n: string }).n);
        },
      },
    });
    expect(health.snapshot()).toMatchObject({ state: 'running', restarts: 0 });
    const pools: WorkerPool[] = [];
    runner.events.on('job:start', ({ worker }) => {
      if (!pools.includes(worker.workerPool)) pools.push(worker.workerPool);
    });

    await runner.addJob('hang', {}, { maxAttempts: 1 });
    await until('the hanging job', () => hangsStarted === 1);
    // The real pool shuts down by itself; it cannot finish while its job hangs.
    void Promise.resolve(pools[0]!.gracefulShutdown('shutting down by itself')).catch(() => undefined);
    states.add(health.state);
    expect(health.ready).toBe(false);

    await runner.addJob('ok', { n: 'after' });
    await until('a job on the new pool', () => done.includes('after'));
    expect(pools.length).toBe(2);
    expect(health.snapshot()).toMatchObject({ state: 'running', restarts: 1 });
    expect(health.ready).toBe(true);
    expect(logs.filter((l) => l.includes('starting a new one'))).toEqual([
      expect.stringMatching(/^error queue: job runner stopped taking jobs/),
    ]);

    // stop() with a job that never ends returns at the drain deadline and leaves it to the queue.
    await runner.addJob('hang', {}, { maxAttempts: 1 });
    await until('the second hanging job', () => hangsStarted === 2);
    await runner.stop();
    runner = undefined;
    expect(health.state).toBe('stopped');
    expect(health.ready).toBe(false);
    expect(logs.filter((l) => l.includes('drain deadline'))).toHaveLength(1);
    expect([...states]).toEqual(['restarting']);
  } finally {
    hang.open();
    await runner?.kill().catch(() => undefined);
  }
}, 60_000);

import { createTestDatabase, startHttpStub, type HttpStub, type TestDatabase } from '#testing';
import {
  buildCorpus,
  envelopes,
  manifestHandler,
  NOTIFICATION_TYPE,
  prng,
  shuffle,
  storedGraph,
  currentTags,
} from './corpus.js';
import { ensureBuilt, eventCounts, sql, startService, stopAll, type ServiceProcess } from './service.js';

/**
 * A worker process killed with SIGKILL in the middle of a 10,000-event ingestion, then started
 * again: every event ends processed exactly once in effect and the graph is the one the stream
 * describes. The manifests are served by a loopback stand-in registry (real bytes, real digests):
 * the real registry cannot be filled with thousands of manifests within the time budget.
 */

const EVENTS = 10_000;
const CONCURRENCY = 8;
const token = 'fault-hook-token-0123456789';
const corpus = buildCorpus(EVENTS, 1);

let tdb: TestDatabase;
let registry: HttpStub;
let api: ServiceProcess;
let worker: ServiceProcess;

const config = (url: string) => ({
  registries: [
    {
      name: 'local',
      kind: 'distribution',
      url,
      webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK_TOKEN' } },
    },
  ],
  worker: { concurrency: CONCURRENCY, pollIntervalMs: 200 },
  server: { host: '127.0.0.1', rateLimitPerMinute: 0 },
});

beforeAll(async () => {
  await ensureBuilt();
  tdb = await createTestDatabase();
  registry = await startHttpStub(manifestHandler(corpus.served, undefined, currentTags(corpus.expected)));
}, 330_000);

afterAll(async () => {
  await stopAll();
  await registry?.stop();
  await tdb?.drop();
});

async function post(base: string, body: string): Promise<number> {
  const res = await fetch(`${base}/webhooks/local`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': NOTIFICATION_TYPE },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Posts every body with `parallel` senders; returns the statuses. */
async function deliver(base: string, bodies: string[], parallel: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < bodies.length) statuses.push(await post(base, bodies[next++]!));
    }),
  );
  return statuses;
}

it('loses nothing and duplicates nothing when the worker is SIGKILLed mid-ingestion', async () => {
  const started = Date.now();
  const env = { HOOK_TOKEN: token };
  const cfg = config(registry.url);
  api = await startService({ role: 'api', databaseUrl: tdb.url, config: cfg, env });
  worker = await startService({ role: 'worker', databaseUrl: tdb.url, config: cfg, env });

  // Senders reorder and batch: the stream goes out shuffled, 10 events per envelope.
  const bodies = shuffle(envelopes(corpus.events, 10), prng(2));
  const sending = deliver(api.url, bodies, 8);

  // Kill the worker once a good part is done while deliveries are still arriving.
  const killDeadline = Date.now() + 120_000;
  let doneAtKill = 0;
  while (Date.now() < killDeadline) {
    doneAtKill = (await eventCounts(tdb.url)).done;
    if (doneAtKill >= EVENTS * 0.3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const inFlight = await sql<{ n: string }>(
    tdb.url,
    `SELECT count(*) AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL`,
  );
  expect(await worker.kill('SIGKILL')).toBe('SIGKILL');
  const killedAt = Date.now();
  const statuses = await sending;
  // Redeliveries of a tenth of the envelopes (same sender event ids) are absorbed.
  statuses.push(...(await deliver(api.url, bodies.slice(0, bodies.length / 10), 4)));

  worker = await startService({ role: 'worker', databaseUrl: tdb.url, config: cfg, env });
  const deadline = Date.now() + 180_000;
  let counts = await eventCounts(tdb.url);
  while ((counts.pending > 0 || counts.jobs > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    counts = await eventCounts(tdb.url);
  }
  const recoveredMs = Date.now() - killedAt;

  const graph = await storedGraph(async (q) => sql(tdb.url, q));
  const report = {
    events: EVENTS,
    envelopes: statuses.length,
    doneAtKill,
    lockedAtKill: Number(inFlight[0]!.n),
    counts,
    reruns: counts.attempts - counts.total,
    recoveredMs,
    totalMs: Date.now() - started,
    edges: graph.edges.length,
    locations: graph.locations.length,
  };
  process.stdout.write(`worker-kill figures: ${JSON.stringify(report)}\n`);
  if (counts.pending > 0) process.stdout.write(`worker output:\n${worker.output().slice(-4000)}\n`);

  expect(statuses.filter((s) => s !== 202)).toEqual([]);
  expect(counts).toMatchObject({ total: EVENTS, pending: 0, ...corpus.outcomes, failed: 0, jobs: 0 });
  // Only jobs in flight at the kill may run a second time (idempotently); nothing else repeats.
  expect(counts.attempts - counts.total).toBeLessThanOrEqual(CONCURRENCY);
  expect(graph.duplicateEdges).toBe(0);
  expect(graph.edges).toEqual(corpus.expected.edges);
  expect(graph.locations).toEqual(corpus.expected.locations);
  expect(graph.tags).toEqual(corpus.expected.tags);
  expect(api.hasExited()).toBe(false);
  expect(worker.hasExited()).toBe(false);
}, 330_000);

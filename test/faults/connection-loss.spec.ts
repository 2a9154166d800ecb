import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpStub, type HttpStub } from '#testing';
import { buildCorpus, envelopes, manifestHandler, storedGraph, currentTags } from './corpus.js';
import {
  ensureBuilt,
  settledCounts,
  sql,
  startOwnPostgres,
  startWebhookService,
  stopAll,
  type OwnPostgres,
  type ServiceProcess,
  type WebhookService,
} from './service.js';

/**
 * Every database connection of a running refgraph (api and worker in one process) terminated
 * again and again during ingestion (failover, pgbouncer restart, an idle reaper): the worker must
 * keep taking jobs, every event it acknowledged ends processed, and /readyz ends ready. Then a
 * SIGTERM while every worker slot is stuck on a registry that never answers: the process exits
 * within its shutdown deadline. The cluster is this file's own (pg_terminate_backend hits every
 * backend of its database); the registry is a loopback stand-in serving real manifest bytes.
 */

const EVENTS = 1200;
const CONCURRENCY = 8;
/** Each manifest is served this late, so jobs are in flight whenever connections are cut. */
const REGISTRY_DELAY_MS = 100;
/** Milliseconds between rounds of terminations: several under a second apart. */
const ROUNDS_MS = [1500, 300, 700, 200, 900, 400, 1500, 250];
/** What SIGTERM must take at most: the worker's drain deadline (10 s) plus closing the rest. */
const SHUTDOWN_BOUND_MS = 25_000;
/**
 * The hanging registry's first-byte timeout: well past the drain deadline, so the jobs are still
 * stuck when the deadline passes (with the 10 s default they fail on their own at the same moment).
 */
const HANG_FIRST_BYTE_MS = 60_000;
const token = 'conn-loss-hook-token-0123456789';
const corpus = buildCorpus(EVENTS, 11, 6);
const HANG_REPO = 'hang/app';

let pgServer: OwnPostgres;
let registry: HttpStub;
let world: WebhookService;
let service: ServiceProcess;
const hung = new Set<ServerResponse>();

beforeAll(async () => {
  await ensureBuilt();
  pgServer = await startOwnPostgres('conn-loss');
  const serve = manifestHandler(corpus.served, undefined, currentTags(corpus.expected));
  registry = await startHttpStub((req: IncomingMessage, res: ServerResponse) => {
    // A registry that accepts the connection and never answers (until the test ends).
    if (req.url?.startsWith(`/v2/${HANG_REPO}/`)) return void hung.add(res);
    setTimeout(() => serve(req, res), REGISTRY_DELAY_MS);
  });
}, 240_000);

afterAll(async () => {
  await stopAll();
  for (const res of hung) res.destroy();
  await registry?.stop();
  await pgServer?.destroy();
});

const post = (body: string) => world.post(body);
const readyz = () => world.readyz();

/** Terminates every other backend of the database; returns how many it terminated. */
async function terminateAll(url: string): Promise<number> {
  const [r] = await sql<{ n: string }>(
    url,
    `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
     WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'`,
  );
  return Number(r!.n);
}

it('keeps taking jobs through repeated connection loss and processes every acknowledged event', async () => {
  const url = pgServer.url;
  world = await startWebhookService({
    databaseUrl: url,
    registryUrl: registry.url,
    token,
    concurrency: CONCURRENCY,
    // Every worker slot may fetch from the registry at once (the default budget is half of them),
    // so in the shutdown case every slot can be stuck on it.
    registry: {
      concurrency: CONCURRENCY,
      timeouts: { connectMs: 5_000, firstByteMs: HANG_FIRST_BYTE_MS },
    },
  });
  service = world.service;
  const bodies = envelopes(corpus.events, 1);
  const acked = new Set<number>();
  const refused: number[] = [];
  let next = 0;
  // Four senders at once, so a backlog builds up faster than the worker drains it.
  const sender = Promise.all(
    Array.from({ length: 4 }, async () => {
      const deadline = Date.now() + 120_000;
      while (next < bodies.length && Date.now() < deadline) {
        const i = next++;
        const status = await post(bodies[i]!);
        if (status >= 200 && status < 300) acked.add(i);
        else refused.push(i);
      }
    }),
  );

  // Terminations start once the worker is busy with a backlog.
  while (acked.size < 300 && !service.hasExited()) await new Promise((r) => setTimeout(r, 50));
  const terminated: number[] = [];
  const readyDuring = new Set<number>();
  for (const gap of ROUNDS_MS) {
    terminated.push(await terminateAll(url));
    readyDuring.add((await readyz()).status);
    await new Promise((r) => setTimeout(r, gap));
  }
  await sender;
  // The sender retries what was refused (bounded: three rounds), as Distribution does.
  for (let round = 0; round < 3 && refused.length > 0; round++) {
    for (const i of refused.splice(0)) {
      const status = await post(bodies[i]!);
      if (status >= 200 && status < 300) acked.add(i);
      else refused.push(i);
    }
  }

  const lastTermination = Date.now();
  const counts = await settledCounts(url);
  const drainedAfterMs = Date.now() - lastTermination;
  const ready = await readyz();
  const stored = new Set(
    (await sql<{ sender_event_id: string }>(url, 'SELECT sender_event_id FROM webhook_event')).map(
      (r) => r.sender_event_id,
    ),
  );
  const lost = [...acked].filter((i) => !stored.has(corpus.events[i]!.id));
  const graph = await storedGraph(async (q) => sql(url, q));
  const reasons = service
    .output()
    .split('\n')
    .filter((l) => l.includes('starting a new one'))
    .map((l) => /"reason":"([^"]*)"/.exec(l)?.[1]);
  process.stdout.write(
    `connection-loss figures: ${JSON.stringify({
      events: EVENTS,
      acked: acked.size,
      terminatedPerRound: terminated,
      readyzDuringTerminations: [...readyDuring],
      drainedAfterMs,
      counts,
      lost: lost.length,
      restartReasons: reasons,
      readyz: ready,
    })}\n`,
  );
  if (counts.pending > 0) process.stdout.write(`refgraph output:\n${service.output().slice(-6000)}\n`);

  expect(service.hasExited()).toBe(false);
  expect(terminated.filter((n) => n > 0).length).toBeGreaterThanOrEqual(ROUNDS_MS.length - 1);
  expect(refused).toEqual([]);
  expect(lost).toEqual([]);
  expect(acked.size).toBe(EVENTS);
  expect(counts).toMatchObject({ total: EVENTS, pending: 0, failed: 0, jobs: 0 });
  expect(counts.done + counts.skipped).toBe(EVENTS);
  expect(graph.duplicateEdges).toBe(0);
  expect(graph.edges).toEqual(corpus.expected.edges);
  expect(graph.locations).toEqual(corpus.expected.locations);
  expect(graph.tags).toEqual(corpus.expected.tags);
  expect(ready).toEqual({
    status: 200,
    body: expect.objectContaining({ status: 'ready', worker: 'running' }),
  });
}, 300_000);

it('exits within its shutdown deadline on SIGTERM while every worker slot hangs on a registry', async () => {
  expect(service.hasExited()).toBe(false);
  // Twice as many events as worker slots, each on the registry that never answers.
  const hangs = Array.from({ length: CONCURRENCY * 2 }, (_, i) =>
    JSON.stringify({
      events: [
        {
          id: `hang-${i}`,
          timestamp: new Date().toISOString(),
          action: 'push',
          target: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${randomBytes(32).toString('hex')}`,
            repository: HANG_REPO,
          },
        },
      ],
    }),
  );
  for (const body of hangs) expect(await post(body)).toBe(202);
  const started = Date.now();
  while (hung.size < CONCURRENCY && Date.now() - started < 30_000)
    await new Promise((r) => setTimeout(r, 50));
  expect(hung.size).toBe(CONCURRENCY);

  const signalled = Date.now();
  service.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    service.exited,
    new Promise<string>((r) => (timer = setTimeout(() => r('still running'), SHUTDOWN_BOUND_MS))),
  ]);
  clearTimeout(timer);
  const exitedAfterMs = Date.now() - signalled;
  process.stdout.write(`connection-loss shutdown figures: ${JSON.stringify({ outcome, exitedAfterMs })}\n`);
  if (outcome === 'still running')
    process.stdout.write(`refgraph output:\n${service.output().slice(-4000)}\n`);
  expect(outcome).toBe('exit 0');
  expect(service.output()).toMatch(/drain deadline/);
}, 120_000);

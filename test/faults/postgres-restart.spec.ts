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
 * Postgres stopped and started again under a running refgraph (api and worker in one process) that
 * keeps receiving webhooks: /readyz says 503 while it is away, every delivery during the outage is
 * refused with a 5xx (never acknowledged), the process recovers by itself, and every event it
 * acknowledged is processed. The sender retries refused deliveries, as Distribution does.
 *
 * Twice: a fast shutdown, and a crash (immediate shutdown: WAL not yet flushed is lost, and the
 * server recovers from the WAL on disk). The job runner commits without waiting for the flush, so
 * the crash takes the last of its writes — which must be redone, never lost or half-kept.
 */

const EVENTS = 1500;
const OUTAGE_MS = 8000;
const token = 'pg-restart-hook-token-0123456789';
const corpus = buildCorpus(EVENTS, 7, 5);

const clusters: OwnPostgres[] = [];
let registry: HttpStub;

beforeAll(async () => {
  await ensureBuilt();
  registry = await startHttpStub(manifestHandler(corpus.served, undefined, currentTags(corpus.expected)));
}, 240_000);

afterAll(async () => {
  await stopAll();
  await registry?.stop();
  for (const c of clusters) await c.destroy();
});

it.each(['stop', 'crash'] as const)(
  'reports not ready, refuses, recovers by itself and loses nothing it acknowledged (%s)',
  async (how) => {
    const pgServer = await startOwnPostgres(`pg-${how}`);
    clusters.push(pgServer);
    const url = pgServer.url;
    const world: WebhookService = await startWebhookService({
      databaseUrl: url,
      registryUrl: registry.url,
      token,
      concurrency: 4,
    });
    const service: ServiceProcess = world.service;
    const post = (body: string) => world.post(body);
    const readyz = async () => (await world.readyz()).status;
    // One event per envelope, like Distribution: each acknowledgement covers exactly one event.
    const bodies = envelopes(corpus.events, 1);
    const acked = new Set<number>();
    const refused: number[] = [];
    const statuses = new Map<number, number>();
    let phase = 'before' as 'before' | 'down' | 'restarting' | 'after';
    const duringOutage: number[] = [];
    const readyDuringOutage: number[] = [];

    let next = 0;
    const sender = (async () => {
      // Bounded by count (each POST by its own timeout), not by a clock: a slow machine sends fewer
      // per second, never fewer in all.
      while (next < bodies.length) {
        const i = next++;
        const was = phase;
        const status = await post(bodies[i]!);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (was === 'down' && phase === 'down') duringOutage.push(status);
        if (status >= 200 && status < 300) acked.add(i);
        else refused.push(i);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    await new Promise((r) => setTimeout(r, 3000));
    const ackedBefore = acked.size;
    await (how === 'crash' ? pgServer.crash() : pgServer.stop());
    phase = 'down';
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < OUTAGE_MS) {
      readyDuringOutage.push(await readyz());
      await new Promise((r) => setTimeout(r, 250));
    }
    // From here on Postgres may already answer: a 2xx is correct again, so it no longer counts as
    // a delivery during the outage.
    phase = 'restarting';
    await pgServer.start();
    const restartedAt = Date.now();
    let readyAfterMs = -1;
    while (Date.now() - restartedAt < 60_000) {
      if ((await readyz()) === 200) {
        readyAfterMs = Date.now() - restartedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    phase = 'after';
    await sender;
    // The sender retries what was refused (bounded: three rounds).
    for (let round = 0; round < 3 && refused.length > 0; round++) {
      for (const i of refused.splice(0)) {
        const status = await post(bodies[i]!);
        if (status >= 200 && status < 300) acked.add(i);
        else refused.push(i);
      }
    }

    // Everything acknowledged must be stored, and processed.
    const counts = await settledCounts(url);
    const processedAfterMs = Date.now() - restartedAt;
    const storedIds = new Set(
      (await sql<{ sender_event_id: string }>(url, 'SELECT sender_event_id FROM webhook_event')).map(
        (r) => r.sender_event_id,
      ),
    );
    const lost = [...acked].filter((i) => !storedIds.has(corpus.events[i]!.id));
    const graph = await storedGraph(async (q) => sql(url, q));
    process.stdout.write(
      `postgres-restart figures: ${JSON.stringify({
        how,
        events: EVENTS,
        ackedBeforeOutage: ackedBefore,
        deliveriesDuringOutage: duringOutage.length,
        statuses: Object.fromEntries(statuses),
        readyzDuringOutage: [...new Set(readyDuringOutage)],
        readyAfterMs,
        processedAfterMs,
        counts,
        lost: lost.length,
      })}\n`,
    );

    if (service.hasExited()) process.stdout.write(`refgraph output:\n${service.output().slice(-6000)}\n`);
    expect(service.hasExited()).toBe(false);
    expect(ackedBefore).toBeGreaterThan(0);
    expect(readyDuringOutage.length).toBeGreaterThan(5);
    expect(readyDuringOutage.every((s) => s === 503)).toBe(true);
    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.filter((s) => s < 500)).toEqual([]);
    expect(readyAfterMs).toBeGreaterThanOrEqual(0);
    expect(refused).toEqual([]);
    expect(lost).toEqual([]);
    expect(acked.size).toBe(EVENTS);
    expect(counts).toMatchObject({ total: EVENTS, pending: 0, failed: 0, jobs: 0 });
    expect(graph.duplicateEdges).toBe(0);
    expect(graph.edges).toEqual(corpus.expected.edges);
    expect(graph.locations).toEqual(corpus.expected.locations);
    expect(graph.tags).toEqual(corpus.expected.tags);
    expect(await fetch(`${service.url}/healthz`).then((r) => r.status)).toBe(200);
  },
  240_000,
);

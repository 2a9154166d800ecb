import { createTestDatabase, startHttpStub, type HttpStub, type TestDatabase } from '#testing';
import { graphSnapshot } from '../e2e/harness.js';
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
import { ensureBuilt, settledCounts, sql, startService, stopAll, type ServiceProcess } from './service.js';

/**
 * Two api and two worker processes against one Postgres, fed a stream split between the two apis
 * (with a fifth of it delivered to both): every event is processed exactly once (an audit trigger
 * records each status change; the stand-in registry counts manifest fetches), nothing is lost,
 * and the graph equals the one a single process builds from the same stream.
 */

const EVENTS = 3000;
const token = 'scale-out-hook-token-0123456789';
const corpus = buildCorpus(EVENTS, 3, 6);
const env = { HOOK_TOKEN: token };

let one: TestDatabase;
let many: TestDatabase;
let registry: HttpStub;

const config = (url: string) => ({
  registries: [
    {
      name: 'local',
      kind: 'distribution',
      url,
      webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK_TOKEN' } },
    },
  ],
  worker: { concurrency: 6, pollIntervalMs: 200 },
  server: { host: '127.0.0.1', rateLimitPerMinute: 0 },
});

beforeAll(async () => {
  await ensureBuilt();
  one = await createTestDatabase();
  many = await createTestDatabase();
  registry = await startHttpStub(manifestHandler(corpus.served, undefined, currentTags(corpus.expected)));
}, 240_000);

afterAll(async () => {
  await stopAll();
  await registry?.stop();
  await one?.drop();
  await many?.drop();
});

async function deliver(bases: string[], bodies: string[]): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(`${bases[w % bases.length]}/webhooks/local`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': NOTIFICATION_TYPE },
          body,
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    }),
  );
  return statuses;
}

it('two apis and two workers process each event once and build the one-process graph', async () => {
  // Every status change of an event is recorded, so a second execution cannot hide.
  await sql(
    many.url,
    `CREATE TABLE fault_audit (event_id bigint, status text, at timestamptz DEFAULT clock_timestamp())`,
  );
  await sql(
    many.url,
    `CREATE FUNCTION fault_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO fault_audit (event_id, status) VALUES (NEW.id, NEW.status); RETURN NEW; END $$`,
  );
  await sql(
    many.url,
    `CREATE TRIGGER fault_audit AFTER UPDATE OF status ON webhook_event FOR EACH ROW EXECUTE FUNCTION fault_audit_fn()`,
  );

  const bodies = shuffle(envelopes(corpus.events, 5), prng(4));
  const again = bodies.slice(0, bodies.length / 5);
  const started = Date.now();
  const cfg = config(registry.url);
  const procs: ServiceProcess[] = await Promise.all([
    startService({ role: 'api', databaseUrl: many.url, config: cfg, env }),
    startService({ role: 'api', databaseUrl: many.url, config: cfg, env }),
    startService({ role: 'worker', databaseUrl: many.url, config: cfg, env }),
    startService({ role: 'worker', databaseUrl: many.url, config: cfg, env }),
  ]);
  const fetchesBefore = registry.requests.length;
  const statuses = await deliver([procs[0]!.url, procs[1]!.url], [...bodies, ...again]);
  const counts = await settledCounts(many.url);
  const elapsedMs = Date.now() - started;
  const fetches = registry.requests
    .slice(fetchesBefore)
    .filter((r) => r.method === 'GET' && r.url.includes('/manifests/'));
  const perDigest = new Map<string, number>();
  for (const r of fetches) perDigest.set(r.url, (perDigest.get(r.url) ?? 0) + 1);
  const audit = await sql<{ event_id: number; n: string }>(
    many.url,
    `SELECT event_id, count(*) AS n FROM fault_audit WHERE status <> 'pending' GROUP BY event_id HAVING count(*) > 1`,
  );
  const [audited] = await sql<{ n: string }>(
    many.url,
    `SELECT count(DISTINCT event_id) AS n FROM fault_audit`,
  );
  const graph = await storedGraph(async (q) => sql(many.url, q));
  for (const p of procs) expect(p.hasExited()).toBe(false);
  await stopAll();

  // The same stream, in order, through one process with every role.
  const single = await startService({ role: 'all', databaseUrl: one.url, config: cfg, env });
  const singleStatuses = await deliver([single.url], envelopes(corpus.events, 5));
  const singleCounts = await settledCounts(one.url);
  const [manySnap, oneSnap] = [await graphSnapshot(many.url), await graphSnapshot(one.url)];

  process.stdout.write(
    `scale-out figures: ${JSON.stringify({
      events: EVENTS,
      deliveries: statuses.length,
      redelivered: again.length,
      counts,
      processedTwice: audit.length,
      auditedEvents: Number(audited!.n),
      manifestFetches: fetches.length,
      digestsFetchedTwice: [...perDigest.values()].filter((n) => n > 1).length,
      elapsedMs,
      singleCounts,
      edges: graph.edges.length,
    })}\n`,
  );

  expect(statuses.every((s) => s === 202)).toBe(true);
  expect(singleStatuses.every((s) => s === 202)).toBe(true);
  expect(counts).toMatchObject({
    total: EVENTS,
    pending: 0,
    ...corpus.outcomes,
    failed: 0,
    attempts: EVENTS,
    jobs: 0,
  });
  expect(audit).toEqual([]);
  expect(Number(audited!.n)).toBe(EVENTS);
  expect([...perDigest.values()].filter((n) => n > 1)).toEqual([]);
  expect(graph.duplicateEdges).toBe(0);
  expect(graph.edges).toEqual(corpus.expected.edges);
  expect(graph.locations).toEqual(corpus.expected.locations);
  expect(singleCounts).toMatchObject({ total: EVENTS, pending: 0, ...corpus.outcomes, failed: 0 });
  expect(manySnap).toEqual(oneSnap);
}, 240_000);

import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '#store';
import {
  createTestDatabase,
  imageManifest,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';
import { startRefgraph, type StartedRefgraph } from '../e2e/harness.js';
import {
  buildCorpus,
  envelopes,
  manifestHandler,
  NOTIFICATION_TYPE,
  storedGraph,
  currentTags,
} from './corpus.js';
import { eventCounts, sql } from './service.js';

/**
 * The registry goes away (connection refused) for a real minute while events arrive, then comes
 * back: jobs retry with graphile-worker's exponential backoff (exp(attempt) seconds: 2.7, 7.4, 20,
 * 55 s, so an event first tried at the start of a 60 s outage succeeds on its 5th attempt, about
 * 85 s in) and complete. Then a registry answering garbage or bytes of another digest: the events
 * are recorded as failed with the reason, and nothing of that content is stored.
 * A loopback stand-in plays the registry because the real one cannot be made to lie.
 */

const OUTAGE_MS = 60_000;
const token = 'registry-outage-token-0123456789';
const corpus = buildCorpus(60, 11, 3);
const served = new Map<string, BuiltManifest>(corpus.served);
const lies = new Map<string, Buffer>();

let tdb: TestDatabase;
let refgraph: StartedRefgraph;
let port: number;
let server: Server | undefined;
const sockets = new Set<Socket>();

async function registryUp(): Promise<void> {
  const ok = manifestHandler(served, undefined, currentTags(corpus.expected));
  server = createServer((req, res) => {
    const digest = decodeURIComponent(/\/manifests\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '');
    const lie = lies.get(digest);
    if (lie)
      return void res
        .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
        .end(lie);
    ok(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
}

async function registryDown(): Promise<void> {
  const s = server;
  server = undefined;
  if (!s) return;
  for (const c of sockets) c.destroy();
  await new Promise<void>((r) => s.close(() => r()));
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  port = await freePort();
  refgraph = await startRefgraph(
    tdb.url,
    {
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: `http://127.0.0.1:${port}`,
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
        },
      ],
      worker: { concurrency: 4, pollIntervalMs: 100 },
      server: { rateLimitPerMinute: 0 },
    },
    { HOOK: token },
  );
}, 60_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registryDown();
  await tdb?.drop();
});

async function post(body: string): Promise<void> {
  const res = await fetch(`${refgraph.url}/webhooks/local`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': NOTIFICATION_TYPE },
    body,
  });
  expect(res.status).toBe(202);
}

async function settle(timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let counts = await eventCounts(tdb.url);
  while ((counts.pending > 0 || counts.jobs > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    counts = await eventCounts(tdb.url);
  }
  return counts;
}

it('retries through a minute of registry downtime with backoff, then completes', async () => {
  const wentDown = Date.now();
  for (const body of envelopes(corpus.events, 1)) await post(body);
  // Let every event fail at least once before counting the minute.
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - wentDown))));
  const during = await eventCounts(tdb.url);
  const attemptsDuring = await sql<{ min: number }>(
    tdb.url,
    `SELECT min(attempts) AS min FROM webhook_event`,
  );
  await registryUp();
  const cameBack = Date.now();
  const counts = await settle(100_000);
  const recoveredMs = Date.now() - cameBack;
  const [attempts] = await sql<{ max: number; min: number }>(
    tdb.url,
    `SELECT max(attempts) AS max, min(attempts) AS min FROM webhook_event`,
  );
  const graph = await storedGraph(async (q) => sql(tdb.url, q));
  process.stdout.write(
    `registry-outage figures: ${JSON.stringify({ events: corpus.events.length, outageMs: cameBack - wentDown, pendingDuring: during.pending, attempts, recoveredMs, counts })}\n`,
  );

  // Every event waits for the registry: pushes to fetch, deletes to hear that it no longer serves them.
  expect(during).toMatchObject({ done: 0, skipped: 0, failed: 0, pending: corpus.events.length });
  expect(Number(attemptsDuring[0]!.min)).toBeGreaterThanOrEqual(2);
  expect(counts).toMatchObject({
    total: corpus.events.length,
    ...corpus.outcomes,
    pending: 0,
    failed: 0,
    jobs: 0,
  });
  expect(attempts!.min).toBeGreaterThanOrEqual(3);
  expect(graph.edges).toEqual(corpus.expected.edges);
  expect(graph.locations).toEqual(corpus.expected.locations);
  expect(graph.tags).toEqual(corpus.expected.tags);
}, 200_000);

it('records garbage and wrong-digest answers as failures and stores none of it', async () => {
  if (!server) await registryUp();
  const subject = imageManifest('outage-subject');
  served.set(subject.digest, subject);
  const cases = Array.from({ length: 20 }, (_, i) => {
    const m = referrerManifest(subject.descriptor, 'application/vnd.example.lie', { i: String(i) });
    lies.set(
      m.digest,
      i % 2 === 0 ? Buffer.from('<html>502 proxy error</html>') : imageManifest(`other-${i}`).bytes,
    );
    return m;
  });
  const events = [
    {
      id: 'lie-subject',
      at: Date.now(),
      action: 'push' as const,
      repository: 'team0/app',
      digest: subject.digest,
      mediaType: subject.mediaType,
    },
    ...cases.map((m, i) => ({
      id: `lie-${i}`,
      at: Date.now() + i + 1,
      action: 'push' as const,
      repository: 'team0/app',
      digest: m.digest,
      mediaType: m.mediaType,
    })),
  ];
  for (const body of envelopes(events, 5)) await post(body);
  const counts = await settle(30_000);
  const rows = await sql<{ status: string; last_error: string; attempts: number }>(
    tdb.url,
    `SELECT status, last_error, attempts FROM webhook_event WHERE sender_event_id LIKE 'lie-%' AND sender_event_id <> 'lie-subject'`,
  );
  const stored = await sql(tdb.url, 'SELECT digest FROM artifact WHERE digest = ANY($1)', [
    cases.map((m) => m.digest),
  ]);
  const res = await fetch(`${refgraph.url}/v2/local/team0/app/referrers/${subject.digest}`);
  const index = (await res.json()) as { manifests: unknown[] };
  process.stdout.write(
    `registry-lies figures: ${JSON.stringify({ lies: cases.length, failed: rows.filter((r) => r.status === 'failed').length, stored: stored.length, counts })}\n`,
  );

  expect(rows).toHaveLength(cases.length);
  for (const r of rows) {
    expect(r.status).toBe('failed');
    expect(r.last_error).toMatch(/digest_mismatch|bad_response/);
    // Content that cannot match its digest is not retried: retrying cannot help.
    expect(r.attempts).toBe(1);
  }
  expect(stored).toEqual([]);
  expect(res.status).toBe(200);
  expect(index.manifests).toEqual([]);
  const metrics = await (await fetch(`${refgraph.url}/metrics`)).text();
  expect(metrics).toMatch(/failed/);
}, 60_000);

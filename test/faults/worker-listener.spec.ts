import { ensureBuilt, startOwnPostgres, startService, stopAll, type OwnPostgres } from './service.js';

/**
 * The worker role's own listener, on the built service started with only that role: it answers
 * /healthz, /readyz and /metrics and nothing else, and /readyz follows the worker's real state —
 * 503 while its Postgres (this file's own cluster) is stopped, 200 again once it is back and the
 * job runner holds its presence lock — while /healthz stays 200 throughout.
 */

let pgServer: OwnPostgres;

beforeAll(async () => {
  await ensureBuilt();
  pgServer = await startOwnPostgres('worker-listener');
}, 240_000);

afterAll(async () => {
  await stopAll();
  await pgServer?.destroy();
});

async function probe(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return fetch(url).then(
    async (r) => ({ status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> }),
    () => ({ status: 0, body: {} }),
  );
}

/** Polls `url` until its status is `status`, failing after a deadline (no fixed sleeps). */
async function untilStatus(url: string, status: number, deadlineMs = 60_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const answer = await probe(url);
    if (answer.status === status) return answer;
    if (Date.now() > end) throw new Error(`${url} still answers ${answer.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('answers its probes, goes unready while Postgres is stopped and ready again once it is back', async () => {
  const worker = await startService({
    role: 'worker',
    databaseUrl: pgServer.url,
    config: {
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: 'http://127.0.0.1:9',
          webhook: { auth: { type: 'none' } },
        },
      ],
      worker: { concurrency: 2, pollIntervalMs: 200 },
    },
  });
  const ready = await probe(`${worker.url}/readyz`);
  expect(ready).toEqual({
    status: 200,
    body: expect.objectContaining({
      status: 'ready',
      database: true,
      worker: 'running',
      workerPresence: true,
    }),
  });
  expect((await probe(`${worker.url}/healthz`)).status).toBe(200);
  const metrics = await fetch(`${worker.url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(await metrics.text()).toMatch(/^refgraph_queue_pending_events 0$/m);
  for (const path of ['/', '/api/v1/registries', '/graphql', '/openapi.json', '/ui'])
    expect([path, (await probe(`${worker.url}${path}`)).status]).toEqual([path, 404]);
  const webhook = await fetch(`${worker.url}/webhooks/local`, { method: 'POST', body: '{}' });
  expect(webhook.status).toBe(404);

  await pgServer.stop();
  const down = await untilStatus(`${worker.url}/readyz`, 503);
  expect(down.body).toMatchObject({ status: 'not ready', database: false });
  expect((await probe(`${worker.url}/healthz`)).status).toBe(200);
  // The metrics still answer while the database is away (the queue gauges keep their last value).
  expect((await fetch(`${worker.url}/metrics`)).status).toBe(200);

  await pgServer.start();
  const back = await untilStatus(`${worker.url}/readyz`, 200);
  expect(back.body).toMatchObject({
    status: 'ready',
    database: true,
    worker: 'running',
    workerPresence: true,
  });
  expect(worker.hasExited()).toBe(false);
  expect(await worker.kill('SIGTERM')).toBe('exit 0');
}, 240_000);

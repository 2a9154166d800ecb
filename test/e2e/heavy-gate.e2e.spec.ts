/**
 * Heavy answers under a burst: at most `server.heavyAnswers.concurrency` run at once, the next
 * wait their turn, and past the queue or the wait bound they get 503 with Retry-After (a policy
 * engine denies on it) — while light routes keep answering. The in-flight answer is held by a
 * real lock on the table it reads, not by a stand-in.
 */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#testing';
import { eventually, localDistribution, startRefgraph, type StartedRefgraph } from './harness.js';

let tdb: TestDatabase;
const started: StartedRefgraph[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
});

afterAll(async () => {
  for (const s of started) await s.running.close();
  await tdb?.drop();
});

async function start(heavyAnswers: { concurrency: number; queue: number; maxWaitMs: number }) {
  const s = await startRefgraph(
    tdb.url,
    {
      registries: [localDistribution('http://127.0.0.1:9')],
      policies: [{ name: 'sbom', sbom: true }],
      // Addresses from X-Forwarded-For stand for distinct clients (without tokens, the client key).
      server: { heavyAnswers, trustProxy: ['127.0.0.1'] },
      worker: { enabled: false },
      database: { reads: { statementTimeoutMs: 30_000, answerTimeoutMs: 40_000 } },
    },
    { HOOK: 'heavy-gate-hook-secret' },
  );
  started.push(s);
  return s.url;
}

const graphql = (url: string, signal?: AbortSignal, from = '10.8.0.1') =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ query: '{ artifacts(first: 1) { edges { node { digest } } } }' }),
    ...(signal ? { signal } : {}),
  });

/** "<explore in flight> <explore waiting>" from /metrics. */
async function gauges(url: string, heavy = 'explore'): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return ['in_flight', 'waiting']
    .map(
      (g) =>
        new RegExp(`^refgraph_heavy_answers_${g}\\{class="${heavy}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? '?',
    )
    .join(' ');
}

/** Holds ACCESS EXCLUSIVE on `table` until released: every read of it waits. */
async function lockArtifacts(table = 'artifact'): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await c.query('ROLLBACK');
    await c.end();
  };
}

describe('the heavy-answer gate', () => {
  it('runs one at a time, queues the next, refuses past the queue; admission and light routes still answer', async () => {
    const url = await start({ concurrency: 1, queue: 1, maxWaitMs: 30_000 });
    const release = await lockArtifacts();
    let first: Promise<Response> | undefined;
    let second: Promise<Response> | undefined;
    try {
      first = graphql(url);
      await eventually(async () => expect(await gauges(url)).toBe('1 0'));
      second = graphql(url);
      await eventually(async () => expect(await gauges(url)).toBe('1 1'));
      const refused = await graphql(url);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('busy');
      // Admission answers have their own gate: a dashboard burst never queues them.
      const verdict = await fetch(`${url}/api/v1/verdict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ policy: 'none-such', subjects: ['local/app:v1'] }),
      });
      expect(verdict.status).toBe(404);
      expect(await gauges(url, 'admission')).toBe('0 0');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/registries`)).status).toBe(200);
    } finally {
      await release();
    }
    const answers = await Promise.all([first, second]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(await answers[0].json()).toEqual({ data: { artifacts: { edges: [] } } });
    await eventually(async () => expect(await gauges(url)).toBe('0 0'));
  });

  it('a waiter whose slot does not come free in time gets 503; the slot holder still answers', async () => {
    const url = await start({ concurrency: 1, queue: 10, maxWaitMs: 200 });
    const release = await lockArtifacts();
    let first: Promise<Response> | undefined;
    try {
      first = graphql(url);
      await eventually(async () => expect(await gauges(url)).toBe('1 0'));
      const late = await graphql(url);
      expect(late.status).toBe(503);
      expect(((await late.json()) as { error: { message: string } }).error.message).toBe(
        'no answer slot came free in time: retry shortly',
      );
    } finally {
      await release();
    }
    expect((await first).status).toBe(200);
    await eventually(async () => expect(await gauges(url)).toBe('0 0'));
  });

  it('a client that goes away frees its slot', async () => {
    const url = await start({ concurrency: 1, queue: 0, maxWaitMs: 1000 });
    const release = await lockArtifacts();
    try {
      const abort = new AbortController();
      const gone = graphql(url, abort.signal).catch((err: unknown) => err);
      await eventually(async () => expect(await gauges(url)).toBe('1 0'));
      abort.abort();
      await gone;
      await eventually(async () => expect(await gauges(url)).toBe('0 0'));
    } finally {
      await release();
    }
    expect((await graphql(url)).status).toBe(200);
  });

  it('a client that goes away while waiting never holds a slot', async () => {
    const url = await start({ concurrency: 1, queue: 5, maxWaitMs: 30_000 });
    const release = await lockArtifacts();
    let first: Promise<Response> | undefined;
    try {
      first = graphql(url);
      await eventually(async () => expect(await gauges(url)).toBe('1 0'));
      const abort = new AbortController();
      const waiter = graphql(url, abort.signal).catch((err: unknown) => err);
      await eventually(async () => expect(await gauges(url)).toBe('1 1'));
      abort.abort();
      await waiter;
      await eventually(async () => expect(await gauges(url)).toBe('1 0'));
    } finally {
      await release();
    }
    expect((await first).status).toBe(200);
    await eventually(async () => expect(await gauges(url)).toBe('0 0'));
    expect((await graphql(url)).status).toBe(200);
  });

  it('gates admission answers too: a verdict in flight, a Gatekeeper batch past the queue gets 503', async () => {
    const url = await start({ concurrency: 1, queue: 0, maxWaitMs: 30_000 });
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const release = await lockArtifacts('tag');
    let verdict: Promise<Response> | undefined;
    try {
      verdict = post('/api/v1/verdict', { policy: 'sbom', subjects: ['local/app:v1'] });
      await eventually(async () => expect(await gauges(url, 'admission')).toBe('1 0'));
      const batch = await post('/api/v1/gatekeeper/sbom', {
        apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
        kind: 'ProviderRequest',
        request: { keys: ['127.0.0.1:9/app:v1'] },
      });
      expect(batch.status).toBe(503);
      expect(await gauges(url)).toBe('0 0');
    } finally {
      await release();
    }
    const answered = await verdict;
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { subjects: Array<{ allowed: boolean }> }).subjects[0]!.allowed).toBe(
      false,
    );
  });

  it("one client's flood fills only its share of the queue: another client's answer takes the flood's newest place", async () => {
    const url = await start({ concurrency: 1, queue: 2, maxWaitMs: 30_000 });
    const release = await lockArtifacts();
    const flood: Array<Promise<Response>> = [];
    let other: Promise<Response> | undefined;
    try {
      flood.push(graphql(url, undefined, '10.9.0.1'));
      await eventually(async () => expect(await gauges(url)).toBe('1 0'));
      flood.push(graphql(url, undefined, '10.9.0.1'), graphql(url, undefined, '10.9.0.1'));
      await eventually(async () => expect(await gauges(url)).toBe('1 2'));
      // FIFO with a full queue would refuse this one: its client waits for nothing yet.
      other = graphql(url, undefined, '10.9.0.2');
      const refused = await flood[2]!;
      expect(refused.status).toBe(503);
      expect(await gauges(url)).toBe('1 2');
      // The flood's next is refused at once: its line is the longest.
      expect((await graphql(url, undefined, '10.9.0.1')).status).toBe(503);
    } finally {
      await release();
    }
    const answers = await Promise.all([flood[0]!, flood[1]!, other]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    await eventually(async () => expect(await gauges(url)).toBe('0 0'));
  });
});

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  createTestDatabase,
  pushImage,
  randomImage,
  startHttpStub,
  startRegistry,
  type HttpStub,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  eventually,
  forwardable,
  localDistribution,
  startRefgraph,
  type StartedRefgraph,
} from './harness.js';

/**
 * A sender event id is not the event. The real registry's notifications are held back (answered
 * 200 and kept, never forwarded), so the test decides what refgraph sees and in which order: an
 * event under the id of the registry's own notification arrives first (as one forged by a sender
 * that guessed the id would, or one a buggy sender reused the id for), then the registry's own,
 * then its redelivery. Both events end in the graph; the redelivery stores nothing.
 */
const token = randomBytes(16).toString('hex');
const REPO = 'ids/app';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface HeldDelivery {
  headers: Record<string, string>;
  body: Buffer;
}
interface Envelope {
  events: Array<{ id: string; action: string; target: { digest?: string; mediaType?: string } }>;
}

let tdb: TestDatabase;
let hold: HttpStub;
let registry: TestRegistry;
let refgraph: StartedRefgraph;
const held: HeldDelivery[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  hold = await startHttpStub(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    held.push({ headers: forwardable(req.headers), body: Buffer.concat(chunks) });
    res.writeHead(200).end();
  });
  registry = await startRegistry({ notifyUrl: `${hold.url}/webhooks/local`, notifyToken: token });
  refgraph = await startRefgraph(
    tdb.url,
    { registries: [localDistribution(registry.url, 'E2E_HOOK_TOKEN')] },
    { E2E_HOOK_TOKEN: token },
  );
});

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await hold?.stop();
  await tdb?.drop();
});

/** The held notification of the manifest push of `digest` (Distribution sends one event per envelope). */
function notificationOf(digest: string): HeldDelivery & { envelope: Envelope } {
  for (const d of held) {
    const envelope = JSON.parse(d.body.toString('utf8')) as Envelope;
    const e = envelope.events[0];
    if (e?.action === 'push' && e.target.mediaType === MANIFEST && e.target.digest === digest)
      return { ...d, envelope };
  }
  throw new Error(`no push notification for ${digest} yet`);
}

async function deliver(d: HeldDelivery): Promise<Record<string, unknown>> {
  const res = await fetch(`${refgraph.url}/webhooks/local`, {
    method: 'POST',
    headers: d.headers,
    body: d.body,
  });
  expect(res.status).toBe(202);
  return (await res.json()) as Record<string, unknown>;
}

async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

describe('webhook event ids, end to end with the real registry', () => {
  it("ingests the registry's own event under an id another event took first, and drops its redelivery", async () => {
    const first = await pushImage(registry.url, REPO, 'first', randomImage());
    const second = await pushImage(registry.url, REPO, 'second', randomImage());
    const [own, other] = await eventually(async () => [notificationOf(second), notificationOf(first)]);
    const id = own.envelope.events[0]!.id;

    // The push of `first`, sent under the id the registry gave the push of `second`.
    const taken = structuredClone(other.envelope);
    taken.events[0]!.id = id;
    expect(await deliver({ headers: other.headers, body: Buffer.from(JSON.stringify(taken)) })).toMatchObject(
      {
        accepted: 1,
        duplicates: 0,
      },
    );
    expect(await deliver(own)).toMatchObject({ accepted: 1, duplicates: 0 });
    // Distribution resends the identical envelope when it got no answer in time.
    expect(await deliver(own)).toMatchObject({ accepted: 0, duplicates: 1 });

    const done = await eventually(async () => {
      const rows = await query<{ digest: string; status: string }>(
        'SELECT digest, status FROM webhook_event WHERE sender_event_id = $1 ORDER BY id',
        [id],
      );
      expect(rows.map((r) => r.status)).toEqual(['done', 'done']);
      return rows.map((r) => r.digest);
    });
    expect(done).toEqual([first, second]);
    const graph = await query<{ name: string; digest: string }>(
      `SELECT t.name, t.digest FROM tag t JOIN repository r ON r.id = t.repository_id
       WHERE r.name = $1 ORDER BY t.name`,
      [REPO],
    );
    expect(graph).toEqual([
      { name: 'first', digest: first },
      { name: 'second', digest: second },
    ]);
    const present = await query<{ digest: string }>(
      `SELECT l.digest FROM artifact_location l JOIN repository r ON r.id = l.repository_id
       WHERE r.name = $1 AND l.present ORDER BY l.digest`,
      [REPO],
    );
    expect(present.map((r) => r.digest)).toEqual([first, second].sort());

    const metrics = await (await fetch(`${refgraph.url}/metrics`)).text();
    expect(metrics).toMatch(/^refgraph_webhook_event_ids_reused_total\{registry="local"\} 1$/m);
  });
});

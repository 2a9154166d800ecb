import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  createTestDatabase,
  pushImage,
  randomImage,
  startRegistry,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  apiTokens,
  eventually,
  startRecordingForwarder,
  startRefgraph,
  type StartedRefgraph,
} from './harness.js';

/**
 * Presence in a repository is the registry's word, never a payload's. A sender without
 * credentials (`webhook.auth: none`, as Artifact Registry, Quay and Docker Hub are set up) can be
 * anyone who reaches the webhook; an event naming a digest refgraph already stores from another
 * repository must not make that content present in the repository the event names.
 */
const READER = randomBytes(16).toString('hex');

let tdb: TestDatabase;
let db: pg.Client;
let registry: TestRegistry;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
let refgraph: StartedRefgraph;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new pg.Client({ connectionString: tdb.url });
  await db.connect();
  let url = '';
  forwarder = await startRecordingForwarder(() => url);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: 'unused',
  });
  refgraph = await startRefgraph(tdb.url, {
    server: { rateLimitPerMinute: 0 },
    registries: [
      { name: 'local', kind: 'distribution', url: registry.url, webhook: { auth: { type: 'none' } } },
    ],
    auth: { tokens: apiTokens([{ name: 'team-a', secret: READER, scopes: ['read:local/team-a/**'] }]) },
  });
  url = refgraph.url;
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await db?.end();
  await tdb?.drop();
});

const read = (path: string) =>
  fetch(`${refgraph.url}${path}`, { headers: { authorization: `Bearer ${READER}` } });

/** A Distribution notification naming `repository` and the digest of `m`, sent by anyone. */
async function forgePush(repository: string, m: PushableContent): Promise<void> {
  const id = randomBytes(8).toString('hex');
  const res = await fetch(`${refgraph.url}/webhooks/local`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
    body: JSON.stringify({
      events: [
        {
          id,
          timestamp: new Date().toISOString(),
          action: 'push',
          target: { mediaType: m.mediaType, digest: m.digest, size: m.size, repository },
        },
      ],
    }),
  });
  expect(res.status).toBe(202);
}

/** Waits until every event naming the digest in the repository is processed; their outcomes. */
async function outcomes(repository: string, digest: string, n: number): Promise<string[]> {
  return eventually(async () => {
    const { rows } = await db.query<{ status: string }>(
      `SELECT status FROM webhook_event WHERE repository = $1 AND digest = $2 AND status <> 'pending' ORDER BY id`,
      [repository, digest],
    );
    expect(rows).toHaveLength(n);
    return rows.map((r) => r.status);
  }, 60_000);
}

describe('an event naming a digest stored from another repository', () => {
  it('does not make it present where the registry does not serve it; a real push there does', async () => {
    const secret = randomImage();
    await pushImage(registry.url, 'team-b/app', 'v1', secret);
    await outcomes('team-b/app', secret.digest, 1);
    await pushImage(registry.url, 'team-a/app', 'v1', randomImage());

    await forgePush('team-a/app', secret);
    expect(await outcomes('team-a/app', secret.digest, 1)).toEqual(['skipped']);
    expect((await read(`/api/v1/artifacts/${secret.digest}`)).status).toBe(404);
    expect((await read(`/api/v1/resolve?reference=local/team-a/app@${secret.digest}`)).status).toBe(404);
    const view = await read(`/v2/local/team-a/app/manifests/${secret.digest}`);
    expect(view.status).toBe(404);
    expect(await view.text()).not.toContain('"layers"');

    // The registry now holds it in team-a (its own notification follows): present, and served.
    await pushImage(registry.url, 'team-a/app', undefined, secret);
    await eventually(async () => expect((await read(`/api/v1/artifacts/${secret.digest}`)).status).toBe(200));
    const served = await read(`/v2/local/team-a/app/manifests/${secret.digest}`);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(secret.manifest);
  });
});

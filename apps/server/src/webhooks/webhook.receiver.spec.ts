import { createHmac } from 'node:crypto';
import { parseConfig } from '#config';
import { Metrics, RegistryCatalog } from '#ingest';
import { RegistryClient } from '#registry';
import { Database, InboxRepository, RegistryRepository } from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';
import { MAX_STORED_REJECTIONS, WebhookReceiver } from './webhook.receiver.js';

/**
 * The receiver over real Postgres: what a sender is answered and what is stored, for deliveries
 * that mix good and bad events, carry unstorable ids, or replay a signed body. No registry is
 * contacted on intake; the client's URL is never used here.
 */
let tdb: TestDatabase;
let db: Database;
let receiver: WebhookReceiver;
let metrics: Metrics;
const warnings: unknown[] = [];
const SECRET = 'receiver-secret-0123456789';
/** Queries sent by any of the pool's connections: one round trip each. */
let roundTrips = 0;
const D = (c: string) => `sha256:${c.repeat(64)}`;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  db.pool.on('connect', (client) => {
    const send = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      roundTrips++;
      return send(...args);
    }) as typeof client.query;
  });
  const config = parseConfig(
    {
      registries: [
        {
          name: 'dist',
          kind: 'distribution',
          url: 'http://127.0.0.1:9',
          webhook: { auth: { type: 'none' } },
        },
        {
          name: 'gh',
          kind: 'ghcr',
          url: 'http://127.0.0.1:9',
          webhook: { auth: { type: 'hmac-sha256', secretEnv: 'S' } },
        },
      ],
    },
    { S: SECRET },
  );
  const rows = await new RegistryRepository(db).upsertRegistries(config.registries);
  const catalog = new RegistryCatalog(
    config.registries.map((c) => ({
      id: rows.find((r) => r.name === c.name)!.id,
      config: c,
      client: new RegistryClient(c),
    })),
  );
  metrics = new Metrics();
  const quiet = () => undefined;
  receiver = new WebhookReceiver(catalog, new InboxRepository(db, 5), metrics, {
    warn: (obj: unknown) => void warnings.push(obj),
    info: quiet,
    debug: quiet,
    error: quiet,
  });
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

const distribution = (events: unknown[]) => ({
  headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
  rawBody: Buffer.from(JSON.stringify({ events })),
});
const push = (id: string, digest: unknown) => ({
  id,
  action: 'push',
  target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'team/app', digest },
});

async function statuses(prefix: string): Promise<Record<string, string>> {
  const { rows } = await db.pool.query<{ sender_event_id: string; status: string }>(
    `SELECT sender_event_id, status FROM webhook_event WHERE sender_event_id LIKE $1 || '%'`,
    [prefix],
  );
  return Object.fromEntries(rows.map((r) => [r.sender_event_id, r.status]));
}

async function rejectedCount(): Promise<number> {
  const metric = await metrics.webhookEventsRejected.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

describe('WebhookReceiver', () => {
  it('answers 202 for an envelope mixing bad and good events, storing each as what it is', async () => {
    const reply = await receiver.receive(
      'dist',
      distribution([
        push('mix-bad', `sha384:${'a'.repeat(64)}`),
        push('mix-md5', `md5:${'a'.repeat(32)}`),
        null,
        push('mix-ok', D('b')),
      ]),
    );
    expect(reply).toEqual({
      status: 202,
      body: {
        accepted: 1,
        duplicates: 0,
        ignored: 0,
        rejected: 3,
        rejections: [
          { reason: 'invalid_digest', message: expect.stringMatching(/^events\[0\]\.target\.digest: /) },
          { reason: 'unsupported_digest', message: expect.stringMatching(/^events\[1\]\.target\.digest: /) },
          { reason: 'malformed', message: expect.stringMatching(/^events\[2\]: /) },
        ],
      },
    });
    expect(await statuses('mix-')).toEqual({
      'mix-bad': 'rejected',
      'mix-md5': 'rejected',
      'mix-ok': 'pending',
    });
    expect(await rejectedCount()).toBe(3);
    expect(warnings).toHaveLength(1);

    // Distribution retries: nothing new is stored, counted or logged.
    const again = await receiver.receive(
      'dist',
      distribution([push('mix-bad', `sha384:${'a'.repeat(64)}`), push('mix-ok', D('b'))]),
    );
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2, rejected: 1 });
    expect(await rejectedCount()).toBe(3);
    expect(warnings).toHaveLength(1);
  });

  it('answers 202, not 503, for event ids Postgres cannot store', async () => {
    const reply = await receiver.receive(
      'dist',
      distribution([push('nul-\u0000', D('c')), push('lone-\ud800', D('c')), push('nul-ok', D('c'))]),
    );
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ accepted: 1, rejected: 2 });
    expect(await statuses('nul-')).toEqual({ 'nul-ok': 'pending' });
    const { rows } = await db.pool.query(`SELECT 1 FROM webhook_event WHERE last_error LIKE 'unstorable:%'`);
    expect(rows).toHaveLength(2);
  });

  it('costs a serial sender one database round trip per delivery with events, none for the rest', async () => {
    const other = (id: string, action: string, mediaType: string) => ({
      id,
      action,
      target: { mediaType, repository: 'team/app', digest: D('e') },
    });
    roundTrips = 0;
    for (let i = 0; i < 5; i++) {
      const reply = await receiver.receive('dist', distribution([push(`rt-${i}`, D(String(i)))]));
      expect(reply.body).toMatchObject({ accepted: 1 });
    }
    const retry = await receiver.receive('dist', distribution([push('rt-4', D('4'))]));
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 1 });
    const pull = await receiver.receive(
      'dist',
      distribution([other('rt-pull', 'pull', 'application/vnd.oci.image.manifest.v1+json')]),
    );
    const blob = await receiver.receive(
      'dist',
      distribution([other('rt-blob', 'push', 'application/octet-stream')]),
    );
    expect([pull.body, blob.body]).toMatchObject([{ ignored: 1 }, { ignored: 1 }]);
    expect(roundTrips).toBe(6);
  });

  it('answers 400 only for a body that is no envelope', async () => {
    const reply = await receiver.receive('dist', {
      headers: { 'content-type': 'application/json' },
      rawBody: Buffer.from('{"target":{}}'),
    });
    expect(reply.status).toBe(400);
  });

  it(`stores at most ${MAX_STORED_REJECTIONS} rejected events of one delivery, counting all`, async () => {
    const before = await rejectedCount();
    const rejectedRows = async () =>
      (
        await db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_event WHERE status = 'rejected'`,
        )
      ).rows[0]!.n;
    const rowsBefore = await rejectedRows();
    const reply = await receiver.receive('dist', distribution(Array.from({ length: 5000 }, () => 0)));
    expect(reply.body).toMatchObject({ accepted: 0, rejected: 5000 });
    expect((await rejectedRows()) - rowsBefore).toBe(MAX_STORED_REJECTIONS);
    expect((await rejectedCount()) - before).toBe(5000);
  });

  it('drops a replayed signed delivery under a fresh delivery id', async () => {
    const body = Buffer.from(
      JSON.stringify({
        action: 'published',
        package: {
          name: 'app',
          namespace: 'octo',
          package_type: 'container',
          package_version: { version: D('d'), container_metadata: { tag: { name: 'v1' } } },
        },
      }),
    );
    const signed = (delivery: string) => ({
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'package',
        'x-github-delivery': delivery,
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      rawBody: body,
    });
    expect((await receiver.receive('gh', signed('gh-1'))).body).toMatchObject({ accepted: 1 });
    expect((await receiver.receive('gh', signed('gh-2'))).body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await statuses('gh-')).toEqual({ 'gh-1': 'pending' });
  });

  it('stores an event under a used event id that asks something else, counting and logging it once', async () => {
    const reusedTotal = async () =>
      (await metrics.webhookEventIdsReused.get()).values.reduce((n, v) => n + v.value, 0);
    const warned = warnings.length;
    expect((await receiver.receive('dist', distribution([push('id-1', D('1'))]))).body).toMatchObject({
      accepted: 1,
      duplicates: 0,
    });
    // A forged or buggy event took the id first; the sender's own event under it still counts.
    const other = distribution([push('id-1', D('2'))]);
    expect((await receiver.receive('dist', other)).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await reusedTotal()).toBe(1);
    expect(warnings.slice(warned)).toEqual([
      expect.objectContaining({ outcome: 'accepted', reused: 1, reusedIds: ['id-1'] }),
    ]);
    // Its redelivery (Distribution resends the identical envelope) is a duplicate, and stays quiet.
    expect((await receiver.receive('dist', other)).body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await reusedTotal()).toBe(1);
    expect(warnings).toHaveLength(warned + 1);
    const { rows } = await db.pool.query<{ digest: string }>(
      `SELECT digest FROM webhook_event WHERE sender_event_id = 'id-1' AND status = 'pending' ORDER BY id`,
    );
    expect(rows.map((r) => r.digest)).toEqual([D('1'), D('2')]);
  });
});

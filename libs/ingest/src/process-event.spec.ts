import type { ServerResponse } from 'node:http';
import { parseConfig } from '#config';
import { EventProcessor, Metrics, RegistryCatalog } from '#ingest';
import { RegistryClient } from '#registry';
import { Database, GraphRepository, InboxRepository, ReferrersRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  imageManifest,
  referrerManifest,
  startHttpStub,
  type BuiltManifest,
  type HttpStub,
  type TestDatabase,
} from '#testing';

/**
 * The stub stands in for a registry that misbehaves on purpose (down, garbage, wrong bytes),
 * which the real registry cannot be made to do; the happy path runs against the real one in e2e.
 */
type Mode = 'ok' | 'down' | 'error' | 'denied' | 'garbage' | 'wrong-bytes' | 'missing';

let tdb: TestDatabase;
let db: Database;
let stub: HttpStub;
let mode: Mode = 'ok';
/** By digest, and by tag for the tags the registry currently has. */
const served = new Map<string, BuiltManifest>();
let inbox: InboxRepository;
let processor: EventProcessor;
let referrers: ReferrersRepository;
let registryId: number;
const metrics = new Metrics();

function serve(res: ServerResponse, m: BuiltManifest | undefined) {
  if (mode === 'down') return res.writeHead(503).end('maintenance');
  if (mode === 'error') return res.writeHead(500).end('{"errors":[{"code":"UNKNOWN"}]}');
  if (mode === 'denied') return res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  if (mode === 'missing' || !m) return res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  const body =
    mode === 'garbage'
      ? Buffer.from('<html>proxy error</html>')
      : mode === 'wrong-bytes'
        ? imageManifest().bytes
        : m.bytes;
  res.writeHead(200, { 'content-type': m.mediaType, 'content-length': body.length }).end(body);
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  stub = await startHttpStub((req, res) => {
    const digest = decodeURIComponent(req.url!.split('/manifests/')[1] ?? '');
    serve(res, served.get(digest));
  });
  const config = parseConfig(
    {
      registries: [
        { name: 'stub', kind: 'distribution', url: stub.url, webhook: { auth: { type: 'none' } } },
      ],
    },
    {},
  );
  const registries = new RegistryRepository(db);
  const [row] = await registries.upsertRegistries(config.registries);
  registryId = row!.id;
  const catalog = new RegistryCatalog([
    { id: registryId, config: config.registries[0]!, client: new RegistryClient(config.registries[0]!) },
  ]);
  const graph = new GraphRepository(db);
  inbox = new InboxRepository(db, 5);
  referrers = new ReferrersRepository(db);
  processor = new EventProcessor(inbox, graph, registries, catalog, metrics);
});

afterAll(async () => {
  await stub.stop();
  await db.close();
  await tdb.drop();
});

async function record(m: BuiltManifest): Promise<number> {
  served.set(m.digest, m);
  await inbox.record(registryId, [
    { action: 'push', repository: 'app', digest: m.digest, occurredAt: new Date() },
  ]);
  const [latest] = await inbox.list(undefined, 1);
  return latest!.id;
}

async function recordTagged(m: BuiltManifest, tag: string, occurredAt = new Date()): Promise<number> {
  served.set(m.digest, m);
  await inbox.record(registryId, [{ action: 'push', repository: 'app', digest: m.digest, tag, occurredAt }]);
  const [latest] = await inbox.list(undefined, 1);
  return latest!.id;
}

async function tagTarget(tag: string): Promise<string | null | undefined> {
  const { rows } = await db.pool.query<{ digest: string | null }>(
    `SELECT t.digest FROM tag t JOIN repository r ON r.id = t.repository_id
     WHERE r.registry_id = $1 AND r.name = 'app' AND t.name = $2`,
    [registryId, tag],
  );
  return rows[0]?.digest;
}

async function referrersOf(subject: string) {
  return referrers.findReferrers({ registry: 'stub', repository: 'app', subject, limit: 10 });
}

describe('EventProcessor against a misbehaving registry', () => {
  const image = imageManifest();

  afterEach(() => {
    mode = 'ok';
  });

  it('retries while the registry is down, then completes', async () => {
    const sig = referrerManifest(image.descriptor, 'type/sig');
    const id = await record(sig);
    mode = 'down';
    await expect(processor.process(id, 1, 5)).rejects.toMatchObject({ code: 'unavailable' });
    expect(await inbox.find(id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/unavailable/),
    });
    expect(await referrersOf(image.digest)).toEqual([]);
    mode = 'ok';
    await processor.process(id, 2, 5);
    expect(await inbox.find(id)).toMatchObject({ status: 'done', attempts: 2 });
    expect((await referrersOf(image.digest)).map((d) => d.digest)).toEqual([sig.digest]);
  });

  it('keeps an event that keeps failing as failed, with its error, after the last attempt', async () => {
    const id = await record(referrerManifest(image.descriptor, 'type/flaky'));
    mode = 'down';
    await processor.process(id, 5, 5);
    expect(await inbox.find(id)).toMatchObject({ status: 'failed', attempts: 5 });
    expect((await inbox.list('failed', 10)).map((e) => e.id)).toContain(id);
  });

  it.each([
    ['garbage', 'bad_response|digest_mismatch'],
    ['wrong-bytes', 'digest_mismatch'],
  ] as const)('records %s as a failure and stores nothing', async (m, code) => {
    const other = imageManifest();
    const sig = referrerManifest(other.descriptor, `type/${m}`);
    const id = await record(sig);
    mode = m;
    await processor.process(id, 1, 5).catch(() => undefined);
    const ev = await inbox.find(id);
    expect(ev?.lastError).toMatch(new RegExp(code));
    expect(await referrersOf(other.digest)).toEqual([]);
    const { rowCount } = await db.pool.query('SELECT 1 FROM artifact WHERE digest = $1', [sig.digest]);
    expect(rowCount).toBe(0);
  });

  it('skips a push whose manifest is already gone from the registry', async () => {
    const id = await record(referrerManifest(image.descriptor, 'type/gone'));
    mode = 'missing';
    await processor.process(id, 1, 5);
    expect(await inbox.find(id)).toMatchObject({
      status: 'skipped',
      lastError: 'manifest no longer in the registry',
    });
  });

  it('does not touch an event twice', async () => {
    const sig = referrerManifest(image.descriptor, 'type/once');
    const id = await record(sig);
    await processor.process(id, 1, 5);
    served.delete(sig.digest);
    mode = 'down';
    await processor.process(id, 2, 5);
    expect(await inbox.find(id)).toMatchObject({ status: 'done', attempts: 1 });
  });
});

describe('EventProcessor: input errors and replays', () => {
  it('fails an event whose manifest Postgres cannot store once, with the reason, without retrying', async () => {
    const subject = imageManifest();
    // A NUL is valid JSON (\u0000) but not storable in jsonb or text.
    const id = await record(referrerManifest(subject.descriptor, 'type/nul', { note: 'a\u0000b' }));
    const retriedBefore = (await metrics.jobsRetried.get()).values[0]?.value ?? 0;
    await expect(processor.process(id, 1, 5)).resolves.toBeUndefined();
    expect(await inbox.find(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/^22P05: /),
    });
    expect((await metrics.jobsRetried.get()).values[0]?.value ?? 0).toBe(retriedBefore);
  });

  it('does not move a tag the registry points elsewhere: a replayed older push stays in the past', async () => {
    const older = imageManifest();
    const newer = imageManifest();
    served.set('replayed', newer);
    const first = await recordTagged(newer, 'replayed');
    await processor.process(first, 1, 5);
    expect(await tagTarget('replayed')).toBe(newer.digest);

    // The older push arrives again, dated now (a fresh delivery of a captured body).
    const replay = await recordTagged(older, 'replayed', new Date(Date.now() + 1000));
    await processor.process(replay, 1, 5);
    expect(await inbox.find(replay)).toMatchObject({ status: 'done' });
    expect(await tagTarget('replayed')).toBe(newer.digest);
    // The manifest itself is recorded: it does exist in the registry.
    const { rowCount } = await db.pool.query('SELECT 1 FROM artifact WHERE digest = $1', [older.digest]);
    expect(rowCount).toBe(1);

    // Once the registry moves the tag, the push for it moves the tag too.
    served.set('replayed', older);
    const moved = await recordTagged(older, 'replayed', new Date(Date.now() + 2000));
    await processor.process(moved, 1, 5);
    expect(await tagTarget('replayed')).toBe(older.digest);
  });

  it('does not create a tag the registry no longer has', async () => {
    const m = imageManifest();
    const id = await recordTagged(m, 'deleted-since');
    await processor.process(id, 1, 5);
    expect(await inbox.find(id)).toMatchObject({ status: 'done' });
    expect(await tagTarget('deleted-since')).toBeUndefined();
  });

  it('lets a later push win over a delete dated far in the future (its time is clamped)', async () => {
    const m = imageManifest();
    served.set(m.digest, m);
    const present = async () =>
      (
        await db.pool.query<{ present: boolean }>(
          `SELECT l.present FROM artifact_location l JOIN repository r ON r.id = l.repository_id
           WHERE r.registry_id = $1 AND r.name = 'app' AND l.digest = $2`,
          [registryId, m.digest],
        )
      ).rows[0]?.present;
    const latestId = async () => (await inbox.list(undefined, 1))[0]!.id;

    await inbox.record(registryId, [{ action: 'push', repository: 'app', digest: m.digest }], {
      receivedAt: new Date(Date.now() - 20 * 60_000),
    });
    await processor.process(await latestId(), 1, 5);
    // Received ten minutes ago, dated 9999-12-31: ordered as if sent a minute after it arrived.
    await inbox.record(
      registryId,
      [
        {
          action: 'delete',
          repository: 'app',
          digest: m.digest,
          occurredAt: new Date('9999-12-31T00:00:00Z'),
        },
      ],
      { receivedAt: new Date(Date.now() - 10 * 60_000) },
    );
    // The registry really deleted it: only then does a delete apply.
    served.delete(m.digest);
    await processor.process(await latestId(), 1, 5);
    expect(await present()).toBe(false);

    served.set(m.digest, m);
    await inbox.record(registryId, [
      { action: 'push', repository: 'app', digest: m.digest, occurredAt: new Date() },
    ]);
    const push = await latestId();
    await processor.process(push, 1, 5);
    expect(await inbox.find(push)).toMatchObject({ status: 'done', lastError: null });
    expect(await present()).toBe(true);
  });
});

describe('EventProcessor: a delete the registry does not answer', () => {
  afterEach(() => {
    mode = 'ok';
  });

  async function recordDelete(target: { digest: string } | { tag: string }): Promise<number> {
    await inbox.record(registryId, [
      { action: 'delete', repository: 'app', ...target, occurredAt: new Date() },
    ]);
    const [latest] = await inbox.list(undefined, 1);
    return latest!.id;
  }

  it('retries a manifest delete while the registry answers 500, removing nothing until it answers 404', async () => {
    const subject = imageManifest();
    const sig = referrerManifest(subject.descriptor, 'type/delete-500');
    await processor.process(await record(sig), 1, 5);
    expect((await referrersOf(subject.digest)).map((d) => d.digest)).toEqual([sig.digest]);
    const retriedBefore = (await metrics.jobsRetried.get()).values[0]?.value ?? 0;

    const id = await recordDelete({ digest: sig.digest });
    mode = 'error';
    await expect(processor.process(id, 1, 5)).rejects.toMatchObject({ code: 'unavailable', status: 500 });
    expect(await inbox.find(id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/500/),
    });
    expect((await metrics.jobsRetried.get()).values[0]?.value).toBe(retriedBefore + 1);
    expect((await referrersOf(subject.digest)).map((d) => d.digest)).toEqual([sig.digest]);

    mode = 'ok';
    served.delete(sig.digest);
    await processor.process(id, 2, 5);
    expect(await inbox.find(id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await referrersOf(subject.digest)).toEqual([]);
  });

  it('retries a tag delete while the registry answers 500, keeping the tag until it answers 404', async () => {
    const m = imageManifest();
    served.set('delete-500', m);
    await processor.process(await recordTagged(m, 'delete-500'), 1, 5);
    expect(await tagTarget('delete-500')).toBe(m.digest);

    const id = await recordDelete({ tag: 'delete-500' });
    mode = 'error';
    await expect(processor.process(id, 1, 5)).rejects.toMatchObject({ code: 'unavailable' });
    expect(await inbox.find(id)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(await tagTarget('delete-500')).toBe(m.digest);

    mode = 'ok';
    served.delete('delete-500');
    await processor.process(id, 2, 5);
    expect(await inbox.find(id)).toMatchObject({ status: 'done' });
    expect(await tagTarget('delete-500')).toBeNull();
  });

  it('fails a delete the registry refuses to answer (401) and removes nothing', async () => {
    const subject = imageManifest();
    const sig = referrerManifest(subject.descriptor, 'type/delete-401');
    await processor.process(await record(sig), 1, 5);

    const id = await recordDelete({ digest: sig.digest });
    mode = 'denied';
    await processor.process(id, 1, 5);
    expect(await inbox.find(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/^unauthorized: .*401/),
    });
    expect((await referrersOf(subject.digest)).map((d) => d.digest)).toEqual([sig.digest]);
  });
});

import pg from 'pg';
import {
  contentSha256,
  Database,
  InboxRepository,
  RegistryRepository,
  type InboxEvent,
  type InboxRejectedEvent,
} from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';

/**
 * Deduplication in the inbox over real Postgres: a sender event id makes a duplicate only of an
 * event asking the same thing. A redelivery is dropped; another event under a used id (forged,
 * a sender's bug, another source's namespace) is stored and ingested as its own.
 */
let tdb: TestDatabase;
let db: Database;
let observer: pg.Pool;
let inbox: InboxRepository;
let one: number;
let two: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  observer = new pg.Pool({ connectionString: tdb.url, max: 2 });
  const rows = await new RegistryRepository(db).upsertRegistries([
    { name: 'one', kind: 'distribution', url: 'http://127.0.0.1:1' },
    { name: 'two', kind: 'distribution', url: 'http://127.0.0.1:2' },
  ]);
  one = rows.find((r) => r.name === 'one')!.id;
  two = rows.find((r) => r.name === 'two')!.id;
  inbox = new InboxRepository(db, 5);
});

afterAll(async () => {
  await observer.end();
  await db.close();
  await tdb.drop();
});

const D = (c: string) => `sha256:${c.repeat(64)}`;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const push = (senderEventId: string, digest: string, extra: Partial<InboxEvent> = {}): InboxEvent => ({
  action: 'push',
  repository: 'app',
  digest,
  mediaType: MANIFEST,
  senderEventId,
  ...extra,
});

/** The stored events under `id` (registry one unless given): what each asks, and whether it has one job. */
async function storedUnder(id: string, registryId = one) {
  const { rows } = await observer.query<{
    action: string;
    repository: string;
    digest: string | null;
    tag: string | null;
    media_type: string | null;
    status: string;
    jobs: number;
  }>(
    `SELECT e.action, e.repository, e.digest, e.tag, e.media_type, e.status,
            (SELECT count(*)::int FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p ON p.id = j.id
             WHERE j.task_identifier = 'ingest_event' AND (p.payload->>'eventId')::bigint = e.id) AS jobs
     FROM webhook_event e WHERE e.registry_id = $1 AND e.sender_event_id = $2 ORDER BY e.id`,
    [registryId, id],
  );
  return rows;
}

describe('InboxRepository.record: a sender event id with what the event asks', () => {
  it('stores an event under an id already used for something else as its own, with its job, naming the id', async () => {
    expect(await inbox.record(one, [push('x-1', D('a'))])).toEqual({ stored: 1, rejected: 0 });
    // Each differs from the first in one field only: digest, action, tag, media type, repository.
    const others: InboxEvent[] = [
      push('x-1', D('b')),
      { ...push('x-1', D('a')), action: 'delete' },
      push('x-1', D('a'), { tag: 'v1' }),
      push('x-1', D('a'), { mediaType: 'application/vnd.oci.image.index.v1+json' }),
      push('x-1', D('a'), { repository: 'other' }),
    ];
    for (const e of others)
      expect(await inbox.record(one, [e])).toEqual({ stored: 1, rejected: 0, reusedIds: ['x-1'] });
    // The same id in another registry is another namespace: new, not a reuse.
    expect(await inbox.record(two, [push('x-1', D('b'))])).toEqual({ stored: 1, rejected: 0 });

    const rows = await storedUnder('x-1');
    expect(rows.map((r) => [r.action, r.repository, r.digest, r.tag, r.media_type])).toEqual([
      ['push', 'app', D('a'), null, MANIFEST],
      ['push', 'app', D('b'), null, MANIFEST],
      ['delete', 'app', D('a'), null, MANIFEST],
      ['push', 'app', D('a'), 'v1', MANIFEST],
      ['push', 'app', D('a'), null, 'application/vnd.oci.image.index.v1+json'],
      ['push', 'other', D('a'), null, MANIFEST],
    ]);
    expect(rows.every((r) => r.status === 'pending' && r.jobs === 1)).toBe(true);
  });

  it('drops a redelivery of each, however it is dated and whenever it arrives', async () => {
    const first = push('r-1', D('c'), { tag: 'v1', occurredAt: new Date('2026-12-01T10:00:00Z') });
    const second = push('r-1', D('d'), { tag: 'v1', occurredAt: new Date('2026-12-01T10:00:05Z') });
    expect(await inbox.record(one, [first])).toEqual({ stored: 1, rejected: 0 });
    expect(await inbox.record(one, [second])).toEqual({ stored: 1, rejected: 0, reusedIds: ['r-1'] });
    // Retries: as sent, re-stamped by the sender, without a time (dated at receipt), much later.
    const later = { receivedAt: new Date(Date.now() + 3_600_000) };
    for (const e of [first, second]) {
      expect(await inbox.record(one, [e])).toEqual({ stored: 0, rejected: 0 });
      expect(await inbox.record(one, [{ ...e, occurredAt: new Date() }], later)).toEqual({
        stored: 0,
        rejected: 0,
      });
      const { occurredAt: _, ...undated } = e;
      expect(await inbox.record(one, [undated], later)).toEqual({ stored: 0, rejected: 0 });
    }
    expect((await storedUnder('r-1')).map((r) => [r.digest, r.jobs])).toEqual([
      [D('c'), 1],
      [D('d'), 1],
    ]);
  });

  it('counts an event twice in one delivery once, and two events under one id in it twice', async () => {
    const a = push('b-1', D('e'));
    const b = push('b-1', D('f'));
    // In one statement: the second content is new to the database too, so only the batch sees the reuse.
    expect(await inbox.record(one, [a, a, b, b, a])).toEqual({
      stored: 2,
      rejected: 0,
      reusedIds: ['b-1'],
    });
    expect((await storedUnder('b-1')).map((r) => r.digest)).toEqual([D('e'), D('f')]);

    // Across deliveries of one group-commit batch (the first goes alone, the others gather).
    const results = await Promise.all([
      inbox.record(one, [push('b-2', D('1'))]),
      inbox.record(one, [push('b-2', D('2'))]),
      inbox.record(one, [push('b-2', D('2'))]),
      inbox.record(one, [push('b-2', D('3')), push('b-2', D('1'))]),
      inbox.record(one, [push('b-2', D('3'))]),
    ]);
    expect(results).toEqual([
      { stored: 1, rejected: 0 },
      { stored: 1, rejected: 0, reusedIds: ['b-2'] },
      { stored: 0, rejected: 0 },
      { stored: 1, rejected: 0, reusedIds: ['b-2'] },
      { stored: 0, rejected: 0 },
    ]);
    expect((await storedUnder('b-2')).map((r) => [r.digest, r.jobs])).toEqual([
      [D('1'), 1],
      [D('2'), 1],
      [D('3'), 1],
    ]);
  });

  it('keeps rejected events under a used id apart in the same way', async () => {
    const bad = (digest: string): InboxRejectedEvent => ({
      reason: 'invalid_digest',
      message: `events[0].target.digest: "${digest}" is not a valid digest`,
      action: 'push',
      repository: 'app',
      digest,
      senderEventId: 'j-1',
    });
    expect(await inbox.record(one, [], { rejected: [bad('sha256:01')] })).toEqual({ stored: 0, rejected: 1 });
    expect(await inbox.record(one, [], { rejected: [bad('sha256:02')] })).toEqual({
      stored: 0,
      rejected: 1,
      reusedIds: ['j-1'],
    });
    expect(await inbox.record(one, [], { rejected: [bad('sha256:02')] })).toEqual({ stored: 0, rejected: 0 });
    // An admitted event under the id asks something else again: stored, with its job.
    expect(await inbox.record(one, [push('j-1', D('9'))])).toEqual({
      stored: 1,
      rejected: 0,
      reusedIds: ['j-1'],
    });
    expect((await storedUnder('j-1')).map((r) => [r.status, r.digest, r.jobs])).toEqual([
      ['rejected', 'sha256:01', 0],
      ['rejected', 'sha256:02', 0],
      ['pending', D('9'), 1],
    ]);
  });

  it('refuses a row whose content hash is missing or does not describe it', async () => {
    const insert = (hash: string | null) =>
      observer.query(
        `INSERT INTO webhook_event (registry_id, sender_event_id, content_sha256, action, repository, digest, event_at)
         VALUES ($1, 'g-1', $2, 'push', 'app', $3, now())`,
        [one, hash, D('7')],
      );
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'stored',
        (err: { code?: string }) => err.code,
      );
    const content = { action: 'push', repository: 'app', digest: D('7'), tag: null, mediaType: null };
    expect(await codeOf(insert(null))).toBe('23502');
    // Another event's hash (as a stale or constant one would be) would make it a duplicate of that one.
    expect(await codeOf(insert(contentSha256({ ...content, digest: D('8') })))).toBe('23514');
    expect(await codeOf(insert(contentSha256(content)))).toBe('stored');
  });
});

describe('contentSha256', () => {
  const base = { action: 'push', repository: 'app', digest: D('a'), tag: null, mediaType: null };

  it('tells apart what a plain separator or concatenation would run together', () => {
    const variants = [
      base,
      { ...base, tag: '' }, // empty is not absent
      { ...base, tag: '~' },
      { ...base, repository: 'ap', tag: 'p' }, // "app" + null vs "ap" + "p"
      { ...base, repository: `app,${D('a')}`, digest: null },
      { ...base, repository: 'app,~', digest: D('a'), tag: null },
      { ...base, repository: 'äpp' }, // byte lengths, not UTF-16 units
      { ...base, repository: 'a\u00e4p' },
    ];
    const hashes = variants.map((v) => contentSha256(v));
    expect(new Set(hashes).size).toBe(variants.length);
    expect(hashes.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    expect(contentSha256({ ...base })).toBe(hashes[0]);
  });
});

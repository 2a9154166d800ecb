import pg from 'pg';
import {
  contentSha256,
  Database,
  freePort,
  type DatabaseOptions,
  InboxRepository,
  MAX_EVENT_CLOCK_SKEW_MS,
  RegistryRepository,
  type InboxEvent,
} from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';

/**
 * Counts the inbox's write statements (each is one transaction, one commit, of its own) and every
 * query any of the pool's connections sends (one round trip each).
 */
class CountingDatabase extends Database {
  transactions = 0;
  roundTrips = 0;

  constructor(options: DatabaseOptions) {
    super(options);
    const query = this.pool.query.bind(this.pool) as (...args: unknown[]) => unknown;
    this.pool.query = ((...args: unknown[]) => {
      if ((args[0] as { name?: string } | undefined)?.name === 'refgraph-record-events') this.transactions++;
      return query(...args);
    }) as typeof this.pool.query;
    this.pool.on('connect', (client) => {
      const send = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        this.roundTrips++;
        return send(...args);
      }) as typeof client.query;
    });
  }
}

let tdb: TestDatabase;
let db: CountingDatabase;
let observer: pg.Pool;
let inbox: InboxRepository;
let one: number;
let two: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new CountingDatabase({ url: tdb.url, maxConnections: 8 });
  observer = new pg.Pool({ connectionString: tdb.url, max: 3 });
  const rows = await new RegistryRepository(db).upsertRegistries([
    { name: 'one', kind: 'distribution', url: 'http://127.0.0.1:1' },
    { name: 'two', kind: 'distribution', url: 'http://127.0.0.1:2' },
  ]);
  one = rows.find((r) => r.name === 'one')!.id;
  two = rows.find((r) => r.name === 'two')!.id;
});

beforeEach(() => {
  inbox = new InboxRepository(db, 5);
  db.transactions = 0;
});

afterAll(async () => {
  await observer.end();
  await db.close();
  await tdb.drop();
});

const ev = (senderEventId?: string, repository = 'app'): InboxEvent => ({
  action: 'push',
  repository,
  digest: `sha256:${'a'.repeat(64)}`,
  ...(senderEventId !== undefined && { senderEventId }),
});

/** Stored events whose sender event id starts with `prefix` (as seen from another connection). */
async function storedIds(prefix: string): Promise<string[]> {
  const { rows } = await observer.query<{ sender_event_id: string }>(
    `SELECT sender_event_id FROM webhook_event WHERE sender_event_id LIKE $1 || '%' ORDER BY sender_event_id`,
    [prefix],
  );
  return rows.map((r) => r.sender_event_id);
}

/** Ingest jobs per stored admitted event: each must have exactly one (rejected events have none). */
async function jobsPerEvent(): Promise<{ events: number; withOneJob: number; jobs: number }> {
  const { rows } = await observer.query<{ events: number; with_one_job: number; jobs: number }>(
    `WITH ingest AS (
       SELECT (p.payload->>'eventId')::bigint AS event_id
       FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p ON p.id = j.id
       WHERE j.task_identifier = 'ingest_event')
     SELECT (SELECT count(*) FROM webhook_event WHERE status <> 'rejected')::int AS events,
            (SELECT count(*) FROM webhook_event e
              WHERE e.status <> 'rejected' AND (SELECT count(*) FROM ingest WHERE event_id = e.id) = 1)::int AS with_one_job,
            (SELECT count(*) FROM ingest)::int AS jobs`,
  );
  const r = rows[0]!;
  return { events: r.events, withOneJob: r.with_one_job, jobs: r.jobs };
}

async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no session ever waited on a lock');
}

/** Tracks whether a promise has settled, without awaiting it. */
function watch<R>(p: Promise<R>) {
  const state = { settled: false };
  p.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('InboxRepository.record (group commit)', () => {
  it('stores one row and one job per event for many concurrent deliveries, in a few transactions', async () => {
    const calls = Array.from({ length: 250 }, (_, i) =>
      inbox.record(i % 2 ? one : two, [ev(`many-${i}-a`), ev(`many-${i}-b`), ev()]),
    );
    const results = await Promise.all(calls);

    expect(results.every((r) => r.stored === 3)).toBe(true);
    // The first delivery alone (nothing to wait for), then the others in batches of at most 200.
    expect(db.transactions).toBe(3);
    expect(await storedIds('many-')).toHaveLength(500);
    const counts = await jobsPerEvent();
    expect(counts.events).toBeGreaterThanOrEqual(750);
    expect(counts).toEqual({ events: counts.events, withOneJob: counts.events, jobs: counts.events });
    const attempts = await observer.query<{ max_attempts: number; n: number }>(
      `SELECT max_attempts, count(*)::int AS n FROM graphile_worker.jobs
       WHERE task_identifier = 'ingest_event' GROUP BY max_attempts`,
    );
    expect(attempts.rows).toEqual([{ max_attempts: 5, n: counts.events }]);
    const { rows } = await observer.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM registry WHERE id = ANY($1) AND last_event_at IS NOT NULL',
      [[one, two]],
    );
    expect(rows[0]!.n).toBe(2);
  });

  it("reports each caller's own new events, dropping duplicates across and within a batch", async () => {
    // dup-b under registry one asks two things ('first', 'second'): two events, not a duplicate.
    expect(await inbox.record(one, [ev('dup-old')])).toEqual({ stored: 1, rejected: 0 });
    db.transactions = 0;

    const results = await Promise.all([
      inbox.record(one, [ev('dup-a')]), // alone or with the rest, as the first commit's timing falls
      inbox.record(one, [ev('dup-b', 'first'), ev('dup-old')]),
      inbox.record(one, [ev('dup-c'), ev('dup-b', 'second')]),
      inbox.record(one, [ev('dup-c')]),
      inbox.record(one, [ev('dup-e'), ev('dup-e')]),
      inbox.record(one, [ev(undefined, 'dup-no-id'), ev(undefined, 'dup-no-id')]),
      inbox.record(two, [ev('dup-b')]),
      inbox.record(one, [ev('dup-a')]),
    ]);

    expect(results.map((r) => r.stored)).toEqual([1, 1, 2, 0, 1, 2, 1, 0]);
    // Eight callers, at most two commits: the first may go alone before the rest gather.
    expect(db.transactions).toBeGreaterThanOrEqual(1);
    expect(db.transactions).toBeLessThanOrEqual(2);
    const { rows } = await observer.query<{ registry_id: number; repository: string }>(
      `SELECT registry_id, repository FROM webhook_event WHERE sender_event_id = 'dup-b' ORDER BY registry_id`,
    );
    expect([...rows].sort((a, b) => a.repository.localeCompare(b.repository))).toEqual([
      { registry_id: two, repository: 'app' },
      { registry_id: one, repository: 'first' },
      { registry_id: one, repository: 'second' },
    ]);
    expect(await storedIds('dup-')).toEqual([
      'dup-a',
      'dup-b',
      'dup-b',
      'dup-b',
      'dup-c',
      'dup-e',
      'dup-old',
    ]);
    const noId = await observer.query(`SELECT 1 FROM webhook_event WHERE repository = 'dup-no-id'`);
    expect(noId.rowCount).toBe(2);
    const counts = await jobsPerEvent();
    expect(counts).toEqual({ events: counts.events, withOneJob: counts.events, jobs: counts.events });
  });

  it('fails only the deliveries that fail on their own, and stores the rest of their batch', async () => {
    const results = await Promise.allSettled([
      inbox.record(one, [ev('bad-0')]), // written alone
      inbox.record(one, [ev('bad-1')]),
      inbox.record(one + two + 1000, [ev('bad-2')]), // no such registry
      inbox.record(one, [ev('bad-3'), ev('bad-3-nul', 'repo\u0000name')]), // NUL is not valid text
      inbox.record(two, [ev('bad-4')]),
    ]);

    const outcome = results.map((r) =>
      r.status === 'fulfilled' ? r.value.stored : `error ${(r.reason as { code?: string }).code}`,
    );
    expect(outcome).toEqual([1, 1, 'error 23503', 'error 22021', 1]);
    // Alone, then the failed batch, then each of its four deliveries on its own.
    expect(db.transactions).toBe(1 + 1 + 4);
    expect(await storedIds('bad-')).toEqual(['bad-0', 'bad-1', 'bad-4']);
    const counts = await jobsPerEvent();
    expect(counts).toEqual({ events: counts.events, withOneJob: counts.events, jobs: counts.events });
  });

  it('makes nothing visible and settles nobody before the commit holding their events', async () => {
    const jobsBefore = (await jobsPerEvent()).jobs;
    const blocker = await observer.connect();
    try {
      // An uncommitted row with the same sender event id and content makes the batch's insert
      // wait for it.
      const block = ev('vis-block');
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO webhook_event (registry_id, sender_event_id, content_sha256, action, repository, digest, event_at)
         VALUES ($1, 'vis-block', $2, 'push', 'app', $3, now())`,
        [one, contentSha256({ ...block, digest: block.digest!, tag: null, mediaType: null }), block.digest],
      );
      const first = inbox.record(one, [ev('vis-0')]);
      const blocked = [
        inbox.record(one, [ev('vis-1'), ev('vis-2')]),
        inbox.record(two, [ev('vis-3')]),
        inbox.record(one, [ev('vis-block')]),
      ];
      expect(await first).toEqual({ stored: 1, rejected: 0 });
      await waitForLockWait();
      const next = [inbox.record(one, [ev('vis-4')]), inbox.record(two, [ev('vis-5')])];
      const watched = [...blocked, ...next].map(watch);
      await new Promise((r) => setTimeout(r, 200));

      expect(watched.some((w) => w.settled)).toBe(false);
      expect(await storedIds('vis-')).toEqual(['vis-0']);
      expect((await jobsPerEvent()).jobs).toBe(jobsBefore + 1);

      await blocker.query('ROLLBACK');
      expect((await Promise.all(blocked)).map((r) => r.stored)).toEqual([2, 1, 1]);
      expect((await Promise.all(next)).map((r) => r.stored)).toEqual([1, 1]);
      expect(db.transactions).toBe(3);
      expect(await storedIds('vis-')).toEqual([
        'vis-0',
        'vis-1',
        'vis-2',
        'vis-3',
        'vis-4',
        'vis-5',
        'vis-block',
      ]);
      expect((await jobsPerEvent()).jobs).toBe(jobsBefore + 7);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
  });

  it("costs a serial sender one round trip per delivery, the registry's last event time included", async () => {
    // An hour ahead, so that every delivery below is due to move the registry's time forward.
    const t0 = Date.now() + 3_600_000;
    db.roundTrips = 0;
    for (let i = 0; i < 4; i++) {
      const res = await inbox.record(two, [ev(`serial-${i}`)], { receivedAt: new Date(t0 + i * 1500) });
      expect(res).toEqual({ stored: 1, rejected: 0 });
    }
    // A retry and a delivery within the same second: one round trip each, the time not written.
    expect(await inbox.record(two, [ev('serial-3')], { receivedAt: new Date(t0 + 4600) })).toEqual({
      stored: 0,
      rejected: 0,
    });
    await inbox.record(two, [ev('serial-4')], { receivedAt: new Date(t0 + 4700) });
    expect(db.roundTrips).toBe(6);
    expect(db.transactions).toBe(6);
    expect(await storedIds('serial-')).toEqual(['serial-0', 'serial-1', 'serial-2', 'serial-3', 'serial-4']);
    const { rows } = await observer.query<{ last_event_at: Date }>(
      'SELECT last_event_at FROM registry WHERE id = $1',
      [two],
    );
    expect(rows[0]!.last_event_at).toEqual(new Date(t0 + 4500));
  });

  it('writes the events without waiting for a registry row another transaction holds', async () => {
    const holder = await observer.connect();
    try {
      await holder.query('BEGIN');
      // As another replica's statement writing the time, or any update of the row, holds it.
      await holder.query('SELECT 1 FROM registry WHERE id = $1 FOR NO KEY UPDATE', [one]);
      // Due to move the time forward (a day ahead), but the row is taken: skipped, not waited for.
      const res = await inbox.record(one, [ev('held-0')], { receivedAt: new Date(Date.now() + 86_400_000) });
      expect(res).toEqual({ stored: 1, rejected: 0 });
      expect(await storedIds('held-')).toEqual(['held-0']);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('rejects every caller while the database is unreachable', async () => {
    const down = new Database({ url: `postgresql://postgres:x@127.0.0.1:${await freePort()}/none` });
    try {
      const unreachable = new InboxRepository(down, 5);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => unreachable.record(one, [ev(`down-${i}`)])),
      );
      expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    } finally {
      await down.close();
    }
  });
});

describe('InboxRepository.record (admission)', () => {
  const rejectedEvent = (senderEventId?: string) => ({
    reason: 'invalid_digest',
    message: 'events[0].target.digest: "sha256:0123" is not a valid digest',
    action: 'push' as const,
    repository: 'app',
    digest: 'sha256:0123',
    ...(senderEventId !== undefined && { senderEventId }),
  });

  it('stores rejected events as such, without a job, beside the admitted ones of their delivery', async () => {
    const before = await jobsPerEvent();
    const res = await inbox.record(one, [ev('adm-ok')], {
      rejected: [rejectedEvent('adm-bad'), rejectedEvent()],
    });
    expect(res).toEqual({ stored: 1, rejected: 2 });
    // The sender's retry is a duplicate: nothing new, nothing counted (or logged) again.
    expect(await inbox.record(one, [ev('adm-ok')], { rejected: [rejectedEvent('adm-bad')] })).toEqual({
      stored: 0,
      rejected: 0,
    });
    const { rows } = await observer.query<{
      sender_event_id: string | null;
      status: string;
      last_error: string;
    }>(
      `SELECT sender_event_id, status, last_error FROM webhook_event
       WHERE registry_id = $1 AND (sender_event_id LIKE 'adm-%' OR digest = 'sha256:0123') ORDER BY id`,
      [one],
    );
    expect(rows).toEqual([
      { sender_event_id: 'adm-ok', status: 'pending', last_error: null },
      {
        sender_event_id: 'adm-bad',
        status: 'rejected',
        last_error: expect.stringMatching(/^invalid_digest: events/),
      },
      { sender_event_id: null, status: 'rejected', last_error: expect.stringMatching(/^invalid_digest: /) },
    ]);
    const after = await jobsPerEvent();
    expect(after.jobs).toBe(before.jobs + 1);
    expect(after).toEqual({ events: after.events, withOneJob: after.events, jobs: after.events });
    const listed = await inbox.list('rejected', 100);
    expect(listed.filter((e) => e.registryId === one).map((e) => e.status)).toEqual(['rejected', 'rejected']);
    expect((await inbox.backlog()).pending).toBeGreaterThanOrEqual(1);
  });

  it('drops a signed body seen before, whatever delivery id it comes with, in a batch or later', async () => {
    const body = 'ab'.repeat(32);
    expect(await inbox.record(one, [ev('sig-1')], { bodySha256: body })).toEqual({ stored: 1, rejected: 0 });
    const results = await Promise.all([
      inbox.record(one, [ev('sig-2')], { bodySha256: body }), // a replay with a fresh delivery id
      inbox.record(one, [ev('sig-3')], { bodySha256: 'cd'.repeat(32) }),
      inbox.record(one, [ev('sig-4')], { bodySha256: 'cd'.repeat(32) }),
      inbox.record(two, [ev('sig-5')], { bodySha256: body }), // another registry's own body
    ]);
    expect(results.map((r) => r.stored)).toEqual([0, 1, 0, 1]);
    expect(await storedIds('sig-')).toEqual(['sig-1', 'sig-3', 'sig-5']);
  });

  it('clamps event times to the receipt plus the allowed skew, and keeps earlier ones', async () => {
    const receivedAt = new Date('2026-12-01T12:00:00Z');
    const at = (occurredAt: Date, id: string): InboxEvent => ({ ...ev(id), occurredAt });
    await inbox.record(
      one,
      [
        at(new Date('9999-12-31T00:00:00Z'), 'clock-future'),
        at(new Date('2026-12-01T11:00:00Z'), 'clock-past'),
      ],
      {
        receivedAt,
        rejected: [{ ...rejectedEvent('clock-rejected'), occurredAt: new Date('9999-01-01T00:00:00Z') }],
      },
    );
    const { rows } = await observer.query<{ sender_event_id: string; event_at: Date }>(
      `SELECT sender_event_id, event_at FROM webhook_event WHERE sender_event_id LIKE 'clock-%' ORDER BY sender_event_id`,
    );
    const limit = new Date(receivedAt.getTime() + MAX_EVENT_CLOCK_SKEW_MS);
    expect(rows).toEqual([
      { sender_event_id: 'clock-future', event_at: limit },
      { sender_event_id: 'clock-past', event_at: new Date('2026-12-01T11:00:00Z') },
      { sender_event_id: 'clock-rejected', event_at: limit },
    ]);
  });
});

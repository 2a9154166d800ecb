import fc from 'fast-check';
import pg from 'pg';
import { contentEdges, tagEdges, type ExtractedEdge } from '#oci';
import {
  Database,
  GraphRepository,
  InboxRepository,
  RegistryRepository,
  TrustRepository,
  VERIFY_PRIORITY,
  VERIFY_TASK,
  type PushInput,
} from '#store';
import {
  createTestDatabase,
  imageManifest,
  indexManifest,
  kindOf,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';

/**
 * GraphRepository.applyPushes, the write behind the worker's group commit: many pushes in one
 * statement must leave exactly the graph the same pushes leave one by one, mark their events and
 * queue the verification they imply.
 */

let tdb: TestDatabase;
let db: Database;
let graph: GraphRepository;
let registries: RegistryRepository;
let trust: TrustRepository;
let inbox: InboxRepository;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  graph = new GraphRepository(db);
  registries = new RegistryRepository(db);
  trust = new TrustRepository(db);
  inbox = new InboxRepository(db, 5);
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const tagSchema = (m: BuiltManifest) => `sha256-${m.digest.slice(7)}`;
const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SBOM = 'application/spdx+json';

let registrySeq = 0;
async function registry(name: string): Promise<number> {
  const [row] = await registries.upsertRegistries([
    { name: `${name}-${registrySeq++}`, kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  return row!.id;
}

function input(repositoryId: number, m: BuiltManifest, eventAt: Date, tag?: string): PushInput {
  return {
    repositoryId,
    manifest: m.parsed,
    kind: kindOf(m),
    bytes: m.bytes,
    eventAt,
    ...(tag ? { tag } : {}),
  };
}

/** The graph of one registry, without ids or wall-clock columns. */
async function snapshot(registryId: number) {
  const q = async (sql: string) => (await db.pool.query(sql, [registryId])).rows;
  return {
    edges:
      await q(`SELECT r.name, e.subject_digest, e.referrer_digest, e.kind, e.source_digest, e.via_tag, e.descriptor
                    FROM edge e JOIN repository r ON r.id = e.repository_id WHERE r.registry_id = $1
                    ORDER BY 1, 2, 3, 4, 5, 6`),
    locations: await q(`SELECT r.name, l.digest, l.present, l.event_at, l.deleted_at
                        FROM artifact_location l JOIN repository r ON r.id = l.repository_id WHERE r.registry_id = $1
                        ORDER BY 1, 2`),
    tags: await q(`SELECT r.name, t.name AS tag, t.digest, t.event_at
                   FROM tag t JOIN repository r ON r.id = t.repository_id WHERE r.registry_id = $1
                   ORDER BY 1, 2`),
  };
}

/**
 * The reference: a push written statement by statement in one transaction. The location first
 * (its presence last-writer-wins); only if it applies, content edges. Then the tag, which is
 * last-writer-wins by its own events, naming the manifest unless the manifest was deleted since;
 * if the tag moved, all its edges replaced.
 */
async function referencePush(p: PushInput): Promise<void> {
  await db.transaction(async (c) => {
    const m = p.manifest;
    await c.query(
      `INSERT INTO artifact (digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (digest) DO NOTHING`,
      [
        m.digest,
        m.mediaType,
        m.artifactType,
        p.kind,
        m.size,
        m.subject?.digest ?? null,
        m.annotations,
        p.bytes,
      ],
    );
    const before = await c.query<{ event_at: Date; deleted_at: Date | null }>(
      'SELECT event_at, deleted_at FROM artifact_location WHERE repository_id = $1 AND digest = $2',
      [p.repositoryId, m.digest],
    );
    const old = before.rows[0];
    const applies = !old || old.event_at <= p.eventAt;
    const deletedSince = old?.deleted_at != null && old.deleted_at > p.eventAt;
    const insert = (viaTag: string, edges: ExtractedEdge[]) =>
      Promise.all(
        edges.map((e) =>
          c.query(
            `INSERT INTO edge (repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag, descriptor)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
            [p.repositoryId, e.subject, e.referrer, e.kind, m.digest, viaTag, e.descriptor ?? null],
          ),
        ),
      );
    if (applies) {
      await c.query(
        `INSERT INTO artifact_location (repository_id, digest, present, event_at) VALUES ($1, $2, true, $3)
         ON CONFLICT (repository_id, digest) DO UPDATE SET present = true, event_at = EXCLUDED.event_at`,
        [p.repositoryId, m.digest, p.eventAt],
      );
      await insert('', contentEdges(m));
    }
    if (!p.tag) return;
    const moved = await c.query(
      `INSERT INTO tag (repository_id, name, digest, event_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (repository_id, name) DO UPDATE SET digest = EXCLUDED.digest, event_at = EXCLUDED.event_at
       WHERE tag.event_at <= EXCLUDED.event_at RETURNING 1`,
      [p.repositoryId, p.tag, deletedSince ? null : m.digest, p.eventAt],
    );
    if (!moved.rowCount) return;
    await c.query('DELETE FROM edge WHERE repository_id = $1 AND via_tag = $2', [p.repositoryId, p.tag]);
    if (!deletedSince) await insert(p.tag, tagEdges(p.tag, m));
  });
}

async function job(digest: string) {
  const { rows } = await db.pool.query<{ priority: number; revision: number }>(
    `SELECT priority, revision FROM graphile_worker.jobs WHERE key = $1`,
    [`${VERIFY_TASK}:${digest}`],
  );
  return rows[0];
}

describe('GraphRepository.applyPushes', () => {
  // A small world where pushes collide: two images, referrers of both, tag-schema indexes that
  // move between referrer sets, an image index, and tags shared between them.
  const im1 = imageManifest();
  const im2 = imageManifest();
  const sig1 = referrerManifest(im1.descriptor, SIG);
  const sbom1 = referrerManifest(im1.descriptor, SBOM);
  const sig2 = referrerManifest(im2.descriptor, SIG);
  const pool = [
    im1,
    im2,
    sig1,
    sbom1,
    sig2,
    indexManifest([sig1.descriptor, sbom1.descriptor]),
    indexManifest([sig1.descriptor]),
    indexManifest([sig2.descriptor]),
    indexManifest([im1.descriptor, im2.descriptor]),
  ];
  const tags = [undefined, 'v1', tagSchema(im1), tagSchema(im2)];

  type Op =
    | { push: true; repo: number; m: number; tag: number; at: number; cut: boolean }
    | { push: false; repo: number; m: number; at: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        push: fc.constant(true as const),
        repo: fc.nat(1),
        m: fc.nat(pool.length - 1),
        tag: fc.nat(tags.length - 1),
        at: fc.integer({ min: 1, max: 4 }),
        cut: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        push: fc.constant(false as const),
        repo: fc.nat(1),
        m: fc.nat(pool.length - 1),
        at: fc.integer({ min: 1, max: 4 }),
      }),
    },
  );

  it('builds the graph the same pushes build one by one, statement by statement, however they are batched', async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (ops) => {
        cases++;
        const [ref, one, many] = [await registry('ref'), await registry('one'), await registry('many')];
        const repos = async (reg: number) => [
          await registries.ensureRepository(reg, 'app'),
          await registries.ensureRepository(reg, 'mirror'),
        ];
        const [refRepos, oneRepos, manyRepos] = [await repos(ref), await repos(one), await repos(many)];
        const pushOf = (o: Extract<Op, { push: true }>, r: number[]) =>
          input(r[o.repo]!, pool[o.m]!, at(o.at), tags[o.tag]);

        // The reference, and applyPush one by one, in order.
        for (const o of ops) {
          if (o.push) await referencePush(pushOf(o, refRepos));
          else await graph.applyDelete(refRepos[o.repo]!, pool[o.m]!.digest, at(o.at));
          if (o.push) await graph.applyPush(pushOf(o, oneRepos));
          else await graph.applyDelete(oneRepos[o.repo]!, pool[o.m]!.digest, at(o.at));
        }
        // The same, consecutive pushes in batches (cut where `cut` says), deletes in between.
        let batch: PushInput[] = [];
        const flush = async () => {
          if (batch.length) await graph.applyPushes(batch);
          batch = [];
        };
        for (const o of ops) {
          if (!o.push) {
            await flush();
            await graph.applyDelete(manyRepos[o.repo]!, pool[o.m]!.digest, at(o.at));
            continue;
          }
          batch.push(pushOf(o, manyRepos));
          if (o.cut) await flush();
        }
        await flush();

        const expected = await snapshot(ref);
        expect(await snapshot(one)).toEqual(expected);
        expect(await snapshot(many)).toEqual(expected);
      }),
      { seed: 2026, numRuns: 60, endOnFailure: true },
    );
    expect(cases).toBe(60);
  }, 120_000);

  it('converges on one graph whatever order events with distinct times arrive in', async () => {
    // Pushes (with and without tags), manifest deletes and tag deletes, each at its own time; the
    // graph after all of them is what they leave in time order.
    type Event =
      | { type: 'push'; repo: number; m: number; tag: number }
      | { type: 'delete'; repo: number; m: number }
      | { type: 'untag'; repo: number; tag: number };
    const event: fc.Arbitrary<Event> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          type: fc.constant('push' as const),
          repo: fc.nat(1),
          m: fc.nat(pool.length - 1),
          tag: fc.nat(tags.length - 1),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          type: fc.constant('delete' as const),
          repo: fc.nat(1),
          m: fc.nat(pool.length - 1),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          type: fc.constant('untag' as const),
          repo: fc.nat(1),
          tag: fc.integer({ min: 1, max: tags.length - 1 }),
        }),
      },
    );
    const world = fc.array(event, { minLength: 1, maxLength: 14 }).chain((events) =>
      fc.record({
        events: fc.constant(events),
        order: fc.shuffledSubarray(
          events.map((_, i) => i),
          { minLength: events.length },
        ),
      }),
    );
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(world, fc.boolean(), async ({ events, order }, batched) => {
        cases++;
        const [inTime, shuffled] = [await registry('time'), await registry('shuffled')];
        const repos = async (reg: number) => [
          await registries.ensureRepository(reg, 'app'),
          await registries.ensureRepository(reg, 'mirror'),
        ];
        const [timeRepos, shuffledRepos] = [await repos(inTime), await repos(shuffled)];
        // Event i happens at time i + 1; consecutive pushes of the shuffled stream may go as one batch.
        let batch: PushInput[] = [];
        const flush = async () => {
          if (batch.length) await graph.applyPushes(batch);
          batch = [];
        };
        const apply = async (i: number, r: number[], batching: boolean) => {
          const e = events[i]!;
          if (e.type === 'push') {
            const p = input(r[e.repo]!, pool[e.m]!, at(i + 1), tags[e.tag]);
            if (batching) return void batch.push(p);
            return void (await graph.applyPush(p));
          }
          await flush();
          if (e.type === 'delete') await graph.applyDelete(r[e.repo]!, pool[e.m]!.digest, at(i + 1));
          else await graph.applyTagDelete(r[e.repo]!, tags[e.tag]!, at(i + 1));
        };
        for (let i = 0; i < events.length; i++) await apply(i, timeRepos, false);
        for (const i of order) await apply(i, shuffledRepos, batched);
        await flush();
        expect(await snapshot(shuffled)).toEqual(await snapshot(inTime));
      }),
      { seed: 1202, numRuns: 80, endOnFailure: true },
    );
    expect(cases).toBe(80);
  }, 120_000);

  it('keeps both tags of one manifest pushed back to back, whichever is written first', async () => {
    const repo = await registries.ensureRepository(await registry('two-tags'), 'app');
    const im = imageManifest();
    const later = await graph.applyPush(input(repo, im, at(2), 'latest'));
    const earlier = await graph.applyPush(input(repo, im, at(1), 'v1'));
    expect([later.applied, earlier.applied]).toEqual([true, true]);
    const { rows } = await db.pool.query(
      'SELECT name, digest FROM tag WHERE repository_id = $1 ORDER BY name',
      [repo],
    );
    expect(rows).toEqual([
      { name: 'latest', digest: im.digest },
      { name: 'v1', digest: im.digest },
    ]);
  });

  it('drops a tag whose manifest was deleted after it, even when a newer push came in between', async () => {
    const repo = await registries.ensureRepository(await registry('delete-late'), 'app');
    const im = imageManifest();
    const other = imageManifest();
    // In time: v1 -> im (1), delete im (3), latest -> im (4), v2 -> other (2). Arriving: 1, 4, 3, 2.
    await graph.applyPush(input(repo, im, at(1), 'v1'));
    await graph.applyPush(input(repo, im, at(4), 'latest'));
    const del = await graph.applyDelete(repo, im.digest, at(3));
    expect(del).toMatchObject({ applied: true });
    await graph.applyPush(input(repo, other, at(2), 'v1'));
    const { rows } = await db.pool.query(
      'SELECT name, digest FROM tag WHERE repository_id = $1 ORDER BY name',
      [repo],
    );
    // v1 was moved to `other` before the delete, so the delete does not take it; latest is newer.
    expect(rows).toEqual([
      { name: 'latest', digest: im.digest },
      { name: 'v1', digest: other.digest },
    ]);
    const loc = await db.pool.query(
      'SELECT present FROM artifact_location WHERE repository_id = $1 AND digest = $2',
      [repo, im.digest],
    );
    expect(loc.rows).toEqual([{ present: true }]);
  });

  it('reports each push on its own: applied, edges added and removed', async () => {
    const repo = await registries.ensureRepository(await registry('outcomes'), 'app');
    const idx2 = indexManifest([sig1.descriptor, sbom1.descriptor]);
    const idx1 = indexManifest([sig1.descriptor]);
    await graph.applyPush(input(repo, sig1, at(5)));
    const res = await graph.applyPushes([
      input(repo, sig1, at(4)), // older than what is stored: stale
      input(repo, idx2, at(5), tagSchema(im1)),
      input(repo, idx1, at(6), tagSchema(im1)), // same tag: written after idx2
      input(repo, sbom1, at(5)),
    ]);
    expect(res).toEqual([
      { applied: false, edgesAdded: 0, edgesRemoved: 0, eventFinished: false },
      // Two index children and two tag-schema edges.
      { applied: true, edgesAdded: 4, edgesRemoved: 0, eventFinished: false },
      // One index child and a tag-schema edge sourced by idx1; both of idx2's tag-schema edges go.
      { applied: true, edgesAdded: 2, edgesRemoved: 2, eventFinished: false },
      { applied: true, edgesAdded: 1, edgesRemoved: 0, eventFinished: false },
    ]);
    // Pushing the index the tag already names again changes nothing.
    expect(await graph.applyPush(input(repo, idx1, at(7), tagSchema(im1)))).toEqual({
      applied: true,
      edgesAdded: 0,
      edgesRemoved: 0,
      eventFinished: false,
    });
  });

  it('marks each event done once, noting a stale push', async () => {
    const regId = await registry('events');
    const repo = await registries.ensureRepository(regId, 'app');
    const im = imageManifest();
    await inbox.record(regId, [
      { action: 'push', repository: 'app', digest: im.digest, occurredAt: at(2), senderEventId: 'e1' },
      { action: 'push', repository: 'app', digest: im.digest, occurredAt: at(1), senderEventId: 'e2' },
    ]);
    const events = (await inbox.list('pending', 100)).filter((e) => e.registryId === regId);
    const [newer, older] = [...events].sort((a, b) => b.eventAt.getTime() - a.eventAt.getTime());
    const res = await graph.applyPushes([
      { ...input(repo, im, newer!.eventAt), event: { id: newer!.id, attempts: 1 } },
      { ...input(repo, im, older!.eventAt), event: { id: older!.id, attempts: 2 } },
    ]);
    expect(res.map((r) => [r.applied, r.eventFinished])).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(await inbox.find(newer!.id)).toMatchObject({ status: 'done', attempts: 1, lastError: null });
    expect(await inbox.find(older!.id)).toMatchObject({
      status: 'done',
      attempts: 2,
      lastError: 'stale: a newer event already applied',
    });
    // A second run of a finished event writes idempotently and leaves the event alone.
    const again = await graph.applyPush({
      ...input(repo, im, newer!.eventAt),
      event: { id: newer!.id, attempts: 3 },
    });
    expect(again).toMatchObject({ applied: true, eventFinished: false });
    expect(await inbox.find(newer!.id)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('queues verification of trust artifacts pushed or newly linked, at a lower priority than ingest', async () => {
    const regId = await registry('verify');
    const [app, mirror] = [
      await registries.ensureRepository(regId, 'app'),
      await registries.ensureRepository(regId, 'mirror'),
    ];
    const im = imageManifest();
    const sig = referrerManifest(im.descriptor, SIG);
    const sbom = referrerManifest(im.descriptor, SBOM);
    const late = referrerManifest(im.descriptor, SIG);
    const verify = trust.verifyJobs;
    const push = (repo: number, m: BuiltManifest, tag?: string) =>
      graph.applyPush({ ...input(repo, m, at(1), tag), verify });

    const listener = new pg.Client({ connectionString: tdb.url });
    await listener.connect();
    const inserts: string[] = [];
    listener.on('notification', (n) => inserts.push(n.payload ?? ''));
    await listener.query('LISTEN "jobs:insert"');
    try {
      // Nothing to verify: no job and no notification.
      await push(app, im);
      await push(app, sig);
      expect(await job(sig.digest)).toEqual({ priority: VERIFY_PRIORITY, revision: 0 });
      // The tag-schema index links sig to the subject it already refers to: nothing new to verify.
      // `late` is not stored yet, so there is nothing to verify about it yet either.
      await push(app, indexManifest([sig.descriptor, sbom.descriptor, late.descriptor]), tagSchema(im));
      expect(await job(sig.digest)).toEqual({ priority: VERIFY_PRIORITY, revision: 0 });
      expect(await job(late.digest)).toBeUndefined();
      // Pushed after the index that lists it: verified as it is stored.
      await push(app, late);
      expect(await job(late.digest)).toMatchObject({ revision: 0 });
      // sbom stored without verification (e.g. by another writer), then linked in a new repository.
      await graph.applyPush(input(app, sbom, at(1)));
      expect(await job(sbom.digest)).toBeUndefined();
      await push(mirror, indexManifest([sbom.descriptor]), tagSchema(im));
      expect(await job(sbom.digest)).toMatchObject({ priority: VERIFY_PRIORITY });
      await new Promise((r) => setTimeout(r, 200));
      // One notification per statement that queued jobs: sig, late, sbom.
      expect(inserts).toHaveLength(3);
    } finally {
      await listener.end();
    }
  });
});

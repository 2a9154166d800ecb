import { Database, RegistryRepository, TrustRepository, VERIFY_TASK } from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';
import { requeueStaleVerifications } from './verify-jobs.js';

let tdb: TestDatabase;
let db: Database;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 2 });
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

it('queues every artifact with results under another policy version, page by page', async () => {
  const registries = new RegistryRepository(db);
  const [reg] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  const repo = await registries.ensureRepository(reg!.id, 'app');
  const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
  const trust = new TrustRepository(db);
  const row = (i: number, policyVersion: string) => ({
    artifactDigest: digest(i),
    layerDigest: '',
    subjectDigest: digest(1000),
    repositoryId: repo,
    kind: 'signature' as const,
    format: 'cosign',
    status: 'verified' as const,
    reason: null,
    message: null,
    policyVersion,
  });
  // 25 stale artifacts (two rows each) and 5 current ones.
  await trust.upsertSignatures([
    ...Array.from({ length: 25 }, (_, i) => row(i + 1, 'old')),
    ...Array.from({ length: 25 }, (_, i) => ({ ...row(i + 1, 'old'), layerDigest: digest(2000 + i) })),
    ...Array.from({ length: 5 }, (_, i) => row(100 + i, 'new')),
  ]);
  // Pages of 10: the old code queued one page per start and left the rest stale for good.
  expect(await requeueStaleVerifications(trust, 'new', 10)).toBe(25);
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(DISTINCT j.payload->>'digest')::int AS n FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE t.identifier = $1`,
    [VERIFY_TASK],
  );
  expect(rows[0]!.n).toBe(25);
});

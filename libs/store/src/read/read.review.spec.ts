import { compilePatterns } from '#config';
import { Database, GraphRepository, ReadRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  imageManifest,
  kindOf,
  referrerManifest,
  type BuiltManifest,
  type TestDatabase,
} from '#testing';

let tdb: TestDatabase;
let db: Database;
let registryId: number;
let graph: GraphRepository;
let registries: RegistryRepository;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  registries = new RegistryRepository(db);
  graph = new GraphRepository(db);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  registryId = row!.id;
});

afterAll(async () => {
  await db.close();
  await tdb.drop();
});

async function push(repo: string, m: BuiltManifest, tag?: string) {
  const id = await registries.ensureRepository(registryId, repo);
  await graph.applyPush({
    repositoryId: id,
    manifest: m.parsed,
    kind: kindOf(m),
    bytes: m.bytes,
    tag,
    eventAt: new Date(),
  });
}

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function find(node: PlanNode, type: string): PlanNode | undefined {
  if (node['Node Type'] === type) return node;
  for (const p of node.Plans ?? []) {
    const hit = find(p, type);
    if (hit) return hit;
  }
  return undefined;
}

describe('referrer trees over one chain mirrored in several repositories', () => {
  it('visit each edge once, not once per path through the mirrors', async () => {
    // image <- r1 <- r2 <- ... <- r6 (a signature of an attestation of ..., each with a subject),
    // the same chain pushed into four team-a repositories: 6 distinct pairs, 24 edges.
    const MIRRORS = 4;
    const LEVELS = 6;
    const image = imageManifest();
    const chain: BuiltManifest[] = [];
    let subject = image;
    for (let i = 0; i < LEVELS; i++) {
      subject = referrerManifest(subject.descriptor, 'application/vnd.example.level');
      chain.push(subject);
    }
    for (let m = 0; m < MIRRORS; m++) {
      await push(`team-a/mirror${m}`, image, 'v1');
      for (const r of chain) await push(`team-a/mirror${m}`, r);
    }
    // Run the read repository's statement as EXPLAIN ANALYZE to count the rows its walk visits.
    const plans: PlanNode[] = [];
    const spy = {
      pool: {
        query: async (text: string, values: unknown[]) => {
          const { rows } = await db.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
            `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
            values,
          );
          plans.push(rows[0]!['QUERY PLAN'][0]!.Plan);
          return db.pool.query(text, values);
        },
      },
    } as unknown as Database;
    const rows = await new ReadRepository(spy).findReferrerTree(['local/team-a/**'], {
      subjects: [image.digest],
      depth: LEVELS,
      limit: 10,
    });
    expect(rows).toHaveLength(LEVELS);
    const walk = find(plans[0]!, 'Recursive Union');
    expect(walk).toBeDefined();
    // A walk that keeps one row per (subject, referrer) visits at most the 24 edges; one that
    // keeps every path visits 1 + 4 + 16 + ... + 4^5 = 1365 rows, and 4^7 per level at depth 8.
    expect(walk!['Actual Rows']).toBeLessThanOrEqual(MIRRORS * LEVELS);
  });
});

describe('the pattern language in JavaScript and in Postgres', () => {
  it('agree on paths with line terminators', async () => {
    const cases: Array<[string, string]> = [
      ['local/team-a/**', 'local/team-a/x\ny'],
      ['local/team-a/**', 'local/team-a/x\ry'],
      ['**', 'local/x\u2028y'],
    ];
    const { rows } = await db.pool.query<{ m: boolean }>(
      `SELECT path ~ re AS m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(path, re, i) ORDER BY i`,
      [cases.map(([, path]) => path), cases.map(([p]) => compilePatterns([p]).sql)],
    );
    expect(rows.map((r) => r.m)).toEqual(cases.map(([p, path]) => compilePatterns([p]).test(path)));
  });
});

import pg from 'pg';
import { Database, ReferrersRepository } from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';
import { CHAIN_LEN, dropSeeds, generateGraph, hotKeys, plan, sampleKeys } from '../../bench/lib/generate.mjs';

// The benchmark's synthetic graph has the shape bench/RESULTS.md promises, and the service's own
// referrers query reads it as it reads ingested data. Shape only: nothing here is timed.
describe('bench graph generator', () => {
  let tdb: TestDatabase;
  let db: Database;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = new Database({ url: tdb.url, maxConnections: 4 });
    for (let i = 0; i < 2; i++) {
      const c = new pg.Client({ connectionString: tdb.url });
      await c.connect();
      clients.push(c);
    }
  });

  afterAll(async () => {
    for (const c of clients) await c.end();
    await db?.close();
    await tdb?.drop();
  });

  it('makes about the requested artifacts with about three edges each, hot subjects and deep chains', async () => {
    const size = 3000;
    const g = await generateGraph(clients, { artifacts: size });
    expect(Math.abs(g.artifacts - size) / size).toBeLessThan(0.05);
    expect(g.edges / g.artifacts).toBeGreaterThan(2.4);
    expect(g.edges / g.artifacts).toBeLessThan(3.6);

    const sql = clients[0]!;
    const kinds = await sql.query<{ kind: string }>(`SELECT DISTINCT kind FROM edge ORDER BY kind`);
    expect(kinds.rows.map((r) => r.kind)).toEqual([
      'buildkit-attestation',
      'cosign-tag',
      'index-child',
      'subject',
      'tag-schema',
    ]);
    const artifactKinds = await sql.query<{ kind: string }>(
      `SELECT DISTINCT kind FROM artifact ORDER BY kind`,
    );
    expect(artifactKinds.rows.map((r) => r.kind)).toEqual([
      'attestation',
      'image',
      'index',
      'sbom',
      'signature',
    ]);

    const hot = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM edge GROUP BY repository_id, subject_digest ORDER BY 1 DESC LIMIT 5`,
    );
    expect(hot.rows.map((r) => r.n)).toEqual(Array(5).fill(plan(size).hot));

    const depth = await sql.query<{ d: number }>(`
      WITH RECURSIVE down(digest, d) AS (
        SELECT a.digest, 0 FROM artifact a WHERE a.kind = 'index'
          AND EXISTS (SELECT 1 FROM edge e WHERE e.subject_digest = a.digest AND e.kind = 'subject')
        UNION
        SELECT e.referrer_digest, down.d + 1 FROM down JOIN edge e ON e.subject_digest = down.digest AND e.kind = 'subject'
        WHERE down.d < 20)
      SELECT max(d)::int AS d FROM down`);
    expect(depth.rows[0]!.d).toBe(2 + CHAIN_LEN);

    for (const table of ['signature', 'attestation', 'sbom', 'sbom_package', 'tag', 'artifact_location']) {
      const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(rows[0]!.n).toBeGreaterThan(0);
    }
  });

  it('gives keys the service answers: an image has its signature, provenance and SBOM once each', async () => {
    const sql = clients[0]!;
    const keys = await sampleKeys(sql, { count: 100 });
    const hot = await hotKeys(sql);
    const referrers = new ReferrersRepository(db);

    const image = keys[1]!;
    const found = await referrers.findReferrers({ ...image, subject: image.digest, limit: 501 });
    expect(found.map((d) => d.artifactType ?? null).sort()).toEqual([
      'application/spdx+json',
      'application/vnd.in-toto+json',
      'application/vnd.oci.image.config.v1+json',
    ]);

    const page = await referrers.findReferrers({ ...hot[0]!, subject: hot[0]!.digest, limit: 501 });
    expect(page).toHaveLength(Math.min(501, plan(3000).hot));

    // Tagged keys name their digest by that tag; unknown keys name nothing stored.
    const tagged = keys.filter((k) => k.tag);
    expect(tagged.length).toBeGreaterThan(50);
    for (const k of tagged.slice(0, 20)) {
      const { rows } = await sql.query<{ digest: string }>(
        `SELECT t.digest FROM tag t JOIN repository r ON r.id = t.repository_id WHERE r.name = $1 AND t.name = $2`,
        [k.repository, k.tag],
      );
      expect(rows).toEqual([{ digest: k.digest }]);
    }
    const unknown = keys.filter((k) => !k.known).map((k) => k.digest);
    expect(unknown.length).toBeGreaterThan(0);
    const { rows: stored } = await sql.query(`SELECT 1 FROM artifact WHERE digest = ANY($1)`, [unknown]);
    expect(stored).toHaveLength(0);
    const { rows: known } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM artifact WHERE digest = ANY($1)`,
      [[...new Set(keys.filter((k) => k.known).map((k) => k.digest))]],
    );
    expect(known[0]!.n).toBe(new Set(keys.filter((k) => k.known).map((k) => k.digest)).size);
    await dropSeeds(sql);
  });

  it('hides a referrer deleted from its repository', async () => {
    const { rows } = await clients[0]!.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM artifact_location WHERE NOT present`,
    );
    expect(rows[0]!.n).toBeGreaterThan(0);
  });
});

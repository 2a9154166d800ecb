import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runMigrations } from 'graphile-worker';
import pg from 'pg';
import { applyMigrations, contentSha256, migrationsApplied, readMigrations } from '#store';
import { createEmptyDatabase, type TestDatabase } from '#testing';

let tdb: TestDatabase;

beforeEach(async () => {
  tdb = await createEmptyDatabase();
});

afterEach(async () => {
  await tdb.drop();
});

async function connect() {
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  return c;
}

describe('applyMigrations', () => {
  it('applies once even when two instances start at the same moment, recording them as Prisma does', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const [a, b] = [await connect(), await connect()];
    try {
      const [ra, rb] = await Promise.all([applyMigrations(a, migrations), applyMigrations(b, migrations)]);
      expect([...ra, ...rb]).toEqual(migrations.map((m) => m.name));
      const { rows } = await a.query<{
        migration_name: string;
        checksum: string;
        finished_at: Date | null;
        applied_steps_count: number;
      }>(
        'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
      );
      const first = migrations[0]!;
      const sql = readFileSync(resolve('prisma/migrations', first.name, 'migration.sql'));
      expect(rows[0]).toMatchObject({
        migration_name: first.name,
        checksum: createHash('sha256').update(sql).digest('hex'),
        applied_steps_count: 1,
      });
      expect(rows[0]!.finished_at).toBeInstanceOf(Date);
      expect(await migrationsApplied(a, migrations)).toBe(true);
      expect(await applyMigrations(a, migrations)).toEqual([]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('reports not-applied before, and refuses a migration edited after it was applied', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const c = await connect();
    try {
      expect(await migrationsApplied(c, migrations)).toBe(false);
      await applyMigrations(c, migrations);
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'f'.repeat(64) } : m));
      await expect(applyMigrations(c, edited)).rejects.toThrow(/changed after it was applied/);
    } finally {
      await c.end();
    }
  });

  it('rolls back a failing migration whole and records nothing for it', async () => {
    const c = await connect();
    try {
      const bad = [
        {
          name: '20990101000000_bad',
          sql: 'CREATE TABLE half (id int); SELECT * FROM no_such_table;',
          checksum: 'x',
        },
      ];
      await expect(applyMigrations(c, bad)).rejects.toThrow(/20990101000000_bad failed/);
      const { rows } = await c.query(
        `SELECT to_regclass('half') AS t, (SELECT count(*) FROM _prisma_migrations) AS n`,
      );
      expect(rows[0]).toEqual({ t: null, n: 0 });
    } finally {
      await c.end();
    }
  });

  it('signature_scope: results from before are queued for verification again, then dropped', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const scope = migrations.findIndex((m) => m.name === '20261201000000_signature_scope');
    expect(scope).toBeGreaterThan(0);
    const c = await connect();
    const pool = new pg.Pool({ connectionString: tdb.url, max: 1 });
    pool.on('error', () => undefined);
    try {
      await applyMigrations(c, migrations.slice(0, scope));
      await runMigrations({ pgPool: pool });
      const sig = `sha256:${'a'.repeat(64)}`;
      await c.query(
        `INSERT INTO signature (artifact_digest, subject_digest, format, status, policy_version)
         VALUES ($1, $2, 'cosign', 'verified', 'old'), ($1, $3, 'cosign', 'failed', 'old')`,
        [sig, `sha256:${'b'.repeat(64)}`, `sha256:${'c'.repeat(64)}`],
      );
      expect(await applyMigrations(c, migrations)).toEqual(migrations.slice(scope).map((m) => m.name));
      const { rows } = await c.query(
        `SELECT (SELECT count(*)::int FROM signature) AS rows,
                ARRAY(SELECT key FROM graphile_worker.jobs WHERE task_identifier = 'verify_artifact') AS jobs`,
      );
      expect(rows[0]).toEqual({ rows: 0, jobs: [`verify_artifact:${sig}`] });
    } finally {
      await pool.end();
      await c.end();
    }
  });

  it('repository_blobs: links the blobs of the manifests already recorded, skipping bytes that do not parse', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const blobs = migrations.findIndex((m) => m.name === '20261203000000_repository_blobs');
    expect(blobs).toBeGreaterThan(0);
    const c = await connect();
    try {
      await applyMigrations(c, migrations.slice(0, blobs));
      const d = (ch: string) => `sha256:${ch.repeat(64)}`;
      const manifest = JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('1'), size: 2 },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('2'), size: 3 },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'not a digest', size: 3 },
          'not a descriptor',
        ],
      });
      await c.query(
        `INSERT INTO registry (name, kind, base_url) VALUES ('r', 'distribution', 'http://127.0.0.1:1')`,
      );
      await c.query(`INSERT INTO repository (registry_id, name) SELECT id, 'app' FROM registry`);
      await c.query(
        `INSERT INTO artifact (digest, media_type, kind, size, manifest)
         VALUES ($1, 'application/vnd.oci.image.manifest.v1+json', 'image', 1, convert_to($3, 'UTF8')),
                ($2, 'application/vnd.oci.image.manifest.v1+json', 'image', 1, '\xff'::bytea)`,
        [d('a'), d('b'), manifest],
      );
      await c.query(
        `INSERT INTO artifact_location (repository_id, digest, present, event_at)
         SELECT r.id, a.digest, true, now() FROM repository r, artifact a`,
      );
      expect(await applyMigrations(c, migrations)).toEqual(migrations.slice(blobs).map((m) => m.name));
      const { rows } = await c.query(`SELECT blob_digest FROM repository_blob ORDER BY blob_digest`);
      expect(rows.map((r) => r.blob_digest)).toEqual([d('1'), d('2')]);
    } finally {
      await c.end();
    }
  });

  it('signed_evidence: attestations and SBOMs whose layer has verification rows are marked signed', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const at = migrations.findIndex((m) => m.name === '20261204010000_signed_evidence');
    expect(at).toBeGreaterThan(0);
    const c = await connect();
    try {
      await applyMigrations(c, migrations.slice(0, at));
      const d = (ch: string) => `sha256:${ch.repeat(64)}`;
      await c.query(
        `INSERT INTO registry (name, kind, base_url) VALUES ('r', 'distribution', 'http://127.0.0.1:1')`,
      );
      await c.query(`INSERT INTO repository (registry_id, name) SELECT id, 'app' FROM registry`);
      // An envelope layer (verified or not, its rows exist) and a plain layer of the same artifact.
      await c.query(
        `INSERT INTO signature (artifact_digest, layer_digest, subject_digest, repository_id, kind, format, status, policy_version)
         SELECT $1, $2, $3, id, 'attestation', 'cosign-dsse', 'failed', 'v' FROM repository`,
        [d('a'), d('e'), d('s')],
      );
      for (const table of ['attestation (predicate_type, ', 'sbom (format, ']) {
        await c.query(
          `INSERT INTO ${table}artifact_digest, layer_digest, subject_digest)
           VALUES ('x', $1, $2, $4), ('x', $1, $3, $4)`,
          [d('a'), d('e'), d('p'), d('s')],
        );
      }
      expect(await applyMigrations(c, migrations)).toEqual(migrations.slice(at).map((m) => m.name));
      for (const table of ['attestation', 'sbom']) {
        const { rows } = await c.query(`SELECT layer_digest, signed FROM ${table} ORDER BY layer_digest`);
        expect([table, rows]).toEqual([
          table,
          [
            { layer_digest: d('e'), signed: true },
            { layer_digest: d('p'), signed: false },
          ],
        ]);
      }
    } finally {
      await c.end();
    }
  });

  it('blob_links_by_url: drops the links only layers with urls made, keeping those a held blob made', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const byUrl = migrations.findIndex((m) => m.name === '20261204000000_blob_links_by_url');
    expect(byUrl).toBeGreaterThan(0);
    const c = await connect();
    try {
      await applyMigrations(c, migrations.slice(0, byUrl));
      const d = (ch: string) => `sha256:${ch.repeat(64)}`;
      const layer = (digest: string, urls?: unknown) => ({
        mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
        digest,
        size: 1,
        ...(urls === undefined ? {} : { urls }),
      });
      const manifest = (layers: object[]) =>
        JSON.stringify({
          schemaVersion: 2,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('1'), size: 2 },
          layers,
        });
      await c.query(
        `INSERT INTO registry (name, kind, base_url) VALUES ('r', 'distribution', 'http://127.0.0.1:1')`,
      );
      await c.query(
        `INSERT INTO repository (registry_id, name) SELECT id, n FROM registry, unnest(ARRAY['app', 'other']) n`,
      );
      const artifacts: Array<[string, string, string]> = [
        // app: 2 held, 3 by url only, 4 by url here and held in the next manifest.
        ['app', d('a'), manifest([layer(d('2')), layer(d('3'), ['https://x.test/3']), layer(d('4'), ['u'])])],
        ['app', d('b'), manifest([layer(d('4')), layer(d('5'), [])])],
        // other: 3 held there.
        ['other', d('c'), manifest([layer(d('3'))])],
      ];
      for (const [repo, digest, bytes] of artifacts) {
        await c.query(
          `INSERT INTO artifact (digest, media_type, kind, size, manifest)
           VALUES ($1, 'application/vnd.oci.image.manifest.v1+json', 'image', 1, convert_to($2, 'UTF8'))`,
          [digest, bytes],
        );
        await c.query(
          `INSERT INTO artifact_location (repository_id, digest, present, event_at)
           SELECT id, $2, true, now() FROM repository WHERE name = $1`,
          [repo, digest],
        );
      }
      // The links the earlier code wrote: every blob named, and 6 by a pull-through not yet recorded.
      await c.query(
        `INSERT INTO repository_blob (repository_id, blob_digest)
         SELECT r.id, b FROM repository r, unnest($1::text[]) b WHERE r.name = 'app'
         UNION ALL SELECT r.id, $2 FROM repository r WHERE r.name = 'other'`,
        [[d('1'), d('2'), d('3'), d('4'), d('5'), d('6')], d('3')],
      );
      expect(await applyMigrations(c, migrations)).toEqual(migrations.slice(byUrl).map((m) => m.name));
      const { rows } = await c.query(
        `SELECT r.name, b.blob_digest FROM repository_blob b JOIN repository r ON r.id = b.repository_id
         ORDER BY 1, 2`,
      );
      expect(rows.map((r) => [r.name, r.blob_digest])).toEqual([
        ['app', d('1')],
        ['app', d('2')],
        ['app', d('4')],
        ['app', d('5')],
        ['app', d('6')],
        ['other', d('3')],
      ]);
    } finally {
      await c.end();
    }
  });

  it('event_content: stored events get the hash the code computes, and one id may then hold two', async () => {
    const migrations = await readMigrations(resolve('prisma/migrations'));
    const at = migrations.findIndex((m) => m.name === '20261205000000_event_content');
    expect(at).toBeGreaterThan(0);
    const c = await connect();
    try {
      await applyMigrations(c, migrations.slice(0, at));
      await c.query(
        `INSERT INTO registry (name, kind, base_url) VALUES ('r', 'distribution', 'http://127.0.0.1:1')`,
      );
      const d = `sha256:${'a'.repeat(64)}`;
      // What a length-prefixed encoding must keep apart, and text whose bytes are not its length.
      const contents = [
        { action: 'push', repository: 'app', digest: d, tag: null, mediaType: null },
        { action: 'push', repository: 'app', digest: d, tag: '', mediaType: null },
        { action: 'push', repository: 'ap', digest: d, tag: 'p', mediaType: null },
        { action: 'delete', repository: 'app,~', digest: null, tag: '3:v1,', mediaType: null },
        { action: 'push', repository: 'äpp/ünïcode', digest: d, tag: '𝄞', mediaType: 'x/y+json; a="b\\c"' },
        { action: 'unknown', repository: '', digest: null, tag: null, mediaType: null },
        {
          action: 'push',
          repository: 'tab\tline\nend',
          digest: d,
          tag: 'v1',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
      ];
      for (const [i, e] of contents.entries()) {
        await c.query(
          `INSERT INTO webhook_event (registry_id, sender_event_id, action, repository, digest, tag, media_type, event_at)
           SELECT id, $1, $2, $3, $4, $5, $6, now() FROM registry`,
          [i === 5 ? null : `old-${i}`, e.action, e.repository, e.digest, e.tag, e.mediaType],
        );
      }
      expect(await applyMigrations(c, migrations)).toEqual(migrations.slice(at).map((m) => m.name));
      const { rows } = await c.query<{ content_sha256: string }>(
        'SELECT content_sha256 FROM webhook_event ORDER BY id',
      );
      expect(rows.map((r) => r.content_sha256)).toEqual(contents.map((e) => contentSha256(e)));
      expect(new Set(rows.map((r) => r.content_sha256)).size).toBe(contents.length);

      // The old unique key is gone: the id of a stored event takes one asking something else,
      // while the same request under it is still a duplicate.
      const again = (digest: string) =>
        c.query(
          `INSERT INTO webhook_event (registry_id, sender_event_id, content_sha256, action, repository, digest, event_at)
           SELECT id, 'old-0', $1, 'push', 'app', $2, now() FROM registry ON CONFLICT DO NOTHING`,
          [contentSha256({ action: 'push', repository: 'app', digest, tag: null, mediaType: null }), digest],
        );
      expect((await again(d)).rowCount).toBe(0);
      expect((await again(`sha256:${'b'.repeat(64)}`)).rowCount).toBe(1);
    } finally {
      await c.end();
    }
  });
});

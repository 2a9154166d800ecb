import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdWalWriter } from '#testing';
import { Database } from './database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';
import { RegistryRepository } from './registry.repository.js';

/**
 * The job runner's pool commits without waiting for the WAL flush (Runtime.jobDb): a Postgres
 * crash may take its last commits, which is safe only for what the job redoes. A repository id is
 * kept in memory once handed out, by a process that outlives the crash, so the repository's row
 * must never be among what a crash takes: the id would then name nothing, or, with the sequence
 * set back by the same crash, the next repository created.
 */
describe('repository ids across a Postgres crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refgraph-repository-ids-'));
  let server: EmbeddedDatabase;

  beforeAll(async () => {
    server = await startEmbeddedPostgres(dir);
    const setup = new Database({ url: server.url, maxConnections: 1 });
    await setup.migrate().finally(() => setup.close());
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an id handed out on an asynchronously committing pool still names its repository after a crash', async () => {
    // Registries are written at start-up, on the main pool (synchronous).
    const main = new Database({ url: server.url, maxConnections: 1 });
    const [registry] = await new RegistryRepository(main)
      .upsertRegistries([{ name: 'local', kind: 'distribution', url: 'http://127.0.0.1:5000' }])
      .finally(() => main.close());
    const jobs = new Database({ url: server.url, maxConnections: 2, synchronousCommit: 'off' });
    const repositories = new RegistryRepository(jobs);
    const wal = await holdWalWriter(server.url);
    const a = await repositories.ensureRepository(registry!.id, 'team-a/app');
    // A write of the same pool that a crash may take: it shows that this one took what was unflushed.
    await repositories.setReferrersApi(registry!.id, true);
    await wal.crash();

    const b = await repositories.ensureRepository(registry!.id, 'team-b/app');
    const check = new Database({ url: server.url, maxConnections: 1 });
    try {
      const { rows: registries } = await check.pool.query<{ referrers_api: boolean | null }>(
        'SELECT referrers_api FROM registry WHERE id = $1',
        [registry!.id],
      );
      expect(registries).toEqual([{ referrers_api: null }]);
      const { rows } = await check.pool.query<{ id: number; name: string }>(
        'SELECT id, name FROM repository ORDER BY name',
      );
      expect(rows).toEqual([
        { id: a, name: 'team-a/app' },
        { id: b, name: 'team-b/app' },
      ]);
      expect(await repositories.ensureRepository(registry!.id, 'team-a/app')).toBe(a);
    } finally {
      await check.close();
      await jobs.close();
    }
  }, 120_000);
});

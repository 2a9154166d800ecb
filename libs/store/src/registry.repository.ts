import { Lru } from '#oci';
import type { Database } from './database.js';

export interface RegistryRow {
  id: number;
  name: string;
  kind: string;
  baseUrl: string;
  referrersApi: boolean | null;
  lastEventAt: Date | null;
}

/** Repository ids kept in memory per process (an entry is a key and a number). */
const CACHED_REPOSITORY_IDS = 10_000;

const REGISTRY_COLUMNS = `id, name, kind, base_url AS "baseUrl", referrers_api AS "referrersApi",
  last_event_at AS "lastEventAt"`;

/** Registries come from the configuration; rows give them stable ids and remember what was learned. */
export class RegistryRepository {
  /**
   * Webhooks, syncs and the view's readers name repositories, so the names asked about are
   * unbounded: the cache keeps the most recently used ids and asks Postgres again for the rest.
   */
  private readonly repositoryIds: Lru<number>;

  constructor(
    private readonly db: Database,
    options: { cachedRepositoryIds?: number } = {},
  ) {
    this.repositoryIds = new Lru(options.cachedRepositoryIds ?? CACHED_REPOSITORY_IDS);
  }

  /** One row per configured registry (names are unique), in the order given. */
  async upsertRegistries(
    registries: Array<{ name: string; kind: string; url: string }>,
  ): Promise<RegistryRow[]> {
    if (registries.length === 0) return [];
    const { rows } = await this.db.pool.query<RegistryRow>(
      `INSERT INTO registry (name, kind, base_url)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, base_url = EXCLUDED.base_url
       RETURNING ${REGISTRY_COLUMNS}`,
      [registries.map((r) => r.name), registries.map((r) => r.kind), registries.map((r) => r.url)],
    );
    const byName = new Map(rows.map((r) => [r.name, r]));
    return registries.map((r) => byName.get(r.name)!);
  }

  async findRegistryByName(name: string): Promise<RegistryRow | null> {
    const { rows } = await this.db.pool.query<RegistryRow>(
      `SELECT ${REGISTRY_COLUMNS} FROM registry WHERE name = $1`,
      [name],
    );
    return rows[0] ?? null;
  }

  async listRegistries(): Promise<RegistryRow[]> {
    const { rows } = await this.db.pool.query<RegistryRow>(
      `SELECT ${REGISTRY_COLUMNS} FROM registry ORDER BY name`,
    );
    return rows;
  }

  /**
   * Repository ids never change once created, so a cached id is right for as long as it is kept,
   * provided the row is durable before the id is handed out: the insert commits synchronously
   * whatever the pool's synchronous_commit (the job runner's is off). A Postgres crash taking the
   * row would leave this process (which outlives it) an id naming nothing, or, with the id
   * sequence set back by the same crash, the next repository created: one repository's events
   * would then be written into another's.
   */
  async ensureRepository(registryId: number, name: string): Promise<number> {
    const key = `${registryId}/${name}`;
    const cached = this.repositoryIds.get(key);
    if (cached !== undefined) return cached;
    const rows = await this.db.transaction(async (c) => {
      await c.query('SET LOCAL synchronous_commit = on');
      const res = await c.query<{ id: number }>(
        `INSERT INTO repository (registry_id, name) VALUES ($1, $2)
         ON CONFLICT (registry_id, name) DO UPDATE SET name = EXCLUDED.name
         RETURNING id`,
        [registryId, name],
      );
      return res.rows;
    });
    const id = rows[0]!.id;
    this.repositoryIds.set(key, id);
    return id;
  }

  async setReferrersApi(registryId: number, supported: boolean): Promise<void> {
    await this.db.pool.query(`UPDATE registry SET referrers_api = $2 WHERE id = $1`, [registryId, supported]);
  }
}

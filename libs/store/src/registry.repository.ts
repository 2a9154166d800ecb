import type { Database } from './database.js';

export interface RegistryRow {
  id: number;
  name: string;
  kind: string;
  baseUrl: string;
  referrersApi: boolean | null;
  lastEventAt: Date | null;
}

/** Registries come from the configuration; rows give them stable ids and remember what was learned. */
export class RegistryRepository {
  private readonly repositoryIds = new Map<string, number>();

  constructor(private readonly db: Database) {}

  async upsertRegistries(
    registries: Array<{ name: string; kind: string; url: string }>,
  ): Promise<RegistryRow[]> {
    const rows: RegistryRow[] = [];
    for (const r of registries) {
      rows.push(
        await this.db.prisma.registry.upsert({
          where: { name: r.name },
          create: { name: r.name, kind: r.kind, baseUrl: r.url },
          update: { kind: r.kind, baseUrl: r.url },
        }),
      );
    }
    return rows;
  }

  async findRegistryByName(name: string): Promise<RegistryRow | null> {
    return this.db.prisma.registry.findUnique({ where: { name } });
  }

  async listRegistries(): Promise<RegistryRow[]> {
    return this.db.prisma.registry.findMany({ orderBy: { name: 'asc' } });
  }

  /** Repository ids never change once created, so they are cached for the life of the process. */
  async ensureRepository(registryId: number, name: string): Promise<number> {
    const key = `${registryId}/${name}`;
    const cached = this.repositoryIds.get(key);
    if (cached !== undefined) return cached;
    const { rows } = await this.db.pool.query<{ id: number }>(
      `INSERT INTO repository (registry_id, name) VALUES ($1, $2)
       ON CONFLICT (registry_id, name) DO UPDATE SET name = EXCLUDED.name
       RETURNING id`,
      [registryId, name],
    );
    const id = rows[0]!.id;
    this.repositoryIds.set(key, id);
    return id;
  }

  async setReferrersApi(registryId: number, supported: boolean): Promise<void> {
    await this.db.prisma.registry.update({ where: { id: registryId }, data: { referrersApi: supported } });
  }
}

import { resolve } from 'node:path';
import pg from 'pg';
import type { PrismaClient } from './generated/prisma/client.js';
import { applyMigrations, migrationsApplied, readMigrations, type Migration } from './migrator.js';

// int8 (BIGINT) columns: ids and sizes fit in a JS number by far; counts come back as strings otherwise.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DatabaseOptions {
  url: string;
  maxConnections?: number;
  migrationsDir?: string;
  /**
   * `synchronous_commit` of every connection of the pool; Postgres' own setting when absent.
   * `off` only for writes whose loss in a crash is redone (see Runtime.jobDb). Set with `SET` as
   * each connection opens, not as a startup option: PgBouncer refuses a startup packet carrying
   * settings it does not track, and the pool would then never connect behind one.
   */
  synchronousCommit?: 'on' | 'off';
}

/** The one handle on Postgres: a pg pool for hot paths and transactions, Prisma for the rest. */
export class Database {
  readonly pool: pg.Pool;
  private prismaClient?: Promise<PrismaClient>;
  private migrations?: Migration[];

  constructor(private readonly options: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 20,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      // pg-pool awaits onConnect before handing the connection out; its typings say void.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      ...(options.synchronousCommit ? { onConnect: setSynchronousCommit(options.synchronousCommit) } : {}),
    });
    // An idle client losing its connection (Postgres restart) must not crash the process.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /**
   * Prisma over the same pool, loaded on first use: loading it and compiling its first query cost
   * a short-lived process (the CLI) more than the queries it would serve, so what every process
   * runs is plain SQL on `pool`.
   */
  prisma(): Promise<PrismaClient> {
    this.prismaClient ??= (async () => {
      const [{ PrismaClient: Client }, { PrismaPg }] = await Promise.all([
        import('./generated/prisma/client.js'),
        import('@prisma/adapter-pg'),
      ]);
      return new Client({ adapter: new PrismaPg(this.pool) });
    })();
    return this.prismaClient;
  }

  private async loadMigrations(): Promise<Migration[]> {
    this.migrations ??= await readMigrations(this.options.migrationsDir ?? resolve('prisma/migrations'));
    return this.migrations;
  }

  async migrate(): Promise<string[]> {
    const client = await this.pool.connect();
    try {
      return await applyMigrations(client, await this.loadMigrations());
    } finally {
      client.release();
    }
  }

  /** Reachable and fully migrated. */
  async isReady(): Promise<boolean> {
    try {
      const client = await this.pool.connect();
      try {
        return await migrationsApplied(client, await this.loadMigrations());
      } finally {
        client.release();
      }
    } catch {
      return false;
    }
  }

  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.prismaClient) await (await this.prismaClient).$disconnect().catch(() => undefined);
    await this.pool.end();
  }
}

/**
 * pg-pool hands a new connection out only once this has resolved (a rejection fails the connect),
 * so no statement of the pool runs before the setting.
 */
function setSynchronousCommit(value: 'on' | 'off'): (client: pg.ClientBase) => Promise<void> {
  return async (client) => {
    await client.query(`SET synchronous_commit = ${value}`);
  };
}

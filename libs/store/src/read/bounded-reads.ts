// Time-bounded read connections for the read model: a pool per database (the primary's reads, each
// replica) whose every statement ends within its bounds, and the error a bound that fired raises.
import pg from 'pg';
import type { ReadQueryable, ReadSource } from './replicas.js';

export interface ReadBounds {
  /** statement_timeout of every read connection: Postgres cancels a longer statement (57014). */
  statementTimeoutMs: number;
  /**
   * Client-side: connecting, or one statement, with no answer for this long fails. A frozen
   * server (a stopped host, a hung disk) cannot enforce its own statement_timeout.
   */
  answerTimeoutMs: number;
}

export const DEFAULT_READ_BOUNDS: ReadBounds = { statementTimeoutMs: 2000, answerTimeoutMs: 2500 };

/** A read the database did not answer within its bounds: no answer, never a partial one. */
export class ReadTimeoutError extends Error {
  constructor(
    /** The database that did not answer ("primary", or a replica's name). */
    readonly target: string,
    readonly bounds: ReadBounds,
    options?: { cause?: unknown },
  ) {
    super(
      `${target} gave no answer within its read bounds (statement ${bounds.statementTimeoutMs} ms, answer ${bounds.answerTimeoutMs} ms)`,
      options,
    );
    this.name = 'ReadTimeoutError';
  }
}

/** True when a read failed because a time bound fired (the one check callers use). */
export function isReadTimeout(err: unknown): err is ReadTimeoutError {
  return err instanceof ReadTimeoutError;
}

/** node-postgres' own messages for its client-side bounds (query_timeout, connectionTimeoutMillis). */
const CLIENT_TIMEOUTS = [
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
];

/** A pg error raised by a bound: the server's statement_timeout, or a client-side one. */
function boundFired(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return err.code === '57014' && /statement timeout/.test(err.message);
  const message = err instanceof Error ? err.message : '';
  return CLIENT_TIMEOUTS.some((m) => message.startsWith(m));
}

/**
 * One database's read pool. Each connection runs `SET statement_timeout` before its first read (a
 * SET, not a startup parameter: PgBouncer refuses unknown startup parameters) and carries
 * node-postgres' query_timeout; a connection that failed other than by a server's own error
 * answer (a client-side timeout leaves a statement in flight) is discarded, never reused.
 * Connections open on first use.
 */
export class BoundedReads implements ReadSource {
  readonly pool: ReadQueryable;
  private readonly raw: pg.Pool;
  private readonly bounded = new WeakSet<pg.PoolClient>();

  constructor(
    url: string,
    readonly bounds: ReadBounds,
    readonly target: string,
    maxConnections = 20,
  ) {
    this.raw = new pg.Pool({
      connectionString: url,
      max: maxConnections,
      connectionTimeoutMillis: bounds.answerTimeoutMs,
      query_timeout: bounds.answerTimeoutMs,
      idleTimeoutMillis: 30000,
      application_name: 'refgraph-reads',
    });
    // A database going away must not crash the process; the failed read reports it.
    this.raw.on('error', () => undefined);
    this.raw.on('connect', (client) => client.on('error', () => undefined));
    this.pool = { query: (textOrConfig, values) => this.query(textOrConfig, values) };
  }

  private async query<R extends pg.QueryResultRow>(
    textOrConfig: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    let client: pg.PoolClient | undefined;
    let broken: Error | undefined;
    try {
      client = await this.raw.connect();
      if (!this.bounded.has(client)) {
        await client.query(`SET statement_timeout = ${Math.floor(this.bounds.statementTimeoutMs)}`);
        this.bounded.add(client);
      }
      return await client.query<R>(textOrConfig as pg.QueryConfig, values);
    } catch (err) {
      if (!(err instanceof pg.DatabaseError)) broken = err instanceof Error ? err : new Error(String(err));
      if (boundFired(err)) throw new ReadTimeoutError(this.target, this.bounds, { cause: err });
      throw err;
    } finally {
      client?.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.raw.end().catch(() => undefined);
  }
}

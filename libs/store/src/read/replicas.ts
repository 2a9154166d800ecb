// Read replicas for the read model: a pool chooser that hands each read statement to a streaming
// replica in rotation (round robin) and to the primary when none is. Only the read repositories
// (ReadRepository, ReferrersRepository, RegistryViewRepository) are built on it; writes and reads
// that must see their own writes use the primary's Database directly.
import type pg from 'pg';
import type { Database } from '../database.js';
import { BoundedReads, DEFAULT_READ_BOUNDS, isReadTimeout, type ReadBounds } from './bounded-reads.js';

/** What a read repository needs of a database: one `query` per statement. */
export interface ReadQueryable {
  query<R extends pg.QueryResultRow = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
    textOrConfig: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** The handle the read repositories take: a Database, or a ReadReplicas chooser. */
export interface ReadSource {
  readonly pool: ReadQueryable;
}

export interface ReplicaOptions {
  urls: string[];
  /** A replica further behind the primary than this is out of rotation until it catches up. */
  maxLagSeconds: number;
  /** How often each replica's lag is measured. */
  checkIntervalMs: number;
  maxConnections?: number;
  /** Time bounds of every statement on a replica (default DEFAULT_READ_BOUNDS). */
  bounds?: ReadBounds;
}

/** One replica as /readyz and the metrics report it. */
export interface ReplicaStatus {
  name: string;
  /** Seconds behind the primary; null while unreachable or never measured. */
  lagSeconds: number | null;
  inRotation: boolean;
  reason?: string;
}

/** Hooks for the Prometheus gauges (the metrics registry lives with the api). */
export interface ReplicaMetrics {
  lag(replica: string, seconds: number | null): void;
  inRotation(replica: string, yes: boolean): void;
  query(target: string): void;
}

interface Replica {
  name: string;
  reads: BoundedReads;
  status: ReplicaStatus;
  /** Statements sent to it (for tests and the metrics). */
  queries: number;
  /** The latest lag check; an older check answering late does not overwrite its result. */
  check: number;
}

/**
 * Why a replica did not answer (or failed a read), as /readyz (public) says it: the error's code — a SQLSTATE, or a
 * socket error such as ECONNREFUSED — never the server's message, which can name database users,
 * roles and internal hosts ("password authentication failed for user …").
 */
export function unreachableCause(err: unknown): string {
  if (isReadTimeout(err)) return 'no answer within the read bounds';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code)) return `error ${code}`;
  return 'connection failed';
}

/** The host:port/database of a URL, without its credentials. */
export function replicaName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'replica';
  }
}

/**
 * Errors after which a read is retried on the primary: the replica is unreachable or shutting
 * down (no SQLSTATE, class 08, 57P*, 53*), gave no answer within its read bounds (a hung or
 * frozen replica), or cancelled a statement in conflict with recovery (40001). A statement's own
 * error (bad input, class 22/42) is returned as it is.
 */
function replicaFault(err: unknown): boolean {
  if (isReadTimeout(err)) return true;
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53') || code === '40001';
}

/** A pg_lsn's text ("16/B374D848") as a number; null stays null. */
function parseLsn(text: string | null): bigint | null {
  const m = text ? /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(text) : null;
  return m ? (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`) : null;
}

/** Primary positions kept for the lag bound: enough to tell any lag worth reporting. */
const SAMPLE_HORIZON_MS = 10 * 60_000;
const MAX_SAMPLES = 4096;

export class ReadReplicas implements ReadSource {
  readonly pool: ReadQueryable;
  private readonly replicas: Replica[];
  private next = 0;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private stopped = false;
  /** The primary's flushed WAL position at each check, oldest first. */
  private readonly samples: Array<{ lsn: bigint; at: number }> = [];
  /** Statements the primary answered for the read model. */
  primaryQueries = 0;

  /**
   * `primary` is measured for the lag checks; `fallback` answers reads no replica takes (default:
   * the primary's own pool; the api passes the primary's bounded read pool).
   */
  constructor(
    private readonly primary: Database,
    private readonly options: ReplicaOptions,
    private readonly metrics?: ReplicaMetrics,
    private readonly fallback: ReadSource = primary,
  ) {
    const seen = new Map<string, number>();
    this.replicas = options.urls.map((url) => {
      let name = replicaName(url);
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      if (n > 1) name = `${name}#${n}`;
      // A replica going away does not crash the process (BoundedReads); the next check takes it out.
      const reads = new BoundedReads(
        url,
        options.bounds ?? DEFAULT_READ_BOUNDS,
        name,
        options.maxConnections,
      );
      // Out of rotation until the first measurement says it is close enough.
      return {
        name,
        reads,
        queries: 0,
        check: 0,
        status: { name, lagSeconds: null, inRotation: false, reason: 'not measured yet' },
      };
    });
    this.pool = { query: (textOrConfig, values) => this.query(textOrConfig, values) };
  }

  /** Measures every replica now, then every checkIntervalMs until close(). */
  async start(): Promise<void> {
    if (this.replicas.length === 0) return;
    await this.check();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.checkIntervalMs);
    this.timer.unref();
  }

  /** One measurement of every replica (concurrent calls share it). */
  check(): Promise<void> {
    this.checking ??= this.measureAll().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async measureAll(): Promise<void> {
    // The primary's position is read first: a replica that has replayed up to it is caught up.
    let primary: bigint | null = null;
    try {
      const { rows } = await this.primary.pool.query<{ lsn: string }>(
        'SELECT pg_current_wal_flush_lsn()::text AS lsn',
      );
      primary = parseLsn(rows[0]?.lsn ?? null);
    } catch {
      // Primary unreachable: replicas are judged by their replay timestamp alone.
    }
    if (primary !== null) {
      this.samples.push({ lsn: primary, at: Date.now() });
      const horizon = Date.now() - SAMPLE_HORIZON_MS;
      while (this.samples.length > MAX_SAMPLES || (this.samples[0] && this.samples[0].at < horizon))
        this.samples.shift();
    }
    // A replica that accepts connections but never answers must not stall the checks.
    const limitMs = Math.max(1000, Math.min(5000, this.options.checkIntervalMs * 5));
    await Promise.all(
      this.replicas.map((r) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((done) => {
          timer = setTimeout(() => {
            r.check++;
            this.setStatus(r, null, `unreachable: no answer to the lag check within ${limitMs} ms`);
            done();
          }, limitMs);
          timer.unref();
        });
        const check = ++r.check;
        return Promise.race([this.measure(r, primary, check), late]).finally(() => clearTimeout(timer));
      }),
    );
  }

  /**
   * How stale a replica that has replayed up to `replayed` is, at most: it holds everything the
   * primary had flushed at the latest sample not past `replayed`. Infinity without such a sample.
   */
  private staleSince(replayed: bigint): number {
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i]!;
      if (s.lsn <= replayed) return (Date.now() - s.at) / 1000;
    }
    return Infinity;
  }

  /**
   * Lag is an upper bound on how stale the replica's answers are: the smaller of the time since
   * the primary was at the replica's replay position (sampled each check) and the time since the
   * last transaction the replica replayed committed. Comparing positions keeps an idle primary's
   * old last commit from looking like lag, and a WAL record written between the two reads of a
   * check (checkpoint, snapshot) from looking like the age of the last commit.
   */
  private async measure(r: Replica, primary: bigint | null, check: number): Promise<void> {
    let lag: number | null = null;
    let reason: string | undefined;
    try {
      const { rows } = await r.reads.pool.query<{
        recovery: boolean;
        replayed: string | null;
        lag: number | null;
      }>(
        `SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS replayed,
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag`,
      );
      const row = rows[0]!;
      const replayed = parseLsn(row.replayed);
      if (!row.recovery || replayed === null) {
        // Promoted (or misconfigured): not a copy of this primary any more.
        reason = 'not a standby (pg_is_in_recovery() is false)';
      } else if (primary !== null && replayed >= primary) {
        lag = 0;
      } else {
        const bound = Math.min(this.staleSince(replayed), row.lag === null ? Infinity : Math.max(0, row.lag));
        if (bound === Infinity) reason = 'lag unknown: nothing replayed since the first check';
        else {
          lag = bound;
          if (lag > this.options.maxLagSeconds)
            reason = `lag ${lag.toFixed(1)}s > ${this.options.maxLagSeconds}s`;
        }
      }
    } catch (err) {
      reason = `unreachable: ${unreachableCause(err)}`;
    }
    if (check === r.check) this.setStatus(r, lag, reason);
  }

  private setStatus(r: Replica, lag: number | null, reason: string | undefined): void {
    r.status = {
      name: r.name,
      lagSeconds: lag,
      inRotation: reason === undefined,
      ...(reason ? { reason } : {}),
    };
    this.metrics?.lag(r.name, lag);
    this.metrics?.inRotation(r.name, r.status.inRotation);
  }

  /** The next replica in rotation, round robin; undefined when none is. */
  private pick(): Replica | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[(this.next + i) % this.replicas.length]!;
      if (r.status.inRotation) {
        this.next = (this.next + i + 1) % this.replicas.length;
        return r;
      }
    }
    return undefined;
  }

  private async query<R extends pg.QueryResultRow>(
    textOrConfig: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const r = this.pick();
    if (r) {
      try {
        r.queries++;
        this.metrics?.query(r.name);
        return await r.reads.pool.query<R>(textOrConfig as pg.QueryConfig, values);
      } catch (err) {
        if (!replicaFault(err)) throw err;
        // Reads are safe to repeat: take the replica out until the next check and ask the primary.
        this.setStatus(r, r.status.lagSeconds, `failed a read: ${unreachableCause(err)}`);
      }
    }
    this.primaryQueries++;
    this.metrics?.query('primary');
    return this.fallback.pool.query<R>(textOrConfig as pg.QueryConfig, values);
  }

  /** Every replica's last measurement, in configuration order. */
  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ ...r.status }));
  }

  /** Statements each replica answered, by name. */
  replicaQueries(): Record<string, number> {
    return Object.fromEntries(this.replicas.map((r) => [r.name, r.queries]));
  }

  /** Stops the checks and closes the replica pools (the primary's stays with its owner). */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.checking?.catch(() => undefined);
    await Promise.all(this.replicas.map((r) => r.reads.close()));
  }
}

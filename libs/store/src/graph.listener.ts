import pg from 'pg';
import { GRAPH_CHANNEL } from './graph.repository.js';

export type GraphEvent =
  | { type: 'referrer_added'; repositoryId: number; subject: string; referrer: string; kind: string }
  | {
      type: 'verification_changed';
      subject: string;
      artifact: string;
      /** The repository whose row changed (results are kept per repository). */
      repositoryId: number;
      /** `signature` or `attestation`. */
      kind: string;
      status: string;
    };

export interface GraphListenerOptions {
  /** Connection settings for the one dedicated LISTEN connection (not taken from the pool). */
  connection: pg.ClientConfig;
  /** Delay before reconnecting after the connection is lost. */
  retryMs?: number;
  onError?: (err: Error) => void;
}

/**
 * One LISTEN connection on GRAPH_CHANNEL per process, fanned out to in-process subscribers.
 * A lost connection is re-established after `retryMs`; events sent while it was down are lost
 * (NOTIFY is not durable), which subscribers must tolerate.
 */
export class GraphListener {
  private client?: pg.Client;
  private readonly handlers = new Set<(e: GraphEvent) => void>();
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private connecting?: Promise<void>;

  constructor(private readonly options: GraphListenerOptions) {}

  /** Resolves once LISTEN is active, or after the first failure (a retry is then scheduled). */
  start(): Promise<void> {
    this.stopped = false;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  subscribe(handler: (e: GraphEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** In-process subscribers attached now (a subscription counts from the moment it receives). */
  get subscribers(): number {
    return this.handlers.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.connecting;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ application_name: 'refgraph-listener', ...this.options.connection });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      if (err) this.options.onError?.(err);
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => {
      if (msg.channel !== GRAPH_CHANNEL || !msg.payload) return;
      const event = parseEvent(msg.payload);
      if (event) for (const h of [...this.handlers]) h(event);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${GRAPH_CHANNEL}`);
      if (this.stopped) {
        await client.end();
        return;
      }
      this.client = client;
    } catch (err) {
      this.options.onError?.(err as Error);
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.start(), this.options.retryMs ?? 1000);
    this.retry.unref();
  }
}

function parseEvent(payload: string): GraphEvent | undefined {
  try {
    const e = JSON.parse(payload) as Record<string, unknown>;
    if (e.type === 'referrer_added' && typeof e.subject === 'string' && typeof e.referrer === 'string') {
      return {
        type: 'referrer_added',
        repositoryId: Number(e.repositoryId),
        subject: e.subject,
        referrer: e.referrer,
        kind: String(e.kind),
      };
    }
    if (
      e.type === 'verification_changed' &&
      typeof e.subject === 'string' &&
      typeof e.artifact === 'string'
    ) {
      return {
        type: 'verification_changed',
        subject: e.subject,
        artifact: e.artifact,
        repositoryId: Number(e.repositoryId),
        kind: String(e.kind),
        status: String(e.status),
      };
    }
  } catch {
    // Not ours or malformed: other writers may share the channel; ignore.
  }
  return undefined;
}

import { UsageError } from './exit.js';

/** Talks to a running refgraph: REFGRAPH_URL (default http://127.0.0.1:8080), REFGRAPH_TOKEN. */
export class ServiceClient {
  readonly base: string;
  private readonly token?: string;

  constructor(env: Record<string, string | undefined>, url?: string) {
    this.base = (url ?? env.REFGRAPH_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.token = env.REFGRAPH_TOKEN || undefined;
    if (!/^https?:\/\//.test(this.base))
      throw new UsageError(`--url must be an http(s) URL, not "${this.base}"`);
  }

  async get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new ServiceError(`cannot reach refgraph at ${this.base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ServiceError(`refgraph answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const message =
        (json as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusText;
      throw new ServiceError(`refgraph answered ${res.status}: ${message}`, res.status);
    }
    return json as T;
  }
}

export class ServiceError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

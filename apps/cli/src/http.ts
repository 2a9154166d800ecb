import { EXIT, oneLine, UsageError } from './exit.js';

/** Where a command that asks a running refgraph connects, and as whom. */
export interface ServiceTarget {
  /** --url, else REFGRAPH_URL, else http://127.0.0.1:8080. */
  url?: string;
  /** --token, else REFGRAPH_TOKEN. */
  token?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * Talks to a running refgraph. Every failure becomes a ServiceError whose message names the
 * cause and what to try, so commands print it as it is.
 */
export class ServiceClient {
  readonly base: string;
  private readonly token?: string;

  constructor(env: Record<string, string | undefined>, target: ServiceTarget = {}) {
    this.base = (target.url || env.REFGRAPH_URL || DEFAULT_URL).replace(/\/+$/, '');
    this.token = target.token || env.REFGRAPH_TOKEN || undefined;
    if (!/^https?:\/\/[^/]/.test(this.base))
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
      throw new ServiceError(this.unreachable(err));
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ServiceError(
        `${this.base} answered ${res.status} with a body that is not JSON: is --url pointing at refgraph?`,
        res.status,
      );
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; reason?: string; message?: string } } | undefined)
        ?.error;
      const message = error?.message ?? res.statusText;
      throw new ServiceError(this.explain(res.status, message), res.status, error?.reason ?? error?.code);
    }
    return json as T;
  }

  private unreachable(err: unknown): string {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e?.name === 'TimeoutError') return `refgraph at ${this.base} did not answer within 30 s`;
    const code = e?.cause?.code;
    if (code === 'ECONNREFUSED')
      return `refgraph is not running at ${this.base} (connection refused); start it with \`npm start\` or pass --url`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return `cannot reach refgraph at ${this.base} (unknown host); check --url or REFGRAPH_URL`;
    return `cannot reach refgraph at ${this.base} (${e?.cause?.message ?? e?.message ?? String(err)}); check --url or REFGRAPH_URL`;
  }

  private explain(status: number, message: string): string {
    if (status === 401)
      return this.token
        ? `token rejected by ${this.base}: pass --token or set REFGRAPH_TOKEN (${message})`
        : `${this.base} needs a token: pass --token or set REFGRAPH_TOKEN`;
    if (status === 403) return `not in your token's scope: ${message}`;
    if (status === 429) return `${this.base} is rate limiting this client; try again shortly`;
    if (status >= 500) return `refgraph at ${this.base} failed (${status}): ${message}`;
    return message;
  }
}

export class ServiceError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** The service's error code (`not_found`, `not_in_scope`, `policy_unknown`, ...). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/**
 * A 404 for a reference, said the same way by every command. Outside the caller's scope and
 * unknown read alike, except where the service says the named repository is out of scope.
 */
export async function referenceError(reference: string, err: ServiceError): Promise<string> {
  if (err.status !== 404) return err.message;
  if (err.code === 'not_in_scope') return `${reference} is not in your token's scope`;
  if (err.code === 'unknown_registry')
    return `${err.message} (a reference starts with a registry name from refgraph's config file)`;
  let registry = '<registry>';
  // Loaded here, for one message: the read model it comes with is not what a command needs.
  const { parseReference } = await import('#answers');
  try {
    registry = parseReference(reference).registry ?? registry;
  } catch {
    // The service parsed it; an unparsable input never reaches a 404.
  }
  return `${reference} is not known to refgraph (no event or sync has recorded ${reference}; run \`refgraph sync ${registry}\`)`;
}

/** Prints a ServiceError as one `error:` line and answers exit code 2; rethrows anything else. */
export async function serviceFailure(io: CliIo, err: unknown, reference?: string): Promise<number> {
  if (!(err instanceof ServiceError)) throw err;
  io.stderr.write(
    `error: ${oneLine(reference === undefined ? err.message : await referenceError(reference, err))}\n`,
  );
  return EXIT.error;
}

/** The digest a reference names for this caller (a ServiceError when it names nothing visible). */
export async function resolveDigest(client: ServiceClient, reference: string): Promise<string> {
  const { digest } = await client.get<{ digest: string }>(
    `/api/v1/resolve?reference=${encodeURIComponent(reference)}`,
  );
  return digest;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

// The HTTP stack of registry requests: connect and first-byte timeouts, pinned realm lookups, and
// the small response type the client reads (status, headers, a Node stream body).
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { isNonPublicAddress, type Resolver } from './address.js';
import { REFUSED_ADDRESS } from './errors.js';

export interface Timeouts {
  /** TCP (and TLS) connection establishment. */
  connectMs: number;
  /** From the request being sent to the response headers: what a hung registry runs into. */
  firstByteMs: number;
}

/** What the client reads of a response. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** The body; read it to its end, or call discard(). */
  readonly body: Readable | null;
  /** Drops a body that will not be read, keeping the connection for reuse when it can. */
  discard(): Promise<void>;
}

export interface HttpRequestInit {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  signal: AbortSignal;
}

/** One request, redirects not followed; rejects only when no response arrived. */
export type HttpSend = (url: URL, init: HttpRequestInit) => Promise<HttpResponse>;

/**
 * Requests on a connection pool of their own with the given timeouts. With `vet`, every host name
 * is resolved by `resolver` and the connection goes to the vetted addresses only, so a name cannot
 * pass the realm check and then resolve elsewhere (DNS rebinding) when the socket opens.
 *
 * undici's `request` rather than `fetch`: a registry walk makes thousands of small requests, and
 * fetch's Request/Response objects and web streams cost more CPU than the exchange itself.
 */
export function boundedSend(timeouts: Timeouts, vet?: { resolver: Resolver }): HttpSend {
  const agent = new Agent({
    connect: {
      timeout: timeouts.connectMs,
      ...(vet ? { lookup: vettedLookup(vet.resolver) } : {}),
    },
    headersTimeout: timeouts.firstByteMs,
  });
  return async (url, init) => {
    const res = await agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: init.method,
      headers: init.headers,
      signal: init.signal,
    });
    return new PooledResponse(res);
  };
}

class PooledResponse implements HttpResponse {
  readonly status: number;
  readonly headers: HttpResponse['headers'];

  constructor(private readonly res: Dispatcher.ResponseData) {
    this.status = res.statusCode;
    const raw = res.headers;
    this.headers = {
      get(name: string): string | null {
        const v = raw[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
    // A body destroyed before its end reports the abort as an error; nobody waits for it then.
    res.body.on('error', () => undefined);
  }

  get body(): Readable {
    return this.res.body;
  }

  /** Reads a small rest to the end (the connection stays in the pool); a large one is cut off. */
  async discard(): Promise<void> {
    await this.res.body.dump().catch(() => undefined);
  }
}

/** The same interface over a WHATWG fetch, for tests that must fake what a socket cannot. */
export function fetchSend(f: typeof fetch): HttpSend {
  return async (url, init) => {
    const res = await f(url, { ...init, redirect: 'manual' });
    let body: Readable | null | undefined;
    return {
      status: res.status,
      headers: res.headers,
      get body() {
        body ??= res.body ? Readable.fromWeb(res.body) : null;
        return body;
      },
      discard: async () => {
        if (body) body.destroy();
        else await res.body?.cancel().catch(() => undefined);
      },
    };
  };
}

function vettedLookup(resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (found) => {
        const refused = found.find((a) => isNonPublicAddress(a.address));
        if (found.length === 0 || refused) {
          const err = Object.assign(
            new Error(`${hostname} resolves to non-public address ${refused?.address ?? '(none)'}`),
            { code: REFUSED_ADDRESS },
          );
          return callback(err, '', 0);
        }
        if (options.all) return (callback as (e: null, a: typeof found) => void)(null, found);
        const first = found.find((a) => !options.family || a.family === options.family) ?? found[0]!;
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

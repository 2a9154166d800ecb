export type RegistryErrorCode =
  | 'not_found'
  | 'unauthorized'
  | 'digest_mismatch'
  | 'too_large'
  | 'bad_response'
  | 'unavailable'
  | 'forbidden_redirect'
  | 'rate_limited';

/** Codes a caller may retry later with a chance of a different outcome. */
const RETRYABLE: ReadonlySet<RegistryErrorCode> = new Set(['unavailable', 'rate_limited']);

export interface RegistryErrorOptions {
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
}

/** Every failure of the registry client; `code` is exhaustive so callers can switch on it. */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(code: RegistryErrorCode, message: string, opts: RegistryErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

/**
 * Parses Retry-After: delta-seconds or an HTTP date. Returns undefined when absent or unparseable;
 * a date in the past yields 0.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

interface StatusHeaders {
  get(name: string): string | null;
}

/** Maps a final non-2xx response to an error. The body is not read. */
export function errorForStatus(res: { status: number; headers: StatusHeaders }, what: string): RegistryError {
  const status = res.status;
  if (status === 404) return new RegistryError('not_found', `${what}: not found (404)`, { status });
  if (status === 401 || status === 403) {
    return new RegistryError('unauthorized', `${what}: access denied (${status})`, { status });
  }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  if (status === 429) {
    return new RegistryError('rate_limited', `${what}: rate limited (429)`, {
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status >= 500) {
    return new RegistryError('unavailable', `${what}: registry error (${status})`, {
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  return new RegistryError('bad_response', `${what}: unexpected status ${status}`, { status });
}

/** Error code of a connection refused by the token realm's address check (see http.ts). */
export const REFUSED_ADDRESS = 'EREFUSEDADDRESS';

/** undici's timeout causes, in words for the event's last error. */
const TIMEOUT_CAUSES: Readonly<Record<string, string>> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time (first-byte timeout)',
  UND_ERR_BODY_TIMEOUT: 'body stalled',
};

/**
 * Maps a thrown request or stream error (refused, reset, aborted, timed out) to `unavailable`.
 * undici's request throws the socket's error itself; fetch wraps it as the `cause` of a TypeError.
 */
export function errorForNetwork(err: unknown, what: string): RegistryError {
  if (err instanceof RegistryError) return err;
  type Failure = { name?: string; code?: string; message?: string; cause?: Failure };
  const e = err as Failure | undefined;
  const source = e?.code === undefined && e?.cause !== undefined ? e.cause : e;
  const code = source?.code;
  // The pinned realm lookup refused the address a name resolved to: asking again cannot help.
  if (code === REFUSED_ADDRESS) {
    return new RegistryError('unauthorized', `${what}: ${source?.message ?? 'address refused'}`, {
      cause: err,
    });
  }
  const detail =
    e?.name === 'TimeoutError' || e?.name === 'AbortError'
      ? 'timed out'
      : ((code !== undefined ? TIMEOUT_CAUSES[code] : undefined) ??
        code ??
        source?.message ??
        e?.message ??
        String(err));
  return new RegistryError('unavailable', `${what}: ${detail}`, { cause: err });
}

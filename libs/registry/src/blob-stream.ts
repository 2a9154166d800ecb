/** Streaming blob reads for the registry view: bytes pass through as they arrive, checked on the way. */
import { createHash, type Hash } from 'node:crypto';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { discard } from './body.js';
import { errorForNetwork, errorForStatus, RegistryError } from './errors.js';
import { algorithmOf, headerDigest } from './names.js';
import type { HttpResponse } from './http.js';
import type { Transport } from './transport.js';

export interface BlobOpenOptions {
  method: 'GET' | 'HEAD';
  /** A client's Range header, passed to the registry as is. */
  range?: string;
  /** Blobs larger than this are refused (declared or counted). */
  maxBytes: number;
  /** Called with the size of each chunk released to the client. */
  onBytes?: (n: number) => void;
}

export interface OpenedBlob {
  /** 200 (whole blob), 206 (the requested range) or 416 (range not satisfiable). */
  status: 200 | 206 | 416;
  /** Bytes this response carries, when known before the body. */
  length?: number;
  /** The registry's Content-Range for 206 and 416. */
  contentRange?: string;
  /**
   * GET only. A whole blob is hashed as it passes and the stream fails, before its last chunk is
   * released, when the bytes do not hash to the digest or their count differs from the declared
   * length; the client then sees a broken transfer, never wrong bytes completed. A range cannot be
   * hashed: its length alone is checked (clients verify the assembled blob).
   */
  body?: Readable;
}

interface StreamContext {
  scope: string;
  what: string;
  /** Until the registry's headers arrive, and then between two chunks of the body. */
  timeoutMs: number;
}

const CONTENT_RANGE_RE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export async function openBlobStream(
  transport: Transport,
  url: URL,
  digest: string,
  o: BlobOpenOptions,
  ctx: StreamContext,
): Promise<OpenedBlob> {
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), ctx.timeoutMs);
  const idle = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), ctx.timeoutMs);
  };
  let res: HttpResponse;
  try {
    res = await transport.send(url, {
      method: o.method,
      scope: ctx.scope,
      signal: abort.signal,
      what: ctx.what,
      ...(o.range ? { range: o.range } : {}),
    });
  } catch (err) {
    clearTimeout(timer);
    throw err;
  }
  const fail = async (err: RegistryError): Promise<never> => {
    clearTimeout(timer);
    await discard(res);
    throw err;
  };
  if (res.status === 416) {
    clearTimeout(timer);
    await discard(res);
    const contentRange = res.headers.get('content-range') ?? undefined;
    return { status: 416, ...(contentRange ? { contentRange } : {}) };
  }
  if (res.status !== 200 && res.status !== 206) return fail(errorForStatus(res, ctx.what));
  // Part of a blob cannot be hashed: a range is taken only when one was asked for.
  if (res.status === 206 && !o.range)
    return fail(new RegistryError('bad_response', `${ctx.what}: 206 for a request without a Range`));
  let claimed: string | undefined;
  try {
    claimed = headerDigest(res);
  } catch (err) {
    return fail(err as RegistryError);
  }
  if (claimed !== undefined && claimed !== digest) {
    return fail(new RegistryError('digest_mismatch', `${ctx.what}: registry answered for ${claimed}`));
  }
  const declared = parseLength(res.headers.get('content-length'));
  let length = declared;
  let contentRange: string | undefined;
  /** A 206 that covers the whole blob is hashed like a 200. */
  let whole = res.status === 200;
  if (res.status === 206) {
    contentRange = res.headers.get('content-range') ?? '';
    const m = CONTENT_RANGE_RE.exec(contentRange);
    if (!m) return fail(new RegistryError('bad_response', `${ctx.what}: 206 without a usable Content-Range`));
    const [start, end, total] = [Number(m[1]), Number(m[2]), m[3] === '*' ? undefined : Number(m[3])];
    if (end < start || (declared !== undefined && declared !== end - start + 1)) {
      return fail(
        new RegistryError('bad_response', `${ctx.what}: Content-Range disagrees with Content-Length`),
      );
    }
    if (total !== undefined && total > o.maxBytes) return fail(tooLarge(ctx.what, total, o.maxBytes));
    length = end - start + 1;
    whole = start === 0 && total !== undefined && end === total - 1;
  } else if (declared !== undefined && declared > o.maxBytes) {
    return fail(tooLarge(ctx.what, declared, o.maxBytes));
  }
  const range = contentRange ? { contentRange } : {};
  const sized = length === undefined ? {} : { length };
  if (o.method === 'HEAD' || !res.body) {
    clearTimeout(timer);
    await discard(res);
    return { status: res.status, ...sized, ...range };
  }
  const check = new BlobCheck({
    digest: whole ? digest : undefined,
    length,
    maxBytes: o.maxBytes,
    what: ctx.what,
    onChunk: idle,
    onBytes: o.onBytes ?? (() => undefined),
  });
  const source = res.body;
  const done = () => clearTimeout(timer);
  source.once('error', (err) => {
    done();
    check.destroy(errorForNetwork(err, ctx.what));
  });
  check.once('close', () => {
    done();
    // The client went away or the check failed: stop reading from the registry.
    if (!source.destroyed) source.destroy();
    abort.abort();
  });
  source.pipe(check);
  return { status: res.status, ...sized, ...range, body: check };
}

function parseLength(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

function tooLarge(what: string, n: number, max: number): RegistryError {
  return new RegistryError('too_large', `${what}: ${n} bytes exceeds the ${max}-byte limit`);
}

interface CheckOptions {
  /** Whole blob: the digest the bytes must hash to. Undefined for a range. */
  digest: string | undefined;
  length: number | undefined;
  maxBytes: number;
  what: string;
  onChunk: () => void;
  onBytes: (n: number) => void;
}

/**
 * Passes chunks through one behind: the newest chunk is held until the next arrives or the end is
 * checked, so a failed check always withholds bytes and the transfer visibly breaks.
 */
class BlobCheck extends Transform {
  private readonly hash: Hash | undefined;
  private held: Buffer | undefined;
  private total = 0;

  constructor(private readonly o: CheckOptions) {
    super();
    this.hash = o.digest ? createHash(algorithmOf(o.digest)) : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.o.onChunk();
    this.total += chunk.length;
    const limit = Math.min(this.o.length ?? Infinity, this.o.maxBytes);
    if (this.total > limit) {
      const err =
        this.total > this.o.maxBytes
          ? tooLarge(this.o.what, this.total, this.o.maxBytes)
          : new RegistryError(
              'bad_response',
              `${this.o.what}: more bytes than the declared ${this.o.length}`,
            );
      return cb(err);
    }
    this.hash?.update(chunk);
    this.release();
    this.held = chunk;
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.o.length !== undefined && this.total !== this.o.length) {
      return cb(
        new RegistryError('bad_response', `${this.o.what}: ${this.total} bytes, ${this.o.length} declared`),
      );
    }
    if (this.hash && this.o.digest) {
      const actual = `${algorithmOf(this.o.digest)}:${this.hash.digest('hex')}`;
      if (actual !== this.o.digest) {
        return cb(new RegistryError('digest_mismatch', `${this.o.what}: received bytes hash to ${actual}`));
      }
    }
    this.release();
    cb();
  }

  private release(): void {
    if (!this.held) return;
    this.o.onBytes(this.held.length);
    this.push(this.held);
    this.held = undefined;
  }
}

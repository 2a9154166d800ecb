import { errorForNetwork, RegistryError } from './errors.js';

/** Discards a body we will not read, releasing the connection. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The connection is unusable anyway; nothing to report.
  }
}

/**
 * Reads a body while counting bytes: Content-Length is only a hint, so a lying or absent header
 * cannot let more than `maxBytes` through. Stream failures (reset, timeout) become `unavailable`.
 */
export async function readLimited(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = res.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await discard(res);
    throw new RegistryError('too_large', `${what}: ${declared} bytes exceeds the ${maxBytes}-byte limit`);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new RegistryError('too_large', `${what}: body exceeds the ${maxBytes}-byte limit`);
      }
      chunks.push(value);
    }
  } catch (err) {
    throw errorForNetwork(err, what);
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // A read still pending after an abort keeps the lock; the stream is discarded either way.
    }
  }
  return Buffer.concat(chunks, total);
}

/** Reads and parses a JSON body; anything unparseable is a bad response. */
export async function readJson(res: Response, maxBytes: number, what: string): Promise<unknown> {
  const bytes = await readLimited(res, maxBytes, what);
  return parseJson(bytes, what);
}

export function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new RegistryError('bad_response', `${what}: body is not valid JSON`);
  }
}

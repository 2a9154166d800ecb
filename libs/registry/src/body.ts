import { errorForNetwork, RegistryError } from './errors.js';
import type { HttpResponse } from './http.js';

/** Discards a body we will not read, releasing the connection. */
export async function discard(res: HttpResponse): Promise<void> {
  try {
    await res.discard();
  } catch {
    // The connection is unusable anyway; nothing to report.
  }
}

/**
 * Reads a body while counting bytes: Content-Length is only a hint, so a lying or absent header
 * cannot let more than `maxBytes` through. Stream failures (reset, timeout) become `unavailable`.
 */
export async function readLimited(res: HttpResponse, maxBytes: number, what: string): Promise<Buffer> {
  const declared = res.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await discard(res);
    throw new RegistryError('too_large', `${what}: ${declared} bytes exceeds the ${maxBytes}-byte limit`);
  }
  const body = res.body;
  if (!body) return Buffer.alloc(0);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (err: RegistryError | null) => {
      body.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) {
        // Reading stops here: the rest of the body is not wanted (the connection goes with it).
        body.on('error', () => undefined);
        body.destroy();
        reject(err);
      } else resolve(Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        settle(new RegistryError('too_large', `${what}: body exceeds the ${maxBytes}-byte limit`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    const onError = (err: unknown) => settle(errorForNetwork(err, what));
    body.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/** Reads and parses a JSON body; anything unparseable is a bad response. */
export async function readJson(res: HttpResponse, maxBytes: number, what: string): Promise<unknown> {
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

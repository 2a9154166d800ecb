import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { startHttpStub, type HttpStub } from '#testing';
import { RegistryClient } from '#registry';
import { testRegistryConfig } from './test-config.js';

// Scripted servers stand in for a registry and its object storage: wrong bytes and redirects on cue.
describe('blob streaming (registry view)', () => {
  let registry: HttpStub;
  let storage: HttpStub;
  let respond: (req: IncomingMessage, res: ServerResponse) => void;
  const client = (extra = {}) =>
    new RegistryClient(testRegistryConfig(registry.url, extra), { timeoutMs: 2_000 });
  const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const blob = randomBytes(50_000);

  /** Collects what a consumer receives, and how the stream ended. */
  async function drain(body: Readable): Promise<{ received: Buffer; error?: { code?: string } }> {
    const chunks: Buffer[] = [];
    try {
      for await (const c of body) chunks.push(c as Buffer);
      return { received: Buffer.concat(chunks) };
    } catch (err) {
      return { received: Buffer.concat(chunks), error: err as { code?: string } };
    }
  }

  beforeAll(async () => {
    registry = await startHttpStub((req, res) => respond(req, res));
    storage = await startHttpStub((_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    });
  });
  afterAll(async () => {
    await registry.stop();
    await storage.stop();
  });
  beforeEach(() => {
    registry.requests.length = 0;
    storage.requests.length = 0;
  });

  it('passes a whole blob through with its length', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    };
    const opened = await client().openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 });
    expect([opened.status, opened.length]).toEqual([200, blob.length]);
    expect((await drain(opened.body!)).received.equals(blob)).toBe(true);
  });

  it('withholds the last chunk of bytes that do not hash to the digest, and fails', async () => {
    const wrong = randomBytes(blob.length);
    respond = (_req, res) => {
      res.writeHead(200, { 'content-length': String(wrong.length) });
      for (let i = 0; i < wrong.length; i += 4096) res.write(wrong.subarray(i, i + 4096));
      res.end();
    };
    const opened = await client().openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 });
    const out = await drain(opened.body!);
    expect(out.error?.code).toBe('digest_mismatch');
    expect(out.received.length).toBeLessThan(wrong.length);
  });

  it('fails a body shorter than its declared length', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      // The connection drops once the first bytes are on the wire.
      res.write(blob.subarray(0, 1000), () => res.destroy());
    };
    const opened = await client().openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 });
    const out = await drain(opened.body!);
    expect(out.error).toBeDefined();
    expect(out.received.length).toBeLessThan(1000);
  });

  it('passes Range to the registry and a 206 through, length-checked', async () => {
    respond = (req, res) => {
      expect(req.headers.range).toBe('bytes=10-19');
      res.writeHead(206, { 'content-length': '10', 'content-range': `bytes 10-19/${blob.length}` });
      res.end(blob.subarray(10, 20));
    };
    const opened = await client().openBlob('app', digestOf(blob), {
      method: 'GET',
      maxBytes: 1e6,
      range: 'bytes=10-19',
    });
    expect([opened.status, opened.length, opened.contentRange]).toEqual([
      206,
      10,
      `bytes 10-19/${blob.length}`,
    ]);
    expect((await drain(opened.body!)).received.equals(blob.subarray(10, 20))).toBe(true);
    expect(registry.requests[0]!.headers.range).toBe('bytes=10-19');
  });

  it('refuses a 206 nobody asked for, and hashes a 206 that covers the whole blob', async () => {
    const wrong = Buffer.alloc(21, 'A');
    respond = (_req, res) => {
      res.writeHead(206, { 'content-length': '21', 'content-range': 'bytes 0-20/21' });
      res.end(wrong);
    };
    await expect(
      client().openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 }),
    ).rejects.toMatchObject({ code: 'bad_response' });
    const asked = await client().openBlob('app', digestOf(blob), {
      method: 'GET',
      maxBytes: 1e6,
      range: 'bytes=0-',
    });
    const got = await drain(asked.body!);
    expect(got.error?.code).toBe('digest_mismatch');
    expect(got.received.length).toBeLessThan(wrong.length);
  });

  it('follows a redirect to a listed storage host without credentials, refuses an unlisted one', async () => {
    respond = (_req, res) => {
      res.writeHead(307, { location: `${storage.url}/bucket/blob` });
      res.end();
    };
    const creds = { credentials: { type: 'bearer' as const, token: 'pull-secret' } };
    await expect(
      client(creds).openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 }),
    ).rejects.toMatchObject({
      code: 'forbidden_redirect',
    });
    expect(storage.requests).toHaveLength(0);
    const allowed = client({ ...creds, allowedRedirectHosts: [storage.host] });
    const opened = await allowed.openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 });
    expect((await drain(opened.body!)).received.equals(blob)).toBe(true);
    expect(registry.requests[0]!.headers.authorization).toBe('Bearer pull-secret');
    expect(storage.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('gives up on a registry that stops answering, before headers and mid-body', async () => {
    const quick = new RegistryClient(testRegistryConfig(registry.url), { timeoutMs: 300 });
    respond = () => undefined;
    await expect(
      quick.openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 }),
    ).rejects.toMatchObject({
      code: 'unavailable',
    });
    respond = (_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.write(blob.subarray(0, 100));
    };
    const opened = await quick.openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 1e6 });
    const out = await drain(opened.body!);
    expect(out.error).toBeDefined();
    expect(out.received.length).toBe(0);
  });

  it('refuses a declared size over the cap and a registry answering for another digest', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    };
    await expect(
      client().openBlob('app', digestOf(blob), { method: 'GET', maxBytes: 100 }),
    ).rejects.toMatchObject({
      code: 'too_large',
    });
    respond = (_req, res) => {
      res.writeHead(200, { 'docker-content-digest': digestOf(Buffer.from('other')) });
      res.end(blob);
    };
    await expect(
      client().openBlob('app', digestOf(blob), { method: 'HEAD', maxBytes: 1e6 }),
    ).rejects.toMatchObject({
      code: 'digest_mismatch',
    });
  });
});

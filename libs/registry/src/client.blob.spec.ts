import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { startHttpStub, type HttpStub } from '#testing';
import { InvalidNameError, RegistryClient } from '#registry';
import { testRegistryConfig } from './test-config.js';

// A scripted server stands in for a registry that serves wrong or oversized blobs.
describe('blob fetch', () => {
  let stub: HttpStub;
  let respond: (res: ServerResponse, path: string) => void;
  const client = (extra = {}) =>
    new RegistryClient(testRegistryConfig(stub.url, extra), { timeoutMs: 2_000 });
  const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const serve = (bytes: Buffer, headers: Record<string, string> = {}) => {
    respond = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...headers });
      res.end(bytes);
    };
  };

  beforeAll(async () => {
    stub = await startHttpStub((req, res) => respond(res, req.url ?? ''));
  });
  afterAll(() => stub.stop());
  beforeEach(() => {
    stub.requests.length = 0;
  });

  it('returns bytes that hash to the digest, from /v2/<repo>/blobs/<digest>', async () => {
    const blob = randomBytes(100);
    serve(blob);
    expect(await client().fetchBlob('team/app', digestOf(blob), 1000)).toEqual(blob);
    expect(stub.requests[0]).toMatchObject({ method: 'GET', url: `/v2/team/app/blobs/${digestOf(blob)}` });
  });

  it('refuses other bytes (digest_mismatch) and more than maxBytes (too_large), neither retryable', async () => {
    serve(randomBytes(100));
    await expect(client().fetchBlob('app', digestOf(randomBytes(100)), 1000)).rejects.toMatchObject({
      code: 'digest_mismatch',
      retryable: false,
    });
    const big = randomBytes(2000);
    serve(big);
    await expect(client().fetchBlob('app', digestOf(big), 1000)).rejects.toMatchObject({
      code: 'too_large',
      retryable: false,
    });
  });

  it('refuses a redirect to a host not allowed, and invalid names before any request', async () => {
    respond = (res) => {
      res.writeHead(307, { Location: 'http://elsewhere.invalid/blob' });
      res.end();
    };
    await expect(client().fetchBlob('app', digestOf(Buffer.from('x')), 1000)).rejects.toMatchObject({
      code: 'forbidden_redirect',
    });
    await expect(client().fetchBlob('App', digestOf(Buffer.from('x')), 1000)).rejects.toBeInstanceOf(
      InvalidNameError,
    );
    await expect(client().fetchBlob('app', 'sha256:nothex', 1000)).rejects.toBeInstanceOf(InvalidNameError);
  });

  it('maps 404 to not_found', async () => {
    respond = (res) => {
      res.writeHead(404);
      res.end();
    };
    await expect(client().fetchBlob('app', digestOf(Buffer.from('x')), 1000)).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

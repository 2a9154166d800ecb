import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { artifactManifest, randomImage, startHttpStub, type HttpStub } from '#testing';
import { InvalidNameError, OCI_INDEX, OCI_MANIFEST, RegistryClient } from '#registry';
import { testRegistryConfig } from './test-config.js';

// A scripted node:http server stands in for a misbehaving registry: the real Distribution cannot
// be made to serve wrong bytes, lie about digests or lengths, or stream without end.
describe('manifest content checks', () => {
  let stub: HttpStub;
  let respond: (res: ServerResponse, path: string) => void;

  beforeAll(async () => {
    stub = await startHttpStub((req, res) => respond(res, req.url ?? ''));
  });
  afterAll(() => stub.stop());
  beforeEach(() => {
    stub.requests.length = 0;
  });

  const client = (extra = {}) =>
    new RegistryClient(testRegistryConfig(stub.url, extra), { timeoutMs: 2_000 });
  const serve = (bytes: Buffer, headers: Record<string, string> = {}) => {
    respond = (res) => {
      res.writeHead(200, {
        'Content-Type': OCI_MANIFEST,
        'Content-Length': String(bytes.length),
        ...headers,
      });
      res.end(bytes);
    };
  };

  it('refuses bytes that do not hash to the requested digest, not retryable', async () => {
    const asked = randomImage();
    serve(randomImage().manifest);
    await expect(client().fetchManifest('app', asked.digest)).rejects.toMatchObject({
      code: 'digest_mismatch',
      retryable: false,
    });
  });

  it('verifies a sha512 digest with sha512', async () => {
    const image = randomImage();
    const digest = `sha512:${createHash('sha512').update(image.manifest).digest('hex')}`;
    serve(image.manifest);
    expect(await client().fetchManifest('app', digest)).toMatchObject({ digest, size: image.size });
  });

  it('by tag: computes the digest, and refuses a Docker-Content-Digest that disagrees', async () => {
    const image = randomImage();
    serve(image.manifest);
    expect((await client().fetchManifest('app', 'v1')).digest).toBe(image.digest);
    serve(image.manifest, { 'Docker-Content-Digest': randomImage().digest });
    await expect(client().fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'digest_mismatch' });
    serve(image.manifest, { 'Docker-Content-Digest': 'sha256:nothex' });
    await expect(client().fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('refuses a declared Content-Length above maxManifestBytes', async () => {
    const image = randomImage();
    serve(image.manifest);
    await expect(
      client({ maxManifestBytes: image.size - 1 }).fetchManifest('app', image.digest),
    ).rejects.toMatchObject({
      code: 'too_large',
      retryable: false,
    });
    expect((await client({ maxManifestBytes: image.size }).fetchManifest('app', image.digest)).size).toBe(
      image.size,
    );
    // The header alone is enough to refuse, before any byte is read.
    let pulled = false;
    const body = new ReadableStream<Uint8Array>(
      { pull: (c) => void ((pulled = true), c.close()) },
      { highWaterMark: 0 },
    );
    const declared: typeof fetch = () =>
      Promise.resolve(new Response(body, { status: 200, headers: { 'Content-Length': '999999' } }));
    const c = new RegistryClient(testRegistryConfig(stub.url, { maxManifestBytes: 1000 }), {
      fetch: declared,
    });
    await expect(c.fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'too_large' });
    expect(pulled).toBe(false);
  });

  it('counts bytes while streaming when Content-Length is absent, and stops reading', async () => {
    let written = 0;
    let closed = false;
    respond = (res) => {
      res.writeHead(200, { 'Content-Type': OCI_MANIFEST }); // chunked: no Content-Length
      res.on('close', () => (closed = true));
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = (): void => {
        while (!closed && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    await expect(client({ maxManifestBytes: 64 * 1024 }).fetchManifest('app', 'v1')).rejects.toMatchObject({
      code: 'too_large',
    });
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('counts bytes when Content-Length understates the body', async () => {
    // HTTP/1.1 framing makes undici stop at Content-Length, so the lie is told by an injected fetch.
    const big = Buffer.alloc(100_000, 0x20);
    const lying: typeof fetch = () =>
      Promise.resolve(
        new Response(big, { status: 200, headers: { 'Content-Length': '10', 'Content-Type': OCI_MANIFEST } }),
      );
    const c = new RegistryClient(testRegistryConfig('http://127.0.0.1:9', { maxManifestBytes: 1000 }), {
      fetch: lying,
    });
    await expect(c.fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'too_large' });
  });

  it('classifies by the body mediaType, falling back to Content-Type', async () => {
    const image = randomImage();
    serve(image.manifest, { 'Content-Type': 'application/octet-stream' });
    expect((await client().fetchManifest('app', image.digest)).mediaType).toBe(OCI_MANIFEST);

    const bare = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    serve(bare, { 'Content-Type': `${OCI_INDEX}; charset=utf-8` });
    expect((await client().fetchManifest('app', 'v1')).mediaType).toBe(OCI_INDEX);

    serve(bare, { 'Content-Type': 'application/json' });
    await expect(client().fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('refuses bodies that are not JSON objects', async () => {
    for (const body of ['<html>', '[1,2]', 'null', '{"mediaType": 7}']) {
      serve(Buffer.from(body));
      await expect(client().fetchManifest('app', 'v1')).rejects.toMatchObject({ code: 'bad_response' });
    }
  });

  it('accepts an OCI artifact manifest', async () => {
    const sig = artifactManifest({ artifactType: 'application/vnd.example.sig' });
    serve(sig.manifest);
    expect(await client().fetchManifest('app', sig.digest)).toMatchObject({
      digest: sig.digest,
      mediaType: OCI_MANIFEST,
    });
  });

  it('validates names and references before any request', async () => {
    serve(randomImage().manifest);
    const c = client();
    const badRepos = [
      '',
      'UPPER',
      '../etc',
      'a//b',
      'a/../b',
      'http://evil.test/x',
      'a?b',
      'a#b',
      '-a',
      'a-',
      'a%2fb',
      'a'.repeat(256),
    ];
    for (const repo of badRepos) {
      await expect(c.fetchManifest(repo, 'v1')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(c.listReferrers(repo, randomImage().digest)).rejects.toBeInstanceOf(InvalidNameError);
    }
    const badRefs = [
      'sha256:' + 'A'.repeat(64),
      'sha256:' + 'a'.repeat(63),
      'sha512:' + 'a'.repeat(64),
      'md5:' + 'a'.repeat(32),
      '.hidden',
      '-tag',
      'a'.repeat(129),
      '../../v2/other/manifests/x',
      'tag?x=1',
    ];
    for (const ref of badRefs) {
      await expect(c.fetchManifest('app', ref)).rejects.toBeInstanceOf(InvalidNameError);
      await expect(c.manifestExists('app', ref)).rejects.toBeInstanceOf(InvalidNameError);
    }
    await expect(c.resolveTag('app', randomImage().digest)).rejects.toBeInstanceOf(InvalidNameError);
    await expect(async () => {
      for await (const _ of c.listTags('Bad')) void _;
    }).rejects.toBeInstanceOf(InvalidNameError);
    expect(stub.requests).toHaveLength(0);

    const good = ['a', 'a/b', 'a.b/c_d', 'a__b/c---d', 'library/ubuntu'];
    for (const repo of good) await client().fetchManifest(repo, 'v1.0_RC-1');
    expect(stub.requests.map((r) => r.url)).toEqual(good.map((r) => `/v2/${r}/manifests/v1.0_RC-1`));
  });

  it('builds every URL under a configured base path', async () => {
    serve(randomImage().manifest);
    await new RegistryClient(testRegistryConfig(`${stub.url}/mirror`)).fetchManifest('app', 'v1');
    expect(stub.requests.map((r) => r.url)).toEqual(['/mirror/v2/app/manifests/v1']);
  });
});

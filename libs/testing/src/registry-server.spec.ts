import { existsSync } from 'node:fs';
import {
  artifactManifest,
  bcryptHash,
  deleteManifest,
  descriptorOf,
  pushImage,
  randomImage,
  sha256,
  skopeoCopyImage,
  startHttpStub,
  startRegistry,
} from './index.js';

describe('startRegistry', () => {
  it('serves the Distribution API and stop() ends it', async () => {
    const registry = await startRegistry();
    expect(registry.url).toBe(`http://${registry.host}`);
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await registry.stop();
  });

  it('posts notifications with the bearer token and honours deletes', async () => {
    const events: Array<{
      auth?: string;
      type?: string;
      body: { events: Array<{ action: string; target: { digest: string } }> };
    }> = [];
    const receiver = await startHttpStub(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      events.push({
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body: JSON.parse(body),
      });
      res.writeHead(200).end();
    });
    const registry = await startRegistry({ notifyUrl: `${receiver.url}/hook`, notifyToken: 'hook-secret' });
    try {
      const image = randomImage();
      await pushImage(registry.url, 'notify/app', 'v1', image);
      await deleteManifest(registry.url, 'notify/app', image.digest);
      const actions = (): string[] =>
        events
          .flatMap((e) => e.body.events)
          .filter((e) => e.target.digest === image.digest)
          .map((e) => e.action);
      const deadline = Date.now() + 10_000;
      while (!actions().includes('delete') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(actions()).toEqual(expect.arrayContaining(['push', 'delete']));
      expect(events.every((e) => e.auth === 'Bearer hook-secret')).toBe(true);
      expect(events[0]?.type).toMatch(/^application\/vnd\.docker\.distribution\.events\.v1\+json/);
      const head = await fetch(`${registry.url}/v2/notify/app/manifests/${image.digest}`, { method: 'HEAD' });
      expect(head.status).toBe(404);
    } finally {
      await registry.stop();
      await receiver.stop();
    }
  });
});

describe('builders', () => {
  it('make real digests over the exact bytes, distinct on every call', () => {
    const a = randomImage();
    const b = randomImage();
    expect(a.digest).toBe(sha256(a.manifest));
    expect(a.size).toBe(a.manifest.length);
    expect(a.digest).not.toBe(b.digest);
    for (const blob of a.blobs) expect(blob.digest).toBe(sha256(blob.bytes));
    const sig = artifactManifest({ subject: descriptorOf(a), artifactType: 'application/vnd.example.sig' });
    expect(JSON.parse(sig.manifest.toString())).toMatchObject({
      artifactType: 'application/vnd.example.sig',
      subject: { digest: a.digest, size: a.size },
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 },
    });
  });

  it('make a bcrypt hash Distribution accepts', async () => {
    expect(await bcryptHash('secret')).toMatch(/^\$2b\$10\$[./A-Za-z0-9]{53}$/);
  });
});

describe('skopeoCopyImage', () => {
  it('pushes an OCI layout and returns the digest the registry serves', async () => {
    const registry = await startRegistry();
    try {
      const image = randomImage();
      const digest = await skopeoCopyImage(registry.url, 'layout/app', 'v2', { image });
      expect(digest).toBe(image.digest);
      const res = await fetch(`${registry.url}/v2/layout/app/manifests/v2`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(Buffer.from(await res.arrayBuffer()).equals(image.manifest)).toBe(true);
    } finally {
      await registry.stop();
    }
  });
});

describe('stop()', () => {
  it('kills the process and removes the temp dir, and may be called twice', async () => {
    const registry = await startRegistry();
    expect(existsSync(`${registry.dir}/config.yml`)).toBe(true);
    await registry.stop();
    await registry.stop();
    expect(existsSync(registry.dir)).toBe(false);
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });
});

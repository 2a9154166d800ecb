import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import pg from 'pg';
import {
  createTestDatabase,
  OCI_EMPTY,
  OCI_MANIFEST,
  randomImage,
  sha256,
  startHttpStub,
  type HttpStub,
  type TestDatabase,
} from '#testing';
import { eventually, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * The registry view when the registry misbehaves. A scripted stand-in serves the registry here:
 * Distribution cannot be made to send wrong bytes, lie about lengths or exceed a size on cue.
 */

const MAX_BLOB = 64 * 1024;
const image = randomImage();
const liar = randomImage();
const goodBlob = randomBytes(200 * 1024 - 7).subarray(0, MAX_BLOB - 100);
const wrongBlob = randomBytes(MAX_BLOB - 100);
const wrongDigest = sha256(randomBytes(8));
const bigDigest = sha256(randomBytes(8));
const unboundedDigest = sha256(randomBytes(8));
/** Names the blobs below, so the view may serve them from stub/app once it has pulled this through. */
const carrier = manifestNaming([sha256(goodBlob), wrongDigest, bigDigest, unboundedDigest]);
/** A blob the stub serves under any repository, as a registry that does not scope blobs would. */
const unscoped = randomBytes(1024);
/** Further manifests the stub serves, by path. */
const stubbed = new Map<string, Buffer>();
let tdb: TestDatabase;
let stub: HttpStub;
let refgraph: StartedRefgraph;

const visits = (path: string, method?: string) =>
  stub.requests.filter((r) => r.url === path && (method === undefined || r.method === method)).length;

beforeAll(async () => {
  tdb = await createTestDatabase();
  stub = await startHttpStub((req, res) => {
    const path = req.url ?? '';
    const send = (status: number, headers: Record<string, string>, body?: Buffer) => {
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/v2/') return send(200, {});
    if (path === `/v2/app/manifests/${image.digest}` || path === '/v2/app/manifests/latest') {
      return send(
        200,
        {
          'content-type': image.mediaType,
          'docker-content-digest': image.digest,
          'content-length': String(image.size),
        },
        image.manifest,
      );
    }
    const manifest = path === `/v2/app/manifests/${carrier.digest}` ? carrier.bytes : stubbed.get(path);
    if (manifest)
      return send(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256(manifest) }, manifest);
    if (path.endsWith(`/blobs/${sha256(unscoped)}`)) return send(200, {}, unscoped);
    if (path === `/v2/app/manifests/${liar.digest}`) {
      // Claims the asked-for digest, sends other bytes of the same length.
      const other = Buffer.from(image.manifest.toString().padEnd(liar.size, ' ').slice(0, liar.size));
      return send(200, { 'content-type': liar.mediaType, 'docker-content-digest': liar.digest }, other);
    }
    if (path === `/v2/app/blobs/${sha256(goodBlob)}`) {
      // In pieces, as object storage streams it.
      res.writeHead(200, {
        'content-length': String(goodBlob.length),
        'content-type': 'application/octet-stream',
      });
      if (req.method === 'HEAD') return void res.end();
      for (let i = 0; i < goodBlob.length; i += 8192) res.write(goodBlob.subarray(i, i + 8192));
      return void res.end();
    }
    if (path === `/v2/app/blobs/${wrongDigest}`) {
      res.writeHead(200, { 'content-length': String(wrongBlob.length) });
      for (let i = 0; i < wrongBlob.length; i += 8192) res.write(wrongBlob.subarray(i, i + 8192));
      return void res.end();
    }
    if (path === `/v2/app/blobs/${bigDigest}`)
      return send(200, { 'content-length': String(MAX_BLOB + 1) }, Buffer.alloc(MAX_BLOB + 1));
    if (path === `/v2/app/blobs/${unboundedDigest}`) {
      // No Content-Length, and more bytes than the cap.
      res.writeHead(200, {});
      for (let i = 0; i < 3; i++) res.write(randomBytes(MAX_BLOB / 2));
      return void res.end();
    }
    return send(
      404,
      { 'content-type': 'application/json' },
      Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'),
    );
  });
  const hook = { webhook: { auth: { type: 'none' as const } } };
  refgraph = await startRefgraph(tdb.url, {
    registries: [
      { name: 'stub', kind: 'distribution', url: stub.url, ...hook },
      // Nothing listens on the discard port.
      { name: 'down', kind: 'distribution', url: 'http://127.0.0.1:9', ...hook },
    ],
    registryView: { maxBlobBytes: MAX_BLOB },
    database: { reads: { statementTimeoutMs: 300, answerTimeoutMs: 400 } },
  });
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await stub?.stop();
  await tdb?.drop();
});

/** Records the blob as named by a manifest of `registry/repository`, as ingestion does. */
async function link(registry: string, repository: string, digest: string): Promise<void> {
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO repository (registry_id, name) SELECT id, $2 FROM registry WHERE name = $1
       ON CONFLICT DO NOTHING`,
      [registry, repository],
    );
    await c.query(
      `INSERT INTO repository_blob (repository_id, blob_digest)
       SELECT r.id, $3 FROM repository r JOIN registry g ON g.id = r.registry_id WHERE g.name = $1 AND r.name = $2`,
      [registry, repository, digest],
    );
  } finally {
    await c.end();
  }
}

function manifestNaming(digests: string[]) {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_EMPTY, digest: sha256(Buffer.from('{}')), size: 2 },
      layers: digests.map((digest) => ({ mediaType: 'application/octet-stream', digest, size: 1 })),
    }),
  );
  return { bytes, digest: sha256(bytes) };
}

const v2 = (path: string, init?: RequestInit) => fetch(`${refgraph.url}/v2/${path}`, init);
const codeOf = async (res: Response) =>
  ((await res.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]!;

/** Reads a response with plain http so a cut-off body is observable: bytes received and whether it ended cleanly. */
function rawGet(
  path: string,
): Promise<{ status: number; declared: number; received: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(`${refgraph.url}/v2/${path}`, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = (complete: boolean) =>
        resolve({
          status: res.statusCode ?? 0,
          declared: Number(res.headers['content-length'] ?? -1),
          received: Buffer.concat(chunks),
          complete,
        });
      res.once('end', () => done(res.complete));
      res.once('aborted', () => done(false));
      res.once('error', () => done(false));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('pull-through', () => {
  it('serves a digest refgraph has not ingested, digest-checked, and queues it through the inbox', async () => {
    const res = await v2(`stub/app/manifests/${image.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(image.digest);
    expect(Buffer.from(await res.arrayBuffer()).equals(image.manifest)).toBe(true);
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ action: string; digest: string }>(
        `SELECT action, digest FROM webhook_event WHERE sender_event_id LIKE 'refgraph-pull-through:%'`,
      );
      expect(rows).toEqual([{ action: 'push', digest: image.digest }]);
    } finally {
      await c.end();
    }
    // Once ingested, the bytes come from storage: the registry is not asked again.
    await eventually(async () => {
      const before = visits(`/v2/app/manifests/${image.digest}`);
      const again = await v2(`stub/app/manifests/${image.digest}`, { method: 'HEAD' });
      expect(again.status).toBe(200);
      expect(visits(`/v2/app/manifests/${image.digest}`)).toBe(before);
    });
  });

  it('confirms a tag at the registry once per freshness bound', async () => {
    const before = visits('/v2/app/manifests/latest', 'HEAD');
    for (let i = 0; i < 3; i++) {
      const res = await v2('stub/app/manifests/latest', { method: 'HEAD' });
      expect(res.headers.get('docker-content-digest')).toBe(image.digest);
    }
    expect(visits('/v2/app/manifests/latest', 'HEAD') - before).toBe(1);
  });
});

describe('which blobs the view serves', () => {
  it('serves a blob only where a manifest of that repository names it, without asking the registry otherwise', async () => {
    const path = `stub/app/blobs/${sha256(unscoped)}`;
    for (const method of ['GET', 'HEAD']) {
      const res = await v2(path, { method });
      expect([method, res.status]).toEqual([method, 404]);
      if (method === 'GET') expect((await codeOf(res)).code).toBe('BLOB_UNKNOWN');
    }
    expect(visits(`/v2/app/blobs/${sha256(unscoped)}`)).toBe(0);
  });

  it('serves a blob a recorded manifest links to the repository, and only there', async () => {
    stub.requests.length = 0;
    await link('stub', 'linked', sha256(unscoped));
    const linked = await v2(`stub/linked/blobs/${sha256(unscoped)}`);
    expect(linked.status).toBe(200);
    expect(Buffer.from(await linked.arrayBuffer()).equals(unscoped)).toBe(true);
    expect((await v2(`stub/other/blobs/${sha256(unscoped)}`)).status).toBe(404);
    expect(visits(`/v2/other/blobs/${sha256(unscoped)}`)).toBe(0);
  });

  it('serves the blobs of a manifest it pulled through from that repository, not from others', async () => {
    const pulled = manifestNaming([sha256(unscoped)]);
    stubbed.set(`/v2/pulled/manifests/${pulled.digest}`, pulled.bytes);
    expect((await v2(`stub/pulled/manifests/${pulled.digest}`)).status).toBe(200);
    expect((await v2(`stub/pulled/blobs/${sha256(unscoped)}`)).status).toBe(200);
    expect((await v2(`stub/elsewhere/blobs/${sha256(unscoped)}`)).status).toBe(404);
    expect(visits(`/v2/elsewhere/blobs/${sha256(unscoped)}`)).toBe(0);
  });
});

describe('layers fetched from their urls', () => {
  it('are not linked by a pull-through nor by ingestion: the view does not serve them', async () => {
    // A foreign layer whose digest the stub serves under any repository: the push proved nothing.
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_EMPTY, digest: sha256(Buffer.from('{}')), size: 2 },
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
            digest: sha256(unscoped),
            size: unscoped.length,
            urls: ['https://vendor.example.test/base.tar.gz'],
          },
        ],
      }),
    );
    const digest = sha256(bytes);
    stubbed.set(`/v2/foreign/manifests/${digest}`, bytes);
    expect((await v2(`stub/foreign/manifests/${digest}`)).status).toBe(200);
    const blobPath = `stub/foreign/blobs/${sha256(unscoped)}`;
    const pulled = await v2(blobPath);
    expect([pulled.status, (await codeOf(pulled)).code]).toEqual([404, 'BLOB_UNKNOWN']);

    const linksOfForeign = async () => {
      const c = new pg.Client({ connectionString: tdb.url });
      await c.connect();
      try {
        const { rows } = await c.query<{ blob_digest: string; located: boolean }>(
          `SELECT b.blob_digest, EXISTS (SELECT 1 FROM artifact_location l WHERE l.repository_id = r.id
                                         AND l.digest = $1) AS located
           FROM repository r JOIN repository_blob b ON b.repository_id = r.id WHERE r.name = 'foreign'`,
          [digest],
        );
        return rows;
      } finally {
        await c.end();
      }
    };
    // The pull-through linked the config; ingestion records the manifest and links the same.
    await eventually(async () => {
      expect(await linksOfForeign()).toEqual([{ blob_digest: sha256(Buffer.from('{}')), located: true }]);
    });
    expect((await v2(blobPath)).status).toBe(404);
    expect(visits(`/v2/foreign/blobs/${sha256(unscoped)}`)).toBe(0);
  });
});

describe('a registry that answers wrong', () => {
  beforeAll(async () => {
    // Pulled through, not ingested yet: its blobs are served from stub/app for a while.
    expect((await v2(`stub/app/manifests/${carrier.digest}`)).status).toBe(200);
  });

  it('never forwards a manifest whose bytes do not hash to the digest', async () => {
    const res = await v2(`stub/app/manifests/${liar.digest}`);
    expect(res.status).toBe(502);
    const err = await codeOf(res);
    expect(err.message).toMatch(/hash/);
  });

  it('streams a good blob whole, with length and digest', async () => {
    const out = await rawGet(`stub/app/blobs/${sha256(goodBlob)}`);
    expect([out.status, out.declared, out.complete]).toEqual([200, goodBlob.length, true]);
    expect(out.received.equals(goodBlob)).toBe(true);
  });

  it('cuts a blob transfer whose bytes do not hash to the digest before its end', async () => {
    const out = await rawGet(`stub/app/blobs/${wrongDigest}`);
    expect(out.status).toBe(200);
    expect(out.complete).toBe(false);
    expect(out.received.length).toBeLessThan(wrongBlob.length);
    const text = await (await fetch(`${refgraph.url}/metrics`)).text();
    expect(text).toMatch(/refgraph_view_blob_streams_broken_total\{registry="stub"\} [1-9]/);
  });

  it('refuses a blob over the size cap, declared or counted', async () => {
    const declared = await v2(`stub/app/blobs/${bigDigest}`);
    expect(declared.status).toBe(403);
    expect((await codeOf(declared)).code).toBe('DENIED');
    // Refused with a spec error when the limit is crossed before the first byte went out (the
    // registry's chunks may arrive merged), else cut off: never the whole over-limit body.
    const counted = await rawGet(`stub/app/blobs/${unboundedDigest}`);
    if (counted.status === 200) expect(counted.complete).toBe(false);
    else
      expect([counted.status, JSON.parse(counted.received.toString()).errors[0].code]).toEqual([
        403,
        'DENIED',
      ]);
    expect(counted.received.length).toBeLessThanOrEqual(MAX_BLOB);
  });

  it('answers 503 with a message when the registry is down, for manifests, tags and blobs', async () => {
    // The blob is linked to down/app, so only the registry's absence stops it.
    await link('down', 'app', sha256(goodBlob));
    for (const path of [
      `down/app/manifests/${image.digest}`,
      'down/app/manifests/latest',
      `down/app/blobs/${sha256(goodBlob)}`,
    ]) {
      const res = await v2(path);
      const err = await codeOf(res);
      expect([path, res.status, err.code]).toEqual([path, 503, 'UNAVAILABLE']);
      expect(err.message).toMatch(/registry unavailable/);
    }
  });
});

describe('when refgraph itself cannot answer', () => {
  it('answers 503 UNAVAILABLE with Retry-After while its record is locked, never a bare 500', async () => {
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query('LOCK TABLE tag, edge IN ACCESS EXCLUSIVE MODE');
      for (const path of ['stub/app/manifests/latest', `stub/app/referrers/${image.digest}`]) {
        const res = await v2(path);
        const err = await codeOf(res);
        expect([path, res.status, err.code, res.headers.get('retry-after')]).toEqual([
          path,
          503,
          'UNAVAILABLE',
          '1',
        ]);
        expect(err.message).not.toMatch(/statement|primary|bounds/);
      }
    } finally {
      await c.query('ROLLBACK');
      await c.end();
    }
  });

  it('answers 400 for a parameter the database cannot compare', async () => {
    const res = await v2('stub/app/tags/list?last=%00');
    expect(res.status).toBe(400);
    expect((await codeOf(res)).code).toBe('UNSUPPORTED');
  });
});

import { randomBytes } from 'node:crypto';
import { attachArtifactToImage } from '@sigstore/oci';
import {
  artifactManifest,
  createTestDatabase,
  deleteManifest,
  descriptorOf,
  imageIndex,
  pushImage,
  randomImage,
  skopeoCopyImage,
  startRegistry,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  eventually,
  forwardable,
  graphSnapshot,
  pendingEvents,
  startRecordingForwarder,
  startRefgraph,
  type StartedRefgraph,
  localDistribution,
} from './harness.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const token = randomBytes(16).toString('hex');
const env = { E2E_HOOK_TOKEN: token };

let tdb: TestDatabase;
let registry: TestRegistry;
let refgraph: StartedRefgraph;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;

function registryConfig(url: string) {
  return {
    registries: [localDistribution(url, 'E2E_HOOK_TOKEN')],
  };
}

interface OciIndex {
  mediaType: string;
  manifests: Array<{
    digest: string;
    mediaType: string;
    size: number;
    artifactType?: string;
    annotations?: Record<string, string>;
  }>;
}

async function referrers(
  base: string,
  repo: string,
  digest: string,
  query = '',
): Promise<{ res: Response; body: OciIndex }> {
  const res = await fetch(`${base}/v2/local/${repo}/referrers/${digest}${query}`);
  return { res, body: (await res.json()) as OciIndex };
}

async function referrerDigests(base: string, repo: string, digest: string): Promise<string[]> {
  return (await referrers(base, repo, digest)).body.manifests.map((m) => m.digest).sort();
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  let refgraphUrl = '';
  forwarder = await startRecordingForwarder(() => refgraphUrl);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: token,
  });
  refgraph = await startRefgraph(tdb.url, registryConfig(registry.url), env);
  refgraphUrl = refgraph.url;
});

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await tdb?.drop();
});

describe('registry webhook to OCI referrers API, end to end', () => {
  let subject = '';
  let referrer = '';
  let bundle = '';

  it('serves what was pushed to the real registry', async () => {
    subject = await skopeoCopyImage(registry.url, 'demo', 'v1');
    // The descriptor of the pushed image, as the registry stores it.
    const manifest = await fetch(`${registry.url}/v2/demo/manifests/${subject}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const bytes = Buffer.from(await manifest.arrayBuffer());
    const subjectDesc = {
      mediaType: manifest.headers.get('content-type')!,
      digest: subject,
      size: bytes.length,
    };

    const sbom = artifactManifest({
      subject: subjectDesc,
      artifactType: 'application/spdx+json',
      annotations: { 'org.opencontainers.image.created': '2026-11-23T00:00:00Z' },
      layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from('{"spdxVersion":"SPDX-2.3"}') }],
    });
    referrer = await pushImage(registry.url, 'demo', undefined, sbom);

    const attached = await attachArtifactToImage({
      imageName: `${registry.host}/demo`,
      imageDigest: subject,
      artifact: Buffer.from(JSON.stringify({ mediaType: BUNDLE_TYPE, note: 'attached by @sigstore/oci' })),
      mediaType: BUNDLE_TYPE,
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' },
      credentials: undefined as never,
    });
    bundle = attached.digest;

    await eventually(async () =>
      expect(await referrerDigests(refgraph.url, 'demo', subject)).toEqual([referrer, bundle].sort()),
    );
    const { res, body } = await referrers(refgraph.url, 'demo', subject);
    expect(res.headers.get('content-type')).toBe(INDEX);
    expect(body.mediaType).toBe(INDEX);
    const sbomDesc = body.manifests.find((m) => m.digest === referrer);
    expect(sbomDesc).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: referrer,
      size: sbom.size,
      artifactType: 'application/spdx+json',
      annotations: { 'org.opencontainers.image.created': '2026-11-23T00:00:00Z' },
    });
    const bundleDesc = body.manifests.find((m) => m.digest === bundle);
    expect(bundleDesc?.artifactType).toBe(BUNDLE_TYPE);
    expect(bundleDesc?.annotations?.['dev.sigstore.bundle.predicateType']).toBe(
      'https://slsa.dev/provenance/v1',
    );
  });

  it('acknowledges events with synchronous commits and ingests them on the job pool without', async () => {
    const { db, jobDb } = refgraph.running.runtime;
    const setting = async (pool: typeof db.pool) =>
      (await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!
        .synchronous_commit;
    expect(await setting(db.pool)).toBe('on');
    expect(await setting(jobDb.pool)).toBe('off');
    // The previous test's pushes were ingested: through the job pool's connections.
    expect(jobDb.pool.totalCount).toBeGreaterThan(0);
  });

  it('filters by artifactType and says so', async () => {
    const { res, body } = await referrers(
      refgraph.url,
      'demo',
      subject,
      `?artifactType=${encodeURIComponent(BUNDLE_TYPE)}`,
    );
    expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(body.manifests.map((m) => m.digest)).toEqual([bundle]);
  });

  it('answers an empty index for an unknown digest, and 400 for a malformed one', async () => {
    const unknown = `sha256:${'0'.repeat(64)}`;
    const { res, body } = await referrers(refgraph.url, 'demo', unknown);
    expect(res.status).toBe(200);
    expect(body.manifests).toEqual([]);
    const bad = await fetch(`${refgraph.url}/v2/local/demo/referrers/sha256:nothex`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
      'DIGEST_INVALID',
    );
    const other = await fetch(`${refgraph.url}/v2/nosuch/demo/referrers/${unknown}`);
    expect(other.status).toBe(404);
  });

  it('records index children without making them referrers', async () => {
    const a = randomImage({ architecture: 'amd64' });
    const b = randomImage({ architecture: 'arm64' });
    await pushImage(registry.url, 'multi', undefined, a);
    await pushImage(registry.url, 'multi', undefined, b);
    const idx = imageIndex([
      descriptorOf(a, { platform: { architecture: 'amd64', os: 'linux' } }),
      descriptorOf(b, { platform: { architecture: 'arm64', os: 'linux' } }),
    ]);
    await pushImage(registry.url, 'multi', 'latest', idx);
    await eventually(async () => {
      const snap = await graphSnapshot(tdb.url);
      const children = snap.edges.filter((e) => {
        const edge = e as { kind: string; repository: string };
        return edge.kind === 'index-child' && edge.repository === 'multi';
      });
      expect(children.map((e) => (e as { referrer_digest: string }).referrer_digest).sort()).toEqual(
        [a.digest, b.digest].sort(),
      );
    });
    expect(await referrerDigests(refgraph.url, 'multi', a.digest)).toEqual([]);
  });

  it('removes a deleted referrer', async () => {
    await deleteManifest(registry.url, 'demo', referrer);
    await eventually(async () =>
      expect(await referrerDigests(refgraph.url, 'demo', subject)).toEqual([bundle]),
    );
  });

  it('builds the same graph from the same events replayed twice, and in reverse order', async () => {
    await eventually(async () => expect(await pendingEvents(tdb.url)).toBe(0));
    const before = await graphSnapshot(tdb.url);
    expect(before.edges.length).toBeGreaterThan(0);
    const deliveries = [...forwarder.deliveries];
    const replay = async (base: string, list: typeof deliveries) => {
      for (const d of list) {
        const res = await fetch(`${base}/webhooks/local`, {
          method: 'POST',
          headers: forwardable(d.headers),
          body: d.body,
        });
        expect(res.status).toBeLessThan(300);
      }
    };
    await replay(refgraph.url, deliveries);
    await replay(refgraph.url, deliveries);
    await eventually(async () => expect(await pendingEvents(tdb.url)).toBe(0));
    expect(await graphSnapshot(tdb.url)).toEqual(before);

    // A second refgraph on an empty database, fed the same deliveries backwards, twice.
    const fresh = await createTestDatabase();
    const second = await startRefgraph(fresh.url, registryConfig(registry.url), env);
    try {
      await replay(second.url, [...deliveries].reverse());
      await replay(second.url, [...deliveries].reverse());
      await eventually(async () => expect(await pendingEvents(fresh.url)).toBe(0));
      expect(await graphSnapshot(fresh.url)).toEqual(before);
    } finally {
      await second.running.close();
      await fresh.drop();
    }
  });
});

describe('webhook intake', () => {
  const envelope = (events: unknown[]) => JSON.stringify({ events });
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${refgraph.url}/webhooks/local`, { method: 'POST', headers, body });
  const auth = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/vnd.docker.distribution.events.v1+json',
  };

  it('refuses unknown registries, wrong secrets, malformed and oversized bodies, storing nothing', async () => {
    await eventually(async () => expect(await pendingEvents(tdb.url)).toBe(0));
    const before = await graphSnapshot(tdb.url);
    const unknown = await fetch(`${refgraph.url}/webhooks/nosuch`, {
      method: 'POST',
      headers: auth,
      body: envelope([]),
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('registry_unknown');
    expect((await post(envelope([]), { ...auth, authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(envelope([]), { 'content-type': auth['content-type'] })).status).toBe(401);
    const malformed = await post('{"events": [', auth);
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { message: string } }).error.message.length).toBeGreaterThan(
      0,
    );
    expect((await post(envelope([]), { ...auth, 'content-type': 'text/plain' })).status).toBe(415);
    const huge = await post(`{"events":[],"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`, auth);
    expect(huge.status).toBe(413);
    expect(await pendingEvents(tdb.url)).toBe(0);
    expect(await graphSnapshot(tdb.url)).toEqual(before);
  });

  it('times every answer per route pattern and status class, never per raw URL', async () => {
    const series = async () => {
      const text = await (await fetch(`${refgraph.url}/metrics`)).text();
      const count = (labels: string) =>
        Number(
          new RegExp(`^refgraph_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm').exec(
            text,
          )?.[1] ?? 0,
        );
      return {
        accepted: count('method="POST",route="/webhooks/:registry",status="2xx"'),
        refused: count('method="POST",route="/webhooks/:registry",status="4xx"'),
        rawUrls: /refgraph_http_request_duration_seconds_count\{[^}]*route="\/webhooks\/local"/.test(text),
      };
    };
    const before = await series();
    expect((await post(envelope([]), auth)).status).toBe(202);
    expect((await post(envelope([]), auth)).status).toBe(202);
    expect((await post('{"events": [', auth)).status).toBe(400);
    const after = await series();
    expect(after.accepted - before.accepted).toBe(2);
    expect(after.refused - before.refused).toBe(1);
    expect(after.rawUrls).toBe(false);
  });
});

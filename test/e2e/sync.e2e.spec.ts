import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { attachArtifactToImage } from '@sigstore/oci';
import pg from 'pg';
import { RegistrySync, type RegistrySource, type SyncOptions } from '#ingest';
import {
  artifactManifest,
  createTestDatabase,
  deleteManifest,
  descriptorOf,
  imageIndex,
  pushImage,
  randomImage,
  startRegistry,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { syncCommand } from '../../apps/cli/src/commands/sync.js';
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

/**
 * A registry filled before refgraph ever saw it. Its notifications feed a second refgraph ("hooks",
 * its own database) through a recording forwarder; the refgraph under test ("synced") gets no
 * notifications and must build the same graph by walking the registry.
 */
const token = randomBytes(16).toString('hex');
const env = { E2E_HOOK_TOKEN: token };
/** The sync API is an admin route: the synced instance knows one admin token. */
const ADMIN_TOKEN = 'sync-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

let registry: TestRegistry;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
let hooksDb: TestDatabase;
let syncedDb: TestDatabase;
let hooks: StartedRefgraph;
let synced: StartedRefgraph;
let pushed = 0;
const fixture: Record<string, PushableContent> = {};

function registryConfig(url: string) {
  return {
    registries: [localDistribution(url, 'E2E_HOOK_TOKEN')],
  };
}

async function push(
  repo: string,
  tag: string | undefined,
  content: PushableContent,
): Promise<PushableContent> {
  await pushImage(registry.url, repo, tag, content);
  pushed++;
  return content;
}

const hex = (digest: string) => digest.slice('sha256:'.length);

/** The graph without event times: webhooks carry the registry's times, a sync its observation times. */
async function graphOf(db: TestDatabase) {
  const snap = await graphSnapshot(db.url);
  const strip = (rows: unknown[]) =>
    rows.map((r) => {
      const row = r as { deleted_at?: Date | null };
      // Times are when each side looked; whether a delete was seen is what must agree.
      return {
        ...row,
        event_at: undefined,
        ...('deleted_at' in row ? { deleted_at: row.deleted_at !== null } : {}),
      };
    });
  return { ...snap, locations: strip(snap.locations), tags: strip(snap.tags) };
}

async function hooksSettled(check: (present: number) => boolean) {
  await eventually(async () => {
    expect(await pendingEvents(hooksDb.url)).toBe(0);
    const snap = await graphSnapshot(hooksDb.url);
    const present = snap.locations.filter((l) => (l as { present: boolean }).present).length;
    expect(check(present)).toBe(true);
  });
}

interface Instrumented {
  fetched: number;
  /** Runs before each manifest fetch; may abort or hold the walk. */
  beforeFetch?: (repository: string, reference: string) => void;
  afterResolve?: (repository: string, tag: string) => Promise<void>;
}

function instrument(hooksIn: Instrumented) {
  return (s: RegistrySource): RegistrySource => ({
    fetchManifest: (repo, ref) => {
      hooksIn.beforeFetch?.(repo, ref);
      hooksIn.fetched++;
      return s.fetchManifest(repo, ref);
    },
    resolveTag: async (repo, tag) => {
      const digest = await s.resolveTag(repo, tag);
      await hooksIn.afterResolve?.(repo, tag);
      return digest;
    },
    manifestExists: (r, d) => s.manifestExists(r, d),
    listRepositories: () => s.listRepositories(),
    listTags: (r) => s.listTags(r),
    listReferrers: (r, d) => s.listReferrers(r, d),
  });
}

function syncer(probe: Instrumented): RegistrySync {
  const rt = synced.running.runtime;
  return new RegistrySync({
    catalog: rt.catalog,
    graph: rt.graph,
    registries: rt.registries,
    sync: rt.syncs,
    concurrency: 4,
    sourceFor: (e) => instrument(probe)(e.client),
  });
}

async function runSync(probe: Instrumented, opts: SyncOptions = {}) {
  return syncer(probe).run('local', opts);
}

async function tagOf(db: TestDatabase, repository: string, name: string): Promise<string | null | undefined> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ digest: string | null }>(
      `SELECT t.digest FROM tag t JOIN repository r ON r.id = t.repository_id WHERE r.name = $1 AND t.name = $2`,
      [repository, name],
    );
    return rows[0] === undefined ? undefined : rows[0].digest;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  hooksDb = await createTestDatabase();
  syncedDb = await createTestDatabase();
  let hooksUrl = '';
  forwarder = await startRecordingForwarder(() => hooksUrl);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: token,
  });
  hooks = await startRefgraph(hooksDb.url, registryConfig(registry.url), env);
  hooksUrl = hooks.url;

  // Images, an index over two of them, a referrer with subject listed by a tag-schema index (what an
  // OCI 1.1 client writes to a registry without the referrers API), a tagged referrer of that
  // referrer, a cosign-style `.sig` tag, and an attachment made by @sigstore/oci.
  const image = (fixture.image = await push('app', 'v1', randomImage()));
  const amd = await push('app', undefined, randomImage({ architecture: 'amd64' }));
  const arm = await push('app', undefined, randomImage({ architecture: 'arm64' }));
  fixture.index = await push(
    'app',
    'multi',
    imageIndex([
      descriptorOf(amd, { platform: { architecture: 'amd64', os: 'linux' } }),
      descriptorOf(arm, { platform: { architecture: 'arm64', os: 'linux' } }),
    ]),
  );
  const sbom = (fixture.sbom = await push(
    'app',
    undefined,
    artifactManifest({ subject: descriptorOf(image), artifactType: 'application/spdx+json' }),
  ));
  await push(
    'app',
    `sha256-${hex(image.digest)}`,
    imageIndex([descriptorOf(sbom, { artifactType: 'application/spdx+json' })]),
  );
  await push(
    'app',
    'sbom-signature',
    artifactManifest({ subject: descriptorOf(sbom), artifactType: 'application/vnd.cncf.notary.signature' }),
  );
  fixture.sig = await push(
    'app',
    `sha256-${hex(image.digest)}.sig`,
    artifactManifest({
      artifactType: SIMPLESIGNING,
      layers: [{ mediaType: SIMPLESIGNING, bytes: Buffer.from('{"critical":{}}') }],
    }),
  );
  const tool = await push('tools', 'latest', randomImage());
  await attachArtifactToImage({
    imageName: `${registry.host}/tools`,
    imageDigest: tool.digest,
    artifact: Buffer.from(JSON.stringify({ mediaType: BUNDLE_TYPE })),
    mediaType: BUNDLE_TYPE,
    annotations: {},
    credentials: undefined as never,
  });
  pushed += 2; // the bundle and the tag-schema index @sigstore/oci writes for it
  await hooksSettled((present) => present === pushed);

  synced = await startRefgraph(
    syncedDb.url,
    {
      ...registryConfig(registry.url),
      auth: {
        tokens: [
          { name: 'ops', sha256: createHash('sha256').update(ADMIN_TOKEN).digest('hex'), scopes: ['admin'] },
        ],
      },
    },
    env,
  );
}, 120_000);

afterAll(async () => {
  await synced?.running.close();
  await hooks?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await hooksDb?.drop();
  await syncedDb?.drop();
});

describe('sync of a registry refgraph never heard from', () => {
  it('resumes an interrupted run and ends with the graph webhooks built', async () => {
    const stop = new AbortController();
    const first: Instrumented = {
      fetched: 0,
      beforeFetch: () => {
        if (first.fetched === 3) stop.abort(new Error('stop'));
      },
    };
    const cut = await runSync(first, { signal: stop.signal });
    expect(cut.status).toBe('interrupted');
    expect(cut.summary.manifestsFetched).toBeLessThan(pushed);

    const second: Instrumented = { fetched: 0 };
    const rest = await runSync(second);
    expect(rest).toMatchObject({
      status: 'done',
      summary: { resumed: true, errors: 0, referrersApi: false },
    });
    // Nothing the interrupted run fetched (and wrote) was fetched again.
    expect(first.fetched + second.fetched).toBe(pushed);
    expect(await graphOf(syncedDb)).toEqual(await graphOf(hooksDb));
    const snap = await graphSnapshot(syncedDb.url);
    const kinds = new Set(snap.edges.map((e) => (e as { kind: string }).kind));
    expect([...kinds].sort()).toEqual(['cosign-tag', 'index-child', 'subject', 'tag-schema']);
  });

  it('fetches nothing again on the next run, and changes nothing', async () => {
    const before = await graphOf(syncedDb);
    const probe: Instrumented = { fetched: 0 };
    const res = await runSync(probe);
    expect(probe.fetched).toBe(0);
    expect(res.summary).toMatchObject({ resumed: false, manifestsFetched: 0, errors: 0 });
    expect(res.summary.manifestsSkipped).toBeGreaterThanOrEqual(pushed);
    expect(await graphOf(syncedDb)).toEqual(before);
  });

  it('reconcile turns a manifest deleted behind its back into the delete webhooks recorded', async () => {
    await deleteManifest(registry.url, 'app', fixture.sbom!.digest);
    await hooksSettled((present) => present === pushed - 1);
    const res = await runSync({ fetched: 0 }, { reconcile: true });
    expect(res.summary).toMatchObject({ deletes: 1, tagDeletes: 0, errors: 0 });
    expect(await graphOf(syncedDb)).toEqual(await graphOf(hooksDb));
  });

  it('reconcile notices a tag removed without any event', async () => {
    const tag = `sha256-${hex(fixture.image!.digest)}.sig`;
    // Straight from the registry's storage: Distribution 2.8 has no tag delete, and nothing is notified.
    await rm(join(registry.dir, 'data/docker/registry/v2/repositories/app/_manifests/tags', tag), {
      recursive: true,
    });
    expect(await tagOf(syncedDb, 'app', tag)).toBe(fixture.sig!.digest);
    const res = await runSync({ fetched: 0 }, { reconcile: true, repositories: ['app'] });
    expect(res.summary).toMatchObject({ deletes: 0, tagDeletes: 1, errors: 0 });
    expect(await tagOf(syncedDb, 'app', tag)).toBeNull();
    const snap = await graphSnapshot(syncedDb.url);
    expect(snap.edges.filter((e) => (e as { kind: string }).kind === 'cosign-tag')).toEqual([]);
    // The signature manifest itself is still in the registry, untagged, so it stays present.
    const sig = snap.locations.find((l) => (l as { digest: string }).digest === fixture.sig!.digest);
    expect(sig).toMatchObject({ present: true });
  });

  it('does not undo a newer webhook event with the older state it observed', async () => {
    const old = await push('app', 'moving', randomImage());
    await hooksSettled((present) => present === pushed - 1);
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const probe: Instrumented = {
      fetched: 0,
      afterResolve: async (_repo, tag) => {
        if (tag !== 'moving') return;
        reached();
        await gate;
      },
    };
    const running = runSync(probe, { reconcile: true, repositories: ['app'] });
    await atGate; // the reconcile has seen `moving` -> old

    const fresh = await push('app', 'moving', randomImage());
    const delivery = await eventually(() => {
      const d = forwarder.deliveries.find(
        (x) => x.body.toString().includes(fresh.digest) && x.body.toString().includes('"push"'),
      );
      expect(d).toBeDefined();
      return Promise.resolve(d!);
    });
    const res = await fetch(`${synced.url}/webhooks/local`, {
      method: 'POST',
      headers: forwardable(delivery.headers),
      body: delivery.body,
    });
    expect(res.status).toBeLessThan(300);
    await eventually(async () => expect(await tagOf(syncedDb, 'app', 'moving')).toBe(fresh.digest));

    release();
    const result = await running;
    expect(result).toMatchObject({ status: 'done', summary: { errors: 0 } });
    // The reconcile wrote `moving` -> old with the time it observed that, which is older than the
    // push the webhook delivered; written with the time of writing, it would have won.
    expect(await tagOf(syncedDb, 'app', 'moving')).toBe(fresh.digest);
    expect(old.digest).not.toBe(fresh.digest);
  });
});

describe('sync over the API and the CLI', () => {
  it('queues a sync job, answers 202 with its id, and reports the run', async () => {
    const res = await fetch(`${synced.url}/api/v1/registries/local/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({ repositories: ['tools'], reconcile: true }),
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    expect(jobId).toMatch(/^\d+$/);
    const state = await eventually(async () => {
      const r = await fetch(`${synced.url}/api/v1/registries/local/sync`, { headers: admin });
      const body = (await r.json()) as {
        lastRun: { jobId: string; status: string; repositories: string[]; summary: Record<string, unknown> };
      };
      expect(body.lastRun).toMatchObject({ jobId, status: 'done' });
      return body.lastRun;
    });
    expect(state.repositories).toEqual(['tools']);
    expect(state.summary).toMatchObject({ repositories: 1, manifestsFetched: 0, errors: 0, reconcile: true });
  });

  it('refuses unknown registries and malformed requests', async () => {
    const unknown = await fetch(`${synced.url}/api/v1/registries/nosuch/sync`, { headers: admin });
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${synced.url}/api/v1/registries/local/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({ repositories: ['Not A Name'] }),
    });
    expect(bad.status).toBe(400);
  });

  it('`refgraph sync` prints a summary and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'refgraph-cli-'));
    try {
      const file = join(dir, 'refgraph.yaml');
      await writeFile(file, JSON.stringify(registryConfig(registry.url)));
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      stdout.on('data', (c: Buffer) => out.push(c));
      stderr.on('data', (c: Buffer) => err.push(c));
      const code = await syncCommand(
        'local',
        { repository: ['tools'] },
        { stdout, stderr, env: { ...env, REFGRAPH_CONFIG: file, DATABASE_URL: syncedDb.url } },
      );
      const text = Buffer.concat(out).toString();
      expect({ code, stderr: Buffer.concat(err).toString() }).toEqual({
        code: 0,
        stderr: expect.any(String),
      });
      expect(text).toMatch(/^status\s+done$/m);
      expect(text).toMatch(/^repositories\s+1\/1$/m);
      expect(text).toMatch(/^manifests\s+0 fetched/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

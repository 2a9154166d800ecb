import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseConfig } from '#config';
import {
  RegistryCatalog,
  RegistrySync,
  SyncError,
  schedulePeriodicReconcile,
  type RegistrySource,
  type SyncResult,
} from '#ingest';
import { RegistryClient } from '#registry';
import {
  Database,
  GraphRepository,
  ReferrersRepository,
  RegistryRepository,
  SyncRepository,
  TrustRepository,
  VERIFY_TASK,
} from '#store';
import {
  createTestDatabase,
  imageManifest,
  indexManifest,
  referrerManifest,
  startHttpStub,
  type BuiltManifest,
  type HttpStub,
  type TestDatabase,
} from '#testing';

/**
 * A stand-in registry: the real one (Distribution 2.8) has no referrers API and cannot be made to
 * answer 429 with Retry-After or bursts of 5xx on cue, which is what these tests are about. The
 * ordinary walk against the real registry is in test/e2e/sync.e2e.spec.ts.
 */
interface Repo {
  tags: Map<string, string>;
  manifests: Map<string, BuiltManifest>;
}
type Fault = { status: number; headers?: Record<string, string> } | undefined;

class StandIn {
  readonly repos = new Map<string, Repo>();
  referrersApi = true;
  fault: (req: IncomingMessage) => Fault = () => undefined;
  /** Timestamps of requests, by method and path, to check pacing. */
  readonly log: Array<{ at: number; method: string; path: string; status: number }> = [];

  put(repo: string, m: BuiltManifest, tag?: string): BuiltManifest {
    const r = this.repos.get(repo) ?? { tags: new Map(), manifests: new Map() };
    this.repos.set(repo, r);
    r.manifests.set(m.digest, m);
    if (tag) r.tags.set(tag, m.digest);
    return m;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url!, 'http://stand-in');
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      this.log.push({ at: Date.now(), method: req.method!, path: url.pathname, status });
      const bytes = Buffer.isBuffer(body)
        ? body
        : body === undefined
          ? Buffer.alloc(0)
          : Buffer.from(JSON.stringify(body));
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': bytes.length,
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    };
    const fault = this.fault(req);
    if (fault) return send(fault.status, { errors: [{ code: 'TOOMANYREQUESTS' }] }, fault.headers);
    if (url.pathname === '/v2/_catalog') {
      return page(url, [...this.repos.keys()].sort(), (items, link) =>
        send(200, { repositories: items }, link),
      );
    }
    const m = /^\/v2\/(.+)\/(tags\/list|manifests|referrers)(?:\/(.+))?$/.exec(url.pathname);
    const repo = m ? this.repos.get(m[1]!) : undefined;
    if (!m || !repo) return send(404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    if (m[2] === 'tags/list') return send(200, { name: m[1], tags: [...repo.tags.keys()].sort() });
    if (m[2] === 'referrers') {
      if (!this.referrersApi) return send(404, { errors: [{ code: 'NOT_FOUND' }] });
      const listed = [...repo.manifests.values()]
        .filter((x) => x.parsed.subject?.digest === m[3])
        .map((x) => ({ ...x.descriptor, artifactType: x.parsed.artifactType }));
      return page(url, listed, (items, link) =>
        send(
          200,
          { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: items },
          link,
        ),
      );
    }
    const ref = m[3]!;
    const found = repo.manifests.get(repo.tags.get(ref) ?? ref);
    if (!found) return send(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    send(200, found.bytes, { 'content-type': found.mediaType, 'docker-content-digest': found.digest });
  };
}

/** One item per page, continued by Link, so every listing exercises pagination. */
function page<T>(url: URL, all: T[], reply: (items: T[], link: Record<string, string>) => void): void {
  const at = Number(url.searchParams.get('page') ?? '0');
  const next = new URL(url);
  next.searchParams.set('page', String(at + 1));
  reply(
    all.slice(at, at + 1),
    at + 1 < all.length ? { link: `<${next.pathname}${next.search}>; rel="next"` } : {},
  );
}

let stub: HttpStub;
let standIn: StandIn;
const opened: Array<{ tdb: TestDatabase; db: Database }> = [];

interface Store {
  db: Database;
  registries: RegistryRepository;
  syncs: SyncRepository;
  referrers: ReferrersRepository;
}

/** Artifacts are global by digest, so every scenario gets its own database unless it continues one. */
async function freshStore(): Promise<Store> {
  const tdb = await createTestDatabase();
  const db = new Database({ url: tdb.url, maxConnections: 12 });
  opened.push({ tdb, db });
  return {
    db,
    registries: new RegistryRepository(db),
    syncs: new SyncRepository(db),
    referrers: new ReferrersRepository(db),
  };
}

/** The graph's writes and reads as they are, counting lookups of stored content (a statement each). */
class CountingGraph extends GraphRepository {
  lookups = 0;

  override findManifest(digest: string) {
    this.lookups++;
    return super.findManifest(digest);
  }

  override findManifests(digests: readonly string[]) {
    this.lookups++;
    return super.findManifests(digests);
  }
}

interface SetupOptions {
  /** The graph repository to write through; a counting one over the store by default. */
  graph?: (db: Database) => CountingGraph;
  concurrency?: number;
  wrap?: (s: RegistrySource) => RegistrySource;
  store?: Store;
  checkpointIntervalMs?: number;
  /** Queue verification with the writes, as the service and the CLI do. */
  verify?: boolean;
}

async function setup(name: string, opts: SetupOptions = {}) {
  const store = opts.store ?? (await freshStore());
  const config = parseConfig(
    { registries: [{ name, kind: 'distribution', url: stub.url, webhook: { auth: { type: 'none' } } }] },
    {},
  );
  const [row] = await store.registries.upsertRegistries(config.registries);
  const client = new RegistryClient(config.registries[0]!);
  const catalog = new RegistryCatalog([{ id: row!.id, config: config.registries[0]!, client }]);
  const graph = opts.graph?.(store.db) ?? new CountingGraph(store.db);
  const sync = new RegistrySync({
    catalog,
    graph,
    registries: store.registries,
    sync: store.syncs,
    concurrency: opts.concurrency ?? 3,
    retries: 3,
    retryBaseDelayMs: 5,
    ...(opts.wrap ? { sourceFor: (e) => opts.wrap!(e.client) } : {}),
    ...(opts.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: opts.checkpointIntervalMs }),
    ...(opts.verify ? { trust: new TrustRepository(store.db) } : {}),
  });
  return { sync, registryId: row!.id, store, graph };
}

/** Delegates to the real client, with one method replaced. */
function withFetch(
  fetchManifest: (
    s: RegistrySource,
    repo: string,
    ref: string,
  ) => ReturnType<RegistrySource['fetchManifest']>,
) {
  return (s: RegistrySource): RegistrySource => ({
    fetchManifest: (r, ref) => fetchManifest(s, r, ref),
    resolveTag: (r, t) => s.resolveTag(r, t),
    manifestExists: (r, d) => s.manifestExists(r, d),
    listRepositories: () => s.listRepositories(),
    listTags: (r) => s.listTags(r),
    listReferrers: (r, d) => s.listReferrers(r, d),
  });
}

/** Requests the stand-in answered from `from` on, counted by method and kind of path. */
function requestsSince(from: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { method, path } of standIn.log.slice(from)) {
    const m = /^\/v2\/.+\/(manifests|referrers|tags\/list)\/?(.*)$/.exec(path);
    let kind = path === '/v2/_catalog' ? 'catalog' : (m?.[1] ?? path);
    if (m?.[1] === 'manifests') kind += m[2]!.startsWith('sha256:') ? '@digest' : ':tag';
    const key = `${method} ${kind}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const referrersOf = async (store: Store, registry: string, repository: string, subject: string) =>
  (await store.referrers.findReferrers({ registry, repository, subject, limit: 100 }))
    .map((r) => r.digest)
    .sort();

beforeAll(async () => {
  standIn = new StandIn();
  stub = await startHttpStub(standIn.handle);
  const image = standIn.put('app', imageManifest(), 'v1');
  const sbom = standIn.put('app', referrerManifest(image.descriptor, 'application/spdx+json'));
  standIn.put('app', referrerManifest(sbom.descriptor, 'application/vnd.dev.cosign.simplesigning.v1+json'));
  const a = standIn.put('multi', imageManifest());
  const b = standIn.put('multi', imageManifest());
  standIn.put('multi', indexManifest([a.descriptor, b.descriptor]), 'latest');
  standIn.put('zeta', imageManifest(), 'v1');
});

afterAll(async () => {
  await stub.stop();
  for (const { tdb, db } of opened) {
    await db.close();
    await tdb.drop();
  }
});

afterEach(() => {
  standIn.fault = () => undefined;
  standIn.referrersApi = true;
});

describe('RegistrySync against a registry with the referrers API', () => {
  let first: SyncResult;
  let firstRequests: Record<string, number>;
  let firstLookups: number;
  let store: Store;

  beforeAll(async () => {
    const { sync, store: s, graph } = await setup('api');
    store = s;
    const from = standIn.log.length;
    first = await sync.run('api');
    firstRequests = requestsSince(from);
    firstLookups = graph.lookups;
  });

  it('reads a registry it never synced with one GET per manifest and no HEAD', () => {
    // Catalog: 3 pages; tag lists: one per repository; tags by tag, the rest by digest (each
    // once); the referrers API once per manifest written.
    expect(firstRequests).toEqual({
      'GET catalog': 3,
      'GET tags/list': 3,
      'GET manifests:tag': 3,
      'GET manifests@digest': 4,
      'GET referrers': 7,
    });
    expect(first.summary).toMatchObject({ tags: 3, manifestsFetched: 7, manifestsSkipped: 0 });
    // Nothing of a repository without stored tags is looked up in the graph first: not the tags'
    // manifests, not the index's children, not the referrers the API lists.
    expect(firstLookups).toBe(0);
  });

  it('finds untagged referrers (and referrers of referrers) through the API, following Link', async () => {
    const [image, sbom, sig] = [...standIn.repos.get('app')!.manifests.values()];
    expect(await referrersOf(store, 'api', 'app', image!.digest)).toEqual([sbom!.digest]);
    expect(await referrersOf(store, 'api', 'app', sbom!.digest)).toEqual([sig!.digest]);
    expect(first.status).toBe('done');
    expect(first.summary).toMatchObject({
      repositories: 3,
      manifestsFetched: 7,
      errors: 0,
      referrersApi: true,
    });
  });

  it('remembers that the registry has the API', async () => {
    expect((await store.registries.findRegistryByName('api'))?.referrersApi).toBe(true);
  });

  it('fetches nothing the second time: tags are resolved with HEAD, content comes from the graph', async () => {
    const { sync, graph } = await setup('api', { store });
    const from = standIn.log.length;
    const again = await sync.run('api');
    expect(again.summary).toMatchObject({
      manifestsFetched: 0,
      manifestsSkipped: 7,
      manifestsWritten: 7,
      errors: 0,
    });
    const requests = requestsSince(from);
    expect(requests).toMatchObject({ 'HEAD manifests:tag': 3, 'HEAD manifests@digest': 2 });
    expect(Object.keys(requests).filter((k) => k.startsWith('GET manifests'))).toEqual([]);
    // Three tags, two referrers listed, and the index's two children in one lookup.
    expect(graph.lookups).toBe(6);
  });

  it('falls back to tags, and remembers, when the API answers 404', async () => {
    standIn.referrersApi = false;
    const { sync, store: s } = await setup('noapi');
    const res = await sync.run('noapi', { repositories: ['app'] });
    expect(res.summary.referrersApi).toBe(false);
    expect((await s.registries.findRegistryByName('noapi'))?.referrersApi).toBe(false);
    // Untagged referrers are invisible without the API or a tag-schema index listing them.
    expect(res.summary.manifestsWritten).toBe(1);
  });

  it('asks a registry without the API once per run, however many subjects are written at once', async () => {
    standIn.referrersApi = false;
    const { sync, store: s } = await setup('noapi-once', { concurrency: 4 });
    for (const expected of [null, false]) {
      expect((await s.registries.findRegistryByName('noapi-once'))?.referrersApi).toBe(expected);
      const from = standIn.log.length;
      const res = await sync.run('noapi-once');
      expect(res.summary).toMatchObject({ referrersApi: false, manifestsWritten: 5, errors: 0 });
      expect(requestsSince(from)['GET referrers']).toBe(1);
    }
  });

  it('lets the next subject ask when the first question of the run fails', async () => {
    let failures = 0;
    standIn.fault = (req) =>
      req.url!.includes('/referrers/') && failures++ < 4 ? { status: 500 } : undefined;
    const { sync } = await setup('probe-fails', { concurrency: 1 });
    const res = await sync.run('probe-fails');
    expect(res.status).toBe('done');
    // app's image could not be asked (so its referrers were not found); the next subject was.
    expect(res.summary).toMatchObject({ errors: 1, referrersApi: true, manifestsWritten: 5 });
    expect(res.summary.errorSamples[0]).toMatchObject({ repository: 'app', code: 'unavailable' });
  });
});

describe('RegistrySync against a registry that pushes back', () => {
  it('waits out 429 Retry-After for every request, retries 5xx bursts, and reports both', async () => {
    let catalogCalls = 0;
    let manifestFailures = 0;
    standIn.fault = (req) => {
      if (req.url!.startsWith('/v2/_catalog') && catalogCalls++ === 0)
        return { status: 429, headers: { 'retry-after': '1' } };
      if (req.method === 'GET' && req.url!.includes('/manifests/') && manifestFailures < 3) {
        manifestFailures++;
        return { status: 503 };
      }
      return undefined;
    };
    const { sync } = await setup('busy');
    const res = await sync.run('busy');
    expect(res.status).toBe('done');
    expect(res.summary).toMatchObject({ errors: 0, rateLimited: 1, manifestsFetched: 7 });
    expect(res.summary.retries).toBe(4);
    const limited = standIn.log.find((l) => l.status === 429)!;
    const next = standIn.log.find((l) => l.at >= limited.at && l !== limited)!;
    expect(next.at - limited.at).toBeGreaterThanOrEqual(950);
  });

  it('reports a manifest that keeps failing, and still writes the rest', async () => {
    const zeta = [...standIn.repos.get('zeta')!.manifests.keys()][0]!;
    const zetaManifest = (url: string) =>
      url.endsWith(`/zeta/manifests/${zeta}`) || url.endsWith('/zeta/manifests/v1');
    standIn.fault = (req) => (zetaManifest(req.url!) && req.method === 'GET' ? { status: 500 } : undefined);
    const { sync } = await setup('broken');
    const res = await sync.run('broken');
    expect(res.status).toBe('done');
    expect(res.summary.errors).toBe(1);
    expect(res.summary.errorSamples[0]).toMatchObject({
      repository: 'zeta',
      reference: 'v1',
      code: 'unavailable',
    });
    expect(res.summary.retries).toBe(3);
    expect(res.summary.manifestsFetched).toBe(6);
  });

  it('ends failed, without writing anything, when the catalog cannot be read', async () => {
    standIn.fault = (req) => (req.url!.startsWith('/v2/_catalog') ? { status: 502 } : undefined);
    const { sync, registryId, store } = await setup('down');
    const res = await sync.run('down');
    expect(res).toMatchObject({ status: 'failed', summary: { errors: 1, manifestsWritten: 0 } });
    expect(await store.syncs.findState(registryId)).toMatchObject({ status: 'failed' });
  });

  it('does not delete what it cannot ask about', async () => {
    const { sync, store } = await setup('flaky');
    await sync.run('flaky');
    const zeta = standIn.repos.get('zeta')!;
    const [digest] = [...zeta.manifests.keys()];
    zeta.tags.delete('v1');
    try {
      standIn.fault = (req) =>
        req.method === 'HEAD' && req.url!.includes('/zeta/') ? { status: 503 } : undefined;
      const res = await sync.run('flaky', { reconcile: true, repositories: ['zeta'] });
      expect(res.summary).toMatchObject({ deletes: 0, tagDeletes: 0, errors: 2 });
      standIn.fault = () => undefined;
      const ok = await sync.run('flaky', { reconcile: true, repositories: ['zeta'] });
      // The manifest is still there (untagged), the tag is not.
      expect(ok.summary).toMatchObject({ deletes: 0, tagDeletes: 1, errors: 0 });
      const { rows } = await store.db.pool.query(`SELECT present FROM artifact_location WHERE digest = $1`, [
        digest,
      ]);
      expect(rows).toEqual([{ present: true }]);
    } finally {
      zeta.tags.set('v1', digest!);
    }
  });
});

describe('RegistrySync runs and resumes', () => {
  it('resumes after an interruption from the last finished repository', async () => {
    const stop = new AbortController();
    const wrap = withFetch((s, repo, ref) => {
      if (repo === 'multi') stop.abort(new Error('stop'));
      return s.fetchManifest(repo, ref);
    });
    const { sync, registryId, store } = await setup('resume', { concurrency: 1, wrap });
    const cut = await sync.run('resume', { signal: stop.signal });
    expect(cut.status).toBe('interrupted');
    expect(await store.syncs.findState(registryId)).toMatchObject({
      status: 'interrupted',
      resumeAfter: 'app',
    });

    const before = standIn.log.length;
    const { sync: again } = await setup('resume', { concurrency: 1, store });
    const rest = await again.run('resume');
    expect(rest).toMatchObject({
      status: 'done',
      summary: { resumed: true, resumeAfter: 'app', repositoriesTotal: 2 },
    });
    const paths = standIn.log.slice(before).map((l) => l.path);
    expect(paths.some((p) => p.startsWith('/v2/app/'))).toBe(false);
    // The manifest fetched when the stop came was written, so nothing was fetched twice.
    expect(cut.summary.manifestsFetched + rest.summary.manifestsFetched).toBe(7);
    const idx = [...standIn.repos.get('multi')!.manifests.values()].find((x) => x.parsed.isIndex)!;
    const children = await store.db.pool.query(
      `SELECT 1 FROM edge WHERE subject_digest = $1 AND kind = 'index-child'`,
      [idx.digest],
    );
    expect(children.rowCount).toBe(2);

    // Finished: the next run starts from the beginning again.
    const fresh = await again.run('resume');
    expect(fresh.summary).toMatchObject({ resumed: false, repositoriesTotal: 3, manifestsFetched: 0 });
  });

  it('stores the last finished repository when the run stops, also when its checkpoint was held back', async () => {
    const stop = new AbortController();
    const wrap = withFetch((s, repo, ref) => {
      if (repo === 'zeta') stop.abort(new Error('stop'));
      return s.fetchManifest(repo, ref);
    });
    const { sync, registryId, store } = await setup('held', {
      concurrency: 1,
      wrap,
      checkpointIntervalMs: 60_000,
    });
    const saved: Array<string | null> = [];
    const save = store.syncs.saveProgress.bind(store.syncs);
    store.syncs.saveProgress = (id, run, resumeAfter, summary) => {
      saved.push(resumeAfter);
      return save(id, run, resumeAfter, summary);
    };
    const cut = await sync.run('held', { signal: stop.signal });
    expect(cut.status).toBe('interrupted');
    // The first finished repository is written at once, `multi` only when the run ends.
    expect(saved).toEqual(['app', 'multi']);
    expect(await store.syncs.findState(registryId)).toMatchObject({
      status: 'interrupted',
      resumeAfter: 'multi',
    });
  });

  it('finishes a repository only once its writes are stored: one that fails, fails the run there', async () => {
    const store = await freshStore();
    const { registryId } = await setup('lost-writes', { store });
    const multi = await store.registries.ensureRepository(registryId, 'multi');
    class FailingGraph extends CountingGraph {
      override applyPushes(inputs: Parameters<GraphRepository['applyPushes']>[0]) {
        if (inputs.some((p) => p.repositoryId === multi))
          return Promise.reject(new Error('connection terminated'));
        return super.applyPushes(inputs);
      }
    }
    const { sync } = await setup('lost-writes', {
      store,
      concurrency: 1,
      graph: (db) => new FailingGraph(db),
    });
    await expect(sync.run('lost-writes')).rejects.toThrow('connection terminated');
    expect(await store.syncs.findState(registryId)).toMatchObject({
      status: 'failed',
      resumeAfter: 'app',
      error: 'connection terminated',
    });
  });

  it('ends failed and rethrows on a database or programming error, and the next run resumes', async () => {
    const wrap = withFetch((s, repo, ref) =>
      repo === 'zeta' ? Promise.reject(new TypeError('boom')) : s.fetchManifest(repo, ref),
    );
    const { sync, registryId, store } = await setup('crash', { concurrency: 1, wrap });
    await expect(sync.run('crash')).rejects.toThrow('boom');
    expect(await store.syncs.findState(registryId)).toMatchObject({
      status: 'failed',
      resumeAfter: 'multi',
      error: 'boom',
    });
    const { sync: again } = await setup('crash', { concurrency: 1, store });
    expect(await again.run('crash')).toMatchObject({
      status: 'done',
      summary: { resumed: true, repositoriesTotal: 1 },
    });
  });

  it('admits one run per registry at a time', async () => {
    const { sync, registryId, store } = await setup('locked');
    const held = (await store.syncs.tryLock(registryId))!;
    try {
      await expect(sync.run('locked')).rejects.toBeInstanceOf(SyncError);
      await expect(sync.run('locked')).rejects.toMatchObject({ code: 'busy' });
    } finally {
      await held.release();
    }
    expect((await sync.run('locked')).status).toBe('done');
  });

  it('queues verification of every signature, attestation and SBOM it writes, once each', async () => {
    const { sync, store } = await setup('verified', { verify: true });
    expect((await sync.run('verified')).status).toBe('done');
    const { rows: trustKinds } = await store.db.pool.query<{ digest: string }>(
      `SELECT digest FROM artifact WHERE kind IN ('signature', 'attestation', 'sbom') ORDER BY digest`,
    );
    const { rows: jobs } = await store.db.pool.query<{ digest: string }>(
      `SELECT j.payload->>'digest' AS digest FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE t.identifier = $1 ORDER BY 1`,
      [VERIFY_TASK],
    );
    expect(trustKinds.length).toBeGreaterThan(0);
    expect(jobs).toEqual(trustKinds);
  });

  it('refuses a registry that is not configured', async () => {
    const { sync } = await setup('known');
    await expect(sync.run('unknown')).rejects.toMatchObject({ code: 'registry_unknown' });
  });
});

describe('periodic reconcile', () => {
  it('keeps one pending keyed job per registry however many workers schedule it', async () => {
    const store = await freshStore();
    await schedulePeriodicReconcile(store.syncs, ['a', 'b'], 3600);
    await schedulePeriodicReconcile(store.syncs, ['a', 'b'], 60);
    const { rows } = await store.db.pool.query<{
      key: string;
      queue: string;
      payload: unknown;
      later: boolean;
    }>(
      `SELECT j.key, j.queue_name AS queue, p.payload, j.run_at > now() + interval '30 minutes' AS later
       FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p ON p.id = j.id
       WHERE j.task_identifier = 'registry_sync' ORDER BY j.key`,
    );
    expect(rows).toEqual([
      {
        key: 'reconcile:a',
        queue: 'sync:a',
        payload: { registry: 'a', reconcile: true, periodic: true },
        later: true,
      },
      {
        key: 'reconcile:b',
        queue: 'sync:b',
        payload: { registry: 'b', reconcile: true, periodic: true },
        later: true,
      },
    ]);
  });
});

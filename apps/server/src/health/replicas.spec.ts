// The read model against a real streaming replica (libs/testing/src/streaming-replica.ts): reads
// go to the standby while it keeps up, leave it while its replay is paused, it is frozen (SIGSTOP:
// a read is given up on at the configured bound) or it is stopped, and stay correct throughout
// because the primary answers then. A frozen primary gets no answer either: verdicts and the
// Gatekeeper provider then fail closed.
import { pino } from 'pino';
import { parseConfig } from '#config';
import {
  Database,
  GraphRepository,
  ReadRepository,
  ReferrersRepository,
  RegistryRepository,
  TrustRepository,
} from '#store';
import {
  imageManifest,
  kindOf,
  referrerManifest,
  startStreamingPair,
  type BuiltManifest,
  type StreamingPair,
} from '#testing';
import { createApp, type RunningApp } from '../app.js';
import { LoaderFactory } from '../graphql/context.js';

const MAX_LAG_SECONDS = 1;
/** The read bounds under test (database.reads); the client-side one is what a frozen server meets. */
const READS = { statementTimeoutMs: 500, answerTimeoutMs: 1000 };
let pair: StreamingPair;
let running: RunningApp;
let primary: Database;
let standby: Database;
let primaryRead: ReadRepository;
let primaryReferrers: ReferrersRepository;
let push: (repo: string, m: BuiltManifest) => Promise<void>;
const subjects: string[] = [];

/** Polls `probe` until it returns true, failing after a deadline (no fixed sleeps). */
async function until(what: string, probe: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const replicas = () => running.runtime.replicas!;
const replica = () => replicas().status()[0]!;

let base: string;

async function get(path: string): Promise<{ statusCode: number; text: string }> {
  const res = await fetch(`${base}${path}`);
  return { statusCode: res.status, text: await res.text() };
}

async function post(path: string, body: unknown): Promise<{ statusCode: number; body: Record<string, any> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { statusCode: res.status, body: (await res.json()) as Record<string, any> };
}

async function readyz(): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const res = await get('/readyz');
  return { statusCode: res.statusCode, body: JSON.parse(res.text) as Record<string, unknown> };
}

/** Pushes an image with two referrers on the primary; returns the image digest. */
async function pushGraph(): Promise<string> {
  const image = imageManifest();
  await push('app', image);
  await push('app', referrerManifest(image.descriptor, 'application/vnd.example.sbom'));
  await push('app', referrerManifest(image.descriptor, 'application/vnd.example.sig'));
  subjects.push(image.digest);
  return image.digest;
}

/** The read model's answers for every pushed subject, through the given repositories. */
async function answers(read: ReadRepository, referrers: ReferrersRepository) {
  return Promise.all(
    subjects.map(async (subject) => ({
      artifacts: await read.findArtifacts(undefined, [subject]),
      tree: await read.findReferrerTree(undefined, { subjects: [subject], depth: 2, limit: 50 }),
      referrers: await referrers.findReferrers({ registry: 'local', repository: 'app', subject, limit: 50 }),
    })),
  );
}

/** The standby has replayed a commit of the primary's last artifact. */
async function standbyHas(digest: string): Promise<boolean> {
  const { rowCount } = await standby.pool.query('SELECT 1 FROM artifact WHERE digest = $1', [digest]);
  return rowCount === 1;
}

beforeAll(async () => {
  pair = await startStreamingPair();
  primary = new Database({ url: pair.primaryUrl, maxConnections: 4 });
  standby = new Database({ url: pair.standbyUrl, maxConnections: 2 });
  primaryRead = new ReadRepository(primary);
  primaryReferrers = new ReferrersRepository(primary);
  const config = parseConfig(
    {
      registries: [
        {
          name: 'local',
          kind: 'distribution',
          url: 'http://127.0.0.1:1',
          webhook: { auth: { type: 'none' } },
        },
      ],
      server: { port: 0, host: '127.0.0.1' },
      worker: { enabled: false },
      policies: [{ name: 'sbom', sbom: true }],
      // Checks run when a test asks (replicas().check()): no background check races the reads.
      database: {
        readReplicas: { maxLagSeconds: MAX_LAG_SECONDS, checkIntervalMs: 600_000 },
        reads: READS,
      },
    },
    { DATABASE_READ_URLS: pair.standbyUrl },
  );
  running = await createApp({
    config,
    databaseUrl: pair.primaryUrl,
    logger: pino({ level: 'silent' }),
    role: 'api',
  });
  base = await running.listen();
  const registries = new RegistryRepository(primary);
  const graph = new GraphRepository(primary);
  const [row] = await registries.upsertRegistries([
    { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:1' },
  ]);
  push = async (repo, m) => {
    const id = await registries.ensureRepository(row!.id, repo);
    await graph.applyPush({
      repositoryId: id,
      manifest: m.parsed,
      kind: kindOf(m),
      bytes: m.bytes,
      eventAt: new Date(),
    });
  };
}, 180_000);

afterAll(async () => {
  await running?.close();
  await primary?.close();
  await standby?.close().catch(() => undefined);
  await pair?.destroy();
}, 60_000);

describe('read replicas', () => {
  it('answer from the standby once it has caught up, equal to the primary', async () => {
    const last = await pushGraph();
    await until('the standby to replay the push', () => standbyHas(last));
    await until('the replica in rotation at lag 0', async () => {
      await replicas().check();
      return replica().inRotation && replica().lagSeconds === 0;
    });
    const before = {
      replica: replicas().replicaQueries()[replica().name]!,
      primary: replicas().primaryQueries,
    };
    const fromReplica = await answers(running.runtime.read, running.runtime.referrers);
    const expected = await answers(primaryRead, primaryReferrers);
    expect(fromReplica).toEqual(expected);
    expect(expected[0]!.referrers).toHaveLength(2);
    // Every statement of the three reads went to the standby, none to the primary.
    expect(replicas().replicaQueries()[replica().name]! - before.replica).toBe(3);
    expect(replicas().primaryQueries - before.primary).toBe(0);

    // Subscriptions read what a NOTIFY announced: from the primary, not from a replica in rotation.
    const loaders = running.app!.get(LoaderFactory, { strict: false });
    const sub = loaders.reader({ subscription: true, socketScope: { scope: undefined } });
    const atReplica = replicas().replicaQueries()[replica().name]!;
    expect((await sub.graph.artifacts([last])).map((a) => a.digest)).toEqual([last]);
    expect(replicas().replicaQueries()[replica().name]!).toBe(atReplica);

    const ready = await readyz();
    expect(ready.statusCode).toBe(200);
    expect(ready.body.replicas).toEqual([{ name: replica().name, lagSeconds: 0, inRotation: true }]);
    const metrics = await get('/metrics');
    expect(metrics.text).toContain(`refgraph_read_replica_in_rotation{replica="${replica().name}"} 1`);
    expect(metrics.text).toContain(`refgraph_read_replica_lag_seconds{replica="${replica().name}"} 0`);
  });

  it('take a standby with paused replay out of rotation, and back once it catches up', async () => {
    await standby.pool.query('SELECT pg_wal_replay_pause()');
    try {
      const last = await pushGraph();
      await until('the paused replica out of rotation', async () => {
        await replicas().check();
        return !replica().inRotation;
      });
      expect(replica().lagSeconds).toBeGreaterThan(MAX_LAG_SECONDS);
      expect(await standbyHas(last)).toBe(false);
      const before = {
        replica: replicas().replicaQueries()[replica().name]!,
        primary: replicas().primaryQueries,
      };
      // The primary answers, including the push the standby has not replayed.
      expect(await answers(running.runtime.read, running.runtime.referrers)).toEqual(
        await answers(primaryRead, primaryReferrers),
      );
      expect(replicas().replicaQueries()[replica().name]!).toBe(before.replica);
      expect(replicas().primaryQueries - before.primary).toBe(3 * subjects.length);
      const ready = await readyz();
      expect(ready.statusCode).toBe(200);
      expect(ready.body.replicas).toEqual([
        expect.objectContaining({ name: replica().name, inRotation: false }),
      ]);
    } finally {
      await standby.pool.query('SELECT pg_wal_replay_resume()');
    }
    await until('the resumed replica back in rotation', async () => {
      await replicas().check();
      return replica().inRotation;
    });
    const before = replicas().replicaQueries()[replica().name]!;
    expect(await answers(running.runtime.read, running.runtime.referrers)).toEqual(
      await answers(primaryRead, primaryReferrers),
    );
    expect(replicas().replicaQueries()[replica().name]! - before).toBe(3 * subjects.length);
  });

  it('give a frozen standby up after one bounded read, answer from the primary, and take it back after SIGCONT', async () => {
    await until('the replica in rotation', async () => {
      await replicas().check();
      return replica().inRotation;
    });
    const expected = await answers(primaryRead, primaryReferrers);
    const atSummary = replicas().replicaQueries()[replica().name]!;
    const summary = await get(`/api/v1/artifacts/${subjects[0]}`);
    expect(summary.statusCode).toBe(200);
    // The statements of one summary (sent at once), all answered by the standby in rotation.
    const statements = replicas().replicaQueries()[replica().name]! - atSummary;
    expect(statements).toBeGreaterThan(0);
    const before = {
      replica: replicas().replicaQueries()[replica().name]!,
      primary: replicas().primaryQueries,
    };
    expect(await pair.freeze('standby')).toBeGreaterThan(1);
    try {
      const started = Date.now();
      const frozenSummary = await get(`/api/v1/artifacts/${subjects[0]}`);
      process.stdout.write(`frozen standby: answered in ${Date.now() - started} ms\n`);
      // The same answer, from the primary: the summary's statements went to the frozen standby,
      // were given up on at the client-side bound, and were repeated on the primary.
      expect(frozenSummary).toEqual(summary);
      expect(replicas().replicaQueries()[replica().name]! - before.replica).toBe(statements);
      expect(replicas().primaryQueries - before.primary).toBe(statements);
      expect(replica().inRotation).toBe(false);
      expect(replica().reason).toBe('failed a read: no answer within the read bounds');
      expect(await answers(running.runtime.read, running.runtime.referrers)).toEqual(expected);
      expect(replicas().replicaQueries()[replica().name]! - before.replica).toBe(statements);
      // A check while it is frozen keeps it out.
      await replicas().check();
      expect(replica()).toEqual(expect.objectContaining({ inRotation: false, lagSeconds: null }));
      expect(replica().reason).toMatch(/^unreachable/);
      const ready = await readyz();
      expect(ready.statusCode).toBe(200);
      expect(ready.body.replicas).toEqual([
        expect.objectContaining({ name: replica().name, inRotation: false }),
      ]);
      expect((await get('/metrics')).text).toContain(
        `refgraph_read_replica_in_rotation{replica="${replica().name}"} 0`,
      );
    } finally {
      await pair.thaw('standby');
    }
    await until('the thawed replica back in rotation', async () => {
      await replicas().check();
      return replica().inRotation;
    });
    const back = replicas().replicaQueries()[replica().name]!;
    expect(await answers(running.runtime.read, running.runtime.referrers)).toEqual(expected);
    expect(replicas().replicaQueries()[replica().name]! - back).toBe(3 * subjects.length);
    expect((await readyz()).body.replicas).toEqual([
      expect.objectContaining({ name: replica().name, inRotation: true }),
    ]);
  });

  it('fall back to the primary without errors when the standby is stopped', async () => {
    await standby.close();
    await pair.stopStandby();
    await pushGraph();
    // Before the next check notices, a read sent to the stopped standby is answered by the primary.
    const expected = await answers(primaryRead, primaryReferrers);
    expect(await answers(running.runtime.read, running.runtime.referrers)).toEqual(expected);
    await replicas().check();
    expect(replica()).toEqual(expect.objectContaining({ inRotation: false, lagSeconds: null }));
    expect(replica().reason).toMatch(/^unreachable/);
    const before = replicas().primaryQueries;
    expect(await answers(running.runtime.read, running.runtime.referrers)).toEqual(expected);
    expect(replicas().primaryQueries - before).toBe(3 * subjects.length);
    const ready = await readyz();
    expect(ready.statusCode).toBe(200);
    expect(ready.body.database).toBe(true);
  });

  it('fail verdicts and Gatekeeper answers closed while the primary is frozen, and answer again after', async () => {
    // The standby is stopped (above): every read goes to the primary.
    const image = imageManifest();
    const sbom = referrerManifest(image.descriptor, 'application/spdx+json');
    await push('app', image);
    await push('app', sbom);
    await new TrustRepository(primary).upsertSbom({
      artifactDigest: sbom.digest,
      layerDigest: '',
      subjectDigest: image.digest,
      format: 'spdx',
      specVersion: 'SPDX-2.3',
      name: 'app',
      parseError: null,
      packages: [],
    });
    const verdict = () =>
      post('/api/v1/verdict', { policy: 'sbom', subjects: [`local/app@${image.digest}`] });
    const gatekeeper = () =>
      post('/api/v1/gatekeeper/sbom', {
        apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
        kind: 'ProviderRequest',
        request: { keys: [`127.0.0.1:1/app@${image.digest}`] },
      });
    const graphql = () => post('/graphql', { query: `{ artifact(digest: "${image.digest}") { digest } }` });
    // Allowed while the primary answers.
    expect(await verdict()).toMatchObject({ statusCode: 200, body: { allowed: true } });
    const allowed = await gatekeeper();
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body.response).toMatchObject({
      systemError: '',
      items: [{ value: { allowed: true } }],
    });

    expect(await pair.freeze('primary')).toBeGreaterThan(1);
    try {
      // No answer from the database is no verdict: a 503 the policy engines deny on.
      const refused = await verdict();
      expect(refused.statusCode).toBe(503);
      expect(refused.body).toEqual({
        error: expect.objectContaining({ code: 'unavailable' }),
      });
      expect(JSON.stringify(refused.body)).not.toContain('allowed');
      // Gatekeeper: the whole request is a systemError (the constraint template denies on it),
      // with no item for any key.
      const provider = await gatekeeper();
      expect(provider.statusCode).toBe(200);
      expect(provider.body.response.items).toEqual([]);
      expect(provider.body.response.systemError).toMatch(
        /^refgraph could not answer in time: primary gave no answer/,
      );
      const gql = await graphql();
      expect(
        (gql.body.errors as Array<{ extensions: { code: string } }>).map((e) => e.extensions.code),
      ).toEqual(['UNAVAILABLE']);
    } finally {
      await pair.thaw('primary');
    }
    await until('verdicts answered again', async () => (await verdict()).statusCode === 200);
    expect(await verdict()).toMatchObject({ statusCode: 200, body: { allowed: true } });
  });
});

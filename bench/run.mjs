// npm run bench: builds, then measures refgraph against baselines in the same run on the same
// machine and rewrites the measured section of bench/RESULTS.md. Knobs (environment):
//   BENCH_SIZES=10000,100000,1000000   graph sizes in artifacts (the largest gets every scenario)
//   BENCH_DURATION=10                  seconds per measured run (after a 2 s warm-up)
//   BENCH_CONNECTIONS=50               concurrent connections
//   BENCH_REGISTRY_SUBJECTS=300        tag-schema indexes pushed to the real registry
//   BENCH_SYNC_MANIFESTS=5000          manifests in the registry that `refgraph sync` walks
//   BENCH_DATABASE_URL=postgres://...  a database the bench may wipe (default: embedded Postgres)
//   BENCH_NO_WRITE=1                   print results without rewriting RESULTS.md
//   BENCH_SKIP_BUILD=1                 measure dist/ as it is
//   BENCH_REPLICA_SIZE=10000           artifacts for the read-replica scenario (default: smallest size)
//   BENCH_ONLY=reads,e2e,sync,accept,replica   only these scenario groups; implies
//                                      BENCH_NO_WRITE, for iterating on one part
//   BENCH_PROFILE=dir                  refgraph processes write V8 CPU profiles (--cpu-prof) there
// refgraph runs with the heap settings of the container image (the Dockerfile's NODE_OPTIONS).
// All traffic goes to 127.0.0.1; every load run is bounded by BENCH_DURATION.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateGraph, hotKeys, sampleKeys, dropSeeds } from './lib/generate.mjs';
import { pick, runLoad, runLoadPair } from './lib/load.mjs';
import { freePort } from './lib/net.mjs';
import { alternateSerially, distributionEnvelopes } from './lib/serial-sender.mjs';
import { migrate, serialCommitRate, startDatabase } from './lib/postgres.mjs';
import { startNodeServer } from './lib/proc.mjs';
import {
  registryStorage,
  referrerContent,
  startRegistryProcess,
  OCI_INDEX,
  OCI_MANIFEST,
} from './lib/registry.mjs';
import {
  countStatements,
  explainReferrers,
  gatekeeperKeysResolve,
  sameAnswers,
  sameAsRegistry,
  sameRestAnswers,
  sameViewBytes,
  waitForEvents,
  webhookRequests,
} from './lib/checks.mjs';
import { writeResults } from './lib/report.mjs';
import { measureSync } from './lib/sync.mjs';
import { measureStandby, requireStandbyBinaries } from './lib/standby.mjs';
import { imageNodeOptions } from './lib/heap.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,1000000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n >= 1000)
  .sort((a, b) => a - b);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const REGISTRY_SUBJECTS = Number(process.env.BENCH_REGISTRY_SUBJECTS ?? 300);
const SYNC_MANIFESTS = Number(process.env.BENCH_SYNC_MANIFESTS ?? 5000);
const GROUPS = ['reads', 'e2e', 'sync', 'accept', 'replica'];
const ONLY = process.env.BENCH_ONLY
  ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim()))
  : new Set(GROUPS);
const runs = (group) => ONLY.has(group);
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** Node flags for refgraph's own processes: a CPU profile each when BENCH_PROFILE names a directory. */
const nodeFlags = [
  ...imageNodeOptions(),
  ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
];
const GATEKEEPER_KEYS = 100;
const GRAPHQL_PAGE = 50;
const POLICY = 'admission';
const TOKEN = randomBytes(16).toString('hex');
const started = Date.now();
const log = (m) =>
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${m}\n`);

const cleanups = [];
const results = {
  sizes: SIZES,
  duration: DURATION,
  connections: CONNECTIONS,
  scaling: [],
  runs: {},
  checks: [],
  explain: {},
  machine: undefined,
};

/**
 * The service is measured as compiled to dist/. tsc still emits when another part of the tree
 * has type errors, so a failed build is reported and the run goes on if dist/ has the server.
 * The test harness's streaming-replica helper is compiled to dist/bench (npm run build:bench).
 */
function build() {
  if (process.env.BENCH_SKIP_BUILD) return 'skipped (BENCH_SKIP_BUILD)';
  log('npm run build:bench');
  const helper = spawnSync('npm', ['run', 'build:bench'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (helper.status !== 0 && !existsSync('dist/bench/libs/testing/src/streaming-replica.js'))
    throw new Error(`build:bench failed:\n${helper.stdout}\n${helper.stderr}`);
  log('npm run build');
  const r = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return 'ok';
  const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l));
  if (!existsSync('dist/apps/server/src/main.js')) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
  log(
    `build reported ${errors.length} type errors; measuring dist/ as emitted:\n  ${errors.slice(0, 5).join('\n  ')}`,
  );
  return `type errors elsewhere in the tree (${errors.length}); dist/ as emitted was measured`;
}

async function main() {
  if (!SIZES.length) throw new Error('BENCH_SIZES names no size of at least 1000 artifacts');
  results.build = build();
  if (runs('replica')) await requireStandbyBinaries();
  const db = await startDatabase(log);
  cleanups.push(() => db.stop());
  log(`database: ${db.embedded ? 'embedded Postgres' : 'BENCH_DATABASE_URL'}`);
  await migrate(db.url);
  const clients = [new pg.Client({ connectionString: db.url }), new pg.Client({ connectionString: db.url })];
  for (const c of clients) await c.connect();
  cleanups.push(() => Promise.all(clients.map((c) => c.end().catch(() => undefined))));
  const sql = clients[0];

  const servicePort = await freePort();
  const barePort = await freePort();
  const storage = await registryStorage();
  cleanups.push(() => storage.remove());
  let registry = await startRegistryProcess({
    storageDir: storage.dir,
    notifyUrl: `http://127.0.0.1:${servicePort}/webhooks/bench`,
    notifyToken: TOKEN,
  });
  cleanups.push(() => registry.stop());

  const dir = await mkdtemp(join(tmpdir(), 'refgraph-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  // A registry for the sync scenario, without notifications: sync builds the graph from what it holds.
  const syncStorage = await registryStorage();
  cleanups.push(() => syncStorage.remove());
  const syncRegistry = await startRegistryProcess({ storageDir: syncStorage.dir });
  cleanups.push(() => syncRegistry.stop());

  const configPath = join(dir, 'refgraph.yaml');
  // JSON is YAML.
  await writeFile(
    configPath,
    JSON.stringify({
      // The limiter would measure itself: one load generator is one client.
      server: { host: '127.0.0.1', port: servicePort, logLevel: 'warn', rateLimitPerMinute: 0 },
      worker: { concurrency: 8, pollIntervalMs: 1000 },
      sync: { concurrency: 8 },
      registries: [
        {
          name: 'bench',
          kind: 'distribution',
          url: registry.url,
          webhook: { auth: { type: 'bearer', tokenEnv: 'BENCH_WEBHOOK_TOKEN' } },
        },
        {
          name: 'bench-sync',
          kind: 'distribution',
          url: syncRegistry.url,
          webhook: { auth: { type: 'bearer', tokenEnv: 'BENCH_WEBHOOK_TOKEN' } },
        },
      ],
      // The authority the generated cosign signatures name, and an admission policy that asks for
      // what every generated image has: a signature by it, SLSA v1 provenance from a builder, an SBOM.
      trust: {
        authorities: [
          {
            name: 'ci',
            keyless: {
              issuer: 'https://token.actions.githubusercontent.com',
              subjectRegExp: 'https://github\\.com/org/.+',
            },
          },
        ],
        repositories: [{ pattern: 'bench/**', authorities: ['ci'] }],
      },
      policies: [
        {
          name: POLICY,
          signatures: { authorities: ['ci'] },
          attestations: [
            {
              predicateType: 'https://slsa.dev/provenance/v1',
              builderIds: ['https://github.com/actions/runner/github-hosted'],
            },
          ],
          sbom: true,
        },
      ],
    }),
  );
  const env = {
    DATABASE_URL: db.url,
    BENCH_WEBHOOK_TOKEN: TOKEN,
    REFGRAPH_CONFIG: configPath,
    LOG_LEVEL: 'warn',
  };
  const policyVersion = await servicePolicyVersion(env);
  let service;
  let bare;
  const startService = async (role) => {
    await service?.stop();
    service = await startNodeServer({
      name: `refgraph (${role})`,
      script: 'dist/apps/server/src/main.js',
      env: { ...env, REFGRAPH_ROLE: role },
      nodeFlags,
      port: servicePort,
      log,
    });
    cleanups.push(() => service.stop());
  };
  const startBare = async () => {
    await bare?.stop();
    bare = await startNodeServer({
      name: 'bare fastify + pg',
      script: 'bench/bare-server.mjs',
      env,
      port: barePort,
      log,
    });
    cleanups.push(() => bare.stop());
  };

  const loadLine = (r) =>
    `${r.rps.toFixed(0)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  peak RSS ${r.peakRssMiB?.toFixed(0)} MiB`;
  const measure = async (id, label, server, opts) => {
    log(`run ${label}`);
    const r = await runLoad({
      url: server.url,
      connections: opts.connections ?? CONNECTIONS,
      duration: opts.duration ?? DURATION,
      next: opts.next,
      rssPid: server.pid,
    });
    log(`    ${loadLine(r)}`);
    results.runs[id] = { label, ...r };
    return r;
  };
  /** refgraph and its baseline under the same load, in alternating halves (runLoadPair). */
  const measurePair = async ([idA, labelA, serverA], [idB, labelB, serverB], opts) => {
    log(`run ${labelA} | ${labelB} (alternating)`);
    const pair = await runLoadPair({
      a: { url: serverA.url, rssPid: serverA.pid },
      b: { url: serverB.url, rssPid: serverB.pid },
      connections: opts.connections ?? CONNECTIONS,
      duration: opts.duration ?? DURATION,
      next: opts.next,
    });
    for (const [id, label, r] of [
      [idA, labelA, pair[0]],
      [idB, labelB, pair[1]],
    ]) {
      log(`    ${label}: ${loadLine(r)}`);
      results.runs[id] = { label, ...r };
    }
    return pair;
  };
  const referrersReq = (keys) => () => {
    const k = pick(keys);
    return { path: `/v2/${k.registry}/${k.repository}/referrers/${k.digest}` };
  };

  // REST answers, the verdict, the Gatekeeper batch and the GraphQL page, each against the same
  // answer code without the service's framework (bench/lib/bare-answers.mjs).
  const measureAnswers = async (known) => {
    const restReferrers = () => ({
      path: `/api/v1/artifacts/${encodeURIComponent(pick(known).digest)}/referrers`,
    });
    const summary = () => ({ path: `/api/v1/artifacts/${encodeURIComponent(pick(known).digest)}` });
    const post = (path, body) => ({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const verdict = () => post('/api/v1/verdict', { policy: POLICY, subjects: [reference(pick(known))] });
    // Gatekeeper keys are pod images: the registry is named by its host, as a runtime pulls it.
    const hosts = { bench: new URL(registry.url).host, 'bench-sync': new URL(syncRegistry.url).host };
    const gatekeeper = () =>
      post(`/api/v1/gatekeeper/${POLICY}`, {
        apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
        kind: 'ProviderRequest',
        request: { keys: Array.from({ length: GATEKEEPER_KEYS }, () => imageReference(pick(known), hosts)) },
      });
    const sample = (gen, n) => Array.from({ length: n }, gen);
    results.checks.push(
      await sameRestAnswers('REST referrers, summary, verdict, Gatekeeper', service.url, bare.url, [
        ...sample(restReferrers, 50),
        ...sample(summary, 50),
        ...sample(verdict, 50),
        ...sample(gatekeeper, 5),
      ]),
    );
    results.checks.push(await gatekeeperKeysResolve(service.url, sample(gatekeeper, 5)));
    await measurePair(
      ['rest-referrers', 'REST referrers', service],
      ['bare-rest-referrers', 'bare fastify + pg, REST referrers', bare],
      { next: restReferrers },
    );
    await measurePair(
      ['rest-summary', 'REST artifact summary', service],
      ['bare-rest-summary', 'bare fastify + pg, REST artifact summary', bare],
      { next: summary },
    );
    await measurePair(
      ['verdict', 'verdict (one image reference)', service],
      ['bare-verdict', 'bare fastify + pg, verdict', bare],
      { next: verdict },
    );
    await measurePair(
      ['gatekeeper', `Gatekeeper batch of ${GATEKEEPER_KEYS} keys`, service],
      ['bare-gatekeeper', `bare fastify + pg, Gatekeeper batch of ${GATEKEEPER_KEYS} keys`, bare],
      { next: gatekeeper },
    );
    await measure('gatekeeper-1c', `Gatekeeper batch of ${GATEKEEPER_KEYS} keys, 1 connection`, service, {
      connections: 1,
      next: gatekeeper,
    });
    await measure('graphql', `GraphQL ${GRAPHQL_PAGE}-artifact page`, service, { next: graphqlPage });
  };
  /** A page of artifacts from a random position, with referrers and signatures, as a dashboard asks. */
  const graphqlPage = () => ({
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: GRAPHQL_PAGE_QUERY,
      variables: { after: Buffer.from(`a:sha256:${randomBytes(32).toString('hex')}`).toString('base64url') },
    }),
  });

  const largest = SIZES[SIZES.length - 1];
  let keys = [];
  for (const size of runs('reads') ? SIZES : []) {
    log(`generating ${size} artifacts`);
    const gen = await generateGraph(clients, {
      artifacts: size,
      registryUrl: registry.url,
      policyVersion,
      log,
    });
    log(
      `  ${gen.artifacts} artifacts, ${gen.edges} edges, ${gen.locations} locations in ${(gen.ms / 1000).toFixed(1)} s`,
    );
    keys = await sampleKeys(sql, { count: 20000 });
    const hot = await hotKeys(sql);
    await startService('all');
    await startBare();
    results.checks.push(
      await sameAnswers(`${size} artifacts`, service.url, bare.url, [...keys.slice(0, 300), ...hot]),
    );
    results.explain[size] = await explainReferrers(sql, keys);

    // At the largest size against the bare server in alternating halves; the others alone.
    const r50 =
      size === largest
        ? (
            await measurePair(
              [`referrers@${size}`, `OCI referrers API, random keys, ${size}`, service],
              ['bare-referrers', 'bare fastify + pg, random keys', bare],
              { next: referrersReq(keys) },
            )
          )[0]
        : await measure(`referrers@${size}`, `OCI referrers API, random keys, ${size}`, service, {
            next: referrersReq(keys),
          });
    const r1 = await measure(
      `referrers-1c@${size}`,
      `OCI referrers API, random keys, 1 connection, ${size}`,
      service,
      {
        connections: 1,
        duration: Math.max(3, Math.round(DURATION / 2)),
        next: referrersReq(keys),
      },
    );
    results.scaling.push({
      size,
      artifacts: gen.artifacts,
      edges: gen.edges,
      genSeconds: gen.ms / 1000,
      p50: r50.p50,
      rps: r50.rps,
      p50single: r1.p50,
      execMs: results.explain[size].executionMs,
    });
    if (size !== largest) continue;

    await measure('bare-referrers-1c', 'bare fastify + pg, random keys, 1 connection', bare, {
      connections: 1,
      duration: Math.max(3, Math.round(DURATION / 2)),
      next: referrersReq(keys),
    });
    await measurePair(
      ['hot', 'OCI referrers API, hot subjects (page of 500)', service],
      ['bare-hot', 'bare fastify + pg, hot subjects (page of 500)', bare],
      { next: referrersReq(hot) },
    );
    await measureAnswers(keys.filter((k) => k.known));
  }
  if (runs('reads')) await dropSeeds(sql);
  if (runs('replica')) {
    const size = Number(process.env.BENCH_REPLICA_SIZE ?? SIZES[0]);
    const replica = await measureStandby({
      size,
      env,
      nodeFlags,
      policyVersion,
      policy: POLICY,
      registryUrl: registry.url,
      measure,
      log,
    });
    results.replica = replica.facts;
    results.checks.push(...replica.checks);
  }
  if (!service && (runs('e2e') || runs('accept'))) {
    await startService('all');
    await startBare();
  }
  const repos = [...new Set(keys.map((k) => k.repository).filter((r) => r.startsWith('team-')))].slice(0, 10);
  if (!repos.length) repos.push(...Array.from({ length: 10 }, (_, i) => `team-${i}/app-${i}`));

  if (runs('e2e')) await measureEndToEnd();
  if (runs('sync')) {
    // The all-roles service's worker would verify what the sync queues, on the same two cores, while
    // the bare crawl verifies nothing: it is stopped, and the verification measured apart.
    const restart = service !== undefined;
    await service?.stop();
    Object.assign(
      results.runs,
      await measureSync({
        registry: syncRegistry,
        env,
        nodeFlags,
        manifests: SYNC_MANIFESTS,
        sql,
        postgresPid: db.pid,
        log,
      }),
    );
    if (restart) await startService('all');
  }
  if (runs('accept')) await measureAccept();
  results.nodeOptions = imageNodeOptions();
  results.totalSeconds = (Date.now() - started) / 1000;
  results.machine = await machineFacts(sql);
  const partial = process.env.BENCH_ONLY !== undefined;
  const text = await writeResults(results, { write: !process.env.BENCH_NO_WRITE && !partial });
  process.stdout.write(`\n${text}\n`);
  log('done');

  /** End to end: manifests pushed to the real registry, notifications to refgraph, processed. */
  async function measureEndToEnd() {
    const content = referrerContent({
      count: REGISTRY_SUBJECTS,
      repositories: repos,
      seed: randomBytes(4).toString('hex'),
    });
    await content.prepare(registry.url);
    const { rows: before } = await sql.query(`SELECT count(*)::int AS n FROM webhook_event`);
    log(
      `e2e: pushing ${content.manifests} manifests (${REGISTRY_SUBJECTS} subjects, 3 referrers and a tag-schema index each)`,
    );
    const { sampleRss, cpuSeconds, treeCpuSeconds } = await import('./lib/proc.mjs');
    const rss = sampleRss(service.pid);
    // Where the two cores went while the pipeline ran: the registry, refgraph, Postgres, the pusher.
    const cpuNow = () => ({
      registry: cpuSeconds(registry.pid),
      refgraph: cpuSeconds(service.pid),
      postgres: treeCpuSeconds(db.pid),
      pusher: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    // refgraph's own time per delivery, from its request histogram (server side).
    const acceptTime = async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const read = (what) =>
        Number(
          new RegExp(
            `^refgraph_http_request_duration_seconds_${what}\\{method="POST",route="/webhooks/:registry",status="2xx"\\} ([0-9.e+-]+)$`,
            'm',
          ).exec(text)?.[1] ?? NaN,
        );
      return { sum: read('sum'), count: read('count') };
    };
    const acceptBefore = await acceptTime();
    const cpuBefore = cpuNow();
    const t0 = Date.now();
    await content.push(registry.url);
    const pushed = (Date.now() - t0) / 1000;
    const done = await waitForEvents(sql, before[0].n + content.manifests, 180_000);
    const total = (Date.now() - t0) / 1000;
    const cpuAfter = cpuNow();
    const acceptAfter = await acceptTime();
    const deliveries = acceptAfter.count - (acceptBefore.count || 0);
    const answerMs = (1000 * (acceptAfter.sum - (acceptBefore.sum || 0))) / deliveries;
    const cpu = Object.fromEntries(Object.keys(cpuBefore).map((k) => [k, cpuAfter[k] - cpuBefore[k]]));
    results.runs.e2e = {
      label: 'end to end: push to registry → webhook → fetch → graph',
      rps: content.manifests / total,
      pushRps: content.manifests / pushed,
      pushSeconds: pushed,
      seconds: total,
      manifests: content.manifests,
      failed: done.failed,
      timedOut: done.timedOut,
      peakRssMiB: rss.stop(),
      cpu,
      deliveries,
      answerMs,
      ...(await e2eTimeline(sql, before[0].n, t0)),
      commitsPerSecond: await serialCommitRate(sql),
    };
    log(
      `    ${results.runs.e2e.rps.toFixed(0)} manifests/s end to end; registry accepted pushes at ${results.runs.e2e.pushRps.toFixed(0)}/s; ` +
        `one client's durable commits: ${results.runs.e2e.commitsPerSecond.toFixed(0)}/s`,
    );
    results.checks.push(await sameAsRegistry(service.url, content.subjects));

    // The registry baseline is measured without notifications (a pull would queue one each).
    await registry.stop();
    registry = await startRegistryProcess({ storageDir: storage.dir, port: registry.port });
    const regKeys = content.subjects.map((s) => ({
      registry: 'bench',
      repository: s.repository,
      digest: s.subject,
    }));
    await measure('registry', 'Distribution 2.8.2 tag-schema GET, same subjects', registry, {
      next: () => {
        const s = pick(content.subjects);
        return { path: `/v2/${s.repository}/manifests/${s.tag}`, headers: { accept: OCI_INDEX } };
      },
    });
    await measurePair(
      ['referrers-regsubjects', 'OCI referrers API, same subjects as the registry', service],
      ['bare-regsubjects', 'bare fastify + pg, same subjects as the registry', bare],
      { next: referrersReq(regKeys) },
    );
    await measureRegistryView(content);
  }

  /**
   * The registry view (`/v2/<registry>/<repository>/…`) against the registry it fronts, same
   * requests: manifests by digest (refgraph answers from its store) and blobs (streamed through
   * from the registry, so the direct GET is the ceiling).
   */
  async function measureRegistryView(content) {
    const referrer = () => {
      const s = pick(content.subjects);
      const r = pick(s.referrers);
      return {
        repository: s.repository,
        digest: r.descriptor.digest,
        layer: JSON.parse(r.bytes).layers[0].digest,
      };
    };
    const manifest = (prefix) => () => {
      const r = referrer();
      return {
        path: `/v2/${prefix}${r.repository}/manifests/${r.digest}`,
        headers: { accept: OCI_MANIFEST },
      };
    };
    const blob = (prefix) => () => {
      const r = referrer();
      return { path: `/v2/${prefix}${r.repository}/blobs/${r.layer}` };
    };
    const pairs = [];
    for (let i = 0; i < 40; i++) {
      const r = referrer();
      const api = i % 2 ? `blobs/${r.layer}` : `manifests/${r.digest}`;
      pairs.push({
        view: `/v2/bench/${r.repository}/${api}`,
        direct: `/v2/${r.repository}/${api}`,
        headers: { accept: OCI_MANIFEST },
      });
    }
    results.checks.push(await sameViewBytes(service.url, registry.url, pairs));
    await measure('view-manifest', 'registry view: manifest GET by digest', service, {
      next: manifest('bench/'),
    });
    await measure('registry-manifest', 'Distribution 2.8.2: same manifest GETs', registry, {
      next: manifest(''),
    });
    await measure('view-blob', 'registry view: blob GET (proxied)', service, { next: blob('bench/') });
    await measure('registry-blob', 'Distribution 2.8.2: same blob GETs, direct', registry, {
      next: blob(''),
    });
  }

  /** Webhook accept: the api role alone, so the worker does not fetch the made-up digests. */
  async function measureAccept() {
    await startService('api');
    // With no worker in this process, every transaction the database sees comes from the request.
    if (runs('reads')) {
      const counted = await countStatements(sql, service.url, graphqlPage, 40);
      results.graphqlStatements = counted.perRequest;
      results.graphqlParallelWorkers = counted.workersCounted ? counted.parallelWorkers : undefined;
      log(
        `    GraphQL page: ${counted.perRequest.toFixed(1)} SQL statements per request` +
          (counted.workersCounted
            ? `, ${counted.parallelWorkers.toFixed(1)} parallel workers`
            : ' (parallel workers, if any, included: this Postgres does not count them)') +
          (counted.autovacuumPaused ? ' (autovacuum paused)' : ' (autovacuum could not be paused)'),
      );
    }
    await measure('accept', 'webhook accept (Distribution envelope, bearer)', service, {
      next: webhookRequests(TOKEN, repos),
    });
    await measure(
      'bare-accept',
      'bare fastify + pg, same durable insert, one transaction per delivery',
      bare,
      {
        next: webhookRequests(TOKEN, repos),
      },
    );
    // A serial sender as Distribution 2.8's notification sink is: one delivery at a time, each on a
    // new connection, the next after the answer; refgraph's and the bare server's passes alternate.
    log('run webhook accept, serial sender (refgraph and bare fastify + pg, alternating)');
    const serial = await alternateSerially(
      [
        { id: 'accept-1c', url: `${service.url}/webhooks/bench` },
        { id: 'bare-accept-1c', url: `${bare.url}/webhooks/bench` },
      ],
      { token: TOKEN, next: distributionEnvelopes(repos), passes: 5, count: Math.max(200, DURATION * 40) },
    );
    results.runs['accept-1c'] = {
      label: 'webhook accept, a serial sender as Distribution 2.8 (new connection per delivery)',
      ...serial['accept-1c'],
    };
    results.runs['bare-accept-1c'] = {
      label: 'bare fastify + pg, same durable insert, same serial sender',
      ...serial['bare-accept-1c'],
    };
    log(
      `    refgraph ${JSON.stringify(serial['accept-1c'])}; bare ${JSON.stringify(serial['bare-accept-1c'])}`,
    );
    await sql.query(`TRUNCATE webhook_event`);
    await sql.query(`DELETE FROM graphile_worker._private_jobs`).catch(() => undefined);
  }
}

const GRAPHQL_PAGE_QUERY = `query Page($after: String) {
  artifacts(first: ${GRAPHQL_PAGE}, after: $after) { edges { node {
    digest kind
    referrers { edges { kind node { digest artifactType signatures { status } } } }
    signatures { status identity artifactDigest }
  } } }
}`;

/** How admission controllers name images: by tag where there is one, else by digest. */
function reference(k) {
  return k.tag ? `${k.registry}/${k.repository}:${k.tag}` : `${k.registry}/${k.repository}@${k.digest}`;
}

/** The key as a pod spec names the image: `<registry host>/<repository>` (`hosts` by registry name). */
function imageReference(k, hosts) {
  const host = hosts[k.registry];
  if (!host) throw new Error(`no host for registry ${k.registry}`);
  return k.tag ? `${host}/${k.repository}:${k.tag}` : `${host}/${k.repository}@${k.digest}`;
}

/** The trust policy version the service computes from the bench config (stored results carry it). */
async function servicePolicyVersion(env) {
  const { loadConfig } = await import('#config');
  const { TrustPolicy } = await import('#verify');
  return (await TrustPolicy.load(loadConfig(env).trust)).version;
}

/**
 * Where the end-to-end time went: when the registry's notifications arrived (the sender delivers
 * one at a time) and how long each event then waited until processed.
 */
async function e2eTimeline(sql, skip, t0) {
  const { rows } = await sql.query(
    `SELECT extract(epoch FROM min(received_at)) * 1000 AS first, extract(epoch FROM max(received_at)) * 1000 AS last,
            extract(epoch FROM max(processed_at)) * 1000 AS done,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at) * 1000) AS wait50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at) * 1000) AS wait99
     FROM (SELECT * FROM webhook_event ORDER BY id OFFSET $1) w`,
    [skip],
  );
  const r = rows[0];
  return {
    firstReceivedMs: r.first - t0,
    lastReceivedMs: r.last - t0,
    lastProcessedMs: r.done - t0,
    processWaitP50Ms: r.wait50,
    processWaitP99Ms: r.wait99,
  };
}

async function machineFacts(sql) {
  const os = await import('node:os');
  const { rows } = await sql.query(`SHOW server_version`);
  return {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: rows[0].server_version,
  };
}

let exiting = false;
async function cleanup() {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}
process.on('SIGINT', () => {
  if (exiting) return;
  exiting = true;
  void cleanup().then(() => process.exit(130));
});

main()
  .then(cleanup)
  .catch(async (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    await cleanup();
    process.exit(1);
  });

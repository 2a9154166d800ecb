import { Answers } from '#answers';
import { defaultRegistryConcurrency, defaultTufCacheDir, policyWarnings, type RefgraphConfig } from '#config';
import {
  ArtifactVerifier,
  BudgetedSource,
  EventProcessor,
  LogSampler,
  Metrics,
  RegistryBudget,
  RegistryCatalog,
  RegistrySync,
  WorkerHealth,
  migrateQueue,
} from '#ingest';
import { RegistryClient } from '#registry';
import {
  BoundedReads,
  DEFAULT_READ_BOUNDS,
  Database,
  GraphRepository,
  InboxRepository,
  ReadReplicas,
  ReadRepository,
  type ReadSource,
  ReferrersRepository,
  RegistryRepository,
  SyncRepository,
  TrustRepository,
} from '#store';
import {
  CurrentTrust,
  TrustRootRefresher,
  TufTrustedRootSource,
  initialTrustPolicy,
  type TrustedRootSource,
} from '#verify';
import type { Logger } from 'pino';
import { Authenticator } from './auth/authenticator.js';
import { RateLimiter } from './auth/rate-limit.js';
import { SocketLimiter } from './auth/socket-limit.js';
import { replicaMetrics } from './health/replica.metrics.js';

/** Everything the roles share, built once per process from the configuration. */
export interface Runtime {
  config: RefgraphConfig;
  authenticator: Authenticator;
  /** Per-client request limits, shared by HTTP requests and WebSocket connections. */
  limiter: RateLimiter;
  /** Open GraphQL WebSocket connections per client (graphql.maxSocketsPerClient). */
  sockets: SocketLimiter;
  db: Database;
  /**
   * The job runner's pool (graphile-worker, and the graph, event and verification writes of its jobs),
   * committing with `synchronous_commit=off`. What a crash can take from it is redone: the job's
   * completion commits after its writes, so WAL order loses a job's writes only with its
   * completion, and the job runs again from the event row, which was committed durably when it was
   * acknowledged (the accept path stays on `db`, synchronous). Waiting for a WAL flush per ingest
   * commit would hold the NOTIFY queue lock through it, and every acknowledgement queues on that lock.
   * The process outlives a Postgres crash, so what it keeps in memory must not come from a commit
   * that a crash can take: repository ids, which it caches, commit synchronously on any pool
   * (RegistryRepository.ensureRepository).
   */
  jobDb: Database;
  /**
   * What the read model reads from: the replicas in rotation (api role with replicas configured),
   * else the primary's bounded read pool. Only ReadRepository, ReferrersRepository and
   * RegistryViewRepository use it; every statement is time-bounded (config.reads).
   */
  readDb: ReadSource;
  /** The primary's bounded read pool (the replicas' fallback, and the subscriptions' reads). */
  primaryReads: BoundedReads;
  /** The replica chooser and its lag checks, when replicas are configured for this process. */
  replicas?: ReadReplicas;
  logger: Logger;
  /** Per-item lines (deliveries, ingestion and verification outcomes), rate-limited per kind. */
  lines: LogSampler;
  metrics: Metrics;
  catalog: RegistryCatalog;
  registries: RegistryRepository;
  graph: GraphRepository;
  inbox: InboxRepository;
  referrers: ReferrersRepository;
  processor: EventProcessor;
  syncs: SyncRepository;
  sync: RegistrySync;
  read: ReadRepository;
  answers: Answers;
  /** The read model on the primary (the same as `answers` without replicas), for subscriptions. */
  primaryAnswers: Answers;
  /**
   * The trust policy in force; its version changes when the trusted root is refreshed. Stored
   * results under another version are re-verified, and not evidence.
   */
  currentTrust: CurrentTrust;
  /** `currentTrust.version`, read when asked. */
  readonly trustVersion: string;
  /** Keeps the trusted root fresh over TUF (`trust.tuf`); absent: the configured root, fixed. */
  trustRefresher?: TrustRootRefresher;
  trust: TrustRepository;
  verifier: ArtifactVerifier;
  /** The job runner's state in this process (`off` without one), for /readyz. */
  workerHealth: WorkerHealth;
}

export interface RuntimeOptions {
  /** Read the read model from config.readReplicas (the api role); false: the primary only. */
  replicas?: boolean;
}

export async function buildRuntime(
  config: RefgraphConfig,
  databaseUrl: string,
  logger: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const db = new Database({ url: databaseUrl, maxConnections: 20 });
  const applied = await db.migrate();
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  for (const warning of policyWarnings(config.policies)) logger.warn(warning);
  await migrateQueue(db.pool);

  const registries = new RegistryRepository(db);
  const rows = await registries.upsertRegistries(config.registries);
  // Connections are opened on first use: a process without the worker role never opens one.
  const jobDb = new Database({
    url: databaseUrl,
    maxConnections: 20,
    synchronousCommit: 'off',
  });
  const byName = new Map(rows.map((r) => [r.name, r.id]));
  const catalog = new RegistryCatalog(
    config.registries.map((c) => ({ id: byName.get(c.name)!, config: c, client: new RegistryClient(c) })),
  );
  // Ingest and verify jobs fetch under a per-registry budget; sync and the read side do not.
  const budget = new RegistryBudget(
    Object.fromEntries(
      config.registries.map((c) => [
        c.name,
        c.concurrency ?? defaultRegistryConcurrency(config.worker.concurrency),
      ]),
    ),
  );
  const budgeted = budget.wrap(catalog);
  const metrics = new Metrics();
  const lines = new LogSampler(logger);
  const graph = new GraphRepository(db);
  const inbox = new InboxRepository(db, config.worker.maxAttempts);
  const syncs = new SyncRepository(db);
  const bounds = config.reads ?? DEFAULT_READ_BOUNDS;
  // Its own pool: statement_timeout is set per connection, and writes, jobs and migrations on the
  // main pool must not inherit the read bound.
  const primaryReads = new BoundedReads(databaseUrl, bounds, 'primary');
  const replicaUrls = options.replicas === false ? [] : (config.readReplicas?.urls ?? []);
  let replicas: ReadReplicas | undefined;
  if (replicaUrls.length) {
    replicas = new ReadReplicas(
      db,
      {
        urls: replicaUrls,
        maxLagSeconds: config.readReplicas!.maxLagSeconds,
        checkIntervalMs: config.readReplicas!.checkIntervalMs,
        bounds,
      },
      replicaMetrics(metrics.registry),
      primaryReads,
    );
    // Measured before the first request: until then every read goes to the primary.
    await replicas.start();
    logger.info({ replicas: replicas.status() }, 'read replicas');
  }
  const readDb: ReadSource = replicas ?? primaryReads;
  const read = new ReadRepository(readDb);
  const trust = new TrustRepository(db);
  const jobs = {
    graph: new GraphRepository(jobDb),
    inbox: new InboxRepository(jobDb, config.worker.maxAttempts),
    trust: new TrustRepository(jobDb),
  };
  const { currentTrust, trustRefresher } = await startTrust(config, logger, metrics);
  const trustVersion = () => currentTrust.version;
  const answers = new Answers(read, catalog, config.policies, trustVersion);
  const blobs = (id: number) => {
    const client = budgeted.byId(id)?.client;
    return client instanceof BudgetedSource ? client : undefined;
  };
  return {
    config,
    authenticator: new Authenticator(config.auth),
    limiter: new RateLimiter(config.server.rateLimitPerMinute),
    sockets: new SocketLimiter(config.graphql.maxSocketsPerClient),
    db,
    jobDb,
    readDb,
    primaryReads,
    replicas,
    logger,
    lines,
    metrics,
    catalog,
    registries,
    graph,
    inbox,
    referrers: new ReferrersRepository(readDb),
    processor: new EventProcessor(
      jobs.inbox,
      jobs.graph,
      // Repository ids are inserted durably on any pool (ensureRepository): one cache serves all.
      registries,
      budgeted,
      metrics,
      jobs.trust,
      lines,
    ),
    read,
    answers,
    primaryAnswers: replicas
      ? new Answers(new ReadRepository(primaryReads), catalog, config.policies, trustVersion)
      : answers,
    currentTrust,
    get trustVersion() {
      return currentTrust.version;
    },
    trustRefresher,
    trust,
    verifier: new ArtifactVerifier(jobs.trust, currentTrust, blobs, config.limits, lines),
    workerHealth: new WorkerHealth(),
    syncs,
    sync: new RegistrySync({
      catalog,
      graph,
      registries,
      sync: syncs,
      trust,
      concurrency: config.sync.concurrency,
    }),
  };
}

/**
 * The trust policy to start with and, with `trust.tuf`, its refresher: the first refresh is waited
 * for at most `startupTimeoutSeconds` (a mirror that is down or slow costs start-up no more), then
 * the schedule takes over. Without `trust.tuf` the configured root is used as it is.
 */
async function startTrust(
  config: RefgraphConfig,
  logger: Logger,
  metrics: Metrics,
): Promise<{ currentTrust: CurrentTrust; trustRefresher?: TrustRootRefresher }> {
  const tuf = config.trust.tuf;
  const log = logger.child({ component: 'trust-root' });
  const source: TrustedRootSource | undefined = tuf
    ? new TufTrustedRootSource({
        mirrorUrl: tuf.mirrorUrl,
        rootFile: tuf.rootFile,
        cacheDir: tuf.cacheDir ?? defaultTufCacheDir(),
        timeoutMs: Math.max(1000, tuf.startupTimeoutSeconds * 1000),
      })
    : undefined;
  const currentTrust = new CurrentTrust(await initialTrustPolicy(config.trust, source, log));
  if (!tuf || !source) return { currentTrust };
  const trustRefresher = new TrustRootRefresher(currentTrust, source, {
    intervalMs: tuf.refreshIntervalSeconds * 1000,
    startupTimeoutMs: tuf.startupTimeoutSeconds * 1000,
    log,
    events: {
      succeeded: (at) => metrics.trustRootRefreshed.set(at.getTime() / 1000),
      failed: () => metrics.trustRootRefreshFailures.inc(),
    },
  });
  await trustRefresher.start();
  return { currentTrust, trustRefresher };
}

import { Answers } from '#answers';
import { defaultRegistryConcurrency, type RefgraphConfig } from '#config';
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
  Database,
  GraphRepository,
  InboxRepository,
  ReadRepository,
  ReferrersRepository,
  RegistryRepository,
  SyncRepository,
  TrustRepository,
} from '#store';
import { TrustPolicy } from '#verify';
import type { Logger } from 'pino';
import { Authenticator } from './auth/authenticator.js';
import { RateLimiter } from './auth/rate-limit.js';

/** Everything the roles share, built once per process from the configuration. */
export interface Runtime {
  config: RefgraphConfig;
  authenticator: Authenticator;
  /** Per-client request limits, shared by HTTP requests and WebSocket connections. */
  limiter: RateLimiter;
  db: Database;
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
  /** The trust policy's version: stored results under another one are re-verified, and not evidence. */
  trustVersion: string;
  trust: TrustRepository;
  verifier: ArtifactVerifier;
  /** The job runner's state in this process (`off` without one), for /readyz. */
  workerHealth: WorkerHealth;
}

export async function buildRuntime(
  config: RefgraphConfig,
  databaseUrl: string,
  logger: Logger,
): Promise<Runtime> {
  const db = new Database({ url: databaseUrl, maxConnections: 20 });
  const applied = await db.migrate();
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  await migrateQueue(db.pool);

  const registries = new RegistryRepository(db);
  const rows = await registries.upsertRegistries(config.registries);
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
  const read = new ReadRepository(db);
  const trust = new TrustRepository(db);
  const policy = await TrustPolicy.load(config.trust);
  const blobs = (id: number) => {
    const client = budgeted.byId(id)?.client;
    return client instanceof BudgetedSource ? client : undefined;
  };
  return {
    config,
    authenticator: new Authenticator(config.auth),
    limiter: new RateLimiter(config.server.rateLimitPerMinute),
    db,
    logger,
    lines,
    metrics,
    catalog,
    registries,
    graph,
    inbox,
    referrers: new ReferrersRepository(db),
    processor: new EventProcessor(inbox, graph, registries, budgeted, metrics, trust, lines),
    read,
    answers: new Answers(read, catalog, config.policies, policy.version),
    trustVersion: policy.version,
    trust,
    verifier: new ArtifactVerifier(trust, policy, blobs, config.limits, lines),
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

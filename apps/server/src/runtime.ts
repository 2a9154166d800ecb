import { Answers } from '#answers';
import type { RefgraphConfig } from '#config';
import {
  ArtifactVerifier,
  EventProcessor,
  Metrics,
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
  QueryRepository,
  ReferrersRepository,
  RegistryRepository,
  SyncRepository,
  TrustRepository,
} from '#store';
import { TrustPolicy } from '#verify';
import type { Logger } from 'pino';
import { Authenticator } from './auth/authenticator.js';

/** Everything the roles share, built once per process from the configuration. */
export interface Runtime {
  config: RefgraphConfig;
  authenticator: Authenticator;
  db: Database;
  logger: Logger;
  metrics: Metrics;
  catalog: RegistryCatalog;
  registries: RegistryRepository;
  graph: GraphRepository;
  inbox: InboxRepository;
  referrers: ReferrersRepository;
  processor: EventProcessor;
  syncs: SyncRepository;
  sync: RegistrySync;
  query: QueryRepository;
  answers: Answers;
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
  const metrics = new Metrics();
  const graph = new GraphRepository(db);
  const inbox = new InboxRepository(db, config.worker.maxAttempts);
  const syncs = new SyncRepository(db);
  const query = new QueryRepository(db);
  const trust = new TrustRepository(db);
  const policy = await TrustPolicy.load(config.trust);
  const clients = new Map(catalog.all().map((e) => [e.id, e.client]));
  const blobs = (id: number) => {
    const client = clients.get(id);
    return client instanceof RegistryClient ? client : undefined;
  };
  return {
    config,
    authenticator: new Authenticator(config.auth),
    db,
    logger,
    metrics,
    catalog,
    registries,
    graph,
    inbox,
    referrers: new ReferrersRepository(db),
    processor: new EventProcessor(inbox, graph, registries, catalog, metrics, trust),
    query,
    answers: new Answers(query, catalog),
    trust,
    verifier: new ArtifactVerifier(trust, policy, blobs),
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

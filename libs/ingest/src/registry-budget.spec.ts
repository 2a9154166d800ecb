import { randomBytes } from 'node:crypto';
import type { Runner } from 'graphile-worker';
import { parseConfig } from '#config';
import {
  deferWhenBusy,
  EventProcessor,
  Metrics,
  migrateQueue,
  RegistryBudget,
  RegistryCatalog,
  startQueueWorker,
} from '#ingest';
import { RegistryClient } from '#registry';
import { Database, GraphRepository, INGEST_TASK, InboxRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  pushImage,
  randomImage,
  startHungServer,
  startRegistry,
  type HungServer,
  type TestDatabase,
  type TestRegistry,
} from '#testing';

// "hung" is a loopback TCP server that accepts and never answers (a real registry cannot hang on
// cue); "healthy" is the real Distribution. The worker is the real graphile-worker on real Postgres.
const HUNG_EVENTS = 16;
const WORKER_SLOTS = 4;
const BUDGET = 2;

let tdb: TestDatabase;
let db: Database;
let hung: HungServer;
let registry: TestRegistry;
let inbox: InboxRepository;
let budget: RegistryBudget;
let worker: Runner;
const ids = new Map<string, number>();
const image = randomImage();

async function until(what: string, cond: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function recordPush(registry: string, digest: string): Promise<number> {
  await inbox.record(ids.get(registry)!, [{ action: 'push', repository: 'app', digest }]);
  const [latest] = await inbox.list(undefined, 1);
  return latest!.id;
}

const statusOf = async (id: number) => (await inbox.find(id))?.status;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 12 });
  await migrateQueue(db.pool);
  hung = await startHungServer();
  registry = await startRegistry();
  await pushImage(registry.url, 'app', 'v1', image);
  const config = parseConfig(
    {
      worker: { concurrency: WORKER_SLOTS },
      registries: [
        {
          name: 'hung',
          kind: 'distribution',
          url: hung.url,
          webhook: { auth: { type: 'none' } },
          concurrency: BUDGET,
          // Longer than the test: the hung fetches hold their slots throughout.
          timeouts: { connectMs: 1_000, firstByteMs: 300_000 },
        },
        { name: 'healthy', kind: 'distribution', url: registry.url, webhook: { auth: { type: 'none' } } },
      ],
    },
    {},
  );
  const registries = new RegistryRepository(db);
  for (const row of await registries.upsertRegistries(config.registries)) ids.set(row.name, row.id);
  const catalog = new RegistryCatalog(
    config.registries.map((c) => ({ id: ids.get(c.name)!, config: c, client: new RegistryClient(c) })),
  );
  budget = new RegistryBudget(Object.fromEntries(config.registries.map((c) => [c.name, c.concurrency!])));
  inbox = new InboxRepository(db, 5);
  const processor = new EventProcessor(
    inbox,
    new GraphRepository(db),
    registries,
    budget.wrap(catalog),
    new Metrics(),
  );
  worker = await startQueueWorker({
    pool: db.pool,
    concurrency: config.worker.concurrency,
    pollInterval: 100,
    tasks: {
      [INGEST_TASK]: deferWhenBusy(async (payload, helpers) => {
        const { eventId } = payload as { eventId: number };
        await processor.process(eventId, helpers.job.attempts, helpers.job.max_attempts);
      }),
    },
  });
});

afterAll(async () => {
  // Closing the hung sockets first ends the fetches still holding worker slots.
  await hung?.stop();
  await worker?.stop();
  await registry?.stop();
  await db?.close();
  await tdb?.drop();
});

describe('RegistryBudget', () => {
  it('hands a released slot to a job waiting behind recent fetches, refusing nobody', async () => {
    const lanes = new RegistryBudget({ r: 2 }, 60_000);
    const first = (await lanes.acquire('r'))!;
    await lanes.acquire('r');
    const third = lanes.acquire('r');
    expect(lanes.stats('r')).toEqual({ inFlight: 2, refused: 0 });
    first();
    first();
    expect(await third).toBeInstanceOf(Function);
    expect(lanes.stats('r')).toEqual({ inFlight: 2, refused: 0 });
  });

  it('refuses at once when a fetch in flight is older than the wait bound', async () => {
    const lanes = new RegistryBudget({ r: 1 }, 0);
    await lanes.acquire('r');
    expect(await lanes.acquire('r')).toBeUndefined();
    expect(lanes.stats('r')).toEqual({ inFlight: 1, refused: 1 });
    expect(await lanes.acquire('unbudgeted')).toBeInstanceOf(Function);
  });
});

describe('per-registry fetch budget', () => {
  it('a hung registry delays only its own events', async () => {
    const stuck: number[] = [];
    for (let i = 0; i < HUNG_EVENTS; i++) {
      stuck.push(await recordPush('hung', `sha256:${randomBytes(32).toString('hex')}`));
    }
    // Queued after all of the hung registry's events, with fewer worker slots than those events.
    const healthy = await recordPush('healthy', image.digest);
    const started = Date.now();
    await until('the healthy event is done', async () => (await statusOf(healthy)) === 'done');
    const healthyMs = Date.now() - started;

    const states = await Promise.all(stuck.map(statusOf));
    expect(states).toEqual(stuck.map(() => 'pending'));
    expect(budget.stats('hung').inFlight).toBe(BUDGET);
    expect(hung.connections).toBe(BUDGET);
    expect(budget.stats('hung').refused).toBeGreaterThan(0);
    // A deferral is not a failed attempt.
    const { rows } = await db.pool.query<{ failed: string }>(
      `SELECT count(*) AS failed FROM graphile_worker.jobs WHERE last_error IS NOT NULL`,
    );
    expect(Number(rows[0]!.failed)).toBe(0);
    console.log(
      `registry-isolation figures: ${JSON.stringify({
        workerSlots: WORKER_SLOTS,
        hungBudget: BUDGET,
        hungEvents: HUNG_EVENTS,
        hungPending: states.filter((s) => s === 'pending').length,
        hungConnections: hung.connections,
        deferrals: budget.stats('hung').refused,
        healthyDoneAfterMs: healthyMs,
      })}`,
    );
  });

  it('a job deferred while its registry is busy runs later with its attempt count untouched', async () => {
    const held = [(await budget.acquire('healthy'))!, (await budget.acquire('healthy'))!];
    const refusedBefore = budget.stats('healthy').refused;
    const again = randomImage();
    await pushImage(registry.url, 'app', 'v2', again);
    const id = await recordPush('healthy', again.digest);
    await until('two deferrals', () => Promise.resolve(budget.stats('healthy').refused >= refusedBefore + 2));
    expect(await statusOf(id)).toBe('pending');
    held.forEach((release) => release());
    await until('the deferred event is done', async () => (await statusOf(id)) === 'done');
    expect((await inbox.find(id))?.attempts).toBe(1);
  });
});

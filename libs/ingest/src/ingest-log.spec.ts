import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '#config';
import { EventProcessor, LogSampler, Metrics, RegistryCatalog } from '#ingest';
import { RegistryClient } from '#registry';
import { Database, GraphRepository, InboxRepository, RegistryRepository } from '#store';
import {
  createTestDatabase,
  imageManifest,
  referrerManifest,
  startHttpStub,
  type BuiltManifest,
  type HttpStub,
  type TestDatabase,
} from '#testing';

/**
 * One log line per ingestion outcome, read through a pino stream: what was written, or why not.
 * The stub stands in for a registry that goes down or loses a manifest on cue, which the real
 * registry cannot be made to do.
 */
let tdb: TestDatabase;
let db: Database;
let stub: HttpStub;
let down = false;
const served = new Map<string, BuiltManifest>();
let inbox: InboxRepository;
let processor: EventProcessor;
let registryId: number;
const lines: Record<string, unknown>[] = [];

function serve(res: ServerResponse, m: BuiltManifest | undefined) {
  if (down) return res.writeHead(503).end('maintenance');
  if (!m) return res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  res.writeHead(200, { 'content-type': m.mediaType, 'content-length': m.bytes.length }).end(m.bytes);
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  stub = await startHttpStub((req, res) => {
    serve(res, served.get(decodeURIComponent(req.url!.split('/manifests/')[1] ?? '')));
  });
  const config = parseConfig(
    {
      registries: [
        { name: 'stub', kind: 'distribution', url: stub.url, webhook: { auth: { type: 'none' } } },
      ],
    },
    {},
  );
  const registries = new RegistryRepository(db);
  const [row] = await registries.upsertRegistries(config.registries);
  registryId = row!.id;
  const catalog = new RegistryCatalog([
    { id: registryId, config: config.registries[0]!, client: new RegistryClient(config.registries[0]!) },
  ]);
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = new LogSampler(pino({ level: 'debug' }, stream), { maxPerInterval: 1000, now: () => 0 });
  inbox = new InboxRepository(db, 5);
  processor = new EventProcessor(
    inbox,
    new GraphRepository(db),
    registries,
    catalog,
    new Metrics(),
    undefined,
    log,
  );
});

afterAll(async () => {
  await stub?.stop();
  await db?.close();
  await tdb?.drop();
});

beforeEach(() => {
  lines.length = 0;
  down = false;
});

async function record(digest: string, action: 'push' | 'delete' = 'push'): Promise<number> {
  await inbox.record(registryId, [{ action, repository: 'app', digest, occurredAt: new Date() }]);
  const [latest] = await inbox.list(undefined, 1);
  return latest!.id;
}

describe('ingestion outcome lines', () => {
  const image = imageManifest();

  it('says what a push wrote, once, and nothing for a run that finds the event finished', async () => {
    const sig = referrerManifest(image.descriptor, 'type/sig');
    served.set(sig.digest, sig);
    const id = await record(sig.digest);
    await processor.process(id, 1, 5);
    await processor.process(id, 1, 5);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'event ingested',
        eventId: id,
        registry: 'stub',
        repository: 'app',
        action: 'push',
        digest: sig.digest,
        outcome: 'done',
        kind: expect.any(String),
        edgesAdded: 1,
        edgesRemoved: 0,
      }),
    ]);
  });

  it('says what a delete removed', async () => {
    const sig = referrerManifest(image.descriptor, 'type/del');
    served.set(sig.digest, sig);
    await processor.process(await record(sig.digest), 1, 5);
    lines.length = 0;
    served.delete(sig.digest);
    await processor.process(await record(sig.digest, 'delete'), 1, 5);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'event ingested', action: 'delete', outcome: 'done', edgesRemoved: 1 }),
    ]);
  });

  it('says why a delete removed nothing while the registry still serves the manifest', async () => {
    const sig = referrerManifest(image.descriptor, 'type/kept');
    served.set(sig.digest, sig);
    await processor.process(await record(sig.digest), 1, 5);
    lines.length = 0;
    await processor.process(await record(sig.digest, 'delete'), 1, 5);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'event ingested',
        action: 'delete',
        digest: sig.digest,
        outcome: 'skipped',
        note: 'manifest still in the registry',
      }),
    ]);
  });

  it('warns with the reason while retrying, and errors when the last attempt fails', async () => {
    const sig = referrerManifest(image.descriptor, 'type/down');
    served.set(sig.digest, sig);
    const id = await record(sig.digest);
    down = true;
    await expect(processor.process(id, 1, 2)).rejects.toBeDefined();
    await processor.process(id, 2, 2);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'event not ingested',
        eventId: id,
        outcome: 'retrying',
        attempt: 1,
        maxAttempts: 2,
        error: expect.stringMatching(/503|unavailable/i),
      }),
      expect.objectContaining({ level: 50, msg: 'event not ingested', outcome: 'failed', attempt: 2 }),
    ]);
  });

  it('says why nothing was written for a manifest the registry no longer has', async () => {
    const gone = referrerManifest(image.descriptor, 'type/gone');
    const id = await record(gone.digest);
    await processor.process(id, 1, 5);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'event ingested',
        outcome: 'skipped',
        note: 'manifest no longer in the registry',
        digest: gone.digest,
      }),
    ]);
  });
});

import fc from 'fast-check';
import { parseConfig } from '#config';
import { EventProcessor, Metrics, RegistryCatalog } from '#ingest';
import { RegistryClient } from '#registry';
import { Database, GraphRepository, InboxRepository, RegistryRepository } from '#store';
import {
  artifactManifest,
  createTestDatabase,
  deleteManifest,
  descriptorOf,
  imageIndex,
  pushImage,
  randomImage,
  startHttpStub,
  startRegistry,
  type HttpStub,
  type TestRegistry,
} from '#testing';
import { getAdapter } from '#webhooks';
import { graphSnapshot, type GraphSnapshot } from '../e2e/harness.js';

/**
 * Property: any permutation of a real Distribution notification stream, with any deliveries
 * repeated and the stored events processed in any order, builds the same graph. The stream is
 * captured from the real registry (pushes, referrers, an index, a moved tag, deletes); each case
 * replays it into a fresh database through the Distribution adapter, the inbox and the event
 * processor, which fetches from the same real registry.
 */

const CASES = 40;
const token = 'property-hook-token-0123456789';
const deliveries: Buffer[] = [];

let registry: TestRegistry;
let recorder: HttpStub;
let baseline: GraphSnapshot;

const config = (url: string) =>
  parseConfig(
    {
      registries: [
        { name: 'local', kind: 'distribution', url, webhook: { auth: { type: 'bearer', tokenEnv: 'T' } } },
      ],
    },
    { T: token },
  );

beforeAll(async () => {
  recorder = await startHttpStub(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    deliveries.push(Buffer.concat(chunks));
    res.writeHead(200).end();
  });
  registry = await startRegistry({ notifyUrl: `${recorder.url}/webhooks/local`, notifyToken: token });
  const a = randomImage({ architecture: 'amd64' });
  const b = randomImage({ architecture: 'arm64' });
  await pushImage(registry.url, 'app', 'v1', a);
  await pushImage(registry.url, 'app', undefined, b);
  const sbom = artifactManifest({ subject: descriptorOf(a), artifactType: 'application/spdx+json' });
  const sig = artifactManifest({
    subject: descriptorOf(a),
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  });
  const sigOfSbom = artifactManifest({
    subject: descriptorOf(sbom),
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  });
  await pushImage(registry.url, 'app', undefined, sbom);
  await pushImage(registry.url, 'app', undefined, sig);
  await pushImage(registry.url, 'app', undefined, sigOfSbom);
  const idx = imageIndex([
    descriptorOf(a, { platform: { architecture: 'amd64', os: 'linux' } }),
    descriptorOf(b, { platform: { architecture: 'arm64', os: 'linux' } }),
  ]);
  await pushImage(registry.url, 'app', 'latest', idx);
  await pushImage(registry.url, 'app', 'v1', b); // the tag moves
  const c = randomImage({ architecture: 'amd64' });
  await pushImage(registry.url, 'other', 'v1', c);
  await pushImage(
    registry.url,
    'other',
    undefined,
    artifactManifest({ subject: descriptorOf(c), artifactType: 'application/spdx+json' }),
  );
  await deleteManifest(registry.url, 'app', sig.digest);
  // Distribution posts asynchronously: wait until the stream has been quiet for a second.
  let seen = -1;
  for (let i = 0; i < 100 && seen !== deliveries.length; i++) {
    seen = deliveries.length;
    await new Promise((r) => setTimeout(r, 1000));
  }
  baseline = await replay(
    deliveries.map((_, i) => i),
    [],
  );
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await recorder?.stop();
});

/** Feeds deliveries (indexes into the capture) and processes pending events in `order` (ranks). */
async function replay(sequence: number[], order: number[]): Promise<GraphSnapshot> {
  const tdb = await createTestDatabase();
  const db = new Database({ url: tdb.url, maxConnections: 4 });
  try {
    const cfg = config(registry.url);
    const registries = new RegistryRepository(db);
    const [row] = await registries.upsertRegistries(cfg.registries);
    const entry = { id: row!.id, config: cfg.registries[0]!, client: new RegistryClient(cfg.registries[0]!) };
    const inbox = new InboxRepository(db, 12);
    const processor = new EventProcessor(
      inbox,
      new GraphRepository(db),
      registries,
      new RegistryCatalog([entry]),
      new Metrics(),
    );
    const adapter = getAdapter('distribution');
    const drain = async () => {
      const pending = (await inbox.list('pending', 1000)).map((e) => e.id).sort((x, y) => x - y);
      // Process in the order given by `order` (ranks cycle), i.e. any interleaving a pool of workers could produce.
      const ranked = pending.map((id, i) => ({
        id,
        rank: order.length ? order[i % order.length]! * 1000 + i : i,
      }));
      for (const { id } of ranked.sort((x, y) => x.rank - y.rank)) await processor.process(id, 1, 12);
    };
    for (const [step, i] of sequence.entries()) {
      const body = deliveries[i]!;
      const req = {
        headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
        rawBody: body,
      };
      await inbox.record(entry.id, adapter.parse(req).events);
      if (order.length && order[step % order.length]! % 3 === 0) await drain();
    }
    await drain();
    return await graphSnapshot(tdb.url);
  } finally {
    await db.close();
    await tdb.drop();
  }
}

it('captured a real stream with pushes, referrers, an index, tags and a delete', () => {
  const text = deliveries.map((d) => d.toString()).join('\n');
  expect(text).toMatch(/"action":\s*"push"/);
  expect(text).toMatch(/"action":\s*"delete"/);
  expect(baseline.edges.length).toBeGreaterThanOrEqual(5);
  expect(baseline.tags.length).toBeGreaterThanOrEqual(3);
  expect(baseline.locations.some((l) => !(l as { present: boolean }).present)).toBe(true);
});

it('any permutation and duplication of the stream builds the same graph', async () => {
  const n = deliveries.length;
  const stream = fc
    .tuple(
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      fc.array(fc.nat(n - 1), { maxLength: n }),
      fc.array(fc.nat(2 * n), { minLength: 1, maxLength: 2 * n }),
    )
    .chain(([perm, dups, order]) =>
      fc
        .shuffledSubarray([...perm, ...dups], {
          minLength: perm.length + dups.length,
          maxLength: perm.length + dups.length,
        })
        .map((sequence) => ({ sequence, order })),
    );
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(stream, async ({ sequence, order }) => {
      cases++;
      expect(await replay(sequence, order)).toEqual(baseline);
    }),
    { seed: 4242, numRuns: CASES, endOnFailure: true },
  );
  process.stdout.write(
    `permutation property figures: ${JSON.stringify({ deliveries: n, cases, edges: baseline.edges.length })}\n`,
  );
  expect(cases).toBe(CASES);
}, 180_000);

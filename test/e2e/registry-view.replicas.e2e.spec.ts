import { createHash, randomBytes } from 'node:crypto';
import {
  createTestDatabase,
  pushImage,
  randomImage,
  startRegistry,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { ensureBuilt, sql, startService, stopAll, type ServiceProcess } from '../faults/service.js';

/**
 * The registry view behind a load balancer: two api processes (no worker, so nothing is ingested)
 * on one database, in front of a real Distribution registry. A client resolves an image on one
 * replica and fetches its blobs from the other, as a pull spread over replicas does.
 */

const TEAM_A = randomBytes(16).toString('hex');
const TEAM_B = randomBytes(16).toString('hex');
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const image = randomImage();
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

let tdb: TestDatabase;
let registry: TestRegistry;
let one: ServiceProcess;
let two: ServiceProcess;

beforeAll(async () => {
  await ensureBuilt();
  tdb = await createTestDatabase();
  registry = await startRegistry();
  await pushImage(registry.url, 'team-a/app', 'v1', image);
  const config = {
    registries: [
      { name: 'local', kind: 'distribution', url: registry.url, webhook: { auth: { type: 'none' } } },
    ],
    server: { host: '127.0.0.1', rateLimitPerMinute: 0 },
    auth: {
      tokens: [
        { name: 'team-a', sha256: sha(TEAM_A), scopes: ['read:local/team-a/**'] },
        { name: 'team-b', sha256: sha(TEAM_B), scopes: ['read:local/team-b/**'] },
      ],
    },
  };
  [one, two] = await Promise.all([
    startService({ role: 'api', databaseUrl: tdb.url, config }),
    startService({ role: 'api', databaseUrl: tdb.url, config }),
  ]);
}, 300_000);

afterAll(async () => {
  await stopAll();
  await registry?.stop();
  await tdb?.drop();
});

const ask = (api: ServiceProcess, path: string, token = TEAM_A, method = 'GET') =>
  fetch(`${api.url}/v2/local/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: ACCEPT },
  });

it('a blob named by a manifest pulled through one replica is served by the other, only where the caller may read', async () => {
  const [config, layer] = image.blobs;
  // Nothing recorded yet: no replica serves the blobs.
  expect((await ask(two, `team-a/app/blobs/${layer!.digest}`)).status).toBe(404);

  // Resolve on one replica (HEAD by tag, then GET by digest), as oras-go and go-containerregistry do.
  const head = await ask(one, 'team-a/app/manifests/v1', TEAM_A, 'HEAD');
  expect([head.status, head.headers.get('docker-content-digest')]).toEqual([200, image.digest]);
  const manifest = await ask(one, `team-a/app/manifests/${image.digest}`);
  expect(manifest.status).toBe(200);

  // Then the blobs from the other: config and layer, HEAD and GET.
  for (const blob of [config!, layer!]) {
    const h = await ask(two, `team-a/app/blobs/${blob.digest}`, TEAM_A, 'HEAD');
    expect([h.status, h.headers.get('content-length')]).toEqual([200, String(blob.bytes.length)]);
    const g = await ask(two, `team-a/app/blobs/${blob.digest}`);
    expect(g.status).toBe(200);
    expect(Buffer.from(await g.arrayBuffer()).equals(blob.bytes)).toBe(true);
  }

  // A pull-through in a repository the registry does not hold the manifest in links nothing.
  expect((await ask(one, `team-b/app/manifests/${image.digest}`, TEAM_B)).status).toBe(404);
  const teamB = await sql(
    tdb.url,
    `SELECT 1 FROM repository_blob b JOIN repository r ON r.id = b.repository_id WHERE r.name = 'team-b/app'`,
  );
  expect(teamB).toHaveLength(0);

  // The link is the repository's: a caller who may not read it is refused, and another
  // repository (in that caller's scope) does not hold the blob.
  expect((await ask(two, `team-a/app/blobs/${layer!.digest}`, TEAM_B)).status).toBe(403);
  const elsewhere = await ask(two, `team-b/app/blobs/${layer!.digest}`, TEAM_B);
  expect(elsewhere.status).toBe(404);
  expect(((await elsewhere.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe(
    'BLOB_UNKNOWN',
  );

  // No worker ran: the links came from the pull-through, while its ingestion still waits.
  const [pending] = await sql<{ n: string }>(
    tdb.url,
    `SELECT count(*) AS n FROM webhook_event WHERE status = 'pending'`,
  );
  expect(Number(pending!.n)).toBeGreaterThan(0);
  const located = await sql(tdb.url, 'SELECT 1 FROM artifact_location');
  expect(located).toHaveLength(0);
}, 60_000);

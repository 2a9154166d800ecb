import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseConfig } from '#config';
import { freePort } from '#store';
import { createTestDatabase, pushImage, randomImage, type TestDatabase } from '#testing';
import { eventually, graphSnapshot, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so its two configurations are run
 * for real instead: Distribution with deploy/compose/registry.yml (only its listen address, storage
 * directory and refgraph's host changed) notifying refgraph configured by deploy/compose/refgraph.yaml.
 */
interface Compose {
  services: { refgraph: { environment: Record<string, string> } };
}
interface RegistryYaml {
  http: { addr: string };
  storage: { filesystem: { rootdirectory: string } };
  notifications: { endpoints: Array<{ url: string; headers: { Authorization: string[] } }> };
}

let dir: string;
let tdb: TestDatabase;
let registry: ChildProcess | undefined;
let refgraph: StartedRefgraph | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refgraph-compose-'));
  tdb = await createTestDatabase();
});

afterAll(async () => {
  registry?.kill('SIGKILL');
  await refgraph?.running.close();
  await tdb.drop();
  await rm(dir, { recursive: true, force: true });
});

it('the compose registry notifies the compose refgraph with the token both are given', async () => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8')) as Compose;
  const tokenDefault = /:-([^}]+)\}/.exec(compose.services.refgraph.environment.LOCAL_WEBHOOK_TOKEN!)?.[1];
  expect(tokenDefault).toBe('dev-only-token');
  const refgraphYaml = parse(await readFile('deploy/compose/refgraph.yaml', 'utf8')) as {
    registries: Array<{ url: string }>;
  };
  const registryYaml = parse(await readFile('deploy/compose/registry.yml', 'utf8')) as RegistryYaml;
  const endpoint = registryYaml.notifications.endpoints[0]!;
  expect(endpoint.headers.Authorization).toEqual([`Bearer ${tokenDefault}`]);
  const cfg = parseConfig(refgraphYaml, { LOCAL_WEBHOOK_TOKEN: tokenDefault! });
  expect(new URL(endpoint.url).pathname).toBe(`/webhooks/${cfg.registries[0]!.name}`);

  const registryPort = await freePort();
  refgraphYaml.registries[0]!.url = `http://127.0.0.1:${registryPort}`;
  refgraph = await startRefgraph(tdb.url, refgraphYaml as never, { LOCAL_WEBHOOK_TOKEN: tokenDefault! });
  registryYaml.http.addr = `127.0.0.1:${registryPort}`;
  registryYaml.storage.filesystem.rootdirectory = join(dir, 'storage');
  endpoint.url = endpoint.url.replace('http://refgraph:8080', refgraph.url);
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, stringify(registryYaml));
  registry = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: 'ignore' });
  const registryUrl = `http://127.0.0.1:${registryPort}`;
  await eventually(async () => expect((await fetch(`${registryUrl}/v2/`)).status).toBe(200), 15_000);

  const image = randomImage();
  await pushImage(registryUrl, 'alpine', '3.20', image);
  await eventually(async () => {
    const snap = await graphSnapshot(tdb.url);
    expect(snap.tags).toEqual([
      expect.objectContaining({ repository: 'alpine', name: '3.20', digest: image.digest }),
    ]);
  });
});

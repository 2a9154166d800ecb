import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { parseConfig } from '#config';
import { freePort } from '#store';
import { createTestDatabase, pushImage, randomImage, type TestDatabase } from '#testing';
import { eventually, graphSnapshot, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so its parts are run for real
 * instead: Distribution with deploy/compose/registry.yml and the environment compose gives it (only
 * its listen address, storage directory and refgraph's host changed) notifying refgraph configured
 * by deploy/compose/refgraph.yaml with the environment compose gives refgraph.
 */
type Env = Record<string, string>;
interface Compose {
  services: Record<'refgraph' | 'registry', { environment: Env }>;
}
interface Endpoint {
  url: string;
  headers: { Authorization: string[] };
}

/** Compose's variable interpolation: `${VAR}`, `${VAR:-default}` (unset or empty), `$$`. */
function interpolate(value: string, vars: Env): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (m, name?: string, dflt?: string) => {
      if (m === '$$') return '$';
      const v = vars[name!];
      return v === undefined || (dflt !== undefined && v === '') ? (dflt ?? '') : v;
    },
  );
}

/** What each service sees when compose runs with `vars` in its environment. */
async function composeFor(vars: Env) {
  const compose = parse(await readFile('docker-compose.yml', 'utf8')) as Compose;
  const envOf = (svc: 'refgraph' | 'registry') =>
    Object.fromEntries(
      Object.entries(compose.services[svc].environment).map(([k, v]) => [k, interpolate(String(v), vars)]),
    );
  const registryEnv = envOf('registry');
  const endpoints = parse(registryEnv.REGISTRY_NOTIFICATIONS_ENDPOINTS!) as Endpoint[];
  const refgraphEnv = envOf('refgraph');
  const refgraphYaml = parse(await readFile('deploy/compose/refgraph.yaml', 'utf8')) as {
    registries: Array<{ url: string }>;
  };
  return { registryEnv, endpoint: endpoints[0]!, refgraphEnv, refgraphYaml };
}

/** The token refgraph's parsed config expects from the compose registry. */
function expectedToken(refgraphYaml: unknown, env: Env): string {
  const auth = parseConfig(refgraphYaml, env).registries[0]!.webhookAuth;
  if (auth.type !== 'bearer') throw new Error(`compose refgraph.yaml uses ${auth.type}, not bearer`);
  return auth.token;
}

// RFC 6750 b64token: what a bearer token may contain.
const token = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,64}=*$/);

describe('docker-compose.yml webhook token', () => {
  it('without LOCAL_WEBHOOK_TOKEN both sides use the development default', async () => {
    const c = await composeFor({});
    expect(c.endpoint.headers.Authorization).toEqual(['Bearer dev-only-token']);
    expect(expectedToken(c.refgraphYaml, c.refgraphEnv)).toBe('dev-only-token');
  });

  it('for any LOCAL_WEBHOOK_TOKEN the registry sends exactly the token refgraph expects', async () => {
    const registryFile = await readFile('deploy/compose/registry.yml', 'utf8');
    // The endpoint lives in compose only: a second one in the file would be a second source.
    expect((parse(registryFile) as { notifications?: unknown }).notifications).toBeUndefined();
    await fc.assert(
      fc.asyncProperty(token, async (t) => {
        const c = await composeFor({ LOCAL_WEBHOOK_TOKEN: t });
        expect(c.endpoint.headers.Authorization).toEqual([
          `Bearer ${expectedToken(c.refgraphYaml, c.refgraphEnv)}`,
        ]);
        expect(c.endpoint.headers.Authorization).toEqual([`Bearer ${t}`]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('the compose registry and refgraph, run for real', () => {
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

  it('the registry notifies refgraph with a token chosen at random, and refgraph accepts it', async () => {
    const t = fc.sample(token, 1)[0]!;
    const c = await composeFor({ LOCAL_WEBHOOK_TOKEN: t });
    const cfg = parseConfig(c.refgraphYaml, c.refgraphEnv);
    expect(new URL(c.endpoint.url).pathname).toBe(`/webhooks/${cfg.registries[0]!.name}`);

    const registryPort = await freePort();
    c.refgraphYaml.registries[0]!.url = `http://127.0.0.1:${registryPort}`;
    refgraph = await startRefgraph(tdb.url, c.refgraphYaml as never, {
      LOCAL_WEBHOOK_TOKEN: c.refgraphEnv.LOCAL_WEBHOOK_TOKEN!,
    });
    const registryYaml = parse(await readFile('deploy/compose/registry.yml', 'utf8')) as {
      http: { addr: string };
      storage: { filesystem: { rootdirectory: string } };
    };
    registryYaml.http.addr = `127.0.0.1:${registryPort}`;
    registryYaml.storage.filesystem.rootdirectory = join(dir, 'storage');
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, stringify(registryYaml));
    const endpoints = c.registryEnv.REGISTRY_NOTIFICATIONS_ENDPOINTS!.replace(
      'http://refgraph:8080',
      refgraph.url,
    );
    registry = spawn('/usr/bin/docker-registry', ['serve', configPath], {
      stdio: 'ignore',
      env: { ...c.registryEnv, PATH: process.env.PATH ?? '', REGISTRY_NOTIFICATIONS_ENDPOINTS: endpoints },
    });
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

    // The registry delivers in order, so once a later push has arrived, so has every pull that
    // refgraph's fetch of the first image caused, and every blob event of both pushes.
    const marker = randomImage();
    await pushImage(registryUrl, 'alpine', 'marker', marker);
    await eventually(async () => {
      const snap = await graphSnapshot(tdb.url);
      expect(snap.tags).toEqual([
        expect.objectContaining({ repository: 'alpine', name: '3.20', digest: image.digest }),
        expect.objectContaining({ repository: 'alpine', name: 'marker', digest: marker.digest }),
      ]);
    });
    // The endpoint's `ignore` keeps what refgraph has no use for at the registry (Distribution 2.8
    // applies its actions only with a media type listed): the two pushes are all it was sent.
    const { metrics } = refgraph.running.runtime;
    const total = async (c: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
      (await c.get()).values.reduce((n, v) => n + v.value, 0);
    expect(await total(metrics.webhookEvents)).toBe(2);
    expect(await total(metrics.webhookIgnored)).toBe(0);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { parse } from 'yaml';
import { parseConfig, type RefgraphConfig } from '#config';
import { createTestDatabase, type TestDatabase } from '#testing';
import { ensureBuilt, sql, startService, stopAll, type Role } from '../faults/service.js';
import { validate } from './k8s-validate.js';
import { containers, render, type K8sObject } from './kustomize.js';

/**
 * deploy/kubernetes without a cluster: every kustomization (base and overlays) is rendered by
 * ./kustomize.ts (a subset of kustomize, see there) and every object is validated against the
 * Kubernetes API schemas (kubernetes-models: validators generated from the Kubernetes OpenAPI
 * document) or, for the prometheus-operator ServiceMonitor and PodMonitor, against schemas of the CRD fields
 * used here. Then the manifests must agree with the config schema (the mounted refgraph.yaml
 * passes parseConfig with exactly the environment the Deployment gives) and with the image
 * (Dockerfile user, port, data directory, health paths). Those schemas do not forbid unknown
 * fields, so the fields that matter are also asserted by name below.
 */

const ROOT = join('deploy', 'kubernetes');
const KUSTOMIZATIONS = { base: join(ROOT, 'base'), production: join(ROOT, 'overlays', 'production') };

/** The image's facts, from the Dockerfile's runtime stage. */
function image(): { user: string; env: Record<string, string>; expose: number[]; healthPath: string } {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env = Object.fromEntries(
    [...runtime.matchAll(/^ENV (.+)$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/).map((kv) => kv.split('=') as [string, string]),
    ),
  );
  return {
    user: /^USER (\S+)$/m.exec(runtime)![1]!,
    env,
    expose: /^EXPOSE ([\d ]+)$/m.exec(runtime)![1]!.trim().split(/\s+/).map(Number),
    healthPath: /^HEALTHCHECK .*'(\/[a-z]+)'/m.exec(runtime)![1]!,
  };
}
/** The uid of user "node" in the official Node images the Dockerfile builds on. */
const NODE_UID = 1000;

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  resources: { requests: { memory: string }; limits: { memory: string } };
  securityContext: Record<string, unknown>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
type Probe = { httpGet: { path: string; port: string; scheme: string } };
interface PodSpec {
  securityContext: Record<string, unknown>;
  volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
const podSpec = (d: K8sObject) => (d.spec as { template: { spec: PodSpec } }).template.spec;
const podLabels = (d: K8sObject) =>
  (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const mebibytes = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1]);

/** A container's environment, each secretKeyRef standing for a placeholder of 40 bytes. */
function containerEnv(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef)
      env[e.name] = `value-of-${e.valueFrom.secretKeyRef.key}-`.padEnd(40, 'x');
    else throw new Error(`${e.name}: neither a value nor a secretKeyRef`);
  }
  return env;
}

/** The config file a container reads: REFGRAPH_CONFIG inside its ConfigMap mount. */
function mountedConfig(objects: K8sObject[], d: K8sObject, c: Container): unknown {
  const path = containerEnv(c).REFGRAPH_CONFIG!;
  const mount = c.volumeMounts!.find((m) => posix.dirname(path) === m.mountPath)!;
  const volume = podSpec(d).volumes.find((v) => v.name === mount.name)!;
  const configMap = find(objects, 'ConfigMap', volume.configMap!.name);
  return parse((configMap.data as Record<string, string>)[posix.basename(path)]!);
}

function containerConfig(objects: K8sObject[], d: K8sObject, c: Container): RefgraphConfig {
  return parseConfig(mountedConfig(objects, d, c), containerEnv(c), d.metadata.name);
}

const main = (d: K8sObject) => (podSpec(d) as unknown as { containers: Container[] }).containers[0]!;

describe.each(Object.entries(KUSTOMIZATIONS))('deploy/kubernetes %s', (name, dir) => {
  const objects = render(dir);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const api = find(objects, 'Deployment', 'refgraph-api');
  const worker = find(objects, 'Deployment', 'refgraph-worker');

  it('renders every kind the deployment promises, each valid against its API schema', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'Deployment',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'PodMonitor',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ].sort(),
    );
    for (const o of objects) expect(() => validate(o)).not.toThrow();
    if (name === 'production') for (const o of objects) expect(o.metadata.namespace).toBe('refgraph');
  });

  it('holds no secret: every secret the config names comes from a secretKeyRef', () => {
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    for (const d of deployments) {
      for (const e of main(d).env ?? []) {
        if (/TOKEN|PASSWORD|SECRET|DATABASE_URL/.test(e.name)) {
          expect({ name: e.name, value: e.value }).toEqual({ name: e.name, value: undefined });
          expect(e.valueFrom?.secretKeyRef?.name).toBe('refgraph');
        }
      }
    }
  });

  it('mounts a refgraph.yaml that passes parseConfig with exactly the environment each role gets', () => {
    for (const d of deployments) {
      const c = main(d);
      const config = containerConfig(objects, d, c);
      const role = c.env!.find((e) => e.name === 'REFGRAPH_ROLE')!.value;
      expect(role).toBe(podLabels(d)['app.kubernetes.io/component']);
      // Without DATABASE_URL each pod would start its own embedded Postgres: never in a cluster.
      expect(config.databaseUrl).toBeDefined();
      // More than one api replica: /v2/token tokens must verify on every replica.
      expect(config.registryView.tokenSecret).toBeDefined();
      // The api listens on server.port, the worker role's own listener on worker.port.
      expect(c.ports!.find((p) => p.name === 'http')!.containerPort).toBe(
        role === 'api' ? config.server.port : config.worker.port,
      );
    }
    const tls = containerConfig(objects, api, main(api)).server.tls;
    expect(tls !== undefined).toBe(name === 'production');
  });

  it('serves what the config and the image say: port, user, health paths, scheme', () => {
    const img = image();
    const c = main(api);
    const config = containerConfig(objects, api, c);
    expect(img.expose).toEqual([Number(img.env.PORT), Number(img.env.WORKER_PORT)]);
    expect(c.ports).toEqual([{ name: 'http', containerPort: Number(img.env.PORT), protocol: 'TCP' }]);
    const scheme = config.server.tls ? 'HTTPS' : 'HTTP';
    expect(c.startupProbe!.httpGet).toEqual({ path: img.healthPath, port: 'http', scheme });
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http', scheme });
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http', scheme });
    const health = readFileSync('apps/server/src/health/health.controller.ts', 'utf8');
    for (const route of ['healthz', 'readyz', 'metrics'])
      expect(health).toMatch(new RegExp(`@Access\\('public'\\)\\s+@Get\\('${route}'\\)`));

    // The worker's own listener: plain HTTP in every overlay (it serves no data, and the TLS
    // certificate is the api's), on the port its config and the image name.
    const w = main(worker);
    const workerConfig = containerConfig(objects, worker, w);
    expect(w.ports).toEqual([{ name: 'http', containerPort: workerConfig.worker.port, protocol: 'TCP' }]);
    expect(Number(img.env.WORKER_PORT)).toBe(workerConfig.worker.port);
    expect(w.startupProbe!.httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTP' });
    expect(w.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTP' });
    expect(w.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http', scheme: 'HTTP' });
    const listener = readFileSync('apps/server/src/health/worker-listener.ts', 'utf8');
    expect(listener).toMatch(/const config = routeAccess\('public'\);/);
    for (const route of ['healthz', 'readyz', 'metrics'])
      expect(listener).toMatch(new RegExp(`app\\.get\\('/${route}', \\{ config \\}`));
    const podMonitor = find(objects, 'PodMonitor', 'refgraph-worker').spec as {
      selector: { matchLabels: Record<string, string> };
      podMetricsEndpoints: { port: string; path: string; scheme: string }[];
    };
    expect(podMonitor.podMetricsEndpoints).toMatchObject([
      { port: 'http', path: '/metrics', scheme: 'http' },
    ]);
    expect(selects(podMonitor.selector.matchLabels, podLabels(worker))).toBe(true);
    expect(selects(podMonitor.selector.matchLabels, podLabels(api))).toBe(false);
    if (config.server.tls) {
      // The certificate files are in a mounted Secret volume.
      for (const file of [config.server.tls.certFile, config.server.tls.keyFile]) {
        const mount = c.volumeMounts!.find((m) => posix.dirname(file) === m.mountPath)!;
        expect(podSpec(api).volumes.find((v) => v.name === mount.name)!.secret?.secretName).toBe(
          'refgraph-tls',
        );
      }
    }
    const monitor = find(objects, 'ServiceMonitor', 'refgraph').spec as {
      endpoints: { port: string; path: string; scheme: string }[];
    };
    expect(monitor.endpoints).toMatchObject([
      { port: 'http', path: '/metrics', scheme: scheme.toLowerCase() },
    ]);

    expect(img.user).toBe('node');
    for (const d of deployments) {
      const pod = podSpec(d).securityContext;
      expect(pod).toMatchObject({ runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID });
      expect(main(d).securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      // The image's data directory is only the embedded Postgres's, unused with DATABASE_URL:
      // nothing is mounted there, and the read-only root holds.
      expect(img.env.REFGRAPH_DATA_DIR).toMatch(/^\/data\//);
      expect(main(d).volumeMounts!.some((m) => m.mountPath.startsWith('/data'))).toBe(false);
      for (const ctr of containers(d))
        expect(ctr.image).toBe(
          name === 'production' ? 'registry.example.com/refgraph:0.1.0' : 'refgraph:latest',
        );
    }
  });

  it('asks for at least the memory the bench measured, and wires every selector to its pods', () => {
    const peak = Number(
      /Peak RSS of the all-roles refgraph process across its runs: \*\*(\d+) MiB\*\*/.exec(
        readFileSync('bench/RESULTS.md', 'utf8'),
      )![1],
    );
    for (const d of deployments) {
      const r = main(d).resources;
      expect(mebibytes(r.limits.memory)).toBeGreaterThan(peak);
      expect(mebibytes(r.requests.memory)).toBeLessThanOrEqual(mebibytes(r.limits.memory));
    }

    for (const d of deployments) {
      expect(
        selects(
          (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
          podLabels(d),
        ),
      ).toBe(true);
    }
    const service = find(objects, 'Service', 'refgraph').spec as {
      selector: Record<string, string>;
      ports: { name: string; targetPort: string }[];
    };
    expect(selects(service.selector, podLabels(api))).toBe(true);
    expect(selects(service.selector, podLabels(worker))).toBe(false);
    expect(service.ports.map((p) => p.targetPort)).toEqual(['http']);

    const hpa = find(objects, 'HorizontalPodAutoscaler', 'refgraph-api').spec as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'refgraph-api' });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    // The HPA owns the api's replica count; a fixed one would fight it on every apply.
    expect((api.spec as { replicas?: number }).replicas).toBeUndefined();
    const pdb = find(objects, 'PodDisruptionBudget', 'refgraph-api').spec as {
      selector: { matchLabels: Record<string, string> };
      maxUnavailable: number;
    };
    expect(selects(pdb.selector.matchLabels, podLabels(api))).toBe(true);
    expect(pdb.maxUnavailable).toBeLessThan(hpa.minReplicas);

    const monitor = find(objects, 'ServiceMonitor', 'refgraph').spec as {
      selector: { matchLabels: Record<string, string> };
    };
    expect(selects(monitor.selector.matchLabels, find(objects, 'Service', 'refgraph').metadata.labels!)).toBe(
      true,
    );

    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const covered = (d: K8sObject) =>
      policies.filter((p) =>
        selects(
          (p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels,
          podLabels(d),
        ),
      );
    expect(covered(api)).toHaveLength(1);
    expect(covered(worker)).toHaveLength(1);
    // The worker takes connections on its probes-and-metrics port only.
    expect((covered(worker)[0]!.spec as { ingress: unknown[] }).ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
    for (const d of deployments)
      expect(podSpec(d).volumes.every((v) => !v.configMap || v.configMap.name === 'refgraph-config')).toBe(
        true,
      );
  });
});

describe('deploy/kubernetes overlays', () => {
  it('production changes only server.tls in the config, so the two files cannot drift', () => {
    const text = (objects: K8sObject[]) =>
      parse(
        (find(objects, 'ConfigMap', 'refgraph-config').data as Record<string, string>)['refgraph.yaml']!,
      ) as {
        server: Record<string, unknown>;
      };
    const base = text(render(KUSTOMIZATIONS.base));
    const production = text(render(KUSTOMIZATIONS.production));
    const { tls, ...rest } = production.server;
    expect(tls).toBeDefined();
    expect({ ...production, server: rest }).toEqual(base);
  });

  it('the schemas and the renderer refuse what a cluster would refuse', () => {
    const [d] = render(KUSTOMIZATIONS.base).filter((o) => o.kind === 'Deployment');
    const broken = structuredClone(d!);
    (podSpec(broken) as unknown as { containers: { ports: unknown[] }[] }).containers[0]!.ports = [
      { containerPort: 'http' },
    ];
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
    const monitor = structuredClone(find(render(KUSTOMIZATIONS.base), 'ServiceMonitor', 'refgraph'));
    (monitor.spec as { endpoints: unknown[] }).endpoints = [];
    expect(() => validate(monitor)).toThrow(/ServiceMonitor/);
    const podMonitor = structuredClone(find(render(KUSTOMIZATIONS.base), 'PodMonitor', 'refgraph-worker'));
    (podMonitor.spec as { podMetricsEndpoints: unknown[] }).podMetricsEndpoints = [{ targetPort: 8081 }];
    expect(() => validate(podMonitor)).toThrow(/PodMonitor/);
  });

  it('the renderer refuses a patch that matches nothing and a kustomize feature it does not implement', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
    try {
      const base = relative(dir, KUSTOMIZATIONS.base);
      const write = (k: string) => writeFileSync(join(dir, 'kustomization.yaml'), k);
      writeFileSync(join(dir, 'p.yaml'), '- op: replace\n  path: /spec/replicas\n  value: 3\n');
      write(
        `resources: [${base}]\npatches:\n  - path: p.yaml\n    target: { kind: Deployment, name: nosuch }\n`,
      );
      expect(() => render(dir)).toThrow(/matches nothing/);
      write(
        `resources: [${base}]\npatches:\n  - path: p.yaml\n    target: { kind: Deployment, name: refgraph-worker }\n`,
      );
      expect((find(render(dir), 'Deployment', 'refgraph-worker').spec as { replicas: number }).replicas).toBe(
        3,
      );
      write(`resources: [${base}]\ncommonLabels: { team: a }\n`);
      expect(() => render(dir)).toThrow(/"commonLabels" is not supported/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The built service (dist/, as the image runs it) started the way the base api Deployment starts
 * it: the ConfigMap's refgraph.yaml, the Deployment's environment (secrets as placeholders), its
 * role. Only the port differs (a free one here; the image's 8080 in the pod). Nothing here reaches
 * the example registry: the api never calls it, and the worker's first reconcile is an hour away.
 */
describe('the roles as deploy/kubernetes/base runs them', () => {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase();
  }, 240_000);
  afterAll(async () => {
    await stopAll();
    await db?.drop();
  });

  it('starts, answers its probes, runs no job runner and serves /metrics', async () => {
    const objects = render(KUSTOMIZATIONS.base);
    const d = find(objects, 'Deployment', 'refgraph-api');
    const c = main(d);
    const { DATABASE_URL: _db, REFGRAPH_CONFIG: _path, REFGRAPH_ROLE: role, ...env } = containerEnv(c);
    const api = await startService({
      role: role as Role,
      databaseUrl: db!.url,
      config: mountedConfig(objects, d, c) as Record<string, unknown>,
      env,
    });
    const probes = [c.startupProbe!, c.livenessProbe!, c.readinessProbe!].map((p) => p.httpGet.path);
    const answers = await Promise.all(
      probes.map(async (path) => {
        const res = await fetch(`${api.url}${path}`);
        return { path, status: res.status, body: (await res.json()) as Record<string, unknown> };
      }),
    );
    expect(answers.map((a) => [a.path, a.status])).toEqual(probes.map((p) => [p, 200]));
    expect(answers[2]!.body).toMatchObject({ status: 'ready', database: true, worker: 'off' });
    const metrics = await fetch(`${api.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^refgraph_queue_pending_events 0$/m);
    expect(await api.kill('SIGTERM')).toBe('exit 0');
  }, 120_000);

  it('the worker starts from the same files, answers its probes and scrape, schedules the reconcile and stops on SIGTERM', async () => {
    const objects = render(KUSTOMIZATIONS.base);
    const d = find(objects, 'Deployment', 'refgraph-worker');
    const c = main(d);
    const { DATABASE_URL: _db, REFGRAPH_CONFIG: _path, REFGRAPH_ROLE: role, ...env } = containerEnv(c);
    expect(role).toBe('worker');
    const worker = await startService({
      role: 'worker',
      databaseUrl: db!.url,
      config: mountedConfig(objects, d, c) as Record<string, unknown>,
      env,
    });
    const jobs = await sql<{ key: string; due: boolean }>(
      db!.url,
      `SELECT key, run_at > now() + interval '50 minutes' AS due FROM graphile_worker.jobs WHERE key IS NOT NULL`,
    );
    expect(jobs.filter((j) => j.key.includes('main'))).toEqual([expect.objectContaining({ due: true })]);
    const probes = [c.startupProbe!, c.livenessProbe!, c.readinessProbe!].map((p) => p.httpGet.path);
    const answers = await Promise.all(
      probes.map(async (path) => {
        const res = await fetch(`${worker.url}${path}`);
        return { path, status: res.status, body: (await res.json()) as Record<string, unknown> };
      }),
    );
    expect(answers.map((a) => [a.path, a.status])).toEqual(probes.map((p) => [p, 200]));
    expect(answers[2]!.body).toMatchObject({
      status: 'ready',
      database: true,
      worker: 'running',
      workerPresence: true,
    });
    const metrics = await fetch(`${worker.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# TYPE refgraph_jobs_done_total counter$/m);
    // Nothing but the three: no api, webhook, UI or GraphQL route answers on the worker's port.
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/api/v1/policies'],
      ['POST', '/webhooks/main'],
      ['POST', '/graphql'],
      ['GET', '/v2/'],
    ] as const)
      expect([method, path, (await fetch(`${worker.url}${path}`, { method })).status]).toEqual([
        method,
        path,
        404,
      ]);
    expect(worker.hasExited()).toBe(false);
    expect(await worker.kill('SIGTERM')).toBe('exit 0');
  }, 120_000);
});

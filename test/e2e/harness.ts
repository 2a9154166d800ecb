import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { pino } from 'pino';
import { parseConfig, type RefgraphConfigInput } from '#config';
import { Database, GraphRepository, RegistryRepository, TrustRepository } from '#store';
import { createTestDatabase, kindOf, type BuiltManifest, type TestDatabase } from '#testing';
import { createApp, type RunningApp } from '../../apps/server/src/app.js';

export const silentLogger = pino({ level: 'silent' });

/** The registry most suites configure: Distribution named "local", notifying with a bearer token. */
export function localDistribution(url: string, tokenEnv = 'HOOK') {
  return {
    name: 'local',
    kind: 'distribution' as const,
    url,
    webhook: { auth: { type: 'bearer' as const, tokenEnv } },
  };
}

/** An API token of a suite: configured by the SHA-256 of its secret, which the suite sends. */
export interface ApiToken {
  name: string;
  secret: string;
  scopes: string[];
}

/** The `auth.tokens` entries for the suite's tokens. */
export function apiTokens(tokens: ApiToken[]) {
  return tokens.map((t) => ({
    name: t.name,
    sha256: createHash('sha256').update(t.secret).digest('hex'),
    scopes: t.scopes,
  }));
}

export interface StartedRefgraph {
  running: RunningApp;
  url: string;
}

/** The whole service in-process (api and worker roles) on a real database. */
export async function startRefgraph(
  databaseUrl: string,
  config: RefgraphConfigInput,
  env: Record<string, string> = {},
): Promise<StartedRefgraph> {
  const cfg = parseConfig(
    {
      ...config,
      server: { host: '127.0.0.1', port: 0, logLevel: 'silent', ...config.server },
      worker: { pollIntervalMs: 100, concurrency: 4, ...config.worker },
    },
    env,
  );
  const running = await createApp({ config: cfg, databaseUrl, logger: silentLogger });
  const url = await running.listen();
  return { running, url };
}

/** The two repositories of the scope suites, in the registry "local". */
export type Team = 'a' | 'b';

/**
 * The scope suites' world: refgraph on its own database with registry "local" holding team-a/app
 * and team-b/app, the suite's API tokens, and graph rows written the way ingestion writes them,
 * straight through the store.
 */
export interface TeamWorld {
  refgraph: StartedRefgraph;
  /** A handle of the test's own on the service's database. */
  db: Database;
  trust: TrustRepository;
  repositoryIds: Record<Team, number>;
  /** Records a push of `m` (optionally tagged) into the team's repository (or one by id), as ingestion does. */
  push(team: Team | number, m: BuiltManifest, tag?: string): Promise<void>;
  /** The id of repository `name` of registry "local", created when new. */
  repository(name: string): Promise<number>;
  close(): Promise<void>;
}

export async function startTeamWorld(opts: {
  tokens: ApiToken[];
  trust?: RefgraphConfigInput['trust'];
  policies?: RefgraphConfigInput['policies'];
}): Promise<TeamWorld> {
  const tdb: TestDatabase = await createTestDatabase();
  const refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [localDistribution('http://127.0.0.1:9')],
      ...(opts.trust ? { trust: opts.trust } : {}),
      ...(opts.policies ? { policies: opts.policies } : {}),
      auth: { tokens: apiTokens(opts.tokens) },
    },
    { HOOK: 'hook-secret' },
  );
  const db = new Database({ url: tdb.url, maxConnections: 2 });
  const registries = new RegistryRepository(db);
  const graph = new GraphRepository(db);
  const reg = (await registries.findRegistryByName('local'))!;
  const repositoryIds: Record<Team, number> = {
    a: await registries.ensureRepository(reg.id, 'team-a/app'),
    b: await registries.ensureRepository(reg.id, 'team-b/app'),
  };
  return {
    refgraph,
    db,
    trust: new TrustRepository(db),
    repositoryIds,
    async push(team, m, tag) {
      await graph.applyPush({
        repositoryId: typeof team === 'number' ? team : repositoryIds[team],
        manifest: m.parsed,
        kind: kindOf(m),
        bytes: m.bytes,
        tag,
        eventAt: new Date(),
      });
    },
    repository: (name) => registries.ensureRepository(reg.id, name),
    async close() {
      await db.close();
      await refgraph.running.close();
      await tdb.drop();
    },
  };
}

export interface RecordedDelivery {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sits between the registry's notifications and refgraph, forwarding every delivery and keeping
 * a copy, so a test can replay exactly what the registry sent.
 */
export async function startRecordingForwarder(target: () => string) {
  const deliveries: RecordedDelivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      deliveries.push({ headers: req.headers, body });
      fetch(`${target()}${req.url}`, { method: 'POST', headers: forwardable(req.headers), body })
        .then(async (r) => {
          res.writeHead(r.status);
          res.end(await r.text());
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    deliveries,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function forwardable(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || ['host', 'content-length', 'connection', 'accept-encoding'].includes(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Polls until `check` passes or the deadline; the last failure is rethrown so it explains itself. */
/**
 * The statements the read model sends while `fn` runs (its own time-bounded pool on the primary;
 * no replicas are configured in these suites), with `fn`'s result.
 */
export async function readStatementsDuring<T>(
  refgraph: StartedRefgraph,
  fn: () => Promise<T>,
): Promise<{ statements: string[]; result: T }> {
  const pool = refgraph.running.runtime.primaryReads.pool;
  const statements: string[] = [];
  const original = pool.query;
  pool.query = ((textOrConfig: string | { text: string }, values?: unknown[]) => {
    statements.push(typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text);
    return original.call(pool, textOrConfig, values);
  }) as typeof pool.query;
  try {
    return { statements, result: await fn() };
  } finally {
    pool.query = original;
  }
}

/** POSTs JSON with a Bearer token; the status and the parsed answer. */
export async function postJson(baseUrl: string, token: string, path: string, body: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** Everything that makes up the graph, without surrogate ids or wall-clock columns. */
export interface GraphSnapshot {
  edges: unknown[];
  locations: unknown[];
  tags: unknown[];
  artifacts: unknown[];
}

export async function graphSnapshot(databaseUrl: string): Promise<GraphSnapshot> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const q = async (sql: string) => (await c.query(sql)).rows;
    return {
      edges:
        await q(`SELECT g.name AS registry, r.name AS repository, e.subject_digest, e.referrer_digest, e.kind,
                         e.source_digest, e.via_tag
                      FROM edge e JOIN repository r ON r.id = e.repository_id JOIN registry g ON g.id = r.registry_id
                      ORDER BY 1, 2, 3, 4, 5, 6, 7`),
      locations: await q(`SELECT r.name AS repository, l.digest, l.present, l.event_at, l.deleted_at
                          FROM artifact_location l JOIN repository r ON r.id = l.repository_id ORDER BY 1, 2`),
      tags: await q(`SELECT r.name AS repository, t.name, t.digest, t.event_at
                     FROM tag t JOIN repository r ON r.id = t.repository_id ORDER BY 1, 2`),
      artifacts:
        await q(`SELECT a.digest, a.media_type, a.artifact_type, a.kind, a.size, a.subject_digest, a.annotations
                          FROM artifact a
                          WHERE EXISTS (SELECT 1 FROM artifact_location l WHERE l.digest = a.digest AND l.present)
                          ORDER BY 1`),
    };
  } finally {
    await c.end();
  }
}

export async function pendingEvents(databaseUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM webhook_event WHERE status = 'pending'`,
    );
    return Number(rows[0]!.n);
  } finally {
    await c.end();
  }
}

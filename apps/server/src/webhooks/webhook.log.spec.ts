import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { parseConfig } from '#config';
import { LogSampler, Metrics, RegistryCatalog } from '#ingest';
import { RegistryClient } from '#registry';
import { Database, InboxRepository, RegistryRepository } from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';
import { WebhookReceiver } from './webhook.receiver.js';
import { webhookRoutes } from './webhook.routes.js';

/**
 * What an operator reads for each webhook delivery: one JSON line through pino with the registry,
 * status and counts, or the refusal's reason, and never the credential or the body. Served by the
 * real routes over real Postgres; no registry is contacted on intake.
 */
let tdb: TestDatabase;
let db: Database;
let app: FastifyInstance;
let base: string;
let t = 0;
const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
const SECRET = 'log-hook-token-0123456789';
const BODY_LIMIT = 4096;
const TYPE = 'application/vnd.docker.distribution.events.v1+json';

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database({ url: tdb.url, maxConnections: 4 });
  const config = parseConfig(
    {
      registries: [
        {
          name: 'dist',
          kind: 'distribution',
          url: 'http://127.0.0.1:9',
          webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK' } },
        },
      ],
    },
    { HOOK: SECRET },
  );
  const rows = await new RegistryRepository(db).upsertRegistries(config.registries);
  const catalog = new RegistryCatalog(
    config.registries.map((c) => ({ id: rows[0]!.id, config: c, client: new RegistryClient(c) })),
  );
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  const log = new LogSampler(logger, { maxPerInterval: 3, intervalMs: 1000, now: () => t });
  const receiver = new WebhookReceiver(catalog, new InboxRepository(db, 5), new Metrics(), log);
  app = Fastify();
  await app.register(webhookRoutes(receiver, BODY_LIMIT, logger));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await db?.close();
  await tdb?.drop();
});

beforeEach(() => {
  lines.length = 0;
  raw.length = 0;
  t += 10_000; // a fresh sampler interval per test
});

const push = (id: string, c: string) => ({
  id,
  action: 'push',
  target: {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    repository: 'team/app',
    digest: `sha256:${c.repeat(64)}`,
  },
});

async function post(opts: { registry?: string; token?: string; type?: string; body: string }) {
  const res = await fetch(`${base}/webhooks/${opts.registry ?? 'dist'}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token ?? SECRET}`, 'content-type': opts.type ?? TYPE },
    body: opts.body,
  });
  await res.arrayBuffer();
  return res.status;
}

const envelope = (events: unknown[]) => JSON.stringify({ events });
const levelName = (n: unknown) => ({ 30: 'info', 40: 'warn' })[n as number];

describe('webhook delivery log', () => {
  it('writes one info line per accepted delivery with its counts, and one for its retry', async () => {
    const body = envelope([push('log-1', 'a'), push('log-2', 'b')]);
    expect(await post({ body })).toBe(202);
    expect(await post({ body })).toBe(202);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'webhook delivery',
      registry: 'dist',
      status: 202,
      outcome: 'accepted',
      accepted: 2,
      duplicates: 0,
      ignored: 0,
      rejected: 0,
    });
    expect(lines[1]).toMatchObject({ level: 30, outcome: 'duplicate', accepted: 0, duplicates: 2 });
  });

  it('warns once with the reasons when events are rejected, not again for the retry', async () => {
    const md5 = {
      ...push('log-bad', 'c'),
      target: { repository: 'team/app', digest: `md5:${'a'.repeat(32)}` },
    };
    const body = envelope([md5, push('log-3', 'c')]);
    expect(await post({ body })).toBe(202);
    expect(await post({ body })).toBe(202);
    expect(lines.map((l) => [levelName(l.level), l.outcome])).toEqual([
      ['warn', 'rejected'],
      ['info', 'duplicate'],
    ]);
    expect(lines[0]).toMatchObject({
      accepted: 1,
      rejected: 1,
      reasons: [expect.stringMatching(/^events\[0\]/)],
    });
  });

  it.each([
    ['a wrong secret', { token: 'wrong-token-abcdefghijkl' }, 401, 'unauthorized'],
    ['an unknown registry', { registry: 'nosuch' }, 404, 'registry_unknown'],
    ['a body over the limit', { body: 'x'.repeat(BODY_LIMIT + 1) }, 413, 'payload_too_large'],
    ['a media type the sender never uses', { type: 'text/plain' }, 415, 'unsupported_media_type'],
    ['a body that is no envelope', { body: '{"not":"events"}' }, 400, 'bad_request'],
  ])('warns with the reason for %s', async (_what, opts, status, code) => {
    const body = (opts as { body?: string }).body ?? envelope([push('log-refused', 'd')]);
    expect(await post({ ...opts, body })).toBe(status);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'webhook refused', status, outcome: code });
    expect(lines[0]!.reason).toEqual(expect.any(String));
    // Neither credential nor body is ever written.
    expect(raw.join('')).not.toContain('wrong-token');
    expect(raw.join('')).not.toContain(SECRET);
    expect(raw.join('')).not.toContain('log-refused');
    expect(raw.join('')).not.toContain('xxxx');
  });

  it('above the rate, writes one summary with the counts instead of a line per refusal', async () => {
    for (let i = 0; i < 10; i++) await post({ token: 'wrong-token-abcdefghijkl', body: '{}' });
    expect(lines).toHaveLength(3);
    t += 1000;
    await post({ token: 'wrong-token-abcdefghijkl', body: '{}' });
    expect(lines).toHaveLength(5);
    expect(lines[3]).toMatchObject({
      level: 40,
      kind: 'webhook refused',
      suppressed: 7,
      outcomes: { unauthorized: 7 },
    });
  });
});

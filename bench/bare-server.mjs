// The stack limit: bare fastify + pg answering the same requests as refgraph with the same SQL,
// the same pool size and the same response bytes, and nothing else (no Nest, no validation
// beyond what the SQL needs, no metrics). Run as its own process by bench/run.mjs:
//   DATABASE_URL=... PORT=... BENCH_WEBHOOK_TOKEN=... node bench/bare-server.mjs
import Fastify from 'fastify';
import pg from 'pg';
import { loadConfig } from '#config';
import { contentSha256 } from '#store';
import { registerAnswerRoutes } from './lib/bare-answers.mjs';
import { REFERRERS_SQL } from './lib/referrers-sql.mjs';

pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

const PAGE = 500;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
pool.on('error', () => undefined);
const token = process.env.BENCH_WEBHOOK_TOKEN ?? '';
const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.get('/v2/*', async (req, reply) => {
  const path = req.url.split('?', 1)[0].slice('/v2/'.length);
  const at = path.lastIndexOf('/referrers/');
  const name = path.slice(0, at);
  const subject = path.slice(at + '/referrers/'.length);
  const slash = name.indexOf('/');
  if (at <= 0 || slash <= 0 || !DIGEST_RE.test(subject)) return reply.status(404).send();
  const { rows } = await pool.query({
    name: 'find-referrers',
    text: REFERRERS_SQL,
    values: [name.slice(0, slash), name.slice(slash + 1), subject, '', null, PAGE + 1],
  });
  const page = rows.slice(0, PAGE).map((r) => {
    const d = { mediaType: r.media_type, digest: r.digest, size: r.size };
    if (r.artifact_type) d.artifactType = r.artifact_type;
    if (r.annotations && Object.keys(r.annotations).length) d.annotations = r.annotations;
    return d;
  });
  if (rows.length > PAGE) {
    const params = new URLSearchParams({ n: String(PAGE), last: page[page.length - 1].digest });
    reply.header('link', `</v2/${name}/referrers/${subject}?${params.toString()}>; rel="next"`);
  }
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: page }));
  return reply.status(200).header('content-type', OCI_INDEX).send(body);
});

// Webhook accept: the same durable write as refgraph's inbox (event rows and their jobs in one
// transaction per delivery), with the bearer check and JSON parse, and nothing else.
const registryIds = new Map();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/webhooks/:registry', async (req, reply) => {
  if (req.headers.authorization !== `Bearer ${token}`) return reply.status(401).send();
  let registryId = registryIds.get(req.params.registry);
  if (registryId === undefined) {
    const { rows } = await pool.query('SELECT id FROM registry WHERE name = $1', [req.params.registry]);
    if (!rows[0]) return reply.status(404).send();
    registryId = rows[0].id;
    registryIds.set(req.params.registry, registryId);
  }
  const events = JSON.parse(req.body.toString('utf8')).events.filter(
    (e) => e.action === 'push' || e.action === 'delete',
  );
  const receivedAt = new Date();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      `INSERT INTO webhook_event (registry_id, sender_event_id, content_sha256, action, repository, digest, tag,
                                 media_type, event_at, received_at)
       SELECT $1, s, h, a, r, d, t, m, COALESCE(e, $10), $10
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
         AS ev(s, h, a, r, d, t, m, e)
       ON CONFLICT (registry_id, sender_event_id, content_sha256) DO NOTHING
       RETURNING id`,
      [
        registryId,
        events.map((e) => e.id ?? null),
        events.map((e) =>
          contentSha256({
            action: e.action,
            repository: e.target?.repository ?? '',
            digest: e.target?.digest ?? null,
            tag: e.target?.tag ?? null,
            mediaType: e.target?.mediaType ?? null,
          }),
        ),
        events.map((e) => e.action),
        events.map((e) => e.target?.repository ?? ''),
        events.map((e) => e.target?.digest ?? null),
        events.map((e) => e.target?.tag ?? null),
        events.map((e) => e.target?.mediaType ?? null),
        events.map((e) => e.timestamp ?? null),
        receivedAt,
      ],
    );
    if (rows.length > 0) {
      await client.query(
        `SELECT graphile_worker.add_job('ingest_event', json_build_object('eventId', id), max_attempts := 12)
         FROM unnest($1::bigint[]) AS id`,
        [rows.map((r) => r.id)],
      );
    }
    await client.query('COMMIT');
    return reply.status(202).send({ accepted: rows.length });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
});

// REST answers: the service's answer code without its framework (bench/lib/bare-answers.mjs).
const config = loadConfig(process.env);
const closeAnswers = await registerAnswerRoutes(app, {
  databaseUrl: process.env.DATABASE_URL,
  registries: config.registries,
  policies: config.policies,
  trust: config.trust,
});

const port = Number(process.env.PORT ?? 0);
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => Promise.all([pool.end(), closeAnswers()]))
    .then(() => process.exit(0));
});

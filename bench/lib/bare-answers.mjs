// The stack limit for refgraph's REST answers: bare fastify routes calling the service's own
// answer code (libs/answers over libs/store, compiled in dist/) on a plain pg pool of the same size.
// Same SQL, same answer objects, same JSON; none of the service's framework (Nest routing,
// validation, authentication, rate limiting, ETags, metrics). bench/run.mjs checks that both
// servers answer the same bodies before measuring.
import { Answers, evaluatePolicy } from '#answers';
import { RegistryCatalog } from '#ingest';
import { Database, QueryRepository } from '#store';

const GATEKEEPER = 'externaldata.gatekeeper.sh/v1beta1';

/**
 * Registers GET /api/v1/artifacts/:digest, GET /api/v1/artifacts/:digest/referrers,
 * POST /api/v1/verdict and POST /api/v1/gatekeeper/:policy on `app`. `registries` are the
 * configured registries (name, url) and `policies` the configured admission policies, as the
 * service has them.
 */
export function registerAnswerRoutes(app, { databaseUrl, registries, policies }) {
  const db = new Database({ url: databaseUrl, maxConnections: 20 });
  const query = new QueryRepository(db);
  const catalog = new RegistryCatalog(
    registries.map((config, i) => ({ id: i + 1, config, client: undefined })),
  );
  const answers = new Answers(query, catalog);
  const policyNamed = (name) => policies.find((p) => p.name === name);
  const json = (reply, status, body) =>
    reply.status(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));

  app.get('/api/v1/artifacts/:digest', async (req, reply) => {
    const s = (await answers.summaries([req.params.digest], undefined)).get(req.params.digest);
    return s ? json(reply, 200, s) : json(reply, 404, { error: { code: 'not_found' } });
  });

  app.get('/api/v1/artifacts/:digest/referrers', async (req, reply) =>
    json(reply, 200, await answers.referrers(req.params.digest, { depth: 1, scope: undefined, limit: 100 })),
  );

  app.post('/api/v1/verdict', async (req, reply) => {
    const { policy: name, subjects } = JSON.parse(req.body.toString('utf8'));
    const resolved = await answers.resolveAll(subjects);
    const failed = resolved.find((r) => r instanceof Error);
    if (failed) return json(reply, 404, { error: { code: 'not_found', message: failed.message } });
    const verdict = await evaluatePolicy(query, policyNamed(name), [
      ...new Set(resolved.map((r) => r.digest)),
    ]);
    return json(reply, 200, {
      ...verdict,
      subjects: resolved.map((r) => ({
        reference: r.reference,
        ...verdict.subjects.find((s) => s.subject === r.digest),
      })),
    });
  });

  app.post('/api/v1/gatekeeper/:policy', async (req, reply) => {
    const { keys } = JSON.parse(req.body.toString('utf8')).request;
    const resolved = (await answers.resolveAll(keys)).map((r, i) =>
      r instanceof Error ? { key: keys[i], error: r.message } : { key: keys[i], digest: r.digest },
    );
    const digests = [...new Set(resolved.flatMap((r) => (r.digest ? [r.digest] : [])))];
    const verdict = await evaluatePolicy(query, policyNamed(req.params.policy), digests);
    const bySubject = new Map(verdict.subjects.map((s) => [s.subject, s]));
    const items = resolved.map((r) => {
      if (!r.digest) return { key: r.key, error: r.error };
      const v = bySubject.get(r.digest);
      return { key: r.key, value: { digest: r.digest, allowed: v.allowed, reasons: v.reasons } };
    });
    return json(reply, 200, {
      apiVersion: GATEKEEPER,
      kind: 'ProviderResponse',
      response: { idempotent: true, items, systemError: '' },
    });
  });

  return () => db.close();
}

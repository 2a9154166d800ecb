// The stack limit for refgraph's REST answers: bare fastify routes calling the service's own
// answer code (libs/answers over libs/store, compiled in dist/) on a plain pg pool of the same size.
// Same SQL, same answer objects, same JSON; none of the service's framework (Nest routing,
// validation, authentication, rate limiting, ETags, metrics). bench/run.mjs checks that both
// servers answer the same bodies before measuring.
import { Answers, NotFoundError, Viewer } from '#answers';
import { RegistryCatalog } from '#ingest';
import { Database, ReadRepository } from '#store';
import { TrustPolicy } from '#verify';

const GATEKEEPER = 'externaldata.gatekeeper.sh/v1beta1';

/**
 * Registers GET /api/v1/artifacts/:digest, GET /api/v1/artifacts/:digest/referrers,
 * POST /api/v1/verdict and POST /api/v1/gatekeeper/:policy on `app`. `registries` are the
 * configured registries (name, url), `policies` the configured admission policies and `trust`
 * the trust section, as the service has them.
 */
export async function registerAnswerRoutes(app, { databaseUrl, registries, policies, trust }) {
  const db = new Database({ url: databaseUrl, maxConnections: 20 });
  const catalog = new RegistryCatalog(
    registries.map((config, i) => ({ id: i + 1, config, client: undefined })),
  );
  // The version in force, asked when results are read (the service's refreshes; the bench's stays).
  const version = (await TrustPolicy.load(trust)).version;
  const answers = new Answers(new ReadRepository(db), catalog, policies, () => version);
  // The bench configures no API tokens: every caller reads everything, as in the service.
  const reader = () => answers.for(Viewer.everything('anonymous'));
  const json = (reply, status, body) =>
    reply.status(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  const notFound = (reply, err) => {
    if (err instanceof NotFoundError)
      return json(reply, 404, { error: { code: 'not_found', message: err.message } });
    throw err;
  };

  app.get('/api/v1/artifacts/:digest', async (req, reply) => {
    try {
      return json(reply, 200, await reader().summary(req.params.digest));
    } catch (err) {
      return notFound(reply, err);
    }
  });

  app.get('/api/v1/artifacts/:digest/referrers', async (req, reply) => {
    try {
      return json(
        reply,
        200,
        await reader().referrers(req.params.digest, { depth: 1, limit: 100, children: false }),
      );
    } catch (err) {
      return notFound(reply, err);
    }
  });

  app.post('/api/v1/verdict', async (req, reply) => {
    const { policy, subjects, references } = JSON.parse(req.body.toString('utf8'));
    const verdict = await reader().verdict(policy, subjects, { images: references === 'image' });
    return verdict ? json(reply, 200, verdict) : json(reply, 404, { error: { code: 'policy_unknown' } });
  });

  app.post('/api/v1/gatekeeper/:policy', async (req, reply) => {
    const { keys } = JSON.parse(req.body.toString('utf8')).request;
    const verdict = await reader().verdict(req.params.policy, keys, { images: true });
    const items = (verdict?.subjects ?? []).map((v, i) => {
      const value = { digest: v.subject, allowed: v.allowed, reasons: v.reasons, codes: v.codes };
      return v.subject === null ? { key: keys[i], value, error: v.reasons[0] } : { key: keys[i], value };
    });
    return json(reply, 200, {
      apiVersion: GATEKEEPER,
      kind: 'ProviderResponse',
      response: {
        idempotent: true,
        items,
        systemError: verdict ? '' : `no policy named "${req.params.policy}"`,
      },
    });
  });

  return () => db.close();
}

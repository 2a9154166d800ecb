// The worker role's HTTP listener: probes and metrics only, so Kubernetes can probe the worker
// pods and Prometheus can scrape them. It serves no data and takes no credentials.
import Fastify, { type FastifyInstance } from 'fastify';
import type { RegisteredRoute } from '../app.js';
import { declaredAccess, routeAccess } from '../auth/access.js';
import { installAuth } from '../auth/auth.hook.js';
import { errorBody } from '../http/errors.js';
import type { Runtime } from '../runtime.js';
import { readiness, scrape, type HealthSources } from './health.js';

/**
 * /healthz (live), /readyz (the database answers and is migrated, the job runner runs and holds
 * its presence lock) and /metrics, each declared public, behind the same auth hook as the api
 * (which denies any route without a declaration); every other path is 404.
 */
export async function createWorkerListener(
  runtime: Runtime,
  routes: RegisteredRoute[],
): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: 1024 });
  app.addHook('onRoute', (r) => {
    const access = declaredAccess(r.config);
    for (const method of [r.method].flat()) routes.push({ method: String(method), url: r.url, access });
  });
  installAuth(app, runtime.authenticator, runtime.limiter, runtime.logger);
  const sources: HealthSources = {
    db: runtime.db,
    inbox: runtime.inbox,
    metrics: runtime.metrics,
    worker: runtime.workerHealth,
  };
  const config = routeAccess('public');
  app.get('/healthz', { config }, () => ({ status: 'ok' }));
  app.get('/readyz', { config }, async (_req, reply) => {
    const { ready, body } = await readiness(sources, { requireWorker: true });
    return reply.status(ready ? 200 : 503).send(body);
  });
  app.get('/metrics', { config }, async (_req, reply) => {
    const { contentType, text } = await scrape(sources);
    return reply.status(200).header('content-type', contentType).send(text);
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send(errorBody('not_found', 'the worker serves /healthz, /readyz and /metrics only', String(req.id))),
  );
  await app.ready();
  return app;
}

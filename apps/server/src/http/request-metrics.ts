/**
 * Time to answer, per route: a histogram of every HTTP request from its arrival to its response
 * being written, labelled by method, route pattern (never the raw URL: one series per route, not
 * per digest) and status class. What a webhook sender waits for per delivery, or an admission
 * controller per verdict, is read from here.
 */
import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

export function installRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const seconds = new Histogram({
    name: 'refgraph_http_request_duration_seconds',
    help: 'Time from a request arriving to its response written, by method, route pattern and status class',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', (req, reply, done) => {
    seconds.observe(
      {
        method: req.method,
        // Requests no route matched share one series, whatever their URL.
        route: req.routeOptions.url ?? 'unmatched',
        status: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

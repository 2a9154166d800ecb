import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorBody, fastifyCode } from '../http/errors.js';
import { routeAccess } from '../auth/access.js';
import type { WebhookReceiver } from './webhook.receiver.js';

/**
 * POST /webhooks/:registry as an encapsulated Fastify plugin: it needs the exact bytes (HMAC is
 * computed over them) whatever the content type, and its own body limit, which Nest's shared
 * JSON parsing would not give. Parsing and auth belong to the sender's adapter.
 */
export function webhookRoutes(receiver: WebhookReceiver, bodyLimit: number, logger: Logger) {
  return (app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      if (err.statusCode && err.statusCode < 500) {
        // Refused before the receiver read it (a body over the limit): logged as its refusals are.
        const registry = (req.params as { registry?: string } | undefined)?.registry ?? '';
        receiver.refuse(registry, err.statusCode, fastifyCode(err.code), err.message);
        return reply
          .status(err.statusCode)
          .send(errorBody(fastifyCode(err.code), err.message, String(req.id)));
      }
      logger.error({ err, requestId: req.id }, 'webhook failed');
      // 503 so that senders that retry do retry: nothing was acknowledged.
      return reply
        .status(503)
        .send(errorBody('unavailable', 'could not store the events; retry later', String(req.id)));
    });

    app.post<{ Params: { registry: string } }>(
      '/webhooks/:registry',
      { config: routeAccess('webhook') },
      async (req: FastifyRequest<{ Params: { registry: string } }>, reply: FastifyReply) => {
        const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const res = await receiver.receive(req.params.registry, { headers: req.headers, rawBody });
        const body = res.body as { error?: { code: string; message: string } } | undefined;
        if (body?.error)
          return reply
            .status(res.status)
            .send(errorBody(body.error.code, body.error.message, String(req.id)));
        return reply.status(res.status).send(res.body);
      },
    );
    done();
  };
}

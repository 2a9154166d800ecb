// The size cap of a GraphQL response: a body over it is replaced by an error, never sent.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

export const GRAPHQL_PATH = '/graphql';

/**
 * An onSend hook on the GraphQL route: the serialised response (the only copy, made once by
 * fastify) is measured, and one over `maxBytes` is replaced by a GraphQL error with code
 * RESPONSE_TOO_LARGE (400: the caller asked for too much; smaller pages fit). Complexity limits
 * bound the work; this bounds what one response puts on the wire and in memory at the client.
 */
export function installResponseCap(app: FastifyInstance, maxBytes: number, logger: Logger): void {
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (req.routeOptions.url !== GRAPHQL_PATH || typeof payload !== 'string') return payload;
    const bytes = Buffer.byteLength(payload);
    if (bytes <= maxBytes) return payload;
    logger.warn({ reqId: req.id, bytes, limit: maxBytes }, 'GraphQL response over the size cap; not sent');
    void reply.status(400).header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify(responseTooLarge(bytes, maxBytes));
  });
}

export function responseTooLarge(bytes: number, limit: number) {
  return {
    data: null,
    errors: [
      {
        message:
          `the response would be ${bytes} bytes; the limit is ${limit}: ` +
          'ask for smaller pages (first), fewer fields or fewer aliases',
        extensions: { code: 'RESPONSE_TOO_LARGE', bytes, limit },
      },
    ],
  };
}

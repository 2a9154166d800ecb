import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { NotFoundError, ReferenceError } from '#answers';
import { isInputError, isReadTimeout } from '#store';

export const READ_TIMEOUT_MESSAGE = 'the database did not answer in time; no answer is given';

export const INPUT_MESSAGE = 'a parameter holds characters refgraph cannot search for (such as NUL)';

/** A caller's mistake or a known condition, mapped to a status by the one filter below. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  /** `reason` refines `code` where clients act on the difference (why a reference is not found). */
  error: { code: string; message: string; requestId: string; reason?: string };
}

export function errorBody(code: string, message: string, requestId: string, reason?: string): ErrorBody {
  return { error: { code, message, requestId, ...(reason ? { reason } : {}) } };
}

/** Every error leaves as one JSON shape; anything unexpected becomes a 500 that names only a request id. */
@Catch()
export class AllErrorsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    replyError(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>(), this.logger);
  }
}

/** The one mapping of an error to its answer, for the exception filter and Fastify's handler alike. */
export function replyError(
  exception: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  const requestId = String(request.id);
  if (exception instanceof ApiError) {
    void reply.status(exception.status).send(errorBody(exception.code, exception.message, requestId));
    return;
  }
  if (exception instanceof NotFoundError) {
    void reply.status(404).send(errorBody('not_found', exception.message, requestId, exception.reason));
    return;
  }
  if (exception instanceof ReferenceError) {
    void reply.status(400).send(errorBody('invalid_reference', exception.message, requestId));
    return;
  }
  if (isInputError(exception)) {
    // A parameter Postgres cannot compare or store (a NUL character, an invalid byte): the
    // caller's input, never a server fault.
    void reply.status(400).send(errorBody('invalid_input', INPUT_MESSAGE, requestId));
    return;
  }
  if (isReadTimeout(exception)) {
    // No answer rather than a partial one: policy engines deny on a non-200 (fail closed).
    logger.warn({ requestId, url: request.url, target: exception.target }, exception.message);
    void reply
      .status(503)
      .header('retry-after', '1')
      .send(errorBody('unavailable', READ_TIMEOUT_MESSAGE, requestId));
    return;
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : `http_${status}`;
    void reply.status(status).send(errorBody(code, exception.message, requestId));
    return;
  }
  const err = exception as { statusCode?: number; message?: string; code?: string };
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Fastify's own client errors (body too large, bad content type, malformed JSON).
    void reply
      .status(err.statusCode)
      .send(errorBody(fastifyCode(err.code), err.message ?? 'bad request', requestId));
    return;
  }
  logger.error({ err: exception, requestId, url: request.url }, 'unhandled error');
  void reply
    .status(500)
    .send(errorBody('internal', 'internal error; quote the request id when reporting it', requestId));
}

/**
 * Fastify's own refusals of a request before any handler ran (malformed or empty JSON, a body
 * over the limit, an unsupported content type) in the one error shape, with the request id. The
 * exception filter above never sees them: Fastify gives each route its scope's error handler as
 * the route is added, and Nest sets the root's only after adding its routes. So every route added
 * on the root gets this one; routes of encapsulated plugins (webhooks, the registry view, GraphQL)
 * keep their own.
 */
export function installRequestErrors(fastify: FastifyInstance, logger: Logger): void {
  const handler = (err: unknown, req: FastifyRequest, reply: FastifyReply): void =>
    replyError(err, req, reply, logger);
  fastify.addHook('onRoute', function (this: FastifyInstance, route) {
    if (this === fastify && route.errorHandler === undefined) route.errorHandler = handler;
  });
}

export function fastifyCode(code: string | undefined): string {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'payload_too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'malformed_json';
    case undefined:
    default:
      return 'bad_request';
  }
}

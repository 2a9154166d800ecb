/** Distribution-spec error bodies for the registry view, and how upstream failures map to them. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError, InvalidNameError } from '#registry';
import { isInputError, isReadTimeout } from '#store';

export type OciErrorCode =
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'BLOB_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'NAME_INVALID'
  | 'DIGEST_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'RANGE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

/** A view answer that is not content: status, spec code, message. */
export class ViewError extends Error {
  constructor(
    readonly status: number,
    readonly code: OciErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ViewError';
  }
}

/** The answer outside the caller's scope: the same whether or not the registry or repository exists. */
export function viewDenied(registry: string, repository: string): ViewError {
  return new ViewError(403, 'DENIED', `this token may not read ${registry}/${repository}`);
}

export function sendOciError(reply: FastifyReply, err: ViewError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
  return reply
    .status(err.status)
    .header('content-type', 'application/json')
    .send({ errors: [{ code: err.code, message: err.message }] });
}

/**
 * What a client sees when refgraph could not answer: 404 for absent, 503 while the registry is
 * down or limiting or the database gave no answer in time (never a partial one), 502 for any
 * registry answer refgraph refuses to pass on (wrong bytes, refused credentials, redirects to
 * unlisted hosts), 400 for a parameter the database cannot compare. Returns undefined for the
 * rest: the caller answers those with a 500 that names only the request.
 */
export function viewErrorFor(
  err: unknown,
  absent: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN',
): ViewError | undefined {
  if (err instanceof ViewError) return err;
  if (err instanceof InvalidNameError) return new ViewError(400, 'NAME_INVALID', err.message);
  if (isReadTimeout(err))
    return new ViewError(503, 'UNAVAILABLE', 'refgraph could not read its record in time', 1);
  if (isInputError(err))
    return new ViewError(
      400,
      'UNSUPPORTED',
      'a parameter holds a character refgraph cannot compare (NUL or an invalid byte)',
    );
  if (!(err instanceof RegistryError)) return undefined;
  const retry = err.retryAfterMs === undefined ? undefined : Math.ceil(err.retryAfterMs / 1000);
  switch (err.code) {
    case 'not_found':
      return new ViewError(404, absent, `not found in the registry (${err.message})`);
    case 'unavailable':
    case 'rate_limited':
      return new ViewError(503, 'UNAVAILABLE', `registry unavailable: ${err.message}`, retry);
    case 'too_large':
      return new ViewError(403, 'DENIED', `refused: ${err.message}`);
    case 'unauthorized':
      return new ViewError(
        502,
        'UNAVAILABLE',
        `the registry refused refgraph's pull credentials: ${err.message}`,
      );
    case 'digest_mismatch':
    case 'bad_response':
    case 'forbidden_redirect':
      return new ViewError(502, 'UNAVAILABLE', `refused the registry's answer: ${err.message}`);
  }
}

/** Anything else: a spec-shaped 500 naming only the request, the cause in the log. */
export function sendUnexpected(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  req.log.error({ err }, 'registry view: unhandled error');
  return sendOciError(
    reply,
    new ViewError(500, 'UNKNOWN', `internal error; quote request id ${String(req.id)} when reporting it`),
  );
}

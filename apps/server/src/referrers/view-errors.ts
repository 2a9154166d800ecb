/** Distribution-spec error bodies for the registry view, and how upstream failures map to them. */
import type { FastifyReply } from 'fastify';
import { RegistryError, InvalidNameError } from '#registry';

export type OciErrorCode =
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'BLOB_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'NAME_INVALID'
  | 'DIGEST_INVALID'
  | 'PAGINATION_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE';

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

export function sendOciError(reply: FastifyReply, err: ViewError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
  return reply
    .status(err.status)
    .header('content-type', 'application/json')
    .send({ errors: [{ code: err.code, message: err.message }] });
}

/**
 * What a client sees when the registry could not give refgraph the content: 404 for absent,
 * 503 while the registry is down or limiting, 502 for any answer refgraph refuses to pass on
 * (wrong bytes, refused credentials, redirects to unlisted hosts). Returns undefined for errors
 * that are not the registry's (they stay 500s).
 */
export function viewErrorFor(
  err: unknown,
  absent: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN',
): ViewError | undefined {
  if (err instanceof ViewError) return err;
  if (err instanceof InvalidNameError) return new ViewError(400, 'NAME_INVALID', err.message);
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

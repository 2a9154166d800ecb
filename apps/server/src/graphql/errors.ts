import { randomUUID } from 'node:crypto';
import { Catch, HttpException, Inject, type ExceptionFilter } from '@nestjs/common';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { NotFoundError, ReferenceError } from '#answers';
import { isInputError, isReadTimeout } from '#store';
import { INPUT_MESSAGE, READ_TIMEOUT_MESSAGE } from '../http/errors.js';
import { LOGGER } from '../tokens.js';

/** Codes in `extensions.code`; clients branch on these, never on messages. */
export type GraphqlErrorCode =
  | 'INVALID_DIGEST'
  | 'INVALID_REFERENCE'
  | 'INVALID_CURSOR'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_ALIASES'
  | 'QUERY_TOO_LARGE'
  | 'RESPONSE_TOO_LARGE'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'BAD_REQUEST'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** A caller's mistake, reported as is with its code. */
export class GraphqlInputError extends GraphQLError {
  constructor(message: string, code: GraphqlErrorCode) {
    super(message, { extensions: { code } });
  }
}

function httpCode(status: number): GraphqlErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  return status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL';
}

/**
 * Maps what a resolver threw to an error a client may see. Known domain errors keep their message
 * with a code; anything else is logged and replaced by a correlation id (no stack, no SQL).
 */
export function toClientError(err: unknown, logger: Logger): GraphQLError {
  if (err instanceof GraphQLError && typeof err.extensions.code === 'string') return err;
  if (err instanceof NotFoundError) return new GraphqlInputError(err.message, 'NOT_FOUND');
  if (err instanceof ReferenceError) return new GraphqlInputError(err.message, 'INVALID_REFERENCE');
  if (isInputError(err)) return new GraphqlInputError(INPUT_MESSAGE, 'BAD_USER_INPUT');
  if (isReadTimeout(err))
    return new GraphQLError(READ_TIMEOUT_MESSAGE, { extensions: { code: 'UNAVAILABLE' } });
  if (err instanceof HttpException && err.getStatus() < 500) {
    return new GraphqlInputError(err.message, httpCode(err.getStatus()));
  }
  const errorId = randomUUID();
  logger.error({ err, errorId }, 'unhandled GraphQL error');
  return new GraphQLError(`internal error; quote ${errorId} when reporting it`, {
    extensions: { code: 'INTERNAL', errorId },
  });
}

/** Resolver exceptions become GraphQL errors here (the global HTTP filter does not apply). */
@Catch()
export class GraphqlErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown): GraphQLError {
    return toClientError(exception, this.logger);
  }
}

interface MercuriusLikeError {
  code?: string;
  message: string;
  errors?: unknown[];
  statusCode?: number;
}

/**
 * The 4xx status of a request refused before any GraphQL ran: Fastify's body parsing (malformed
 * JSON, too large, an unreadable encoding) and mercurius' request checks (no query, variables
 * that are not JSON). Undefined for anything else.
 */
function requestStatus(original: MercuriusLikeError | undefined): number | undefined {
  const { code, statusCode } = original ?? {};
  if (typeof code !== 'string' || !/^(FST|MER)_ERR_/.test(code) || typeof statusCode !== 'number') {
    return undefined;
  }
  return statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
}

/** One error as sent: request-level errors (parse, validation, limits) get a code too. */
function formatOne(error: GraphQLError, logger: Logger): GraphQLFormattedError[] {
  const original = error.originalError as MercuriusLikeError | undefined;
  if (original && Array.isArray(original.errors)) {
    // Mercurius wraps parse, validation and depth failures in one error carrying the list.
    return original.errors.map((e) => {
      const inner = e as MercuriusLikeError & { extensions?: Record<string, unknown> };
      const json: GraphQLFormattedError = e instanceof GraphQLError ? e.toJSON() : { message: inner.message };
      const code =
        (inner.extensions?.code as string | undefined) ??
        (inner.code === 'MER_ERR_GQL_QUERY_DEPTH'
          ? 'QUERY_TOO_DEEP'
          : inner.message.startsWith('Syntax Error')
            ? 'GRAPHQL_PARSE_FAILED'
            : 'GRAPHQL_VALIDATION_FAILED');
      return { ...json, extensions: { ...json.extensions, code } };
    });
  }
  if (requestStatus(original) !== undefined) {
    return [{ message: original!.message, extensions: { code: 'BAD_REQUEST' } }];
  }
  if (!error.path && !original) {
    const json = error.toJSON();
    return [{ ...json, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...json.extensions } }];
  }
  const mapped = toClientError(original ?? error, logger);
  return [{ ...mapped.toJSON(), locations: error.locations, path: error.path }];
}

/** Codes of a document refused before it runs: the answer is 400. */
const REFUSED_DOCUMENT = new Set<GraphqlErrorCode>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COMPLEX',
  'TOO_MANY_ALIASES',
  'QUERY_TOO_LARGE',
]);

/** Mercurius `errorFormatter`: codes on every error, nothing internal leaks. */
export function graphqlErrorFormatter(logger: Logger) {
  return (execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>) => {
    const errors = execution.errors.flatMap((e) => formatOne(e, logger));
    const refused = execution.errors
      .map((e) => requestStatus(e.originalError as MercuriusLikeError | undefined))
      .find((status) => status !== undefined);
    if (refused !== undefined && !execution.data)
      return { statusCode: refused, response: { data: null, errors } };
    const requestLevel = !execution.data && errors.every((e) => e.extensions?.code !== 'INTERNAL');
    const invalid = errors.some((e) => REFUSED_DOCUMENT.has(e.extensions?.code as GraphqlErrorCode));
    return {
      statusCode: requestLevel && invalid ? 400 : 200,
      response: { data: execution.data ?? null, errors },
    };
  };
}

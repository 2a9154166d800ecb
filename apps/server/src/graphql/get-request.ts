// GraphQL over GET: what the query string must hold before mercurius runs it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getOperationAST, Kind, parse, type DocumentNode } from 'graphql';
import { countTokens } from './document-limits.js';
import { LIMITS } from './input.js';

type Refusal = { message: string; code: 'BAD_REQUEST' | 'GRAPHQL_VALIDATION_FAILED' };

/**
 * Why a GET request cannot run, or undefined when mercurius may take it (its own checks still
 * apply: a missing query, `variables` that are not JSON, syntax, validation, the token limit).
 * POST's body schema refuses `variables` that are not an object; GET's comes as JSON text that
 * mercurius parses and hands to graphql-js, which throws on anything but an object. And for GET
 * mercurius looks up the operation to run before graphql-js does, failing on a document that has
 * no operation of that name (or several and no name). Both would end as internal errors.
 */
export function refuseGetRequest(query: Record<string, unknown>): Refusal | undefined {
  const { variables, operationName } = query;
  if (typeof variables === 'string' && variables !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(variables);
    } catch {
      return undefined;
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed)))
      return { message: 'variables must be a JSON object', code: 'BAD_REQUEST' };
  }
  const text = query.query;
  // Over the token limit the document is refused unparsed, as every document is.
  if (typeof text !== 'string' || text === '' || countTokens(text, LIMITS.maxTokens) > LIMITS.maxTokens)
    return undefined;
  let document: DocumentNode;
  try {
    document = parse(text, { noLocation: true });
  } catch {
    return undefined;
  }
  const name = typeof operationName === 'string' ? operationName : undefined;
  if (getOperationAST(document, name)) return undefined;
  // graphql-js's own messages, as a POST of the same request is answered.
  const message =
    name !== undefined
      ? `Unknown operation named "${name}".`
      : document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)
        ? 'Must provide operation name if query contains multiple operations.'
        : 'Must provide an operation.';
  return { message, code: 'GRAPHQL_VALIDATION_FAILED' };
}

/** Route `preHandler` of /graphql: refuses such a GET with 400 in the GraphQL error shape. */
export async function checkGetRequest(
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  // A query string its schema refused (a parameter given twice) is mercurius' to answer.
  if (req.method !== 'GET' || req.validationError) return undefined;
  const refusal = refuseGetRequest((req.query ?? {}) as Record<string, unknown>);
  if (!refusal) return undefined;
  return reply
    .status(400)
    .send({ data: null, errors: [{ message: refusal.message, extensions: { code: refusal.code } }] });
}

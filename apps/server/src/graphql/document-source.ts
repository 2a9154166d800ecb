// Only documents graphql-js parsed from GraphQL text are validated and run.
import { Location, type DocumentNode } from 'graphql';
import { GraphqlInputError } from './errors.js';

/**
 * mercurius runs a `query` that does not parse as GraphQL as a JSON-encoded syntax tree, and runs
 * a subscription `query` sent as an object as it is. Such a tree is the caller's JSON, not a parse:
 * its nodes can carry any value (an array or an object where the schema says String reaches a
 * resolver as it is) and any shape graphql-js does not expect. A document parsed from text carries
 * a `Location`, which JSON cannot build.
 */
export function assertParsedDocument(document: DocumentNode): void {
  if (!((document as { loc?: unknown } | null)?.loc instanceof Location)) {
    throw new GraphqlInputError(
      'the query is not GraphQL text (it does not parse; a syntax tree sent as JSON is not accepted)',
      'GRAPHQL_PARSE_FAILED',
    );
  }
}

/** mercurius `preValidation` hook for queries over HTTP. */
export function parsedDocumentsOnly(_schema: unknown, document: DocumentNode): void {
  assertParsedDocument(document);
}

// Document limits: what a GraphQL document may be before it is parsed and validated at all.
import { Lexer, Location, Source, TokenKind, type DocumentNode } from 'graphql';
import { GraphqlInputError } from './errors.js';
import { LIMITS } from './input.js';

/**
 * Lexical tokens of `source`, counted up to `max + 1` (so the work is bounded by the limit, not by
 * the document). A lexing error ends the count: the parser reports it.
 */
export function countTokens(source: string, max: number): number {
  const lexer = new Lexer(new Source(source));
  let tokens = 0;
  try {
    while (tokens <= max && lexer.advance().kind !== TokenKind.EOF) tokens++;
  } catch {
    // A syntax error: parsing reports it with its location.
  }
  return tokens;
}

/**
 * Refuses a document text over `max` tokens. Parsing, and every validation rule after it, costs
 * in proportion to the tokens (a body of a megabyte holds half a million of them, and some rules
 * recurse once per nesting level), so the count comes first.
 */
export function checkDocumentText(source: string, max: number = LIMITS.maxTokens): void {
  if (countTokens(source, max) > max) {
    throw new GraphqlInputError(
      `the document has more than ${max} tokens; the limit is ${max}: send smaller operations`,
      'QUERY_TOO_LARGE',
    );
  }
}

/**
 * Accepts only documents parsed here from GraphQL text. mercurius also takes a query that is a
 * JSON-encoded syntax tree (HTTP) or an object (graphql-ws): such a tree skips the token limit,
 * and a malformed one crashes validation. A parsed document's location is graphql-js's Location;
 * one built from JSON is a plain object, whatever it claims.
 */
export function requireParsedText(document: DocumentNode): Location {
  // `null`, `1` or `"x"` as the query parse as JSON too, so the document may not even be an object.
  const loc = (document as { loc?: unknown } | null | undefined)?.loc;
  if (!(loc instanceof Location)) {
    throw new GraphqlInputError('the query must be GraphQL text', 'GRAPHQL_PARSE_FAILED');
  }
  return loc;
}

/** Both checks, on a document parsed elsewhere (graphql-ws frames, parsed by mercurius). */
export function checkParsedDocument(document: DocumentNode, max: number = LIMITS.maxTokens): void {
  checkDocumentText(requireParsedText(document).source.body, max);
}

/** mercurius `preParsing`: the token limit on the query text. */
export function limitDocumentText(_schema: unknown, source: string): void {
  checkDocumentText(source);
}

/** mercurius `preValidation`: only documents parsed from text reach validation. */
export function limitParsedDocument(_schema: unknown, document: DocumentNode): void {
  requireParsedText(document);
}

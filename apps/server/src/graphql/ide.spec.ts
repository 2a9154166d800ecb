import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { EXAMPLE_QUERY } from './ide.controller.js';

describe('the GraphQL IDE', () => {
  it('opens with example operations that are valid against the committed schema', () => {
    const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
    const document = parse(EXAMPLE_QUERY);
    expect(validate(schema, document)).toEqual([]);
    expect(document.definitions.length).toBeGreaterThanOrEqual(2);
  });
});

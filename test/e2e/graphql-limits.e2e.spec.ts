import { parse } from 'graphql';
import { createTestDatabase, type TestDatabase } from '#testing';
import { LIMITS } from '../../apps/server/src/graphql/input.js';
import { readStatementsDuring, startRefgraph, type StartedRefgraph } from './harness.js';

/**
 * Bounded GraphQL work over HTTP: documents over the cost limits are refused with 400 before
 * anything executes, however they are built, and a response over the size cap is replaced by an
 * error instead of being sent.
 */

const MAX_RESPONSE_BYTES = 4096;
const DIGEST = `sha256:${'b'.repeat(64)}`;

let tdb: TestDatabase;
let refgraph: StartedRefgraph;

beforeAll(async () => {
  tdb = await createTestDatabase();
  refgraph = await startRefgraph(tdb.url, {
    worker: { enabled: false },
    graphql: { maxResponseBytes: MAX_RESPONSE_BYTES },
  });
});

afterAll(async () => {
  await refgraph?.running.close();
  await tdb?.drop();
});

type Json = Record<string, any>;

async function gql(query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${refgraph.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, bytes: Buffer.byteLength(text), body: JSON.parse(text) as Json };
}

function doubling(n: number): string {
  const fragments = ['fragment F0 on Artifact { digest kind children { digest } }'];
  for (let i = 1; i <= n; i++) fragments.push(`fragment F${i} on Artifact { ...F${i - 1} ...F${i - 1} }`);
  return `{ artifact(digest: "${DIGEST}") { ...F${n} } }\n${fragments.join('\n')}`;
}

it('refuses exponentially expanding fragments and aliased lists with 400 before executing', async () => {
  const exponential = await gql(doubling(30));
  expect(exponential.status).toBe(400);
  expect(exponential.body).toEqual({
    data: null,
    errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }) })],
  });
  const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: children { parents { digest } }`).join(' ');
  const aliased = await gql(`{ artifacts(first: 100) { edges { node { ${aliases} } } } }`);
  expect(aliased.status).toBe(400);
  expect(aliased.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  // The process still answers normally afterwards.
  expect((await gql(`{ artifact(digest: "${DIGEST}") { digest } }`)).body).toEqual({
    data: { artifact: null },
  });
});

it('replaces a response over the size cap with a RESPONSE_TOO_LARGE error', async () => {
  // Introspection is free for the cost rule, and its answer is far larger than the cap.
  const big = await gql('{ __schema { types { name description fields { name description } } } }');
  expect(big.status).toBe(400);
  expect(big.bytes).toBeLessThan(MAX_RESPONSE_BYTES);
  expect(big.body).toEqual({
    data: null,
    errors: [
      {
        message: expect.stringMatching(/^the response would be \d+ bytes; the limit is 4096/),
        extensions: { code: 'RESPONSE_TOO_LARGE', bytes: expect.any(Number), limit: MAX_RESPONSE_BYTES },
      },
    ],
  });
  expect(big.body.errors[0].extensions.bytes).toBeGreaterThan(MAX_RESPONSE_BYTES);
  process.stdout.write(`graphql-limits response cap: ${JSON.stringify(big.body.errors[0].extensions)}\n`);
  const small = await gql('{ __schema { queryType { name } } }');
  expect(small).toMatchObject({
    status: 200,
    body: { data: { __schema: { queryType: { name: 'Query' } } } },
  });
});

const aliased = (n: number, field: (i: number) => string) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;

it('refuses more aliases than the limit before any statement: each alias of a root field is one', async () => {
  const packages = (i: number) => `packages(purl: "pkg:npm/p${i}", first: 1) { digest }`;
  const within = await readStatementsDuring(refgraph, () => gql(aliased(LIMITS.maxAliases, packages)));
  expect(within.result.status).toBe(200);
  // DataLoaders batch one field at one level; aliases of a root field are not batched.
  expect(within.statements).toHaveLength(LIMITS.maxAliases);
  const over = await readStatementsDuring(refgraph, () => gql(aliased(LIMITS.maxAliases + 1, packages)));
  expect(over.statements).toHaveLength(0);
  expect(over.result.status).toBe(400);
  expect(over.result.body).toEqual({
    data: null,
    errors: [
      expect.objectContaining({
        extensions: { code: 'TOO_MANY_ALIASES', aliases: LIMITS.maxAliases + 1, limit: LIMITS.maxAliases },
      }),
    ],
  });
});

it('refuses a document over the token limit before parsing or validating it', async () => {
  // Valid GraphQL (the same field merges into one), so only its size is wrong.
  const query = `{ artifact(digest: "${DIGEST}") { ${'digest '.repeat(LIMITS.maxTokens)} } }`;
  const { statements, result } = await readStatementsDuring(refgraph, () => gql(query));
  expect(statements).toHaveLength(0);
  expect(result.status).toBe(400);
  expect(result.body.errors).toEqual([
    {
      message: `the document has more than ${LIMITS.maxTokens} tokens; the limit is ${LIMITS.maxTokens}: send smaller operations`,
      extensions: { code: 'QUERY_TOO_LARGE' },
    },
  ]);
  const nested = `{ artifact(digest: "${DIGEST}") ${'{ children '.repeat(20_000)}${'}'.repeat(20_001)}`;
  expect((await gql(nested)).body.errors[0].extensions.code).toBe('QUERY_TOO_LARGE');
});

it('takes queries only as GraphQL text: a syntax tree sent as JSON is refused with 400', async () => {
  const malformed = JSON.stringify({ kind: 'Document', definitions: [{ kind: 'OperationDefinition' }] });
  const wellFormed = JSON.stringify({
    kind: 'Document',
    definitions: [
      {
        kind: 'OperationDefinition',
        operation: 'query',
        selectionSet: {
          kind: 'SelectionSet',
          selections: [{ kind: 'Field', name: { kind: 'Name', value: '__typename' } }],
        },
      },
    ],
  });
  for (const query of [malformed, wellFormed]) {
    const res = await gql(query);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { message: 'the query must be GraphQL text', extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
    ]);
  }
});

it('quotes only the start of a refused argument, however long, under every alias', async () => {
  const digest = `sha256:${'a'.repeat(100_000)}`;
  const query = `query ($d: String!) ${aliased(8, () => 'artifact(digest: $d) { digest }')}`;
  const res = await gql(query, { d: digest });
  expect(res.status).toBe(200);
  expect(res.body.errors.map((e: Json) => e.extensions.code)).toEqual(Array(8).fill('INVALID_DIGEST'));
  // Each error quotes 140 characters of the value, never its 100,000: the answer fits the cap.
  expect(res.bytes).toBeLessThan(MAX_RESPONSE_BYTES);
});

it('refuses a request it cannot read as GraphQL with a 4xx that says why, never an internal error', async () => {
  const post = (body: string | Buffer, contentType = 'application/json') =>
    fetch(`${refgraph.url}/graphql`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const cases: Array<[string, Promise<Response>, number, RegExp]> = [
    ['no query', post('{}'), 400, /unknown query/i],
    ['truncated JSON', post('{"query":'), 400, /JSON/],
    ['bytes that are not UTF-8', post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, /JSON/],
    [
      'a body over the limit',
      post(JSON.stringify({ query: `{ ${'__typename '.repeat(200_000)} }` })),
      413,
      /too large/i,
    ],
    ['GET without a query', fetch(`${refgraph.url}/graphql`), 400, /unknown query/i],
    [
      'GET with variables that are not JSON',
      fetch(`${refgraph.url}/graphql?query=%7B__typename%7D&variables=%7B`),
      400,
      /JSON/,
    ],
  ];
  for (const [what, pending, status, message] of cases) {
    const res = await pending;
    const body = (await res.json()) as Json;
    expect({ what, status: res.status, body }).toEqual({
      what,
      status,
      body: {
        data: null,
        errors: [{ message: expect.stringMatching(message), extensions: { code: 'BAD_REQUEST' } }],
      },
    });
  }
});

it('refuses a GET whose variables, operation name or parameters POST would refuse, with a 400 naming them', async () => {
  const get = (params: Record<string, string | string[]>) => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) qs.append(k, one);
    return fetch(`${refgraph.url}/graphql?${qs.toString()}`);
  };
  const named = 'query A { __typename } query B { __typename }';
  const cases: Array<[string, Promise<Response>, string, string]> = [
    [
      'variables a number',
      get({ query: '{ __typename }', variables: '1' }),
      'BAD_REQUEST',
      'variables must be a JSON object',
    ],
    [
      'variables a string',
      get({ query: '{ __typename }', variables: '"{}"' }),
      'BAD_REQUEST',
      'variables must be a JSON object',
    ],
    [
      'variables a list',
      get({ query: '{ __typename }', variables: '[]' }),
      'BAD_REQUEST',
      'variables must be a JSON object',
    ],
    [
      'an unknown operation',
      get({ query: named, operationName: 'C' }),
      'GRAPHQL_VALIDATION_FAILED',
      'Unknown operation named "C".',
    ],
    [
      'an empty operation name',
      get({ query: '{ __typename }', operationName: '' }),
      'GRAPHQL_VALIDATION_FAILED',
      'Unknown operation named "".',
    ],
    [
      'two operations and no name',
      get({ query: named }),
      'GRAPHQL_VALIDATION_FAILED',
      'Must provide operation name if query contains multiple operations.',
    ],
    [
      'query twice',
      get({ query: ['{ __typename }', '{ __typename }'] }),
      'GRAPHQL_VALIDATION_FAILED',
      'querystring/query must be string',
    ],
    [
      'variables twice',
      get({ query: '{ __typename }', variables: ['{}', '{}'] }),
      'GRAPHQL_VALIDATION_FAILED',
      'querystring/variables must be string',
    ],
    [
      'operationName twice',
      get({ query: named, operationName: ['A', 'B'] }),
      'GRAPHQL_VALIDATION_FAILED',
      'querystring/operationName must be string,null',
    ],
  ];
  for (const [what, pending, code, message] of cases) {
    const res = await pending;
    expect({ what, status: res.status, body: await res.json() }).toEqual({
      what,
      status: 400,
      body: { data: null, errors: [{ message, extensions: { code } }] },
    });
  }
  // What the checks let through runs as before: a named operation, null variables.
  for (const params of [
    { query: named, operationName: 'B' } as Record<string, string>,
    { query: '{ __typename }', variables: 'null' },
  ]) {
    const res = await get(params);
    expect({ params, status: res.status, body: await res.json() }).toEqual({
      params,
      status: 200,
      body: { data: { __typename: 'Query' } },
    });
  }
});

it('refuses a syntax tree sent as JSON in place of GraphQL text, before any resolver runs', async () => {
  // A tree graphql-js would validate, but whose digest argument is an array, not a String.
  const tree = JSON.parse(JSON.stringify(parse(`{ artifact(digest: "${DIGEST}") { digest } }`))) as {
    definitions: Array<{ selectionSet: { selections: Array<{ arguments: Array<{ value: unknown }> }> } }>;
  };
  tree.definitions[0]!.selectionSet.selections[0]!.arguments[0]!.value = {
    kind: 'StringValue',
    value: [DIGEST],
  };
  for (const query of [JSON.stringify(tree), '1', 'null', '{"kind":"Document"}']) {
    const res = await gql(query);
    expect({ query, res }).toEqual({
      query,
      res: {
        status: 400,
        bytes: expect.any(Number),
        body: {
          data: null,
          errors: [
            {
              message: 'the query must be GraphQL text',
              extensions: { code: 'GRAPHQL_PARSE_FAILED' },
            },
          ],
        },
      },
    });
  }
});

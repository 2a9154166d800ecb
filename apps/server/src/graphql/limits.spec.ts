import { readFileSync } from 'node:fs';
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  visit,
  type DocumentNode,
} from 'graphql';
import { LIMITS } from './input.js';
import {
  DEFAULT_LIST_CAP,
  LIST_CAPS,
  MAX_FRAGMENT_NESTING,
  measureDocument,
  queryLimitsRule,
} from './limits.js';

// The committed schema is what the running service serves (checked for drift by the e2e suite).
const schema = buildSchema(readFileSync(new URL('../../../../schema.graphql', import.meta.url), 'utf8'));
/** The explorer's GraphQL documents (plain JavaScript, typed by its own tsconfig). */
const EXPLORER: string = '../../../ui/src/queries.js';
const DIGEST = `sha256:${'a'.repeat(64)}`;

function errorsOf(query: string) {
  return validate(schema, parse(query), [...specifiedRules, queryLimitsRule()]);
}

/** Selections (fields, spreads, inline fragments) written in the document. */
function selectionCount(doc: DocumentNode): number {
  let n = 0;
  visit(doc, { Field: () => void n++, FragmentSpread: () => void n++, InlineFragment: () => void n++ });
  return n;
}

/** `fragment F<i> { ...F<i-1> ...F<i-1> }`: 2^n fields when each spread is walked again. */
function doubling(n: number, spreads = 2): string {
  const fragments = [`fragment F0 on Artifact { digest kind }`];
  for (let i = 1; i <= n; i++) {
    fragments.push(
      `fragment F${i} on Artifact { ${Array(spreads)
        .fill(`...F${i - 1}`)
        .join(' ')} }`,
    );
  }
  return `{ artifact(digest: "${DIGEST}") { ...F${n} } }\n${fragments.join('\n')}`;
}

const codes = (query: string) => errorsOf(query).map((e) => e.extensions.code ?? e.message);

describe('GraphQL cost rule', () => {
  it('rejects exponentially expanding fragments, walking each fragment once', () => {
    const query = doubling(30);
    expect(codes(query)).toEqual(['QUERY_TOO_COMPLEX']);
    const { operations, visits } = measureDocument(schema, parse(query));
    expect(operations[0]!.exceeded).toBe(true);
    expect(visits).toBeLessThanOrEqual(selectionCount(parse(query)));
    process.stdout.write(`graphql-limits figures: ${JSON.stringify({ doubling30: { visits } })}\n`);
  });

  it('does work linear in the document size (visits counted, never more than one per selection)', () => {
    const unlimited = { depth: Infinity, complexity: Infinity, aliases: Infinity };
    const figures: Record<string, { selections: number; visits: number; complexity: number }> = {};
    for (const n of [4, 8, 16, MAX_FRAGMENT_NESTING - 2]) {
      for (const spreads of [2, 5]) {
        const doc = parse(doubling(n, spreads));
        const selections = selectionCount(doc);
        // Without limits every selection is walked exactly once, however often a fragment is spread.
        const full = measureDocument(schema, doc, unlimited);
        expect(full.visits).toBe(selections);
        expect(full.operations[0]!.complexity).toBeGreaterThanOrEqual(2 ** n);
        // With the limits the walk stops early.
        expect(measureDocument(schema, doc).visits).toBeLessThanOrEqual(selections);
        figures[`n${n}x${spreads}`] = {
          selections,
          visits: full.visits,
          complexity: full.operations[0]!.complexity,
        };
      }
    }
    process.stdout.write(`graphql-limits figures: ${JSON.stringify(figures)}\n`);
  });

  it('reuses a fragment over the limits across operations without walking it again', () => {
    const body = doubling(30);
    const ops = Array.from(
      { length: 50 },
      (_, i) => `query Q${i} { artifact(digest: "${DIGEST}") { ...F30 } }`,
    );
    const doc = parse(`${ops.join('\n')}\n${body.slice(body.indexOf('\n') + 1)}`);
    const { operations, visits } = measureDocument(schema, doc);
    expect(operations).toHaveLength(50);
    expect(operations.every((o) => o.exceeded && o.complexity > LIMITS.maxComplexity)).toBe(true);
    expect(visits).toBeLessThanOrEqual(selectionCount(doc));
  });

  it('costs aliases of uncapped lists at their hard caps and rejects the products', () => {
    const children = Array.from(
      { length: 40 },
      (_, i) => `c${i}: children { parents { children { digest } } }`,
    );
    expect(codes(`{ artifact(digest: "${DIGEST}") { ${children.join(' ')} } }`)).toEqual([
      'QUERY_TOO_COMPLEX',
    ]);

    const sigs = Array.from({ length: 20 }, (_, i) => `s${i}: signatures { status }`);
    const { operations } = measureDocument(
      schema,
      parse(`{ artifact(digest: "${DIGEST}") { ${sigs.join(' ')} } }`),
    );
    // artifact (1) + 20 × cap × (signatures 1 + status 1)
    expect(operations[0]!.complexity).toBe(1 + 20 * LIST_CAPS['Artifact.signatures'] * 2);

    const pages = `{ artifacts(first: 100) { edges { node { children { parents { digest } } } } } }`;
    expect(codes(pages)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('counts aliases as executed: each one at the root, in introspection, and again at every spread', () => {
    const aliased = (n: number, field: (i: number) => string) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;
    const packages = (i: number) => `packages(purl: "pkg:npm/p${i}", first: 1) { digest }`;
    // Cheap in complexity (2 each), but each alias is one resolver run and one SQL statement.
    const within = measureDocument(schema, parse(aliased(LIMITS.maxAliases, packages))).operations[0]!;
    expect(within).toMatchObject({ aliases: LIMITS.maxAliases, complexity: 2 * LIMITS.maxAliases });
    expect(codes(aliased(LIMITS.maxAliases, packages))).toEqual([]);
    expect(codes(aliased(LIMITS.maxAliases + 1, packages))).toEqual(['TOO_MANY_ALIASES']);
    // Introspection costs no complexity, but each alias builds one more copy of the schema.
    expect(codes(aliased(LIMITS.maxAliases + 1, () => '__schema { types { name } }'))).toEqual([
      'TOO_MANY_ALIASES',
    ]);
    // A fragment's aliases run at each place it is spread.
    const half = Array.from({ length: LIMITS.maxAliases / 2 + 1 }, (_, i) => `d${i}: digest`).join(' ');
    const spread = `{ artifact(digest: "${DIGEST}") { ...F children { ...F } } } fragment F on Artifact { ${half} }`;
    const { operations } = measureDocument(schema, parse(spread));
    expect(operations[0]!.aliases).toBe(LIMITS.maxAliases + 2);
    expect(codes(spread)).toEqual(['TOO_MANY_ALIASES']);
  });

  it('terminates on fragment cycles and leaves the report to graphql-js', () => {
    const query = `{ artifact(digest: "${DIGEST}") { ...A } }
      fragment A on Artifact { digest children { ...B } }
      fragment B on Artifact { kind parents { ...A } }`;
    const found = errorsOf(query);
    expect(found.map((e) => e.message)).toEqual([
      expect.stringMatching(/Cannot spread fragment "A" within itself/),
    ]);
    expect(measureDocument(schema, parse(query)).visits).toBeLessThanOrEqual(selectionCount(parse(query)));
  });

  it('refuses fragments spread inside each other deeper than the nesting limit', () => {
    const n = MAX_FRAGMENT_NESTING + 8;
    const fragments = Array.from({ length: n }, (_, i) =>
      i === n - 1 ? `fragment G${i} on Artifact { digest }` : `fragment G${i} on Artifact { ...G${i + 1} }`,
    );
    expect(codes(`{ artifact(digest: "${DIGEST}") { ...G0 } }\n${fragments.join('\n')}`)).toEqual([
      'QUERY_TOO_DEEP',
    ]);
  });

  it('stops walking a selection nested past the depth limit', () => {
    const levels = 200;
    const query = `{ artifact(digest: "${DIGEST}") { ${'subject { '.repeat(levels)}digest${' }'.repeat(levels)} } }`;
    expect(codes(query)).toEqual(['QUERY_TOO_DEEP']);
    expect(measureDocument(schema, parse(query)).visits).toBeLessThanOrEqual(LIMITS.maxDepth + 2);
  });

  it('names a cap for every list field without paging, and only for those', () => {
    const uncapped: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        if (!isListType(getNullableType(field.type)) || field.args.some((a) => a.name === 'first')) continue;
        if (type.name.endsWith('Connection') && field.name === 'edges') continue;
        if (isObjectType(getNamedType(field.type)) && getNamedType(field.type).name.startsWith('__'))
          continue;
        uncapped.push(`${type.name}.${field.name}`);
      }
    }
    expect(uncapped.sort()).toEqual(Object.keys(LIST_CAPS).sort());
    expect(Object.values(LIST_CAPS).every((c) => c > 0 && c < DEFAULT_LIST_CAP)).toBe(true);
  });

  it('keeps every query the explorer sends, and a dashboard page, within the limits', async () => {
    const explorer = (await import(EXPLORER)) as Record<string, unknown>;
    const documents = Object.entries(explorer).filter(([, v]) => typeof v === 'string') as Array<
      [string, string]
    >;
    documents.push([
      'PAGE_OF_50',
      `{ artifacts(first: 50) { edges { node { digest kind
        referrers { edges { kind node { digest artifactType signatures { status } } } }
        signatures { status identity artifactDigest } } } } }`,
    ]);
    expect(documents.length).toBeGreaterThan(4);
    const figures: Record<string, number> = {};
    for (const [name, query] of documents) {
      expect([name, errorsOf(query)]).toEqual([name, []]);
      figures[name] = measureDocument(schema, parse(query)).operations[0]!.complexity;
    }
    process.stdout.write(`graphql-limits explorer complexity: ${JSON.stringify(figures)}\n`);
  });
});

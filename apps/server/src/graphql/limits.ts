// GraphQL work limits: depth, complexity and aliases of an operation, decided before any resolver runs.
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { LIMITS } from './input.js';

/**
 * Hard caps of the list fields that take no `first`, by `Type.field`. The complexity rule counts
 * each such list at its cap, and the read side must never return more than the cap (a SQL LIMIT or
 * a slice), so the cost the rule computes is an upper bound of the work done. A list field without
 * `first` missing here is costed at DEFAULT_LIST_CAP (the schema test fails on it).
 */
export const LIST_CAPS = {
  /** Annotations of one manifest. */
  'Artifact.annotations': 32,
  /** Attestations about one artifact. */
  'Artifact.attestations': 32,
  /** Manifests one index lists (platforms and their attestation manifests). */
  'Artifact.children': 64,
  /** Indexes that list one artifact. */
  'Artifact.parents': 16,
  /** Repositories (in scope) holding one artifact. */
  'Artifact.repositories': 16,
  /** SBOMs describing one artifact. */
  'Artifact.sboms': 8,
  /** Signatures over one artifact. */
  'Artifact.signatures': 16,
  /** Statements one attestation artifact carries. */
  'Artifact.statements': 8,
  /** Tags pointing at one artifact, over every repository. */
  'Artifact.tags': 64,
  /** Verifications of one signature artifact (one per signature layer). */
  'Artifact.verification': 8,
  /** Tags pointing at one artifact in one repository. */
  'ArtifactLocation.tags': 64,
  /** Severities of one vulnerability scan. */
  'Attestation.vulnerabilities': 8,
  /** Licenses of one SBOM package. */
  'Package.licenses': 8,
  /** Other ids of one finding's vulnerability. */
  'VulnerabilityFinding.aliases': 16,
  /** Applicable VEX statements listed with one finding (the newest). */
  'VulnerabilityFinding.statements': 8,
  /** Findings of one vulnerability on one image (one per package and report). */
  'VulnerableArtifact.findings': 16,
} as const satisfies Record<string, number>;

/** Cost of a list field that neither takes `first` nor is named in LIST_CAPS. */
export const DEFAULT_LIST_CAP = 100;

/** More fragments open at once than this (spreads inside spreads) is refused as too deep. */
export const MAX_FRAGMENT_NESTING = 32;

export interface Limits {
  depth: number;
  complexity: number;
  aliases: number;
}

export interface Cost {
  depth: number;
  complexity: number;
  /** Aliased fields, each spread of a fragment counting its aliases again. */
  aliases: number;
}

export interface OperationCost extends Cost {
  name: string;
  node: OperationDefinitionNode;
  /** True when the walk stopped at a limit; depth or complexity are then lower bounds. */
  exceeded: boolean;
  /** Fragments were nested deeper than MAX_FRAGMENT_NESTING. */
  fragmentsTooDeep: boolean;
}

interface FragmentCost extends Cost {
  exceeded: boolean;
  nestedTooDeep: boolean;
}

const NOTHING: Cost = { depth: 0, complexity: 0, aliases: 0 };

type Fragments = (name: string) => FragmentDefinitionNode | null | undefined;

/**
 * Walks operations of one document. Each fragment is costed once (its cost does not depend on
 * where it is spread: its type condition names its parent), so the work is linear in the size of
 * the document; `visits` counts selections walked, for tests to assert exactly that. A fragment
 * spread while it is being costed (a cycle, reported by graphql-js's NoFragmentCycles) counts 0,
 * so the walk cannot loop. A walk stops as soon as a limit is exceeded: costs only grow.
 */
export class Meter {
  visits = 0;
  private readonly costs = new Map<string, FragmentCost | 'open'>();
  private open = 0;
  private stopped = false;
  private nestedTooDeep = false;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragment: Fragments,
    private readonly max: Limits,
  ) {}

  operation(node: OperationDefinitionNode): OperationCost {
    this.stopped = false;
    this.nestedTooDeep = false;
    const root = this.schema.getRootType(node.operation);
    const cost = root ? this.selections(node.selectionSet, root, 0) : NOTHING;
    return {
      ...cost,
      name: node.name?.value ?? 'anonymous',
      node,
      exceeded: this.stopped,
      fragmentsTooDeep: this.nestedTooDeep,
    };
  }

  private over(c: Cost): boolean {
    if (c.depth > this.max.depth || c.complexity > this.max.complexity || c.aliases > this.max.aliases)
      this.stopped = true;
    return this.stopped;
  }

  /** `level` is the depth of `set` below the root the walk started at (operation or fragment). */
  private selections(set: SelectionSetNode, parent: GraphQLNamedType, level: number): Cost {
    let depth = 0;
    let complexity = 0;
    let aliases = 0;
    for (const sel of set.selections) {
      this.visits++;
      const cost = this.selection(sel, parent, level);
      depth = Math.max(depth, cost.depth);
      complexity += cost.complexity;
      aliases += cost.aliases;
      if (this.over({ depth: level + depth, complexity, aliases })) break;
    }
    return { depth, complexity, aliases };
  }

  private selection(sel: SelectionNode, parent: GraphQLNamedType, level: number): Cost {
    if (sel.kind === Kind.FIELD) return this.field(sel, parent, level);
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      const type = sel.typeCondition ? this.schema.getType(sel.typeCondition.name.value) : parent;
      return this.selections(sel.selectionSet, type ?? parent, level);
    }
    return this.spread(sel.name.value, parent);
  }

  private spread(name: string, parent: GraphQLNamedType): Cost {
    const known = this.costs.get(name);
    if (known === 'open') return NOTHING; // a cycle: reported by graphql-js
    if (known) {
      // A fragment over the limits on its own is over them wherever it is spread.
      if (known.exceeded) this.stopped = true;
      if (known.nestedTooDeep) this.nestedTooDeep = true;
      return known;
    }
    const fragment = this.fragment(name);
    if (!fragment) return NOTHING; // unknown: reported by graphql-js
    if (this.open >= MAX_FRAGMENT_NESTING) {
      this.nestedTooDeep = true;
      this.stopped = true;
      return NOTHING;
    }
    const type = this.schema.getType(fragment.typeCondition.name.value) ?? parent;
    this.costs.set(name, 'open');
    this.open++;
    const cost = this.selections(fragment.selectionSet, type, 0);
    this.open--;
    // The walk only starts while under the limits, so a stop inside it is the fragment's own doing
    // (its cost is then a lower bound, kept with that mark).
    this.costs.set(name, { ...cost, exceeded: this.stopped, nestedTooDeep: this.nestedTooDeep });
    return cost;
  }

  private field(node: FieldNode, parent: GraphQLNamedType, level: number): Cost {
    // An alias runs its field once more, introspection included (one more copy of the schema).
    const aliased = node.alias ? 1 : 0;
    // Introspection is otherwise free: its size is bounded by the schema.
    if (node.name.value.startsWith('__')) return { ...NOTHING, aliases: aliased };
    const def =
      isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!def) return { depth: 1, complexity: 1, aliases: aliased }; // unknown field: reported by graphql-js
    // Past the depth limit nothing below can bring the operation back under it: stop descending.
    if (node.selectionSet && level + 1 >= this.max.depth) {
      this.stopped = true;
      return { depth: 2, complexity: 2, aliases: aliased };
    }
    const child = node.selectionSet
      ? this.selections(node.selectionSet, getNamedType(def.type), level + 1)
      : NOTHING;
    return {
      depth: 1 + child.depth,
      complexity: multiplier(node, def, parent) * (1 + child.complexity),
      aliases: aliased + child.aliases,
    };
  }
}

/**
 * How many items a field may return: its `first` argument (its default when absent, the maximum
 * when a variable), the cap of a list without one, or 1.
 */
function multiplier(node: FieldNode, def: GraphQLField<unknown, unknown>, parent: GraphQLNamedType): number {
  const first = def.args.find((a) => a.name === 'first');
  if (first) {
    const arg = node.arguments?.find((a) => a.name.value === 'first');
    if (!arg) return typeof first.defaultValue === 'number' ? first.defaultValue : LIMITS.maxFirst;
    return arg.value.kind === Kind.INT ? Math.max(1, Number(arg.value.value)) : LIMITS.maxFirst;
  }
  // A connection's edges are already counted by the `first` of the field that returned it.
  if (parent.name.endsWith('Connection') && node.name.value === 'edges') return 1;
  if (!isListType(getNullableType(def.type))) return 1;
  return listCap(`${parent.name}.${node.name.value}`);
}

/** The documented cap of a list field without `first`. */
export function listCap(field: string): number {
  return (LIST_CAPS as Record<string, number>)[field] ?? DEFAULT_LIST_CAP;
}

const DEFAULT_LIMITS: Limits = {
  depth: LIMITS.maxDepth,
  complexity: LIMITS.maxComplexity,
  aliases: LIMITS.maxAliases,
};

/** Every operation of a document, as the validation rule costs them (for tests and tools). */
export function measureDocument(
  schema: GraphQLSchema,
  document: DocumentNode,
  max: Limits = DEFAULT_LIMITS,
): { operations: OperationCost[]; visits: number } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const meter = new Meter(schema, (n) => fragments.get(n), max);
  const operations = document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((op) => meter.operation(op));
  return { operations, visits: meter.visits };
}

/** The errors an operation's cost earns: none when it is within the limits. */
export function limitErrors(cost: OperationCost, max: Limits): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const more = cost.exceeded ? ' or more' : '';
  if (cost.fragmentsTooDeep || cost.depth > max.depth) {
    const what = cost.fragmentsTooDeep
      ? `spreads fragments more than ${MAX_FRAGMENT_NESTING} levels inside each other`
      : `is nested ${cost.depth} levels deep${more}`;
    errors.push(
      new GraphQLError(`operation ${cost.name} ${what}; the limit is ${max.depth}`, {
        nodes: [cost.node],
        extensions: { code: 'QUERY_TOO_DEEP', depth: cost.depth, limit: max.depth },
      }),
    );
  }
  if (cost.complexity > max.complexity) {
    errors.push(
      new GraphQLError(
        `operation ${cost.name} has complexity ${cost.complexity}${more} (fields × list sizes); the limit ` +
          `is ${max.complexity}: ask for smaller pages (first) or fewer nested lists`,
        {
          nodes: [cost.node],
          extensions: { code: 'QUERY_TOO_COMPLEX', complexity: cost.complexity, limit: max.complexity },
        },
      ),
    );
  }
  if (cost.aliases > max.aliases) {
    errors.push(
      new GraphQLError(
        `operation ${cost.name} has ${cost.aliases}${more} aliased fields; the limit is ${max.aliases}: ` +
          'each alias runs its field again, so ask for lists (first) instead of one alias per item',
        {
          nodes: [cost.node],
          extensions: { code: 'TOO_MANY_ALIASES', aliases: cost.aliases, limit: max.aliases },
        },
      ),
    );
  }
  return errors;
}

/**
 * Depth, complexity and alias caps as one validation rule, so a query over the limits is refused before
 * any resolver runs. Complexity is fields × list sizes: a field costs 1 plus its children, times
 * the number of items it may return (see multiplier). Introspection costs nothing (bounded by the
 * schema), so IDEs keep working.
 */
export function queryLimitsRule(max: Limits = DEFAULT_LIMITS): ValidationRule {
  return (context: ValidationContext) => {
    const meter = new Meter(context.getSchema(), (n) => context.getFragment(n), max);
    return {
      OperationDefinition(node) {
        for (const error of limitErrors(meter.operation(node), max)) context.reportError(error);
      },
    };
  };
}

import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { LIMITS } from './input.js';

/** Multiplier for list fields that take no `first` (signatures, tags, children, ...). */
const LIST_FACTOR = 10;

interface Cost {
  depth: number;
  complexity: number;
}

/**
 * Depth and complexity caps as one validation rule, so a query over the limits is refused before
 * any resolver runs. Complexity is fields × list sizes: a field costs 1 plus its children, times
 * its `first` argument (its default when absent, the maximum when a variable) or LIST_FACTOR for
 * other lists. Introspection costs nothing (bounded by the schema), so IDEs keep working.
 */
export function queryLimitsRule(
  max = { depth: LIMITS.maxDepth, complexity: LIMITS.maxComplexity },
): ValidationRule {
  return (context: ValidationContext) => ({
    OperationDefinition(node) {
      const root = context.getSchema().getRootType(node.operation);
      if (!root) return;
      const cost = measure(context, node.selectionSet, root, new Set());
      const name = node.name?.value ?? 'anonymous';
      if (cost.depth > max.depth) {
        context.reportError(
          new GraphQLError(
            `operation ${name} is nested ${cost.depth} levels deep; the limit is ${max.depth}`,
            {
              nodes: [node],
              extensions: { code: 'QUERY_TOO_DEEP', depth: cost.depth, limit: max.depth },
            },
          ),
        );
      }
      if (cost.complexity > max.complexity) {
        context.reportError(
          new GraphQLError(
            `operation ${name} has complexity ${cost.complexity} (fields × list sizes); the limit is ` +
              `${max.complexity}: ask for smaller pages (first) or fewer nested lists`,
            {
              nodes: [node],
              extensions: { code: 'QUERY_TOO_COMPLEX', complexity: cost.complexity, limit: max.complexity },
            },
          ),
        );
      }
    },
  });
}

function measure(
  context: ValidationContext,
  set: SelectionSetNode,
  parent: GraphQLNamedType,
  fragments: Set<string>,
): Cost {
  let depth = 0;
  let complexity = 0;
  for (const sel of set.selections) {
    let cost: Cost;
    if (sel.kind === Kind.FIELD) {
      cost = fieldCost(context, sel, parent, fragments);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const type = sel.typeCondition ? context.getSchema().getType(sel.typeCondition.name.value) : parent;
      cost = measure(context, sel.selectionSet, type ?? parent, fragments);
    } else {
      const name = sel.name.value;
      const fragment = context.getFragment(name);
      // Cycles are reported by the specified rules; count each fragment once per path.
      if (!fragment || fragments.has(name)) continue;
      const type = context.getSchema().getType(fragment.typeCondition.name.value) ?? parent;
      cost = measure(context, fragment.selectionSet, type, new Set([...fragments, name]));
    }
    depth = Math.max(depth, cost.depth);
    complexity += cost.complexity;
  }
  return { depth, complexity };
}

function fieldCost(
  context: ValidationContext,
  node: FieldNode,
  parent: GraphQLNamedType,
  fragments: Set<string>,
): Cost {
  if (node.name.value.startsWith('__')) return { depth: 0, complexity: 0 };
  const def =
    isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
  if (!def) return { depth: 1, complexity: 1 };
  const child = node.selectionSet
    ? measure(context, node.selectionSet, getNamedType(def.type), fragments)
    : { depth: 0, complexity: 0 };
  return { depth: 1 + child.depth, complexity: multiplier(node, def, parent) * (1 + child.complexity) };
}

function multiplier(node: FieldNode, def: GraphQLField<unknown, unknown>, parent: GraphQLNamedType): number {
  const first = def.args.find((a) => a.name === 'first');
  if (first) {
    const arg = node.arguments?.find((a) => a.name.value === 'first');
    if (!arg) return typeof first.defaultValue === 'number' ? first.defaultValue : LIMITS.maxFirst;
    return arg.value.kind === Kind.INT ? Math.max(1, Number(arg.value.value)) : LIMITS.maxFirst;
  }
  // A connection's edges are already counted by the `first` of the field that returned it.
  if (parent.name.endsWith('Connection') && node.name.value === 'edges') return 1;
  return isListType(getNullableType(def.type)) ? LIST_FACTOR : 1;
}

/**
 * What an operation costs: an upper bound on the number of values its answer can hold, where a
 * list field counts once per item it may return. Computed at execution, when the variables are
 * known, so `devices(first: $n)` costs what `n` asks for and `devices { … }` what the default
 * page holds (graphql-armor's cost rule ran at validation and saw neither: both cost one device).
 *
 * A list field declares how many items its arguments ask for in its `extensions`
 * (`pagedList`, `limitedList`), from the same page sizes its resolver clamps to; a field that
 * declares nothing counts once (one device's containers, filesystems, a poll's results).
 * Fragments cost what their fields cost written in place, each named fragment priced once, so a
 * "billion laughs" of nested spreads is priced in linear time. Introspection (`__schema`,
 * `__type`) is free: depth and token limits bound it, and INTROSPECTION_ENABLED=false refuses it.
 */
import {
  GraphQLError,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** A field's `extensions` key for its list size. */
const LIST_SIZE = 'listSize';

interface ListSize {
  /** Items the field returns for these (coerced) arguments, at most. */
  items: (args: Record<string, unknown>) => number;
  /** A Relay connection: the items are its `edges` and `nodes`; `totalCount` and `pageInfo` count once. */
  connection: boolean;
}

/** Page sizes of a connection: the default when neither `first` nor `last` is given, and the cap. */
export interface PageSize {
  defaultSize: number;
  maxSize: number;
}

const clamp = (n: unknown, fallback: number, max: number): number => Math.min(Math.max(typeof n === 'number' ? n : fallback, 1), max);

/** `extensions` of a connection field paged by `first`/`last`. */
export const pagedList = (page: PageSize) => ({
  [LIST_SIZE]: { connection: true, items: (args) => clamp(args.first ?? args.last, page.defaultSize, page.maxSize) } satisfies ListSize,
});

/** `extensions` of a list field sized by a `limit` argument (its default given in the schema). */
export const limitedList = (maxSize: number) => ({
  [LIST_SIZE]: { connection: false, items: (args) => clamp(args.limit, 1, maxSize) } satisfies ListSize,
});

/** `extensions` of a list field with one item per id of its `ids` argument (Relay's `nodes`). */
export const listOfIds = {
  [LIST_SIZE]: { connection: false, items: (args) => (Array.isArray(args.ids) ? Math.max(args.ids.length, 1) : 1) } satisfies ListSize,
};

const isListSize = (v: unknown): v is ListSize => typeof v === 'object' && v !== null && 'items' in v;

/** Cost of one operation of a validated document, with its variables coerced (defaults applied). */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const priced = new Map<string, number>();

  const typeNamed = (name: string | undefined, fallback: GraphQLNamedType): GraphQLNamedType => (name ? (schema.getType(name) ?? fallback) : fallback);

  /** `page`: inside a connection, the items its `edges` and `nodes` stand for (1 elsewhere). */
  const fragmentCost = (name: string, page: number): number => {
    const key = `${name}\u0000${page}`;
    const known = priced.get(key);
    if (known !== undefined) return known;
    const f = fragments.get(name);
    priced.set(key, 0); // a cycle is a validation error; pricing must still end
    const cost = f ? setCost(f.selectionSet, typeNamed(f.typeCondition.name.value, schema.getQueryType()!), page) : 0;
    priced.set(key, cost);
    return cost;
  };

  const setCost = (set: SelectionSetNode, type: GraphQLNamedType, page = 1): number => {
    let cost = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) cost += (s.name.value === 'edges' || s.name.value === 'nodes' ? page : 1) * fieldCost(s, type);
      else if (s.kind === Kind.INLINE_FRAGMENT) cost += setCost(s.selectionSet, typeNamed(s.typeCondition?.name.value, type), page);
      else cost += fragmentCost(s.name.value, page);
    }
    return cost;
  };

  const fieldCost = (node: FieldNode, parent: GraphQLNamedType): number => {
    const name = node.name.value;
    if (name === '__schema' || name === '__type') return 0;
    const def: GraphQLField<unknown, unknown> | undefined = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (!def || !node.selectionSet) return 1;
    const type = getNamedType(def.type);
    const size = def.extensions[LIST_SIZE];
    if (!isListSize(size)) return 1 + setCost(node.selectionSet, type);
    const items = size.items(getArgumentValues(def, node, variables));
    return size.connection ? 1 + setCost(node.selectionSet, type, items) : 1 + items * setCost(node.selectionSet, type);
  };

  const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return root ? setCost(operation.selectionSet, root) : 0;
}

/** The refusal, or nothing when the operation is within `maxCost` (or its variables are invalid: execution reports those). */
export function costRefusal(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Record<string, unknown> | null | undefined, maxCost: number): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (coerced.errors) return undefined;
  const cost = operationCost(schema, document, operation, coerced.coerced);
  if (cost <= maxCost) return undefined;
  return new GraphQLError(
    `query cost limit of ${maxCost} exceeded: this operation may return ${cost} values (a list counts each item its first, last or limit asks for, or its default page); ask for fewer items or fields`,
    { extensions: { code: 'COST_LIMIT_EXCEEDED', cost, maxCost } },
  );
}

/**
 * Refuses, before anything runs, an operation whose cost is above `maxCost`: queries and
 * mutations on every transport, subscriptions that Yoga serves itself. The operation core
 * (src/server/operation.ts) prices those of graphql-ws, graphql-sse and Yoga-style SSE, which
 * start outside envelop's subscribe.
 */
export function costLimitPlugin(maxCost: number): Plugin {
  const refuse = ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void }): void => {
    const refusal = costRefusal(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined, maxCost);
    if (refusal) setResultAndStopExecution({ errors: [refusal] });
  };
  return { onExecute: refuse, onSubscribe: refuse };
}

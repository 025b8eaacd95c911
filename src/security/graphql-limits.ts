/**
 * What a single GraphQL operation may cost, as Envelop plugins: they run on every transport
 * because graphql-ws, graphql-sse and MCP execute through yoga.getEnveloped. Parse and
 * validation limits (graphql-armor) reject a bomb before any resolver runs; the cost limit
 * (cost.ts) and the mutation rate limit run just before execution, when the variables and the
 * caller are known.
 */
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { Context } from '../graphql/context.ts';
import { costLimitPlugin } from './cost.ts';
import type { RateLimiter } from './rate-limit.ts';

const MAX_DIRECTIVES = 50;

/** Depth, aliases, tokens, cost, directives; introspection and field suggestions off on request. */
export function operationLimitPlugins(limits: Config['limits'], introspection: boolean): Plugin[] {
  const plugins: Plugin[] = [
    maxTokensPlugin({ n: limits.maxTokens }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases }) as Plugin,
    maxDirectivesPlugin({ n: MAX_DIRECTIVES }) as Plugin,
    costLimitPlugin(limits.maxCost),
  ];
  if (!introspection) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    });
    // "Did you mean …?" would hand out the schema that introspection now hides.
    plugins.push(noSuggestionsPlugin());
  }
  return plugins;
}

const SUGGESTION = /\s*Did you mean\b[^?]*\?/g;

/** The same error without graphql-js's "Did you mean …?" (names cannot contain "?"). */
function withoutSuggestion<E>(error: E): E {
  if (!(error instanceof GraphQLError) || !SUGGESTION.test(error.message)) return error;
  SUGGESTION.lastIndex = 0;
  const { nodes, source, positions, path, originalError, extensions } = error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), { nodes, source, positions, path, originalError, extensions }) as E;
}

/** The result with "Did you mean …?" taken out of its errors (the operation core's subscriptions, which start outside envelop). */
export const stripResult = <R extends { errors?: readonly GraphQLError[] }>(result: R): R =>
  result.errors ? { ...result, errors: result.errors.map(withoutSuggestion) } : result;

const isResult = (r: unknown): r is { errors?: readonly GraphQLError[] } => typeof r === 'object' && r !== null && !(Symbol.asyncIterator in r);

/**
 * Removes "Did you mean …?" from every error: validation (fields, arguments, input fields,
 * types, enum values) and execution (variables coerced against enums and input types), on
 * every transport. graphql-armor's plugin covers field names only.
 */
export function noSuggestionsPlugin(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (isResult(result) && result.errors) setResult(stripResult(result));
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isResult(result) && result.errors) setResult(stripResult(result));
        },
      };
    },
  };
}

/**
 * The mutation fields an operation runs: its root fields with fragments (inline and named,
 * nested) expanded, so `... on Mutation { m0 … m14 }` counts fifteen, not one. `__typename`
 * runs nothing and is not counted. Conditional directives are ignored: a field that may be
 * skipped is still charged.
 */
export function countRootFields(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const visit = (set: SelectionSetNode, seen: ReadonlySet<string>): number => {
    let n = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) n += sel.name.value === '__typename' ? 0 : 1;
      else if (sel.kind === Kind.INLINE_FRAGMENT) n += visit(sel.selectionSet, seen);
      else {
        const f = fragments.get(sel.name.value);
        // A cycle is a validation error; counting must still end.
        if (f && !seen.has(f.name.value)) n += visit(f.selectionSet, new Set([...seen, f.name.value]));
      }
    }
    return n;
  };
  return visit(operation.selectionSet, new Set());
}

/**
 * Each mutation field of an operation takes one unit from its token's bucket; an empty
 * bucket answers RATE_LIMITED (HTTP 429 on HTTP) and nothing runs. Each operation of a
 * batched request is charged on its own, so a batch spends the same budget as its operations
 * sent one by one.
 */
export function mutationRateLimitPlugin(limiter: RateLimiter): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const document = args.document as DocumentNode;
      // The operation execution will run; none when the name picks none (execution refuses such a request).
      const operation = getOperationAST(document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const tokenId = (args.contextValue as Partial<Context>).auth?.tokenId;
      if (!tokenId) return;
      const fields = countRootFields(document, operation);
      const verdict = limiter.take(tokenId, Math.max(1, fields));
      if (verdict.ok) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(`too many mutations for this token: try again in ${verdict.retryAfterSeconds} s`, {
            extensions: {
              code: 'RATE_LIMITED',
              retryAfterSeconds: verdict.retryAfterSeconds,
              http: { status: 429, headers: { 'retry-after': String(verdict.retryAfterSeconds) } },
            },
          }),
        ],
      });
    },
  };
}

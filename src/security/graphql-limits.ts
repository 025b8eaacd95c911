/**
 * What a single GraphQL operation may cost, as Envelop plugins: they run on every transport
 * because graphql-ws and graphql-sse execute through yoga.getEnveloped. Parse and validation
 * limits (graphql-armor) reject a bomb before any resolver runs; the mutation rate limit
 * runs just before execution, when the caller is known.
 */
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type DefinitionNode, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { Context } from '../graphql/context.ts';
import type { RateLimiter } from './rate-limit.ts';

const MAX_DIRECTIVES = 50;

/** Depth, aliases, tokens, cost, directives; introspection and field suggestions off on request. */
export function operationLimitPlugins(limits: Config['limits'], introspection: boolean): Plugin[] {
  const plugins: Plugin[] = [
    maxTokensPlugin({ n: limits.maxTokens }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases }) as Plugin,
    maxDirectivesPlugin({ n: MAX_DIRECTIVES }) as Plugin,
    costLimitPlugin({ maxCost: limits.maxCost }) as Plugin,
  ];
  if (!introspection) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    });
    // "Did you mean …?" would hand out the schema that introspection now hides.
    plugins.push(blockFieldSuggestionsPlugin() as Plugin);
  }
  return plugins;
}

/**
 * Each mutation field of an operation takes one unit from its token's bucket; an empty
 * bucket answers RATE_LIMITED (HTTP 429 on HTTP) and nothing runs.
 */
export function mutationRateLimitPlugin(limiter: RateLimiter): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const document = args.document as DocumentNode;
      const operation = document.definitions.find(
        (d: DefinitionNode): d is OperationDefinitionNode =>
          d.kind === Kind.OPERATION_DEFINITION && (args.operationName ? d.name?.value === args.operationName : true),
      );
      if (operation?.operation !== 'mutation') return;
      const tokenId = (args.contextValue as Partial<Context>).auth?.tokenId;
      if (!tokenId) return;
      const fields = operation.selectionSet.selections.length;
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

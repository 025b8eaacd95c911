/**
 * `McpSeam.execute` over Yoga's enveloped functions: parse, validate, context and execute with
 * every plugin of /graphql (graphql-armor limits, the mutation rate limit, error masking,
 * observability), as graphql-ws and graphql-sse do.
 */
import { GraphQLError, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { Principal } from '../graphql/context.ts';
import type { Logger } from '../log.ts';
import type { GraphqlError, GraphqlRequest, McpSeam } from './seam.ts';

type GetEnveloped = (initial: { principal: Principal; params: GraphqlRequest }) => {
  schema: GraphQLSchema;
  parse(source: string): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
  contextFactory(): unknown;
  execute(args: ExecutionArgs): unknown;
};

const plain = (e: GraphQLError): GraphqlError => ({ message: e.message, path: e.path, extensions: e.extensions });

export function envelopedExecutor(getEnveloped: GetEnveloped, log: Logger): McpSeam['execute'] {
  return async (request, principal) => {
    const { schema, parse, validate, contextFactory, execute } = getEnveloped({ principal, params: request });
    let document: DocumentNode;
    try {
      document = parse(request.query);
      // graphql-armor's rules throw their error out of validate() instead of returning it.
      const errors = validate(schema, document);
      if (errors.length) return { errors: errors.map(plain) };
    } catch (e) {
      if (e instanceof GraphQLError) return { errors: [plain(e)] };
      throw e;
    }
    const contextValue = { ...(await contextFactory() as object), auth: principal };
    try {
      const result = (await execute({ schema, document, variableValues: request.variables, operationName: request.operationName, contextValue })) as {
        data?: Record<string, unknown> | null;
        errors?: readonly GraphQLError[];
      };
      return { data: result.data, errors: result.errors?.map(plain) };
    } catch (err) {
      // Execution errors come back in the result (masked there); a throw is a bug, kept out of the answer.
      log.error({ err }, 'unexpected error executing an MCP operation');
      return { errors: [{ message: 'Unexpected error.' }] };
    }
  };
}

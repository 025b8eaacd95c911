/**
 * The Yoga instance: queries and mutations over HTTP, GraphiQL, and the plugins every
 * transport shares (the WebSocket and SSE adapters run their operations through
 * `yoga.getEnveloped`, so these plugins apply to them too). The plugin list itself is composed
 * in index.ts.
 */
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Context, Principal, Services } from '../graphql/context.ts';
import { schema } from '../graphql/schema.ts';
import type { RequestContext } from './auth.ts';
import { renderInfrapulseGraphiQL } from './graphiql.ts';

export type Yoga = YogaServerInstance<RequestContext, Context>;

export function createYogaApp(services: Services, plugins: Plugin[]): Yoga {
  const { config, log } = services;
  return createYoga<RequestContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: config.graphiql ? { title: 'infrapulse', headers: JSON.stringify({ Authorization: 'Bearer <paste the admin token here>' }) } : false,
    // The bundled GraphiQL: the default page loads its code from a CDN, which monitoring
    // networks often cannot reach. graphiql.ts adds the schema re-fetch once a token is pasted.
    renderGraphiQL: renderInfrapulseGraphiQL,
    landingPage: false,
    logging: false,
    // Never NODE_ENV-dependent: an unexpected error's message stays in the log, not the response.
    maskedErrors: { isDev: false, maskError: (error, message) => masked(log, error, message) },
    batching: config.limits.batchLimit > 0 ? { limit: config.limits.batchLimit } : false,
    // http.ts has read the body, capped at REQUEST_MAX_BYTES, before Yoga sees it. Yoga's own
    // cap (25 MB) pipes every body through a TransformStream whose stream objects outlived
    // their request (what holds them was not found): a tenth of a small request's allocation
    // promoted to the old generation, 3.8 % without it (docs/benchmarks.md, *A body read twice*).
    maxRequestBodySize: false,
    plugins,
    context: ({ principal }) => requestContext(services, principal),
  });
}

/**
 * A request's context: the services and the caller. `auth` first, the services spread after it:
 * a literal that begins with a spread built a new hidden class, in the old generation, for the
 * property added after it, once per request (docs/benchmarks.md, "A hidden class per object").
 */
export const requestContext = (services: Services, principal: Principal | null | undefined): Context => ({ auth: principal ?? null, ...services });

/** Yoga's masking, logging what it hides: an unexpected error's message never reaches a client. */
export function masked(log: Services['log'], error: unknown, message = 'Unexpected error.'): GraphQLError {
  const out = maskError(error, message, false) as GraphQLError;
  if (out !== error) log.error({ err: error instanceof GraphQLError ? (error.originalError ?? error) : error }, 'unexpected error in an operation (masked)');
  return out;
}

/**
 * A result as clients receive it: errors as their JSON form without the server-only
 * extensions (`http`, `unexpected`), as Yoga's own serialiser does.
 */
export function serializeResult(result: ExecutionResult): string {
  if (!result.errors?.length && !result.extensions) return JSON.stringify(result);
  const out: { data?: unknown; errors?: GraphQLFormattedError[]; extensions?: unknown } = {};
  if ('data' in result) out.data = result.data;
  if (result.errors?.length) out.errors = formatErrors(result.errors);
  if (result.extensions && Object.keys(result.extensions).length) out.extensions = result.extensions;
  return JSON.stringify(out);
}

export function formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  return errors.map((e) => {
    const json = e.toJSON();
    if (!json.extensions) return json;
    const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions;
    return { ...json, extensions: Object.keys(extensions).length ? extensions : undefined };
  });
}

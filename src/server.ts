/**
 * One HTTP port: Yoga on /graphql (queries, mutations, GraphiQL, Yoga's own SSE), graphql-ws
 * on the same path (WebSocket upgrade), graphql-sse on /graphql/stream, and /healthz,
 * /readyz, /metrics. The WebSocket and SSE handlers run operations through
 * yoga.getEnveloped, so every transport shares one set of plugins and one context shape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { createHandler as createSseHandler } from 'graphql-sse/lib/use/http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Context, Principal, Services } from './graphql/context.ts';
import { schema } from './graphql/schema.ts';
import { checkHealth } from './graphql/types/health.ts';
import { bearer, createTokenVerifier } from './tokens.ts';

export const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;
const SHUTDOWN_GRACE_MS = 5000;

interface Enveloped {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}

export interface ServerHandle {
  /** http://host:port once started. */
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type RequestContext = YogaInitialContext & { principal?: Principal | null };

export function buildServer(services: Services): ServerHandle {
  const { config, log } = services;
  const tokens = createTokenVerifier(services.db.prisma);

  /** Requests without a valid token end here with 401; GraphiQL's page itself is open. */
  const requireToken: Plugin<RequestContext> = {
    async onRequestParse({ request, serverContext }) {
      const principal = await tokens.verify(bearer(request.headers.get('authorization')));
      if (!principal) {
        throw new GraphQLError('a valid API token is required: send "Authorization: Bearer <token>"', {
          extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
        });
      }
      (serverContext as { principal?: Principal }).principal = principal;
    },
  };

  const yoga = createYoga<RequestContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: config.graphiql ? { title: 'infrapulse', headers: JSON.stringify({ Authorization: 'Bearer <paste the admin token here>' }) } : false,
    // The bundled GraphiQL: the default page loads its code from a CDN, which monitoring
    // networks often cannot reach.
    renderGraphiQL,
    landingPage: false,
    logging: false,
    maskedErrors: true,
    plugins: [requireToken],
    context: ({ principal }) => ({ ...services, auth: principal ?? null }),
  });

  const sseHandler = createSseHandler({
    async onSubscribe(req, params) {
      const principal = await tokens.verify(bearer(req.raw.headers.authorization ?? null));
      if (!principal) return [null, { status: 401, statusText: 'Unauthorized' }];
      const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ req: req.raw, params });
      let document;
      try {
        document = parse(params.query as string);
      } catch (e) {
        return [JSON.stringify({ errors: [{ message: (e as Error).message }] }), { status: 400, statusText: 'Bad Request' }];
      }
      const errors = validate(s, document);
      if (errors.length) return [JSON.stringify({ errors }), { status: 400, statusText: 'Bad Request' }];
      const contextValue = { ...(await contextFactory()), ...services, auth: principal } as Context;
      return { schema: s, document, variableValues: params.variables, operationName: params.operationName, contextValue: contextValue as never, rootValue: { execute, subscribe } };
    },
    execute: (args) => ((args.rootValue as Enveloped).execute(args) as never),
    subscribe: (args) => ((args.rootValue as Enveloped).subscribe(args) as never),
  });

  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/healthz') return json(res, 200, { status: 'alive' });
      if (path === '/readyz') {
        const health = await checkHealth(services);
        return json(res, health.database.ok ? 200 : 503, { status: health.database.ok ? 'ready' : 'not ready', database: health.database });
      }
      if (path === '/metrics') {
        const { register } = await import('prom-client');
        res.writeHead(200, { 'content-type': register.contentType });
        return res.end(await register.metrics());
      }
      if (path === '/graphql/stream') {
        services.subscribers.sse++;
        res.once('close', () => services.subscribers.sse--);
        return await sseHandler(req, res);
      }
      return yoga(req, res);
    } catch (e) {
      log.error({ err: e, path }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/graphql') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const wsServer = useServer<Record<string, unknown>, { principal?: Principal }>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      async onConnect(ctx) {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const principal = await tokens.verify(bearer(typeof header === 'string' ? header : null));
        if (!principal) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.principal = principal;
        services.subscribers.ws++;
        return true;
      },
      onClose(ctx) {
        if (ctx.extra.principal) services.subscribers.ws--;
      },
      async onSubscribe(ctx, _id, payload) {
        if (Object.keys(ctx.subscriptions).length >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [new GraphQLError(`at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`)];
        }
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params: payload });
        let document;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [e instanceof GraphQLError ? e : new GraphQLError((e as Error).message)];
        }
        const errors = validate(s, document);
        if (errors.length) return errors;
        const contextValue = { ...(await contextFactory()), ...services, auth: ctx.extra.principal ?? null } as Context;
        return { schema: s, document, variableValues: payload.variables, operationName: payload.operationName, contextValue, rootValue: { execute, subscribe } };
      },
    },
    wss,
  );

  let url = '';
  let port = 0;
  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    start: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (e: NodeJS.ErrnoException) =>
          reject(e.code === 'EADDRINUSE' ? new Error(`cannot listen on ${config.host}:${config.port}: the port is already in use (set PORT to another port)`) : e);
        server.once('error', onError);
        server.listen(config.port, config.host, () => {
          server.off('error', onError);
          port = (server.address() as AddressInfo).port;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
          resolve();
        });
      }),
    async stop() {
      // Stop accepting, let in-flight requests finish, then close what is left.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await wsServer.dispose();
      for (const ws of wss.clients) ws.terminate();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

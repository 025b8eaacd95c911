/**
 * One HTTP port: Yoga on /graphql (queries, mutations, GraphiQL, Yoga's own SSE), graphql-ws
 * on the same path (WebSocket upgrade), graphql-sse on /graphql/stream, and /healthz,
 * /readyz, /metrics. The WebSocket and SSE handlers run operations through
 * yoga.getEnveloped, so every transport shares one set of plugins (the limits of
 * src/security/graphql-limits.ts included) and one context shape.
 *
 * Auth: every transport asks `authenticate` (token verdict plus the per-address budget of
 * failed attempts); every authenticated connection is registered under its token so that a
 * revoked or expired token's connections are closed (SECURITY.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, maskError, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { createHandler as createSseHandler, TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Context, Principal, Services } from './graphql/context.ts';
import { schema } from './graphql/schema.ts';
import { checkHealth } from './graphql/types/health.ts';
import { observabilityPlugin } from './metrics.ts';
import { createMcpRoute, envelopedExecutor } from './mcp/index.ts';
import { createConnectionRegistry, type CloseReason } from './security/connections.ts';
import { mutationRateLimitPlugin, operationLimitPlugins } from './security/graphql-limits.ts';
import { createRateLimiter } from './security/rate-limit.ts';
import { bearer, createTokenVerifier, invalidTokens } from './tokens.ts';
import { closeIfDatabaseUnavailable, databaseUnavailablePlugin, respondDatabaseUnavailable } from './server/database-unavailable.ts';

export const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;
/**
 * graphql-ws close code for a connection whose token was revoked or expired: 4401
 * Unauthorized, like the HTTP 401 the same token now gets. The reference client treats 4401
 * as fatal and stops, where 4403 would make it retry a token that can never work again.
 */
export const WS_CLOSE_TOKEN_INVALID = 4401;
/** How often open connections' tokens are re-checked against the database (expiry, revocation elsewhere). */
export const TOKEN_SWEEP_MS = 2000;
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

type ServerContext = { req?: http.IncomingMessage; res?: http.ServerResponse; principal?: Principal | null };
type RequestContext = YogaInitialContext & ServerContext;
type Verdict = { principal: Principal } | { status: 401 | 429; retryAfterSeconds: number };

export function buildServer(services: Services): ServerHandle {
  const { config, log } = services;
  const { limits } = config;
  const tokens = createTokenVerifier(services.db.prisma, { outageGraceMs: config.tokenOutageGraceSeconds * 1000 });
  const connections = createConnectionRegistry();
  const authFailures = createRateLimiter(limits.authFailuresPerMinute);
  const mutationBudget = createRateLimiter(limits.mutationsPerMinute);

  /**
   * The one auth decision. An address that used up its failed attempts gets 429 before its
   * token is even looked at: a guessed token must not be testable while blocked (the
   * admin token may be a human-chosen INFRAPULSE_ADMIN_TOKEN).
   */
  async function authenticate(header: string | null | undefined, ip: string, transport: string): Promise<Verdict> {
    if (!authFailures.allows(ip)) return { status: 429, retryAfterSeconds: authFailures.retryAfterSeconds(ip) };
    const principal = await tokens.verify(bearer(header));
    if (principal) return { principal };
    authFailures.take(ip);
    log.info({ ip, transport, tokenSent: Boolean(header) }, 'refused: missing or invalid API token');
    return { status: 401, retryAfterSeconds: 0 };
  }

  const closeMessage = (reason: CloseReason) => `Unauthorized: token ${reason}`;

  /** Requests without a valid token end here with 401 (429 when the address is blocked); GraphiQL's page itself is open. */
  const requireToken: Plugin<RequestContext> = {
    async onRequestParse({ request, serverContext }) {
      const ctx = serverContext as ServerContext;
      const verdict = await authenticate(request.headers.get('authorization'), ip(ctx.req), 'http');
      if ('status' in verdict) throw refusal(verdict);
      ctx.principal = verdict.principal;
      // Registered for its lifetime: a revoked token's Yoga SSE stream (or slow request) ends too.
      const res = ctx.res;
      if (res) res.once('close', connections.add(verdict.principal.tokenId, () => res.destroy()));
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
    // Never NODE_ENV-dependent: an unexpected error's message stays in the log, not the response.
    maskedErrors: {
      isDev: false,
      maskError(error, message) {
        const masked = maskError(error, message, false);
        if (masked !== error) log.error({ err: error instanceof GraphQLError ? (error.originalError ?? error) : error }, 'unexpected error in an operation (masked)');
        return masked;
      },
    },
    batching: limits.batchLimit > 0 ? { limit: limits.batchLimit } : false,
    plugins: [requireToken, ...operationLimitPlugins(limits, config.introspection), mutationRateLimitPlugin(mutationBudget), observabilityPlugin(log), databaseUnavailablePlugin()],
    context: ({ principal }) => ({ ...services, auth: principal ?? null }),
  });

  // MCP on /mcp (src/mcp/): this server's auth decision and enveloped execution, so tools get the same roles and limits.
  const mcp = config.mcp.enabled
    ? createMcpRoute({
        authenticate: (header, address) => authenticate(header, address, 'mcp'),
        execute: envelopedExecutor(yoga.getEnveloped, log),
        track: (tokenId, close) => connections.add(tokenId, close),
        events: services.events,
        log,
        sessionIdleSeconds: config.mcp.sessionIdleSeconds,
      })
    : null;

  // graphql-sse: auth is decided before the handler (see the route); the handler finds the
  // principal by request.
  const ssePrincipals = new WeakMap<http.IncomingMessage, Principal>();
  const sseHandler = createSseHandler<http.IncomingMessage, { res: http.ServerResponse }>({
    // Reservation tokens for the single-connection mode: the client's, or an unguessable one.
    authenticate(req) {
      const sent = req.headers.get(TOKEN_HEADER_KEY) ?? new URL(req.url, 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);
      return sent || randomUUID();
    },
    async onSubscribe(req, params) {
      const principal = ssePrincipals.get(req.raw);
      if (!principal) return [null, { status: 401, statusText: 'Unauthorized' }];
      const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ req: req.raw, params });
      let document;
      try {
        document = parse(params.query as string);
      } catch (e) {
        return [JSON.stringify({ errors: [{ message: (e as Error).message }] }), { status: 400, statusText: 'Bad Request' }];
      }
      const errors = validateOrThrown(validate, s, document);
      if (errors.length) return [JSON.stringify({ errors }), { status: 400, statusText: 'Bad Request' }];
      const contextValue = { ...(await contextFactory()), auth: principal } as Context;
      return { schema: s, document, variableValues: params.variables, operationName: params.operationName, contextValue: contextValue as never, rootValue: { execute, subscribe } };
    },
    execute: (args) => ((args.rootValue as Enveloped).execute(args) as never),
    subscribe: (args) => ((args.rootValue as Enveloped).subscribe(args) as never),
  });

  async function serveSse(req: http.IncomingMessage, res: http.ServerResponse, body: string | null): Promise<void> {
    const verdict = await authenticate(req.headers.authorization, ip(req), 'sse');
    if ('status' in verdict) return refuseHttp(res, verdict);
    ssePrincipals.set(req, verdict.principal);
    res.once('close', connections.add(verdict.principal.tokenId, () => res.destroy()));
    services.subscribers.sse++;
    res.once('close', () => services.subscribers.sse--);
    const [out, init] = await sseHandler({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: { get: (key) => headerValue(req.headers[key.toLowerCase()]) },
      body,
      raw: req,
      context: { res },
    });
    res.writeHead(init.status, init.statusText, init.headers);
    if (!out || typeof out === 'string') return void res.end(out ?? undefined);
    const stop = () => void out.return(undefined);
    res.once('close', stop);
    for await (const chunk of out) {
      if (!res.writable) break;
      const failed = await new Promise<boolean>((resolve) => res.write(chunk, (err) => resolve(Boolean(err))));
      if (failed) break;
    }
    res.off('close', stop);
    res.end();
  }

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
      // Bodies are read here, capped, before any parser sees them.
      let body: Buffer | null = null;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        body = await readBody(req, limits.maxRequestBytes);
        if (!body) return tooLarge(res, limits.maxRequestBytes);
      }
      if (mcp && (await mcp.handle(req, res, path ?? '/', body))) return;
      if (path === '/graphql/stream') return await serveSse(req, res, body ? body.toString('utf8') : null);
      // Yoga takes an already-read body from `req.body` (as behind body-parsing frameworks).
      if (body) (req as http.IncomingMessage & { body?: Readable }).body = Readable.from(body.length ? [body] : []);
      return await yoga(req, res);
    } catch (e) {
      if (respondDatabaseUnavailable(res, e)) return;
      log.error({ err: e, path }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxRequestBytes });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/graphql') return socket.destroy();
    const address = ip(req);
    if (!authFailures.allows(address)) {
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${authFailures.retryAfterSeconds(address)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const wsServer = useServer<Record<string, unknown>, { principal?: Principal; untrack?: () => void }>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      async onConnect(ctx) {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const verdict = await authenticate(typeof header === 'string' ? header : null, ip(ctx.extra.request), 'ws').catch((e: unknown) => closeIfDatabaseUnavailable(ctx.extra.socket, e));
        if (!verdict) return false;
        if ('status' in verdict) {
          if (verdict.status === 429) ctx.extra.socket.close(4429, 'Too many failed logins');
          return false; // graphql-ws closes with 4403 Forbidden
        }
        ctx.extra.principal = verdict.principal;
        const socket = ctx.extra.socket;
        ctx.extra.untrack = connections.add(verdict.principal.tokenId, (reason) => socket.close(WS_CLOSE_TOKEN_INVALID, closeMessage(reason)));
        services.subscribers.ws++;
        return true;
      },
      onClose(ctx) {
        ctx.extra.untrack?.();
        if (ctx.extra.principal) services.subscribers.ws--;
      },
      async onSubscribe(ctx, _id, payload) {
        // graphql-ws has already reserved this id in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [new GraphQLError(`at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })];
        }
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params: payload });
        let document;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [e instanceof GraphQLError ? e : new GraphQLError((e as Error).message)];
        }
        const errors = validateOrThrown(validate, s, document);
        if (errors.length) return errors;
        const contextValue = { ...(await contextFactory()), auth: ctx.extra.principal ?? null } as Context;
        return { schema: s, document, variableValues: payload.variables, operationName: payload.operationName, contextValue, rootValue: { execute, subscribe } };
      },
    },
    wss,
  );

  /** Closes the connections of one token and forgets its cached verdict. */
  function invalidate(tokenId: string, reason: CloseReason): void {
    tokens.forget(tokenId);
    const closed = connections.closeToken(tokenId, reason);
    if (closed) log.info({ tokenId, reason, closed }, 'closed the connections of an invalidated API token');
  }

  /**
   * Revocation through the API arrives as an event (at once, on every instance when the bus
   * runs over Redis). Expiry, and revocation the event never announced (the CLI, SQL, an
   * instance without Redis), are caught by re-checking the tokens of open connections every
   * TOKEN_SWEEP_MS: one query for all of them, however many connections there are.
   */
  let sweep: NodeJS.Timeout | undefined;
  let sweeping = false;
  const revocations = services.events.subscribe('tokenRevoked');
  async function watchRevocations(): Promise<void> {
    for await (const { tokenId } of revocations) invalidate(tokenId, 'revoked');
  }
  async function sweepOnce(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const [tokenId, reason] of await invalidTokens(services.db.prisma, connections.tokenIds())) invalidate(tokenId, reason);
    } catch (err) {
      log.warn({ err }, 'could not re-check the tokens of open connections');
    } finally {
      sweeping = false;
    }
  }

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
          void watchRevocations().catch((err: unknown) => log.error({ err }, 'token revocation watcher stopped'));
          sweep = setInterval(() => void sweepOnce(), TOKEN_SWEEP_MS);
          sweep.unref();
          resolve();
        });
      }),
    async stop() {
      clearInterval(sweep);
      await revocations.return();
      // Stop accepting, let in-flight requests finish, then close what is left.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await mcp?.close();
      await wsServer.dispose();
      for (const ws of wss.clients) ws.terminate();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * graphql-armor's rules throw their GraphQLError out of validate() rather than reporting it;
 * Yoga catches that on HTTP, and here it becomes the same kind of answer.
 */
function validateOrThrown<S, D>(validate: (schema: S, document: D) => readonly GraphQLError[], schema: S, document: D): readonly GraphQLError[] {
  try {
    return validate(schema, document);
  } catch (e) {
    if (e instanceof GraphQLError) return [e];
    throw e;
  }
}

const ip = (req: http.IncomingMessage | undefined): string => req?.socket.remoteAddress ?? 'unknown';

const headerValue = (v: string | string[] | undefined): string | null | undefined => (Array.isArray(v) ? v.join(', ') : v);

function refusal(verdict: { status: 401 | 429; retryAfterSeconds: number }): GraphQLError {
  if (verdict.status === 429) {
    return new GraphQLError(`too many failed logins from this address: try again in ${verdict.retryAfterSeconds} s`, {
      extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'retry-after': String(verdict.retryAfterSeconds) } } },
    });
  }
  return new GraphQLError('a valid API token is required: send "Authorization: Bearer <token>"', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

function refuseHttp(res: http.ServerResponse, verdict: { status: 401 | 429; retryAfterSeconds: number }): void {
  const error = refusal(verdict);
  const headers = (error.extensions.http as { headers: Record<string, string> }).headers;
  res.writeHead(verdict.status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.extensions.code } }] }));
}

/** The whole body, or null as soon as it is longer than `max` (then the rest is never read). */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function tooLarge(res: http.ServerResponse, max: number): void {
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  // The unread rest of the body would otherwise be parsed as the next request.
  res.end(JSON.stringify({ errors: [{ message: `request body larger than ${max} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }), () => res.socket?.destroy());
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

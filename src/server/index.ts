/**
 * One HTTP port: Yoga on /graphql (queries, mutations, GraphiQL), graphql-ws on the same path
 * (WebSocket upgrade), graphql-sse on /graphql/stream, Yoga-style SSE subscriptions on
 * /graphql, and /healthz, /readyz, /metrics. Every operation that is not plain HTTP goes
 * through the operation core (operation.ts), which runs it through `yoga.getEnveloped`, so
 * all transports share one set of plugins and one context shape; subscriptions execute once
 * per group of identical subscribers (groups.ts) with bounded delivery (delivery.ts).
 *
 * Files: auth.ts (tokens, failed-login budget, revocation), yoga.ts (Yoga, masking),
 * routes.ts (plain routes), http.ts (request handler), ws.ts (graphql-transport-ws),
 * sse.ts (graphql-sse and Yoga SSE).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { createDashboardRoute } from '../dashboard/index.ts';
import type { Services } from '../graphql/context.ts';
import { attachSubscriptionStats, observabilityPlugin } from '../metrics.ts';
import { mutationRateLimitPlugin, operationLimitPlugins } from '../security/graphql-limits.ts';
import { createRateLimiter } from '../security/rate-limit.ts';
import { createMcpRoute, envelopedExecutor } from '../mcp/index.ts';
import { createAuth } from './auth.ts';
import { databaseUnavailablePlugin } from './database-unavailable.ts';
import { createAdmission } from './admission.ts';
import { createRequestHandler } from './http.ts';
import { createOperationCore, type OperationCore } from './operation.ts';
import { healthRoute, metricsRoute, type BodyRoute, type Route } from './routes.ts';
import { createSse } from './sse.ts';
import { createWsServer } from './ws.ts';
import { jitPlugin } from './jit.ts';
import { createYogaApp } from './yoga.ts';

export { MAX_SUBSCRIPTIONS_PER_SOCKET, WS_CLOSE_SLOW_CONSUMER, WS_CLOSE_TOKEN_INVALID } from './ws.ts';
export { TOKEN_SWEEP_MS } from './auth.ts';
export type { OperationCore, OperationParams } from './operation.ts';

const SHUTDOWN_GRACE_MS = 5000;

export interface ServerHandle {
  /** http://host:port once started. */
  readonly url: string;
  readonly port: number;
  /** The operation core (in-process GraphQL for other modules, and its subscription counts). */
  readonly operations: OperationCore;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function buildServer(services: Services): ServerHandle {
  const { config, log } = services;
  const auth = createAuth(services);

  // Yoga plugins, in order; they apply to every transport.
  const plugins: Plugin[] = [
    auth.requireToken as Plugin,
    ...operationLimitPlugins(config.limits, config.introspection),
    mutationRateLimitPlugin(createRateLimiter(config.limits.mutationsPerMinute)) as Plugin,
    observabilityPlugin(log),
    databaseUnavailablePlugin(),
    jitPlugin(), // queries and mutations run compiled (jit.ts)
  ];
  const yoga = createYogaApp(services, plugins);
  const core = createOperationCore(services, yoga);
  const sse = createSse({ services, auth, core });
  const ws = createWsServer({ services, auth, core });

  // MCP on /mcp (src/mcp/): this server's auth decision and enveloped execution, so tools get the same roles and limits.
  const mcp = config.mcp.enabled
    ? createMcpRoute({
        authenticate: (header, address) => auth.authenticate(header, address, 'mcp'),
        execute: envelopedExecutor(yoga.getEnveloped, log),
        track: (tokenId, close) => auth.track({ tokenId }, close),
        events: services.events,
        log,
        sessionIdleSeconds: config.mcp.sessionIdleSeconds,
      })
    : null;

  // Plain routes, in order, before GraphQL; then those that take the (capped) body.
  const routes: Route[] = [healthRoute(services), metricsRoute(config.metricsToken), createDashboardRoute({ enabled: config.dashboard, log })];
  const bodyRoutes: BodyRoute[] = mcp ? [(req, res, path, body) => mcp.handle(req, res, path, body)] : [];

  const admission = createAdmission(services.config.limits.maxConcurrentRequests, services.config.limits.maxQueuedRequests, pollsWaiting(services));
  const server = http.createServer(createRequestHandler(services, routes, bodyRoutes, sse, yoga, admission));
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));

  let url = '';
  let port = 0;
  let detachStats: (() => void) | undefined;
  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    operations: core,
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
          auth.start();
          detachStats = attachSubscriptionStats(() => core.stats());
          resolve();
        });
      }),
    async stop() {
      await auth.stop();
      detachStats?.();
      // Stop accepting, let in-flight requests finish, then close what is left.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await mcp?.close();
      await ws.stop();
      sse.stop();
      core.stop();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * Whether polls are waiting for a concurrency slot, read at most every 100 ms. A count that cannot
 * be read is no pressure: the admission runs in every request's enter() and leave(), so a throw
 * here would fail the request and strand the queue behind it.
 */
function pollsWaiting(services: Services): () => boolean {
  let at = -Infinity;
  let waiting = false;
  return () => {
    const now = performance.now();
    if (now - at >= 100) {
      at = now;
      try {
        waiting = (services.poller?.waiting() ?? 0) > 0;
      } catch (e) {
        waiting = false;
        services.log.warn({ err: (e as Error).message }, 'polls waiting unknown; admission assumes none');
      }
    }
    return waiting;
  };
}

/**
 * Plain HTTP routes beside GraphQL: liveness, readiness, Prometheus metrics. A route answers
 * the requests it knows (true) and leaves the rest to the next (false); index.ts lists them
 * in order.
 */
import type http from 'node:http';
import type { Services } from '../graphql/context.ts';
import { checkHealth } from '../graphql/types/health.ts';

/** Handles the request and returns true, or returns false without touching it. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, path: string) => Promise<boolean>;
/** The same, for routes that take the request body (already read and capped at REQUEST_MAX_BYTES). */
export type BodyRoute = (req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer | null) => Promise<boolean>;

/** /healthz: the process answers; /readyz: the database is reachable and migrated. */
export function healthRoute(services: Services): Route {
  return async (_req, res, path) => {
    if (path === '/healthz') {
      json(res, 200, { status: 'alive' });
      return true;
    }
    if (path !== '/readyz') return false;
    const health = await checkHealth(services);
    json(res, health.database.ok ? 200 : 503, { status: health.database.ok ? 'ready' : 'not ready', database: health.database });
    return true;
  };
}

/** /metrics: Prometheus text from prom-client's default registry (src/metrics.ts). */
export function metricsRoute(): Route {
  return async (_req, res, path) => {
    if (path !== '/metrics') return false;
    const { register } = await import('prom-client');
    res.writeHead(200, { 'content-type': register.contentType });
    res.end(await register.metrics());
    return true;
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

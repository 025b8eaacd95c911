/**
 * Plain HTTP routes beside GraphQL: liveness, readiness, Prometheus metrics. A route answers
 * the requests it knows (true) and leaves the rest to the next (false); index.ts lists them
 * in order.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

/**
 * /metrics: Prometheus text from prom-client's default registry (src/metrics.ts); with
 * METRICS_TOKEN, only for `Authorization: Bearer <token>` (compared in constant time).
 */
export function metricsRoute(token: string | undefined): Route {
  const expected = token === undefined ? undefined : sha256(token);
  return async (req, res, path) => {
    if (path !== '/metrics') return false;
    if (expected && !bearerMatches(req.headers.authorization, expected)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' });
      res.end('metrics token required\n');
      return true;
    }
    const { register } = await import('prom-client');
    res.writeHead(200, { 'content-type': register.contentType });
    res.end(await register.metrics());
    return true;
  };
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Hashing both sides gives equal lengths, so timingSafeEqual never throws and leaks no length. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(sha256(m[1]!), expected);
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

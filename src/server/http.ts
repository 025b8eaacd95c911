/**
 * The HTTP request handler: the plain routes first (health, metrics, and whatever index.ts
 * adds), then GraphQL. Bodies are read here, capped at REQUEST_MAX_BYTES, before any parser
 * sees them. /graphql/stream is graphql-sse; a subscription asking for text/event-stream on
 * /graphql is Yoga-style SSE served by the operation core; everything else is Yoga's.
 */
import type http from 'node:http';
import { Readable } from 'node:stream';
import type { Services } from '../graphql/context.ts';
import { graphqlRefused } from '../metrics.ts';
import { json, type BodyRoute, type Route } from './routes.ts';
import type { Sse } from './sse.ts';
import type { Yoga } from './yoga.ts';
import { respondDatabaseUnavailable } from './database-unavailable.ts';
import type { Admission } from './admission.ts';

export function createRequestHandler(services: Services, routes: Route[], bodyRoutes: BodyRoute[], sse: Sse, yoga: Yoga, admission: Admission): http.RequestListener {
  const { log } = services;
  const max = services.config.limits.maxRequestBytes;
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      for (const route of routes) if (await route(req, res, path)) return;
      let body: Buffer | null = null;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        body = await readBody(req, max);
        if (!body) return tooLarge(res, max);
      }
      for (const route of bodyRoutes) if (await route(req, res, path, body)) return;
      const text = body ? body.toString('utf8') : null;
      if (path === '/graphql/stream') return await sse.graphqlSse(req, res, text);
      if (path === '/graphql' && (req.headers.accept ?? '').includes('text/event-stream') && (await sse.yogaSse(req, res, text))) return;
      // Yoga takes an already-read body from `req.body` (as behind body-parsing frameworks).
      if (body) (req as http.IncomingMessage & { body?: Readable }).body = Readable.from(body.length ? [body] : []);
      if (!(await admission.enter())) return overloaded(res);
      try {
        return await yoga(req, res);
      } finally {
        admission.leave();
      }
    } catch (e) {
      if (respondDatabaseUnavailable(res, e)) return;
      log.error({ err: e, path }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    }
  };
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

function overloaded(res: http.ServerResponse): void {
  graphqlRefused();
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
  res.end(JSON.stringify({ errors: [{ message: 'server busy: too many GraphQL requests waiting, retry later', extensions: { code: 'OVERLOADED' } }] }));
}

function tooLarge(res: http.ServerResponse, max: number): void {
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  // The unread rest of the body would otherwise be parsed as the next request.
  res.end(JSON.stringify({ errors: [{ message: `request body larger than ${max} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }), () => res.socket?.destroy());
}

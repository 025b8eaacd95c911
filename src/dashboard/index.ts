/**
 * The built-in dashboard on `/`: static files of web/dist (built by ./build.ts), served from
 * memory. A request path is only ever looked up in the map of files the build emitted, so no
 * path reaches the file system (no traversal); anything else is not ours and falls through to
 * the next route. Client-side routes (`/devices/<id>`, `/alerts`, `/add-host`) get the app's
 * index.html so deep links and reloads work.
 *
 * Caching: hashed assets are immutable for a year; index.html is revalidated on every load
 * (ETag), so a new build is picked up at once. Bodies are gzipped once at load.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../log.ts';
import type { Route } from '../server/routes.ts';
import { DIST_DIR, ensureDashboardBuilt } from './build.ts';

/** Paths the client's router owns (web/src/router.ts): each answers with index.html. */
export const APP_ROUTE = /^\/(?:devices\/[^/]+|alerts|add-host)?\/?$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page loads only its own files and talks only to its own origin (HTTP and WebSocket);
 * nothing inline runs. uPlot and the app set styles through the CSSOM, which style-src does
 * not restrict.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

export interface DashboardOptions {
  enabled: boolean;
  log: Logger;
  /** The build to serve (default web/dist); tests point it elsewhere. */
  distDir?: string;
  /** Build first when web/dist is missing or stale (default true). */
  build?: boolean;
  /** After a failed load, the next request tries again once this long has passed (default 5 s). */
  retryMs?: number;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (!entry.name.startsWith('.')) assets.set(`/${rel}`, toAsset(rel, fs.readFileSync(path.join(dir, rel))));
    }
  };
  walk('');
  if (!assets.has('/index.html')) throw new Error(`${dir} has no index.html`);
  return assets;
}

function toAsset(rel: string, body: Buffer): Asset {
  const type = TYPES[path.extname(rel)] ?? 'application/octet-stream';
  const hashed = rel.startsWith('assets/');
  const compressible = /^(text|application\/json|image\/svg)/.test(type) && body.length > 512;
  return {
    body,
    gzip: compressible ? gzipSync(body, { level: 9 }) : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    cacheControl: hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

function send(req: http.IncomingMessage, res: http.ServerResponse, asset: Asset, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = {
    'content-type': asset.type,
    'cache-control': asset.cacheControl,
    etag: asset.etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    ...extra,
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? asset.gzip : null;
  const body = gzip ?? asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

const RETRY_MS = 5000;

const HTML_HEADERS = { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' };

/** The route server.ts calls first for every request; true when it answered. */
export function createDashboardRoute(options: DashboardOptions): Route {
  if (!options.enabled) return async () => false;
  const { log } = options;
  const dir = options.distDir ?? DIST_DIR;
  const load = async (): Promise<Map<string, Asset>> => {
    if (options.build !== false && !options.distDir) {
      const started = performance.now();
      try {
        if (await ensureDashboardBuilt()) log.info({ ms: Math.round(performance.now() - started) }, 'dashboard built');
      } catch (err) {
        // A stale build (if any) is better than none.
        log.error({ err: (err as Error).message }, 'dashboard build failed');
      }
    }
    return loadAssets(dir);
  };
  let loading = load();
  let failedAt = 0;
  loading.catch((err: unknown) => {
    failedAt = Date.now();
    log.error({ err: (err as Error).message, dir }, 'dashboard unavailable');
  });

  return async (req, res, urlPath) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const isApp = APP_ROUTE.test(urlPath);
    if (!isApp && !urlPath.startsWith('/assets/') && urlPath !== '/favicon.svg') return false;
    // A failed load (no build yet, or another process swapping one in) is tried again, at most every few seconds.
    if (failedAt && Date.now() - failedAt >= (options.retryMs ?? RETRY_MS)) {
      failedAt = 0;
      loading = load();
      loading.catch(() => (failedAt = Date.now()));
    }
    let assets: Map<string, Asset>;
    try {
      assets = await loading;
    } catch {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The dashboard is not built: run `npm ci` (or `npx tsx src/dashboard/build.ts`) and restart. The API is on /graphql.\n');
      return true;
    }
    if (isApp) {
      send(req, res, assets.get('/index.html')!, HTML_HEADERS);
      return true;
    }
    const asset = assets.get(urlPath);
    if (!asset) return false;
    send(req, res, asset);
    return true;
  };
}

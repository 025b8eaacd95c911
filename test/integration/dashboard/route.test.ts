/**
 * How the server serves the dashboard (src/dashboard): the app for `/` and its deep links,
 * hashed assets with the right type and a year of caching, index.html revalidated by ETag,
 * gzip when asked, HEAD; no path outside the build is reachable (raw `..` and encoded forms),
 * other methods and the API paths are not its business; DASHBOARD_ENABLED=false turns it off;
 * a missing build answers 503 with what to do.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIST_DIR } from '../../../src/dashboard/build.ts';
import { createDashboardRoute } from '../../../src/dashboard/index.ts';
import { createLogger } from '../../../src/log.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

let app: TestApp;
let off: TestApp;

beforeAll(async () => {
  [app, off] = await Promise.all([startTestApp(), startTestApp({ DASHBOARD_ENABLED: 'false' })]);
});
afterAll(async () => {
  await app?.close();
  await off?.close();
});

/** A request with the path exactly as given: fetch would normalise `..` away. */
function raw(base: string, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const scriptOf = (html: string): string => /<script type="module" src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;

describe('serving the dashboard', () => {
  test('/ and the client routes answer the app, revalidated, with a CSP', async () => {
    for (const p of ['/', '/devices/local', '/devices/0b6f4c1e-1111-4222-8333-944445555666', '/alerts', '/add-host', '/alerts/']) {
      const r = await raw(app.server.url, p);
      expect(r.status, p).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.body.toString()).toContain('<div id="app">');
    }
    const first = await raw(app.server.url, '/');
    const again = await raw(app.server.url, '/', { 'if-none-match': String(first.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  test('hashed assets: their type, immutable for a year, gzip on request, HEAD without a body', async () => {
    const script = scriptOf((await raw(app.server.url, '/')).body.toString());
    const plain = await raw(app.server.url, script);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    const zipped = await raw(app.server.url, script, { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    const head = await raw(app.server.url, script, {}, 'HEAD');
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(plain.body.length), 0]);
    const css = /<link rel="stylesheet" href="([^"]+)"/.exec((await raw(app.server.url, '/')).body.toString())![1]!;
    expect((await raw(app.server.url, css)).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw(app.server.url, '/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
  });

  test('no path reaches a file outside the build', async () => {
    const secretFile = path.join(app.services.config.dataDir, 'id_ed25519.sealed');
    fs.writeFileSync(secretFile, 'sealed\n');
    for (const p of [
      '/assets/../../../package.json',
      '/assets/..%2f..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/assets/....//....//package.json',
      '/../package.json',
      '/%2e%2e/package.json',
      '/assets/.build.json',
      '/.build.json',
      `/assets/${'..%5c'.repeat(4)}package.json`,
      '/index.html/../../package.json',
      `/assets/..${encodeURIComponent(secretFile)}`,
      '/devices/..%2f..%2fpackage.json/x',
    ]) {
      const r = await raw(app.server.url, p);
      expect(r.body.toString(), p).not.toContain('"name": "infrapulse"');
      expect(r.body.toString(), p).not.toContain('sealed');
      expect(r.status, p).not.toBe(500);
    }
  });

  test('other methods, unknown assets and the API are not the dashboard', async () => {
    expect((await raw(app.server.url, '/', {}, 'POST')).status).toBe(404);
    expect((await raw(app.server.url, '/assets/nope.js')).status).toBe(404);
    expect((await raw(app.server.url, '/devices/a/b')).status).toBe(404);
    expect((await raw(app.server.url, '/healthz')).body.toString()).toContain('alive');
    const gql = await app.gql<{ me: { name: string; role: string } }>('{ me { name role } }');
    expect(gql.body.data?.me).toEqual({ name: 'test admin', role: 'ADMIN' });
  });

  test('DASHBOARD_ENABLED=false: / is not served', async () => {
    const r = await raw(off.server.url, '/');
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain('<div id="app">');
    expect((await raw(off.server.url, '/healthz')).status).toBe(200);
  });

  test('a missing build answers 503 saying how to build it, and is served once it appears', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-nodist-'));
    const route = createDashboardRoute({ enabled: true, log: createLogger('silent'), distDir: empty, retryMs: 0 });
    const server = http.createServer(async (req, res) => {
      if (!(await route(req, res, (req.url ?? '/').split('?')[0]!))) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const r = await raw(base, '/');
      expect(r.status).toBe(503);
      expect(r.body.toString()).toMatch(/not built: run `npm ci`/);
      // Another process finishing its build (or swapping one in) is picked up by a later request.
      fs.cpSync(DIST_DIR, empty, { recursive: true });
      await expect.poll(async () => (await raw(base, '/')).status).toBe(200);
    } finally {
      server.close();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

/**
 * /metrics behind an optional METRICS_TOKEN (issue #14, item 12): Prometheus sends it as
 * `authorization: Bearer <token>` (scrape_config `authorization: { credentials: … }`).
 * Unset, /metrics stays open; set, anything but that exact bearer gets 401.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

const TOKEN = 'prometheus-scrape-secret-0123456789';
let open: TestApp;
let guarded: TestApp;

beforeAll(async () => {
  open = await startTestApp();
  guarded = await startTestApp({ METRICS_TOKEN: TOKEN });
}, 120_000);

afterAll(async () => {
  await open?.close();
  await guarded?.close();
});

const scrape = (app: TestApp, authorization?: string) =>
  fetch(`${app.server.url}/metrics`, { headers: authorization ? { authorization } : {} });

describe('/metrics with METRICS_TOKEN', () => {
  test('unset: open, as before', async () => {
    const res = await scrape(open);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('process_cpu_user_seconds_total');
  });

  test('set: 401 with a Bearer challenge without it or with another; 200 with it', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer']) {
      const res = await scrape(guarded, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain('process_cpu');
    }
    const ok = await scrape(guarded, `Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('process_cpu_user_seconds_total');
    const lower = await scrape(guarded, `bearer ${TOKEN}`);
    expect(lower.status).toBe(200);
  });

  test('health routes stay open when it is set', async () => {
    expect((await fetch(`${guarded.server.url}/healthz`)).status).toBe(200);
  });
});

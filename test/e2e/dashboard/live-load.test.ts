/**
 * A page loads and goes live without a gap (web/src/live.ts): in chromium, the dashboard's
 * WebSocket is routed through a gate that holds every `subscribe` message back while an alert
 * is acknowledged through the API, so its alertChanged is published before the server listens
 * on the page's subscriptions. The alerts page and the header's firing count must still show
 * the alert ACKNOWLEDGED: the page loads only once the server listens, never before.
 */
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';
import { until } from '../../helpers/until.ts';

let app: DashboardApp;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  app = await startDashboardApp();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** The page's graphql-ws traffic, its `subscribe` messages held until `open()`. */
function gate(): { route: (page: Page) => Promise<void>; held: () => number; open: () => void } {
  const held: string[] = [];
  let server: WebSocketRoute | undefined;
  let closed = true;
  return {
    route: (page) =>
      page.routeWebSocket(/\/graphql$/, (ws) => {
        server = ws.connectToServer();
        server.onMessage((m) => ws.send(m));
        ws.onMessage((m) => {
          const text = String(m);
          if (closed && (JSON.parse(text) as { type: string }).type === 'subscribe') held.push(text);
          else server!.send(text);
        });
      }),
    held: () => held.length,
    open() {
      closed = false;
      for (const m of held.splice(0)) server!.send(m);
    },
  };
}

test.skipIf(!chromiumAvailable)('an alert acknowledged while the page subscribes shows ACKNOWLEDGED, not the FIRING read before', async () => {
  const { prisma } = app.db;
  const device = await prisma.device.create({ data: { name: 'gap-host', hostname: 'gap.lan', username: 'm' } });
  const rule = await prisma.alertRule.create({ data: { name: 'hot', metric: 'CPU_PERCENT', comparator: 'GTE', threshold: 90 } });
  const alert = await prisma.alert.create({ data: { ruleId: rule.id, deviceId: device.id, state: 'FIRING', severity: 'WARNING', value: '97', message: 'cpu 97 % ≥ 90', firedAt: new Date() } });
  const { token } = await app.token('VIEWER', 'watcher');

  const ws = gate();
  const page = await signedInPage(browser!, app, token, '/alerts', ws.route);
  // The header's firing count and the alerts page each subscribe to alertChanged.
  await until(() => ws.held() >= 2, 'the page\'s subscriptions', 15_000);
  await new Promise((r) => setTimeout(r, 500));
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation { acknowledgeAlert(id: "${alert.id}") { ... on Alert { state } } }` }),
  });
  expect(await res.json()).toEqual({ data: { acknowledgeAlert: { state: 'ACKNOWLEDGED' } } });
  ws.open();

  const row = page.getByRole('region', { name: 'Open alerts' }).getByRole('listitem').filter({ hasText: 'hot' });
  await expect.poll(() => row.locator('.badge').first().innerText(), { timeout: 15_000 }).toBe('ACKNOWLEDGED');
  expect(await page.getByRole('link', { name: /^Alerts/ }).locator('.pill').count()).toBe(0);
  expect(await page.getByRole('region', { name: 'Open alerts' }).locator('h2').innerText()).toContain('(0 firing, 1 pending or acknowledged)');
  expect(page.problems).toEqual([]);
  await page.close();
}, 60_000);

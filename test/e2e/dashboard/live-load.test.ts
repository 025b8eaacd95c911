/**
 * A page loads and goes live without a gap (web/src/live.ts, fleet.ts): in chromium, the
 * dashboard's WebSocket is routed through a gate that holds every `subscribe` message back while
 * something changes through the API, so its event is published before the server listens on the
 * page's subscriptions. The page must still show the new state: it loads only once the server
 * listens, never before. An alert acknowledged (the alerts page and the header's firing count),
 * and a device whose monitoring is switched off (the fleet overview, which otherwise reloads only
 * every minute).
 */
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';
import { until } from '../../helpers/until.ts';

let app: DashboardApp;
let sim: Simulator;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  sim = await startSimulator({ devices: 1, seed: 11 });
  app = await startDashboardApp({ pollSeconds: 300, env: { MONITOR_LOCALHOST: 'false' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await sim?.stop().catch(() => undefined);
});

async function gql(query: string): Promise<unknown> {
  const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return res.json();
}

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
  // Not polled: nothing but the acknowledgement changes this alert.
  const device = await prisma.device.create({ data: { name: 'gap-host', hostname: 'gap.lan', username: 'm', monitoringEnabled: false, status: 'DISABLED' } });
  const rule = await prisma.alertRule.create({ data: { name: 'hot', metric: 'CPU_PERCENT', comparator: 'GTE', threshold: 90, deviceIds: [device.id] } });
  const alert = await prisma.alert.create({ data: { ruleId: rule.id, deviceId: device.id, state: 'FIRING', severity: 'WARNING', value: '97', message: 'cpu 97 % ≥ 90', firedAt: new Date() } });
  const { token } = await app.token('VIEWER', 'watcher');

  const ws = gate();
  const page = await signedInPage(browser!, app, token, '/alerts', ws.route);
  // The header's firing count and the alerts page each subscribe to alertChanged.
  await until(() => ws.held() >= 2, 'the page\'s subscriptions', 15_000);
  await new Promise((r) => setTimeout(r, 500));
  expect(await gql(`mutation { acknowledgeAlert(id: "${alert.id}") { ... on Alert { state } } }`)).toEqual({ data: { acknowledgeAlert: { state: 'ACKNOWLEDGED' } } });
  ws.open();

  const row = page.getByRole('region', { name: 'Open alerts' }).getByRole('listitem').filter({ hasText: 'hot' });
  await expect.poll(() => row.locator('.badge').first().innerText(), { timeout: 15_000 }).toBe('ACKNOWLEDGED');
  expect(await page.getByRole('link', { name: /^Alerts/ }).locator('.pill').count()).toBe(0);
  expect(await page.getByRole('region', { name: 'Open alerts' }).locator('h2').innerText()).toContain('(0 firing, 1 pending or acknowledged)');
  expect(page.problems).toEqual([]);
  await page.close();
}, 60_000);

test.skipIf(!chromiumAvailable)('a device switched off while the overview subscribes shows DISABLED, not the status read before', async () => {
  const reg = await registerDevices({ url: `${app.url}/graphql`, token: app.adminToken, hostname: sim.host, port: sim.port, usernames: sim.usernames });
  const id = reg.created[0]!.id!;
  const status = () => app.db.prisma.device.findUniqueOrThrow({ where: { id } }).then((d) => d.status);
  await expect.poll(status, { timeout: 30_000 }).toMatch(/^(ONLINE|DEGRADED)$/);
  const { token } = await app.token('VIEWER', 'overview');

  const ws = gate();
  const page = await signedInPage(browser!, app, token, '/', ws.route);
  // The overview's samples, filesystems and statuses, and the header's alerts.
  await until(() => ws.held() >= 4, 'the page\'s subscriptions', 15_000);
  await new Promise((r) => setTimeout(r, 500));
  expect(await gql(`mutation { updateDevice(id: "${id}", input: { monitoringEnabled: false }) { __typename } }`)).toEqual({ data: { updateDevice: { __typename: 'Device' } } });
  // The poller publishes the change once it has the device's new settings.
  await expect.poll(status, { timeout: 15_000 }).toBe('DISABLED');
  ws.open();

  const cell = page.getByRole('row').filter({ has: page.getByRole('link', { name: sim.usernames[0]!, exact: true }) }).getByRole('cell').nth(1);
  await expect.poll(() => cell.innerText(), { timeout: 15_000 }).toBe('DISABLED');
  expect(page.problems).toEqual([]);
  await page.close();
}, 90_000);

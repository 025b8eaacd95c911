/**
 * A page loads and goes live without a gap (web/src/live.ts, fleet.ts): in chromium, the
 * dashboard's WebSocket is routed through a gate that holds every `subscribe` message back while
 * something changes through the API, so its event is published before the server listens on the
 * page's subscriptions. The page must still show the new state: it loads only once the server
 * listens, never before. An alert acknowledged (the alerts page and the header's firing count),
 * and a device whose monitoring is switched off (the fleet overview, which otherwise reloads only
 * every minute). And the other half: an answer read from the server before an acknowledgement,
 * held back until its event has arrived, must not undo it (the event is applied over it).
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

/** A FIRING alert of its own rule on a device nobody polls: nothing but the test changes it. */
async function firingAlert(name: string): Promise<string> {
  const { prisma } = app.db;
  const device = await prisma.device.create({ data: { name: `${name}-host`, hostname: `${name}.lan`, username: 'm', monitoringEnabled: false, status: 'DISABLED' } });
  const rule = await prisma.alertRule.create({ data: { name, metric: 'CPU_PERCENT', comparator: 'GTE', threshold: 90, deviceIds: [device.id] } });
  const alert = await prisma.alert.create({ data: { ruleId: rule.id, deviceId: device.id, state: 'FIRING', severity: 'WARNING', value: '97', message: 'cpu 97 % ≥ 90', firedAt: new Date() } });
  return alert.id;
}

/** The header's count of FIRING alerts ('0' when it shows none) and what the database holds. */
const shownFiring = async (page: Page) => {
  const pill = page.getByRole('link', { name: /^Alerts/ }).locator('.pill');
  return (await pill.count()) === 0 ? '0' : pill.innerText();
};
const storedFiring = async () => String(await app.db.prisma.alert.count({ where: { state: 'FIRING' } }));

/** The state badge of the open alert `name` on the alerts page. */
const alertBadge = (page: Page, name: string) => page.getByRole('region', { name: 'Open alerts' }).getByRole('listitem').filter({ hasText: name }).locator('.badge').first();

/** The alert `name` shown ACKNOWLEDGED, the header's firing count the database's, and no page error. */
async function expectAcknowledged(page: Page & { problems: string[] }, name: string): Promise<void> {
  await expect.poll(() => alertBadge(page, name).innerText(), { timeout: 15_000 }).toBe('ACKNOWLEDGED');
  // Another alert may fire meanwhile (the simulated host of the fleet test): the count is the database's.
  await expect.poll(() => shownFiring(page)).toBe(await storedFiring());
  expect(page.problems).toEqual([]);
}

const acknowledge = async (id: string) =>
  expect(await gql(`mutation { acknowledgeAlert(id: "${id}") { ... on Alert { state } } }`)).toEqual({ data: { acknowledgeAlert: { state: 'ACKNOWLEDGED' } } });

test.skipIf(!chromiumAvailable)('an alert acknowledged while the page subscribes shows ACKNOWLEDGED, not the FIRING read before', async () => {
  const alert = await firingAlert('hot');
  const { token } = await app.token('VIEWER', 'watcher');

  const ws = gate();
  const page = await signedInPage(browser!, app, token, '/alerts', ws.route);
  // alertChanged (the header's firing count and the alerts page; urql sends equal operations once), and the query that waits for it.
  await until(() => ws.held() >= 2, 'the page\'s subscriptions', 15_000);
  await new Promise((r) => setTimeout(r, 500));
  await acknowledge(alert);
  ws.open();

  await expectAcknowledged(page, 'hot');
  expect(await page.getByRole('region', { name: 'Open alerts' }).locator('h2').innerText()).toContain(`(${await storedFiring()} firing,`);
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

test.skipIf(!chromiumAvailable)('an event that arrives before the answer it postdates is applied over that answer', async () => {
  const alert = await firingAlert('warm');
  const { token } = await app.token('VIEWER', 'reader');
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let read = 0;
  let delivered = 0;
  const page = await signedInPage(browser!, app, token, '/alerts', async (p) => {
    // The open alerts are read from the server at once, and their answers held back.
    await p.route(/\/graphql$/, async (route) => {
      if (!route.request().postData()?.includes('"operationName":"OpenAlerts"')) return route.continue();
      const response = await route.fetch();
      read++;
      await released;
      await route.fulfill({ response });
    });
    p.on('websocket', (ws) => ws.on('framereceived', (f) => void (String(f.payload).includes('"alertChanged"') && delivered++)));
  });
  // The header's firing count and the alerts page read the open alerts (urql sends equal operations once).
  await until(() => read >= 1, 'the open alerts read', 15_000);
  await acknowledge(alert);
  await until(() => delivered >= 1, 'the acknowledgement delivered', 15_000);
  release();

  await expectAcknowledged(page, 'warm');
  await page.close();
}, 60_000);

test.skipIf(!chromiumAvailable)('a socket that stays silent past the wait: the page loads anyway, and loads again once the server listens', async () => {
  const alert = await firingAlert('slow');
  const { token } = await app.token('VIEWER', 'patient');
  const ws = gate();
  const page = await signedInPage(browser!, app, token, '/alerts', ws.route);
  // Nothing answers on the socket: after SUBSCRIBED_WAIT_MS (3 s) the page loads without the guarantee.
  await expect.poll(() => alertBadge(page, 'slow').innerText(), { timeout: 15_000 }).toBe('FIRING');
  await acknowledge(alert);
  ws.open();
  await expectAcknowledged(page, 'slow');
  await page.close();
}, 60_000);

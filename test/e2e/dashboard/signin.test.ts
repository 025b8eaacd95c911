/**
 * The dashboard in Debian's chromium against a real server with a real poller: it loads from
 * `/` with nothing from elsewhere, a wrong token is refused at the sign-in form, the admin
 * token shows the fleet with the `local` device and its status word, a sample published after
 * a poll changes the row without a reload, and a revoked token sends the user back to sign-in.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { toWire } from '../../../src/events/index.ts';
import { revokeApiToken } from '../../../src/tokens.ts';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';
import { filesystemRow, systemRow } from '../../helpers/rows.ts';

let app: DashboardApp;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  app = await startDashboardApp({ pollSeconds: 5 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test.skipIf(!chromiumAvailable)('a wrong token is refused with a clear message and the form stays', async () => {
  const page = await browser!.newPage();
  await page.goto(`${app.url}/`);
  await page.getByLabel('API token').fill('ipt_this-is-not-a-token-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/refused: it is wrong, revoked or expired/);
  expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  await page.close();
});

test.skipIf(!chromiumAvailable)('signing in shows the local device with its status; session storage unless remembered', async () => {
  const page = await browser!.newPage();
  const offsite: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(app.url) && !/^(blob|data):/.test(r.url())) offsite.push(r.url());
  });
  await page.goto(`${app.url}/`);
  await page.getByLabel('API token').fill(app.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'local', exact: true }) });
  await row.waitFor({ timeout: 20_000 });
  // The poller's first poll of this machine turns UNKNOWN into ONLINE (or DEGRADED without docker/smartctl): live, no reload.
  await expect.poll(() => row.getByRole('cell').nth(1).innerText(), { timeout: 20_000 }).toMatch(/^(ONLINE|DEGRADED)$/);
  expect(await page.evaluate(() => [sessionStorage.getItem('infrapulse.token') !== null, localStorage.getItem('infrapulse.token')])).toEqual([true, null]);
  expect(offsite).toEqual([]);
  await page.close();

  const remembered = await browser!.newPage();
  await remembered.goto(`${app.url}/`);
  await remembered.getByLabel('API token').fill(app.adminToken);
  await remembered.getByLabel('Remember me on this browser').check();
  await remembered.getByRole('button', { name: 'Sign in' }).click();
  await remembered.getByRole('link', { name: 'local', exact: true }).waitFor();
  expect(await remembered.evaluate(() => [sessionStorage.getItem('infrapulse.token'), localStorage.getItem('infrapulse.token') !== null])).toEqual([null, true]);
  await remembered.getByRole('button', { name: 'Sign out' }).click();
  await remembered.getByLabel('API token').waitFor();
  expect(await remembered.evaluate(() => localStorage.length)).toBe(0);
  await remembered.close();
}, 60_000);

test.skipIf(!chromiumAvailable)('a live sample changes the overview without a reload', async () => {
  const device = await app.db.prisma.device.create({ data: { name: 'live-host', hostname: 'live.lan', username: 'm', monitoringEnabled: false, status: 'DISABLED' } });
  const page = await signedInPage(browser!, app, app.adminToken);
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'live-host' }) });
  await row.waitFor();
  expect(await row.getByRole('cell').nth(3).innerText()).toBe('–');
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  // What the poller's writer publishes after a commit.
  const sample = systemRow(device.id, new Date(), { cpuPercent: 73.2, memUsedPercent: 41.6, load1: 2.25 });
  app.services.events.publish('metricCollected', { deviceId: device.id, sample: toWire(sample) });
  await expect.poll(() => row.getByRole('cell').nth(3).innerText(), { timeout: 5000 }).toBe('73 %');
  expect(await row.getByRole('cell').nth(4).innerText()).toBe('42 %');
  expect(await row.getByRole('cell').nth(6).innerText()).toBe('2.25');
  expect(await row.getByRole('cell').nth(2).innerText()).toMatch(/^\d+ s ago$/);
  // The fullest filesystem follows filesystemsCollected.
  app.services.events.publish('filesystemsCollected', {
    deviceId: device.id,
    time: sample.time.toISOString(),
    rows: [toWire(filesystemRow(device.id, sample.time, '/', { usedPercent: 12 })), toWire(filesystemRow(device.id, sample.time, '/data', { usedPercent: 64.2 }))],
  });
  await expect.poll(() => row.getByRole('cell').nth(5).innerText(), { timeout: 5000 }).toBe('64 %');
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  expect(page.problems).toEqual([]);
  await page.close();
});

test.skipIf(!chromiumAvailable)('a token revoked while signed in ends the session with a message', async () => {
  const { token, id } = await app.token('VIEWER', 'soon revoked');
  const page = await signedInPage(browser!, app, token);
  await page.getByRole('link', { name: 'local', exact: true }).waitFor();
  await revokeApiToken(app.db.prisma, id);
  app.services.events.publish('tokenRevoked', { tokenId: id });
  await page.getByLabel('API token').waitFor({ timeout: 10_000 });
  expect(await page.getByRole('alert').innerText()).toMatch(/no longer accepted/);
  expect(await page.evaluate(() => sessionStorage.getItem('infrapulse.token'))).toBeNull();
  await page.close();
});

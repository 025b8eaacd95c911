/**
 * The device page's Collectors panel in chromium: each collector's state and reason as the API
 * gives them (UNAVAILABLE on a host without a docker daemon is shown, not as trouble); an
 * OPERATOR switches one off (DISABLED, still after a reload, stored on the device) and sets
 * another one's interval through updateDevice; a VIEWER sees the states and no controls.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';

const REASON = 'docker: the container engine daemon is not running: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';
let app: DashboardApp;
let browser: Browser | undefined;
let deviceId: string;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  app = await startDashboardApp();
  const at = new Date(Date.now() - 60_000).toISOString();
  const device = await app.db.prisma.device.create({
    data: {
      name: 'no-docker-host',
      hostname: 'h.lan',
      username: 'm',
      status: 'ONLINE',
      collectorStates: {
        system: { state: 'OK', reason: null, lastRunAt: at, since: at },
        containers: { state: 'UNAVAILABLE', reason: REASON, lastRunAt: at, since: at },
      },
    },
  });
  deviceId = device.id;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test.skipIf(!chromiumAvailable)('an OPERATOR switches a collector off (DISABLED after a reload) and sets an interval', async () => {
  const { token } = await app.token('OPERATOR');
  const page = await signedInPage(browser!, app, token, `/devices/${deviceId}`);
  const panel = page.getByRole('region', { name: 'Collectors' });
  const containers = panel.getByRole('row', { name: 'Containers collector' });
  await containers.getByText('UNAVAILABLE').waitFor();
  await containers.getByText(REASON).waitFor();
  await panel.getByRole('row', { name: 'System collector' }).getByText('OK', { exact: true }).waitFor();
  await panel.getByRole('row', { name: 'Drives collector' }).getByText('not run yet').waitFor();

  const toggle = containers.getByRole('switch', { name: 'Run the containers collector' });
  expect(await toggle.isChecked()).toBe(true);
  await toggle.click();
  await containers.getByText('DISABLED').waitFor();
  expect((await app.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).disabledCollectors).toEqual(['containers']);

  await page.reload();
  const after = page.getByRole('region', { name: 'Collectors' }).getByRole('row', { name: 'Containers collector' });
  await after.getByText('DISABLED').waitFor();
  await after.getByText('switched off for this device').waitFor();
  expect(await after.getByRole('switch', { name: 'Run the containers collector' }).isChecked()).toBe(false);

  const interval = page.getByRole('spinbutton', { name: 'Seconds between system polls' });
  await interval.fill('120');
  await interval.press('Enter');
  await expect.poll(async () => (await app.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).systemInterval, { timeout: 20_000 }).toBe(120);
  await page.reload();
  expect(await page.getByRole('spinbutton', { name: 'Seconds between system polls' }).inputValue()).toBe('120');

  // Switched on again: its earlier UNAVAILABLE is forgotten until it runs.
  await page.getByRole('switch', { name: 'Run the containers collector' }).click();
  await page.getByRole('row', { name: 'Containers collector' }).getByText('not run yet').waitFor();
  expect(page.problems).toEqual([]);
  await page.close();
}, 120_000);

test.skipIf(!chromiumAvailable)('a VIEWER sees each collector\'s state and no switch or interval field', async () => {
  const { token } = await app.token('VIEWER', 'viewer-collectors');
  const page = await signedInPage(browser!, app, token, `/devices/${deviceId}`);
  const panel = page.getByRole('region', { name: 'Collectors' });
  await panel.getByRole('row', { name: 'System collector' }).getByText('OK', { exact: true }).waitFor();
  expect(await panel.getByRole('switch').count()).toBe(0);
  expect(await panel.getByRole('spinbutton').count()).toBe(0);
  await page.close();
}, 60_000);

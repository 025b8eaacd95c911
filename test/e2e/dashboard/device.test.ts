/**
 * The device page in chromium: reached by clicking the device's name, its heading is the name,
 * the "CPU" and "Memory" charts draw the stored history (one point per bucket, pixels in the
 * series colour) and grow with a live sample; filesystems, drives (with the reasons behind a
 * WARNING), containers and status history come from the API and follow their subscriptions;
 * a deep link survives a reload.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toWire } from '../../../src/events/index.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { emptyBatch } from '../../../src/storage/types.ts';
import { chromiumAvailable, launchChromium, signedInPage, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';
import { containerRow, driveRow, filesystemRow, systemRow } from '../../helpers/rows.ts';

let app: DashboardApp;
let browser: Browser | undefined;
let deviceId: string;
const STORED = 30;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  app = await startDashboardApp();
  const device = await app.db.prisma.device.create({ data: { name: 'history-host', hostname: 'h.lan', username: 'm', tags: ['rack-2'], hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` } });
  deviceId = device.id;
  await app.db.prisma.statusChange.create({ data: { deviceId, previous: 'UNKNOWN', current: 'ONLINE', reason: null } });
  const now = Date.now();
  const batch = emptyBatch();
  // One sample every 110 s, the oldest 55 min ago: 30 buckets of the 1 h range (opened a few seconds later).
  for (let i = STORED; i >= 1; i--) batch.system.push(systemRow(deviceId, new Date(now - i * 110_000), { cpuPercent: 20 + (i % 10) * 5, memUsedPercent: 40 + (i % 5) }));
  const last = new Date(now - 110_000);
  batch.filesystems.push(filesystemRow(deviceId, last, '/', { sizeBytes: 100 * 2 ** 30, usedBytes: 87 * 2 ** 30, availableBytes: 13 * 2 ** 30, usedPercent: 87 }));
  batch.drives.push(driveRow(deviceId, last, '/dev/sda', { reallocatedSectors: 304, health: 'WARNING', attributes: { healthReasons: ['reallocated sectors: 304'] } }));
  batch.containers.push(containerRow(deviceId, last, 'web', { state: 'restarting', health: 'unhealthy', restartCount: 7, exitCode: 1 }));
  await writeBatch(app.db.prisma, batch);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** Pixels of the chart's canvas close to the series colour (#3b82f6): the line and its band were drawn. */
async function seriesPixels(page: Page, title: string): Promise<number> {
  return page.getByRole('figure', { name: title }).locator('canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - 59) < 40 && Math.abs(d[i + 1]! - 130) < 40 && Math.abs(d[i + 2]! - 246) < 40 && d[i + 3]! > 128) n++;
    return n;
  });
}

test.skipIf(!chromiumAvailable)('clicking a device opens its page: heading, charts of the stored points, live growth', async () => {
  const page = await signedInPage(browser!, app, app.adminToken);
  await page.getByRole('link', { name: 'history-host' }).click();
  await page.getByRole('heading', { level: 1, name: 'history-host' }).waitFor();
  expect(new URL(page.url()).pathname).toBe(`/devices/${deviceId}`);

  const cpu = page.getByRole('figure', { name: 'CPU' });
  const memory = page.getByRole('figure', { name: 'Memory' });
  await expect.poll(() => cpu.getAttribute('data-points')).toBe(String(STORED));
  expect(await memory.getAttribute('data-points')).toBe(String(STORED));
  expect(await seriesPixels(page, 'CPU')).toBeGreaterThan(100);

  app.services.events.publish('metricCollected', { deviceId, sample: toWire(systemRow(deviceId, new Date(), { cpuPercent: 66 })) });
  await expect.poll(() => cpu.getAttribute('data-points')).toBe(String(STORED + 1));
  expect(await cpu.innerText()).toContain('total 66 %');

  await page.getByRole('button', { name: '24 h' }).click();
  await expect.poll(() => cpu.getAttribute('aria-label')).toBe('CPU');
  await expect.poll(() => page.getByRole('button', { name: '24 h' }).getAttribute('aria-pressed')).toBe('true');
  await expect.poll(async () => Number(await cpu.getAttribute('data-points'))).toBeGreaterThan(0);
  expect(page.problems).toEqual([]);
  await page.close();
}, 60_000);

test.skipIf(!chromiumAvailable)('the page lists filesystems, drive health with its reasons, containers, status changes and the host key', async () => {
  const page = await signedInPage(browser!, app, app.adminToken, `/devices/${deviceId}`);
  await page.getByRole('heading', { level: 1, name: 'history-host' }).waitFor();
  const meter = page.getByRole('meter', { name: '/ used' });
  expect(await meter.getAttribute('aria-valuenow')).toBe('87');
  const drives = page.getByRole('region', { name: 'Drives' });
  expect(await drives.innerText()).toMatch(/WARNING[\s\S]*reallocated sectors: 304/);
  const containers = page.getByRole('region', { name: 'Containers' });
  expect(await containers.innerText()).toMatch(/web[\s\S]*restarting[\s\S]*unhealthy[\s\S]*7/);
  expect(await page.getByRole('region', { name: 'Recent status changes' }).innerText()).toMatch(/UNKNOWN[\s\S]*ONLINE/);
  expect(await page.getByRole('region', { name: 'Host key' }).innerText()).toContain(`SHA256:${'A'.repeat(43)}`);

  // The next poll's filesystems arrive through their subscription: the bar moves without a reload.
  const now = new Date();
  app.services.events.publish('filesystemsCollected', { deviceId, time: now.toISOString(), rows: [toWire(filesystemRow(deviceId, now, '/', { usedPercent: 91.4 }))] });
  await expect.poll(() => meter.getAttribute('aria-valuenow')).toBe('91');

  // A deep link is the app, not a 404, after a reload too.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'history-host' }).waitFor();
  expect(page.problems).toEqual([]);
  await page.close();
}, 60_000);

test.skipIf(!chromiumAvailable)('a changed host key shows both fingerprints, and an operator can trust the new one', async () => {
  const presented = `SHA256:${'B'.repeat(43)}`;
  await app.db.prisma.device.update({ where: { id: deviceId }, data: { status: 'HOST_KEY_MISMATCH', pendingHostKey: presented } });
  const { token } = await app.token('OPERATOR');
  const page = await signedInPage(browser!, app, token, `/devices/${deviceId}`);
  const hostKey = page.getByRole('region', { name: 'Host key' });
  await hostKey.waitFor();
  expect(await hostKey.innerText()).toMatch(new RegExp(`Pinned\\s+SHA256:A{43}[\\s\\S]*Now presented\\s+SHA256:B{43}`));
  await hostKey.getByRole('button', { name: 'Trust the new key…' }).click();
  await hostKey.getByRole('button', { name: `Trust ${presented}` }).click();
  await expect.poll(async () => (await app.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).hostKeyFingerprint).toBe(presented);
  await expect.poll(() => hostKey.innerText()).not.toContain('Now presented');
  await page.close();
}, 60_000);

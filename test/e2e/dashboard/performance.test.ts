/**
 * The dashboard's targets (docs/benchmarks.md), measured in chromium against the real server
 * with 1,000 devices: the JavaScript shipped is under 250 KB gzipped, and 100 samples/s spread
 * over the fleet for 10 s (while the list scrolls) cause no main-thread task over 50 ms of CPU
 * (Chromium trace). The wall-clock figures (first load, long-task observer) depend on what else
 * the machine runs: they are printed here and measured by `npm run bench -- --only dashboard`.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { allJsGzipBytes, measureDashboard, seedFleet, type DashboardRun } from '../../../bench/dashboard.ts';
import { chromiumAvailable, launchChromium, startDashboardApp, type DashboardApp } from '../../helpers/dashboard.ts';

const DEVICES = 1000;
let app: DashboardApp;
let browser: Browser | undefined;
let ids: string[];

beforeAll(async () => {
  if (!chromiumAvailable) return;
  app = await startDashboardApp();
  ids = await seedFleet(app.db, DEVICES);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test.skipIf(!chromiumAvailable)('1,000 devices: JS < 250 KB gzipped, no main-thread task over 50 ms of CPU at 100 samples/s', async () => {
  // A warm-up load: the server's first queries and chromium's first compile are not what a user waits for twice.
  await measureDashboard({ browser: browser!, url: app.url, token: app.adminToken, services: app.services, ids, samplesPerSec: 100, windowSec: 1 });
  const run: DashboardRun = await measureDashboard({ browser: browser!, url: app.url, token: app.adminToken, services: app.services, ids, samplesPerSec: 100, windowSec: 10 });
  console.log(`dashboard: ${JSON.stringify(run)}`);
  expect(run.published).toBeGreaterThanOrEqual(950);
  expect(run.jsGzipBytes).toBeGreaterThan(0);
  expect(run.jsGzipBytes).toBeLessThan(250 * 1024);
  // Every page's chunks together, too.
  expect(allJsGzipBytes()).toBeLessThan(250 * 1024);
  expect(run.maxTaskCpuMs).toBeGreaterThan(0);
  expect(run.maxTaskCpuMs).toBeLessThanOrEqual(50);
}, 180_000);

/**
 * dashboard: the built-in dashboard in Debian's chromium (playwright-core) against the real
 * server holding `devices` devices, each with a latest sample and filesystems.
 *
 *   first load     navigation of `/` (signed in) → the first device row on screen, and → every
 *                  device listed ("N of N devices"); localhost, cold browser context each run
 *   JS shipped     bytes of JavaScript on the wire (gzip) for that load
 *   live load      `samplesPerSec` metricCollected events, round-robin over the devices, for
 *                  `windowSec`, published as the poller does, while the list is scrolled; main-
 *                  thread tasks from Chromium's long-task observer (every task over 50 ms)
 *
 * Used by `infrapulse bench --only dashboard` and by test/e2e/dashboard/performance.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { DIST_DIR, ensureDashboardBuilt } from '../src/dashboard/build.ts';
import type { Database } from '../src/db/index.ts';
import { createSecretBox } from '../src/db/secrets.ts';
import { createEventBus } from '../src/events/index.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { buildServer } from '../src/server/index.ts';
import { createApiToken } from '../src/tokens.ts';
import { toWire } from '../src/events/index.ts';
import type { Services } from '../src/graphql/context.ts';
import { writeBatch } from '../src/storage/index.ts';
import { emptyBatch, type SystemMetricsRow } from '../src/storage/types.ts';
import { openBenchDatabase } from './db.ts';
import { stat, type Stat } from './stats.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
export const LONG_TASK_MS = 50;

export interface DashboardRun {
  firstRowsMs: number;
  allDevicesMs: number;
  jsGzipBytes: number;
  jsBytes: number;
  published: number;
  /** Long-task observer (wall clock: includes time the OS gave other processes). */
  longTasksOver50: number;
  maxLongTaskMs: number;
  /** The renderer main thread's longest task in CPU time (trace `tdur`): what the page itself costs, whatever else runs. */
  maxTaskCpuMs: number;
}

export interface DashboardResult {
  devices: number;
  samplesPerSec: number;
  windowSec: number;
  firstRowsMs: Stat;
  allDevicesMs: Stat;
  /** JavaScript of the first load (the overview), gzip and raw. */
  jsGzipKB: number;
  jsKB: number;
  /** Every chunk of the build (all pages visited), gzip. */
  allJsGzipKB: number;
  longTasksOver50: Stat;
  maxLongTaskMs: Stat;
  maxTaskCpuMs: Stat;
}

const deviceId = (i: number) => `dash-${String(i).padStart(4, '0')}`;

/** `count` devices with a latest system sample and two filesystems each, not polled. */
export async function seedFleet(db: Pick<Database, 'prisma'>, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => deviceId(i));
  await db.prisma.device.createMany({
    data: ids.map((id, i) => ({ id, name: id, hostname: `10.1.${i >> 8}.${i & 255}`, username: 'bench', monitoringEnabled: false, status: i % 17 === 0 ? ('OFFLINE' as const) : ('ONLINE' as const), tags: [i % 2 ? 'odd' : 'even'], lastSeenAt: new Date() })),
    skipDuplicates: true,
  });
  const batch = emptyBatch();
  const time = new Date();
  for (const [i, id] of ids.entries()) {
    batch.system.push(sample(id, time, i));
    for (const mount of ['/', '/var']) batch.filesystems.push({ time, deviceId: id, mount, filesystem: `/dev/sd${mount === '/' ? 'a' : 'b'}1`, fsType: 'ext4', sizeBytes: 1e11, usedBytes: 4e10 + i * 1e7, availableBytes: 6e10 - i * 1e7, usedPercent: 40 + (i % 50) });
  }
  await writeBatch(db.prisma, batch);
  return ids;
}

export function sample(id: string, time: Date, n: number): SystemMetricsRow {
  return {
    time,
    deviceId: id,
    cpuCount: 8,
    cpuPercent: (n * 7.3) % 100,
    cpuUserPercent: 5,
    cpuSystemPercent: 2,
    cpuIowaitPercent: 1,
    cpuStealPercent: 0,
    corePercents: [],
    memTotalBytes: 16 * 2 ** 30,
    memAvailableBytes: 8 * 2 ** 30,
    memUsedPercent: (n * 3.1) % 100,
    swapTotalBytes: 0,
    swapFreeBytes: 0,
    load1: (n % 40) / 10,
    load5: 1,
    load15: 1,
    uptimeSeconds: 1000,
    processCount: 200,
    netRxBytesPerSec: 1000,
    netTxBytesPerSec: 1000,
    diskReadBytesPerSec: 1000,
    diskWriteBytesPerSec: 1000,
  };
}

/** Installed before the page's own scripts: every long task of the page's lifetime. */
function observeLongTasks(): void {
  const w = window as unknown as { longTasks: number[] };
  w.longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.longTasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: true });
}

async function firstLoad(page: Page, url: string, devices: number): Promise<{ firstRowsMs: number; allDevicesMs: number; jsGzipBytes: number; jsBytes: number }> {
  let jsGzipBytes = 0;
  let jsBytes = 0;
  page.on('response', (r) => {
    if (!/\.js(\?|$)/.test(r.url())) return;
    void r.headerValue('content-length').then((len) => (jsGzipBytes += Number(len ?? 0)));
    void r.body().then((b) => (jsBytes += b.length)).catch(() => undefined);
  });
  await page.goto(url);
  const first = await page.waitForFunction(() => (document.querySelector('.row[data-device-id]') ? performance.now() : 0), undefined, { polling: 'raf', timeout: 60_000 });
  const all = await page.waitForFunction((n) => (document.querySelector('.shown')?.textContent === `${n} of ${n} devices` ? performance.now() : 0), devices, { polling: 'raf', timeout: 120_000 });
  return { firstRowsMs: (await first.jsonValue()) as number, allDevicesMs: (await all.jsonValue()) as number, jsGzipBytes, jsBytes };
}

/** Publishes `perSec` samples a second for `seconds`, round-robin over `ids`, scrolling the list meanwhile; returns how many. */
async function liveLoad(page: Page, services: Services, ids: string[], perSec: number, seconds: number): Promise<number> {
  const tickMs = 20;
  const started = performance.now();
  let published = 0;
  let scrollAt = 0;
  while (performance.now() - started < seconds * 1000) {
    // Owed by the clock, not by ticks: a late timer publishes the samples it missed.
    const owed = Math.floor(((performance.now() - started) / 1000) * perSec);
    const time = new Date();
    for (; published < owed; published++) {
      const id = ids[published % ids.length]!;
      services.events.publish('metricCollected', { deviceId: id, sample: toWire(sample(id, time, published)) });
    }
    if (performance.now() - scrollAt > 500) {
      scrollAt = performance.now();
      // Scrolling renders new rows (and sparklines) while samples arrive: the costly case.
      void page.evaluate(() => document.querySelector('.viewport')?.scrollBy(0, 400)).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  return published;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** The longest task of any renderer main thread in a Chromium trace, in thread CPU milliseconds. */
export function maxMainThreadTaskCpuMs(trace: Buffer): number {
  const { traceEvents } = JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] };
  const main = new Set(traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  let max = 0;
  for (const e of traceEvents) {
    if (e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && main.has(`${e.pid}:${e.tid}`)) max = Math.max(max, (e.tdur ?? e.dur ?? 0) / 1000);
  }
  return max;
}

/** One run: a fresh browser context signed in with `token`. */
export async function measureDashboard(o: { browser: Browser; url: string; token: string; services: Services; ids: string[]; samplesPerSec: number; windowSec: number }): Promise<DashboardRun> {
  const context = await o.browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await page.addInitScript((t) => sessionStorage.setItem('infrapulse.token', t), o.token);
    await page.addInitScript(observeLongTasks);
    const load = await firstLoad(page, `${o.url}/`, o.ids.length);
    // The live window is measured on its own: the load's tasks were counted above.
    await page.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks = []));
    await o.browser.startTracing(page, { categories: ['toplevel', '__metadata'] });
    const published = await liveLoad(page, o.services, o.ids, o.samplesPerSec, o.windowSec);
    await page.waitForTimeout(300);
    const trace = await o.browser.stopTracing();
    const tasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    return { ...load, published, longTasksOver50: tasks.filter((d) => d > LONG_TASK_MS).length, maxLongTaskMs: Math.max(0, ...tasks), maxTaskCpuMs: maxMainThreadTaskCpuMs(trace) };
  } finally {
    await context.close();
  }
}

export function summarise(runs: DashboardRun[], devices: number, samplesPerSec: number, windowSec: number): DashboardResult {
  return {
    devices,
    samplesPerSec,
    windowSec,
    firstRowsMs: stat(runs.map((r) => r.firstRowsMs)),
    allDevicesMs: stat(runs.map((r) => r.allDevicesMs)),
    jsGzipKB: Math.round(Math.max(...runs.map((r) => r.jsGzipBytes)) / 102.4) / 10,
    jsKB: Math.round(Math.max(...runs.map((r) => r.jsBytes)) / 102.4) / 10,
    allJsGzipKB: Math.round(allJsGzipBytes() / 102.4) / 10,
    longTasksOver50: stat(runs.map((r) => r.longTasksOver50)),
    maxLongTaskMs: stat(runs.map((r) => r.maxLongTaskMs)),
    maxTaskCpuMs: stat(runs.map((r) => r.maxTaskCpuMs)),
  };
}

export const chromiumInstalled = (): boolean => fs.existsSync(CHROMIUM);

/** Gzipped size of every script the build emitted (what a user downloads after visiting every page). */
export function allJsGzipBytes(dir = path.join(DIST_DIR, 'assets')): number {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .reduce((sum, f) => sum + gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length, 0);
}

/**
 * The bench part: the real server over a scratch database of its own on the bench's server,
 * `devices` devices, one warm-up run, then `runs` measured runs each in a fresh browser context.
 * Its own database because the page lists every device, and the parts before this one leave
 * theirs in the shared one (about 5,000 in a full run).
 */
export async function benchDashboard(o: { databaseUrl: string; dataDir: string; devices: number; samplesPerSec: number; windowSec: number; runs: number; log: Logger; progress: (l: string) => void }): Promise<DashboardResult> {
  if (await ensureDashboardBuilt()) o.progress('dashboard: built web/dist');
  const own = await openBenchDatabase({ databaseUrl: o.databaseUrl, dataDir: o.dataDir }, o.log);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-bench-dash-'));
  try {
    const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: own.url, LOG_LEVEL: 'silent', POLLING_ENABLED: 'false' });
    const services = { config, db: own.db, events: createEventBus(), log: createLogger('silent'), secrets: createSecretBox(randomBytes(32)), startedAt: new Date(), version: 'bench', subscribers: { ws: 0, sse: 0 } };
    const server = buildServer(services);
    await server.start();
    // A dev dependency: imported only when this part runs.
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      o.progress(`dashboard: ${o.devices} devices, then ${o.runs} runs of a first load and ${o.samplesPerSec} samples/s for ${o.windowSec} s (about ${Math.round((o.runs + 1) * (o.windowSec + 10))} s)`);
      const ids = await seedFleet(own.db, o.devices);
      const { token } = await createApiToken(own.db.prisma, { name: 'bench dashboard', role: 'VIEWER' });
      const run = (windowSec: number) => measureDashboard({ browser, url: server.url, token, services, ids, samplesPerSec: o.samplesPerSec, windowSec });
      await run(1);
      const runs: DashboardRun[] = [];
      for (let i = 0; i < o.runs; i++) runs.push(await run(o.windowSec));
      return summarise(runs, o.devices, o.samplesPerSec, o.windowSec);
    } finally {
      await browser.close();
      await server.stop();
    }
  } finally {
    await own.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

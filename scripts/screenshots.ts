/**
 * Regenerates the README's screenshots, docs/dashboard-overview.png and
 * docs/dashboard-device.png, from a real run: a simulated fleet polled by the real poller and
 * served by the real server, in Debian's chromium. The featured device's last 24 hours are
 * collected beforehand from the same simulated host (its output is a pure function of time:
 * a second simulator on a stepped clock), through SSH and the real collector, so its charts
 * show history rather than a minute of polling.
 *
 *   npx tsx scripts/screenshots.ts      DATABASE_URL: a server for a scratch database (else an embedded PostgreSQL)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../bench/dashboard.ts';
import { openBenchDatabase } from '../bench/db.ts';
import { createAlertEvaluator } from '../src/alerts/index.ts';
import { collectors, defaultCollectorOptions } from '../src/collectors/index.ts';
import type { SystemState } from '../src/collectors/system.ts';
import { loadConfig } from '../src/config.ts';
import { ensureDashboardBuilt } from '../src/dashboard/build.ts';
import { createSecretBox } from '../src/db/secrets.ts';
import { createEventBus } from '../src/events/index.ts';
import { createLogger } from '../src/log.ts';
import { createPoller } from '../src/poller/index.ts';
import { buildServer } from '../src/server/index.ts';
import { startSimulator, type SimulatedHost } from '../src/simulator/index.ts';
import { writeBatch } from '../src/storage/index.ts';
import { createApiToken } from '../src/tokens.ts';
import { createSshRunner } from '../src/transport/ssh.ts';

const DOCS = path.resolve(import.meta.dirname, '../docs');
const HOSTS = 24;
const SEED = 11;
const NAMES = ['web', 'web', 'web', 'api', 'api', 'db', 'db', 'cache', 'queue', 'nas', 'backup', 'ci', 'ci', 'media', 'proxy', 'proxy', 'dns', 'mail', 'git', 'monitor', 'build', 'edge', 'edge', 'lab'];
const PAST_STEP_MS = 60_000;
const PAST_HOURS = 24;

/** The featured host: one whose drives and containers give the device page something to say. */
const featured = (hosts: SimulatedHost[]) => hosts.find((h) => h.containers.length > 0 && h.drives.some((d) => d.expectedHealth !== 'HEALTHY')) ?? hosts[0]!;

async function backfill(prisma: Parameters<typeof writeBatch>[0], deviceId: string, username: string, startMs: number): Promise<number> {
  let now = Date.now() - PAST_HOURS * 3_600_000;
  const past = await startSimulator({ devices: HOSTS, seed: SEED, clock: () => now, startMs });
  const runner = createSshRunner({ host: past.host, port: past.port, username, password: 'x', keepaliveIntervalMs: 0 });
  let state: SystemState | undefined;
  let rows = 0;
  try {
    for (; now < Date.now() - 30_000; now += PAST_STEP_MS) {
      const r = await collectors.system.collect({ deviceId, time: new Date(now), runner, options: defaultCollectorOptions, state, timeoutMs: 10_000 });
      state = r.state;
      rows += await writeBatch(prisma, r.batch);
    }
  } finally {
    await runner.close();
    await past.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const log = createLogger('warn');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-shots-'));
  const bench = await openBenchDatabase({ databaseUrl: loadConfig().databaseUrl, dataDir: scratch }, log);
  const startMs = Date.now() - 3 * 86_400_000;
  const sim = await startSimulator({ devices: HOSTS, seed: SEED, startMs });
  const config = loadConfig({ PORT: '0', DATA_DIR: scratch, DATABASE_URL: bench.url, LOG_LEVEL: 'warn', MONITOR_LOCALHOST: 'false', POLLING_SYSTEM_METRICS_INTERVAL: '5', POLLING_CONTAINER_INTERVAL: '10', POLLING_DRIVE_HEALTH_INTERVAL: '10' });
  const secrets = createSecretBox(randomBytes(32));
  const events = createEventBus();
  const services = { config, db: bench.db, events, log, secrets, startedAt: new Date(), version: 'screenshots', subscribers: { ws: 0, sse: 0 } };
  const prisma = bench.db.prisma;
  const hosts = sim.hosts;
  const star = featured(hosts);
  for (const [i, h] of hosts.entries()) {
    const role = NAMES[i % NAMES.length]!;
    await prisma.device.create({
      data: { id: `dev-${h.username}`, name: `${role}-${String(i + 1).padStart(2, '0')}`, hostname: sim.host, port: sim.port, username: h.username, hostKeyFingerprint: sim.hostKeyFingerprint, tags: [i % 3 === 0 ? 'staging' : 'prod', role] },
    });
  }
  process.stdout.write(`backfilling ${PAST_HOURS} h of ${star.username} …\n`);
  process.stdout.write(`  ${await backfill(prisma, `dev-${star.username}`, star.username, startMs)} rows\n`);

  const server = buildServer(services);
  await server.start();
  const alerts = createAlertEvaluator({ db: bench.db, events, log, secrets });
  await alerts.start();
  const poller = createPoller({ config, db: bench.db, events, log, secrets, onBatchWritten: alerts.onBatchWritten, tuning: { spoolDir: path.join(scratch, 'spool') } });
  Object.assign(services, { poller });
  await poller.start();
  const { token } = await createApiToken(prisma, { name: 'screenshots', role: 'ADMIN' });
  await ensureDashboardBuilt();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(`${server.url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'web-01' }).waitFor();
    // A minute of live samples: sparklines fill, counts settle.
    await page.waitForTimeout(60_000);
    // A screenshot of a stalled fleet would show dashes where numbers belong: refuse it.
    const stats = poller.stats();
    if (stats.pollsLastMinute < HOSTS * 6) throw new Error(`the poller made only ${stats.pollsLastMinute} polls in the last minute: not a representative screenshot`);
    await page.screenshot({ path: path.join(DOCS, 'dashboard-overview.png') });
    await page.getByRole('link', { name: (await prisma.device.findUniqueOrThrow({ where: { id: `dev-${star.username}` } })).name, exact: true }).click();
    await page.getByRole('figure', { name: 'CPU' }).waitFor();
    await page.setViewportSize({ width: 1400, height: 1300 });
    await page.waitForTimeout(3000);
    await page.screenshot({ path: path.join(DOCS, 'dashboard-device.png') });
    process.stdout.write(`wrote ${path.join(DOCS, 'dashboard-overview.png')} and dashboard-device.png\n`);
  } finally {
    await browser.close();
    await poller.stop();
    await alerts.stop();
    await server.stop();
    await sim.stop();
    await bench.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

await main();

/**
 * The dashboard as users get it: a real server (the composition of src/main.ts: server, alert
 * evaluator, poller) over a fresh test database, Debian's chromium driven by playwright-core,
 * and pages signed in the way the sign-in form leaves them (the token in sessionStorage).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../bench/dashboard.ts';
import { createAlertEvaluator, type AlertEvaluator } from '../../src/alerts/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createSecretBox } from '../../src/db/secrets.ts';
import { createEventBus } from '../../src/events/index.ts';
import type { Services } from '../../src/graphql/context.ts';
import { createLogger } from '../../src/log.ts';
import { createPoller, type Poller, type PollerTuning } from '../../src/poller/index.ts';
import { buildServer, type ServerHandle } from '../../src/server/index.ts';
import { createApiToken } from '../../src/tokens.ts';
import { createTestDatabase } from './db.ts';

export const chromiumAvailable = fs.existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface DashboardApp {
  url: string;
  server: ServerHandle;
  services: Services;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  poller: Poller | undefined;
  dataDir: string;
  adminToken: string;
  token(role: 'VIEWER' | 'OPERATOR' | 'ADMIN', name?: string): Promise<{ token: string; id: string }>;
  close(): Promise<void>;
}

export interface DashboardAppOptions {
  /** Run the poller (seconds between system polls; default: no poller). */
  pollSeconds?: number;
  tuning?: Partial<PollerTuning>;
  env?: Record<string, string>;
}

export async function startDashboardApp(options: DashboardAppOptions = {}): Promise<DashboardApp> {
  const db = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-dash-'));
  const interval = String(options.pollSeconds ?? 300);
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    LOG_LEVEL: 'silent',
    POLLING_ENABLED: options.pollSeconds ? 'true' : 'false',
    POLLING_SYSTEM_METRICS_INTERVAL: interval,
    POLLING_CONTAINER_INTERVAL: interval,
    POLLING_DRIVE_HEALTH_INTERVAL: interval,
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
    ...options.env,
  });
  const log = createLogger('silent');
  const secrets = createSecretBox(randomBytes(32));
  const events = createEventBus();
  const services: Services = { config, db, events, log, secrets, startedAt: new Date(), version: 'test', subscribers: { ws: 0, sse: 0 } };
  const server = buildServer(services);
  await server.start();
  const alerts: AlertEvaluator = createAlertEvaluator({ db, events, log, secrets });
  await alerts.start();
  let poller: Poller | undefined;
  if (options.pollSeconds) {
    poller = createPoller({ config, db, events, log, secrets, onBatchWritten: alerts.onBatchWritten, tuning: { spoolDir: path.join(dataDir, 'spool'), ...options.tuning } });
    services.poller = poller;
    await poller.start();
  }
  const { token: adminToken } = await createApiToken(db.prisma, { name: 'admin', role: 'ADMIN' });
  return {
    url: server.url,
    server,
    services,
    db,
    poller,
    dataDir,
    adminToken,
    async token(role, name = role.toLowerCase()) {
      const created = await createApiToken(db.prisma, { name, role });
      return { token: created.token, id: created.apiToken.id };
    },
    async close() {
      await poller?.stop();
      await alerts.stop();
      await server.stop();
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A page already signed in with `token` (as "Sign in" leaves it), errors collected; `beforeLoad` may route it first. */
export async function signedInPage(browser: Browser, app: DashboardApp, token: string, path = '/', beforeLoad?: (page: Page) => Promise<void>): Promise<Page & { problems: string[] }> {
  const page = (await browser.newPage()) as Page & { problems: string[] };
  await beforeLoad?.(page);
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
  });
  await page.addInitScript((t) => sessionStorage.setItem('infrapulse.token', t), token);
  await page.goto(`${app.url}${path}`);
  return page;
}

/**
 * A full device-poll is one exec: the app polls a simulated host over SSH with system, containers
 * and drives every 5 s; the device's collectors share one phase (scheduler.ts), so they come due
 * together, and their commands go out as one batched exec (transport/batch.ts). Counted on the
 * simulator: exec requests (session channels) against the commands answered, per kind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { until } from './setup.ts';

const ADMIN = 'ipt_one_exec_test_admin_0123456789abcdef';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sim: Simulator;
let app: App;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startSimulator({ devices: 2, seed: 7 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-one-exec-'));
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, INFRAPULSE_ADMIN_TOKEN: ADMIN, MONITOR_LOCALHOST: 'false', POLLING_SYSTEM_METRICS_INTERVAL: '5', POLLING_CONTAINER_INTERVAL: '5', POLLING_DRIVE_HEALTH_INTERVAL: '5' });
  app = await startApp(config, createLogger('silent'));
  const reg = await registerDevices({ url: `${app.server.url}/graphql`, token: ADMIN, hostname: sim.host, port: sim.port, usernames: sim.usernames });
  expect(reg.failed).toEqual([]);
  await until(async () => (await app.db.prisma.device.count({ where: { status: 'ONLINE' } })) === 2, 'both devices ONLINE', 60_000);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await sim?.stop();
  await db?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('each scheduled device-poll of system, containers and drives is one exec, on the connection already open', { timeout: 60_000 }, async () => {
  const before = sim.stats();
  const handshakes = app.services.poller!.stats().sshHandshakes;
  // Two slots of 5 s per device at least.
  await until(() => sim.stats().execs.system - before.execs.system >= 4, 'four more system polls', 30_000);
  const after = sim.stats();
  const system = after.execs.system - before.execs.system;
  expect(after.execs.containers - before.execs.containers).toBe(system);
  expect(after.execs.drives - before.execs.drives).toBe(system);
  // Storage, sensors and gpu (300 s) are not due in these slots: every request carried exactly one poll's three commands.
  expect(after.execRequests - before.execRequests).toBe(system);
  expect(after.execs.unknown).toBe(0);
  expect(after.connections).toBe(before.connections);
  expect(app.services.poller!.stats().sshHandshakes).toBe(handshakes);
});

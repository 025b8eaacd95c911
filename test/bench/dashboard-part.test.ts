/**
 * The bench's dashboard part measures its own fleet. The parts before it share the bench's
 * database and leave their devices (a full run: about 5,000), and the page lists every device:
 * on that database the wait for "N of N devices" never matched (the part failed after 120 s) or
 * matched a moment of the paged load that happened to read so (a figure for the wrong fleet).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { benchDashboard } from '../../bench/dashboard.ts';
import { createLogger } from '../../src/log.ts';
import { chromiumAvailable } from '../helpers/dashboard.ts';
import { createTestDatabase } from '../helpers/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-bench-dash-part-'));
const OTHERS = 25;

beforeAll(async () => {
  db = await createTestDatabase();
  // What an earlier part leaves: devices that are not the dashboard's.
  await db.prisma.device.createMany({ data: Array.from({ length: OTHERS }, (_, i) => ({ name: `earlier-part-${i}`, hostname: `10.9.0.${i}`, username: 'bench', monitoringEnabled: false })) });
}, 60_000);
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test.skipIf(!chromiumAvailable)('on a database other parts have filled, the dashboard part lists exactly its own devices and leaves the database as it was', { timeout: 120_000 }, async () => {
  const result = await benchDashboard({ databaseUrl: db.url, dataDir, devices: 30, samplesPerSec: 20, windowSec: 1, runs: 1, log: createLogger('silent'), progress: () => undefined });
  expect(result.devices).toBe(30);
  expect(result.allDevicesMs.median).toBeGreaterThan(0);
  expect(result.allDevicesMs.median).toBeGreaterThanOrEqual(result.firstRowsMs.median);
  // Its fleet went with its scratch database: the shared one holds what it held.
  expect(await db.prisma.device.count()).toBe(OTHERS);
});

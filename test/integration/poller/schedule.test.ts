// The schedule under a slow database: storing samples must not hold a concurrency slot, or
// the database's latency (a pool shared with API queries) becomes every other device's delay.
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller } from '../../../src/poller/index.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import type { CommandRunner } from '../../../src/transport/types.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { newBus, tempDir, testConfig, testSecrets, until } from './setup.ts';

const log = createLogger('silent');
let db: Database & { name: string };
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir('infrapulse-schedule-');
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('concurrency slots and storage', () => {
  it('cap 1: while device A’s samples wait for a locked table, device B is still polled (and the cap still holds)', { timeout: 120_000 }, async () => {
    const a = await db.prisma.device.create({ data: { name: 'slow-store-a', hostname: '10.9.0.1', username: 'x' } });
    const b = await db.prisma.device.create({ data: { name: 'slow-store-b', hostname: '10.9.0.2', username: 'x' } });
    const local = createLocalRunner();
    let execsInFlight = 0;
    let maxExecsInFlight = 0;
    const collected = new Set<string>();
    const runnerFor = (deviceId: string): CommandRunner => ({
      close: async () => {},
      async exec(command, options) {
        execsInFlight++;
        maxExecsInFlight = Math.max(maxExecsInFlight, execsInFlight);
        try {
          return await local.exec(command, options);
        } finally {
          execsInFlight--;
          collected.add(deviceId);
        }
      },
    });
    const poller = createPoller({
      config: testConfig(dataDir, { maxConcurrentDevices: 1 }),
      db,
      events: newBus(),
      log,
      secrets: testSecrets(),
      runnerFactory: (device) => runnerFor(device.id),
      tuning: { spoolDir: `${dataDir}/spool-slow-store` },
    });
    await poller.start();
    // Another session holds the table: every insert into it waits, as behind a busy pool or a long transaction.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE system_metrics IN ACCESS EXCLUSIVE MODE');
    let locked = true;
    try {
      const pollA = poller.pollNow(a.id, ['system']);
      await until(() => collected.has(a.id), 'device A collected');
      const pollB = poller.pollNow(b.id, ['system']);
      // A is stored behind the lock; B's commands must still run.
      await until(() => collected.has(b.id), 'device B collected while A waits for the database', 60_000);
      expect(poller.stats().writer.committedRows).toBe(0);
      await locker.query('COMMIT');
      locked = false;
      const [oa, ob] = await Promise.all([pollA, pollB]);
      expect(oa).toMatchObject({ write: 'committed', status: 'ONLINE' });
      expect(ob).toMatchObject({ write: 'committed', status: 'ONLINE' });
      expect(maxExecsInFlight).toBe(1);
    } finally {
      if (locked) await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await poller.stop();
    }
  });
});

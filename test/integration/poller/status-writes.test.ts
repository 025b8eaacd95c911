// A poll's status bookkeeping (lastSeenAt, failures, collector states) against the real database:
// batched across devices, and never mistaken for a change of the device's settings.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller } from '../../../src/poller/index.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { newBus, tempDir, testConfig, testSecrets } from './setup.ts';

const log = createLogger('silent');
let db: Database & { name: string };
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir('infrapulse-status-writes-');
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const makePoller = (spool: string, lastSeenEveryMs: number) =>
  createPoller({
    config: testConfig(dataDir),
    db,
    events: newBus(),
    log,
    secrets: testSecrets(),
    runnerFactory: () => createLocalRunner(),
    tuning: { spoolDir: `${dataDir}/${spool}`, lastSeenEveryMs },
  });

describe('status bookkeeping', () => {
  it('leaves updatedAt alone: it says when the settings changed, and lease renewals compare it to find edited devices', async () => {
    const device = await db.prisma.device.create({ data: { name: 'settings-stamp', hostname: 'h', username: 'x' } });
    const poller = makePoller('spool-stamp', 0);
    await poller.start();
    try {
      const first = await poller.pollNow(device.id, ['system']);
      expect(first.status).toBe('ONLINE'); // UNKNOWN → ONLINE: a transition, with its StatusChange row
      await poller.pollNow(device.id, ['system']); // no transition: lastSeenAt and collector states only
      const row = await db.prisma.device.findUniqueOrThrow({ where: { id: device.id }, include: { statusChanges: true } });
      expect(row.status).toBe('ONLINE');
      expect(row.lastSeenAt!.getTime()).toBeGreaterThan(first.time.getTime());
      expect(row.statusChanges.map((c) => c.current)).toEqual(['ONLINE']);
      expect(row.updatedAt.getTime()).toBe(device.updatedAt.getTime());
    } finally {
      await poller.stop();
    }
  });

  it('first polls of devices polled together store their transitions in one statement: each StatusChange row, then each event', async () => {
    // A transition was a transaction of its own: 10,000 devices connecting at start were 10,000
    // transactions, and the sample writer's waited behind them until Prisma gave up (P2028).
    const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => db.prisma.device.create({ data: { name: `first-${i}`, hostname: 'h', username: 'x' } })));
    const events = newBus();
    const seen: string[] = [];
    const stored: number[] = [];
    events.listen('deviceStatusChanged', (e) => {
      seen.push(e.deviceId);
      void db.prisma.statusChange.count({ where: { deviceId: e.deviceId } }).then((n) => stored.push(n));
    });
    const poller = createPoller({ config: testConfig(dataDir), db, events, log, secrets: testSecrets(), runnerFactory: () => createLocalRunner(), tuning: { spoolDir: `${dataDir}/spool-first`, lastSeenEveryMs: 0 } });
    await poller.start();
    const statements = vi.spyOn(db.prisma, '$executeRawUnsafe');
    try {
      const first = await Promise.all(devices.map((d) => poller.pollNow(d.id, ['system'])));
      expect(first.map((o) => o.status)).toEqual(devices.map(() => 'ONLINE'));
      const updates = statements.mock.calls.filter(([sql]) => /UPDATE devices AS d/i.test(sql));
      expect(updates.length).toBeGreaterThan(0);
      expect(updates.length).toBeLessThanOrEqual(3); // one per flush, as for polls without a transition
      const changes = await db.prisma.statusChange.findMany({ where: { deviceId: { in: devices.map((d) => d.id) } } });
      expect(changes.map((c) => `${c.previous}→${c.current}`).sort()).toEqual(devices.map(() => 'UNKNOWN→ONLINE'));
      await vi.waitFor(() => expect(stored).toHaveLength(12));
      expect(seen.sort()).toEqual(devices.map((d) => d.id).sort());
      expect(stored).toEqual(devices.map(() => 1)); // every event found its row already stored
    } finally {
      statements.mockRestore();
      await poller.stop();
    }
  });

  it('a poller adopting devices switched off while it was away stores their DISABLED transitions together, not one flush each', async () => {
    // Each adoption awaited its own transition, and transitions wait for the next status flush
    // (250 ms): a poller starting with 1,000 such devices took 250 s to start.
    const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => db.prisma.device.create({ data: { name: `off-${i}`, hostname: 'h', username: 'x', status: 'ONLINE', monitoringEnabled: false } })));
    const ids = devices.map((d) => d.id);
    const statements = vi.spyOn(db.prisma, '$executeRawUnsafe');
    const poller = makePoller('spool-off', 0);
    try {
      await poller.start();
      const ours = statements.mock.calls.filter(([sql, ...params]) => /UPDATE devices AS d/i.test(sql) && ids.some((id) => params.some((p) => String(p).includes(id))));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.length).toBeLessThanOrEqual(2);
      const rows = await db.prisma.device.findMany({ where: { id: { in: ids } }, include: { statusChanges: true } });
      expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'DISABLED'));
      expect(rows.map((r) => r.statusChanges.map((c) => `${c.previous}→${c.current}`))).toEqual(ids.map(() => ['ONLINE→DISABLED']));
    } finally {
      statements.mockRestore();
      await poller.stop();
    }
  });

  it('a lease cycle lets go of the devices it lost all at once: closing a connection can take a second', async () => {
    // Each close waits for the peer's answer (up to 1 s, ssh-connection.ts); one device at a
    // time, a cycle losing 500 devices to a new instance or a deletion was blocked for minutes.
    const devices = await Promise.all(Array.from({ length: 6 }, (_, i) => db.prisma.device.create({ data: { name: `lost-${i}`, hostname: 'h', username: 'x' } })));
    let closing = 0;
    let mostAtOnce = 0;
    let closed = 0;
    const slowClose = () => {
      const runner = createLocalRunner();
      return {
        exec: runner.exec,
        async close() {
          mostAtOnce = Math.max(mostAtOnce, ++closing);
          await new Promise((r) => setTimeout(r, 300));
          closing--;
          closed++;
          await runner.close();
        },
      };
    };
    const config = testConfig(dataDir);
    const poller = createPoller({ config: { ...config, lease: { ...config.lease, leaseSeconds: 2, renewSeconds: 1 } }, db, events: newBus(), log, secrets: testSecrets(), runnerFactory: slowClose, tuning: { spoolDir: `${dataDir}/spool-lost` } });
    await poller.start();
    try {
      await Promise.all(devices.map((d) => poller.pollNow(d.id, ['system'])));
      await db.prisma.device.deleteMany({ where: { id: { in: devices.map((d) => d.id) } } }); // behind the poller's back: its next lease cycle finds them gone
      await vi.waitFor(() => expect(closed).toBe(6), { timeout: 10_000, interval: 50 });
      expect(mostAtOnce).toBe(6);
    } finally {
      await poller.stop();
    }
  });

  it('devices polled together store their status in one statement, each row its own values', async () => {
    const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => db.prisma.device.create({ data: { name: `batch-${i}`, hostname: 'h', username: 'x' } })));
    const poller = makePoller('spool-batch', 0);
    await poller.start();
    try {
      await Promise.all(devices.map((d) => poller.pollNow(d.id, ['system'])));
      const statements = vi.spyOn(db.prisma, '$executeRawUnsafe');
      const second = await Promise.all(devices.map((d) => poller.pollNow(d.id, ['system'])));
      const updates = statements.mock.calls.filter(([sql]) => /UPDATE devices AS d/i.test(sql));
      statements.mockRestore();
      expect(updates.length).toBeGreaterThan(0);
      expect(updates.length).toBeLessThanOrEqual(3); // one per flush; the 12 polls end within a flush or two
      const rows = await db.prisma.device.findMany({ where: { id: { in: devices.map((d) => d.id) } } });
      for (const o of second) {
        const row = rows.find((r) => r.id === o.deviceId)!;
        expect(row.lastSeenAt!.getTime()).toBe(o.time.getTime());
        expect(row.consecutiveFailures).toBe(0);
        expect(row.collectorStates).toMatchObject({ system: expect.objectContaining({ state: 'OK' }) });
      }
    } finally {
      await poller.stop();
    }
  });
});

// The whole engine with a scripted runner: concurrency cap, MONITOR_LOCALHOST, change events.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller } from '../../../src/poller/index.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import type { CommandRunner } from '../../../src/transport/types.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { hiddenClassCount } from '../../helpers/hidden-classes.ts';
import { newBus, recordEvents, tempDir, testConfig, testSecrets, until } from './setup.ts';

const log = createLogger('silent');
let db: Database & { name: string };
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir('infrapulse-engine-');
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('poller engine', () => {
  it('builds every poll outcome on one hidden class (a spread copy with fields added built a new one per poll, in the old generation)', async () => {
    const device = await db.prisma.device.create({ data: { name: 'classes', hostname: 'localhost', username: 'x', transport: 'LOCAL' } });
    const poller = createPoller({ config: testConfig(dataDir), db, events: newBus(), log, secrets: testSecrets(), runnerFactory: () => createLocalRunner(), tuning: { spoolDir: `${dataDir}/spool-classes` } });
    await poller.start();
    try {
      const outcomes = [];
      for (let i = 0; i < 20; i++) outcomes.push(await poller.pollNow(device.id, ['system']));
      expect(outcomes.every((o) => o.write === 'committed')).toBe(true);
      expect(hiddenClassCount(outcomes)).toBe(1);
    } finally {
      await poller.stop();
      await db.prisma.device.delete({ where: { id: device.id } });
    }
  });

  it('POLLING_MAX_CONCURRENT_DEVICES: 12 devices whose exec blocks, cap 3 → never more than 3 in flight', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push((await db.prisma.device.create({ data: { name: `cap-${i}`, hostname: `10.0.0.${i}`, username: 'x' } })).id);
    }
    let inFlight = 0;
    let maxInFlight = 0;
    const release: Array<() => void> = [];
    const local = createLocalRunner();
    const runner: CommandRunner = {
      close: async () => {},
      async exec(command, options) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => release.push(r));
        try {
          return await local.exec(command, options);
        } finally {
          inFlight--;
        }
      },
    };
    const poller = createPoller({
      config: testConfig(dataDir, { maxConcurrentDevices: 3 }),
      db,
      events: newBus(),
      log,
      secrets: testSecrets(),
      runnerFactory: () => runner,
      tuning: { spoolDir: `${dataDir}/spool-cap` },
    });
    await poller.start();
    const polls = ids.map((id) => poller.pollNow(id, ['system']));
    await until(() => inFlight === 3, '3 in flight');
    expect(poller.stats()).toMatchObject({ inFlight: 3, waiting: 9 });
    let done = 0;
    while (done < 12) {
      await until(() => release.length > 0, 'a blocked exec');
      expect(inFlight).toBeLessThanOrEqual(3);
      release.shift()!();
      done++;
    }
    const outcomes = await Promise.all(polls);
    expect(outcomes.every((o) => o.outcomes[0]!.kind === 'ok')).toBe(true);
    expect(maxInFlight).toBe(3);
    expect(poller.stats().pollsTotal).toBe(12);
    await poller.stop();
  });

  it('MONITOR_LOCALHOST registers device "local" once, and polls this machine', async () => {
    const config = { ...testConfig(dataDir), monitorLocalhost: true };
    const make = () => createPoller({ config, db, events: newBus(), log, secrets: testSecrets(), tuning: { spoolDir: `${dataDir}/spool-local` } });
    const p1 = make();
    await p1.start();
    await p1.stop();
    const p2 = make();
    await p2.start();
    const locals = await db.prisma.device.findMany({ where: { transport: 'LOCAL' } });
    expect(locals).toHaveLength(1);
    expect(locals[0]).toMatchObject({ name: 'local', hostname: 'localhost' });
    const o = await p2.pollNow(locals[0]!.id, ['system']);
    expect(o.outcomes[0]!.kind).toBe('ok');
    expect(o.status).toBe('ONLINE');
    await p2.stop();
  });

  it('container state changes publish an event after the write, never on the first poll or when unchanged', async () => {
    const device = await db.prisma.device.create({ data: { name: 'changes', hostname: 'h', username: 'x' } });
    let state = 'running';
    // Minimal engine output in the collectors' own section format.
    const runner: CommandRunner = {
      close: async () => {},
      async exec(command) {
        if (command.includes('docker')) {
          const ps = JSON.stringify({ ID: 'c1', Names: 'web', Image: 'nginx', State: state, Status: 'Up', CreatedAt: '2024-01-01 00:00:00 +0000 UTC' });
          const inspect = JSON.stringify({ Id: 'c1', RestartCount: 0, State: { Status: state, Running: state === 'running', ExitCode: 0, StartedAt: '2024-01-01T00:00:00Z' } });
          return { stdout: `@@ip:engine docker\n@@ip:ps\n${ps}\n@@ip:rc 0\n@@ip:stats\n@@ip:rc 0\n@@ip:inspect\n${inspect}\n@@ip:rc 0\n@@ip:end\n`, stderr: '', code: 0 };
        }
        return { stdout: '', stderr: 'unexpected', code: 1 };
      },
    };
    const events = newBus();
    const containers = recordEvents(events, 'containerStateChanged');
    const poller = createPoller({ config: testConfig(dataDir), db, events, log, secrets: testSecrets(), runnerFactory: () => runner, tuning: { spoolDir: `${dataDir}/spool-ch` } });
    await poller.start();
    const first = await poller.pollNow(device.id, ['containers']);
    expect(first.outcomes[0]).toMatchObject({ kind: 'ok' });
    expect(first.rows).toBe(1);
    await poller.pollNow(device.id, ['containers']); // unchanged: no event
    state = 'exited';
    await poller.pollNow(device.id, ['containers']);
    await until(() => containers.seen.length >= 1, 'a container event');
    await containers.stop();
    expect(containers.seen).toEqual([
      expect.objectContaining({ deviceId: device.id, containerId: 'c1', name: 'web', previousState: 'running', state: 'exited' }),
    ]);
    await poller.stop();
  });
});

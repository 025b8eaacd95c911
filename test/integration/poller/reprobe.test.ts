/**
 * The schedule of an UNAVAILABLE collector: tried again hourly, not at its interval. The
 * poller runs its real scheduler on a clock the test moves forward 10 minutes per step; the
 * host is this machine with a `docker` whose daemon is down (a PATH shim printing the real
 * message). Containers are configured every 5 s, so without the hourly re-probe they would run
 * at every step.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../../src/db/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createPoller, type Poller } from '../../../src/poller/index.ts';
import { REPROBE_SECONDS } from '../../../src/poller/collector-state.ts';
import { createLocalRunner } from '../../../src/transport/local.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { newBus, tempDir, testConfig, testSecrets, until } from './setup.ts';

let db: Database & { name: string };
let dir: string;
let poller: Poller | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = tempDir('infrapulse-reprobe-');
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(
    path.join(dir, 'bin', 'docker'),
    "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n",
    { mode: 0o755 },
  );
});
afterAll(async () => {
  await poller?.stop();
  await db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('an UNAVAILABLE collector runs at most once per hour of the clock while the others keep their interval', async () => {
  const device = await db.prisma.device.create({ data: { name: 'reprobe', hostname: 'localhost', transport: 'LOCAL', port: 0, disabledCollectors: ['drives'] } });
  let clock = Date.now();
  const runs = { system: 0, containers: 0, drives: 0, storage: 0, sensors: 0, gpu: 0 };
  const local = createLocalRunner();
  poller = createPoller({
    config: testConfig(dir, { enabled: true, intervals: { system: 600, containers: 5, drives: 3600, storage: 3600, sensors: 3600, gpu: 3600 } }),
    db,
    events: newBus(),
    log: createLogger('silent'),
    secrets: testSecrets(),
    now: () => new Date(clock),
    runnerFactory: () => ({ exec: (command, options) => local.exec(`PATH="${dir}/bin:$PATH"; export PATH\n${command}`, options), close: async () => {} }),
    observer: { collectorDone: (collector) => void runs[collector]++ },
    tuning: { spoolDir: `${dir}/spool` },
  });
  await poller.start();
  // The first poll of a new device runs everything enabled: containers turn out UNAVAILABLE.
  const containersState = () => poller!.collectorStates(device.id)?.find((c) => c.name === 'containers')?.state;
  await until(() => containersState() === 'UNAVAILABLE' && poller!.stats().pollsTotal === 1, 'the first poll', 30_000);
  expect(runs).toMatchObject({ system: 1, containers: 1 });

  const steps = 12; // two hours of the clock, ten minutes a step: one system slot per step (a scheduler tick, about a second, each)
  for (let i = 1; i <= steps; i++) {
    const polls = poller.stats().pollsTotal;
    clock += 600_000;
    // Until the poll has finished (stored, status decided), not only collected: a slot due while
    // the same collector's poll still runs is skipped as an overlap, and the clock moves in jumps.
    await until(() => runs.system === 1 + i && poller!.stats().pollsTotal > polls, `system poll ${i + 1}`, 30_000);
  }
  const hours = (steps * 600) / REPROBE_SECONDS;
  // Slots sit at a stable phase of the hour: two hours hold two or three of them, never 12.
  expect(runs.containers - 1).toBeGreaterThanOrEqual(hours - 1);
  expect(runs.containers - 1).toBeLessThanOrEqual(hours + 1);
  expect(runs.drives).toBe(0);
  const stored = await db.prisma.device.findUniqueOrThrow({ where: { id: device.id } });
  expect(stored.status).toBe('ONLINE');
}, 180_000);

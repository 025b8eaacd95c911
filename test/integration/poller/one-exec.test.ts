/**
 * A full device-poll is one script in the shell kept open on the connection: the app polls a
 * simulated host over SSH with system, containers and drives every 5 s; the device's collectors
 * share one phase (scheduler.ts), so they come due together, and their commands go out as one
 * batch script (transport/batch.ts) written to the connection's kept shell (transport/ssh-shell.ts).
 * Counted on the simulator: scripts and exec requests (session channels) against the commands
 * answered, per kind.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { App } from '../../../src/main.ts';
import type { Simulator } from '../../../src/simulator/index.ts';
import { startSimulatedApp, type SimulatedApp } from '../../helpers/simulated-app.ts';
import { until } from './setup.ts';

const ADMIN = 'ipt_one_exec_test_admin_0123456789abcdef';
let fleet: SimulatedApp;
let sim: Simulator;
let app: App;

beforeAll(async () => {
  fleet = await startSimulatedApp({
    simulator: { devices: 2, seed: 7 },
    env: { INFRAPULSE_ADMIN_TOKEN: ADMIN, POLLING_SYSTEM_METRICS_INTERVAL: '5', POLLING_CONTAINER_INTERVAL: '5', POLLING_DRIVE_HEALTH_INTERVAL: '5' },
  });
  ({ sim, app } = fleet);
  await until(async () => (await app.db.prisma.device.count({ where: { status: 'ONLINE' } })) === 2, 'both devices ONLINE', 60_000);
}, 120_000);

afterAll(() => fleet?.stop(), 60_000);

test('each scheduled device-poll of system, containers and drives is one script, in the shell kept open on the connection', { timeout: 60_000 }, async () => {
  const before = sim.stats();
  const handshakes = app.services.poller!.stats().sshHandshakes;
  // Two slots of 5 s per device at least.
  await until(() => sim.stats().execs.system - before.execs.system >= 4, 'four more system polls', 30_000);
  const after = sim.stats();
  const system = after.execs.system - before.execs.system;
  expect(after.execs.containers - before.execs.containers).toBe(system);
  expect(after.execs.drives - before.execs.drives).toBe(system);
  // Storage, sensors and gpu (300 s) are not due in these slots: every script carried exactly one poll's three commands.
  expect(after.scripts - before.scripts).toBe(system);
  // No session channel opened in steady state: each device's scripts went to the shell it keeps.
  expect(after.execRequests - before.execRequests).toBe(0);
  expect(after.execs.unknown).toBe(0);
  expect(after.connections).toBe(before.connections);
  expect(app.services.poller!.stats().sshHandshakes).toBe(handshakes);
});

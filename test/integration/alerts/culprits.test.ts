/**
 * "Which process caused it": a firing CPU or memory alert names the device's three busiest
 * processes, read over the poller's connection when the notification goes out; other alerts do
 * not run anything on the host. The app polls the fleet simulator (whose hosts answer the
 * top-processes command) and notifies a real webhook receiver on loopback.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { App } from '../../../src/main.ts';
import type { Simulator } from '../../../src/simulator/index.ts';
import { startSimulatedApp, type SimulatedApp } from '../../helpers/simulated-app.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

const ADMIN = 'ipt_culprits_test_admin_0123456789abcdef';
let fleet: SimulatedApp;
let sim: Simulator;
let app: App;
let rx: HttpReceiver;

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

beforeAll(async () => {
  rx = await startHttpReceiver();
  fleet = await startSimulatedApp({
    simulator: { devices: 1, seed: 41 },
    env: { INFRAPULSE_ADMIN_TOKEN: ADMIN, NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true', POLLING_SYSTEM_METRICS_INTERVAL: '5' },
  });
  ({ sim, app } = fleet);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await rx?.close();
}, 60_000);

test('a firing CPU alert names the top three processes; a filesystem alert runs nothing on the host', async () => {
  const { createNotificationChannel: channel } = await gql<{ createNotificationChannel: { id: string } }>(
    'mutation ($url: String!) { createNotificationChannel(input: { name: "hook", kind: WEBHOOK, url: $url }) { ... on NotificationChannel { id } } }',
    { url: `${rx.url}/hook` },
  );
  const rule = (metric: string, name: string) =>
    gql(`mutation ($c: [ID!]) { createAlertRule(input: { name: "${name}", metric: ${metric}, comparator: GTE, threshold: 0, channelIds: $c }) { __typename } }`, { c: [channel.id] });
  await rule('CPU_PERCENT', 'any cpu');
  await rule('FILESYSTEM_USED_PERCENT', 'any fs');
  const execsBefore = sim.stats().execs.processes;
  type Body = { rule: { name: string }; event: string; topProcesses?: { pid: number; command: string; cpuPercent: number | null; memoryBytes: number | null }[] };
  let bodies: Body[] = [];
  for (let n = 1; !(bodies.some((b) => b.rule.name === 'any cpu') && bodies.some((b) => b.rule.name === 'any fs')); n++) {
    bodies = (await rx.waitFor(n, 60_000)).map((r) => JSON.parse(r.body) as Body);
  }
  const cpu = bodies.find((b) => b.rule.name === 'any cpu')!;
  expect(cpu.event).toBe('firing');
  expect(cpu.topProcesses).toHaveLength(3);
  expect(cpu.topProcesses!.map((p) => p.command)).toContain('/usr/bin/python3 /opt/app/worker.py --queue default');
  const shares = cpu.topProcesses!.map((p) => p.cpuPercent ?? -1);
  expect([...shares].sort((a, b) => b - a)).toEqual(shares);
  const fsAlerts = bodies.filter((b) => b.rule.name === 'any fs');
  for (const b of fsAlerts) expect(b.topProcesses).toBeUndefined();
  // One exec per firing CPU notification: the filesystem alerts (one per mount) added none.
  expect(sim.stats().execs.processes - execsBefore).toBeLessThanOrEqual(bodies.filter((b) => b.rule.name === 'any cpu').length);
  expect(sim.stats().execs.processes).toBeGreaterThanOrEqual(1);
}, 90_000);

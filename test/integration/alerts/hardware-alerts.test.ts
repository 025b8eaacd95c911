/**
 * Hardware alerts end to end (issue 19): the app polls a simulated host over SSH whose GPU runs
 * hot, whose ZFS mirror and md RAID1 lose a disk, and whose fan stops, on the simulator's clock;
 * the built-in rules (pool / array not ONLINE, fan stopped) and a GPU temperature rule written
 * through GraphQL fire, reach a real webhook receiver, and resolve when the fault clears; MCP's
 * get_device and fleet_summary tell each fault while it is on.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { App } from '../../../src/main.ts';
import type { Simulator } from '../../../src/simulator/index.ts';
import { startSimulatedApp, type SimulatedApp } from '../../helpers/simulated-app.ts';
import { hardwareFaults, type HardwareFaults } from '../../../src/simulator/render-hardware.ts';
import { until } from '../poller/setup.ts';
import { call, connect, ok, textOf, type Connected } from '../../e2e/mcp/support.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

const ADMIN = 'ipt_hwalerts_test_admin_0123456789abcdef';
const START = Date.UTC(2026, 11, 1, 12, 0, 0);
let simNow = START + 100_000;
let fleet: SimulatedApp;
let sim: Simulator;
let app: App;
let hook: HttpReceiver;
let deviceId: string;
let mcp: Connected;

/** get_device's text and fleet_summary's hardware trouble, through the MCP client. */
async function assistantSees(): Promise<{ device: string; trouble: string[]; gpus: string }> {
  const device = textOf(await call(mcp, 'get_device', { device: deviceId }));
  const fleet = await call(mcp, 'fleet_summary', {});
  return { device, trouble: ok<{ hardwareTrouble: { what: string }[] }>(fleet).hardwareTrouble.map((t) => t.what), gpus: textOf(fleet) };
}

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

/** A simulator time where the first host's faults are as wanted. */
function when(wanted: (f: HardwareFaults) => boolean): number {
  const profile = sim.profile(sim.usernames[0]!)!;
  for (let s = 0; s < 3600; s += 10) if (wanted(hardwareFaults(profile, { nowMs: START + s * 1000, startMs: START }))) return START + s * 1000;
  throw new Error('no such time in the fault cycle');
}

interface Hook {
  state: string;
  rule: { name: string };
  subject: string;
  value: string;
  severity: string;
}
const HARDWARE_RULES = ['Pool degraded', 'RAID array degraded', 'Fan stopped', 'GPU hot'];
/** The hardware rules' notifications (the simulated drives and containers fire other built-ins, which notify every channel). */
const hardwareHooks = (): Hook[] => hook.requests.map((r) => JSON.parse(r.body) as Hook).filter((h) => HARDWARE_RULES.includes(h.rule.name));
const received = (): string[] => hardwareHooks().map((h) => `${h.state} ${h.rule.name} ${h.subject} ${h.value}`);

async function pollAt(faults: (f: HardwareFaults) => boolean, expected: string[]): Promise<void> {
  simNow = when(faults);
  await gql(`mutation ($id: ID!) { pollDevice(id: $id, collectors: [STORAGE, SENSORS, GPU]) { ... on PollResult { status } } }`, { id: deviceId });
  await until(() => expected.every((e) => received().includes(e)), `webhooks ${expected.join(', ')}`);
}

beforeAll(async () => {
  hook = await startHttpReceiver();
  fleet = await startSimulatedApp({
    simulator: { devices: 1, seed: 41, clock: () => simNow, startMs: START },
    env: { INFRAPULSE_ADMIN_TOKEN: ADMIN, NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'silent' },
  });
  ({ sim, app } = fleet);
  mcp = await connect(app.server.url, ADMIN);
  deviceId = (await gql<{ devices: { edges: { node: { id: string } }[] } }>('{ devices(first: 10) { edges { node { id } } } }')).devices.edges[0]!.node.id;
}, 120_000);

afterAll(async () => {
  await mcp?.client.close();
  await fleet?.stop();
  await hook?.close();
}, 60_000);

test('the simulator\'s hot GPU, degraded pool and array and stopped fan fire their rules, reach a webhook, and resolve', async () => {
  await gql(
    'mutation ($url: String!) { createNotificationChannel(input: { name: "hook", kind: WEBHOOK, url: $url }) { ... on NotificationChannel { id } } }',
    { url: hook.url },
  );
  // The built-in rules ship with no channels, which means every enabled channel: this one.
  const gpuRule = await gql<{ createAlertRule: { __typename: string } }>(
    'mutation { createAlertRule(input: { name: "GPU hot", metric: GPU_TEMPERATURE_C, comparator: GT, threshold: 85, clearThreshold: 75 }) { __typename } }',
  );
  expect(gpuRule.createAlertRule.__typename).toBe('AlertRule');
  // The first poll of a new device runs every collector, on a healthy host: nothing fires.
  await until(async () => (await gql<{ device: { pools: unknown[] } }>('query ($id: ID!) { device(id: $id) { pools { name } } }', { id: deviceId })).device.pools.length > 0, 'the first hardware poll');
  expect(received()).toEqual([]);

  expect((await assistantSees()).trouble).toEqual([]);
  await pollAt((f) => f.gpuHot, ['FIRING GPU hot 0/NVIDIA GeForce RTX 3090 93']);
  const hot = await assistantSees();
  expect(hot.device).toContain('GPUs (1, hottest first):\n  - 0 NVIDIA GeForce RTX 3090 93 °C, 100.0 % busy, 348 W of 350 W');
  expect(hot.gpus).toContain('hottest GPUs:\n  - ' + sim.usernames[0] + ' 0 NVIDIA GeForce RTX 3090 93 °C');
  await pollAt((f) => f.diskLost, ['RESOLVED GPU hot 0/NVIDIA GeForce RTX 3090 46', 'FIRING Pool degraded tank DEGRADED', 'FIRING RAID array degraded md0 DEGRADED']);
  const degraded = await assistantSees();
  expect(degraded.trouble).toEqual(['tank ZFS DEGRADED (WARNING), 1 of 2 devices in service', 'md0 raid1 DEGRADED (WARNING), 1 of 2 devices in service']);
  expect(degraded.device).toContain('pools and RAID arrays (2, not HEALTHY first):\n  - tank ZFS DEGRADED (WARNING)');
  // The pool is ONLINE again while it resilvers; the md array stays DEGRADED until its recovery ends.
  await pollAt((f) => f.fanStopped, ['RESOLVED Pool degraded tank ONLINE', 'RESOLVED RAID array degraded md0 ONLINE', 'FIRING Fan stopped nct6779/fan2 0']);
  expect((await assistantSees()).device).toContain('stopped fans and hot readings only):\n  - nct6779/fan2 STOPPED at 0 RPM\n');
  await pollAt((f) => !f.gpuHot && !f.diskLost && f.resilverPercent === null && !f.fanStopped, ['RESOLVED Fan stopped nct6779/fan2 820']);

  expect((await assistantSees()).trouble).toEqual([]);
  const firing = hardwareHooks().filter((h) => h.state === 'FIRING');
  expect(firing.map((h) => `${h.rule.name} ${h.severity}`).sort()).toEqual(['Fan stopped WARNING', 'GPU hot WARNING', 'Pool degraded WARNING', 'RAID array degraded WARNING']);
  // The running fan 1 and the hwmon temperatures fired nothing; every alert is closed.
  expect(received().filter((r) => r.includes('fan1') || r.includes('coretemp'))).toEqual([]);
  const open = await gql<{ alerts: { edges: { node: { rule: { name: string } } }[] } }>('{ alerts(first: 50, state: [PENDING, FIRING]) { edges { node { rule { name } } } } }');
  expect(open.alerts.edges.filter((e) => HARDWARE_RULES.includes(e.node.rule.name))).toEqual([]);
}, 90_000);

test('POOL_STATE and ARRAY_STATE take a state word (case-insensitive), FAN_RPM a threshold', async () => {
  const create = (input: string) =>
    gql<{ createAlertRule: { __typename: string; value?: string; issues?: { path: string[]; message: string }[] } }>(
      `mutation { createAlertRule(input: ${input}) { __typename ... on AlertRule { value } ... on ValidationError { issues { path message } } } }`,
    );
  expect((await create('{ name: "faulted", metric: POOL_STATE, comparator: EQ, value: "faulted", severity: CRITICAL }')).createAlertRule).toEqual({ __typename: 'AlertRule', value: 'FAULTED' });
  const bad = (await create('{ name: "sick", metric: ARRAY_STATE, comparator: EQ, value: "sick" }')).createAlertRule;
  expect(bad.__typename).toBe('ValidationError');
  expect(bad.issues![0]!.message).toMatch(/^must be one of ONLINE, DEGRADED, FAULTED/);
  const numeric = (await create('{ name: "fan", metric: FAN_RPM, comparator: LT, value: "0" }')).createAlertRule;
  expect(numeric.issues!.map((i) => i.message)).toContain('FAN_RPM is numeric: give a threshold, not a value');
});

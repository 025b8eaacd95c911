/**
 * Storage and hardware health end to end (issue 19): the app polls a simulated host over SSH
 * whose ZFS mirror and md RAID1 lose a disk, resilver and recover, whose fan stops and whose GPU
 * runs hot, on the simulator's clock; GraphQL shows each in Device.pools / raidArrays / sensors /
 * gpus and in their history, and the change subscriptions (Yoga SSE) hear the transitions. The
 * app also monitors this machine through the real local transport, which has no md arrays, zpool,
 * btrfs, hwmon or nvidia-smi: those collectors are UNAVAILABLE there, and the device stays ONLINE.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { App } from '../../../src/main.ts';
import type { Simulator } from '../../../src/simulator/index.ts';
import { startSimulatedApp, type SimulatedApp } from '../../helpers/simulated-app.ts';
import { hardwareFaults } from '../../../src/simulator/render-hardware.ts';
import { until } from './setup.ts';

const ADMIN = 'ipt_hardware_test_admin_0123456789abcdef';
const START = Date.UTC(2026, 11, 1, 12, 0, 0);
let simNow = START + 100_000;
let fleet: SimulatedApp;
let sim: Simulator;
let app: App;
let deviceId: string;

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

/** A subscription over Yoga's SSE; `text` grows as events arrive. */
function subscribe(query: string) {
  const controller = new AbortController();
  const state = { text: '' };
  const done = (async () => {
    const res = await fetch(`${app.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ query }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      state.text += new TextDecoder().decode(value);
    }
  })().catch(() => {});
  return { state, stop: async () => (controller.abort(), await done) };
}

const DEVICE = `query ($id: ID!) { device(id: $id) {
  status
  pools { kind name state health totalDevices activeDevices capPercent scanKind scanInProgress vdevs { name state children { name state readErrors writeErrors note } } }
  raidArrays { name state health level totalDevices activeDevices scanKind scanPercent members { name faulty } }
  sensors { sensor chip kind label value min max status }
  gpus { name temperatureC utilizationPercent memoryTotalBytes fanPercent }
  collectors { name state reason }
} }`;

interface DeviceView {
  status: string;
  pools: { kind: string; name: string; state: string; health: string; totalDevices: number; activeDevices: number; capPercent: number; scanKind: string | null; scanInProgress: boolean; vdevs: { name: string; state: string; children: { name: string; state: string; readErrors: number; writeErrors: number; note: string | null }[] }[] }[];
  raidArrays: { name: string; state: string; health: string; level: string; totalDevices: number; activeDevices: number; scanKind: string | null; scanPercent: number | null; members: { name: string; faulty: boolean }[] }[];
  sensors: { sensor: string; chip: string; kind: string; label: string; value: number; min: number | null; max: number | null; status: string }[];
  gpus: { name: string; temperatureC: number; utilizationPercent: number; memoryTotalBytes: number; fanPercent: number }[];
  collectors: { name: string; state: string | null; reason: string | null }[];
}

const deviceIds = async () => (await gql<{ devices: { edges: { node: { id: string; name: string } }[] } }>('{ devices(first: 10) { edges { node { id name } } } }')).devices.edges.map((e) => e.node);
const view = async (id: string) => (await gql<{ device: DeviceView }>(DEVICE, { id })).device;
const pollHardware = (id: string) => gql(`mutation ($id: ID!) { pollDevice(id: $id, collectors: [STORAGE, SENSORS, GPU]) { ... on PollResult { status } } }`, { id });

/** A simulator time (s after its start) where the host's faults are as wanted. */
function when(wanted: (f: ReturnType<typeof hardwareFaults>) => boolean): number {
  const profile = sim.profile(sim.usernames[0]!)!;
  for (let s = 0; s < 3600; s += 10) if (wanted(hardwareFaults(profile, { nowMs: START + s * 1000, startMs: START }))) return START + s * 1000;
  throw new Error('no such time in the fault cycle');
}

beforeAll(async () => {
  fleet = await startSimulatedApp({
    simulator: { devices: 1, seed: 41, clock: () => simNow, startMs: START },
    env: { INFRAPULSE_ADMIN_TOKEN: ADMIN, MONITOR_LOCALHOST: 'true', LOG_LEVEL: 'silent' },
  });
  ({ sim, app } = fleet);
  deviceId = (await deviceIds()).find((d) => d.name !== 'local')!.id;
}, 120_000);

afterAll(() => fleet?.stop(), 60_000);

test('a degraded pool and array, a stopped fan and a hot GPU show in GraphQL, are announced, and recover', async () => {
  // The first poll of a new device runs every collector: a healthy host.
  // The status row follows within a status flush (poller/status-writer.ts), the samples within a sample flush.
  await until(async () => {
    const v = await view(deviceId);
    return v.gpus.length > 0 && v.pools.length > 0 && v.sensors.length > 0 && v.status === 'ONLINE';
  }, 'the first hardware poll');
  const healthy = await view(deviceId);
  expect(healthy.status).toBe('ONLINE');
  expect(healthy.pools).toEqual([
    expect.objectContaining({ kind: 'ZFS', name: 'tank', state: 'ONLINE', health: 'HEALTHY', totalDevices: 2, activeDevices: 2, capPercent: 30, scanKind: 'scrub', scanInProgress: false }),
  ]);
  expect(healthy.pools[0]!.vdevs.map((v) => [v.name, v.children.map((c) => c.name)])).toEqual([['mirror-0', ['sdc', 'sdd']]]);
  expect(healthy.raidArrays).toEqual([expect.objectContaining({ name: 'md0', state: 'ONLINE', health: 'HEALTHY', level: 'raid1', totalDevices: 2, activeDevices: 2 })]);
  expect(healthy.sensors.find((s) => s.sensor === 'hwmon1/fan2')).toMatchObject({ chip: 'nct6779', kind: 'FAN', value: 820, min: 200, status: 'OK' });
  expect(healthy.sensors.find((s) => s.label === 'Package id 0')).toMatchObject({ kind: 'TEMPERATURE', max: 80, status: 'OK' });
  expect(healthy.gpus).toEqual([{ name: 'NVIDIA GeForce RTX 3090', temperatureC: 46, utilizationPercent: 7, memoryTotalBytes: 24_576 * 2 ** 20, fanPercent: 30 }]);
  expect(healthy.collectors.filter((c) => ['storage', 'sensors', 'gpu'].includes(c.name.toLowerCase())).map((c) => c.state)).toEqual(['OK', 'OK', 'OK']);

  const pools = subscribe('subscription { poolStateChanged(health: [WARNING, CRITICAL, HEALTHY]) { name kind state previousState health } }');
  const sensors = subscribe('subscription { sensorStatusChanged { sensor previous current value } }');
  await new Promise((r) => setTimeout(r, 300));

  simNow = when((f) => f.gpuHot);
  await pollHardware(deviceId);
  expect((await view(deviceId)).gpus[0]).toMatchObject({ temperatureC: 93, utilizationPercent: 100, fanPercent: 100 });

  simNow = when((f) => f.diskLost);
  await pollHardware(deviceId);
  const degraded = await view(deviceId);
  expect(degraded.pools[0]).toMatchObject({ state: 'DEGRADED', health: 'WARNING', activeDevices: 1 });
  expect(degraded.pools[0]!.vdevs[0]!.children[1]).toEqual({ name: 'sdd', state: 'UNAVAIL', readErrors: 3, writeErrors: 118, note: 'cannot open' });
  expect(degraded.raidArrays[0]).toMatchObject({ state: 'DEGRADED', health: 'WARNING', activeDevices: 1 });
  expect(degraded.raidArrays[0]!.members).toContainEqual({ name: 'sdb1', faulty: true });
  await until(() => pools.state.text.includes('"state":"DEGRADED"') && pools.state.text.includes('"kind":"MDRAID"'), 'poolStateChanged DEGRADED for the pool and the array');

  simNow = when((f) => f.resilverPercent !== null && f.resilverPercent > 40);
  await pollHardware(deviceId);
  const resilvering = await view(deviceId);
  expect(resilvering.pools[0]).toMatchObject({ state: 'ONLINE', scanKind: 'resilver', scanInProgress: true });
  expect(resilvering.raidArrays[0]).toMatchObject({ state: 'DEGRADED', scanKind: 'recovery' });
  expect(resilvering.raidArrays[0]!.scanPercent).toBeGreaterThan(40);

  simNow = when((f) => f.fanStopped);
  await pollHardware(deviceId);
  expect((await view(deviceId)).sensors.find((s) => s.sensor === 'hwmon1/fan2')).toMatchObject({ value: 0, status: 'STOPPED' });
  await until(() => sensors.state.text.includes('"sensor":"hwmon1/fan2","previous":"OK","current":"STOPPED","value":0'), 'sensorStatusChanged for the stopped fan');

  simNow = START + 1700_000; // past every fault window of the cycle
  await pollHardware(deviceId);
  const recovered = await view(deviceId);
  expect(recovered.pools[0]).toMatchObject({ state: 'ONLINE', health: 'HEALTHY', activeDevices: 2 });
  expect(recovered.raidArrays[0]).toMatchObject({ state: 'ONLINE', health: 'HEALTHY', activeDevices: 2 });
  expect(recovered.sensors.find((s) => s.sensor === 'hwmon1/fan2')).toMatchObject({ status: 'OK' });
  expect(recovered.gpus[0]!.temperatureC).toBe(46);
  await until(() => sensors.state.text.includes('"previous":"STOPPED","current":"OK"'), 'the fan running again');
  await until(() => (pools.state.text.match(/"health":"HEALTHY"/g) ?? []).length >= 2, 'the pool and the array healthy again');
  await pools.stop();
  await sensors.stop();

  // History: the fan's speed per bucket over the polls above, minimum 0 while it stood still.
  const { sensorHistory } = await gql<{ sensorHistory: { sensor: string; buckets: { value: { min: number; max: number } }[] }[] }>(
    'query ($id: ID!, $from: DateTime!) { sensorHistory(deviceId: $id, from: $from, bucketSeconds: 86400, sensor: "hwmon1/fan2") { sensor buckets { value { min max } } } }',
    { id: deviceId, from: new Date(Date.now() - 3600_000).toISOString() },
  );
  expect(sensorHistory).toHaveLength(1);
  expect(sensorHistory[0]!.buckets.map((b) => b.value.min)).toContain(0);
  expect(Math.max(...sensorHistory[0]!.buckets.map((b) => b.value.max))).toBe(820);
  const { poolHistory, gpuHistory } = await gql<{ poolHistory: { name: string; buckets: { activeDevices: { min: number; max: number }; health: string }[] }[]; gpuHistory: { buckets: { temperatureC: { max: number; min: number } }[] }[] }>(
    'query ($id: ID!, $from: DateTime!) { poolHistory(deviceId: $id, from: $from, bucketSeconds: 86400) { name buckets { activeDevices { min max } health } } gpuHistory(deviceId: $id, from: $from, bucketSeconds: 86400) { buckets { temperatureC { min max } } } }',
    { id: deviceId, from: new Date(Date.now() - 3600_000).toISOString() },
  );
  expect(poolHistory.map((p) => p.name).sort()).toEqual(['md0', 'tank']);
  // Buckets are whole UTC days: a run across midnight has two, so the range is taken over all of them.
  const range = (values: { min: number; max: number }[]) => [Math.min(...values.map((v) => v.min)), Math.max(...values.map((v) => v.max))];
  for (const p of poolHistory) expect(range(p.buckets.map((b) => b.activeDevices))).toEqual([1, 2]);
  expect(poolHistory.every((p) => p.buckets.at(-1)!.health === 'HEALTHY')).toBe(true);
  expect(range(gpuHistory[0]!.buckets.map((b) => b.temperatureC))).toEqual([46, 93]);
}, 120_000);

test('the real local transport on this machine: storage, sensors and GPU collectors are UNAVAILABLE, the device ONLINE', async () => {
  const local = (await deviceIds()).find((d) => d.name === 'local')!;
  await until(async () => {
    const v = await view(local.id);
    return v.collectors.every((c) => c.state !== null || c.name === 'DRIVES') && v.status !== 'UNKNOWN';
  }, "the local device's first poll");
  const v = await view(local.id);
  const states = Object.fromEntries(v.collectors.map((c) => [c.name, c]));
  for (const name of ['STORAGE', 'SENSORS', 'GPU']) expect(states[name]).toMatchObject({ state: 'UNAVAILABLE' });
  expect(states.STORAGE!.reason).toMatch(/no md arrays, ZFS pools or readable btrfs filesystems/);
  expect(states.GPU!.reason).toMatch(/nvidia-smi not found/);
  expect(v.pools).toEqual([]);
  expect(v.gpus).toEqual([]);
  expect(v.status).toBe('ONLINE');
}, 60_000);

/**
 * Device status has one writer: switching monitoring off and on through updateDevice is
 * recorded by the poller, which stores the status, adds one StatusChange row and publishes one
 * event per change; the mutation answers with the status the poller left. Switched off and on
 * again quickly (as a user double-checking does), the stored status ends where the poller's is.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { DeviceStatusEvent } from '../../../src/events/index.ts';
import type { App } from '../../../src/main.ts';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { startSimulatedApp, type SimulatedApp } from '../../helpers/simulated-app.ts';

const ADMIN = 'ipt_monitoring_switch_test_admin_0123456789';
let fleet: SimulatedApp;
let sim: Simulator;
let app: App;
let deviceId: string;
const events: DeviceStatusEvent[] = [];

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One GraphQL request as the admin. */
const post = (query: string, variables: Record<string, unknown>): Promise<unknown> =>
  fetch(`${app.server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ query, variables }),
  }).then((r) => r.json());

async function setMonitoring(on: boolean): Promise<string> {
  const res = await post('mutation ($id: ID!, $on: Boolean!) { updateDevice(id: $id, input: { monitoringEnabled: $on }) { ... on Device { status } } }', { id: deviceId, on });
  return (res as { data: { updateDevice: { status: string } } }).data.updateDevice.status;
}

const stored = async () => (await app.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).status;

beforeAll(async () => {
  fleet = await startSimulatedApp({
    simulator: { devices: 1, seed: 31 },
    env: { INFRAPULSE_ADMIN_TOKEN: ADMIN, POLLING_SYSTEM_METRICS_INTERVAL: '5', POLLING_CONTAINER_INTERVAL: '5', POLLING_DRIVE_HEALTH_INTERVAL: '5' },
    beforeRegister: (a) => a.services.events.listen('deviceStatusChanged', (e) => void events.push(e)),
  });
  ({ sim, app } = fleet);
  deviceId = (await app.db.prisma.device.findFirstOrThrow()).id;
  await until('the device ONLINE', async () => (await stored()) === 'ONLINE');
}, 120_000);

afterAll(() => fleet?.stop(), 60_000);

test('switching monitoring off and on: the poller writes each status once, with one event and one row each', async () => {
  const seen = events.length;
  const rowsBefore = await app.db.prisma.statusChange.count({ where: { deviceId } });
  expect(await setMonitoring(false)).toBe('DISABLED');
  expect(await stored()).toBe('DISABLED');
  expect(await setMonitoring(true)).toBe('UNKNOWN');
  await until('ONLINE again', async () => (await stored()) === 'ONLINE');
  const mine = events.slice(seen).filter((e) => e.deviceId === deviceId);
  expect(mine.map((e) => `${e.previous}→${e.current}`)).toEqual(['ONLINE→DISABLED', 'DISABLED→UNKNOWN', 'UNKNOWN→ONLINE']);
  const rows = await app.db.prisma.statusChange.findMany({ where: { deviceId }, orderBy: { id: 'asc' }, skip: rowsBefore });
  expect(rows.map((r) => `${r.previous}→${r.current}`)).toEqual(mine.map((e) => `${e.previous}→${e.current}`));
}, 90_000);

test('off and on ten times in a row: the stored status ends as the poller sees it', async () => {
  for (let i = 0; i < 10; i++) {
    await setMonitoring(false);
    await setMonitoring(true);
  }
  await until('ONLINE after the last switch', async () => (await stored()) === 'ONLINE');
  // Every transition published is one the database recorded, in the same order.
  const rows = await app.db.prisma.statusChange.findMany({ where: { deviceId }, orderBy: { id: 'asc' } });
  const published = events.filter((e) => e.deviceId === deviceId);
  expect(rows.map((r) => r.current)).toEqual(published.map((e) => e.current));
  // Consecutive rows chain: each starts where the one before ended.
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.previous).toBe(rows[i - 1]!.current);
}, 120_000);

test('switched off while a poll is running: the poll\'s answer does not bring the status back', async () => {
  // Its second host: the first one's name is taken by the other simulator's device.
  const slow = await startSimulator({ devices: 2, seed: 32, execLatencyMs: 1500 });
  try {
    const reg = await registerDevices({ url: `${app.server.url}/graphql`, token: ADMIN, hostname: slow.host, port: slow.port, usernames: slow.usernames.slice(1) });
    expect(reg.failed).toEqual([]);
    const id = (await app.db.prisma.device.findFirstOrThrow({ where: { name: slow.usernames[1] } })).id;
    const status = async () => (await app.db.prisma.device.findUniqueOrThrow({ where: { id } })).status;
    await until('the slow device ONLINE', async () => (await status()) === 'ONLINE');
    // A poll that waits 1.5 s for the host; monitoring goes off 300 ms into it.
    const polling = post('mutation ($id: ID!) { pollDevice(id: $id) { __typename } }', { id });
    await new Promise((r) => setTimeout(r, 300));
    const seen = events.length;
    await post('mutation ($id: ID!) { updateDevice(id: $id, input: { monitoringEnabled: false }) { __typename } }', { id });
    await polling;
    await new Promise((r) => setTimeout(r, 500));
    expect(await status()).toBe('DISABLED');
    const mine = events.slice(seen).filter((e) => e.deviceId === id);
    expect(mine.map((e) => e.current)).toEqual(['DISABLED']);
    const rows = await app.db.prisma.statusChange.findMany({ where: { deviceId: id }, orderBy: { id: 'asc' } });
    expect(rows.at(-1)!.current).toBe('DISABLED');
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.previous).toBe(rows[i - 1]!.current);
  } finally {
    await slow.stop();
  }
}, 90_000);

test('switched off while a poll waits for its write: the poll\'s verdict does not overwrite DISABLED', async () => {
  // The poll has its answer and waits on the database: a transaction holding system_metrics
  // keeps its write back (the lock is real) while monitoring goes off.
  expect(await setMonitoring(true)).not.toBe('DISABLED');
  await until('the device ONLINE', async () => (await stored()) === 'ONLINE');
  const lock = new pg.Client({ connectionString: app.db.url });
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE system_metrics IN SHARE ROW EXCLUSIVE MODE');
    const seen = events.length;
    const polling = post('mutation ($id: ID!) { pollDevice(id: $id) { __typename } }', { id: deviceId });
    await until('a poll\'s write waiting on the lock', async () => {
      const { rows } = await lock.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
      return rows[0]!.n > 0;
    });
    expect(await setMonitoring(false)).toBe('DISABLED');
    await lock.query('COMMIT');
    await polling;
    await new Promise((r) => setTimeout(r, 500));
    expect(await stored()).toBe('DISABLED');
    expect(events.slice(seen).filter((e) => e.deviceId === deviceId).map((e) => `${e.previous}→${e.current}`)).toEqual(['ONLINE→DISABLED']);
  } finally {
    await lock.end();
  }
}, 90_000);

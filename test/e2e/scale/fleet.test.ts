/**
 * Scale-out with real processes: three, then two, `infrapulse serve` instances on one
 * PostgreSQL database and one Redis, polling the fleet simulator every 5 s with 4 s leases
 * renewed every second.
 *
 * - The fleet is spread (3 devices each) and every device is polled by exactly one instance:
 *   in a window of several intervals, each device's poll log lines come from one process and
 *   its system_metrics rows are one interval apart (never two polls in one interval).
 * - A graphql-ws subscription on instance A receives samples of devices polled by B and C (Redis).
 * - SIGKILL on C: A and B take its devices over; no device's samples stop for longer than one
 *   lease period + one interval (+ the renewal period and the 1 s scheduler tick); then with
 *   two instances, still exactly one poller per device.
 *
 * Uses the run's PostgreSQL (the embedded one, or TEST_DATABASE_URL) for a scratch database, and
 * Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379, which this kind of machine runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../../src/db/embedded.ts';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';

const BIN = path.resolve(import.meta.dirname, '../../../bin/infrapulse.js');
const ADMIN_URL = inject('adminDatabaseUrl');
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const INTERVAL_S = 5;
const LEASE_S = 4;
const RENEW_S = 1;
const DEVICES = 9;
const ADMIN_TOKEN = `ipt_scale_${randomBytes(12).toString('hex')}`;
const SECRET_KEY = randomBytes(32).toString('hex');

interface Instance {
  name: string;
  child: ChildProcess;
  url: string;
  /** JSON log lines so far. */
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

const dbName = `infrapulse_scale_${randomBytes(4).toString('hex')}`;
let dbUrl = '';
let pool: pg.Pool;
let sim: Simulator;
const instances: Instance[] = [];
const dirs: string[] = [];

async function reachable(): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
  } catch (e) {
    throw new Error(
      `PostgreSQL at TEST_DATABASE_URL=${ADMIN_URL} is unreachable (${(e as Error).message}). Start it (.ci/run does: pg_ctlcluster <version> main start) or point TEST_DATABASE_URL at a server where this user may CREATE DATABASE.`,
    );
  }
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new Error(`Redis at TEST_REDIS_URL=${REDIS_URL} is unreachable (${(e as Error).message}). Start it (.ci/run does: redis-server --daemonize yes --bind 127.0.0.1 --port 6379) or set TEST_REDIS_URL.`);
  } finally {
    r.disconnect();
  }
}

async function start(name: string): Promise<Instance> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `infrapulse-scale-${name}-`));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: dbUrl,
      REDIS_URL,
      PORT: String(port),
      DATA_DIR: dataDir,
      INFRAPULSE_SECRET_KEY: SECRET_KEY,
      INFRAPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
      INSTANCE_ID: `scale-${name}`,
      MONITOR_LOCALHOST: 'false',
      LOG_LEVEL: 'debug',
      POLLING_SYSTEM_METRICS_INTERVAL: String(INTERVAL_S),
      POLLING_CONTAINER_INTERVAL: '86400',
      POLLING_DRIVE_HEALTH_INTERVAL: '86400',
      POLLING_LEASE_SECONDS: String(LEASE_S),
      POLLING_LEASE_RENEW_SECONDS: String(RENEW_S),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let text = '';
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const chunk = rest + d.toString();
    const parts = chunk.split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
      else text += `${l}\n`;
    }
  });
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!/is serving (\S+)/.test(text)) {
    if (child.exitCode !== null) throw new Error(`instance ${name} exited early:\n${text}`);
    if (Date.now() > deadline) throw new Error(`instance ${name} did not start:\n${text}`);
    await sleep(100);
  }
  const url = /is serving (\S+)\/graphql/.exec(text)![1]!;
  const inst = { name, child, url, lines, exited };
  instances.push(inst);
  return inst;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function owners(): Promise<Map<string, string | null>> {
  const { rows } = await pool.query<{ id: string; lease_owner: string | null }>(`SELECT id, lease_owner FROM devices WHERE lease_expires_at > now() AT TIME ZONE 'UTC' OR lease_owner IS NULL`);
  return new Map(rows.map((r) => [r.id, r.lease_owner]));
}

async function countsByOwner(): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ owner: string | null; n: number }>(
    `SELECT lease_owner AS owner, count(*)::int AS n FROM devices WHERE lease_expires_at > now() AT TIME ZONE 'UTC' GROUP BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.owner ?? 'none', r.n]));
}

/** Which instances logged a poll of each device between two times (ms). */
function pollersPerDevice(from: number, to: number, among: Instance[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const inst of among) {
    for (const l of inst.lines) {
      if (l.msg !== 'poll ok' && l.msg !== 'poll had failures') continue;
      const t = l.time as number;
      if (t < from || t > to) continue;
      const id = l.deviceId as string;
      if (!out.has(id)) out.set(id, new Set());
      out.get(id)!.add(inst.name);
    }
  }
  return out;
}

/** Consecutive system_metrics times per device in a window (ms). */
async function sampleTimes(from: number, to: number): Promise<Map<string, number[]>> {
  const { rows } = await pool.query<{ device_id: string; time: Date }>(
    'SELECT device_id, time FROM system_metrics WHERE time >= $1 AND time <= $2 ORDER BY device_id, time',
    [new Date(from), new Date(to)],
  );
  const out = new Map<string, number[]>();
  for (const r of rows) {
    if (!out.has(r.device_id)) out.set(r.device_id, []);
    out.get(r.device_id)!.push(r.time.getTime());
  }
  return out;
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

beforeAll(async () => {
  await reachable();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  dbUrl = u.toString();
  pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  sim = await startSimulator({ devices: DEVICES, seed: 11 });
}, 60_000);

afterAll(async () => {
  for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL');
  await Promise.all(instances.map((i) => i.exited));
  await pool?.end();
  await sim?.stop();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('several instances share one fleet', () => {
  test('three instances: spread, exactly one poller per device, subscriptions across instances; SIGKILL: taken over within a lease period', { timeout: 240_000 }, async () => {
    // The first instance migrates the new database; the others start on a migrated one.
    const a = await start('a');
    const reg = await registerDevices({ url: `${a.url}/graphql`, token: ADMIN_TOKEN, hostname: sim.host, port: sim.port, usernames: sim.usernames });
    expect(reg.failed).toEqual([]);
    const [b, c] = await Promise.all([start('b'), start('c')]);

    await until(async () => {
      const n = await countsByOwner();
      return n['scale-a'] === 3 && n['scale-b'] === 3 && n['scale-c'] === 3;
    }, 'the fleet spread 3/3/3');

    // Subscribed on A: samples polled by B and C arrive through Redis.
    const seenOnA = new Set<string>();
    const ws = createClient({ url: `${a.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, retryAttempts: 0 });
    const unsubscribe = ws.subscribe<{ metricCollected: { deviceId: string } }>(
      { query: 'subscription { metricCollected { deviceId cpuPercent } }' },
      { next: (v) => void (v.data && seenOnA.add(v.data.metricCollected.deviceId)), error: () => {}, complete: () => {} },
    );

    // Let the hand-overs settle, then watch three intervals.
    await sleep(INTERVAL_S * 1000 + 1500);
    const byOwner = await owners();
    const from = Date.now();
    await sleep(3 * INTERVAL_S * 1000);
    const to = Date.now();

    const pollers = pollersPerDevice(from, to, [a, b, c]);
    expect(pollers.size).toBe(DEVICES);
    for (const [id, who] of pollers) {
      expect([...who], id).toHaveLength(1);
      expect(`scale-${[...who][0]}`, id).toBe(byOwner.get(id));
    }
    const times = await sampleTimes(from, to);
    expect(times.size).toBe(DEVICES);
    for (const [id, t] of times) {
      expect(t.length, id).toBeGreaterThanOrEqual(2);
      expect(t.length, id).toBeLessThanOrEqual(4);
      for (const g of gaps(t)) expect(g, `${id}: polls ${g} ms apart`).toBeGreaterThan((INTERVAL_S - 1.5) * 1000);
    }

    const ownedBy = (who: string) => [...byOwner].filter(([, o]) => o === who).map(([id]) => id);
    await until(() => ownedBy('scale-b').some((id) => seenOnA.has(id)) && ownedBy('scale-c').some((id) => seenOnA.has(id)), 'samples polled by B and C seen on A', 15_000);
    unsubscribe();
    await ws.dispose();

    // SIGKILL C: no goodbye, its leases lapse and A and B take its devices over.
    const cDevices = ownedBy('scale-c');
    expect(cDevices).toHaveLength(3);
    const killedAt = Date.now();
    c.child.kill('SIGKILL');
    await c.exited;
    await until(async () => {
      const n = await countsByOwner();
      return (n['scale-a'] ?? 0) + (n['scale-b'] ?? 0) === DEVICES && !n['scale-c'];
    }, 'C\'s devices taken over', (LEASE_S + 2 * RENEW_S + 5) * 1000);
    const takenOverMs = Date.now() - killedAt;
    expect(takenOverMs).toBeLessThanOrEqual((LEASE_S + 2 * RENEW_S + 1) * 1000);
    const balanced = await countsByOwner();
    expect(Math.abs((balanced['scale-a'] ?? 0) - (balanced['scale-b'] ?? 0))).toBeLessThanOrEqual(1);

    await sleep(2 * INTERVAL_S * 1000 + 2000);
    const around = await sampleTimes(killedAt - 2 * INTERVAL_S * 1000, Date.now());
    let worst = 0;
    for (const id of cDevices) {
      const t = around.get(id) ?? [];
      // Samples before the kill, and after the take-over.
      expect(t.some((x) => x < killedAt), id).toBe(true);
      expect(t.some((x) => x > killedAt + LEASE_S * 1000), id).toBe(true);
      for (const g of gaps(t)) {
        worst = Math.max(worst, g);
        expect(g, `${id}: polls ${g} ms apart around the take-over`).toBeGreaterThan((INTERVAL_S - 1.5) * 1000);
      }
    }
    // One lease period + one interval, plus the renewal period (claims happen at renewals) and the scheduler's 1 s tick, with a second of slack for a loaded machine.
    expect(worst).toBeLessThanOrEqual((LEASE_S + INTERVAL_S + RENEW_S + 2) * 1000);
    console.log(`take-over: leases moved ${takenOverMs} ms after SIGKILL; longest gap between a device's samples ${worst} ms`);

    // Two instances now: still exactly one poller per device.
    const owners2 = await owners();
    const from2 = Date.now();
    await sleep(2 * INTERVAL_S * 1000);
    const to2 = Date.now();
    const pollers2 = pollersPerDevice(from2, to2, [a, b]);
    expect(pollers2.size).toBe(DEVICES);
    for (const [id, who] of pollers2) {
      expect([...who], id).toHaveLength(1);
      expect(`scale-${[...who][0]}`, id).toBe(owners2.get(id));
    }
    for (const [id, t] of await sampleTimes(from2, to2)) for (const g of gaps(t)) expect(g, id).toBeGreaterThan((INTERVAL_S - 1.5) * 1000);

    // Graceful stop releases at once: B's devices go to A within a renewal, not a lease period.
    const stoppedAt = Date.now();
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await until(async () => (await countsByOwner())['scale-a'] === DEVICES, 'A holds everything after B stopped', 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_S * 1000 + 5000);
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM instances');
    expect(rows.map((r) => r.id)).not.toContain('scale-b');
  });
});

/**
 * /metrics and structured logs of a whole app (startApp: server + poller + bus) polling the
 * fleet simulator: every series exists at the first scrape, and polls, writes, events and
 * GraphQL requests move them. Log lines carry a poll id (poller) or a request id (HTTP).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { createTestDatabase } from '../../helpers/db.ts';

const ADMIN = 'ipt_metrics_test_admin_token_0123456789';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sim: Simulator;
let app: App;
let dataDir: string;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startSimulator({ devices: 3, seed: 7 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-ops-'));
  const config = loadConfig({
    DATABASE_URL: db.url,
    PORT: '0',
    DATA_DIR: dataDir,
    INFRAPULSE_ADMIN_TOKEN: ADMIN,
    MONITOR_LOCALHOST: 'false',
    POLLING_SYSTEM_METRICS_INTERVAL: '5',
    POLLING_CONTAINER_INTERVAL: '5',
    POLLING_DRIVE_HEALTH_INTERVAL: '5',
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  app = await startApp(config, createLogger('debug', sink));
});

afterAll(async () => {
  await app?.stop();
  await sim?.stop();
  await db?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** `name{labels} value` lines → value by series (name plus its label text). */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${app.server.url}/metrics`);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const total = (m: Map<string, number>, prefix: string): number => {
  let n = 0;
  for (const [k, v] of m) if (k === prefix || k.startsWith(`${prefix}{`)) n += v;
  return n;
};

async function until(cond: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const EXPECTED = [
  'infrapulse_devices{status="ONLINE"}',
  'infrapulse_subscribers{transport="ws"}',
  'infrapulse_subscribers{transport="sse"}',
  'infrapulse_ssh_connections_open',
  'infrapulse_polls_in_flight',
  'infrapulse_polls_waiting',
  'infrapulse_writer_queued_rows',
  'infrapulse_writer_buffered_rows',
  'infrapulse_writer_outage',
  'infrapulse_spool_segments',
  'infrapulse_spool_records',
  'infrapulse_spool_bytes',
  'infrapulse_spool_corrupt_records',
  'infrapulse_spool_skipped_rows',
  'infrapulse_spool_quarantined_segments',
  'infrapulse_leased_devices',
  'infrapulse_live_instances',
  'infrapulse_device_polls_total',
  'infrapulse_write_batch_rows_count',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_seconds',
];

describe('/metrics', () => {
  test('every series exists, then polls, writes, events and GraphQL requests move them', { timeout: 90_000 }, async () => {
    const before = await scrape();
    for (const name of EXPECTED) expect(before.has(name), name).toBe(true);
    expect(before.get('infrapulse_live_instances')).toBe(1);

    // Sample events are built only for someone who can receive them: a listener on metricCollected, none on drivesCollected.
    const unlisten = app.services.events.listen('metricCollected', () => undefined);
    const reg = await registerDevices({ url: `${app.server.url}/graphql`, token: ADMIN, hostname: sim.host, port: sim.port, usernames: sim.usernames });
    expect(reg.failed).toEqual([]);
    await until(async () => (await scrape()).get('infrapulse_devices{status="ONLINE"}') === 3, '3 devices ONLINE');
    // A second round, so rates exist and every collector has been timed at least twice.
    await until(async () => (await scrape()).get('infrapulse_poll_duration_seconds_count{collector="system"}')! >= 6, 'two rounds of system polls');

    const after = await scrape();
    for (const c of ['system', 'containers', 'drives']) {
      expect(after.get(`infrapulse_poll_duration_seconds_count{collector="${c}"}`), c).toBeGreaterThanOrEqual(3);
      expect(after.get(`infrapulse_polls_total{collector="${c}",outcome="ok",error_kind=""}`), c).toBeGreaterThanOrEqual(3);
    }
    expect(after.get('infrapulse_device_polls_total')).toBeGreaterThan(before.get('infrapulse_device_polls_total')!);
    expect(after.get('infrapulse_ssh_connections_open')).toBe(3);
    expect(after.get('infrapulse_leased_devices')).toBe(3);
    expect(after.get('infrapulse_write_batch_rows_count')).toBeGreaterThan(0);
    expect(after.get('infrapulse_write_batch_rows_sum')).toBeGreaterThan(0);
    expect(after.get('infrapulse_write_duration_seconds_count{result="ok"}')).toBeGreaterThan(0);
    expect(after.get('infrapulse_events_published_total{topic="metricCollected"}')).toBeGreaterThanOrEqual(3);
    expect(after.has('infrapulse_events_published_total{topic="drivesCollected"}')).toBe(false);
    unlisten();
    expect(after.get('infrapulse_events_published_total{topic="deviceStatusChanged"}')).toBeGreaterThanOrEqual(3);
    expect(after.get('infrapulse_graphql_request_duration_seconds_count{operation_name="RegisterSimulatedDevices",operation_type="mutation"}')).toBe(1);

    // An anonymous query and a named one; a hostile name does not become a label.
    const q = (query: string) =>
      fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query }) });
    await q('{ devices { totalCount } }');
    await q('query Fleet { devices { totalCount } }');
    await q('query Fleet { devices { totalCount } }');
    const last = await scrape();
    expect(last.get('infrapulse_graphql_request_duration_seconds_count{operation_name="anonymous",operation_type="query"}')).toBe(1);
    expect(last.get('infrapulse_graphql_request_duration_seconds_count{operation_name="Fleet",operation_type="query"}')).toBe(2);
    expect(total(last, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  test('log lines: a poll id on every poll line, a request id on every request line (sent back as x-request-id)', async () => {
    const pollLines = lines.filter((l) => l.msg === 'poll ok' || l.msg === 'device status changed');
    expect(pollLines.length).toBeGreaterThan(3);
    for (const l of pollLines) expect(l.pollId, JSON.stringify(l)).toMatch(/^[0-9a-f]{8}$/);
    // Each poll logs under its own id.
    expect(new Set(pollLines.filter((l) => l.msg === 'poll ok').map((l) => l.pollId)).size).toBe(pollLines.filter((l) => l.msg === 'poll ok').length);

    const created = lines.filter((l) => l.msg === 'device created');
    expect(created).toHaveLength(3);
    const ids = new Set(created.map((l) => l.requestId));
    expect(ids.size).toBe(1); // one request created all three
    expect([...ids][0]).toMatch(/^[0-9a-f]{16}$/);

    const res = await fetch(`${app.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}`, 'x-request-id': 'trace-abc.123' },
      body: JSON.stringify({ query: 'mutation { createDevice(input: { name: "rid", hostname: "127.0.0.1", port: 1, username: "x", password: "pw", transport: SSH }) { __typename ... on ValidationError { message } } }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(await res.json()).toMatchObject({ data: { createDevice: { __typename: 'Device' } } });
    expect(lines.find((l) => l.msg === 'device created' && l.requestId === 'trace-abc.123')).toBeDefined();
    const fresh = await fetch(`${app.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}`, 'x-request-id': 'bad id with spaces' }, body: '{"query":"{ __typename }"}' });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}$/);
  });
});

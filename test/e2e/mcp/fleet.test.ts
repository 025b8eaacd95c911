/**
 * The MCP endpoint against a whole app (server + poller + alert evaluator) polling the fleet
 * simulator, through the SDK's own client: the tool list, every tool with VIEWER and OPERATOR
 * tokens, the same refusals GraphQL gives, fleet_summary equal to what GraphQL says of the same
 * fleet, device resources with list-changed notifications, and no secret in any answer or log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { startApp, type App } from '../../../src/main.ts';
import { registerDevices, startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { call, connect, failed, ok, textOf, TOOLS, until, type Connected } from './support.ts';
import { generateEd25519Key } from '../../../src/transport/keys.ts';

const ADMIN = 'ipt_mcp_fleet_test_admin_token_0123456789';
// A real key (createDevice validates it); its middle line is what must never be seen again.
const PRIVATE_KEY = generateEd25519Key();
const KEY_BODY = PRIVATE_KEY.split('\n')[2]!;
const PASSWORD = 'Mcp-Tr0ub4dor&3-never-answered';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sim: Simulator;
let app: App;
let dataDir: string;
let viewer: Connected;
let operator: Connected;
let viewerToken: string;
const logLines: string[] = [];
/** Every answer the tests received, searched for secrets at the end. */
const answers: unknown[] = [];

async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = ADMIN): Promise<{ data?: T; errors?: { message: string; path?: string[] }[] }> {
  const res = await fetch(`${app.server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as never;
}

const keep = <T>(v: T): T => (answers.push(v), v);

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startSimulator({ devices: 3, seed: 20 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-mcp-'));
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
      logLines.push(chunk.toString());
      done();
    },
  });
  app = await startApp(config, createLogger('debug', sink));
  const reg = await registerDevices({ url: `${app.server.url}/graphql`, token: ADMIN, hostname: sim.host, port: sim.port, usernames: sim.usernames });
  expect(reg.failed).toEqual([]);
  // Every CPU sample fires this rule, so there are FIRING alerts to list and acknowledge.
  const rule = await gql<{ createAlertRule: { __typename: string } }>('mutation { createAlertRule(input: { name: "cpu seen", metric: CPU_PERCENT, comparator: GTE, threshold: 0 }) { __typename } }');
  expect(rule.data?.createAlertRule.__typename).toBe('AlertRule');
  viewerToken = (await createApiToken(app.db.prisma, { name: 'mcp viewer', role: 'VIEWER' })).token;
  const operatorToken = (await createApiToken(app.db.prisma, { name: 'mcp operator', role: 'OPERATOR' })).token;
  // Two system polls (rates need two), drives and containers on every device, an alert per device.
  await until('the fleet polled twice with alerts firing', async () => {
    const r = await gql<{ devices: { edges: { node: { latestMetrics: { cpuPercent: number | null } | null; drives: unknown[]; filesystems: unknown[] } }[] }; alerts: { edges: unknown[] } }>(
      '{ devices { edges { node { latestMetrics { cpuPercent } drives { drive } filesystems { mount } } } } alerts(state: [FIRING]) { edges { cursor } } }',
    );
    const nodes = r.data?.devices.edges.map((e) => e.node) ?? [];
    return nodes.length === 3 && nodes.every((n) => n.latestMetrics?.cpuPercent != null && n.drives.length && n.filesystems.length) && (r.data?.alerts.edges.length ?? 0) >= 3;
  }, 120_000); // seconds when alone; minutes on a machine saturated by the whole suite
  viewer = await connect(app.server.url, viewerToken);
  operator = await connect(app.server.url, operatorToken);
}, 180_000);

afterAll(async () => {
  await viewer?.client.close();
  await operator?.client.close();
  await app?.stop();
  await sim?.stop();
  await db?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

describe('MCP on /mcp', () => {
  test('refused without a valid token: 401 with WWW-Authenticate', async () => {
    for (const token of [null, 'ipt_not_a_token_at_all_0123456789']) {
      const error = await connect(app.server.url, token).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(401);
    }
    const res = await fetch(`${app.server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  test('lists the tools, each with a JSON Schema for its input, read-only ones marked', async () => {
    const { tools } = await viewer.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.description?.length).toBeGreaterThan(20);
      expect(t.annotations?.readOnlyHint, t.name).toBe(!['poll_device', 'acknowledge_alert'].includes(t.name));
    }
    const list = tools.find((t) => t.name === 'list_devices')!;
    expect(Object.keys(list.inputSchema.properties ?? {}).sort()).toEqual(['cursor', 'limit', 'status', 'tag', 'text']);
  });

  test('a VIEWER lists the simulator\'s fleet, page by page', async () => {
    const all = ok<{ totalCount: number; devices: { name: string; status: string }[]; nextCursor: string | null }>(keep(await call(viewer, 'list_devices')));
    expect(all.totalCount).toBe(3);
    expect(all.devices.map((d) => d.name)).toEqual([...sim.usernames].sort());
    expect(all.nextCursor).toBeNull();
    const first = ok<{ devices: { name: string }[]; nextCursor: string }>(keep(await call(viewer, 'list_devices', { limit: 2 })));
    expect(first.devices).toHaveLength(2);
    const second = ok<{ devices: { name: string }[]; nextCursor: string | null }>(keep(await call(viewer, 'list_devices', { limit: 2, cursor: first.nextCursor })));
    expect([...first.devices, ...second.devices].map((d) => d.name)).toEqual(all.devices.map((d) => d.name));
    expect(second.nextCursor).toBeNull();
    const filtered = ok<{ totalCount: number }>(keep(await call(viewer, 'list_devices', { text: sim.usernames[1], status: ['ONLINE', 'DEGRADED'] })));
    expect(filtered.totalCount).toBe(1);
    expect(textOf(await call(viewer, 'list_devices', { limit: 2 }))).toContain('3 device(s) match');
  });

  test('get_device gives latest metrics, filesystems, drives, containers and status history', async () => {
    const name = sim.usernames[0]!;
    const r = keep(await call(viewer, 'get_device', { device: name }));
    const { device } = ok<{ device: { id: string; name: string; latestMetrics: { cpuPercent: number }; filesystems: unknown[]; drives: unknown[]; containers: unknown[]; statusChanges: { current: string }[] } }>(r);
    expect(device.name).toBe(name);
    expect(device.latestMetrics.cpuPercent).toBeTypeOf('number');
    expect(device.filesystems.length).toBeGreaterThan(0);
    expect(device.drives.length).toBeGreaterThan(0);
    expect(device.statusChanges.map((s) => s.current)).toContain('ONLINE');
    const text = textOf(r);
    for (const part of ['filesystems (', 'drives (', 'containers (', 'status history', 'latest sample']) expect(text).toContain(part);
    // By id too; and an unknown device is a clear tool error.
    expect(ok<{ device: { name: string } }>(await call(viewer, 'get_device', { device: device.id })).device.name).toBe(name);
    expect(failed(await call(viewer, 'get_device', { device: 'no-such-host' }))).toContain('no device has the id or name "no-such-host"');
  });

  test('a VIEWER reads a device\'s last 24 h with metric_history, paginated', async () => {
    const name = sim.usernames[0]!;
    const r = keep(await call(viewer, 'metric_history', { device: name, from: '24h' }));
    const day = ok<{ totalBuckets: number; bucketSeconds: number; summary: Record<string, { avg: number; max: number }> }>(r);
    expect(day.totalBuckets).toBeGreaterThanOrEqual(1);
    expect(day.bucketSeconds).toBe(300);
    expect(Object.keys(day.summary)).toEqual(['cpuPercent', 'memUsedPercent', 'load1']);
    expect(day.summary.memUsedPercent!.max).toBeGreaterThan(0);
    expect(textOf(r)).toContain('cpuPercent over the range');

    // The buckets Query.metricHistory gives for the same range: fixed, and ending at a sample
    // already written; waited for until it holds two buckets (the first two polls may share one).
    const from = new Date(Date.now() - 600_000).toISOString();
    type Buckets = { metricHistory: { time: string; cpuPercent: { avg: number } }[] };
    const { to, direct } = await until('two buckets of history', async () => {
      const known = (await gql<{ device: { id: string; latestMetrics: { time: string } } }>('query ($n: String) { device(name: $n) { id latestMetrics { time } } }', { n: name })).data!.device;
      const end = new Date(Date.parse(known.latestMetrics.time) + 1).toISOString();
      const buckets = await gql<Buckets>(
        'query ($id: ID!, $from: DateTime!, $to: DateTime) { metricHistory(deviceId: $id, from: $from, to: $to, bucketSeconds: 5) { time cpuPercent { avg } } }',
        { id: known.id, from, to: end },
      );
      return buckets.data!.metricHistory.length >= 2 ? { to: end, direct: buckets } : null;
    });
    const h = ok<{ totalBuckets: number; bucketSeconds: number; buckets: { time: string; cpuPercent: { avg: number } }[] }>(
      await call(viewer, 'metric_history', { device: name, from, to, metrics: ['cpuPercent'], bucketSeconds: 5, limit: 500 }),
    );
    expect(h.bucketSeconds).toBe(5);
    expect(h.totalBuckets).toBeGreaterThanOrEqual(2);
    expect(h.buckets.map((b) => [b.time, b.cpuPercent.avg])).toEqual(direct.data!.metricHistory.map((b) => [b.time, b.cpuPercent.avg]));

    // Page by page, one bucket at a time, adds up to the whole.
    let page = ok<{ buckets: { time: string }[]; nextCursor: string | null }>(await call(viewer, 'metric_history', { device: name, from, to, bucketSeconds: 5, limit: 1 }));
    const times = page.buckets.map((b) => b.time);
    while (page.nextCursor) {
      page = ok(await call(viewer, 'metric_history', { cursor: page.nextCursor, limit: 1 }));
      times.push(...page.buckets.map((b) => b.time));
    }
    expect(times).toEqual(h.buckets.map((b) => b.time));
    expect(failed(await call(viewer, 'metric_history', { device: name, from: 'yesterday-ish' }))).toContain('from: expected');
    expect(failed(await call(viewer, 'metric_history', { cursor: 'bm9wZQ' }))).toContain('invalid cursor');
  });

  test('list_alerts filters by state, device and time', async () => {
    const name = sim.usernames[2]!;
    const r = keep(await call(viewer, 'list_alerts', { state: ['FIRING'], device: name, since: '1h' }));
    const { alerts } = ok<{ alerts: { deviceName: string; state: string; rule: { name: string } }[] }>(r);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => a.deviceName === name && a.state === 'FIRING')).toBe(true);
    expect(alerts.map((a) => a.rule.name)).toContain('cpu seen');
    expect(textOf(r)).toContain(`[FIRING]`);
  });

  test('a VIEWER cannot poll or acknowledge: the refusal GraphQL gives', async () => {
    // The test rule's alerts: they never resolve by themselves (a built-in rule's might).
    const alerts = ok<{ alerts: { id: string; rule: { name: string } }[] }>(await call(viewer, 'list_alerts', { state: ['FIRING'] })).alerts.filter((a) => a.rule.name === 'cpu seen');
    const device = sim.usernames[0]!;
    const poll = failed(await call(viewer, 'poll_device', { device }));
    const ack = failed(await call(viewer, 'acknowledge_alert', { id: alerts[0]!.id }));
    const viaGraphql = await gql('mutation ($id: ID!) { acknowledgeAlert(id: $id) { __typename } }', { id: alerts[0]!.id }, viewerToken);
    const refusal = viaGraphql.errors![0]!.message;
    expect(refusal).toBe('role VIEWER may not do this');
    expect(ack).toContain(refusal);
    expect(poll).toContain(refusal);
    // Nothing happened.
    const still = await gql<{ alert: { state: string } }>('query ($id: ID!) { alert(id: $id) { state } }', { id: alerts[0]!.id });
    expect(still.data!.alert.state).toBe('FIRING');
  });

  test('an OPERATOR polls a device and acknowledges an alert', async () => {
    const device = sim.usernames[1]!;
    const r = keep(await call(operator, 'poll_device', { device, collectors: ['SYSTEM'] }));
    const poll = ok<{ name: string; status: string; collectors: { collector: string; ok: boolean }[]; rows: number }>(r);
    expect(poll.name).toBe(device);
    expect(poll.status).toBe('ONLINE');
    expect(poll.collectors).toEqual([expect.objectContaining({ collector: 'system', ok: true })]);
    expect(textOf(r)).toContain(`polled ${device}`);

    const alerts = ok<{ alerts: { id: string; rule: { name: string } }[] }>(await call(operator, 'list_alerts', { state: ['FIRING'], device })).alerts.filter((a) => a.rule.name === 'cpu seen');
    const acked = ok<{ alert: { id: string; state: string; acknowledgedBy: string } }>(keep(await call(operator, 'acknowledge_alert', { id: alerts[0]!.id })));
    expect(acked.alert).toMatchObject({ id: alerts[0]!.id, state: 'ACKNOWLEDGED', acknowledgedBy: 'mcp operator' });
    const graphql = await gql<{ alert: { state: string } }>('query ($id: ID!) { alert(id: $id) { state } }', { id: alerts[0]!.id });
    expect(graphql.data!.alert.state).toBe('ACKNOWLEDGED');
    // A typed GraphQL error (ConflictError) is a tool error with its message.
    expect(failed(await call(operator, 'acknowledge_alert', { id: 'no-such-alert' }))).toMatch(/not found|no Alert/i);
  });

  test('every read tool answers an OPERATOR as it answers a VIEWER', async () => {
    const device = sim.usernames[0]!;
    const reads: [string, Record<string, unknown>][] = [
      ['list_devices', {}],
      ['get_device', { device }],
      ['metric_history', { device, from: '1h' }],
      ['list_alerts', { device }],
      ['fleet_summary', {}],
    ];
    for (const [tool, args] of reads) {
      const asOperator = keep(await call(operator, tool, args));
      ok(asOperator);
      expect(textOf(asOperator).length, tool).toBeGreaterThan(20);
    }
    expect(ok<{ totalCount: number }>(await call(operator, 'list_devices')).totalCount).toBe(ok<{ totalCount: number }>(await call(viewer, 'list_devices')).totalCount);
  });

  test('fleet_summary equals what GraphQL says of the same fleet', async () => {
    interface Summary {
      devices: number;
      byStatus: Record<string, number>;
      fullestFilesystems: { device: string; mount: string; usedPercent: number }[];
      hottestDrives: { device: string; drive: string; temperatureC: number }[];
      busiestHosts: { device: string; cpuPercent: number }[];
      firingAlerts: { count: number };
    }
    const FLEET = `{ health { devicesByStatus { status count } }
      devices { edges { node { name latestMetrics { cpuPercent } filesystems { mount usedPercent } drives { drive temperatureC } } } }
      alerts(state: [FIRING], first: 500) { edges { cursor } } }`;
    type Fleet = {
      health: { devicesByStatus: { status: string; count: number }[] };
      devices: { edges: { node: { name: string; latestMetrics: { cpuPercent: number | null } | null; filesystems: { mount: string; usedPercent: number }[]; drives: { drive: string; temperatureC: number | null }[] } }[] };
      alerts: { edges: unknown[] };
    };
    // The poller keeps writing: compare when two MCP answers around the GraphQL one agree.
    const [summary, fleet] = await until('a quiet moment in the fleet', async () => {
      const before = ok<Summary>(await call(viewer, 'fleet_summary', { top: 3 }));
      const g = await gql<Fleet>(FLEET);
      const after = ok<Summary>(keep(await call(viewer, 'fleet_summary', { top: 3 })));
      return JSON.stringify(before) === JSON.stringify(after) ? ([after, g.data!] as const) : null;
    });
    expect(summary.devices).toBe(3);
    expect(summary.byStatus).toEqual(Object.fromEntries(fleet.health.devicesByStatus.map((s) => [s.status, s.count])));
    const nodes = fleet.devices.edges.map((e) => e.node);
    const fs3 = nodes.flatMap((n) => n.filesystems.map((f) => ({ device: n.name, mount: f.mount, usedPercent: f.usedPercent }))).sort((a, b) => b.usedPercent - a.usedPercent).slice(0, 3);
    expect(summary.fullestFilesystems.map(({ device, mount, usedPercent }) => ({ device, mount, usedPercent }))).toEqual(fs3);
    const drives3 = nodes.flatMap((n) => n.drives.filter((d) => d.temperatureC !== null).map((d) => ({ device: n.name, drive: d.drive, temperatureC: d.temperatureC }))).sort((a, b) => b.temperatureC! - a.temperatureC!).slice(0, 3);
    expect(summary.hottestDrives.map(({ device, drive, temperatureC }) => ({ device, drive, temperatureC }))).toEqual(drives3);
    const hosts3 = nodes.map((n) => ({ device: n.name, cpuPercent: n.latestMetrics!.cpuPercent! })).sort((a, b) => b.cpuPercent - a.cpuPercent).slice(0, 3);
    expect(summary.busiestHosts.map(({ device, cpuPercent }) => ({ device, cpuPercent }))).toEqual(hosts3);
    expect(summary.firingAlerts.count).toBe(fleet.alerts.edges.length);
    expect(summary.firingAlerts.count).toBeGreaterThan(0);
    const text = textOf(await call(viewer, 'fleet_summary', {}));
    for (const part of ['3 device(s)', 'firing alerts:', 'fullest filesystems:', 'hottest drives:', 'busiest hosts (CPU):']) expect(text).toContain(part);
  });

  test('device resources: one per device, readable, with list-changed notifications', async () => {
    const { resources } = await viewer.client.listResources();
    expect(resources.map((r) => r.name).sort()).toEqual([...sim.usernames].sort());
    const first = resources[0]!;
    expect(first.uri).toMatch(/^infrapulse:\/\/devices\//);
    const read = keep(await viewer.client.readResource({ uri: first.uri }));
    expect(read.contents[0]).toMatchObject({ uri: first.uri, mimeType: 'text/plain' });
    expect(String((read.contents[0] as { text: string }).text)).toContain(`${first.name} (id `);
    await expect(viewer.client.readResource({ uri: 'infrapulse://devices/nope' })).rejects.toThrow(/Resource not found/);

    let changes = 0;
    viewer.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void changes++);
    const created = await gql<{ createDevice: { id: string } }>('mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { ... on Device { id } } }', {
      input: { name: 'secret-holder', hostname: '127.0.0.9', username: 'u', privateKey: PRIVATE_KEY, monitoringEnabled: false },
    });
    const id = created.data!.createDevice.id;
    await until('a list-changed notification after createDevice', async () => changes >= 1);
    expect((await viewer.client.listResources()).resources.map((r) => r.name)).toContain('secret-holder');
    await gql('mutation ($id: ID!, $input: UpdateDeviceInput!) { updateDevice(id: $id, input: $input) { __typename } }', { id, input: { password: PASSWORD, privateKey: null } });
    keep(await viewer.client.readResource({ uri: `infrapulse://devices/${id}` }));
    keep(await call(viewer, 'get_device', { device: 'secret-holder' }));
    keep(await call(viewer, 'list_devices', { text: 'secret' }));
    keep(await call(viewer, 'fleet_summary', {}));
    const seen = changes;
    await gql('mutation ($id: ID!) { deleteDevice(id: $id) { __typename } }', { id });
    await until('a list-changed notification after deleteDevice', async () => changes > seen);
    expect((await viewer.client.listResources()).resources.map((r) => r.name)).not.toContain('secret-holder');
  }, 120_000); // two waits for notifications: seconds alone, much longer beside the whole suite

  test('top_processes: refused to a VIEWER as GraphQL refuses it; an OPERATOR gets the busiest processes, or the host\'s failure as a tool error', async () => {
    const refusal = (await gql<{ device: { topProcesses: unknown } }>('query ($n: String) { device(name: $n) { topProcesses { __typename } } }', { n: sim.usernames[0] }, viewerToken)).errors![0]!.message;
    expect(refusal).toBe('role VIEWER may not do this');
    expect(failed(keep(await call(viewer, 'top_processes', { device: sim.usernames[0] })))).toContain(refusal);
    // A simulated host: its workload among the busiest (CPU over 0.5 s is whole ticks, so close shares may swap).
    const simTop = ok<{ name: string; cpuBasis: string; processes: { command: string }[] }>(keep(await call(operator, 'top_processes', { device: sim.usernames[0], limit: 3 })));
    expect(simTop).toMatchObject({ name: sim.usernames[0], cpuBasis: 'INTERVAL' });
    expect(simTop.processes.map((p) => p.command)).toContain('/usr/bin/python3 /opt/app/worker.py --queue default');
    // The machine the test runs on, as a LOCAL device: a real answer; switched off, the typed GraphQL error as a tool error.
    const created = await gql<{ createDevice: { id: string } }>('mutation { createDevice(input: { name: "here", hostname: "localhost", transport: LOCAL }) { ... on Device { id } } }');
    const id = created.data!.createDevice.id;
    const off = await gql<{ createDevice: { id: string } }>('mutation { createDevice(input: { name: "here-off", hostname: "localhost", transport: LOCAL, monitoringEnabled: false }) { ... on Device { id } } }');
    try {
      expect(failed(keep(await call(operator, 'top_processes', { device: 'here-off' })))).toContain('monitoring is switched off for this device');
      const r = keep(await call(operator, 'top_processes', { device: 'here', by: 'MEMORY', limit: 3 }));
      const top = ok<{ name: string; by: string; cpuBasis: string; processCount: number; processes: { pid: number; memoryBytes: number }[] }>(r);
      expect(top).toMatchObject({ name: 'here', by: 'MEMORY', cpuBasis: 'INTERVAL' });
      expect(top.processes).toHaveLength(3);
      expect(top.processes[0]!.memoryBytes).toBeGreaterThanOrEqual(top.processes[2]!.memoryBytes);
      expect(top.processCount).toBeGreaterThan(3);
      expect(textOf(r)).toContain('here: top 3 of');
    } finally {
      await gql('mutation ($id: ID!) { deleteDevice(id: $id) { __typename } }', { id });
      await gql('mutation ($id: ID!) { deleteDevice(id: $id) { __typename } }', { id: off.data!.createDevice.id });
    }
  }, 60_000);

  test('no secret in any answer or log line', async () => {
    const text = JSON.stringify(answers) + logLines.join('');
    expect(answers.length).toBeGreaterThan(10);
    expect(text).toContain('secret-holder');
    for (const secret of [PASSWORD, KEY_BODY, 'BEGIN OPENSSH PRIVATE KEY', viewerToken, ADMIN, 'simulated"']) {
      expect(text.includes(secret), `found ${secret.slice(0, 12)}…`).toBe(false);
    }
    expect(logLines.join('')).toContain('MCP session opened');
  });
});

/**
 * Listing devices with their latest samples costs the same number of SQL statements for 10
 * devices as for 500: one per table, whatever the page size. Counted at the pg driver
 * (pg.Client.prototype.query), under Prisma and the storage layer alike.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeBatch } from '../../../src/storage/index.ts';
import { emptyBatch } from '../../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { containerRow, diskIoRow, driveRow, filesystemRow, networkRow, systemRow } from '../../helpers/rows.ts';

let app: TestApp;
const DEVICES = 500;

beforeAll(async () => {
  app = await startTestApp();
  const prisma = app.db.prisma;
  const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
  await prisma.device.createMany({
    data: ids.map((id, i) => ({ id, name: `host-${String(i).padStart(4, '0')}`, hostname: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, username: 'mon', status: i % 5 === 0 ? 'OFFLINE' : 'ONLINE', tags: i % 2 ? ['odd'] : ['even'] })),
  });
  await prisma.statusChange.createMany({ data: ids.map((deviceId) => ({ deviceId, previous: 'UNKNOWN', current: 'ONLINE' })) });
  const t = new Date(Date.now() - 60_000);
  const batch = emptyBatch();
  for (const id of ids) {
    batch.system.push(systemRow(id, t));
    batch.filesystems.push(filesystemRow(id, t, '/'), filesystemRow(id, t, '/data'));
    batch.networks.push(networkRow(id, t, 'eth0'));
    batch.diskIo.push(diskIoRow(id, t, 'sda'));
    batch.drives.push(driveRow(id, t, '/dev/sda'));
    batch.containers.push(containerRow(id, t, 'web'), containerRow(id, t, 'db'));
  }
  await writeBatch(prisma, batch);
});
afterAll(async () => app?.close());

const LIST = `query ($first: Int!) {
  devices(first: $first) {
    totalCount
    edges { cursor node {
      id name status tags corePercents
      latestMetrics { cpuPercent memTotalBytes }
      filesystems { mount usedBytes }
      networkInterfaces { name rxBytesTotal }
      diskIo { disk readIops }
      drives { drive health temperatureC }
      containers { name state memUsageBytes }
      statusChanges(limit: 5) { previous current }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type ListResult = { devices: { totalCount: number; edges: { node: { id: string; filesystems: unknown[]; containers: unknown[]; drives: unknown[]; latestMetrics: { memTotalBytes: number } | null; statusChanges: unknown[] } }[] } };

async function counted(first: number, query = LIST): Promise<{ statements: string[]; ms: number; data: ListResult }> {
  const statements: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0];
    const text = typeof q === 'string' ? q : String((q as { text?: unknown })?.text ?? '?');
    // Token verification is cached for seconds and its last-used write is throttled: whether it
    // runs depends on the clock, not on the page size.
    if (!text.includes('api_tokens')) statements.push(text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    const started = performance.now();
    const res = await app.gql<ListResult>(query, { first });
    const ms = performance.now() - started;
    expect(res.body.errors).toBeUndefined();
    return { statements, ms, data: res.body.data! };
  } finally {
    pg.Client.prototype.query = original;
  }
}

test('10 and 500 devices with latest rows, status changes and counts cost the same SQL statements', async () => {
  const small = await counted(10);
  const large = await counted(DEVICES);
  expect(small.data.devices.edges).toHaveLength(10);
  expect(large.data.devices.edges).toHaveLength(DEVICES);
  expect(large.data.devices.totalCount).toBe(DEVICES);
  const node = large.data.devices.edges[DEVICES - 1]!.node;
  expect(node.filesystems).toHaveLength(2);
  expect(node.containers).toHaveLength(2);
  expect(node.drives).toHaveLength(1);
  expect(node.latestMetrics?.memTotalBytes).toBe(16 * 2 ** 30);
  expect(node.statusChanges).toHaveLength(1);

  expect(large.statements, large.statements.join('\n---\n')).toHaveLength(small.statements.length);
  // devices page + count + six latest tables + status changes (latestMetrics and corePercents share one).
  expect(large.statements.length).toBeLessThanOrEqual(10);
  const text = large.statements.join('\n');
  for (const table of ['system_metrics', 'filesystem_metrics', 'network_metrics', 'disk_io_metrics', 'drive_health', 'container_snapshots', 'status_changes']) {
    expect(text.split(`FROM ${table}`).length - 1, table).toBe(1);
  }
  console.log(`devices list: ${small.statements.length} statements for 10, ${large.statements.length} for ${DEVICES}; ${DEVICES} devices took ${large.ms.toFixed(0)} ms`);
});

const LIGHT = 'query ($first: Int!) { devices(first: $first) { edges { node { id name status latestMetrics { time cpuPercent memUsedPercent load1 } } } } }';

test('the 500-device list with status and latestMetrics stays fast (median of 5)', async () => {
  await counted(DEVICES, LIGHT);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await counted(DEVICES, LIGHT)).ms);
  times.sort((a, b) => a - b);
  console.log(`500-device list (status + latestMetrics): median ${times[2]!.toFixed(1)} ms, max ${times[4]!.toFixed(1)} ms`);
  expect(times[2]).toBeLessThan(1000); // generous: a ceiling for loaded CI machines; the 50 ms target is npm run bench's
});

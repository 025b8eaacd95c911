/** metricHistory and the per-subject histories against buckets computed by hand. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { historyRange } from '../../../src/graphql/types/metrics.ts';
import { writeBatch } from '../../../src/storage/index.ts';
import { emptyBatch } from '../../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { containerRow, filesystemRow, systemRow } from '../../helpers/rows.ts';

let app: TestApp;
const at = (hms: string) => new Date(`2026-11-27T${hms}Z`);

beforeAll(async () => {
  app = await startTestApp();
  await app.db.prisma.device.create({ data: { id: 'h1', name: 'h1', hostname: 'h1.lan', username: 'mon' } });
  const b = emptyBatch();
  // minute 10:00 → cpu 10, 20, 60; minute 10:01 → cpu null, 40; another device's row in the same minute must not count.
  b.system.push(
    systemRow('h1', at('10:00:00'), { cpuPercent: 10, memUsedPercent: 40, load1: 1, netRxBytesPerSec: 5e9 }),
    systemRow('h1', at('10:00:20'), { cpuPercent: 20, memUsedPercent: 50, load1: 2, netRxBytesPerSec: 7e9 }),
    systemRow('h1', at('10:00:40'), { cpuPercent: 60, memUsedPercent: 60, load1: 6, netRxBytesPerSec: null }),
    systemRow('h1', at('10:01:10'), { cpuPercent: null, memUsedPercent: 70, load1: 3 }),
    systemRow('h1', at('10:01:30'), { cpuPercent: 40, memUsedPercent: 90, load1: 5 }),
    systemRow('other', at('10:00:30'), { cpuPercent: 99, memUsedPercent: 99 }),
  );
  b.filesystems.push(
    filesystemRow('h1', at('10:00:00'), '/', { usedPercent: 10, usedBytes: 2 ** 40 }),
    filesystemRow('h1', at('10:00:30'), '/', { usedPercent: 30, usedBytes: 3 * 2 ** 40 }),
    filesystemRow('h1', at('10:00:00'), '/data', { usedPercent: 80, usedBytes: 8 * 2 ** 40 }),
  );
  b.containers.push(
    containerRow('h1', at('10:00:00'), 'web', { state: 'running', cpuPercent: 2 }),
    containerRow('h1', at('10:00:50'), 'web', { state: 'exited', cpuPercent: null }),
  );
  await writeBatch(app.db.prisma, b);
});
afterAll(async () => app?.close());

const Q = `query ($from: DateTime!, $to: DateTime, $b: Int) {
  metricHistory(deviceId: "h1", from: $from, to: $to, bucketSeconds: $b) {
    time samples cpuPercent { avg min max } memUsedPercent { avg min max } load1 { avg min max } netRxBytesPerSec { avg min max }
  }
}`;

type Stat = { avg: number | null; min: number | null; max: number | null };
type Bucket = { time: string; samples: number; cpuPercent: Stat; memUsedPercent: Stat; load1: Stat; netRxBytesPerSec: Stat };

describe('metricHistory', () => {
  test('one-minute buckets: avg/min/max per metric, nulls ignored, other devices excluded', async () => {
    const res = await app.gql<{ metricHistory: Bucket[] }>(Q, { from: '2026-11-27T10:00:00Z', to: '2026-11-27T10:02:00Z', b: 60 });
    expect(res.body.errors).toBeUndefined();
    const [m0, m1, ...rest] = res.body.data!.metricHistory;
    expect(rest).toEqual([]);
    expect(m0).toEqual({
      time: '2026-11-27T10:00:00.000Z',
      samples: 3,
      cpuPercent: { avg: 30, min: 10, max: 60 }, // (10 + 20 + 60) / 3
      memUsedPercent: { avg: 50, min: 40, max: 60 },
      load1: { avg: 3, min: 1, max: 6 },
      netRxBytesPerSec: { avg: 6e9, min: 5e9, max: 7e9 }, // the null sample does not count
    });
    expect(m1).toEqual({
      time: '2026-11-27T10:01:00.000Z',
      samples: 2,
      cpuPercent: { avg: 40, min: 40, max: 40 },
      memUsedPercent: { avg: 80, min: 70, max: 90 },
      load1: { avg: 4, min: 3, max: 5 },
      netRxBytesPerSec: { avg: 1000, min: 1000, max: 1000 },
    });
  });

  test('metrics selected through aliases, fragment spreads and inline fragments are all computed (only those are asked of SQL)', async () => {
    const q = `query ($from: DateTime!, $to: DateTime, $b: Int) {
      metricHistory(deviceId: "h1", from: $from, to: $to, bucketSeconds: $b) {
        time busy: cpuPercent { avg } ...Mem ... on MetricBucket { load1 { max } ... @include(if: false) { netRxBytesPerSec { avg } } }
      }
    }
    fragment Mem on MetricBucket { memUsedPercent { min } }`;
    const res = await app.gql<{ metricHistory: unknown[] }>(q, { from: '2026-11-27T10:00:00Z', to: '2026-11-27T10:02:00Z', b: 60 });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.metricHistory).toEqual([
      { time: '2026-11-27T10:00:00.000Z', busy: { avg: 30 }, memUsedPercent: { min: 40 }, load1: { max: 6 } },
      { time: '2026-11-27T10:01:00.000Z', busy: { avg: 40 }, memUsedPercent: { min: 70 }, load1: { max: 5 } },
    ]);
  });

  test('a two-minute bucket holds all five samples; [from, to) excludes to', async () => {
    const res = await app.gql<{ metricHistory: Bucket[] }>(Q, { from: '2026-11-27T10:00:00Z', to: '2026-11-27T10:01:30Z', b: 120 });
    const buckets = res.body.data!.metricHistory;
    expect(buckets).toHaveLength(1);
    expect(buckets[0]).toMatchObject({ time: '2026-11-27T10:00:00.000Z', samples: 4, cpuPercent: { avg: 30, min: 10, max: 60 }, memUsedPercent: { avg: 55, min: 40, max: 70 } });
  });

  test('from after to is a BAD_USER_INPUT error', async () => {
    const res = await app.gql(Q, { from: '2026-11-27T10:02:00Z', to: '2026-11-27T10:00:00Z' });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('default bucket of about 300 points, and a cap of 2000 points per series', () => {
    const from = new Date('2026-11-01T00:00:00Z');
    expect(historyRange({ from, to: new Date('2026-11-02T00:00:00Z') }).bucketSeconds).toBe(300); // 24 h / 300 s = 288
    expect(historyRange({ from, to: new Date('2026-12-01T00:00:00Z'), bucketSeconds: 1 }).bucketSeconds).toBe(1296); // 30 d / 2000
  });
});

describe('per-subject histories', () => {
  test('filesystemHistory groups by mount, buckets per minute', async () => {
    const res = await app.gql<{ filesystemHistory: { mount: string; buckets: { time: string; samples: number; usedPercent: Stat; usedBytes: Stat; filesystem: string }[] }[] }>(
      `{ filesystemHistory(deviceId: "h1", from: "2026-11-27T10:00:00Z", to: "2026-11-27T10:05:00Z", bucketSeconds: 60) { mount buckets { time samples usedPercent { avg min max } usedBytes { avg max } filesystem } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.filesystemHistory).toEqual([
      { mount: '/', buckets: [{ time: '2026-11-27T10:00:00.000Z', samples: 2, usedPercent: { avg: 20, min: 10, max: 30 }, usedBytes: { avg: 2 * 2 ** 40, max: 3 * 2 ** 40 }, filesystem: '/dev/sda1' }] },
      { mount: '/data', buckets: [{ time: '2026-11-27T10:00:00.000Z', samples: 1, usedPercent: { avg: 80, min: 80, max: 80 }, usedBytes: { avg: 8 * 2 ** 40, max: 8 * 2 ** 40 }, filesystem: '/dev/sdb1' }] },
    ]);
    const one = await app.gql<{ filesystemHistory: { mount: string }[] }>(
      `{ filesystemHistory(deviceId: "h1", from: "2026-11-27T10:00:00Z", to: "2026-11-27T10:05:00Z", mount: "/data") { mount } }`,
    );
    expect(one.body.data!.filesystemHistory).toEqual([{ mount: '/data' }]);
  });

  test('containerHistory reports the newest state in the bucket and ignores null stats', async () => {
    const res = await app.gql<{ containerHistory: { containerId: string; buckets: { state: string; name: string; cpuPercent: Stat; samples: number }[] }[] }>(
      `{ containerHistory(deviceId: "h1", from: "2026-11-27T10:00:00Z", to: "2026-11-27T10:05:00Z", bucketSeconds: 300) { containerId buckets { samples state name cpuPercent { avg min max } } } }`,
    );
    expect(res.body.data!.containerHistory).toEqual([{ containerId: 'id-web', buckets: [{ samples: 2, state: 'exited', name: 'web', cpuPercent: { avg: 2, min: 2, max: 2 } }] }]);
  });
});

/** Bucketed history of system metrics: avg/min/max per metric per time bucket. */
import type { PrismaClient } from '../db/generated/client.ts';

export const HISTORY_METRICS = {
  cpuPercent: 'cpu_percent',
  cpuIowaitPercent: 'cpu_iowait_percent',
  cpuStealPercent: 'cpu_steal_percent',
  memUsedPercent: 'mem_used_percent',
  load1: 'load1',
  load5: 'load5',
  load15: 'load15',
  netRxBytesPerSec: 'net_rx_bytes_per_sec',
  netTxBytesPerSec: 'net_tx_bytes_per_sec',
  diskReadBytesPerSec: 'disk_read_bytes_per_sec',
  diskWriteBytesPerSec: 'disk_write_bytes_per_sec',
} as const;

export type HistoryMetric = keyof typeof HISTORY_METRICS;

export interface Stat {
  avg: number | null;
  min: number | null;
  max: number | null;
}

export type MetricBucket = { time: Date; samples: number } & Record<HistoryMetric, Stat>;

/** A series never has more points than this; a finer bucket asked for is widened. */
export const MAX_POINTS = 2000;

/** About 300 points whatever the range, on a round bucket width. */
export function defaultBucketSeconds(rangeSeconds: number): number {
  const steps = [10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
  return steps.find((s) => rangeSeconds / s <= 300) ?? 7 * 86_400;
}

export function effectiveBucketSeconds(rangeSeconds: number, requested: number | undefined): number {
  const wanted = requested ?? defaultBucketSeconds(rangeSeconds);
  return Math.max(wanted, Math.ceil(rangeSeconds / MAX_POINTS), 1);
}

type Source = 'raw' | '5m' | '1h';

/**
 * Raw rows for short ranges or fine buckets; the continuous aggregates (TimescaleDB only,
 * where they are materialised) when every bucket is a whole number of rollup buckets.
 */
export function chooseSource(timescale: boolean, rangeSeconds: number, bucketSeconds: number): Source {
  if (!timescale) return 'raw';
  if (bucketSeconds % 3600 === 0 && rangeSeconds > 7 * 86_400) return '1h';
  if (bucketSeconds % 300 === 0 && rangeSeconds > 86_400) return '5m';
  return 'raw';
}

const metricEntries = Object.entries(HISTORY_METRICS) as [HistoryMetric, string][];

const RAW_SQL = `SELECT time_bucket(make_interval(secs => $2), time) AS bucket, count(*)::int AS samples, ${metricEntries
  .map(([, c]) => `avg(${c}) AS ${c}_avg, min(${c}) AS ${c}_min, max(${c}) AS ${c}_max`)
  .join(', ')}
FROM system_metrics WHERE device_id = $1 AND time >= $3::timestamptz AND time < $4::timestamptz GROUP BY 1 ORDER BY 1`;

const rollupSql = (view: string) => `SELECT time_bucket(make_interval(secs => $2), bucket) AS bucket, sum(samples)::int AS samples, ${metricEntries
  .map(([, c]) => `sum(${c}_avg * ${c}_n) / nullif(sum(${c}_n), 0) AS ${c}_avg, min(${c}_min) AS ${c}_min, max(${c}_max) AS ${c}_max`)
  .join(', ')}
FROM ${view} WHERE device_id = $1 AND bucket >= $3::timestamptz AND bucket < $4::timestamptz GROUP BY 1 ORDER BY 1`;

const SQL: Record<Source, string> = { raw: RAW_SQL, '5m': rollupSql('system_metrics_5m'), '1h': rollupSql('system_metrics_1h') };

type Raw = Record<string, unknown> & { bucket: Date; samples: number };

// Times travel as ISO strings: Prisma's pg adapter formats Date parameters without a zone.
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function systemHistory(
  prisma: PrismaClient,
  args: { deviceId: string; from: Date; to: Date; bucketSeconds: number; source?: Source },
): Promise<MetricBucket[]> {
  const rows = await prisma.$queryRawUnsafe<Raw[]>(SQL[args.source ?? 'raw'], args.deviceId, args.bucketSeconds, args.from.toISOString(), args.to.toISOString());
  return rows.map((r) => {
    const bucket = { time: new Date(r.bucket), samples: Number(r.samples) } as MetricBucket;
    for (const [key, c] of metricEntries) bucket[key] = { avg: num(r[`${c}_avg`]), min: num(r[`${c}_min`]), max: num(r[`${c}_max`]) };
    return bucket;
  });
}

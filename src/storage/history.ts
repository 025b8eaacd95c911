/**
 * Bucketed history of system metrics: avg/min/max per metric per time bucket, computed only
 * for the metrics asked for. Read on the pg pool, not through Prisma's raw query: for 288
 * buckets Prisma's result mapping took 24 ms where the same SQL over pg took 8, and three
 * metrics instead of eleven 3.7 (docs/benchmarks.md, *Queries*).
 */
import type pg from 'pg';

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

const ALL_METRICS = Object.keys(HISTORY_METRICS) as HistoryMetric[];

function rawSql(metrics: readonly HistoryMetric[]): string {
  const aggregates = metrics.map((m) => HISTORY_METRICS[m]).map((c) => `, avg(${c}) AS ${c}_avg, min(${c}) AS ${c}_min, max(${c}) AS ${c}_max`);
  return `SELECT time_bucket(make_interval(secs => $2), time) AS bucket, count(*)::int AS samples${aggregates.join('')}
FROM system_metrics WHERE device_id = $1 AND time >= $3::timestamptz AND time < $4::timestamptz GROUP BY 1 ORDER BY 1`;
}

function rollupSql(view: string, metrics: readonly HistoryMetric[]): string {
  const aggregates = metrics.map((m) => HISTORY_METRICS[m]).map((c) => `, sum(${c}_avg * ${c}_n) / nullif(sum(${c}_n), 0) AS ${c}_avg, min(${c}_min) AS ${c}_min, max(${c}_max) AS ${c}_max`);
  return `SELECT time_bucket(make_interval(secs => $2), bucket) AS bucket, sum(samples)::int AS samples${aggregates.join('')}
FROM ${view} WHERE device_id = $1 AND bucket >= $3::timestamptz AND bucket < $4::timestamptz GROUP BY 1 ORDER BY 1`;
}

const SQL: Record<Source, (metrics: readonly HistoryMetric[]) => string> = {
  raw: rawSql,
  '5m': (m) => rollupSql('system_metrics_5m', m),
  '1h': (m) => rollupSql('system_metrics_1h', m),
};

type Raw = Record<string, unknown> & { bucket: Date; samples: number };

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A metric not in `metrics` (default: all) is absent from the buckets. */
export async function systemHistory(
  pool: pg.Pool,
  args: { deviceId: string; from: Date; to: Date; bucketSeconds: number; source?: Source; metrics?: readonly HistoryMetric[] },
): Promise<MetricBucket[]> {
  const metrics = args.metrics ?? ALL_METRICS;
  const { rows } = await pool.query<Raw>(SQL[args.source ?? 'raw'](metrics), [args.deviceId, args.bucketSeconds, args.from.toISOString(), args.to.toISOString()]);
  return rows.map((r) => {
    const bucket = { time: new Date(r.bucket), samples: Number(r.samples) } as MetricBucket;
    for (const key of metrics) {
      const c = HISTORY_METRICS[key];
      bucket[key] = { avg: num(r[`${c}_avg`]), min: num(r[`${c}_min`]), max: num(r[`${c}_max`]) };
    }
    return bucket;
  });
}

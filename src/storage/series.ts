/**
 * Bucketed history of the per-subject tables (filesystems, network interfaces, disks, drives,
 * containers): one generic time_bucket query per table, built from a small description of
 * which columns are averaged and which are reported as their last value in the bucket.
 * System metrics have their own reader (history.ts) because they have continuous aggregates.
 */
import type pg from 'pg';
import type { PrismaClient } from '../db/generated/client.ts';
import type { Stat } from './history.ts';
import { TABLES } from './tables.ts';

export type SeriesKind = 'filesystems' | 'networks' | 'diskIo' | 'drives' | 'containers' | 'pools' | 'sensors' | 'gpus';

interface SeriesSpec {
  /** Averaged, with min and max: gauges and rates only (never cumulative counters). */
  stats: readonly string[];
  /** The value of the bucket's newest row (names, states). */
  last: readonly string[];
}

export const SERIES = {
  filesystems: { stats: ['used_percent', 'used_bytes', 'available_bytes', 'size_bytes'], last: ['filesystem', 'fs_type'] },
  networks: {
    stats: ['rx_bytes_per_sec', 'tx_bytes_per_sec', 'rx_packets_per_sec', 'tx_packets_per_sec', 'rx_errors_per_sec', 'tx_errors_per_sec', 'rx_dropped_per_sec', 'tx_dropped_per_sec'],
    last: [],
  },
  diskIo: { stats: ['read_bytes_per_sec', 'write_bytes_per_sec', 'read_iops', 'write_iops', 'util_percent'], last: [] },
  drives: {
    stats: ['temperature_c', 'percent_used', 'reallocated_sectors', 'pending_sectors', 'uncorrectable_errors', 'media_errors', 'power_on_hours'],
    last: ['health', 'model', 'serial'],
  },
  containers: { stats: ['cpu_percent', 'mem_usage_bytes', 'mem_limit_bytes', 'pids', 'restart_count'], last: ['name', 'image', 'state', 'health'] },
  pools: { stats: ['cap_percent', 'alloc_bytes', 'free_bytes', 'frag_percent', 'active_devices', 'read_errors', 'write_errors', 'cksum_errors', 'scan_percent'], last: ['kind', 'state', 'health'] },
  sensors: { stats: ['value'], last: ['chip', 'kind', 'label', 'status'] },
  gpus: { stats: ['temperature_c', 'utilization_percent', 'memory_utilization_percent', 'memory_used_bytes', 'power_draw_watts', 'fan_percent'], last: ['name'] },
} as const satisfies Record<SeriesKind, SeriesSpec>;

type StatColumn<K extends SeriesKind> = (typeof SERIES)[K]['stats'][number];
type LastColumn<K extends SeriesKind> = (typeof SERIES)[K]['last'][number];

export interface SeriesBucket<K extends SeriesKind> {
  time: Date;
  samples: number;
  /** Keyed by column name (snake_case). */
  stats: Record<StatColumn<K>, Stat>;
  last: Record<LastColumn<K>, string | null>;
}

export interface Series<K extends SeriesKind> {
  /** The mount, interface, disk, drive or container id. */
  subject: string;
  buckets: SeriesBucket<K>[];
}

// The table's column list is the source of truth: a typo here fails at module load, not in SQL.
for (const [kind, spec] of Object.entries(SERIES) as [SeriesKind, SeriesSpec][]) {
  const known = new Set(TABLES[kind].columns.map((c) => c.name));
  for (const c of [...spec.stats, ...spec.last]) if (!known.has(c)) throw new Error(`series ${kind}: no column ${c} in ${TABLES[kind].table}`);
}

function seriesSql(kind: SeriesKind): string {
  const table = TABLES[kind];
  const spec: SeriesSpec = SERIES[kind];
  const subject = table.subject!;
  const stats = spec.stats.map((c) => `avg(${c})::float8 AS ${c}_avg, min(${c})::float8 AS ${c}_min, max(${c})::float8 AS ${c}_max`);
  const last = spec.last.map((c) => `(array_agg(${c}::text ORDER BY time DESC))[1] AS ${c}_last`);
  return `SELECT ${subject} AS subject, time_bucket(make_interval(secs => $2), time) AS bucket, count(*)::int AS samples, ${[...stats, ...last].join(', ')}
FROM ${table.table}
WHERE device_id = $1 AND time >= $3::timestamptz AND time < $4::timestamptz AND ($5::text IS NULL OR ${subject} = $5::text)
GROUP BY 1, 2 ORDER BY 1, 2`;
}

const SQL = Object.fromEntries((Object.keys(SERIES) as SeriesKind[]).map((k) => [k, seriesSql(k)])) as Record<SeriesKind, string>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * One query for every subject of one device over [from, to); rows come back grouped by
 * subject, buckets in time order. `subject` narrows it to one mount/interface/disk/drive/container.
 */
export async function subjectHistory<K extends SeriesKind>(
  pool: pg.Pool,
  kind: K,
  args: { deviceId: string; from: Date; to: Date; bucketSeconds: number; subject?: string | null },
): Promise<Series<K>[]> {
  // On the pg pool, as history.ts and latest.ts read: Prisma's raw result mapping was most of the cost.
  const { rows } = await pool.query<Record<string, unknown>>(SQL[kind], [args.deviceId, args.bucketSeconds, args.from.toISOString(), args.to.toISOString(), args.subject ?? null]);
  const spec: SeriesSpec = SERIES[kind];
  const out: Series<K>[] = [];
  let current: Series<K> | undefined;
  for (const r of rows) {
    const subject = String(r.subject);
    if (!current || current.subject !== subject) {
      current = { subject, buckets: [] };
      out.push(current);
    }
    const stats: Record<string, Stat> = {};
    for (const c of spec.stats) stats[c] = { avg: num(r[`${c}_avg`]), min: num(r[`${c}_min`]), max: num(r[`${c}_max`]) };
    const last: Record<string, string | null> = {};
    for (const c of spec.last) last[c] = (r[`${c}_last`] as string | null | undefined) ?? null;
    current.buckets.push({ time: new Date(r.bucket as Date), samples: Number(r.samples), stats, last } as SeriesBucket<K>);
  }
  return out;
}

/** Deletes every time-series row of a device (deleteDevice with purgeHistory); returns rows removed per table. */
export async function purgeDeviceHistory(prisma: PrismaClient, deviceId: string): Promise<Record<string, number>> {
  const tables = Object.values(TABLES).map((t) => t.table);
  const counts = await prisma.$transaction(tables.map((t) => prisma.$executeRawUnsafe(`DELETE FROM ${t} WHERE device_id = $1`, deviceId)));
  return Object.fromEntries(tables.map((t, i) => [t, counts[i] ?? 0]));
}

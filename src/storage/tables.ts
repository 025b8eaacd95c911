/**
 * Column maps of the time-series tables: one place that says how each row field becomes a
 * column, shared by the UNNEST writer and the readers.
 */
import type { ContainerRow, DiskIoRow, DriveHealthRow, FilesystemRow, NetworkRow, SampleBatch, SystemMetricsRow } from './types.ts';

/** How a JS value travels: as an element of a typed array parameter, then cast in SQL. */
type ColumnKind = 'time' | 'text' | 'float8' | 'int4' | 'int8' | 'bool' | 'real[]' | 'jsonb';

export interface Column<Row> {
  name: string;
  kind: ColumnKind;
  get(row: Row): unknown;
}

export interface TableSpec<Row> {
  table: string;
  /** What makes a row unique besides device and time; the unique index's last column. */
  subject: string | null;
  columns: Column<Row>[];
}

const col = <Row>(name: string, kind: ColumnKind, get: (row: Row) => unknown): Column<Row> => ({ name, kind, get });
const time = <Row extends { time: Date }>(): Column<Row> => col('time', 'time', (r) => r.time.getTime());
const device = <Row extends { deviceId: string }>(): Column<Row> => col('device_id', 'text', (r) => r.deviceId);
const optionalTime = (d: Date | null) => (d ? d.getTime() : null);

export const systemMetrics: TableSpec<SystemMetricsRow> = {
  table: 'system_metrics',
  subject: null,
  columns: [
    time(),
    device(),
    col('cpu_count', 'int4', (r) => r.cpuCount),
    col('cpu_percent', 'float8', (r) => r.cpuPercent),
    col('cpu_user_percent', 'float8', (r) => r.cpuUserPercent),
    col('cpu_system_percent', 'float8', (r) => r.cpuSystemPercent),
    col('cpu_iowait_percent', 'float8', (r) => r.cpuIowaitPercent),
    col('cpu_steal_percent', 'float8', (r) => r.cpuStealPercent),
    col('core_percents', 'real[]', (r) => `{${r.corePercents.join(',')}}`),
    col('mem_total_bytes', 'int8', (r) => r.memTotalBytes),
    col('mem_available_bytes', 'int8', (r) => r.memAvailableBytes),
    col('mem_used_percent', 'float8', (r) => r.memUsedPercent),
    col('swap_total_bytes', 'int8', (r) => r.swapTotalBytes),
    col('swap_free_bytes', 'int8', (r) => r.swapFreeBytes),
    col('load1', 'float8', (r) => r.load1),
    col('load5', 'float8', (r) => r.load5),
    col('load15', 'float8', (r) => r.load15),
    col('uptime_seconds', 'float8', (r) => r.uptimeSeconds),
    col('process_count', 'int4', (r) => r.processCount),
    col('net_rx_bytes_per_sec', 'float8', (r) => r.netRxBytesPerSec),
    col('net_tx_bytes_per_sec', 'float8', (r) => r.netTxBytesPerSec),
    col('disk_read_bytes_per_sec', 'float8', (r) => r.diskReadBytesPerSec),
    col('disk_write_bytes_per_sec', 'float8', (r) => r.diskWriteBytesPerSec),
  ],
};

export const filesystemMetrics: TableSpec<FilesystemRow> = {
  table: 'filesystem_metrics',
  subject: 'mount',
  columns: [
    time(),
    device(),
    col('mount', 'text', (r) => r.mount),
    col('filesystem', 'text', (r) => r.filesystem),
    col('fs_type', 'text', (r) => r.fsType),
    col('size_bytes', 'int8', (r) => r.sizeBytes),
    col('used_bytes', 'int8', (r) => r.usedBytes),
    col('available_bytes', 'int8', (r) => r.availableBytes),
    col('used_percent', 'float8', (r) => r.usedPercent),
  ],
};

export const networkMetrics: TableSpec<NetworkRow> = {
  table: 'network_metrics',
  subject: 'interface',
  columns: [
    time(),
    device(),
    col('interface', 'text', (r) => r.interface),
    col('rx_bytes_total', 'int8', (r) => r.rxBytesTotal),
    col('tx_bytes_total', 'int8', (r) => r.txBytesTotal),
    col('rx_bytes_per_sec', 'float8', (r) => r.rxBytesPerSec),
    col('tx_bytes_per_sec', 'float8', (r) => r.txBytesPerSec),
    col('rx_packets_per_sec', 'float8', (r) => r.rxPacketsPerSec),
    col('tx_packets_per_sec', 'float8', (r) => r.txPacketsPerSec),
    col('rx_errors_per_sec', 'float8', (r) => r.rxErrorsPerSec),
    col('tx_errors_per_sec', 'float8', (r) => r.txErrorsPerSec),
    col('rx_dropped_per_sec', 'float8', (r) => r.rxDroppedPerSec),
    col('tx_dropped_per_sec', 'float8', (r) => r.txDroppedPerSec),
  ],
};

export const diskIoMetrics: TableSpec<DiskIoRow> = {
  table: 'disk_io_metrics',
  subject: 'disk',
  columns: [
    time(),
    device(),
    col('disk', 'text', (r) => r.disk),
    col('read_bytes_per_sec', 'float8', (r) => r.readBytesPerSec),
    col('write_bytes_per_sec', 'float8', (r) => r.writeBytesPerSec),
    col('read_iops', 'float8', (r) => r.readIops),
    col('write_iops', 'float8', (r) => r.writeIops),
    col('util_percent', 'float8', (r) => r.utilPercent),
  ],
};

export const driveHealth: TableSpec<DriveHealthRow> = {
  table: 'drive_health',
  subject: 'drive',
  columns: [
    time(),
    device(),
    col('drive', 'text', (r) => r.drive),
    col('protocol', 'text', (r) => r.protocol),
    col('model', 'text', (r) => r.model),
    col('serial', 'text', (r) => r.serial),
    col('firmware', 'text', (r) => r.firmware),
    col('capacity_bytes', 'int8', (r) => r.capacityBytes),
    col('temperature_c', 'float8', (r) => r.temperatureC),
    col('power_on_hours', 'int8', (r) => r.powerOnHours),
    col('reallocated_sectors', 'int8', (r) => r.reallocatedSectors),
    col('pending_sectors', 'int8', (r) => r.pendingSectors),
    col('uncorrectable_errors', 'int8', (r) => r.uncorrectableErrors),
    col('media_errors', 'int8', (r) => r.mediaErrors),
    col('percent_used', 'float8', (r) => r.percentUsed),
    col('smart_passed', 'bool', (r) => r.smartPassed),
    col('health', 'text', (r) => r.health),
    col('exit_status', 'int4', (r) => r.exitStatus),
    col('error', 'text', (r) => r.error),
    col('attributes', 'jsonb', (r) => (r.attributes === undefined ? null : JSON.stringify(r.attributes))),
  ],
};

export const containerSnapshots: TableSpec<ContainerRow> = {
  table: 'container_snapshots',
  subject: 'container_id',
  columns: [
    time(),
    device(),
    col('container_id', 'text', (r) => r.containerId),
    col('name', 'text', (r) => r.name),
    col('image', 'text', (r) => r.image),
    col('state', 'text', (r) => r.state),
    col('health', 'text', (r) => r.health),
    col('restart_count', 'int4', (r) => r.restartCount),
    col('exit_code', 'int4', (r) => r.exitCode),
    col('created_at', 'time', (r) => optionalTime(r.createdAt)),
    col('started_at', 'time', (r) => optionalTime(r.startedAt)),
    col('cpu_percent', 'float8', (r) => r.cpuPercent),
    col('mem_usage_bytes', 'int8', (r) => r.memUsageBytes),
    col('mem_limit_bytes', 'int8', (r) => r.memLimitBytes),
    col('net_rx_bytes', 'int8', (r) => r.netRxBytes),
    col('net_tx_bytes', 'int8', (r) => r.netTxBytes),
    col('block_read_bytes', 'int8', (r) => r.blockReadBytes),
    col('block_write_bytes', 'int8', (r) => r.blockWriteBytes),
    col('pids', 'int4', (r) => r.pids),
  ],
};

/** Every table, keyed by the batch field that feeds it. */
export const TABLES = {
  system: systemMetrics,
  filesystems: filesystemMetrics,
  networks: networkMetrics,
  diskIo: diskIoMetrics,
  drives: driveHealth,
  containers: containerSnapshots,
} satisfies { [K in keyof SampleBatch]: TableSpec<SampleBatch[K][number]> };

const PARAM_TYPE: Record<ColumnKind, string> = {
  time: 'float8[]',
  text: 'text[]',
  float8: 'float8[]',
  int4: 'int4[]',
  int8: 'int8[]',
  bool: 'bool[]',
  'real[]': 'text[]', // arrays of arrays do not UNNEST row by row: each travels as its literal
  jsonb: 'text[]',
};

const select = (c: Column<never>, i: number): string => {
  const v = `c${i}`;
  switch (c.kind) {
    case 'time':
      return `to_timestamp(${v} / 1000.0)`;
    case 'real[]':
      return `${v}::real[]`;
    case 'jsonb':
      return `${v}::jsonb`;
    default:
      return v;
  }
};

/**
 * One INSERT … SELECT FROM UNNEST per table: a parameter per column whatever the row count,
 * so batches never approach PostgreSQL's 32,767 bind values. A row already stored (a replay
 * after an outage) is skipped by the unique index, which makes writes idempotent.
 *
 * It answers one row per (device, time) it inserted: how many rows and the highest ingest
 * sequence number among them (the `seq` column's default), which live events carry as their
 * resume cursor. Skipped rows are not in the answer, so a replayed duplicate is never
 * announced again.
 */
export function insertSql<Row>(spec: TableSpec<Row>): string {
  const cols = spec.columns as Column<never>[];
  const names = cols.map((c) => c.name).join(', ');
  const params = cols.map((c, i) => `$${i + 1}::${PARAM_TYPE[c.kind]}`).join(', ');
  const aliases = cols.map((_, i) => `c${i}`).join(', ');
  return (
    `WITH ins AS (INSERT INTO ${spec.table} (${names}) SELECT ${cols.map(select).join(', ')} FROM UNNEST(${params}) AS u(${aliases}) ON CONFLICT DO NOTHING RETURNING device_id, time, seq) ` +
    'SELECT device_id, round(extract(epoch FROM time) * 1000)::float8 AS ms, max(seq)::float8 AS seq, count(*)::int AS n FROM ins GROUP BY device_id, time'
  );
}

/** What insertSql answers per (device, time). */
export interface InsertedGroup {
  device_id: string;
  ms: number;
  seq: number | null;
  n: number;
}

/**
 * One PostgreSQL array literal per column, sent as a single string parameter. Handing Prisma
 * JS arrays instead costs about 85 µs of client CPU per system_metrics row in its argument
 * mapping (bench/ingest-breakdown.ts: 2.1 s of CPU for 20,000 rows against 0.7 s this way),
 * and pg would then quote and regex-escape every number. The literal is what pg's own
 * serialisation produces, less the quotes around numbers: NULL for null/undefined, numbers
 * and booleans as String(v), anything else double-quoted with \ and " escaped.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) s += ',';
    const v = values[i];
    if (v === null || v === undefined) s += 'NULL';
    else if (typeof v === 'number' || typeof v === 'boolean') s += String(v);
    else s += `"${String(v).replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${s}}`;
}

export function columnLiterals<Row>(spec: TableSpec<Row>, rows: readonly Row[]): string[] {
  return columnArrays(spec, rows).map(arrayLiteral);
}

export function columnArrays<Row>(spec: TableSpec<Row>, rows: readonly Row[]): unknown[][] {
  return spec.columns.map((c) => {
    const values = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = c.get(rows[i] as Row);
    return values;
  });
}

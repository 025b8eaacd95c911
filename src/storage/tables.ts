/**
 * Column maps of the time-series tables: one place that says how each row field becomes a
 * column, shared by the writer (staging.ts derives its COPY and INSERT … SELECT from them)
 * and the readers. A new table is a description here plus its entry in TABLES.
 */
import type { ContainerRow, DiskIoRow, DriveHealthRow, FilesystemRow, GpuSampleRow, JsonText, NetworkRow, SampleBatch, SensorReadingRow, StoragePoolRow, SystemMetricsRow } from './types.ts';

/** The column's SQL type: staging.ts encodes get()'s value in that type's binary COPY format. */
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
const time = <Row extends { time: Date }>(): Column<Row> => col('time', 'time', (r) => r.time);
const device = <Row extends { deviceId: string }>(): Column<Row> => col('device_id', 'text', (r) => r.deviceId);
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
/** JSON text goes into the jsonb column as it is (smartctl's own output inside); an object is serialised. */
const jsonText = (v: JsonText | object | null) => (typeof v === 'string' ? v : json(v));

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
    col('core_percents', 'real[]', (r) => r.corePercents),
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
    col('attributes', 'jsonb', (r) => jsonText(r.attributes)),
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
    col('created_at', 'time', (r) => r.createdAt),
    col('started_at', 'time', (r) => r.startedAt),
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

export const storagePools: TableSpec<StoragePoolRow> = {
  table: 'storage_pools',
  // The unique index is (device_id, time, kind, name); a ZFS pool and an md array never share a name in practice.
  subject: 'name',
  columns: [
    time(),
    device(),
    col('kind', 'text', (r) => r.kind),
    col('name', 'text', (r) => r.name),
    col('state', 'text', (r) => r.state),
    col('health', 'text', (r) => r.health),
    col('level', 'text', (r) => r.level),
    col('size_bytes', 'int8', (r) => r.sizeBytes),
    col('alloc_bytes', 'int8', (r) => r.allocBytes),
    col('free_bytes', 'int8', (r) => r.freeBytes),
    col('frag_percent', 'float8', (r) => r.fragPercent),
    col('cap_percent', 'float8', (r) => r.capPercent),
    col('total_devices', 'int4', (r) => r.totalDevices),
    col('active_devices', 'int4', (r) => r.activeDevices),
    col('read_errors', 'int8', (r) => r.readErrors),
    col('write_errors', 'int8', (r) => r.writeErrors),
    col('cksum_errors', 'int8', (r) => r.cksumErrors),
    col('scan_kind', 'text', (r) => r.scanKind),
    col('scan_in_progress', 'bool', (r) => r.scanInProgress),
    col('scan_percent', 'float8', (r) => r.scanPercent),
    col('errors', 'text', (r) => r.errors),
    col('devices', 'jsonb', (r) => json(r.devices)),
  ],
};

export const sensorReadings: TableSpec<SensorReadingRow> = {
  table: 'sensor_readings',
  subject: 'sensor',
  columns: [
    time(),
    device(),
    col('sensor', 'text', (r) => r.sensor),
    col('chip', 'text', (r) => r.chip),
    col('kind', 'text', (r) => r.kind),
    col('label', 'text', (r) => r.label),
    col('value', 'float8', (r) => r.value),
    col('min', 'float8', (r) => r.min),
    col('max', 'float8', (r) => r.max),
    col('crit', 'float8', (r) => r.crit),
    col('status', 'text', (r) => r.status),
  ],
};

export const gpuSamples: TableSpec<GpuSampleRow> = {
  table: 'gpu_samples',
  subject: 'gpu',
  columns: [
    time(),
    device(),
    col('gpu', 'text', (r) => r.gpu),
    col('gpu_index', 'int4', (r) => r.gpuIndex),
    col('name', 'text', (r) => r.name),
    col('temperature_c', 'float8', (r) => r.temperatureC),
    col('utilization_percent', 'float8', (r) => r.utilizationPercent),
    col('memory_utilization_percent', 'float8', (r) => r.memoryUtilizationPercent),
    col('memory_used_bytes', 'int8', (r) => r.memoryUsedBytes),
    col('memory_total_bytes', 'int8', (r) => r.memoryTotalBytes),
    col('power_draw_watts', 'float8', (r) => r.powerDrawWatts),
    col('power_limit_watts', 'float8', (r) => r.powerLimitWatts),
    col('fan_percent', 'float8', (r) => r.fanPercent),
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
  pools: storagePools,
  sensors: sensorReadings,
  gpus: gpuSamples,
} satisfies { [K in keyof SampleBatch]: TableSpec<SampleBatch[K][number]> };

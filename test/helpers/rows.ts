/**
 * Rows for seeding the time-series tables, shared by the storage, GraphQL, poller and e2e
 * suites: every field set, overridable; a seeded generator for series, so the same rows can be
 * written to plain PostgreSQL and to TimescaleDB and their query results compared.
 *
 * Every default is a quarter step (or a whole power of two): sums of such values are exact in
 * float8 whatever the order, so averages computed by two servers (or over chunks in another
 * order) are bit-identical. Tests that assert a value a row was written with pass it, or
 * assert the default named here (storage.test.ts: memUsedPercent 50, diskWriteBytesPerSec
 * 4096; batching.test.ts: memTotalBytes 16 GiB).
 */
import { driveRow as collectorDriveRow, parseDrivesOutput } from '../../src/collectors/drives.ts';
import { rng as random } from '../../src/random.ts';
import { caseInput } from './fixtures.ts';
import { emptyBatch, type ContainerRow, type DiskIoRow, type DriveHealthRow, type FilesystemRow, type GpuSampleRow, type NetworkRow, type SampleBatch, type SensorReadingRow, type StoragePoolRow, type SystemMetricsRow } from '../../src/storage/types.ts';

export { random };

/** Rounds to a quarter step (see above). */
const quarter = (x: number) => Math.round(x * 4) / 4;

export function systemRow(deviceId: string, time: Date, over: Partial<SystemMetricsRow> = {}): SystemMetricsRow {
  return {
    time, deviceId, cpuCount: 4, cpuPercent: 10, cpuUserPercent: 6, cpuSystemPercent: 3, cpuIowaitPercent: 1, cpuStealPercent: 0,
    corePercents: [10, 20, 5, 5], memTotalBytes: 16 * 2 ** 30, memAvailableBytes: 8 * 2 ** 30, memUsedPercent: 50,
    swapTotalBytes: 2 ** 31, swapFreeBytes: 2 ** 31, load1: 0.5, load5: 0.25, load15: 0.25, uptimeSeconds: 1000, processCount: 120,
    netRxBytesPerSec: 1000, netTxBytesPerSec: 500, diskReadBytesPerSec: 2048, diskWriteBytesPerSec: 4096, ...over,
  };
}

export function filesystemRow(deviceId: string, time: Date, mount: string, over: Partial<FilesystemRow> = {}): FilesystemRow {
  return { time, deviceId, mount, filesystem: `/dev/${mount === '/' ? 'sda1' : 'sdb1'}`, fsType: 'ext4', sizeBytes: 5 * 2 ** 40, usedBytes: 2 ** 40, availableBytes: 4 * 2 ** 40, usedPercent: 20, ...over };
}

export function networkRow(deviceId: string, time: Date, iface: string, over: Partial<NetworkRow> = {}): NetworkRow {
  return {
    time, deviceId, interface: iface, rxBytesTotal: 2 ** 40, txBytesTotal: 2 ** 39, rxBytesPerSec: 100, txBytesPerSec: 50, rxPacketsPerSec: 10,
    txPacketsPerSec: 5, rxErrorsPerSec: 0, txErrorsPerSec: 0, rxDroppedPerSec: 0, txDroppedPerSec: 0, ...over,
  };
}

/**
 * A drive row as the drives collector makes it from smartctl's output `text` (the real parse
 * and driveRow, no poll): what the writer, the spool and live events get.
 */
export function collectedDriveRow(deviceId: string, time: Date, text: string, drive = '/dev/sda'): DriveHealthRow {
  const out = `@@ip:scan 0\n${drive} -d sat # ${drive} [SAT], ATA device\n@@ip:drive ${drive} sat\n${text}\n@@ip:rc 0\n@@ip:end\n`;
  return collectorDriveRow(parseDrivesOutput(out).drives[0]!, deviceId, time);
}

/**
 * smartctl output (the repository's own ATA case) with two numbers a parse and re-serialisation
 * would rewrite: a decimal with a trailing zero and an integer past 2^53 (smartctl prints
 * 64-bit counters as plain JSON integers).
 */
export function craftedSmartctl(): string {
  return caseInput('smartctl', 'ata-pending-sectors-written').trim().replace(/^\{\n/, '{\n  "x_rate": 1.50,\n  "x_lba_written": 18446744073709551615,\n');
}

export function diskIoRow(deviceId: string, time: Date, disk: string, over: Partial<DiskIoRow> = {}): DiskIoRow {
  return { time, deviceId, disk, readBytesPerSec: 1e6, writeBytesPerSec: 2e6, readIops: 10, writeIops: 20, utilPercent: 5, ...over };
}

export function driveRow(deviceId: string, time: Date, drive: string, over: Partial<DriveHealthRow> = {}): DriveHealthRow {
  return {
    time, deviceId, drive, protocol: 'ATA', model: 'WDC WD40EFRX', serial: `SER-${drive}`, firmware: '82.00A82', capacityBytes: 4e12, temperatureC: 35,
    powerOnHours: 20000, reallocatedSectors: 0, pendingSectors: 0, uncorrectableErrors: 0, mediaErrors: null, percentUsed: null, smartPassed: true,
    health: 'HEALTHY', exitStatus: 0, error: null, attributes: { id5: 0 }, ...over,
  };
}

export function containerRow(deviceId: string, time: Date, name: string, over: Partial<ContainerRow> = {}): ContainerRow {
  return {
    time, deviceId, containerId: `id-${name}`, name, image: 'nginx:1.27', state: 'running', health: 'healthy', restartCount: 0, exitCode: null,
    createdAt: new Date('2026-11-01T00:00:00Z'), startedAt: new Date('2026-11-01T00:00:05Z'), cpuPercent: 1.5, memUsageBytes: 2 ** 27,
    memLimitBytes: 2 ** 33, netRxBytes: 2 ** 32, netTxBytes: 2 ** 31, blockReadBytes: 2 ** 30, blockWriteBytes: 2 ** 29, pids: 4, ...over,
  };
}

export interface SeriesOptions {
  devices: readonly string[];
  start: Date;
  end: Date;
  seed?: number;
}

/**
 * Polls every 30–120 s at millisecond-irregular times, with an occasional outage of 1–3 h;
 * the first poll after an outage has no rates (null), as a real first poll does; one device
 * never reports steal time, and iowait is missing now and then.
 */
export function systemSeries({ devices, start, end, seed = 7 }: SeriesOptions): SystemMetricsRow[] {
  const rand = random(seed);
  const rows: SystemMetricsRow[] = [];
  devices.forEach((deviceId, d) => {
    let t = start.getTime() + d * 17_123;
    let firstPoll = true;
    let uptime = 10_000;
    while (t < end.getTime()) {
      const rate = (scale: number) => (firstPoll ? null : quarter(rand() * scale));
      const cpu = rate(100);
      rows.push({
        time: new Date(t),
        deviceId,
        cpuCount: 4 + d,
        cpuPercent: cpu,
        cpuUserPercent: cpu === null ? null : quarter(cpu * 0.5),
        cpuSystemPercent: cpu === null ? null : quarter(cpu * 0.25),
        cpuIowaitPercent: firstPoll || rand() < 0.05 ? null : quarter(rand() * 10),
        cpuStealPercent: d === 1 || firstPoll ? null : quarter(rand() * 2),
        corePercents: firstPoll ? [] : Array.from({ length: 4 + d }, () => quarter(rand() * 100)),
        memTotalBytes: 16 * 2 ** 30,
        memAvailableBytes: Math.floor(rand() * 16 * 2 ** 30),
        memUsedPercent: quarter(rand() * 100),
        swapTotalBytes: 2 ** 32 + 5,
        swapFreeBytes: 2 ** 31 + 7,
        load1: quarter(rand() * 8),
        load5: quarter(rand() * 6),
        load15: quarter(rand() * 4),
        uptimeSeconds: uptime,
        processCount: 100 + Math.floor(rand() * 200),
        netRxBytesPerSec: rate(1e6),
        netTxBytesPerSec: rate(1e5),
        diskReadBytesPerSec: rate(5e7),
        diskWriteBytesPerSec: rate(5e7),
      });
      firstPoll = false;
      let step = 30_000 + Math.floor(rand() * 90_000) + Math.floor(rand() * 1000);
      if (rand() < 0.004) {
        step += 3_600_000 + Math.floor(rand() * 7_200_000);
        firstPoll = true;
      }
      uptime += step / 1000;
      t += step;
    }
  });
  return rows;
}

export const batchOf = (parts: Partial<SampleBatch>): SampleBatch => ({ ...emptyBatch(), ...parts });

/** One poll of one device with a row for every table, values chosen to stress types. */
export function fullPoll(deviceId: string, time: Date): SampleBatch {
  const filesystems: FilesystemRow[] = [
    { time, deviceId, mount: '/', filesystem: '/dev/sda1', fsType: 'ext4', sizeBytes: 2 ** 40 + 3, usedBytes: 2 ** 33 + 1, availableBytes: 2 ** 40 - 2 ** 33 + 2, usedPercent: 0.78125 },
    { time, deviceId, mount: '/data', filesystem: 'tank/data', fsType: null, sizeBytes: 2 ** 52 + 1, usedBytes: 0, availableBytes: 2 ** 52 + 1, usedPercent: 0 },
  ];
  const networks: NetworkRow[] = [
    { time, deviceId, interface: 'eth0', rxBytesTotal: 2 ** 53 - 1, txBytesTotal: 2 ** 32 + 1, rxBytesPerSec: 12_345.5, txBytesPerSec: 0.125, rxPacketsPerSec: 10, txPacketsPerSec: 9, rxErrorsPerSec: 0, txErrorsPerSec: 0, rxDroppedPerSec: 0.5, txDroppedPerSec: 0 },
    { time, deviceId, interface: 'lo', rxBytesTotal: 0, txBytesTotal: 0, rxBytesPerSec: null, txBytesPerSec: null, rxPacketsPerSec: null, txPacketsPerSec: null, rxErrorsPerSec: null, txErrorsPerSec: null, rxDroppedPerSec: null, txDroppedPerSec: null },
  ];
  const diskIo: DiskIoRow[] = [
    { time, deviceId, disk: 'nvme0n1', readBytesPerSec: 1.5e9, writeBytesPerSec: 3e8, readIops: 12_000, writeIops: 800.25, utilPercent: 99.5 },
    { time, deviceId, disk: 'sda', readBytesPerSec: null, writeBytesPerSec: null, readIops: null, writeIops: null, utilPercent: null },
  ];
  const drives: DriveHealthRow[] = [
    {
      time, deviceId, drive: '/dev/sda', protocol: 'ATA', model: 'WDC WD80EFZX', serial: 'ZZ-1', firmware: '83.H0A83', capacityBytes: 8_001_563_222_016,
      temperatureC: 36, powerOnHours: 2 ** 31 + 11, reallocatedSectors: 0, pendingSectors: 2, uncorrectableErrors: 0, mediaErrors: null, percentUsed: null,
      smartPassed: true, health: 'WARNING', exitStatus: 64, error: null,
      attributes: { ata_smart_attributes: { table: [{ id: 5, name: 'Reallocated_Sector_Ct', raw: { value: 0 } }] }, note: 'quote " and \\ backslash, unicode é' },
    },
    {
      time, deviceId, drive: '/dev/bus/0 -d megaraid,3', protocol: null, model: null, serial: null, firmware: null, capacityBytes: null,
      temperatureC: null, powerOnHours: null, reallocatedSectors: null, pendingSectors: null, uncorrectableErrors: null, mediaErrors: null, percentUsed: null,
      smartPassed: null, health: 'UNKNOWN', exitStatus: null, error: 'smartctl: permission denied', attributes: null,
    },
  ];
  const containers: ContainerRow[] = [
    {
      time, deviceId, containerId: 'a1b2c3', name: 'web', image: 'nginx:1.27', state: 'running', health: 'healthy', restartCount: 3, exitCode: null,
      createdAt: new Date('2025-01-02T03:04:05.678Z'), startedAt: new Date('2025-01-02T03:04:06.001Z'), cpuPercent: 2.5,
      memUsageBytes: 2 ** 31 + 1, memLimitBytes: 2 ** 34, netRxBytes: 2 ** 32 + 9, netTxBytes: 12, blockReadBytes: 0, blockWriteBytes: 2 ** 40, pids: 7,
    },
    {
      time, deviceId, containerId: 'd4e5f6', name: 'job', image: 'busybox', state: 'exited', health: null, restartCount: null, exitCode: 137,
      createdAt: null, startedAt: null, cpuPercent: null, memUsageBytes: null, memLimitBytes: null, netRxBytes: null, netTxBytes: null, blockReadBytes: null, blockWriteBytes: null, pids: null,
    },
  ];
  const system = [systemRow(deviceId, time, { cpuPercent: null, corePercents: [0.5, 99.75, 12.25], memTotalBytes: 2 ** 40 + 1, memAvailableBytes: 2 ** 32 + 1, swapTotalBytes: 2 ** 31, swapFreeBytes: 2 ** 31 - 1, processCount: null, netRxBytesPerSec: null })];
  return { system, filesystems, networks, diskIo, drives, containers, pools: [], sensors: [], gpus: [] };
}

/** One poll of the storage, sensors and GPU collectors, values chosen to stress types (bigints, nulls, jsonb). */
export function hardwarePoll(deviceId: string, time: Date): SampleBatch {
  const tree = { devices: [{ name: 'mirror-0', state: 'DEGRADED', read: 0, write: 0, cksum: 0, note: null, devices: [{ name: 'sdd', state: 'UNAVAIL', read: 3, write: 118, cksum: 0, note: 'cannot open "quoted" \\ é', devices: [] }] }], logs: [], cache: [], special: [], dedup: [], spares: [] };
  const pools: StoragePoolRow[] = [
    {
      time, deviceId, kind: 'ZFS', name: 'tank', state: 'DEGRADED', health: 'WARNING', level: null, sizeBytes: 2 ** 53 - 1, allocBytes: 2 ** 40 + 1, freeBytes: 2 ** 32 + 7, fragPercent: 12, capPercent: 30.5,
      totalDevices: 2, activeDevices: 1, readErrors: 3, writeErrors: 2 ** 33, cksumErrors: 0, scanKind: 'resilver', scanInProgress: true, scanPercent: 11.1, errors: 'No known data errors', devices: tree,
    },
    {
      time, deviceId, kind: 'MDRAID', name: 'md0', state: 'ONLINE', health: 'HEALTHY', level: 'raid1', sizeBytes: 1_000_204_886_016, allocBytes: null, freeBytes: null, fragPercent: null, capPercent: null,
      totalDevices: 2, activeDevices: 2, readErrors: null, writeErrors: null, cksumErrors: null, scanKind: null, scanInProgress: false, scanPercent: null, errors: null, devices: null,
    },
  ];
  const sensors: SensorReadingRow[] = [
    { time, deviceId, sensor: 'hwmon0/temp1', chip: 'coretemp', kind: 'TEMPERATURE', label: 'Package id 0', value: 48.5, min: null, max: 80, crit: 100, status: 'OK' },
    { time, deviceId, sensor: 'hwmon1/fan2', chip: null, kind: 'FAN', label: 'fan2', value: 0, min: 200, max: null, crit: null, status: 'STOPPED' },
  ];
  const gpus: GpuSampleRow[] = [
    { time, deviceId, gpu: 'GPU-1f0b7c2e', gpuIndex: 0, name: 'NVIDIA GeForce RTX 3090', temperatureC: 93, utilizationPercent: 100, memoryUtilizationPercent: 78, memoryUsedBytes: 23_900 * 2 ** 20, memoryTotalBytes: 24_576 * 2 ** 20, powerDrawWatts: 348.2, powerLimitWatts: 350, fanPercent: null },
  ];
  return { ...emptyBatch(), pools, sensors, gpus };
}

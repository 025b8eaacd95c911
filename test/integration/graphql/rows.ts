/** Rows for seeding the time-series tables in GraphQL tests; every field set, overridable. */
import type { ContainerRow, DiskIoRow, DriveHealthRow, FilesystemRow, NetworkRow, SystemMetricsRow } from '../../../src/storage/types.ts';

export function systemRow(deviceId: string, time: Date, over: Partial<SystemMetricsRow> = {}): SystemMetricsRow {
  return {
    time, deviceId, cpuCount: 4, cpuPercent: 10, cpuUserPercent: 6, cpuSystemPercent: 3, cpuIowaitPercent: 1, cpuStealPercent: 0,
    corePercents: [10, 20, 5, 5], memTotalBytes: 16 * 2 ** 30, memAvailableBytes: 8 * 2 ** 30, memUsedPercent: 50,
    swapTotalBytes: 2 ** 31, swapFreeBytes: 2 ** 31, load1: 0.5, load5: 0.4, load15: 0.3, uptimeSeconds: 1000, processCount: 150,
    netRxBytesPerSec: 1000, netTxBytesPerSec: 2000, diskReadBytesPerSec: 3000, diskWriteBytesPerSec: 4000, ...over,
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

/**
 * Rows of the time-series tables, as collectors produce them and storage writes them.
 * Byte counts are numbers in JS (exact below 2^53 = 8 PiB) and bigint in SQL.
 * `null` means "not known at this poll" (e.g. rates on the first poll).
 */
export interface SystemMetricsRow {
  time: Date;
  deviceId: string;
  cpuCount: number;
  cpuPercent: number | null;
  cpuUserPercent: number | null;
  cpuSystemPercent: number | null;
  cpuIowaitPercent: number | null;
  cpuStealPercent: number | null;
  /** Busy % per logical CPU, index = cpu number. Empty on the first poll. */
  corePercents: number[];
  memTotalBytes: number;
  memAvailableBytes: number;
  memUsedPercent: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
  load1: number;
  load5: number;
  load15: number;
  uptimeSeconds: number;
  processCount: number | null;
  netRxBytesPerSec: number | null;
  netTxBytesPerSec: number | null;
  diskReadBytesPerSec: number | null;
  diskWriteBytesPerSec: number | null;
}

export interface FilesystemRow {
  time: Date;
  deviceId: string;
  mount: string;
  filesystem: string;
  fsType: string | null;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  usedPercent: number;
}

export interface NetworkRow {
  time: Date;
  deviceId: string;
  interface: string;
  rxBytesTotal: number;
  txBytesTotal: number;
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  rxPacketsPerSec: number | null;
  txPacketsPerSec: number | null;
  rxErrorsPerSec: number | null;
  txErrorsPerSec: number | null;
  rxDroppedPerSec: number | null;
  txDroppedPerSec: number | null;
}

export interface DiskIoRow {
  time: Date;
  deviceId: string;
  disk: string;
  readBytesPerSec: number | null;
  writeBytesPerSec: number | null;
  readIops: number | null;
  writeIops: number | null;
  utilPercent: number | null;
}

export type DriveHealth = 'HEALTHY' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

export interface DriveHealthRow {
  time: Date;
  deviceId: string;
  /** Device path as smartctl names it, e.g. /dev/sda or /dev/bus/0 with -d megaraid,3. */
  drive: string;
  protocol: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  capacityBytes: number | null;
  temperatureC: number | null;
  powerOnHours: number | null;
  reallocatedSectors: number | null;
  pendingSectors: number | null;
  uncorrectableErrors: number | null;
  mediaErrors: number | null;
  percentUsed: number | null;
  smartPassed: boolean | null;
  health: DriveHealth;
  /** smartctl's exit status (bit field), null when smartctl did not run. */
  exitStatus: number | null;
  /** Why the drive could not be read fully, for people. */
  error: string | null;
  /** Everything else smartctl reported (attributes, logs), kept verbatim. */
  attributes: unknown;
}

export interface ContainerRow {
  time: Date;
  deviceId: string;
  containerId: string;
  name: string;
  image: string;
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** healthy | unhealthy | starting | null when no healthcheck */
  health: string | null;
  restartCount: number | null;
  exitCode: number | null;
  createdAt: Date | null;
  startedAt: Date | null;
  cpuPercent: number | null;
  memUsageBytes: number | null;
  memLimitBytes: number | null;
  netRxBytes: number | null;
  netTxBytes: number | null;
  blockReadBytes: number | null;
  blockWriteBytes: number | null;
  pids: number | null;
}

/** Everything one poll of one device produced; any list may be empty. */
export interface SampleBatch {
  system: SystemMetricsRow[];
  filesystems: FilesystemRow[];
  networks: NetworkRow[];
  diskIo: DiskIoRow[];
  drives: DriveHealthRow[];
  containers: ContainerRow[];
}

export const emptyBatch = (): SampleBatch => ({
  system: [],
  filesystems: [],
  networks: [],
  diskIo: [],
  drives: [],
  containers: [],
});

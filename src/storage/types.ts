import type { Gpu } from '../collectors/gpu.ts';

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

/** Text known to be one JSON value: a jsonb column stores it as it is (tables.ts). */
export type JsonText = string & { readonly __json: true };

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
  /**
   * Everything else smartctl reported (attributes, logs), kept verbatim: `{"smartctl": <its
   * output>, "exitBits": …, "healthReasons": …}`. A collected row carries it as JSON text with
   * smartctl's output embedded as smartctl printed it (never parsed and re-serialised: that
   * rewrote numbers, and the parsed tree of every row waiting for a flush kept the young
   * generation busy, issue 16); a row read back from PostgreSQL as the object pg parsed from
   * the jsonb. Read it through driveAttributes (collectors/drives.ts), which takes both.
   */
  attributes: JsonText | Record<string, unknown> | null;
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

/** Where a pool or array comes from. */
export const POOL_KINDS = ['ZFS', 'MDRAID', 'BTRFS'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

/**
 * A pool's or array's state in ZFS's words, which every kind maps to (collectors/pools.ts):
 * an md array missing members is DEGRADED, an inactive one UNAVAIL.
 */
export const POOL_STATES = ['ONLINE', 'DEGRADED', 'FAULTED', 'OFFLINE', 'UNAVAIL', 'REMOVED', 'SUSPENDED', 'UNKNOWN'] as const;
export type PoolState = (typeof POOL_STATES)[number];

/** One ZFS pool, md array or mounted btrfs filesystem at one poll. */
export interface StoragePoolRow {
  time: Date;
  deviceId: string;
  kind: PoolKind;
  /** Pool name, md device (md0) or the btrfs filesystem's mount point. */
  name: string;
  state: PoolState;
  /** The drives' vocabulary: DEGRADED/OFFLINE or error counters → WARNING, FAULTED/UNAVAIL/… → CRITICAL. */
  health: DriveHealth;
  /** md level (raid1, …); null for ZFS and btrfs. */
  level: string | null;
  sizeBytes: number | null;
  allocBytes: number | null;
  freeBytes: number | null;
  fragPercent: number | null;
  capPercent: number | null;
  /** Member devices (leaf vdevs, md slots, btrfs devices) and how many of them are in service. */
  totalDevices: number | null;
  activeDevices: number | null;
  /** Summed over the member devices (ZFS READ/WRITE/CKSUM; btrfs read, write+flush, corruption+generation). */
  readErrors: number | null;
  writeErrors: number | null;
  cksumErrors: number | null;
  /** scrub/resilver (ZFS), resync/recovery/check/repair/reshape (md); null when none. */
  scanKind: string | null;
  scanInProgress: boolean;
  scanPercent: number | null;
  /** ZFS's "errors:" line; null for the other kinds. */
  errors: string | null;
  /** The vdev tree (ZFS), members (md) or devices with their counters (btrfs), as JSON. */
  devices: unknown;
}

export const SENSOR_KINDS = ['TEMPERATURE', 'FAN'] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

/**
 * A reading against its chip's own thresholds: HIGH at or above tempN_max, CRITICAL at or above
 * tempN_crit, LOW below fanN_min, STOPPED for a fan at 0 RPM, UNKNOWN without a reading.
 */
export const SENSOR_STATUSES = ['OK', 'HIGH', 'CRITICAL', 'LOW', 'STOPPED', 'UNKNOWN'] as const;
export type SensorStatus = (typeof SENSOR_STATUSES)[number];

export interface SensorReadingRow {
  time: Date;
  deviceId: string;
  /** hwmonN/tempM: unique on the host until a reboot renumbers the chips. */
  sensor: string;
  /** The driver's chip name (coretemp, nct6779, nvme, …). */
  chip: string | null;
  kind: SensorKind;
  label: string;
  /** °C or RPM. */
  value: number | null;
  /** fanN_min (RPM); null for temperatures. */
  min: number | null;
  /** tempN_max and tempN_crit (°C); null for fans. */
  max: number | null;
  crit: number | null;
  status: SensorStatus;
}

/** A GPU as nvidia-smi reads it (collectors/gpu.ts), keyed by its UUID, else its index as text. */
export type GpuSampleRow = { time: Date; deviceId: string; gpu: string; gpuIndex: number | null } & Omit<Gpu, 'index' | 'uuid'>;

/** Everything one poll of one device produced; any list may be empty. */
export interface SampleBatch {
  system: SystemMetricsRow[];
  filesystems: FilesystemRow[];
  networks: NetworkRow[];
  diskIo: DiskIoRow[];
  drives: DriveHealthRow[];
  containers: ContainerRow[];
  pools: StoragePoolRow[];
  sensors: SensorReadingRow[];
  gpus: GpuSampleRow[];
}

export const emptyBatch = (): SampleBatch => ({
  system: [],
  filesystems: [],
  networks: [],
  diskIo: [],
  drives: [],
  containers: [],
  pools: [],
  sensors: [],
  gpus: [],
});

/**
 * Collectors: what infrapulse reads from a host, one module per family, each with constant
 * command text, a pure parser (no I/O; ParseError on unreadable input) and the mapping to
 * storage rows. Nothing from the database is ever put into a command.
 *
 *   system      system.ts  + proc.ts, df.ts   one exec: /proc/{uptime,stat,meminfo,loadavg,
 *                                             net/dev,diskstats}, a /proc/[0-9]* count, df
 *   drives      drives.ts  + smartctl.ts      one exec: smartctl --scan-open, then smartctl --json=c -x
 *                                             per scanned drive in a shell loop
 *   containers  containers.ts + docker.ts     one exec: docker|podman ps -a, stats --no-stream,
 *                                             inspect of all ids
 *   storage     pools.ts + storage.ts         one exec: /proc/mdstat, zpool list -Hp + status -p
 *                                             (sudo -n only when refused), btrfs device stats
 *   sensors     sensor-collector.ts + sensors.ts   one exec: a grep of every hwmon chip's attributes
 *   gpu         gpu-collector.ts + gpu.ts     one exec: nvidia-smi --query-gpu
 *
 * Counters become rates in rates.ts (resets, reboots, new devices → null, never < 0).
 * parse-command.ts backs `infrapulse parse <kind> <file>`; synthetic.ts builds big polls for
 * the benchmark.
 *
 * Drive health rules (smartctl.ts driveHealth), first match wins:
 *   CRITICAL  SMART overall-health failed (smart_status.passed = false); exit bit 3 (disk
 *             failing) or bit 4 (prefail attribute at/below threshold now); NVMe critical
 *             warning ≠ 0.
 *   WARNING   reallocated (ATA 5 / SCSI grown defects), pending (197) or uncorrectable
 *             (198, else 187, else SCSI total uncorrected) > 0; NVMe media errors > 0;
 *             percent used ≥ 90; exit bit 5 (attribute at threshold in the past), bit 6
 *             (device error log has entries) or bit 7 (self-test log has errors).
 *   HEALTHY   none of the above and the overall-health self-assessment passed.
 *   UNKNOWN   none of the above and no self-assessment (open failed, -A only output, no
 *             smartctl output): we do not call a drive healthy that we could not ask.
 * Temperature comes from temperature.current only, never from attribute 194/190 whose raw
 * values pack min/max into the upper bytes.
 */
import type { Collector, CollectorName, CollectorOptions } from './types.ts';
import { systemCollector, type SystemState } from './system.ts';
import { drivesCollector, type DrivesState } from './drives.ts';
import { containersCollector, type ContainersState } from './containers.ts';
import { storageCollector, type StorageState } from './pools.ts';
import { sensorsCollector, type SensorsState } from './sensor-collector.ts';
import { gpuCollector, type GpuState } from './gpu-collector.ts';

export interface CollectorStates {
  system: SystemState;
  drives: DrivesState;
  containers: ContainersState;
  storage: StorageState;
  sensors: SensorsState;
  gpu: GpuState;
}

export const collectors = {
  system: systemCollector,
  drives: drivesCollector,
  containers: containersCollector,
  storage: storageCollector,
  sensors: sensorsCollector,
  gpu: gpuCollector,
} satisfies { [K in CollectorName]: Collector<CollectorStates[K]> };

/** Every collector's name, in the registry's order: the one list the poller, the API and the dashboard use. */
export const COLLECTOR_NAMES = Object.keys(collectors) as CollectorName[];

export function isCollectorName(value: string): value is CollectorName {
  return Object.hasOwn(collectors, value);
}

/**
 * Pseudo, in-memory and image filesystems: their usage says nothing about disk space, and
 * overlay/squashfs would repeat the root filesystem once per container or snap.
 */
export const DEFAULT_EXCLUDED_FS_TYPES: readonly string[] = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devfs',
  'devpts', 'devtmpfs', 'efivarfs', 'fuse.gvfsd-fuse', 'fuse.lxcfs', 'fuse.portal', 'fusectl',
  'hugetlbfs', 'mqueue', 'none', 'nsfs', 'overlay', 'aufs', 'proc', 'pstore', 'ramfs',
  'rpc_pipefs', 'securityfs', 'selinuxfs', 'shm', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
  'udev', 'nullfs', 'cgmfs',
];

/**
 * Interfaces whose traffic also crosses a physical one (or never leaves the host): counting
 * them in a device's totals would count the same bytes twice. They still get NetworkRows.
 */
export const DEFAULT_VIRTUAL_INTERFACE_PATTERNS: readonly RegExp[] = [
  /^lo$/, /^veth/, /^docker/, /^br-/, /^br\d/, /^bridge/, /^vmbr/, /^virbr/, /^podman/,
  /^cni/, /^flannel/, /^cali/, /^cilium/, /^weave/, /^vxlan/, /^kube-/, /^lxc/, /^lxdbr/,
  /^vnet/, /^tap/, /^tun/, /^wg/, /^tailscale/, /^zt/, /^ifb/, /^dummy/, /^bond/, /^team/,
  /^ip6?tnl/, /^sit\d/, /^gre/, /^erspan/, /^nlmon/, /\.\d+$/,
];

export const defaultCollectorOptions: CollectorOptions = {
  sudoSmartctl: false,
  excludedFsTypes: DEFAULT_EXCLUDED_FS_TYPES,
  virtualInterfacePatterns: DEFAULT_VIRTUAL_INTERFACE_PATTERNS,
};

export { CollectorError, ParseError, UNAVAILABLE_REASONS } from './types.ts';
export type { Collector, CollectorName, CollectorOptions } from './types.ts';

// The storage, sensors and GPU commands' answers on a simulated host: a ZFS mirror and an md
// RAID1, hwmon temperatures and fans, an NVIDIA GPU, each drawn from the host's index (host 1
// has them all; physical hosts most of them; VMs none). Faults come and go on a fixed cycle from
// the simulator's start, at a per-host offset: the GPU runs hot, then the pool and the array
// lose a disk, resilver and recover, then a fan stops. `hardwareFaults` says which is on when.
import type { HostProfile } from './profile.ts';
import { mix32 } from './random.ts';

/** One fault cycle, seconds. */
export const FAULT_CYCLE_S = 1800;
/** [from, to) seconds into the cycle. */
const WINDOWS = { gpuHot: [300, 600], diskLost: [600, 900], resilver: [900, 1080], fanStopped: [1200, 1500] } as const;

export interface HardwareFaults {
  gpuHot: boolean;
  diskLost: boolean;
  /** Resilver/recovery progress 0..100 while it runs, else null. */
  resilverPercent: number | null;
  fanStopped: boolean;
}

export interface HostHardware {
  zfs: boolean;
  md: boolean;
  sensors: boolean;
  gpu: boolean;
  /** Seconds into the cycle at the simulator's start. */
  offsetS: number;
}

export function hardwareOf(h: HostProfile): HostHardware {
  const r = mix32(h.seed, h.index);
  const all = h.index === 1;
  return {
    zfs: all || (!h.virtual && r % 2 === 0),
    md: all || (!h.virtual && r % 3 === 0),
    sensors: all || !h.virtual,
    gpu: all || (!h.virtual && r % 4 === 0),
    offsetS: all ? 0 : r % FAULT_CYCLE_S,
  };
}

/** Seconds into the host's fault cycle at `t` (0 ≤ s < FAULT_CYCLE_S): hardware and check faults share it. */
export function cycleSecond(h: HostProfile, t: { nowMs: number; startMs: number }): number {
  return (((t.nowMs - t.startMs) / 1000 + hardwareOf(h).offsetS) % FAULT_CYCLE_S + FAULT_CYCLE_S) % FAULT_CYCLE_S;
}

export function hardwareFaults(h: HostProfile, t: { nowMs: number; startMs: number }): HardwareFaults {
  const s = cycleSecond(h, t);
  const inside = ([from, to]: readonly [number, number]) => s >= from && s < to;
  const [rFrom, rTo] = WINDOWS.resilver;
  return {
    gpuHot: inside(WINDOWS.gpuHot),
    diskLost: inside(WINDOWS.diskLost),
    resilverPercent: inside(WINDOWS.resilver) ? Math.round(((s - rFrom) / (rTo - rFrom)) * 10000) / 100 : null,
    fanStopped: inside(WINDOWS.fanStopped),
  };
}

const TIB4 = 3_985_729_650_688;

function zpoolList(f: HardwareFaults): string {
  const health = f.diskLost ? 'DEGRADED' : 'ONLINE';
  const alloc = 1_234_567_890_123;
  return `@@ip:zpool-list 0\ntank\t${health}\t${TIB4}\t${alloc}\t${TIB4 - alloc}\t12\t30\t1.00\n`;
}

function zpoolStatus(f: HardwareFaults): string {
  const lost = f.diskLost;
  const scan =
    f.resilverPercent !== null
      ? `resilver in progress since Sun Nov 29 02:24:01 2026\n\t1.10T scanned at 1.20G/s, 920G issued at 1.00G/s, 1.12T total\n\t460G resilvered, ${f.resilverPercent.toFixed(2)}% done, 00:03:00 to go`
      : 'scrub repaired 0B in 02:13:01 with 0 errors on Sun Nov 29 02:37:02 2026';
  const state = lost ? 'DEGRADED' : 'ONLINE';
  const sdd = lost ? 'UNAVAIL      3   118     0  cannot open' : `ONLINE       0     0     0${f.resilverPercent !== null ? '  (resilvering)' : ''}`;
  return [
    '@@ip:zpool-status',
    '  pool: tank',
    ` state: ${state}`,
    ...(lost
      ? [
          'status: One or more devices could not be used because the label is missing or',
          '\tinvalid.  Sufficient replicas exist for the pool to continue',
          '\tfunctioning in a degraded state.',
          'action: Replace the device using \'zpool replace\'.',
          '   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-4J',
        ]
      : []),
    `  scan: ${scan}`,
    'config:',
    '',
    '\tNAME        STATE     READ WRITE CKSUM',
    `\ttank        ${state.padEnd(8)}     0     0     0`,
    `\t  mirror-0  ${state.padEnd(8)}     0     0     0`,
    '\t    sdc     ONLINE       0     0     0',
    `\t    sdd     ${sdd}`,
    '',
    'errors: No known data errors',
    '@@ip:rc 0',
    '',
  ].join('\n');
}

function mdstat(f: HardwareFaults): string {
  const members = f.diskLost ? 'sdb1[1](F) sda1[0]' : 'sdb1[1] sda1[0]';
  const slots = f.diskLost || f.resilverPercent !== null ? '[2/1] [U_]' : '[2/2] [UU]';
  const progress =
    f.resilverPercent !== null
      ? [`      [==>..................]  recovery = ${f.resilverPercent.toFixed(1)}% (246244864/1953382464) finish=15.3min speed=189208K/sec`]
      : [];
  return ['Personalities : [raid1] ', `md0 : active raid1 ${members}`, `      1953382464 blocks super 1.2 ${slots}`, ...progress, '      bitmap: 0/15 pages [0KB], 65536KB chunk', '', 'unused devices: <none>', ''].join('\n');
}

/** The answer to STORAGE_COMMAND. */
export function renderStorage(h: HostProfile, t: { nowMs: number; startMs: number }): string {
  const hw = hardwareOf(h);
  const f = hardwareFaults(h, t);
  const md = hw.md ? mdstat(f) : 'Personalities : \nunused devices: <none>\n';
  const zfs = hw.zfs ? zpoolList(f) + zpoolStatus(f) : '@@ip:no-zpool\n';
  return `@@ip:mdstat\n${md}${zfs}@@ip:btrfs\n@@ip:no-btrfs\n@@ip:end\n`;
}

/** The answer to HWMON_COMMAND: a coretemp package and cores, an nct6779 with two fans. */
export function renderHwmon(h: HostProfile, t: { nowMs: number; startMs: number }): string {
  if (!hardwareOf(h).sensors) return '@@ip:no-hwmon\n';
  const f = hardwareFaults(h, t);
  const wobble = Math.round(Math.sin(t.nowMs / 60_000 + h.index) * 2000);
  const lines = ['hwmon0/name:coretemp', `hwmon0/temp1_input:${48000 + wobble}`, 'hwmon0/temp1_label:Package id 0', 'hwmon0/temp1_max:80000', 'hwmon0/temp1_crit:100000'];
  for (let c = 0; c < Math.min(4, h.cores); c++) {
    lines.push(`hwmon0/temp${c + 2}_input:${45000 + wobble + c * 1000}`, `hwmon0/temp${c + 2}_label:Core ${c}`, `hwmon0/temp${c + 2}_max:80000`, `hwmon0/temp${c + 2}_crit:100000`);
  }
  lines.push('hwmon1/name:nct6779', `hwmon1/fan1_input:${1150 + Math.round(wobble / 20)}`, 'hwmon1/fan1_min:300', `hwmon1/fan2_input:${f.fanStopped ? 0 : 820}`, 'hwmon1/fan2_min:200');
  return `${lines.join('\n')}\n`;
}

/** The answer to GPU_COMMAND: one RTX 3090 that runs hot now and then. */
export function renderGpu(h: HostProfile, t: { nowMs: number; startMs: number }): string {
  if (!hardwareOf(h).gpu) return '@@ip:no-nvidia-smi\n';
  const hot = hardwareFaults(h, t).gpuHot;
  const uuid = `GPU-${(mix32(h.seed, h.index) >>> 0).toString(16).padStart(8, '0')}-5e2c-4f0a-9b1d-3c2e1f0a9b8c`;
  const row = hot ? [0, uuid, 'NVIDIA GeForce RTX 3090', 93, 100, 78, 23900, 24576, '348.20', '350.00', 100] : [0, uuid, 'NVIDIA GeForce RTX 3090', 46, 7, 3, 1024, 24576, '31.40', '350.00', 30];
  return `${row.join(', ')}\n@@ip:rc 0\n`;
}

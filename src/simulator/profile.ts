// What each simulated host is: its hardware, disks, interfaces and containers, drawn once from
// (fleet seed, host index). Everything that changes over time is a Wave or a rate here and is
// evaluated only when a command asks (render-*.ts), so a host is a few hundred bytes to a few KB.
import type { DriveHealth } from '../storage/types.ts';
import { mix32, Rng, Wave } from './random.ts';

export type DriveKind = 'hdd' | 'ssd' | 'nvme';
/** healthy → HEALTHY; degrading → WARNING with reallocated/pending sectors (media errors on NVMe) growing; failing → CRITICAL. */
export type DriveFate = 'healthy' | 'degrading' | 'failing';

export interface DriveProfile {
  kind: DriveKind;
  /** What smartctl is pointed at: /dev/sda, /dev/nvme0. */
  device: string;
  /** smartctl -d type as --scan-open prints it. */
  deviceType: 'sat' | 'nvme';
  /** The kernel block device: sda, nvme0n1. */
  blockName: string;
  partitions: PartitionProfile[];
  model: string;
  family: string | null;
  serial: string;
  firmware: string;
  wwn: string;
  capacityBytes: number;
  rotationRate: number;
  fate: DriveFate;
  powerOnHours0: number;
  powerCycles: number;
  temperatureC: number;
  /** Reallocated (ATA) / media errors (NVMe) at simulator start, and growth per √minute after it. */
  defects0: number;
  defectsPerSqrtMinute: number;
  percentUsed: number;
  readBytes: Wave;
  writeBytes: Wave;
  readSize: number;
  writeSize: number;
  /** Share of wall time the drive is busy (iostat %util / 100). */
  util: number;
}

export interface PartitionProfile {
  /** sda1, nvme0n1p2 */
  name: string;
  /** Share of the whole drive's I/O. */
  ioShare: number;
  sizeBytes: number;
}

export interface FilesystemProfile {
  source: string;
  fsType: string;
  mount: string;
  sizeBytes: number;
  /** Used share, wandering slowly around its mean. */
  used: Wave;
  /** ext4 keeps 5 % for root: df's Available excludes it. */
  reservedShare: number;
}

export interface NicProfile {
  name: string;
  rx: Wave;
  tx: Wave;
  rxPacket: number;
  txPacket: number;
  errorsPerDay: number;
  dropsPerDay: number;
}

export type ContainerState = 'running' | 'exited' | 'restarting' | 'paused' | 'created';
export type ContainerHealth = 'healthy' | 'unhealthy' | null;

export interface ContainerProfile {
  id: string;
  name: string;
  image: string;
  command: string;
  state: ContainerState;
  /** Designed health of a running container with a healthcheck; "starting" shows only in its first 30 s. */
  health: ContainerHealth;
  exitCode: number;
  /** Seconds before the host's boot the container was created. */
  createdBeforeBootS: number;
  /** Seconds after boot it was (last) started. */
  startDelayS: number;
  /** Exited containers: how long they ran. */
  ranForS: number;
  restartEveryS: number;
  restarts0: number;
  cpuPercent: Wave;
  memBytes: number;
  pids: number;
  netBytesPerS: number;
  blockBytesPerS: number;
  ports: string;
  project: string | null;
}

export interface HostProfile {
  index: number;
  username: string;
  seed: number;
  kernel: string;
  virtual: boolean;
  cores: number;
  /** Per-core busy share (0..1) over seconds since boot. */
  coreBusy: Wave[];
  iowaitShare: number;
  stealShare: number;
  memTotalKb: number;
  memUsed: Wave;
  swapTotalKb: number;
  swapUsedShare: number;
  /** The host reboots every rebootEveryS seconds of wall time, at rebootPhaseS past each multiple. */
  rebootEveryS: number;
  rebootPhaseS: number;
  nics: NicProfile[];
  drives: DriveProfile[];
  /** dm-N / mdN devices stacked on partitions: [name, major, minor, partitions it sits on]. */
  stacked: { name: string; major: number; minor: number; on: string[] }[];
  filesystems: FilesystemProfile[];
  containers: ContainerProfile[];
  baseProcesses: number;
}

export interface FleetOptions {
  devices: number;
  seed: number;
}

const HDD_MODELS: readonly (readonly [string, string | null, number, number])[] = [
  ['WDC WD40EFRX-68N32N0', 'Western Digital Red', 4_000_787_030_016, 5400],
  ['ST4000VN008-2DR166', 'Seagate IronWolf', 4_000_787_030_016, 5980],
  ['TOSHIBA MG08ACA16TE', 'Toshiba MG08ACA Enterprise Capacity HDD', 16_000_900_661_248, 7200],
  ['WDC WD140EDFZ-11A0VA0', 'Western Digital Ultrastar (He10/12)', 14_000_519_643_136, 5400],
  ['ST8000DM004-2CX188', 'Seagate BarraCuda 3.5 (SMR)', 8_001_563_222_016, 5425],
];
const SSD_MODELS: readonly (readonly [string, string | null, number])[] = [
  ['Samsung SSD 860 EVO 500GB', 'Samsung based SSDs', 500_107_862_016],
  ['CT1000MX500SSD1', 'Crucial/Micron Client SSDs', 1_000_204_886_016],
  ['KINGSTON SA400S37240G', 'Phison Driven SSDs', 240_057_409_536],
  ['INTEL SSDSC2KB960G8', 'Intel S4510/S4610/S4500/S4600 Series SSDs', 960_197_124_096],
];
const NVME_MODELS: readonly (readonly [string, number])[] = [
  ['Samsung SSD 970 EVO Plus 1TB', 1_000_204_886_016],
  ['Sabrent Rocket 4.0 1TB', 1_000_204_886_016],
  ['WD_BLACK SN850X 2000GB', 2_000_398_934_016],
  ['KINGSTON SNV2S1000G', 1_000_204_886_016],
  ['INTEL SSDPE2KX040T8', 4_000_787_030_016],
];
const KERNELS = ['6.1.0-18-amd64', '6.8.0-45-generic', '5.15.0-119-generic', '6.6.44-1-lts', '5.14.0-427.el9.x86_64'];
const SERVICES: readonly (readonly [string, string, string, string])[] = [
  // name, image, command (whole, as `docker ps --no-trunc` prints it), ports
  ['nginx', 'nginx:1.27', `"/docker-entrypoint.sh nginx -g 'daemon off;'"`, '0.0.0.0:80->80/tcp, [::]:80->80/tcp'],
  ['postgres', 'postgres:16', '"docker-entrypoint.sh postgres"', '5432/tcp'],
  ['redis', 'redis:7-alpine', '"docker-entrypoint.sh redis-server"', '6379/tcp'],
  ['grafana', 'grafana/grafana:11.2.0', '"/run.sh"', '0.0.0.0:3000->3000/tcp'],
  ['prometheus', 'prom/prometheus:v2.54.1', '"/bin/prometheus --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus"', '9090/tcp'],
  ['node-exporter', 'prom/node-exporter:v1.8.2', '"/bin/node_exporter"', ''],
  ['traefik', 'traefik:v3.1', '"/entrypoint.sh traefik"', '0.0.0.0:443->443/tcp'],
  ['app', 'ghcr.io/example/app:2.3.1', '"node server.js"', '8080/tcp'],
  ['worker', 'ghcr.io/example/worker:2.3.1', '"/app/worker"', ''],
  ['mariadb', 'mariadb:11', '"docker-entrypoint.sh mariadbd"', '3306/tcp'],
  ['minio', 'minio/minio:latest', '"/usr/bin/docker-entrypoint.sh server /data --console-address :9001"', '9000-9001/tcp'],
  ['home-assistant', 'ghcr.io/home-assistant/home-assistant:stable', '"/init"', ''],
  ['jellyfin', 'jellyfin/jellyfin:10.9', '"/jellyfin/jellyfin"', '8096/tcp'],
  ['watchtower', 'containrrr/watchtower', '"/watchtower"', '8080/tcp'],
  ['loki', 'grafana/loki:3.1.1', '"/usr/bin/loki -config.file=/etc/loki/local-config.yaml"', '3100/tcp'],
  ['rabbitmq', 'rabbitmq:3-management', '"docker-entrypoint.sh rabbitmq-server"', '5672/tcp, 15672/tcp'],
];

export function usernameFor(index: number, devices: number): string {
  return `host-${String(index).padStart(Math.max(4, String(devices).length), '0')}`;
}

const letters = (n: number): string =>
  n < 26 ? String.fromCharCode(97 + n) : String.fromCharCode(96 + Math.floor(n / 26)) + String.fromCharCode(97 + (n % 26));

function drive(rng: Rng, kind: DriveKind, ordinal: number, fate: DriveFate): DriveProfile {
  let model: string;
  let family: string | null;
  let capacityBytes: number;
  let rotationRate = 0;
  if (kind === 'hdd') {
    const m = rng.pick(HDD_MODELS);
    [model, family, capacityBytes, rotationRate] = [m[0], m[1], m[2], m[3]];
  } else if (kind === 'ssd') {
    const m = rng.pick(SSD_MODELS);
    [model, family, capacityBytes] = [m[0], m[1], m[2]];
  } else {
    const m = rng.pick(NVME_MODELS);
    [model, family, capacityBytes] = [m[0], null, m[1]];
  }
  const nvme = kind === 'nvme';
  const blockName = nvme ? `nvme${ordinal}n1` : `sd${letters(ordinal)}`;
  const fast = kind === 'hdd' ? 1 : kind === 'ssd' ? 4 : 12;
  const readMean = rng.logRange(2e3, 4e6) * fast;
  const writeMean = rng.logRange(2e3, 3e6) * fast;
  return {
    kind,
    device: nvme ? `/dev/nvme${ordinal}` : `/dev/${blockName}`,
    deviceType: nvme ? 'nvme' : 'sat',
    blockName,
    partitions: [],
    model,
    family,
    serial: nvme ? `S${rng.hex(4).toUpperCase()}NX${rng.int(100000, 999999)}` : `${kind === 'hdd' ? 'ZA' : 'S3'}${rng.hex(6).toUpperCase()}`,
    firmware: nvme ? rng.pick(['2B2QEXM7', 'RKT401.3', '620361WD', 'SBM02103']) : rng.pick(['SC60', 'RVT04B6Q', 'M3CR046', '83.00A83']),
    wwn: `5 000c50 0${rng.hex(8)}`,
    capacityBytes,
    rotationRate,
    fate,
    powerOnHours0: rng.int(300, 60_000),
    powerCycles: rng.int(5, 400),
    temperatureC: rng.int(kind === 'hdd' ? 28 : 32, kind === 'nvme' ? 52 : 42),
    defects0: fate === 'degrading' ? rng.int(1, 40) : fate === 'failing' ? rng.int(800, 3000) : 0,
    defectsPerSqrtMinute: fate === 'healthy' ? 0 : rng.range(0.5, 4),
    percentUsed: nvme || kind === 'ssd' ? rng.int(0, 60) : 0,
    readBytes: Wave.random(rng, readMean, 0.8, 3600, 17),
    writeBytes: Wave.random(rng, writeMean, 0.8, 2400, 23),
    readSize: rng.pick([4096, 16384, 65536, 131072]),
    writeSize: rng.pick([4096, 8192, 32768, 131072]),
    util: Math.min(0.9, (readMean + writeMean) / (fast * 150e6) + rng.range(0.001, 0.05)),
  };
}

const fs = (source: string, fsType: string, mount: string, sizeBytes: number, used: Wave, reserved = 0): FilesystemProfile => ({
  source,
  fsType,
  mount,
  sizeBytes: Math.floor(sizeBytes / 4096) * 4096,
  used,
  reservedShare: reserved,
});

/**
 * Draws host `index` (1-based) of the fleet. `fleet` decides the few things that must hold
 * across the fleet: which host carries the failing drive, and host 1 as a showcase (several
 * containers with one restarting and one unhealthy, a degrading drive).
 */
export function buildHostProfile(index: number, fleet: FleetOptions): HostProfile {
  const seed = mix32(fleet.seed >>> 0, index);
  const rng = new Rng(seed);
  const showcase = index === 1;
  const failingHost = 1 + (mix32(fleet.seed >>> 0, 0xfa11) % fleet.devices);

  const cores = rng.weighted<number>([[1, 3], [2, 10], [4, 20], [8, 20], [12, 6], [16, 12], [24, 4], [32, 6], [48, 2], [64, 3]]);
  const virtual = rng.chance(0.4);
  const hostBusy = rng.logRange(0.02, 0.6);
  const coreBusy: Wave[] = [];
  for (let c = 0; c < cores; c++) {
    const mean = Math.min(0.9, hostBusy * rng.range(0.5, 1.5));
    const headroom = Math.min(mean, 0.95 - mean) / mean;
    coreBusy.push(Wave.random(rng, mean, Math.min(0.9, headroom * 0.95), rng.range(600, 7200), rng.range(7, 40)));
  }
  const memGiB = Math.max(1, Math.round(cores * rng.pick([1, 2, 4, 4, 8])));
  const memTotalKb = memGiB * 1024 * 1024 - rng.int(120_000, 400_000);
  const memMean = rng.range(0.15, 0.85);

  // Most hosts reboot every few weeks to months (patching); a few every couple of hours, so
  // reboots show up in a demo. Phase is absolute: restarting the simulator is not a reboot.
  const rebootEveryS = rng.chance(0.02) ? rng.int(2, 6) * 3600 : rng.int(7, 180) * 86400;
  const rebootPhaseS = rng.int(0, rebootEveryS - 1);

  const nicNames = virtual ? ['ens18', 'ens19', 'ens20', 'ens21'] : rng.pick([['eno1', 'eno2', 'enp4s0f0', 'enp4s0f1'], ['enp3s0', 'enp4s0', 'enp5s0', 'enp6s0'], ['eth0', 'eth1', 'eth2', 'eth3']]);
  const nicCount = rng.weighted<number>([[1, 55], [2, 30], [3, 5], [4, 10]]);
  const nics: NicProfile[] = [];
  const loRate = rng.logRange(200, 2e5);
  const lo = Wave.random(rng, loRate, 0.6, 1800, 13);
  nics.push({ name: 'lo', rx: lo, tx: lo, rxPacket: 600, txPacket: 600, errorsPerDay: 0, dropsPerDay: 0 });
  for (let i = 0; i < nicCount; i++) {
    const scale = i === 0 ? 1 : 0.2;
    nics.push({
      name: nicNames[i] ?? `eth${i}`,
      rx: Wave.random(rng, rng.logRange(2e3, 6e7) * scale, 0.85, rng.range(900, 5400), rng.range(5, 30)),
      tx: Wave.random(rng, rng.logRange(1e3, 3e7) * scale, 0.85, rng.range(900, 5400), rng.range(5, 30)),
      rxPacket: rng.int(400, 1400),
      txPacket: rng.int(200, 1200),
      errorsPerDay: rng.chance(0.1) ? rng.range(1, 50) : 0,
      dropsPerDay: rng.chance(0.5) ? rng.range(1, 500) : 0,
    });
  }
  if (!virtual && rng.chance(0.15)) {
    const w = Wave.random(rng, rng.logRange(1e3, 1e6), 0.8, 3600, 20);
    nics.push({ name: 'wg0', rx: w, tx: Wave.random(rng, w.mean * 0.7, 0.8, 3600, 20), rxPacket: 900, txPacket: 700, errorsPerDay: 0, dropsPerDay: 0 });
  }

  // Drives: the boot drive first, then data drives.
  const driveCount = showcase ? Math.max(2, rng.weighted<number>([[1, 30], [2, 30], [3, 12], [4, 14], [6, 8], [8, 6]])) : rng.weighted<number>([[1, 30], [2, 30], [3, 12], [4, 14], [6, 8], [8, 6]]);
  const drives: DriveProfile[] = [];
  let sata = 0;
  let nvme = 0;
  const bootKind: DriveKind = rng.weighted<DriveKind>([['nvme', 45], ['ssd', 45], ['hdd', 10]]);
  for (let d = 0; d < driveCount; d++) {
    const kind: DriveKind = d === 0 ? bootKind : rng.weighted<DriveKind>([['hdd', 60], ['ssd', 20], ['nvme', 20]]);
    let fate: DriveFate = rng.chance(0.04) ? 'degrading' : 'healthy';
    if (showcase && d === driveCount - 1) fate = 'degrading';
    if (index === failingHost && d === driveCount - 1 - (showcase ? 1 : 0)) fate = 'failing';
    drives.push(drive(rng, kind, kind === 'nvme' ? nvme++ : sata++, fate));
  }

  const stacked: HostProfile['stacked'] = [];
  const filesystems: FilesystemProfile[] = [];
  const usedWave = (mean: number) => Wave.random(rng, mean, Math.min(0.3, (1 - mean) / mean) * 0.5, rng.range(3600, 86400), rng.range(120, 900));
  const boot = drives[0]!;
  const p = (d: DriveProfile, n: number) => (d.kind === 'nvme' ? `${d.blockName}p${n}` : `${d.blockName}${n}`);
  const efi = 536_870_912;
  boot.partitions.push({ name: p(boot, 1), ioShare: 0.001, sizeBytes: efi }, { name: p(boot, 2), ioShare: 0.999, sizeBytes: boot.capacityBytes - efi - 1_048_576 });
  filesystems.push(fs(`/dev/${p(boot, 1)}`, 'vfat', '/boot/efi', efi - 1_048_576, usedWave(0.012)));
  const rootFsType = rng.pick(['ext4', 'ext4', 'xfs', 'btrfs']);
  const rootSize = Math.min(boot.capacityBytes - efi, rng.pick([32, 64, 100, 250, 500]) * 1e9);
  if (rng.chance(0.3)) {
    stacked.push({ name: 'dm-0', major: 253, minor: 0, on: [p(boot, 2)] });
    filesystems.push(fs('/dev/mapper/vg0-root', rootFsType, '/', rootSize, usedWave(rng.range(0.15, 0.8)), rootFsType === 'ext4' ? 0.05 : 0));
  } else {
    filesystems.push(fs(`/dev/${p(boot, 2)}`, rootFsType, '/', rootSize, usedWave(rng.range(0.15, 0.8)), rootFsType === 'ext4' ? 0.05 : 0));
  }
  const data = drives.slice(1);
  const hdds = data.filter((d) => d.kind === 'hdd');
  const raid = hdds.length >= 2 && rng.chance(0.4);
  for (const d of data) d.partitions.push({ name: p(d, 1), ioShare: 1, sizeBytes: d.capacityBytes - 2_097_152 });
  if (raid) {
    const members = hdds.map((d) => p(d, 1));
    stacked.push({ name: 'md0', major: 9, minor: 0, on: members });
    const size = Math.min(...hdds.map((d) => d.capacityBytes)) * (hdds.length - 1);
    filesystems.push(fs('/dev/md0', 'ext4', '/srv/storage', size * 0.998, usedWave(rng.range(0.3, 0.85)), 0.05));
  }
  let n = 0;
  for (const d of data) {
    if (raid && d.kind === 'hdd') continue;
    // A few volumes run nearly full, so filesystem alerts have something to fire on.
    const mean = rng.chance(0.08) ? rng.range(0.91, 0.96) : rng.range(0.05, 0.8);
    const mount = n === 0 && d.kind !== 'hdd' ? '/var/lib/docker' : `/srv/disk${n}`;
    filesystems.push(fs(`/dev/${p(d, 1)}`, rng.pick(['ext4', 'xfs']), mount, d.capacityBytes * 0.995, usedWave(mean), 0));
    n++;
  }
  if (rng.chance(0.1)) filesystems.push(fs('nas:/export/backup', 'nfs4', '/mnt/backup', 8e12, usedWave(rng.range(0.4, 0.8))));

  // Containers.
  let containerCount = rng.weighted<number>([[0, 20], [1, 8], [3, 14], [6, 18], [10, 16], [16, 12], [24, 7], [30, 5]]);
  if (showcase) containerCount = Math.max(containerCount, 6);
  const containers: ContainerProfile[] = [];
  const project = rng.chance(0.6) ? rng.pick(['web', 'monitoring', 'media', 'home', 'stack']) : null;
  const used = new Map<string, number>();
  for (let c = 0; c < containerCount; c++) {
    const [base, image, command, ports] = rng.pick(SERVICES);
    const k = (used.get(base) ?? 0) + 1;
    used.set(base, k);
    const name = project === null ? (k === 1 ? base : `${base}-${k}`) : `${project}-${base}-${k}`;
    let state: ContainerState = rng.weighted<ContainerState>([['running', 80], ['exited', 11], ['restarting', 4], ['paused', 2], ['created', 3]]);
    const hasHealthcheck = rng.chance(0.45);
    let health: ContainerHealth = hasHealthcheck && state === 'running' ? (rng.chance(0.08) ? 'unhealthy' : 'healthy') : null;
    if (showcase && c === 0) [state, health] = ['running', 'healthy'];
    if (showcase && c === 1) [state, health] = ['restarting', null];
    if (showcase && c === 2) [state, health] = ['running', 'unhealthy'];
    if (showcase && c === 3) [state, health] = ['exited', null];
    const memBytes = Math.round(rng.logRange(4e6, Math.min(4e9, memTotalKb * 1024 * 0.2)));
    containers.push({
      id: rng.hex(64),
      name,
      image,
      command,
      state,
      health,
      exitCode: state === 'exited' ? rng.pick([0, 0, 1, 137, 143]) : state === 'restarting' ? rng.pick([1, 2, 127]) : 0,
      createdBeforeBootS: rng.int(3600, 120 * 86400),
      startDelayS: rng.int(5, 40),
      ranForS: rng.int(30, 5 * 86400),
      restartEveryS: rng.int(20, 120),
      restarts0: state === 'restarting' ? rng.int(1, 40) : rng.chance(0.1) ? rng.int(1, 5) : 0,
      cpuPercent: Wave.random(rng, rng.logRange(0.05, 60), 0.8, rng.range(300, 3600), rng.range(5, 30)),
      memBytes,
      pids: rng.int(1, 80),
      netBytesPerS: rng.logRange(1, 2e5),
      blockBytesPerS: rng.logRange(1, 5e4),
      ports: state === 'running' || state === 'paused' ? ports : '',
      project,
    });
  }
  if (containers.length > 0) {
    const veth = containers.filter((c) => c.state === 'running' || c.state === 'paused').length;
    const bridge = Wave.random(rng, rng.logRange(1e3, 1e6), 0.8, 1800, 11);
    nics.push({ name: 'docker0', rx: bridge, tx: Wave.random(rng, bridge.mean * 1.3, 0.8, 1800, 11), rxPacket: 500, txPacket: 800, errorsPerDay: 0, dropsPerDay: 0 });
    if (project !== null) {
      nics.push({ name: `br-${rng.hex(12)}`, rx: bridge, tx: bridge, rxPacket: 500, txPacket: 500, errorsPerDay: 0, dropsPerDay: 0 });
    }
    for (let v = 0; v < veth; v++) {
      const w = Wave.random(rng, rng.logRange(100, 5e5), 0.8, 1200, 9);
      nics.push({ name: `veth${rng.hex(7)}`, rx: w, tx: Wave.random(rng, w.mean * 0.8, 0.8, 1200, 9), rxPacket: 700, txPacket: 700, errorsPerDay: 0, dropsPerDay: 0 });
    }
  }

  return {
    index,
    username: usernameFor(index, fleet.devices),
    seed,
    kernel: rng.pick(KERNELS),
    virtual,
    cores,
    coreBusy,
    iowaitShare: rng.chance(0.1) ? rng.range(0.03, 0.15) : rng.range(0.001, 0.02),
    stealShare: virtual ? rng.range(0.005, 0.06) : 0,
    memTotalKb,
    memUsed: Wave.random(rng, memMean, Math.min(0.25, (0.97 - memMean) / memMean, 0.9), rng.range(1800, 14400), rng.range(20, 120)),
    swapTotalKb: rng.chance(0.6) ? rng.pick([2, 4, 8]) * 1024 * 1024 - 4 : 0,
    swapUsedShare: rng.chance(0.3) ? rng.range(0.01, 0.4) : 0,
    rebootEveryS,
    rebootPhaseS,
    nics,
    drives,
    stacked,
    filesystems,
    containers,
    baseProcesses: 90 + cores * 3 + rng.int(0, 120),
  };
}

/** What the designed fate of a drive makes the drives collector report. */
export function expectedDriveHealth(fate: DriveFate): DriveHealth {
  return fate === 'failing' ? 'CRITICAL' : fate === 'degrading' ? 'WARNING' : 'HEALTHY';
}

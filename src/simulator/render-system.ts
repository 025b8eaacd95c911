// A simulated host's /proc files and df output at a given wall-clock time, formatted the way
// the kernel and GNU coreutils print them. Counters are integrals of positive rates since the
// host's last (simulated) boot, so they only grow between two polls unless a reboot happened.
import type { DriveProfile, HostProfile } from './profile.ts';

const USER_HZ = 100;

export interface HostClock {
  /** Wall-clock seconds (fractional). */
  nowS: number;
  /** Seconds since the host's last boot. */
  uptimeS: number;
  /** Wall-clock second the host booted (an integer). */
  bootS: number;
}

export function hostClock(h: HostProfile, nowMs: number): HostClock {
  const nowS = nowMs / 1000;
  const k = Math.floor((nowS - h.rebootPhaseS) / h.rebootEveryS);
  const bootS = h.rebootPhaseS + k * h.rebootEveryS;
  return { nowS, uptimeS: nowS - bootS, bootS };
}

const floor = Math.floor;

/** Per-core CPU times in jiffies: user nice system idle iowait irq softirq steal guest guest_nice. */
function coreTimes(h: HostProfile, core: number, u: number, out: number[]): void {
  const wave = h.coreBusy[core]!;
  const total = USER_HZ * u;
  const busy = USER_HZ * wave.integral(u);
  const rest = total - busy;
  const steal = h.stealShare * rest;
  const iowait = h.iowaitShare * (rest - steal);
  out[0] = floor(busy * 0.69);
  out[1] = floor(busy * 0.01);
  out[2] = floor(busy * 0.22);
  out[3] = floor(rest - steal - iowait);
  out[4] = floor(iowait);
  out[5] = floor(busy * 0.02);
  out[6] = floor(busy * 0.06);
  out[7] = floor(steal);
  out[8] = 0;
  out[9] = 0;
}

/** Sum of the cores' busy shares at seconds-since-boot `u` (what the load average follows). */
function runQueue(h: HostProfile, u: number): number {
  let s = 0;
  for (const w of h.coreBusy) s += w.at(u);
  return s * (1 + h.iowaitShare * 3);
}

/** Every core's times at one instant; /proc/uptime and /proc/stat of one poll share it. */
export interface CpuSnapshot {
  cores: number[][];
  sum: number[];
}

export function cpuSnapshot(h: HostProfile, c: HostClock): CpuSnapshot {
  const sum = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const cores: number[][] = [];
  for (let i = 0; i < h.cores; i++) {
    const t = new Array<number>(10);
    coreTimes(h, i, c.uptimeS, t);
    for (let k = 0; k < 10; k++) sum[k]! += t[k]!;
    cores.push(t);
  }
  return { cores, sum };
}

export function renderUptime(h: HostProfile, c: HostClock, cpu = cpuSnapshot(h, c)): string {
  return `${c.uptimeS.toFixed(2)} ${(cpu.sum[3]! / USER_HZ).toFixed(2)}\n`;
}

export function renderStat(h: HostProfile, c: HostClock, cpu = cpuSnapshot(h, c)): string {
  const u = c.uptimeS;
  const sum = cpu.sum;
  let out = `cpu  ${sum.join(' ')}\n`;
  for (let i = 0; i < cpu.cores.length; i++) out += `cpu${i} ${cpu.cores[i]!.join(' ')}\n`;
  const busy = sum[0]! + sum[2]!;
  const intr = floor(u * h.cores * 180 + busy * 9);
  const running = 1 + floor((sum[0]! + sum[2]!) / Math.max(1, USER_HZ * u) * h.cores * 0.6);
  return (
    out +
    `intr ${intr} 0 9 0 0 0 0 0 0 0 1 0 0 ${floor(intr * 0.001)} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 ${floor(intr * 0.3)} ${floor(intr * 0.2)} 0 0 0 0 0 0 0 0\n` +
    `ctxt ${floor(u * h.cores * 420 + busy * 40)}\n` +
    `btime ${c.bootS}\n` +
    `processes ${floor(u * (2 + h.containers.length * 0.3)) + h.baseProcesses}\n` +
    `procs_running ${running}\n` +
    `procs_blocked ${h.iowaitShare > 0.03 ? 1 : 0}\n` +
    `softirq ${floor(busy * 3)} 0 ${floor(busy * 1.2)} 2 ${floor(busy * 0.4)} ${floor(busy * 0.1)} 0 ${floor(busy * 0.02)} ${floor(busy * 0.9)} 0 ${floor(busy * 0.3)}\n`
  );
}

const kbPrefixes = new Map<string, string>();
const kb = (key: string, v: number): string => {
  let prefix = kbPrefixes.get(key);
  if (prefix === undefined) kbPrefixes.set(key, (prefix = (key + ':').padEnd(16)));
  return `${prefix}${String(floor(v)).padStart(8)} kB`;
};

export function renderMeminfo(h: HostProfile, c: HostClock): string {
  const T = h.memTotalKb;
  const used = Math.min(0.98, Math.max(0.02, h.memUsed.at(c.uptimeS)));
  const available = T * (1 - used);
  const free = available * 0.32;
  const buffers = available * 0.03;
  const cached = available * 0.58;
  const sreclaim = available * 0.05;
  const anon = T * used * 0.82;
  const shmem = T * 0.004;
  const swapFree = h.swapTotalKb * (1 - h.swapUsedShare);
  return [
    kb('MemTotal', T),
    kb('MemFree', free),
    kb('MemAvailable', available),
    kb('Buffers', buffers),
    kb('Cached', cached),
    kb('SwapCached', (h.swapTotalKb - swapFree) * 0.05),
    kb('Active', anon * 0.3 + cached * 0.5),
    kb('Inactive', anon * 0.7 + cached * 0.5),
    kb('Active(anon)', anon * 0.3),
    kb('Inactive(anon)', anon * 0.7),
    kb('Active(file)', cached * 0.5),
    kb('Inactive(file)', cached * 0.5),
    kb('Unevictable', 12_000),
    kb('Mlocked', 10_000),
    kb('SwapTotal', h.swapTotalKb),
    kb('SwapFree', swapFree),
    kb('Zswap', 0),
    kb('Zswapped', 0),
    kb('Dirty', 600 + (floor(c.uptimeS) % 997)),
    kb('Writeback', 0),
    kb('AnonPages', anon),
    kb('Mapped', T * 0.02),
    kb('Shmem', shmem),
    kb('KReclaimable', sreclaim),
    kb('Slab', sreclaim * 1.25),
    kb('SReclaimable', sreclaim),
    kb('SUnreclaim', sreclaim * 0.25),
    kb('KernelStack', 3000 + h.cores * 400),
    kb('PageTables', T * 0.003),
    kb('SecPageTables', 0),
    kb('NFS_Unstable', 0),
    kb('Bounce', 0),
    kb('WritebackTmp', 0),
    kb('CommitLimit', T / 2 + h.swapTotalKb),
    kb('Committed_AS', T * used * 1.4),
    kb('VmallocTotal', 34_359_738_367),
    kb('VmallocUsed', 20_000 + h.cores * 600),
    kb('VmallocChunk', 0),
    kb('Percpu', h.cores * 712),
    kb('HardwareCorrupted', 0),
    kb('AnonHugePages', 0),
    kb('ShmemHugePages', 0),
    kb('ShmemPmdMapped', 0),
    kb('FileHugePages', 0),
    kb('FilePmdMapped', 0),
    'HugePages_Total:       0',
    'HugePages_Free:        0',
    'HugePages_Rsvd:        0',
    'HugePages_Surp:        0',
    kb('Hugepagesize', 2048),
    kb('Hugetlb', 0),
    kb('DirectMap4k', 300_000),
    kb('DirectMap2M', T * 0.3),
    kb('DirectMap1G', T * 0.72),
  ].join('\n') + '\n';
}

function processCount(h: HostProfile, c: HostClock): number {
  let running = 0;
  for (const ct of h.containers) if (ct.state === 'running' || ct.state === 'paused') running++;
  return h.baseProcesses + running * 4 + (floor(c.nowS / 7) % 5);
}

export function renderLoadavg(h: HostProfile, c: HostClock): string {
  const u = c.uptimeS;
  // Exponential averages over 1, 5 and 15 minutes, approximated from two instants and the means.
  const l1 = runQueue(h, u);
  const l5 = (runQueue(h, Math.max(0, u - 150)) + l1) / 2;
  let mean = 0;
  for (const w of h.coreBusy) mean += w.mean;
  const l15 = 0.6 * mean * (1 + h.iowaitShare * 3) + 0.4 * l5;
  const procs = processCount(h, c);
  const running = 1 + floor(l1 * 0.5);
  const lastPid = 1000 + (floor(u * (2 + h.containers.length * 0.3)) % 4_190_000);
  return `${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)} ${running}/${procs * 3 + h.cores * 2} ${lastPid}\n`;
}

export function renderProcs(h: HostProfile, c: HostClock): string {
  return `${processCount(h, c)}\n`;
}

const NET_HEADER =
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';

export function renderNetDev(h: HostProfile, c: HostClock): string {
  const u = c.uptimeS;
  const days = u / 86400;
  let out = NET_HEADER;
  for (const n of h.nics) {
    const rx = floor(n.rx.integral(u));
    const tx = n.tx === n.rx ? rx : floor(n.tx.integral(u));
    const rxp = floor(rx / n.rxPacket);
    const txp = floor(tx / n.txPacket);
    const errs = floor(n.errorsPerDay * days);
    const drops = floor(n.dropsPerDay * days);
    out +=
      `${n.name.padStart(6)}: ${String(rx).padStart(7)} ${String(rxp).padStart(7)} ${String(errs).padStart(4)} ${String(drops).padStart(4)}` +
      `    0     0          0 ${String(n.name === 'lo' ? 0 : floor(rxp * 0.01)).padStart(9)} ` +
      `${String(tx).padStart(8)} ${String(txp).padStart(7)}    0    0    0     0       0          0\n`;
  }
  return out;
}

/** Latency per request in ms, by kind: what "ms reading/writing" accumulate. */
const LATENCY_MS = { hdd: 6, ssd: 0.4, nvme: 0.06 } as const;

/** The 17 counters of a whole drive at uptime u. */
function driveCounters(d: DriveProfile, u: number): number[] {
  const rb = d.readBytes.integral(u);
  const wb = d.writeBytes.integral(u);
  const reads = floor(rb / d.readSize);
  const writes = floor(wb / d.writeSize);
  const lat = LATENCY_MS[d.kind];
  const msR = floor(reads * lat);
  const msW = floor(writes * lat * 1.4);
  const ssd = d.kind !== 'hdd';
  const discards = ssd ? floor(u / 600) * 12 : 0;
  const flushes = floor(writes / 25);
  return [
    reads, floor(reads * 0.08), floor(rb / 512), msR,
    writes, floor(writes * 0.3), floor(wb / 512), msW,
    0, floor(d.util * 1000 * u), msR + msW,
    discards, 0, discards * 2048, floor(discards * 0.2),
    flushes, floor(flushes * lat * 2),
  ];
}

function diskLine(major: number, minor: number, name: string, c: readonly number[]): string {
  return `${String(major).padStart(4)} ${String(minor).padStart(7)} ${name} ${c.join(' ')}\n`;
}

export function renderDiskstats(h: HostProfile, c: HostClock): string {
  const u = c.uptimeS;
  let out = '';
  for (let i = 0; i < 4; i++) out += diskLine(7, i, `loop${i}`, [i < 2 ? 60 + i * 7 : 0, 0, i < 2 ? 2200 + i * 90 : 0, i < 2 ? 12 : 0, 0, 0, 0, 0, 0, i < 2 ? 40 : 0, i < 2 ? 12 : 0, 0, 0, 0, 0, 0, 0]);
  const partitions = new Map<string, number[]>();
  let sata = 0;
  let nvmeMinor = 0;
  const nvmeLines: string[] = [];
  for (const d of h.drives) {
    const whole = driveCounters(d, u);
    const parts = d.partitions.map((p) => {
      const pc = whole.map((v) => floor(v * p.ioShare));
      pc[8] = 0;
      partitions.set(p.name, pc);
      return pc;
    });
    if (d.kind === 'nvme') {
      let s = diskLine(259, nvmeMinor++, d.blockName, whole);
      d.partitions.forEach((p, k) => (s += diskLine(259, nvmeMinor++, p.name, parts[k]!)));
      nvmeLines.push(s);
    } else {
      const major = sata < 16 ? 8 : 65;
      const base = (sata % 16) * 16;
      out += diskLine(major, base, d.blockName, whole);
      d.partitions.forEach((p, k) => (out += diskLine(major, base + k + 1, p.name, parts[k]!)));
      sata++;
    }
  }
  out += nvmeLines.join('');
  for (const s of h.stacked) {
    const sum = new Array<number>(17).fill(0);
    for (const m of s.on) {
      const pc = partitions.get(m);
      if (pc) for (let k = 0; k < 17; k++) sum[k]! += pc[k]!;
    }
    if (s.name.startsWith('md')) {
      // md counts each logical request once, member I/O is spread over the disks.
      for (let k = 0; k < 17; k++) sum[k] = floor(sum[k]! / Math.max(1, s.on.length - 1));
      sum[3] = sum[7] = sum[9] = sum[10] = 0;
    }
    out += diskLine(s.major, s.minor, s.name, sum);
  }
  return out;
}

/** GNU df -PTB1: Filesystem Type 1-blocks Used Available Capacity Mounted on, columns aligned. */
export function renderDf(h: HostProfile, c: HostClock): string {
  const rows: string[][] = [['Filesystem', 'Type', '1-blocks', 'Used', 'Available', 'Capacity', 'Mounted on']];
  const memBytes = h.memTotalKb * 1024;
  const tmp = (size: number, used: number, mount: string, source = 'tmpfs', type = 'tmpfs') =>
    rows.push([source, type, String(size), String(used), String(size - used), `${size > 0 ? Math.ceil((used * 100) / size) : 0}%`, mount]);
  const round4k = (n: number) => Math.floor(n / 4096) * 4096;
  tmp(round4k(memBytes / 2), 0, '/dev', 'udev', 'devtmpfs');
  tmp(round4k(memBytes / 10), round4k(1_900_000 + h.containers.length * 90_000), '/run');
  let dockerFs: string[] | undefined;
  for (const f of h.filesystems) {
    const share = Math.min(0.995, Math.max(0.0005, f.used.at(c.uptimeS)));
    const used = round4k(f.sizeBytes * share);
    const avail = Math.max(0, round4k(f.sizeBytes * (1 - f.reservedShare)) - used);
    const row = [f.source, f.fsType, String(f.sizeBytes), String(used), String(avail), `${Math.ceil((used * 100) / (used + avail || 1))}%`, f.mount];
    rows.push(row);
    if (f.mount === '/') {
      tmp(round4k(memBytes / 2), round4k(memBytes * 0.004), '/dev/shm');
      tmp(5_242_880, 0, '/run/lock');
    }
    if (f.mount === '/' || f.mount === '/var/lib/docker') dockerFs = row;
  }
  if (dockerFs !== undefined) {
    for (const ct of h.containers) {
      if (ct.state !== 'running' && ct.state !== 'paused') continue;
      rows.push(['overlay', 'overlay', dockerFs[2]!, dockerFs[3]!, dockerFs[4]!, dockerFs[5]!, `/var/lib/docker/overlay2/${ct.id.slice(32)}${ct.id.slice(0, 32)}/merged`]);
    }
  }
  tmp(round4k(memBytes / 10), 12_288, '/run/user/1000');
  const widths = [0, 0, 0, 0, 0, 0];
  for (const r of rows) for (let i = 0; i < 6; i++) widths[i] = Math.max(widths[i]!, r[i]!.length);
  let out = '';
  for (const r of rows) {
    out +=
      `${r[0]!.padEnd(widths[0]!)} ${r[1]!.padEnd(widths[1]!)} ${r[2]!.padStart(widths[2]!)} ${r[3]!.padStart(widths[3]!)} ` +
      `${r[4]!.padStart(widths[4]!)} ${r[5]!.padStart(widths[5]!)} ${r[6]!}\n`;
  }
  return out;
}

/** The whole answer to the system collector's command, sections in its order. */
export function renderSystem(h: HostProfile, nowMs: number): string {
  const c = hostClock(h, nowMs);
  const cpu = cpuSnapshot(h, c);
  return (
    '@@ip:uptime\n' + renderUptime(h, c, cpu) +
    '@@ip:stat\n' + renderStat(h, c, cpu) +
    '@@ip:meminfo\n' + renderMeminfo(h, c) +
    '@@ip:loadavg\n' + renderLoadavg(h, c) +
    '@@ip:procs\n' + renderProcs(h, c) +
    '@@ip:netdev\n' + renderNetDev(h, c) +
    '@@ip:diskstats\n' + renderDiskstats(h, c) +
    '@@ip:df\n' + renderDf(h, c) +
    '@@ip:end\n'
  );
}

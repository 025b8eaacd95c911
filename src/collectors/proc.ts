// Pure parsers for the /proc files the system collector reads. No I/O; each takes the file's
// text and throws ParseError (1-based line) on input it cannot read.
import { ParseError, type SkippedLine } from './types.ts';
import { decimal, failIfNothingRead, fields, lines, nextToken, ownString, readUints, skipLine, uint } from './text.ts';

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Already included in `user` by the kernel; never add it to a total. */
  guest: number;
  /** Already included in `nice`. */
  guestNice: number;
}

export interface CoreTimes extends CpuTimes {
  cpu: number;
}

export interface ProcStat {
  /** Logical CPUs listed (online ones). */
  cpuCount: number;
  total: CpuTimes;
  cores: CoreTimes[];
  bootTime: number | null;
  contextSwitches: number | null;
  procsRunning: number | null;
  procsBlocked: number | null;
}

const scratch: number[] = [];

const CPU_LINE = 'expected "cpu" line with at least 4 numeric fields';
const CPUN_LINE = 'expected "cpuN" line with at least 4 numeric fields';

/** Kernels before 2.6 print 4 columns, 2.6.0-2.6.10 print 7: the missing ones count 0. */
function cpuTimes(line: string, from: number): CpuTimes | null {
  if (!readUints(line, from, scratch) || scratch.length < 4) return null;
  const v = scratch;
  return {
    user: v[0]!,
    nice: v[1]!,
    system: v[2]!,
    idle: v[3]!,
    iowait: v[4] ?? 0,
    irq: v[5] ?? 0,
    softirq: v[6] ?? 0,
    steal: v[7] ?? 0,
    guest: v[8] ?? 0,
    guestNice: v[9] ?? 0,
  };
}

/** Jiffies a CPU spent in any state (guest time is inside user/nice already). */
export function cpuTotal(t: CpuTimes): number {
  return t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal;
}

/**
 * /proc/stat. Files holding several concatenated samples (seen in test corpora) are read up
 * to the second aggregate "cpu" line: the first sample wins rather than mixing two machines.
 * Only the aggregate "cpu" line is required; unreadable cpuN lines and lines that are not
 * "<key> <values>" are skipped. Other keys (intr, softirq, page, disk_io …) are not checked:
 * the intr line alone can hold thousands of numbers, and this runs on every poll.
 */
export function parseProcStat(text: string): ProcStat & { skipped: SkippedLine[] } {
  const ls = lines(text);
  let total: CpuTimes | undefined;
  let badTotalLine = 0;
  const cores: CoreTimes[] = [];
  const skipped: SkippedLine[] = [];
  let bootTime: number | null = null;
  let contextSwitches: number | null = null;
  let procsRunning: number | null = null;
  let procsBlocked: number | null = null;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.startsWith('cpu')) {
      const { token: head, end } = nextToken(line, 0);
      if (head === 'cpu') {
        if (total !== undefined) break;
        const t = cpuTimes(line, end);
        if (t === null) {
          badTotalLine ||= i + 1;
          skipLine(skipped, i + 1, line, CPU_LINE);
        } else total = t;
        continue;
      }
      const cpu = uint(head.slice(3));
      const t = Number.isNaN(cpu) || total === undefined ? null : cpuTimes(line, end);
      if (t === null) skipLine(skipped, i + 1, line, total === undefined ? 'expected the aggregate "cpu" line before per-CPU lines' : CPUN_LINE);
      // Not `{ ...t, cpu }`: a property added after a spread built a new hidden class, in the old
      // generation, every time: about 600 bytes per CPU per poll, a third of what a 1,000-device
      // poller promoted (docs/benchmarks.md, "A hidden class per object").
      else cores.push(Object.assign(t, { cpu }));
    } else if (line.startsWith('btime ')) {
      bootTime = nullable(uint(fields(line)[1]));
    } else if (line.startsWith('ctxt ')) {
      contextSwitches = nullable(uint(fields(line)[1]));
    } else if (line.startsWith('procs_running ')) {
      procsRunning = nullable(uint(fields(line)[1]));
    } else if (line.startsWith('procs_blocked ')) {
      procsBlocked = nullable(uint(fields(line)[1]));
    } else if (!isKeyLine(line)) {
      skipLine(skipped, i + 1, line, 'expected a "<key> <values>" line');
    }
  }
  if (total === undefined) throw new ParseError(CPU_LINE, badTotalLine || 1);
  return {
    cpuCount: cores.length,
    total,
    cores,
    bootTime,
    contextSwitches,
    procsRunning,
    procsBlocked,
    skipped,
  };
}

/** Starts with a letter (a key such as "intr", "page", "disk_io:"), or is blank. */
function isKeyLine(line: string): boolean {
  const c = line.charCodeAt(0) | 0x20;
  return line.trim() === '' || (c >= 97 && c <= 122);
}

function nullable(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}

export interface MemInfo {
  totalBytes: number;
  /** MemAvailable, or free + buffers + cached + SReclaimable on kernels without it. */
  availableBytes: number;
  availableEstimated: boolean;
  freeBytes: number;
  buffersBytes: number;
  cachedBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
  usedPercent: number;
}

const MEMINFO_LINE = 'expected "Key: <number> [kB]" line';

/**
 * /proc/meminfo; values are KiB despite the "kB" label. Any key is accepted (kernels add
 * them); lines that are not "Key: <number> [unit]" are skipped, such as the "total: used:
 * free:" table that 2.4 kernels print first. MemTotal and MemFree are required.
 */
export function parseMeminfo(text: string): MemInfo & { skipped: SkippedLine[] } {
  const ls = lines(text);
  const values = new Map<string, number>();
  const skipped: SkippedLine[] = [];
  const unreadable = new Map<string, number>();
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const tokens = colon > 0 ? fields(line.slice(colon + 1)) : [];
    const v = uint(tokens[0]);
    if (colon <= 0 || Number.isNaN(v) || tokens.length > 2 || (tokens.length === 2 && tokens[1] !== 'kB')) {
      skipLine(skipped, i + 1, line, MEMINFO_LINE);
      if (colon > 0) unreadable.set(line.slice(0, colon), i + 1);
      continue;
    }
    values.set(line.slice(0, colon), tokens[1] === 'kB' ? v * 1024 : v);
  }
  const total = values.get('MemTotal');
  const free = values.get('MemFree');
  if (total === undefined || free === undefined) {
    const badLine = unreadable.get(total === undefined ? 'MemTotal' : 'MemFree');
    if (badLine !== undefined) throw new ParseError(MEMINFO_LINE, badLine);
    throw new ParseError('expected MemTotal and MemFree lines', 0);
  }
  const buffers = values.get('Buffers') ?? 0;
  const cached = values.get('Cached') ?? 0;
  const reported = values.get('MemAvailable');
  const available =
    reported ?? Math.min(total, free + buffers + cached + (values.get('SReclaimable') ?? 0));
  return {
    totalBytes: total,
    availableBytes: available,
    availableEstimated: reported === undefined,
    freeBytes: free,
    buffersBytes: buffers,
    cachedBytes: cached,
    swapTotalBytes: values.get('SwapTotal') ?? 0,
    swapFreeBytes: values.get('SwapFree') ?? 0,
    usedPercent: total > 0 ? ((total - available) / total) * 100 : 0,
    skipped,
  };
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  runnable: number | null;
  /** Scheduling entities (threads), not processes. */
  threads: number | null;
  lastPid: number | null;
}

export function parseLoadavg(text: string): LoadAvg {
  const tokens = fields(lines(text)[0] ?? '');
  const [l1, l5, l15] = [decimal(tokens[0]), decimal(tokens[1]), decimal(tokens[2])];
  if (Number.isNaN(l1) || Number.isNaN(l5) || Number.isNaN(l15)) {
    throw new ParseError('expected "load1 load5 load15 runnable/total lastpid"', 1);
  }
  const slash = tokens[3]?.indexOf('/') ?? -1;
  const runnable = slash > 0 ? nullable(uint(tokens[3]!.slice(0, slash))) : null;
  const threads = slash > 0 ? nullable(uint(tokens[3]!.slice(slash + 1))) : null;
  return { load1: l1, load5: l5, load15: l15, runnable, threads, lastPid: nullable(uint(tokens[4])) };
}

export interface Uptime {
  uptimeSeconds: number;
  /** Summed over CPUs, so it exceeds uptime on multi-core hosts. */
  idleSeconds: number | null;
}

export function parseUptime(text: string): Uptime {
  const tokens = fields(lines(text)[0] ?? '');
  const up = decimal(tokens[0]);
  if (Number.isNaN(up) || up < 0) throw new ParseError('expected "uptime idle" seconds', 1);
  return { uptimeSeconds: up, idleSeconds: nullable(decimal(tokens[1])) };
}

export interface NetDevCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

const NETDEV_LINE = 'expected "<interface>: 16 numeric counters" line';

/**
 * /proc/net/dev. Interface names cannot contain ':' (dev_valid_name), so the first one splits.
 * Lines with fewer counters (2.0 kernels had no byte counts) are skipped.
 */
export function parseNetDev(text: string): { interfaces: NetDevCounters[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const interfaces: NetDevCounters[] = [];
  const skipped: SkippedLine[] = [];
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.includes('|') || line.trim() === '') continue; // the two header lines
    const colon = line.indexOf(':');
    const c = scratch;
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (name === '' || !readUints(line, colon + 1, c) || c.length < 16) {
      skipLine(skipped, i + 1, line, name === '' && colon >= 0 ? 'expected an interface name before ":"' : NETDEV_LINE);
      continue;
    }
    interfaces.push({
      name: ownString(name),
      rxBytes: c[0]!,
      rxPackets: c[1]!,
      rxErrors: c[2]!,
      rxDropped: c[3]!,
      txBytes: c[8]!,
      txPackets: c[9]!,
      txErrors: c[10]!,
      txDropped: c[11]!,
    });
  }
  failIfNothingRead(skipped, interfaces.length);
  return { interfaces, skipped };
}

export interface DiskCounters {
  name: string;
  major: number;
  minor: number;
  /** A whole device (disk, md, dm, …) rather than a partition or a ram/loop/zram/fd/sr device. */
  whole: boolean;
  /** Stacked on other block devices (dm-, md, drbd, bcache, zvol): left out of device totals. */
  stacked: boolean;
  readsCompleted: number;
  readBytes: number;
  writesCompleted: number;
  writeBytes: number;
  ioTimeMs: number;
  weightedIoTimeMs: number;
  /** Kernel 4.18+ only. */
  discardsCompleted: number | null;
  /** Kernel 5.5+ only. */
  flushesCompleted: number | null;
}

const SECTOR = 512; // /proc/diskstats counts 512-byte sectors whatever the device's block size

/**
 * Which block devices are not disks at all (memory, loop, compressed swap, floppies, optical),
 * and which names are partitions. Without /sys/block the name is all we have: sdX1, vdX1,
 * hdX1, xvdX1, dasdX1 end in digits after letters; nvme0n1p1, mmcblk0p1, md0p1, nbd0p1,
 * rbd0p1, cciss/c0d0p1 end in p<digits> after a digit.
 */
export function classifyDisk(name: string): { whole: boolean; stacked: boolean } {
  if (NOT_A_DISK.test(name) || PARTITION.test(name)) return { whole: false, stacked: false };
  return { whole: true, stacked: STACKED.test(name) };
}

const NOT_A_DISK = /^(ram|loop|zram|fd|sr)\d+$/;
const PARTITION = /\dp\d+$|^(sd|hd|vd|xvd|dasd)[a-z]+\d+$/;
const STACKED = /^(dm-|md|drbd|bcache|zd)\d/;

const DISKSTATS_LINE = 'expected "major minor name" and at least 11 numeric fields';

/**
 * /proc/diskstats in its 14-, 18- and 20-field forms (3 id fields + 11, 15 or 17 counters).
 * Shorter lines (the 4-counter partition lines of kernels 2.6.0-2.6.24) are skipped.
 */
export function parseDiskstats(text: string): { disks: DiskCounters[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const disks: DiskCounters[] = [];
  const skipped: SkippedLine[] = [];
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '') continue;
    const a = nextToken(line, 0);
    const b = nextToken(line, a.end);
    const n = nextToken(line, b.end);
    const major = uint(a.token);
    const minor = uint(b.token);
    const name = n.token;
    const c = scratch;
    if (Number.isNaN(major) || Number.isNaN(minor) || !readUints(line, n.end, c) || c.length < 11) {
      skipLine(skipped, i + 1, line, DISKSTATS_LINE);
      continue;
    }
    const kind = classifyDisk(name);
    disks.push({
      name,
      major,
      minor,
      whole: kind.whole,
      stacked: kind.stacked,
      readsCompleted: c[0]!,
      readBytes: c[2]! * SECTOR,
      writesCompleted: c[4]!,
      writeBytes: c[6]! * SECTOR,
      ioTimeMs: c[9]!,
      weightedIoTimeMs: c[10]!,
      discardsCompleted: c.length >= 15 ? c[11]! : null,
      flushesCompleted: c.length >= 17 ? c[15]! : null,
    });
  }
  failIfNothingRead(skipped, disks.length);
  return { disks, skipped };
}

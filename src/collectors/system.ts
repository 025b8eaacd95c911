// System collector: CPU, memory, load, uptime, processes, filesystems, network and disk I/O
// from ONE constant POSIX sh command per poll (sections between "@@ip:<name>" markers).
import type {
  DiskIoRow,
  FilesystemRow,
  NetworkRow,
  SystemMetricsRow,
} from '../storage/types.ts';
import { emptyBatch } from '../storage/types.ts';
import { openRateWindow, type CounterState, type RateWindow } from './rates.ts';
import { parseDf, type DfEntry } from './df.ts';
import {
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseUptime,
  cpuTotal,
  type CpuTimes,
  type DiskCounters,
  type NetDevCounters,
} from './proc.ts';
import { splitSections, uint, lines } from './text.ts';
import {
  CollectorError,
  ParseError,
  type CollectContext,
  type CollectResult,
  type Collector,
  type CollectorOptions,
  type SkippedLine,
} from './types.ts';

/**
 * Process count: a glob of /proc/[0-9]* counted by the shell itself (`set --; $#`), so it
 * costs no fork and counts processes; /proc/loadavg's "N/M" counts threads instead and is
 * only the fallback. df runs under `timeout` when present because one hung NFS mount
 * would otherwise eat the whole poll; `df -Pk` is the busybox fallback (no -T/-B1).
 */
export const SYSTEM_COMMAND = [
  'LC_ALL=C; export LC_ALL',
  'echo @@ip:uptime; cat /proc/uptime',
  'echo @@ip:stat; cat /proc/stat',
  'echo @@ip:meminfo; cat /proc/meminfo',
  'echo @@ip:loadavg; cat /proc/loadavg',
  'echo @@ip:procs; set -- /proc/[0-9]*; echo $#',
  'echo @@ip:netdev; cat /proc/net/dev',
  'echo @@ip:diskstats; cat /proc/diskstats',
  'echo @@ip:df; T=; command -v timeout >/dev/null 2>&1 && T="timeout 10"',
  'if $T df -PTB1 / >/dev/null 2>&1; then $T df -PTB1; else $T df -Pk; fi',
  'echo @@ip:end',
].join('\n');

export interface SystemState {
  counters: CounterState;
}

export interface SystemSample {
  stat: ReturnType<typeof parseProcStat>;
  meminfo: ReturnType<typeof parseMeminfo>;
  loadavg: ReturnType<typeof parseLoadavg>;
  uptime: ReturnType<typeof parseUptime>;
  processCount: number | null;
  interfaces: NetDevCounters[] | null;
  disks: DiskCounters[] | null;
  filesystems: DfEntry[] | null;
  /** Optional sections that were missing or unreadable. */
  problems: string[];
  /** Lines the section parsers did not recognise and left out. */
  skipped: SkippedLine[];
}

const REQUIRED = ['stat', 'meminfo', 'loadavg', 'uptime'] as const;

/** Parses the whole output of SYSTEM_COMMAND. Pure; throws ParseError on required sections. */
export function parseSystemOutput(output: string): SystemSample {
  const bodies = new Map<string, string>();
  for (const s of splitSections(output)) bodies.set(s.name, s.body);
  for (const name of REQUIRED) {
    if (!bodies.get(name)?.trim()) throw new ParseError(`expected a non-empty "${name}" section`, 0);
  }
  const problems: string[] = [];
  const skipped: SkippedLine[] = [];
  const noted = <T extends object>(name: string, r: T): T => {
    if ('skipped' in r && Array.isArray(r.skipped)) for (const s of r.skipped as SkippedLine[]) skipped.push({ ...s, section: name });
    return r;
  };
  const within = <T extends object>(name: string, parse: (text: string) => T): T => {
    try {
      return noted(name, parse(bodies.get(name)!));
    } catch (err) {
      if (err instanceof ParseError) {
        throw new ParseError(`${name} section: ${err.message}`, err.line);
      }
      throw err;
    }
  };
  const optional = <T extends object>(name: string, parse: (text: string) => T): T | null => {
    const body = bodies.get(name);
    if (body === undefined || body.trim() === '') {
      problems.push(`${name}: no output`);
      return null;
    }
    try {
      return noted(name, parse(body));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      problems.push(`${name}: line ${err.line}: ${err.message}`);
      return null;
    }
  };
  const loadavg = within('loadavg', parseLoadavg);
  const procs = uint(lines(bodies.get('procs') ?? '')[0]?.trim());
  return {
    stat: within('stat', parseProcStat),
    meminfo: within('meminfo', parseMeminfo),
    loadavg,
    uptime: within('uptime', parseUptime),
    // A glob that matched nothing leaves the pattern itself: 1, not a count.
    processCount: Number.isNaN(procs) || procs <= 1 ? loadavg.threads : procs,
    interfaces: optional('netdev', parseNetDev)?.interfaces ?? null,
    disks: optional('diskstats', parseDiskstats)?.disks ?? null,
    filesystems: optional('df', parseDf)?.filesystems ?? null,
    problems,
    skipped,
  };
}

export function isVirtualInterface(name: string, options: CollectorOptions): boolean {
  for (const p of options.virtualInterfacePatterns) if (p.test(name)) return true;
  return false;
}

const clampPercent = (v: number): number => (v < 0 ? 0 : v > 100 ? 100 : v);

/** Jiffy deltas of one CPU line, or null when any of them is unknown (first poll, reset). */
function cpuDeltas(w: RateWindow, key: string, t: CpuTimes): CpuTimes | null {
  const d = w.deltas(key, [t.user, t.nice, t.system, t.idle, t.iowait, t.irq, t.softirq, t.steal]);
  if (d === null) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = d;
  if (
    user == null || nice == null || system == null || idle == null ||
    iowait == null || irq == null || softirq == null || steal == null
  ) {
    return null;
  }
  return { user, nice, system, idle, iowait, irq, softirq, steal, guest: 0, guestNice: 0 };
}

function busyPercent(d: CpuTimes): number | null {
  const total = cpuTotal(d);
  return total > 0 ? clampPercent(((total - d.idle - d.iowait) / total) * 100) : null;
}

/** The device and time every row of a poll carries. */
interface RowContext {
  deviceId: string;
  time: Date;
}

/** The aggregate CPU's jiffy deltas, and each core's busy share when every core has one. */
function cpuUsage(w: RateWindow, stat: SystemSample['stat']): { total: CpuTimes | null; corePercents: number[] } {
  const corePercents: number[] = [];
  let coresOk = stat.cores.length > 0;
  for (const core of stat.cores) {
    const d = cpuDeltas(w, `cpu${core.cpu}`, core);
    const p = d === null ? null : busyPercent(d);
    if (p === null) coresOk = false;
    else {
      while (corePercents.length < core.cpu) corePercents.push(0);
      corePercents[core.cpu] = p;
    }
  }
  return { total: cpuDeltas(w, 'cpu', stat.total), corePercents: coresOk ? corePercents : [] };
}

/** A row per interface, and the totals over the physical ones (null without a rate window or the section). */
function networkRows(w: RateWindow, interfaces: NetDevCounters[] | null, ctx: RowContext, options: CollectorOptions): { rows: NetworkRow[]; rx: number | null; tx: number | null } {
  const rows: NetworkRow[] = [];
  let rx: number | null = w.elapsedSeconds === null || interfaces === null ? null : 0;
  let tx = rx;
  for (const i of interfaces ?? []) {
    const r = w.rates(`net:${i.name}`, [
      i.rxBytes, i.txBytes, i.rxPackets, i.txPackets, i.rxErrors, i.txErrors, i.rxDropped, i.txDropped,
    ]);
    const row: NetworkRow = {
      time: ctx.time,
      deviceId: ctx.deviceId,
      interface: i.name,
      rxBytesTotal: i.rxBytes,
      txBytesTotal: i.txBytes,
      rxBytesPerSec: r?.[0] ?? null,
      txBytesPerSec: r?.[1] ?? null,
      rxPacketsPerSec: r?.[2] ?? null,
      txPacketsPerSec: r?.[3] ?? null,
      rxErrorsPerSec: r?.[4] ?? null,
      txErrorsPerSec: r?.[5] ?? null,
      rxDroppedPerSec: r?.[6] ?? null,
      txDroppedPerSec: r?.[7] ?? null,
    };
    rows.push(row);
    if (rx !== null && tx !== null && !isVirtualInterface(i.name, options)) {
      rx += row.rxBytesPerSec ?? 0;
      tx += row.txBytesPerSec ?? 0;
    }
  }
  return { rows, rx, tx };
}

/** A row per whole disk, and the read/write totals over the disks that are not stacked on others. */
function diskIoRows(w: RateWindow, disks: DiskCounters[] | null, ctx: RowContext): { rows: DiskIoRow[]; read: number | null; write: number | null } {
  const rows: DiskIoRow[] = [];
  let read: number | null = w.elapsedSeconds === null || disks === null ? null : 0;
  let write = read;
  for (const d of disks ?? []) {
    if (!d.whole) continue;
    const r = w.rates(`disk:${d.name}`, [d.readBytes, d.writeBytes, d.readsCompleted, d.writesCompleted, d.ioTimeMs]);
    const ioMsPerSec = r?.[4] ?? null;
    const row: DiskIoRow = {
      time: ctx.time,
      deviceId: ctx.deviceId,
      disk: d.name,
      readBytesPerSec: r?.[0] ?? null,
      writeBytesPerSec: r?.[1] ?? null,
      readIops: r?.[2] ?? null,
      writeIops: r?.[3] ?? null,
      // ms of I/O per second of wall time, as a share: iostat's %util.
      utilPercent: ioMsPerSec === null ? null : clampPercent(ioMsPerSec / 10),
    };
    rows.push(row);
    if (read !== null && write !== null && !d.stacked) {
      read += row.readBytesPerSec ?? 0;
      write += row.writeBytesPerSec ?? 0;
    }
  }
  return { rows, read, write };
}

function filesystemRows(filesystems: DfEntry[] | null, ctx: RowContext, options: CollectorOptions): FilesystemRow[] {
  const excluded = new Set(options.excludedFsTypes);
  const rows: FilesystemRow[] = [];
  for (const f of filesystems ?? []) {
    // Without a Type column (busybox df) the filesystem name of pseudo mounts is their type.
    if (excluded.has(f.fsType ?? f.filesystem) || f.sizeBytes === 0) continue;
    rows.push({
      time: ctx.time,
      deviceId: ctx.deviceId,
      mount: f.mount,
      filesystem: f.filesystem,
      fsType: f.fsType,
      sizeBytes: f.sizeBytes,
      usedBytes: f.usedBytes,
      availableBytes: f.availableBytes,
      usedPercent: f.usedPercent,
    });
  }
  return rows;
}

/**
 * Turns one parsed sample (and the previous poll's counters) into rows. Pure.
 *
 * Disk totals rule: diskRead/WriteBytesPerSec sum whole, non-stacked devices only (sd*, nvme*n*,
 * vd*, xvd*, mmcblk*, …); dm-*, md*, drbd*, bcache*, zd* sit on top of those and would count
 * the same bytes twice. They still get their own DiskIoRow. Network totals likewise leave out
 * interfaces matching options.virtualInterfacePatterns (lo, veth, bridges, VLANs, tunnels …).
 * corePercents is filled only when every listed CPU has a delta; offline CPUs (gaps) read 0.
 *
 * Each family of rows is a function of its own: rates are sometimes whole numbers (an idle
 * interface's 0 errors a second), and each such value reaching a site that had seen only
 * fractions once sent V8 back to recompile, from scratch, everything the function holds. As one
 * 130-line function that was 50-140 ms of compiling a time, about twenty times in a 1,000-device
 * poller's first two minutes (docs/benchmarks.md, "The poller on the CPU").
 */
export function systemRows(
  sample: SystemSample,
  ctx: { deviceId: string; time: Date; options: CollectorOptions },
  previous: CounterState | undefined,
): {
  system: SystemMetricsRow;
  filesystems: FilesystemRow[];
  networks: NetworkRow[];
  diskIo: DiskIoRow[];
  state: CounterState;
} {
  const { deviceId, time, options } = ctx;
  const w = openRateWindow(previous, time.getTime(), sample.uptime.uptimeSeconds);
  const { total, corePercents } = cpuUsage(w, sample.stat);
  const totalTicks = total === null ? 0 : cpuTotal(total);
  const share = (v: number | undefined): number | null =>
    total === null || totalTicks <= 0 || v === undefined ? null : clampPercent((v / totalTicks) * 100);
  const net = networkRows(w, sample.interfaces, ctx, options);
  const disk = diskIoRows(w, sample.disks, ctx);
  const m = sample.meminfo;
  const system: SystemMetricsRow = {
    time,
    deviceId,
    cpuCount: sample.stat.cpuCount,
    cpuPercent: total === null ? null : busyPercent(total),
    cpuUserPercent: total === null ? null : share(total.user + total.nice),
    cpuSystemPercent: total === null ? null : share(total.system + total.irq + total.softirq),
    cpuIowaitPercent: share(total?.iowait),
    cpuStealPercent: share(total?.steal),
    corePercents,
    memTotalBytes: m.totalBytes,
    memAvailableBytes: m.availableBytes,
    memUsedPercent: m.usedPercent,
    swapTotalBytes: m.swapTotalBytes,
    swapFreeBytes: m.swapFreeBytes,
    load1: sample.loadavg.load1,
    load5: sample.loadavg.load5,
    load15: sample.loadavg.load15,
    uptimeSeconds: sample.uptime.uptimeSeconds,
    processCount: sample.processCount,
    netRxBytesPerSec: net.rx,
    netTxBytesPerSec: net.tx,
    diskReadBytesPerSec: disk.read,
    diskWriteBytesPerSec: disk.write,
  };
  return { system, filesystems: filesystemRows(sample.filesystems, ctx, options), networks: net.rows, diskIo: disk.rows, state: w.state() };
}

function firstLine(text: string): string {
  return text.trim().split('\n', 1)[0] ?? '';
}

export const systemCollector: Collector<SystemState> = {
  name: 'system',
  description: 'CPU, memory, load, filesystems, network and disk I/O from /proc and df.',
  async collect(ctx: CollectContext<SystemState>): Promise<CollectResult<SystemState>> {
    const res = await ctx.runner.exec(SYSTEM_COMMAND, { timeoutMs: ctx.timeoutMs });
    let sample: SystemSample;
    try {
      sample = parseSystemOutput(res.stdout);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      const why = firstLine(res.stderr);
      if (res.code === 127 || /not found/.test(why)) {
        throw new CollectorError('NOT_INSTALLED', `system command could not run: ${why}`);
      }
      if (/permission denied/i.test(why)) {
        throw new CollectorError('PERMISSION_DENIED', `cannot read /proc: ${why}`);
      }
      throw new CollectorError(
        'BAD_OUTPUT',
        `unreadable system output (line ${err.line}: ${err.message})${why ? `; stderr: ${why}` : ''}`,
      );
    }
    const rows = systemRows(sample, ctx, ctx.state?.counters);
    const batch = emptyBatch();
    batch.system.push(rows.system);
    batch.filesystems = rows.filesystems;
    batch.networks = rows.networks;
    batch.diskIo = rows.diskIo;
    const problems = [...sample.problems];
    if (!res.stdout.includes('@@ip:end')) problems.push('system output was cut short');
    return { batch, state: { counters: rows.state }, problems, skipped: sample.skipped };
  },
};

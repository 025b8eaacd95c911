// Top processes: one exec that samples every process twice, half a second apart, and the pure
// parser that turns the two samples into current CPU and I/O rates (what `top -bn2` shows,
// agentless). Where /proc cannot be read, ps's lifetime averages are all there is, and the
// result says so.
import { parseProcPidStats, parsePs, PS_COMMAND, type ProcPidStat } from './processes.ts';
import { decimal, lines, MARKER, skipLine, splitSections, uint, type Section } from './text.ts';
import { ParseError, type SkippedLine } from './types.ts';
import type { ExecOptions } from '../transport/types.ts';

/*
 * Marker names are longer than 14 characters on purpose: a process may name itself (comm, 15
 * bytes) "\n@@ip:x", and its stat record then prints a line starting with "@@ip:"; such a line
 * can never hold a whole marker here, so no process can forge a section.
 */
const CLOCK = 'top-processes-clock';
const UPTIME = 'top-processes-uptime';
const STAT = 'top-processes-stat';
const IO = 'top-processes-io';
const PS = 'top-processes-ps';
const LIFETIME = 'top-processes-lifetime';

/**
 * The shell's own pid, clock ticks per second and page size; then twice, 0.5 s apart (1 s where
 * sleep takes whole seconds only): uptime, every /proc/[pid]/stat and the readable
 * /proc/[pid]/io counters (another user's are not, unless root); then ps for user names and
 * whole command lines (procps asked for 32-character user names; busybox has no -p). Without a
 * readable /proc: PS_COMMAND, whose %CPU is the average over each process's lifetime.
 */
export const TOP_PROCESSES_COMMAND = [
  'LC_ALL=C; export LC_ALL',
  'if [ -r /proc/self/stat ]; then',
  `  echo "@@ip:${CLOCK} $$ $(getconf CLK_TCK 2>/dev/null || echo 100) $(getconf PAGESIZE 2>/dev/null || echo 4096)"`,
  '  for s in 1 2; do',
  '    [ $s = 1 ] || sleep 0.5 2>/dev/null || sleep 1',
  `    echo @@ip:${UPTIME}; cat /proc/uptime`,
  `    echo @@ip:${STAT}; cat /proc/[0-9]*/stat 2>/dev/null`,
  `    echo @@ip:${IO}; grep -H -E '^(read|write)_bytes:' /proc/[0-9]*/io 2>/dev/null`,
  '  done',
  `  echo @@ip:${PS}`,
  '  if ps -o pid= -p $$ >/dev/null 2>&1; then ps -e -ww -o pid=,user:32=,args=; else ps -o pid,user,args; fi 2>/dev/null',
  'else',
  `  echo @@ip:${LIFETIME}`,
  PS_COMMAND,
  'fi',
].join('\n');

/** Per exec (and per handshake when a connection of its own is needed). */
export const TOP_PROCESSES_TIMEOUT_MS = 10_000;
/** About 10,000 processes; beyond it the answer is an OUTPUT_LIMIT error, not a memory problem. */
export const TOP_PROCESSES_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** How every caller runs TOP_PROCESSES_COMMAND (Device.topProcesses, alert culprits). */
export const TOP_PROCESSES_EXEC: ExecOptions = { timeoutMs: TOP_PROCESSES_TIMEOUT_MS, maxOutputBytes: TOP_PROCESSES_MAX_OUTPUT_BYTES };

export type CpuBasis = 'INTERVAL' | 'LIFETIME';
export type ProcessOrder = 'CPU' | 'MEMORY' | 'IO';

export interface TopProcess {
  pid: number;
  ppid: number | null;
  user: string | null;
  /** The whole command line (ps args); the kernel's 15-byte name where ps gave none. */
  command: string;
  /** The scheduler state letter (R, S, D, Z, T, I, …). */
  state: string | null;
  /** Percent of one CPU (a process busy on two CPUs shows 200), over the interval or, for LIFETIME, the process's life. */
  cpuPercent: number | null;
  /** Resident set size. */
  memoryBytes: number | null;
  /** Storage I/O (/proc/[pid]/io read_bytes, write_bytes) over the interval; null when unreadable (another user's process, without root). */
  ioReadBytesPerSecond: number | null;
  ioWriteBytesPerSecond: number | null;
}

export interface TopSample {
  cpuBasis: CpuBasis;
  /** Between the two samples, by the host's uptime; null for LIFETIME. */
  intervalSeconds: number | null;
  processes: TopProcess[];
  skipped: SkippedLine[];
}

interface Sample {
  uptime: number;
  stats: Map<number, ProcPidStat>;
  io: Map<number, { read?: number; write?: number }>;
}

const IO_LINE = /^\/proc\/(\d+)\/io:(read|write)_bytes: (\d+)$/;

function readIo(body: string, into: Sample['io'], skipped: SkippedLine[]): void {
  lines(body).forEach((line, i) => {
    const m = IO_LINE.exec(line);
    if (m === null) return skipLine(skipped, i + 1, line, 'expected "/proc/<pid>/io:read_bytes: <n>" (grep -H)');
    const entry = into.get(Number(m[1])) ?? {};
    entry[m[2] as 'read' | 'write'] = Number(m[3]);
    into.set(Number(m[1]), entry);
  });
}

const PS_LINE = /^\s*(\d+)\s+(\S+)\s+(.*)$/;

/** ps -o pid,user,args (procps without a header, busybox with one): pid → user and command line. */
function readPs(body: string): Map<number, { user: string; args: string }> {
  const out = new Map<number, { user: string; args: string }>();
  for (const line of lines(body)) {
    const m = PS_LINE.exec(line);
    if (m !== null && m[3]!.trim() !== '') out.set(Number(m[1]), { user: m[2]!, args: m[3]!.trimEnd() });
  }
  return out;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function rate(before: number | undefined, after: number | undefined, seconds: number): number | null {
  if (before === undefined || after === undefined || after < before) return null;
  return round1((after - before) / seconds);
}

function lifetime(body: string): TopSample {
  const { processes, skipped } = parsePs(body);
  return {
    cpuBasis: 'LIFETIME',
    intervalSeconds: null,
    skipped,
    processes: processes.map((p) => ({
      pid: p.pid, ppid: null, user: p.user, command: p.command, state: p.state, cpuPercent: p.cpuPercent,
      memoryBytes: p.rssBytes, ioReadBytesPerSecond: null, ioWriteBytesPerSecond: null,
    })),
  };
}

const OWN = new Set([CLOCK, UPTIME, STAT, IO, PS, LIFETIME]);

/**
 * The command's sections. A line that only looks like a marker (a comm such as "\n@@ip:x"
 * splits its stat record over two lines) goes back into the section it interrupted, so the
 * record is rejoined and the records after it are not lost.
 */
function ownSections(text: string): Section[] {
  const out: Section[] = [];
  for (const s of splitSections(text)) {
    const last = out[out.length - 1];
    if (OWN.has(s.name) || last === undefined) out.push({ ...s });
    else last.body += `${MARKER}${s.name}${s.args === '' ? '' : ` ${s.args}`}\n${s.body}`;
  }
  return out;
}

/** The two samples and the clock line, in the order the command prints them. */
function readSamples(text: string, skipped: SkippedLine[]): { clock: number[]; samples: Sample[]; ps: string | null } {
  const samples: Sample[] = [];
  let clock: number[] = [];
  let ps: string | null = null;
  for (const s of ownSections(text)) {
    const current = samples[samples.length - 1];
    const before = skipped.length;
    if (s.name === CLOCK) clock = s.args.split(' ').map(uint);
    else if (s.name === UPTIME) samples.push({ uptime: decimal(s.body.split(' ')[0]), stats: new Map(), io: new Map() });
    else if (s.name === STAT && current) {
      const r = parseProcPidStats(s.body);
      for (const p of r.processes) current.stats.set(p.pid, p);
      skipped.push(...r.skipped);
    } else if (s.name === IO && current) readIo(s.body, current.io, skipped);
    else if (s.name === PS) ps = s.body;
    for (const k of skipped.slice(before)) k.section = s.name;
  }
  return { clock, samples, ps };
}

/** TOP_PROCESSES_COMMAND's output: every process with its CPU, memory and I/O, the command's own shell and children left out. */
export function parseTopProcesses(text: string): TopSample {
  const sections = ownSections(text);
  const life = sections.find((s) => s.name === LIFETIME);
  if (life) return lifetime(life.body);
  const skipped: SkippedLine[] = [];
  const { clock, samples, ps } = readSamples(text, skipped);
  const [self, ticks, pageSize] = clock;
  if (clock.length !== 3 || clock.some(Number.isNaN) || !ticks || !pageSize) throw new ParseError(`expected "@@ip:${CLOCK} <pid> <CLK_TCK> <PAGESIZE>" (TOP_PROCESSES_COMMAND)`, 1);
  const [first, second] = samples;
  if (samples.length !== 2 || !first || !second) throw new ParseError(`expected two samples, each after "@@ip:${UPTIME}"`, 1);
  const intervalSeconds = Math.round((second.uptime - first.uptime) * 1000) / 1000;
  if (!(intervalSeconds > 0)) throw new ParseError('expected the second sample\'s uptime to be later than the first\'s', 1);
  if (second.stats.size === 0) throw new ParseError(`expected /proc/[pid]/stat records after "@@ip:${STAT}"`, 1);
  const names = readPs(ps ?? '');
  const processes: TopProcess[] = [];
  for (const p of second.stats.values()) {
    if (p.pid === self || p.ppid === self) continue;
    const was = first.stats.get(p.pid);
    // Absent from the first sample: it started in between (all its ticks are new), or the glob
    // raced it, and then its lifetime's ticks would read as a huge rate.
    const base = was && was.startTimeTicks === p.startTimeTicks ? was : p.startTimeTicks / ticks >= first.uptime - 1 / ticks ? null : undefined;
    const used = p.utimeTicks + p.stimeTicks - (base ? base.utimeTicks + base.stimeTicks : 0);
    const io0 = base === null ? { read: 0, write: 0 } : base ? first.io.get(p.pid) : undefined;
    const io1 = second.io.get(p.pid);
    const ps1 = names.get(p.pid);
    processes.push({
      pid: p.pid,
      ppid: p.ppid,
      user: ps1?.user ?? null,
      command: ps1?.args ?? p.comm,
      state: p.state,
      cpuPercent: base === undefined || used < 0 ? null : round1((used / ticks / intervalSeconds) * 100),
      memoryBytes: p.rssPages * pageSize,
      ioReadBytesPerSecond: rate(io0?.read, io1?.read, intervalSeconds),
      ioWriteBytesPerSecond: rate(io0?.write, io1?.write, intervalSeconds),
    });
  }
  return { cpuBasis: 'INTERVAL', intervalSeconds, processes, skipped };
}

const ioTotal = (p: TopProcess): number | null =>
  p.ioReadBytesPerSecond === null && p.ioWriteBytesPerSecond === null ? null : (p.ioReadBytesPerSecond ?? 0) + (p.ioWriteBytesPerSecond ?? 0);

const KEYS: Record<ProcessOrder, ((p: TopProcess) => number | null)[]> = {
  CPU: [(p) => p.cpuPercent, (p) => p.memoryBytes],
  MEMORY: [(p) => p.memoryBytes, (p) => p.cpuPercent],
  IO: [ioTotal, (p) => p.cpuPercent],
};

/** The `limit` busiest by `by`, highest first; unknown values last, then by pid. */
export function rankProcesses(processes: readonly TopProcess[], by: ProcessOrder, limit: number): TopProcess[] {
  const keys = KEYS[by];
  return [...processes]
    .sort((a, b) => {
      for (const key of keys) {
        const x = key(a) ?? -1;
        const y = key(b) ?? -1;
        if (x !== y) return y - x;
      }
      return a.pid - b.pid;
    })
    .slice(0, limit);
}

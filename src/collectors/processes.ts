// Processes: `ps` listings and /proc/[pid]/stat records, with the commands the top-processes
// query will run, and their pure parsers.
import type { SkippedLine } from './types.ts';
import { ParseError } from './types.ts';
import { failIfNothingRead, fields, lines, skipLine, uint } from './text.ts';

/**
 * procps `ps axuww` (ww: never cut the command line). busybox ps ignores "axuww" and prints only
 * PID USER COMMAND, so it is told apart by `-p`, which it lacks, and asked for its own columns;
 * the header-driven parser reads both.
 */
export const PS_COMMAND = [
  'LC_ALL=C; export LC_ALL',
  'if ps -o pcpu= -p $$ >/dev/null 2>&1; then ps axuww; else ps -o pid,user,vsz,rss,stat,args; fi',
].join('\n');

export interface PsProcess {
  pid: number;
  user: string | null;
  /** ps's %CPU: CPU time over the process's lifetime, not the current rate. */
  cpuPercent: number | null;
  memPercent: number | null;
  rssBytes: number | null;
  vszBytes: number | null;
  /** The scheduler state letter (R, S, D, Z, T, I, …), the first of STAT. */
  state: string | null;
  /** The whole STAT column ("Ss", "R+", "I<"). */
  stat: string | null;
  tty: string | null;
  start: string | null;
  cpuTimeSeconds: number | null;
  command: string;
}

/** Header names of procps and busybox for the columns read. */
const PS_COLUMNS: Record<string, keyof Omit<PsProcess, 'state' | 'command'> | 'command'> = {
  PID: 'pid', USER: 'user', UID: 'user', '%CPU': 'cpuPercent', '%MEM': 'memPercent', RSS: 'rssBytes', VSZ: 'vszBytes',
  STAT: 'stat', S: 'stat', TTY: 'tty', TT: 'tty', START: 'start', STARTED: 'start', TIME: 'cpuTimeSeconds',
  COMMAND: 'command', CMD: 'command', ARGS: 'command',
};

/** KiB, as ps prints VSZ and RSS; busybox scales big ones ("12m", "1.2g"). */
function kib(token: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(token ?? '');
  if (m === null) return null;
  const scale = { '': 1, k: 1, m: 1024, g: 1024 ** 2 }[m[2]!.toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * scale * 1024);
}

/** TIME: "MMM:SS" (ps u) or "[DD-]HH:MM:SS" (-o time). */
function cpuTime(token: string | undefined): number | null {
  const m = /^(?:(\d+)-)?(\d+):(\d{2})(?::(\d{2}))?$/.exec(token ?? '');
  if (m === null) return null;
  const [d, a, b, c] = [Number(m[1] ?? 0), Number(m[2]), Number(m[3]), m[4] === undefined ? null : Number(m[4])];
  return d * 86400 + (c === null ? a * 60 + b : a * 3600 + b * 60 + c);
}

function percent(token: string | undefined): number | null {
  return token !== undefined && /^\d+(\.\d+)?$/.test(token) ? Number(token) : null;
}

/** Start of the n-th whitespace-separated token of `line` (0-based), or -1. */
function tokenStart(line: string, n: number): number {
  const re = /\S+/g;
  for (let k = 0, m = re.exec(line); m !== null; k++, m = re.exec(line)) if (k === n) return m.index;
  return -1;
}

/**
 * `ps axu`-style listings: columns named by the header, COMMAND last and kept whole (it may
 * hold spaces); procps and busybox headers. Lines that do not fit the header are skipped.
 */
export function parsePs(text: string): { processes: PsProcess[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const headerAt = ls.findIndex((l) => l.trim() !== '');
  const header = fields(ls[headerAt] ?? '');
  const columns = header.map((h) => PS_COLUMNS[h]);
  if (!columns.includes('pid') || columns[columns.length - 1] !== 'command') {
    throw new ParseError('expected a ps header naming PID and ending in COMMAND (ps axu)', headerAt + 1);
  }
  const processes: PsProcess[] = [];
  const skipped: SkippedLine[] = [];
  for (let i = headerAt + 1; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '') continue;
    const at = tokenStart(line, columns.length - 1);
    const t = fields(at < 0 ? line : line.slice(0, at));
    const value = (c: string) => {
      const k = columns.indexOf(c as (typeof columns)[number]);
      return k < 0 ? undefined : t[k];
    };
    const pid = uint(value('pid'));
    if (at < 0 || Number.isNaN(pid)) {
      skipLine(skipped, i + 1, line, `expected ${header.length} columns as the header names them, starting with a numeric PID`);
      continue;
    }
    const stat = value('stat') ?? null;
    processes.push({
      pid,
      user: value('user') ?? null,
      cpuPercent: percent(value('cpuPercent')),
      memPercent: percent(value('memPercent')),
      rssBytes: kib(value('rssBytes')),
      vszBytes: kib(value('vszBytes')),
      state: stat === null ? null : stat.charAt(0),
      stat,
      tty: value('tty') ?? null,
      start: value('start') ?? null,
      cpuTimeSeconds: cpuTime(value('cpuTimeSeconds')),
      command: line.slice(at).trimEnd(),
    });
  }
  failIfNothingRead(skipped, processes.length);
  return { processes, skipped };
}

/**
 * Every process's stat record in one exec. A process that exits between the glob and the read
 * is left out (cat then exits 1; what it printed is whole).
 */
export const PROC_PID_STAT_COMMAND = 'cat /proc/[0-9]*/stat 2>/dev/null';

export interface ProcPidStat {
  pid: number;
  /** The executable's name as the kernel keeps it (15 bytes at most; any byte but NUL). */
  comm: string;
  state: string;
  ppid: number;
  /** CPU time in user and kernel mode, in clock ticks (sysconf(_SC_CLK_TCK), 100 on Linux). */
  utimeTicks: number;
  stimeTicks: number;
  nice: number;
  threads: number;
  /** Since boot, in clock ticks. */
  startTimeTicks: number;
  vsizeBytes: number;
  /** Resident pages (usually 4 KiB). */
  rssPages: number;
}

const STAT_RECORD = 'expected "pid (comm) state ppid …" with at least 24 fields (proc(5))';

/**
 * One record. comm sits between the first "(" and the LAST ")": it may hold spaces, parentheses
 * and even newlines, but no field after it holds a ")". Fields are numbered as in proc(5).
 */
function statRecord(text: string): ProcPidStat | null {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  // comm is 15 bytes, or up to 64 for kernel workers whose name includes their workqueue
  if (open <= 0 || close < open || close - open - 2 > 64 || text.includes('\n', close)) return null;
  const pid = uint(text.slice(0, open));
  const f = fields(text.slice(close + 1));
  const n = (k: number) => {
    const v = f[k - 3];
    return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
  };
  const values = { ppid: n(4), utime: n(14), stime: n(15), nice: n(19), threads: n(20), start: n(22), vsize: n(23), rss: n(24) };
  const state = f[0];
  if (Number.isNaN(pid) || state === undefined || !/^[A-Za-z]$/.test(state) || Object.values(values).some(Number.isNaN)) return null;
  return {
    pid,
    comm: text.slice(open + 2, close),
    state,
    ppid: values.ppid,
    utimeTicks: values.utime,
    stimeTicks: values.stime,
    nice: values.nice,
    threads: values.threads,
    startTimeTicks: values.start,
    vsizeBytes: values.vsize,
    rssPages: values.rss,
  };
}

/** One /proc/[pid]/stat file. */
export function parseProcPidStat(text: string): ProcPidStat {
  const r = statRecord(text.replace(/\n$/, ''));
  if (r === null) throw new ParseError(STAT_RECORD, 1);
  return r;
}

/**
 * PROC_PID_STAT_COMMAND's output: one record per line, except that a comm holding a newline
 * spreads its record over the next line(s), so an unreadable line is joined with the following
 * ones (up to 15, a comm's length; never with a line that is a record itself) before it is skipped.
 */
export function parseProcPidStats(text: string): { processes: ProcPidStat[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const processes: ProcPidStat[] = [];
  const skipped: SkippedLine[] = [];
  for (let i = 0; i < ls.length; i++) {
    let record = ls[i]!;
    let r = statRecord(record);
    let end = i;
    // Join only lines that are no record of their own: a cut line must not swallow the next one.
    while (r === null && end + 1 < ls.length && end - i < 15 && /^\d+ \(/.test(record) && statRecord(ls[end + 1]!) === null) {
      record += `\n${ls[++end]}`;
      r = statRecord(record);
    }
    if (r === null) {
      if (ls[i]!.trim() !== '') skipLine(skipped, i + 1, ls[i]!, STAT_RECORD);
      continue;
    }
    processes.push(r);
    i = end;
  }
  failIfNothingRead(skipped, processes.length);
  return { processes, skipped };
}

// Pure parsers for docker/podman CLI output: `ps -a --format '{{json .}}'`, `stats
// --no-stream --format '{{json .}}'` and our compact `inspect` lines, plus the Docker Engine
// API shapes (containers list, one-shot stats, full inspect objects) and the old
// `docker stats` table, which carry the same facts.
import { ParseError, type SkippedLine } from './types.ts';
import {
  failIfNothingRead,
  fields,
  isObject,
  lines,
  num,
  obj,
  parseJson,
  skipLine,
  str,
  type JsonObject,
} from './text.ts';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  eb: 1e18,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
  eib: 1024 ** 6,
};

/**
 * "1.5MiB", "1.2kB", "648B", "116MB" → bytes. Docker prints decimal units (go-units
 * HumanSize: kB = 1000) for network and block I/O, binary ones (MiB) for memory; both exact.
 * "--" (no data) and anything unreadable → null.
 */
export function parseSize(text: string): number | null {
  const s = text.trim();
  let i = 0;
  while (i < s.length && ((s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) || s[i] === '.')) i++;
  if (i === 0) return null;
  const n = Number(s.slice(0, i));
  const mult = SIZE_UNITS[s.slice(i).trim().toLowerCase()];
  if (!Number.isFinite(n) || mult === undefined) return null;
  return Math.round(n * mult);
}

/** "1.5MiB / 7.7GiB" → [1572864, 8267812454]. */
export function parseSizePair(text: string | null): [number | null, number | null] {
  if (text === null) return [null, null];
  const slash = text.indexOf('/');
  if (slash < 0) return [parseSize(text), null];
  return [parseSize(text.slice(0, slash)), parseSize(text.slice(slash + 1))];
}

export function parsePercent(text: string | null): number | null {
  if (text === null) return null;
  const s = text.trim().replace(/%$/, '');
  if (s === '' || s === '--') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

export interface StatusInfo {
  state: string | null;
  health: string | null;
  exitCode: number | null;
  /** "Restarting (1) …" gives the exit code that triggered the restart. */
  restarting: boolean;
}

/**
 * Docker's human Status column: "Up 2 hours (healthy)", "Up 3 seconds (health: starting)",
 * "Up 5 minutes (Paused)", "Exited (1) 6 days ago", "Restarting (1) 5 seconds ago",
 * "Created", "Removal In Progress", "Dead".
 */
export function parseStatus(status: string): StatusInfo {
  const s = status.trim();
  const paren = /\(([^)]*)\)/g;
  const groups: string[] = [];
  for (let m = paren.exec(s); m !== null; m = paren.exec(s)) groups.push(m[1]!.trim());
  let health: string | null = null;
  for (const g of groups) {
    const h = g.replace(/^health:\s*/, '');
    if (h === 'healthy' || h === 'unhealthy' || h === 'starting') health = h;
  }
  const code = (): number | null => {
    const g = groups[0];
    return g !== undefined && /^-?\d+$/.test(g) ? Number(g) : null;
  };
  if (s.startsWith('Up ')) {
    return {
      state: groups.includes('Paused') ? 'paused' : 'running',
      health,
      exitCode: null,
      restarting: false,
    };
  }
  if (s.startsWith('Exited')) return { state: 'exited', health: null, exitCode: code(), restarting: false };
  if (s.startsWith('Restarting')) {
    return { state: 'restarting', health: null, exitCode: code(), restarting: true };
  }
  if (s.startsWith('Created')) return { state: 'created', health: null, exitCode: null, restarting: false };
  if (s.startsWith('Removal')) return { state: 'removing', health: null, exitCode: null, restarting: false };
  if (s.startsWith('Dead')) return { state: 'dead', health: null, exitCode: null, restarting: false };
  return { state: null, health, exitCode: null, restarting: false };
}

export interface PsEntry {
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  health: string | null;
  exitCode: number | null;
  createdAt: Date | null;
  startedAt: Date | null;
  restartCount: number | null;
}

/** "2021-03-10 00:15:05 +0100 CET" (docker's CreatedAt) → Date. */
export function parseDockerTime(text: string): Date | null {
  const t = fields(text);
  const [day, time, zone] = [t[0], t[1], t[2]];
  if (day === undefined || time === undefined) return null;
  let iso = `${day}T${time}`;
  if (zone !== undefined && /^[+-]\d{4}$/.test(zone)) iso += `${zone.slice(0, 3)}:${zone.slice(3)}`;
  else iso += 'Z';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function unixOrString(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return new Date(v * 1000);
  if (typeof v === 'string') {
    if (v.startsWith('0001-01-01')) return null; // Go's zero time: never started
    const d = /^\d{4}-\d\d-\d\dT/.test(v) ? new Date(v) : parseDockerTime(v);
    return d !== null && !Number.isNaN(d.getTime()) ? d : null;
  }
  return null;
}

/** Looks a key up under the spellings docker, podman and the Engine API use. */
function pick(o: JsonObject, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

function nameOf(v: unknown): string | null {
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first !== 'string' || first === '') return null;
  // docker ps joins several names (links) with ","; the API prefixes "/".
  return first.split(',')[0]!.replace(/^\//, '');
}

function psEntry(o: JsonObject, lineNo: number): PsEntry {
  const id = pick(o, 'ID', 'Id', 'id');
  const name = nameOf(pick(o, 'Names', 'Name', 'names'));
  if (typeof id !== 'string' || id === '' || name === null) {
    throw new ParseError('expected a container object with ID and Names', lineNo);
  }
  const status = pick(o, 'Status', 'status');
  const statusText = typeof status === 'string' ? status : '';
  const parsed = parseStatus(statusText);
  const stateRaw = pick(o, 'State', 'state');
  const state = (typeof stateRaw === 'string' && stateRaw !== '' ? stateRaw : parsed.state) ?? 'unknown';
  const image = pick(o, 'Image', 'image');
  const exit = pick(o, 'ExitCode');
  const restarts = pick(o, 'Restarts', 'RestartCount');
  return {
    id,
    name,
    image: typeof image === 'string' ? image : '',
    state: state.toLowerCase(),
    status: statusText,
    health: parsed.health,
    exitCode: typeof exit === 'number' ? exit : parsed.exitCode,
    createdAt: unixOrString(pick(o, 'CreatedAt', 'Created')),
    startedAt: unixOrString(pick(o, 'StartedAt')),
    restartCount: typeof restarts === 'number' ? restarts : null,
  };
}

interface JsonRecord {
  o: JsonObject;
  line: number;
}

/**
 * JSON objects one per line (CLI `--format '{{json .}}'`) or one JSON array (Engine API).
 * In the line form, lines that are not a JSON object (a warning the CLI printed among them)
 * are skipped; a whole document that is not JSON is unreadable.
 */
function jsonRecords(text: string, what: string, skipped: SkippedLine[]): JsonRecord[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    const arr = parseJson(text, what);
    if (!Array.isArray(arr)) throw new ParseError(`expected ${what}`, 1);
    return arr.map((o, i) => {
      if (!isObject(o)) throw new ParseError(`expected ${what}: element ${i} is not an object`, 1);
      return { o, line: 1 };
    });
  }
  const out: JsonRecord[] = [];
  const ls = lines(text);
  let first = true;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!.trim();
    if (l === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(l);
    } catch {
      o = undefined;
      if (first && trimmed.startsWith('{')) {
        // One pretty-printed object (a saved inspect or stats document), not JSON lines.
        const whole = parseJson(text, what);
        if (!isObject(whole)) throw new ParseError(`expected ${what}`, i + 1);
        return [{ o: whole, line: i + 1 }];
      }
    }
    first = false;
    if (isObject(o)) out.push({ o, line: i + 1 });
    else skipLine(skipped, i + 1, l, `expected ${what}: one JSON object per line`);
  }
  return out;
}

/** Reads each record; one `read` rejects (ParseError) is skipped, not fatal. */
function readRecords<T>(records: JsonRecord[], skipped: SkippedLine[], read: (r: JsonRecord) => T): T[] {
  const out: T[] = [];
  for (const r of records) {
    try {
      out.push(read(r));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      skipLine(skipped, r.line, JSON.stringify(r.o), err.message);
    }
  }
  failIfNothingRead(skipped, out.length);
  return out;
}

export function parseDockerPs(text: string): { containers: PsEntry[]; skipped: SkippedLine[] } {
  const skipped: SkippedLine[] = [];
  const records = jsonRecords(text, "docker ps --format '{{json .}}' output", skipped);
  return { containers: readRecords(records, skipped, ({ o, line }) => psEntry(o, line)), skipped };
}

export interface StatsEntry {
  id: string;
  name: string | null;
  cpuPercent: number | null;
  memUsageBytes: number | null;
  memLimitBytes: number | null;
  memPercent: number | null;
  netRxBytes: number | null;
  netTxBytes: number | null;
  blockReadBytes: number | null;
  blockWriteBytes: number | null;
  pids: number | null;
}

function cliStats(o: JsonObject, lineNo: number): StatsEntry {
  const id = pick(o, 'ID', 'id', 'Container', 'ContainerID');
  if (typeof id !== 'string' || id === '') {
    throw new ParseError('expected a stats object with an ID', lineNo);
  }
  const s = (...keys: string[]): string | null => {
    const v = pick(o, ...keys);
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
  };
  const [memUsage, memLimit] = parseSizePair(s('MemUsage', 'mem_usage'));
  const [rx, tx] = parseSizePair(s('NetIO', 'net_io'));
  const [br, bw] = parseSizePair(s('BlockIO', 'block_io'));
  const pids = Number(s('PIDs', 'PIDS', 'pids') ?? Number.NaN);
  return {
    id,
    name: s('Name', 'name'),
    cpuPercent: parsePercent(s('CPUPerc', 'cpu_percent')),
    memUsageBytes: memUsage,
    memLimitBytes: memLimit,
    memPercent: parsePercent(s('MemPerc', 'mem_percent')),
    netRxBytes: rx,
    netTxBytes: tx,
    blockReadBytes: br,
    blockWriteBytes: bw,
    pids: Number.isInteger(pids) && pids >= 0 ? pids : null,
  };
}

/**
 * One Engine API stats object (`GET /containers/{id}/stats?stream=false`), computed the way
 * the docker CLI does: CPU % from the cpu/precpu delta, memory minus page cache.
 */
function apiStats(o: JsonObject): StatsEntry {
  const cpu = obj(o, 'cpu_stats');
  const pre = obj(o, 'precpu_stats');
  const cpuDelta = (num(obj(cpu, 'cpu_usage'), 'total_usage') ?? 0) - (num(obj(pre, 'cpu_usage'), 'total_usage') ?? 0);
  const sysDelta = (num(cpu, 'system_cpu_usage') ?? 0) - (num(pre, 'system_cpu_usage') ?? 0);
  const percpu = obj(cpu, 'cpu_usage')?.percpu_usage;
  const online = num(cpu, 'online_cpus') ?? (Array.isArray(percpu) ? percpu.length : 1);
  const hasPre = num(pre, 'system_cpu_usage') !== null;
  const mem = obj(o, 'memory_stats');
  const memStats = obj(mem, 'stats');
  const usage = num(mem, 'usage');
  // cgroup v1 reports page cache as total_inactive_file, v2 as inactive_file (CLI ≥ 19.03).
  const cache = num(memStats, 'total_inactive_file') ?? num(memStats, 'inactive_file') ?? 0;
  let rx: number | null = null;
  let tx: number | null = null;
  const networks = obj(o, 'networks');
  if (networks !== undefined) {
    rx = 0;
    tx = 0;
    for (const n of Object.values(networks)) {
      rx += num(n, 'rx_bytes') ?? 0;
      tx += num(n, 'tx_bytes') ?? 0;
    }
  }
  let br: number | null = null;
  let bw: number | null = null;
  const io = obj(o, 'blkio_stats')?.io_service_bytes_recursive;
  if (Array.isArray(io)) {
    br = 0;
    bw = 0;
    for (const e of io) {
      const op = str(e, 'op')?.toLowerCase();
      if (op === 'read') br += num(e, 'value') ?? 0;
      if (op === 'write') bw += num(e, 'value') ?? 0;
    }
  }
  const limit = num(mem, 'limit');
  const memUsage = usage === null ? null : usage - cache;
  const id = str(o, 'id') ?? '';
  return {
    id,
    name: str(o, 'name')?.replace(/^\//, '') ?? null,
    cpuPercent: hasPre && sysDelta > 0 && cpuDelta >= 0 ? (cpuDelta / sysDelta) * online * 100 : null,
    memUsageBytes: memUsage,
    memLimitBytes: limit,
    memPercent: memUsage !== null && limit !== null && limit > 0 ? (memUsage / limit) * 100 : null,
    netRxBytes: rx,
    netTxBytes: tx,
    blockReadBytes: br,
    blockWriteBytes: bw,
    pids: num(obj(o, 'pids_stats'), 'current'),
  };
}

/**
 * The old `docker stats --no-stream` table: columns are separated by runs of 2+ spaces
 * except inside "a / b" pairs, so split on 3+ spaces after joining the pairs.
 */
function tableStats(text: string, skipped: SkippedLine[]): StatsEntry[] {
  const ls = lines(text);
  const hasName = / NAME /.test(ls[0] ?? '');
  const hasPids = / PIDS/.test(ls[0] ?? '');
  const need = 6 + (hasName ? 1 : 0) + (hasPids ? 1 : 0);
  const rows: JsonRecord[] = [];
  for (let i = 1; i < ls.length; i++) {
    const line = ls[i]!.trim();
    if (line === '') continue;
    const cols = line.replace(/\s+\/\s+/g, ' / ').split(/\s{2,}/);
    if (cols.length !== need) {
      skipLine(skipped, i + 1, line, `expected a docker stats table row with ${need} columns`);
      continue;
    }
    const at = (k: number): string | null => cols[hasName || k === 0 ? k : k - 1] ?? null;
    rows.push({
      o: {
        ID: at(0),
        Name: hasName ? at(1) : null,
        CPUPerc: at(2),
        MemUsage: at(3),
        MemPerc: at(4),
        NetIO: at(5),
        BlockIO: at(6),
        PIDs: hasPids ? at(7) : null,
      },
      line: i + 1,
    });
  }
  return readRecords(rows, skipped, ({ o, line }) => cliStats(o, line));
}

export function parseDockerStats(text: string): { containers: StatsEntry[]; skipped: SkippedLine[] } {
  const skipped: SkippedLine[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('CONTAINER')) return { containers: tableStats(trimmed, skipped), skipped };
  const records = jsonRecords(text, "docker stats --format '{{json .}}' output", skipped);
  const containers = readRecords(records, skipped, ({ o, line }) =>
    isObject(o.cpu_stats) || isObject(o.memory_stats) ? apiStats(o) : cliStats(o, line),
  );
  return { containers, skipped };
}

export interface InspectEntry {
  id: string;
  restartCount: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  exitCode: number | null;
  state: string | null;
  health: string | null;
}

/**
 * Our `inspect --format '{"Id":…,"RestartCount":…,"State":…}'` lines, or full inspect
 * objects (an array, as `docker inspect` prints them): same keys either way.
 */
export function parseDockerInspect(text: string): { containers: InspectEntry[]; skipped: SkippedLine[] } {
  const skipped: SkippedLine[] = [];
  const records = jsonRecords(text, 'docker inspect JSON', skipped);
  const containers = readRecords(records, skipped, ({ o, line }) => {
    const id = pick(o, 'Id', 'ID');
    if (typeof id !== 'string' || id === '') {
      throw new ParseError('expected an inspect object with Id', line);
    }
    const state = obj(o, 'State');
    const health = obj(state, 'Health') ?? obj(state, 'Healthcheck');
    return {
      id,
      restartCount: num(o, 'RestartCount'),
      startedAt: unixOrString(state?.StartedAt),
      finishedAt: unixOrString(state?.FinishedAt),
      exitCode: num(state, 'ExitCode'),
      state: str(state, 'Status')?.toLowerCase() ?? null,
      health: str(health, 'Status') || null,
    };
  });
  return { containers, skipped };
}

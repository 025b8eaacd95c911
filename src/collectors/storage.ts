// Storage beyond SMART: Linux software RAID (/proc/mdstat), ZFS pools (`zpool list`, `zpool
// status`) and btrfs device error counters. Each has the constant command the storage collector
// runs and a pure parser (ParseError on unreadable input; lines it does not recognise are
// returned as `skipped`). The commands never `exit`, so the collector can join them into one
// exec between section markers.
import type { SkippedLine } from './types.ts';
import { ParseError } from './types.ts';
import { failIfNothingRead, fields, lines, skipLine, uint } from './text.ts';

/** sbin is often missing from a non-login SSH session's PATH; zpool translates its labels. */
export const SBIN_C = 'PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"; export PATH; LC_ALL=C; export LC_ALL';

export const MDSTAT_COMMAND = 'cat /proc/mdstat';

export interface MdMember {
  name: string;
  /** The role number in brackets (sda1[2] → 2). */
  slot: number | null;
  faulty: boolean;
  spare: boolean;
  writeMostly: boolean;
  journal: boolean;
  replacement: boolean;
}

export type MdSyncAction = 'resync' | 'recovery' | 'check' | 'repair' | 'reshape';

export interface MdArray {
  name: string;
  /** "active" or "inactive" as mdstat prints it. */
  state: string;
  readOnly: 'read-only' | 'auto-read-only' | null;
  /** raid0, raid1, raid10, linear, …; null for an inactive array that names none. */
  level: string | null;
  sizeBytes: number | null;
  /** "1.2", "external:imsm"; null for the old 0.90 format, which prints none. */
  superblock: string | null;
  /** Slots the array has ([n/m]'s n); for raid0/linear, which print none, its members. */
  totalDevices: number | null;
  /** Slots in sync ([n/m]'s m). */
  activeDevices: number | null;
  /** Fewer slots in sync than the array has. */
  degraded: boolean;
  /** "UU_U": U in sync, _ missing or failed. */
  slotStatus: string | null;
  members: MdMember[];
  syncAction: MdSyncAction | null;
  syncPercent: number | null;
  /**
   * running, or waiting: delayed (another array on the same disks syncs first), pending
   * (read-only until written), remote (another node of a clustered md syncs it).
   */
  syncState: 'running' | 'delayed' | 'pending' | 'remote' | null;
  syncFinishMinutes: number | null;
  syncSpeedKiBPerSec: number | null;
}

const MD_HEADER = /^(\S+)\s+:\s+(active|inactive)\b(.*)$/;
const MD_MEMBER = /^(.+)\[(\d+)\]((?:\([A-Z]\))*)$/;
const MD_LEVEL = /^(raid\d+|linear|multipath|faulty)$/;
const MD_SYNC = /^\s*(?:\[[=>.]*\]\s*)?(resync|recovery|check|repair|reshape)\s*=\s*(\d+(?:\.\d+)?)%(?:\s*\(\d+\/\d+\))?(?:\s+finish=(\d+(?:\.\d+)?)min)?(?:\s+speed=(\d+)K\/sec)?/;
const MD_WAITING = /^\s*(resync|recovery|check|repair|reshape)\s*=\s*(DELAYED|PENDING|REMOTE)\b/;
const MD_STATUS = /^\s*(\d+) blocks\b/;

function mdArray(m: RegExpExecArray): MdArray {
  const [, name, state, rest] = m;
  const array: MdArray = {
    name: name!,
    state: state!,
    readOnly: null,
    level: null,
    sizeBytes: null,
    superblock: null,
    totalDevices: null,
    activeDevices: null,
    degraded: false,
    slotStatus: null,
    members: [],
    syncAction: null,
    syncPercent: null,
    syncState: null,
    syncFinishMinutes: null,
    syncSpeedKiBPerSec: null,
  };
  for (const token of fields(rest!)) {
    if (token === '(read-only)' || token === '(auto-read-only)') {
      array.readOnly = token.slice(1, -1) as MdArray['readOnly'];
      continue;
    }
    if (array.level === null && array.members.length === 0 && MD_LEVEL.test(token)) {
      array.level = token;
      continue;
    }
    const mm = MD_MEMBER.exec(token);
    if (mm === null) continue;
    const flags = mm[3]!;
    array.members.push({
      name: mm[1]!,
      slot: uint(mm[2]),
      faulty: flags.includes('(F)'),
      spare: flags.includes('(S)'),
      writeMostly: flags.includes('(W)'),
      journal: flags.includes('(J)'),
      replacement: flags.includes('(R)'),
    });
  }
  return array;
}

/** The "N blocks super 1.2 … [n/m] [UU_]" line under an array. */
function mdStatus(a: MdArray, line: string): void {
  a.sizeBytes = uint(MD_STATUS.exec(line)?.[1]) * 1024;
  a.superblock = /\bsuper (\S+)/.exec(line)?.[1] ?? null;
  const counts = /\[(\d+)\/(\d+)\]\s*\[([U_]+)\]/.exec(line);
  if (counts !== null) {
    a.totalDevices = uint(counts[1]);
    a.activeDevices = uint(counts[2]);
    a.slotStatus = counts[3]!;
  }
}

/** Counts for arrays whose status line has no [n/m]: raid0/linear need every member present. */
function mdFinish(a: MdArray): void {
  if (a.totalDevices === null && a.state === 'active') {
    a.totalDevices = a.activeDevices = a.members.filter((m) => !m.spare && !m.faulty).length;
  }
  a.degraded = a.totalDevices !== null && a.activeDevices !== null && a.activeDevices < a.totalDevices;
}

function mdLine(a: MdArray, line: string): boolean {
  const sync = MD_SYNC.exec(line);
  if (sync !== null) {
    a.syncAction = sync[1] as MdSyncAction;
    a.syncPercent = Number(sync[2]);
    a.syncState = 'running';
    a.syncFinishMinutes = sync[3] === undefined ? null : Number(sync[3]);
    a.syncSpeedKiBPerSec = sync[4] === undefined ? null : Number(sync[4]);
    return true;
  }
  const waiting = MD_WAITING.exec(line);
  if (waiting !== null) {
    a.syncAction = waiting[1] as MdSyncAction;
    a.syncState = waiting[2]!.toLowerCase() as MdArray['syncState'];
    return true;
  }
  if (MD_STATUS.test(line)) {
    mdStatus(a, line);
    return true;
  }
  return /^\s*bitmap:/.test(line);
}

/** /proc/mdstat: arrays with their members, slot counts and resync/recovery/check progress. */
export function parseMdstat(text: string): { personalities: string[]; arrays: MdArray[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const arrays: MdArray[] = [];
  const skipped: SkippedLine[] = [];
  let personalities: string[] | null = null;
  let current: MdArray | null = null;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '') {
      current = null;
      continue;
    }
    const header = MD_HEADER.exec(line);
    if (header !== null) {
      current = mdArray(header);
      arrays.push(current);
    } else if (line.startsWith('Personalities :')) {
      personalities = [...line.matchAll(/\[([^\]]+)\]/g)].map((p) => p[1]!);
    } else if (line.startsWith('unused devices:')) {
      current = null;
    } else if (current === null || !/^\s/.test(line) || !mdLine(current, line)) {
      skipLine(skipped, i + 1, line, 'expected an mdstat line ("mdN : active …", its status, progress or bitmap)');
    }
  }
  if (personalities === null && arrays.length === 0) {
    throw new ParseError('expected /proc/mdstat ("Personalities : …" then one block per array)', skipped[0]?.line ?? 1);
  }
  for (const a of arrays) mdFinish(a);
  return { personalities: personalities ?? [], arrays, skipped };
}

/** Sizes zfs prints without -p ("1.66T", "704G", "0B"): powers of 1024, as zfs_nicenum. */
export function zfsNumber(token: string | undefined): number | null {
  if (token === undefined || token === '-' || token === '') return null;
  const m = /^(\d+(?:\.\d+)?)([BKMGTPE]?)$/.exec(token);
  if (m === null) return null;
  const exp = 'BKMGTPE'.indexOf(m[2] || 'B');
  return Math.round(Number(m[1]) * 1024 ** exp);
}

/** "8%", "8", "1.83x", "1.00" → number; "-" → null. */
function zfsRatio(token: string | undefined): number | null {
  if (token === undefined) return null;
  const m = /^(\d+(?:\.\d+)?)[%x]?$/.exec(token);
  return m === null ? null : Number(m[1]);
}

const POOL_HEALTH = new Set(['ONLINE', 'DEGRADED', 'FAULTED', 'OFFLINE', 'UNAVAIL', 'REMOVED', 'SUSPENDED']);

export interface ZpoolListEntry {
  name: string;
  health: string;
  sizeBytes: number | null;
  allocBytes: number | null;
  freeBytes: number | null;
  fragPercent: number | null;
  capPercent: number | null;
  dedupRatio: number | null;
}

/** Telegraf's column list: the same on Linux and FreeBSD, bytes exact with -p. */
export const ZPOOL_LIST_ARGS = 'list -Hp -o name,health,size,alloc,free,fragmentation,capacity,dedupratio';
export const ZPOOL_LIST_COMMAND = `${SBIN_C}; zpool ${ZPOOL_LIST_ARGS}`;

type ZpoolColumns = Partial<Record<'size' | 'alloc' | 'free' | 'frag' | 'cap' | 'dedup', number>> & { health: number };

const LIST_HEADER: Record<string, keyof ZpoolColumns> = {
  HEALTH: 'health', SIZE: 'size', ALLOC: 'alloc', FREE: 'free', FRAG: 'frag', CAP: 'cap', DEDUP: 'dedup',
};

/**
 * Where each value sits in a row without header: ZPOOL_LIST_COMMAND's order when the health is
 * second, else zpool's default order (NAME SIZE ALLOC FREE [CKPOINT] [EXPANDSZ] FRAG CAP DEDUP
 * HEALTH ALTROOT, older releases without some), read backwards from the health column.
 */
function headerlessColumns(t: string[]): ZpoolColumns | null {
  if (POOL_HEALTH.has(t[1] ?? '')) return { health: 1, size: 2, alloc: 3, free: 4, frag: 5, cap: 6, dedup: 7 };
  const h = t.findIndex((v, i) => i > 0 && POOL_HEALTH.has(v));
  if (h < 6) return null;
  return { health: h, size: 1, alloc: 2, free: 3, dedup: h - 1, cap: h - 2, ...(h - 3 > 3 ? { frag: h - 3 } : {}) };
}

/**
 * `zpool list` in its -Hp form (ZPOOL_LIST_COMMAND), with a header, human-readable sizes, or
 * -v (vdev rows are indented, section rows such as "log" carry no health): pools only.
 */
export function parseZpoolList(text: string): { pools: ZpoolListEntry[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const pools: ZpoolListEntry[] = [];
  const skipped: SkippedLine[] = [];
  let header: ZpoolColumns | null = null;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '' || line.trim() === 'no pools available') continue;
    const t = line.split(/[\t ]+/).filter((x) => x !== '');
    if (t[0] === 'NAME') {
      header = { health: -1 };
      t.forEach((name, k) => {
        const key = LIST_HEADER[name];
        if (key !== undefined) header![key] = k;
      });
      continue;
    }
    if (/^\s/.test(line)) continue; // a vdev row of -v
    const cols = header ?? headerlessColumns(t);
    const health = cols === null ? undefined : t[cols.health];
    if (cols === null || health === undefined || !POOL_HEALTH.has(health)) {
      // A section row of -v ("log  -  -  -") has no values; anything else is not a pool row.
      if (t.length < 2 || t.slice(1).some((v) => v !== '-')) {
        skipLine(skipped, i + 1, line, 'expected a pool row: name, health, size, alloc, free, frag, cap');
      }
      continue;
    }
    const at = (k: number | undefined) => (k === undefined ? undefined : t[k]);
    pools.push({
      name: t[0]!,
      health,
      sizeBytes: zfsNumber(at(cols.size)),
      allocBytes: zfsNumber(at(cols.alloc)),
      freeBytes: zfsNumber(at(cols.free)),
      fragPercent: zfsRatio(at(cols.frag)),
      capPercent: zfsRatio(at(cols.cap)),
      dedupRatio: zfsRatio(at(cols.dedup)),
    });
  }
  failIfNothingRead(skipped, pools.length);
  return { pools, skipped };
}

export const ZPOOL_STATUS_ARGS = 'status -p';
export const ZPOOL_STATUS_COMMAND = `${SBIN_C}; zpool ${ZPOOL_STATUS_ARGS}`;

export interface ZpoolDevice {
  name: string;
  state: string | null;
  read: number | null;
  write: number | null;
  cksum: number | null;
  /** Text after the counters: "was /dev/sdb1", "cannot open", "(resilvering)", "currently in use". */
  note: string | null;
  devices: ZpoolDevice[];
}

export interface ZpoolScan {
  /** scrub or resilver; null when none was requested. */
  kind: 'scrub' | 'resilver' | null;
  inProgress: boolean;
  /** "X% done" while running, 100 once finished, null otherwise (none, canceled). */
  percent: number | null;
  /** Errors the last finished scan found ("with N errors"). */
  errors: number | null;
  text: string | null;
}

export interface ZpoolStatus {
  name: string;
  state: string | null;
  status: string | null;
  action: string | null;
  see: string | null;
  scan: ZpoolScan;
  /** "No known data errors", or what zpool says instead. */
  errors: string | null;
  /** Files named under "errors:" (zpool status -v). */
  errorFiles: string[];
  /** The data vdevs (children of the pool's own row). */
  devices: ZpoolDevice[];
  logs: ZpoolDevice[];
  cache: ZpoolDevice[];
  special: ZpoolDevice[];
  dedup: ZpoolDevice[];
  spares: { name: string; state: string; note: string | null }[];
}

const STATUS_KEYS = new Set(['pool', 'id', 'state', 'status', 'action', 'see', 'scan', 'scrub', 'config', 'errors', 'remove', 'checkpoint', 'dedup']);
const CONFIG_SECTIONS = new Set(['logs', 'cache', 'spares', 'special', 'dedup']);
type Section = 'devices' | 'logs' | 'cache' | 'special' | 'dedup' | 'spares';

function zpoolScan(text: string | null): ZpoolScan {
  const t = text ?? '';
  const kind = /^(scrub|resilver)/.exec(t)?.[1] ?? null;
  const inProgress = /in progress/.test(t);
  const done = /(\d+(?:\.\d+)?)% done/.exec(t);
  const finished = !inProgress && /\b(repaired|resilvered|completed)\b/.test(t);
  const errors = /with (\d+) errors/.exec(t);
  return {
    kind: kind as ZpoolScan['kind'],
    inProgress,
    percent: done !== null ? Number(done[1]) : finished ? 100 : null,
    errors: errors === null || inProgress ? null : uint(errors[1]),
    text,
  };
}

function newPool(name: string): ZpoolStatus {
  return {
    name, state: null, status: null, action: null, see: null, scan: zpoolScan(null), errors: null,
    errorFiles: [], devices: [], logs: [], cache: [], special: [], dedup: [], spares: [],
  };
}

/** Columns of a config row, from where a tab stop (8) or space puts its name. */
function indentOf(line: string): number {
  let col = 0;
  for (const c of line) {
    if (c === '\t') col = (Math.floor(col / 8) + 1) * 8;
    else if (c === ' ') col++;
    else break;
  }
  return col;
}

/** Reads a pool's config rows into its vdev tree; false for a row it cannot read. */
class ConfigReader {
  private rootIndent = -1;
  private section: Section = 'devices';
  private stack: { indent: number; list: ZpoolDevice[] }[] = [];
  constructor(private readonly pool: ZpoolStatus) {}

  row(line: string): boolean {
    const indent = indentOf(line);
    const t = fields(line);
    if (this.rootIndent < 0) {
      if (t[0] !== this.pool.name) return false;
      this.rootIndent = indent;
      this.stack = [{ indent, list: this.pool.devices }];
      return true;
    }
    if (t.length === 1 && CONFIG_SECTIONS.has(t[0]!) && indent <= this.rootIndent + 2) {
      this.section = t[0] as Section;
      this.stack = this.section === 'spares' ? [] : [{ indent, list: this.pool[this.section as Exclude<Section, 'spares'>] }];
      return true;
    }
    const counters = t.slice(2, 5).map(zfsNumber);
    const full = t.length >= 5 && counters.every((c) => c !== null);
    if (!full && t.length !== 2 && this.section !== 'spares') return false;
    if (t.length < 2) return false;
    const note = t.slice(full ? 5 : 2).join(' ') || null;
    if (this.section === 'spares') {
      this.pool.spares.push({ name: t[0]!, state: t[1]!, note });
      return true;
    }
    const device: ZpoolDevice = {
      name: t[0]!, state: t[1]!, read: full ? counters[0]! : null, write: full ? counters[1]! : null,
      cksum: full ? counters[2]! : null, note, devices: [],
    };
    while (this.stack.length > 1 && this.stack[this.stack.length - 1]!.indent >= indent) this.stack.pop();
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined || parent.indent >= indent) return false;
    parent.list.push(device);
    this.stack.push({ indent, list: device.devices });
    return true;
  }
}

/**
 * `zpool status [-p] [-v]` of one or more pools: state, status/action text, the scan, the vdev
 * tree with READ/WRITE/CKSUM (exact with -p; "11.7K" otherwise, read as 11.7 × 1024), log,
 * cache, special, dedup and spare devices, and the errors line with any files under it.
 */
export function parseZpoolStatus(text: string): { pools: ZpoolStatus[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const pools: ZpoolStatus[] = [];
  const skipped: SkippedLine[] = [];
  let pool: ZpoolStatus | null = null;
  let key: string | null = null;
  let config: ConfigReader | null = null;
  let configRows = 0;
  const texts = new Map<string, string>();
  const flush = () => {
    if (pool === null) return;
    pool.state = texts.get('state') ?? null;
    pool.status = texts.get('status') ?? null;
    pool.action = texts.get('action') ?? null;
    pool.see = texts.get('see') ?? null;
    pool.errors = texts.get('errors') ?? null;
    pool.scan = zpoolScan(texts.get('scan') ?? texts.get('scrub') ?? null);
    texts.clear();
  };
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    const trimmed = line.trim();
    if (config !== null) {
      if (trimmed === '') {
        if (configRows > 0) config = null;
        continue;
      }
      if (/^NAME\s+STATE\b/.test(trimmed)) continue;
      configRows++;
      if (!config.row(line)) skipLine(skipped, i + 1, line, 'expected a config row: name state read write cksum');
      continue;
    }
    if (trimmed === '' || trimmed === 'no pools available') continue;
    const kv = /^\s*([a-z]+):(?:\s+(.*))?$/.exec(line);
    if (kv !== null && STATUS_KEYS.has(kv[1]!)) {
      key = kv[1]!;
      const value = (kv[2] ?? '').trim();
      if (key === 'pool') {
        flush();
        pool = newPool(value);
        pools.push(pool);
      } else if (pool !== null && key === 'config') {
        config = new ConfigReader(pool);
        configRows = 0;
      } else if (pool !== null) texts.set(key, value);
      continue;
    }
    if (pool !== null && key === 'errors' && /following files/.test(texts.get('errors') ?? '')) {
      pool.errorFiles.push(trimmed);
    } else if (pool !== null && key !== null && /^\s/.test(line) && texts.has(key)) {
      texts.set(key, `${texts.get(key)} ${trimmed}`.trim());
    } else {
      skipLine(skipped, i + 1, line, 'expected a zpool status line ("  pool: …", "state: …", …)');
    }
  }
  flush();
  failIfNothingRead(skipped, pools.length);
  return { pools, skipped };
}

export const BTRFS_DEVICE_STATS_COMMAND = [
  SBIN_C,
  'if ! command -v btrfs >/dev/null 2>&1; then echo @@ip:no-btrfs',
  // One filesystem mounted several times (subvolumes) is read once; /proc/mounts writes a
  // space in a mount point as \040, which printf %b turns back.
  "else seen=' '",
  '  while read -r dev mnt fstype rest; do',
  '    [ "$fstype" = btrfs ] || continue',
  '    case $seen in *" $dev "*) continue ;; esac',
  '    seen="$seen$dev "',
  '    m=$(printf \'%b\' "$mnt")',
  '    printf \'@@ip:fs %s\\n\' "$m"',
  '    btrfs device stats "$m" 2>&1',
  '  done </proc/mounts',
  'fi',
].join('\n');

export interface BtrfsDeviceStats {
  device: string;
  /** The filesystem's mount point when the output came from BTRFS_DEVICE_STATS_COMMAND. */
  mount: string | null;
  /** null when the output had no line for the counter. */
  writeIoErrs: number | null;
  readIoErrs: number | null;
  flushIoErrs: number | null;
  corruptionErrs: number | null;
  generationErrs: number | null;
}

const BTRFS_COUNTERS = {
  write_io_errs: 'writeIoErrs',
  read_io_errs: 'readIoErrs',
  flush_io_errs: 'flushIoErrs',
  corruption_errs: 'corruptionErrs',
  generation_errs: 'generationErrs',
} as const;

/** `btrfs device stats <path>` ("[/dev/sda].write_io_errs   0"), alone or as the command prints it. */
export function parseBtrfsDeviceStats(text: string): { devices: BtrfsDeviceStats[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const devices = new Map<string, BtrfsDeviceStats>();
  const skipped: SkippedLine[] = [];
  let mount: string | null = null;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '') continue;
    if (line.startsWith('@@ip:fs ')) {
      mount = line.slice('@@ip:fs '.length);
      continue;
    }
    const m = /^\[(.+)\]\.(\w+)\s+(\d+)\s*$/.exec(line);
    const key = m === null ? undefined : BTRFS_COUNTERS[m[2] as keyof typeof BTRFS_COUNTERS];
    if (m === null || key === undefined) {
      skipLine(skipped, i + 1, line, 'expected "[<device>].<counter>   <number>"');
      continue;
    }
    const id = `${mount ?? ''}\0${m[1]!}`;
    let d = devices.get(id);
    if (d === undefined) {
      d = { device: m[1]!, mount, writeIoErrs: null, readIoErrs: null, flushIoErrs: null, corruptionErrs: null, generationErrs: null };
      devices.set(id, d);
    }
    d[key] = uint(m[3]);
  }
  failIfNothingRead(skipped, devices.size);
  return { devices: [...devices.values()], skipped };
}

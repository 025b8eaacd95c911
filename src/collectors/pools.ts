// Storage collector: Linux software RAID (/proc/mdstat), ZFS pools (`zpool list` + `zpool
// status`) and btrfs device error counters in ONE exec per poll, between section markers; the
// parsers are storage.ts's. A part the host does not have (no md module, zpool not installed,
// no btrfs mounted) is left out quietly; the collector is UNAVAILABLE only when it has none.
import type { DriveHealth, PoolState, StoragePoolRow } from '../storage/types.ts';
import { emptyBatch, POOL_STATES } from '../storage/types.ts';
import {
  BTRFS_DEVICE_STATS_COMMAND,
  parseBtrfsDeviceStats,
  parseMdstat,
  parseZpoolList,
  parseZpoolStatus,
  SBIN_C,
  ZPOOL_LIST_ARGS,
  ZPOOL_STATUS_ARGS,
  type BtrfsDeviceStats,
  type MdArray,
  type ZpoolDevice,
  type ZpoolListEntry,
  type ZpoolStatus,
} from './storage.ts';
import { SUDO_DENIED } from './drives.ts';
import { firstLine, splitSections, type Section } from './text.ts';
import { CollectorError, ParseError, type CollectContext, type Collector, type CollectorErrorReason, type CollectResult, type SkippedLine } from './types.ts';

/**
 * zpool as the connecting user first; only when that is refused for want of privileges, through
 * `sudo -n` (docs/host-commands.md gives the sudoers line), so hosts where /dev/zfs is readable
 * never touch sudo.
 */
export const STORAGE_COMMAND = [
  SBIN_C,
  'echo @@ip:mdstat',
  'cat /proc/mdstat 2>/dev/null || echo @@ip:no-mdstat',
  'if command -v zpool >/dev/null 2>&1; then',
  `  Z=zpool; out=$($Z ${ZPOOL_LIST_ARGS} 2>&1); rc=$?`,
  '  case $rc:$out in',
  '    0:*) ;;',
  `    *ermission*|*"must be run as root"*) if command -v sudo >/dev/null 2>&1; then Z='sudo -n zpool'; out=$($Z ${ZPOOL_LIST_ARGS} 2>&1); rc=$?; fi ;;`,
  '  esac',
  '  printf \'@@ip:zpool-list %s\\n%s\\n\' "$rc" "$out"',
  `  echo @@ip:zpool-status; $Z ${ZPOOL_STATUS_ARGS} 2>&1; echo "@@ip:rc $?"`,
  'else echo @@ip:no-zpool; fi',
  'echo @@ip:btrfs',
  BTRFS_DEVICE_STATS_COMMAND,
  'echo @@ip:end',
].join('\n');

/** A part of the output the host does not offer, and why. */
interface Absent {
  reason: CollectorErrorReason;
  message: string;
}

export interface StorageOutput {
  arrays: MdArray[];
  zpools: { list: ZpoolListEntry[]; status: ZpoolStatus[] };
  btrfs: BtrfsDeviceStats[];
  absent: Absent[];
  problems: string[];
  skipped: SkippedLine[];
  complete: boolean;
}

const DENIED = new RegExp(`permission denied|operation not permitted|must be run as root|${SUDO_DENIED.source}`, 'i');

/** Runs one parser on one section; a ParseError becomes a problem, its skipped lines are kept. */
function within<T extends { skipped: SkippedLine[] }>(out: StorageOutput, section: string, body: string, parse: (text: string) => T): T | null {
  try {
    const r = parse(body);
    for (const s of r.skipped) out.skipped.push({ ...s, section });
    return r;
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.problems.push(`${section}: line ${err.line}: ${err.message}`);
    return null;
  }
}

function readZpool(out: StorageOutput, list: Section, status: Section | undefined, statusRc: Section | undefined): void {
  const rc = Number(list.args);
  if (rc !== 0) {
    const text = firstLine(list.body);
    if (DENIED.test(list.body)) out.absent.push({ reason: 'PERMISSION_DENIED', message: `zpool: ${text} (allow it in sudoers: see docs/host-commands.md)` });
    else if (/modules are not loaded|\/dev\/zfs/i.test(list.body)) out.absent.push({ reason: 'NOT_INSTALLED', message: `zpool: ${text}` });
    else out.problems.push(`zpool list exited ${list.args}: ${text}`);
    return;
  }
  out.zpools.list = within(out, 'zpool-list', list.body, parseZpoolList)?.pools ?? [];
  if (status === undefined || statusRc?.args !== '0') {
    if (out.zpools.list.length > 0) out.problems.push(`zpool status failed: ${firstLine(status?.body ?? '') || 'no output'}`);
    return;
  }
  out.zpools.status = within(out, 'zpool-status', status.body, parseZpoolStatus)?.pools ?? [];
}

/** The btrfs part: one `fs` section per mounted filesystem after the `btrfs` marker. */
function readBtrfs(out: StorageOutput, sections: Section[]): void {
  if (sections.some((s) => s.name === 'no-btrfs')) return;
  for (const s of sections.filter((x) => x.name === 'fs')) {
    if (DENIED.test(s.body)) {
      out.absent.push({ reason: 'PERMISSION_DENIED', message: `btrfs device stats ${s.args}: needs root (${firstLine(s.body)})` });
      continue;
    }
    const r = within(out, 'btrfs', `@@ip:fs ${s.args}\n${s.body}`, parseBtrfsDeviceStats);
    if (r !== null) out.btrfs.push(...r.devices);
  }
}

/** Parses the whole output of STORAGE_COMMAND. Pure. */
export function parseStorageOutput(output: string): StorageOutput {
  const sections = splitSections(output);
  const byName = (name: string) => sections.find((s) => s.name === name);
  const out: StorageOutput = { arrays: [], zpools: { list: [], status: [] }, btrfs: [], absent: [], problems: [], skipped: [], complete: byName('end') !== undefined };
  const mdstat = byName('mdstat');
  if (byName('no-mdstat') !== undefined || mdstat === undefined) out.absent.push({ reason: 'NOT_INSTALLED', message: 'no /proc/mdstat (md driver not loaded)' });
  else if (mdstat.body.trim() !== '') out.arrays = within(out, 'mdstat', mdstat.body, parseMdstat)?.arrays ?? [];
  const list = byName('zpool-list');
  if (byName('no-zpool') !== undefined) out.absent.push({ reason: 'NOT_INSTALLED', message: 'zpool not installed' });
  else if (list !== undefined) {
    const status = byName('zpool-status');
    readZpool(out, list, status, status === undefined ? undefined : sections[sections.indexOf(status) + 1]);
  }
  const btrfsAt = sections.findIndex((s) => s.name === 'btrfs');
  if (btrfsAt >= 0) readBtrfs(out, sections.slice(btrfsAt + 1));
  return out;
}

const asState = (v: string | null | undefined): PoolState => ((POOL_STATES as readonly string[]).includes(v ?? '') ? (v as PoolState) : 'UNKNOWN');

/**
 * The one rule for a pool's health, whatever its kind (issue 19's alert mapping): FAULTED,
 * UNAVAIL, REMOVED, SUSPENDED → CRITICAL; DEGRADED, OFFLINE, or any read/write/checksum error or
 * data error → WARNING; ONLINE → HEALTHY.
 */
export function poolHealth(state: PoolState, errorCount: number, dataErrors: boolean): DriveHealth {
  if (state === 'FAULTED' || state === 'UNAVAIL' || state === 'REMOVED' || state === 'SUSPENDED') return 'CRITICAL';
  if (state === 'DEGRADED' || state === 'OFFLINE' || errorCount > 0 || dataErrors) return 'WARNING';
  return state === 'ONLINE' ? 'HEALTHY' : 'UNKNOWN';
}

/** What every row of a poll carries. Written out field by field: a row literal that began with `...base` built a new hidden class, in the old generation, per pool per poll (docs/benchmarks.md, "A hidden class per object"). */
type RowBase = Pick<StoragePoolRow, 'time' | 'deviceId'>;
const sum = (values: (number | null)[]): number | null => (values.some((v) => v !== null) ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : null);

function leaves(devices: ZpoolDevice[]): ZpoolDevice[] {
  return devices.flatMap((d) => (d.devices.length === 0 ? [d] : leaves(d.devices)));
}

function zfsRow(base: RowBase, list: ZpoolListEntry | undefined, status: ZpoolStatus | undefined): StoragePoolRow {
  const name = list?.name ?? status!.name;
  const state = asState(status?.state ?? list?.health);
  const leafs = status ? leaves([...status.devices, ...status.logs, ...status.special, ...status.dedup]) : [];
  const counts = { read: sum(leafs.map((d) => d.read)), write: sum(leafs.map((d) => d.write)), cksum: sum(leafs.map((d) => d.cksum)) };
  const dataErrors = status?.errors != null && !/^No known data errors/i.test(status.errors);
  return {
    time: base.time,
    deviceId: base.deviceId,
    kind: 'ZFS',
    name,
    state,
    health: poolHealth(state, (counts.read ?? 0) + (counts.write ?? 0) + (counts.cksum ?? 0), dataErrors),
    level: null,
    sizeBytes: list?.sizeBytes ?? null,
    allocBytes: list?.allocBytes ?? null,
    freeBytes: list?.freeBytes ?? null,
    fragPercent: list?.fragPercent ?? null,
    capPercent: list?.capPercent ?? null,
    totalDevices: status ? leafs.length : null,
    activeDevices: status ? leafs.filter((d) => d.state === 'ONLINE').length : null,
    readErrors: counts.read,
    writeErrors: counts.write,
    cksumErrors: counts.cksum,
    scanKind: status?.scan.kind ?? null,
    scanInProgress: status?.scan.inProgress ?? false,
    scanPercent: status?.scan.percent ?? null,
    errors: status?.errors ?? null,
    devices: status ? { devices: status.devices, logs: status.logs, cache: status.cache, special: status.special, dedup: status.dedup, spares: status.spares } : null,
  };
}

function mdRow(base: RowBase, a: MdArray): StoragePoolRow {
  const state: PoolState = a.state === 'inactive' ? 'UNAVAIL' : a.degraded ? 'DEGRADED' : 'ONLINE';
  return {
    time: base.time,
    deviceId: base.deviceId,
    kind: 'MDRAID',
    name: a.name,
    state,
    health: poolHealth(state, 0, false),
    level: a.level,
    sizeBytes: a.sizeBytes,
    allocBytes: null,
    freeBytes: null,
    fragPercent: null,
    capPercent: null,
    totalDevices: a.totalDevices,
    activeDevices: a.activeDevices,
    readErrors: null,
    writeErrors: null,
    cksumErrors: null,
    scanKind: a.syncAction,
    scanInProgress: a.syncState !== null,
    scanPercent: a.syncPercent,
    errors: null,
    devices: { members: a.members, slotStatus: a.slotStatus, syncState: a.syncState, syncFinishMinutes: a.syncFinishMinutes, syncSpeedKiBPerSec: a.syncSpeedKiBPerSec },
  };
}

function btrfsRow(base: RowBase, mount: string, devices: BtrfsDeviceStats[]): StoragePoolRow {
  const read = sum(devices.map((d) => d.readIoErrs));
  const write = sum(devices.flatMap((d) => [d.writeIoErrs, d.flushIoErrs]));
  const cksum = sum(devices.flatMap((d) => [d.corruptionErrs, d.generationErrs]));
  return {
    time: base.time,
    deviceId: base.deviceId,
    kind: 'BTRFS',
    name: mount,
    state: 'ONLINE',
    health: poolHealth('ONLINE', (read ?? 0) + (write ?? 0) + (cksum ?? 0), false),
    level: null,
    sizeBytes: null,
    allocBytes: null,
    freeBytes: null,
    fragPercent: null,
    capPercent: null,
    totalDevices: devices.length,
    activeDevices: null,
    readErrors: read,
    writeErrors: write,
    cksumErrors: cksum,
    scanKind: null,
    scanInProgress: false,
    scanPercent: null,
    errors: null,
    devices: devices.map(({ mount: _m, ...d }) => d),
  };
}

export function storageRows(parsed: StorageOutput, deviceId: string, time: Date): StoragePoolRow[] {
  const base = { time, deviceId };
  const rows: StoragePoolRow[] = [];
  const status = new Map(parsed.zpools.status.map((p) => [p.name, p]));
  const listed = new Set(parsed.zpools.list.map((p) => p.name));
  for (const p of parsed.zpools.list) rows.push(zfsRow(base, p, status.get(p.name)));
  for (const p of parsed.zpools.status) if (!listed.has(p.name)) rows.push(zfsRow(base, undefined, p));
  for (const a of parsed.arrays) rows.push(mdRow(base, a));
  const mounts = new Map<string, BtrfsDeviceStats[]>();
  for (const d of parsed.btrfs) {
    const key = d.mount ?? d.device;
    mounts.set(key, [...(mounts.get(key) ?? []), d]);
  }
  for (const [mount, devices] of mounts) rows.push(btrfsRow(base, mount, devices));
  return rows;
}

export type StorageState = Record<string, never>;

export const storageCollector: Collector<StorageState> = {
  name: 'storage',
  description: 'Software RAID (/proc/mdstat), ZFS pools (zpool) and btrfs device error counters.',
  async collect(ctx: CollectContext<StorageState>): Promise<CollectResult<StorageState>> {
    const res = await ctx.runner.exec(STORAGE_COMMAND, { timeoutMs: ctx.timeoutMs });
    const parsed = parseStorageOutput(res.stdout);
    const batch = emptyBatch();
    batch.pools = storageRows(parsed, ctx.deviceId, ctx.time);
    if (batch.pools.length === 0 && parsed.problems.length === 0) {
      // Nothing to watch: say why in the words of each part (a denied one first: it can be fixed).
      const denied = parsed.absent.find((a) => a.reason === 'PERMISSION_DENIED');
      const parts = parsed.absent.map((a) => a.message);
      throw new CollectorError(denied ? 'PERMISSION_DENIED' : 'NO_DEVICES', `no md arrays, ZFS pools or readable btrfs filesystems${parts.length ? ` (${parts.join('; ')})` : ''}`);
    }
    const problems = [...parsed.problems];
    if (!parsed.complete) problems.push('storage output was cut short');
    return { batch, state: {}, problems, skipped: parsed.skipped };
  },
};

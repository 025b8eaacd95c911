/**
 * Rule semantics, pure: which (subject, value) observations a sample batch yields for a metric,
 * whether a value triggers or clears a rule (hysteresis), and the alert state machine one
 * observation drives (PENDING → FIRING → RESOLVED, `forSeconds`, `repeatSeconds`).
 * No I/O and no clock: evaluator.ts persists and publishes what `step` decides.
 */
import { DeviceStatus, type AlertMetric, type AlertState, type Comparator, type Severity } from '../db/generated/enums.ts';
import { counterIncrease, driveCounters, type DriveCounters } from '../collectors/drives.ts';
import { CHECK_STATUSES } from '../collectors/check-statuses.ts';
import { POOL_STATES, type ContainerRow, type DriveHealthRow, type GpuSampleRow, type SampleBatch, type SensorReadingRow, type StoragePoolRow } from '../storage/types.ts';

export type { AlertMetric, AlertState, Comparator, Severity };

export const ALERT_METRICS = [
  'CPU_PERCENT',
  'MEM_USED_PERCENT',
  'LOAD1',
  'LOAD5',
  'LOAD15',
  'FILESYSTEM_USED_PERCENT',
  'NET_RX_BYTES_PER_SEC',
  'NET_TX_BYTES_PER_SEC',
  'DISK_READ_BYTES_PER_SEC',
  'DISK_WRITE_BYTES_PER_SEC',
  'DRIVE_TEMPERATURE_C',
  'DRIVE_HEALTH',
  'CONTAINER_STATE',
  'CONTAINER_HEALTH',
  'CONTAINER_RESTARTS',
  'DEVICE_STATUS',
  'DRIVE_COUNTER_INCREASE',
  'POOL_STATE',
  'ARRAY_STATE',
  'SENSOR_TEMPERATURE_C',
  'FAN_RPM',
  'GPU_TEMPERATURE_C',
  'CHECK_STATUS',
  'CHECK_VALUE',
] as const satisfies readonly AlertMetric[];

/** Metrics compared as strings (EQ / NEQ against `rule.value`). */
export const STATE_METRICS: ReadonlySet<AlertMetric> = new Set<AlertMetric>(['DRIVE_HEALTH', 'CONTAINER_STATE', 'CONTAINER_HEALTH', 'DEVICE_STATUS', 'POOL_STATE', 'ARRAY_STATE', 'CHECK_STATUS']);

/** The values a state metric can take, for validation and docs. */
export const STATE_VALUES: Partial<Record<AlertMetric, readonly string[]>> = {
  DRIVE_HEALTH: ['HEALTHY', 'WARNING', 'CRITICAL', 'UNKNOWN'],
  CONTAINER_STATE: ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'],
  CONTAINER_HEALTH: ['healthy', 'unhealthy', 'starting'],
  DEVICE_STATUS: Object.values(DeviceStatus),
  // The state word (ZFS's, which md arrays map to: ONLINE, DEGRADED, UNAVAIL when inactive), not the health.
  POOL_STATE: POOL_STATES,
  ARRAY_STATE: POOL_STATES,
  CHECK_STATUS: CHECK_STATUSES,
};

/** CONTAINER_RESTARTS counts restarts within this window. */
export const RESTART_WINDOW_MS = 10 * 60_000;

/** A rule as users write it (validate.ts checks these). */
export interface RuleFields {
  name: string;
  metric: AlertMetric;
  comparator: Comparator;
  threshold: number | null;
  value: string | null;
  clearThreshold: number | null;
  /** Only this subject (metrics with `hasSubjects`); null: every subject. */
  subject: string | null;
  forSeconds: number;
  repeatSeconds: number | null;
  severity: Severity;
  deviceIds: string[];
  tags: string[];
  channelIds: string[];
  enabled: boolean;
}

/** A stored rule. */
export interface RuleSpec extends RuleFields {
  id: string;
  builtin: boolean;
}

export interface Observation {
  deviceId: string;
  /** '' for the device itself, else the mount point, drive serial (or path), container name. */
  subject: string;
  value: number | string;
  /** Set when the observation decides the condition by itself (a container in `restarting`). */
  holds?: boolean;
  /** Said after the value in the alert's message: a check's own message. */
  detail?: string;
}

/** Where a metric's observations come from: the sample families, or status events. */
export type MetricFamily = 'system' | 'filesystems' | 'drives' | 'containers' | 'status' | 'pools' | 'sensors' | 'gpus' | 'checks';


export function metricFamily(metric: AlertMetric): MetricFamily {
  switch (metric) {
    case 'FILESYSTEM_USED_PERCENT':
      return 'filesystems';
    case 'DRIVE_TEMPERATURE_C':
    case 'DRIVE_HEALTH':
    case 'DRIVE_COUNTER_INCREASE':
      return 'drives';
    case 'CONTAINER_STATE':
    case 'CONTAINER_HEALTH':
    case 'CONTAINER_RESTARTS':
      return 'containers';
    case 'DEVICE_STATUS':
      return 'status';
    case 'POOL_STATE':
    case 'ARRAY_STATE':
      return 'pools';
    case 'SENSOR_TEMPERATURE_C':
    case 'FAN_RPM':
      return 'sensors';
    case 'GPU_TEMPERATURE_C':
      return 'gpus';
    case 'CHECK_STATUS':
    case 'CHECK_VALUE':
      return 'checks';
    default:
      return 'system';
  }
}

/** Whether a metric's observations have a subject a rule may name (`RuleFields.subject`): all but those about the device itself. */
export const hasSubjects = (metric: AlertMetric): boolean => metricFamily(metric) !== 'system' && metricFamily(metric) !== 'status';

export const driveSubject = (d: Pick<DriveHealthRow, 'serial' | 'drive'>): string => d.serial || d.drive;

/** ARRAY_STATE covers md arrays; POOL_STATE ZFS pools and btrfs filesystems. */
const isArray = (p: Pick<StoragePoolRow, 'kind'>): boolean => p.kind === 'MDRAID';

/** "chip/label" ("nct6779/fan2"); two sensors of a device sharing both (two NVMe "Composite") add their hwmon id. */
export function sensorSubjects(rows: readonly SensorReadingRow[]): Map<SensorReadingRow, string> {
  const base = (r: SensorReadingRow) => `${r.deviceId}\u0000${r.chip ?? ''}/${r.label}`;
  const ids = new Map<string, Set<string>>();
  for (const r of rows) ids.set(base(r), (ids.get(base(r)) ?? new Set()).add(r.sensor));
  return new Map(rows.map((r) => {
    const name = `${r.chip ?? r.sensor.split('/')[0]}/${r.label}`;
    return [r, ids.get(base(r))!.size > 1 ? `${name} (${r.sensor.split('/')[0]})` : name];
  }));
}

/** "0/NVIDIA GeForce RTX 3090": the GPU's index (its UUID when unknown) and name. */
export const gpuSubject = (g: Pick<GpuSampleRow, 'gpu' | 'gpuIndex' | 'name'>): string => `${g.gpuIndex ?? g.gpu}${g.name ? `/${g.name}` : ''}`;

/**
 * Fans seen spinning, by `baselineKey(deviceId, subject)`: a fan at 0 RPM (sensor status STOPPED)
 * is observed for FAN_RPM only when it has a minimum set (fanN_min) or was seen spinning, since a
 * header with no fan plugged in reads 0 too. After a restart the memory is empty: an open alert on
 * a dead fan stays open (the fan is still reported) and resolves when it turns again.
 */
export class SpinningFans {
  private readonly seen = new Set<string>();
  /** Whether the reading counts: a turning fan (remembered), or a stopped one that has a minimum or was seen turning. */
  counts(r: Pick<SensorReadingRow, 'deviceId' | 'value' | 'min' | 'status'>, subject: string): boolean {
    if (r.value === null) return false;
    if (r.status !== 'STOPPED') return (this.seen.add(baselineKey(r.deviceId, subject)), true);
    return (r.min !== null && r.min > 0) || this.seen.has(baselineKey(r.deviceId, subject));
  }
}

/** Acknowledged drive counters by `baselineKey(deviceId, driveSubject)`. */
export type DriveBaselines = ReadonlyMap<string, Partial<DriveCounters>>;
export const baselineKey = (deviceId: string, subject: string): string => `${deviceId}\u0000${subject}`;

/**
 * Restart counts seen per container, so CONTAINER_RESTARTS can report "restarts within the
 * last 10 minutes" (Docker only reports the total since the container was created).
 */
export class RestartHistory {
  private readonly seen = new Map<string, { at: number; count: number }[]>();

  /** Records a count and returns its increase within the window; a count that went down (a recreated container) starts over. */
  record(deviceId: string, name: string, count: number, at: number): number {
    const key = `${deviceId}\u0000${name}`;
    let list = (this.seen.get(key) ?? []).filter((p) => at - p.at <= RESTART_WINDOW_MS);
    const last = list.at(-1);
    if (last && count < last.count) list = [];
    list.push({ at, count });
    this.seen.set(key, list);
    return count - Math.min(...list.map((p) => p.count));
  }

  /** Forgets containers not seen for a window (removed ones). */
  prune(now: number): void {
    for (const [key, list] of this.seen) {
      const last = list.at(-1);
      if (!last || now - last.at > RESTART_WINDOW_MS) this.seen.delete(key);
    }
  }
}

/** One literal, not `{ ...base, value }`: a literal beginning with a spread built a new hidden class, in the old generation, per container per poll (docs/benchmarks.md, "A hidden class per object"). */
const containerSeen = (c: ContainerRow, value: string | number): Observation => ({ deviceId: c.deviceId, subject: c.name, value });

function containerObservation(metric: AlertMetric, c: ContainerRow, restarts: RestartHistory, now: number): Observation | null {
  switch (metric) {
    case 'CONTAINER_STATE':
      return containerSeen(c, c.state);
    case 'CONTAINER_HEALTH':
      return c.health === null ? null : containerSeen(c, c.health);
    case 'CONTAINER_RESTARTS': {
      const increase = c.restartCount === null ? 0 : restarts.record(c.deviceId, c.name, c.restartCount, now);
      // Docker's `restarting` state is a restart loop in progress whatever the count says.
      return c.state === 'restarting' ? { deviceId: c.deviceId, subject: c.name, value: 'restarting', holds: true } : c.restartCount === null ? null : containerSeen(c, increase);
    }
    default:
      return null;
  }
}

/** POOL_STATE, ARRAY_STATE, SENSOR_TEMPERATURE_C, FAN_RPM, GPU_TEMPERATURE_C: the hardware families' observations. */
function hardwareObservations(metric: AlertMetric, batch: SampleBatch, fans: SpinningFans): Observation[] {
  switch (metric) {
    case 'POOL_STATE':
    case 'ARRAY_STATE':
      return batch.pools.filter((p) => isArray(p) === (metric === 'ARRAY_STATE')).map((p) => ({ deviceId: p.deviceId, subject: p.name, value: p.state }));
    case 'SENSOR_TEMPERATURE_C':
    case 'FAN_RPM': {
      const kind = metric === 'FAN_RPM' ? 'FAN' : 'TEMPERATURE';
      const out: Observation[] = [];
      for (const [r, subject] of sensorSubjects(batch.sensors)) {
        if (r.kind !== kind || r.value === null || (kind === 'FAN' && !fans.counts(r, subject))) continue;
        out.push({ deviceId: r.deviceId, subject, value: r.value });
      }
      return out;
    }
    case 'GPU_TEMPERATURE_C':
      return batch.gpus.flatMap((g) => (g.temperatureC === null ? [] : [{ deviceId: g.deviceId, subject: gpuSubject(g), value: g.temperatureC }]));
    default:
      return [];
  }
}

const SYSTEM_FIELD = {
  CPU_PERCENT: 'cpuPercent',
  MEM_USED_PERCENT: 'memUsedPercent',
  LOAD1: 'load1',
  LOAD5: 'load5',
  LOAD15: 'load15',
  NET_RX_BYTES_PER_SEC: 'netRxBytesPerSec',
  NET_TX_BYTES_PER_SEC: 'netTxBytesPerSec',
  DISK_READ_BYTES_PER_SEC: 'diskReadBytesPerSec',
  DISK_WRITE_BYTES_PER_SEC: 'diskWriteBytesPerSec',
} as const;

/**
 * The observations of one metric in a batch, in row order (a coalesced batch may hold several
 * devices and several polls of one device). Null values (rates on a first poll) yield nothing.
 * DEVICE_STATUS comes from status events, never from a batch.
 */
export function observe(metric: AlertMetric, batch: SampleBatch, restarts: RestartHistory, now: number, baselines: DriveBaselines = new Map(), fans = new SpinningFans()): Observation[] {
  if (metricFamily(metric) === 'pools' || metricFamily(metric) === 'sensors' || metricFamily(metric) === 'gpus') return hardwareObservations(metric, batch, fans);
  const out: Observation[] = [];
  if (metric in SYSTEM_FIELD) {
    const field = SYSTEM_FIELD[metric as keyof typeof SYSTEM_FIELD];
    for (const row of batch.system) {
      const value = row[field];
      if (value !== null && Number.isFinite(value)) out.push({ deviceId: row.deviceId, subject: '', value });
    }
    return out;
  }
  switch (metric) {
    case 'FILESYSTEM_USED_PERCENT':
      for (const fs of batch.filesystems) out.push({ deviceId: fs.deviceId, subject: fs.mount, value: fs.usedPercent });
      break;
    case 'DRIVE_TEMPERATURE_C':
      for (const d of batch.drives) if (d.temperatureC !== null) out.push({ deviceId: d.deviceId, subject: driveSubject(d), value: d.temperatureC });
      break;
    case 'DRIVE_HEALTH':
      for (const d of batch.drives) out.push({ deviceId: d.deviceId, subject: driveSubject(d), value: d.health });
      break;
    case 'DRIVE_COUNTER_INCREASE':
      for (const d of batch.drives) {
        if (d.health === 'UNKNOWN' && d.error !== null) continue; // unread: no counters to compare
        out.push({ deviceId: d.deviceId, subject: driveSubject(d), value: counterIncrease(driveCounters(d), baselines.get(baselineKey(d.deviceId, driveSubject(d)))) });
      }
      break;
    case 'CONTAINER_STATE':
    case 'CONTAINER_HEALTH':
    case 'CONTAINER_RESTARTS':
      for (const c of batch.containers) {
        const o = containerObservation(metric, c, restarts, now);
        if (o) out.push(o);
      }
      break;
    default:
      break;
  }
  return out;
}

/** CHECK_VALUE's subject: "backup/age". */
export const checkValueSubject = (checkName: string, key: string): string => `${checkName}/${key}`;

/** What a check metric reads of a stored result (storage/checks.ts NamedCheckResult; not imported: the dashboard bundles this file). */
export interface CheckReading {
  deviceId: string;
  checkName: string;
  status: string;
  message: string;
  values: Readonly<Record<string, number>>;
}

/** The observations of a check metric in results of checks (every result, not only changes), in row order. */
export function observeChecks(metric: AlertMetric, rows: readonly CheckReading[]): Observation[] {
  if (metric === 'CHECK_STATUS') return rows.map((r) => ({ deviceId: r.deviceId, subject: r.checkName, value: r.status, detail: r.message }));
  if (metric !== 'CHECK_VALUE') return [];
  return rows.flatMap((r) => Object.entries(r.values).map(([key, value]) => ({ deviceId: r.deviceId, subject: checkValueSubject(r.checkName, key), value, detail: r.message })));
}

/** Subjects each device reported in the batch for a family, so alerts on vanished subjects (a removed container) resolve. */
export function reportedSubjects(family: MetricFamily, batch: SampleBatch): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (deviceId: string, subject: string) => {
    let set = out.get(deviceId);
    if (!set) out.set(deviceId, (set = new Set()));
    set.add(subject);
  };
  if (family === 'filesystems') for (const r of batch.filesystems) add(r.deviceId, r.mount);
  if (family === 'drives') for (const r of batch.drives) add(r.deviceId, driveSubject(r));
  if (family === 'containers') for (const r of batch.containers) add(r.deviceId, r.name);
  if (family === 'pools') for (const r of batch.pools) add(r.deviceId, r.name);
  if (family === 'sensors') for (const [r, subject] of sensorSubjects(batch.sensors)) add(r.deviceId, subject);
  if (family === 'gpus') for (const r of batch.gpus) add(r.deviceId, gpuSubject(r));
  return out;
}

function compare(comparator: Comparator, a: number | string, b: number | string): boolean {
  if (typeof a === 'string' || typeof b === 'string') {
    const x = String(a).toLowerCase();
    const y = String(b).toLowerCase();
    return comparator === 'EQ' ? x === y : comparator === 'NEQ' ? x !== y : false;
  }
  switch (comparator) {
    case 'GT':
      return a > b;
    case 'GTE':
      return a >= b;
    case 'LT':
      return a < b;
    case 'LTE':
      return a <= b;
    case 'EQ':
      return a === b;
    case 'NEQ':
      return a !== b;
  }
}

function reference(rule: RuleSpec): number | string | null {
  return STATE_METRICS.has(rule.metric) ? rule.value : rule.threshold;
}

/** Whether an observation starts (or keeps pending) an alert. */
export function triggers(rule: RuleSpec, o: Pick<Observation, 'value' | 'holds'>): boolean {
  if (o.holds) return true;
  const ref = reference(rule);
  return ref !== null && compare(rule.comparator, o.value, ref);
}

/**
 * Whether an open alert ends: the condition no longer holds against the clear threshold
 * (default: the threshold). With GT 90 / clear 85, 88 keeps the alert open and 85 ends it.
 */
export function clears(rule: RuleSpec, o: Pick<Observation, 'value' | 'holds'>): boolean {
  if (o.holds) return false;
  if (STATE_METRICS.has(rule.metric) || typeof o.value === 'string') return !triggers(rule, o);
  const ref = rule.clearThreshold ?? rule.threshold;
  return ref === null || !compare(rule.comparator, o.value, ref);
}

/** An open alert as the state machine sees it. */
export interface Track {
  state: Exclude<AlertState, 'RESOLVED'>;
  pendingSince: number;
  firedAt: number | null;
  lastNotifiedAt: number | null;
}

export type Action =
  /** Nothing to persist. */
  | { kind: 'none' }
  /** A new alert, PENDING (forSeconds > 0) or FIRING at once. */
  | { kind: 'open'; state: 'PENDING' | 'FIRING' }
  | { kind: 'fire' }
  | { kind: 'resolve' }
  /** Still firing and `repeatSeconds` passed since the last notification (or none was sent yet: silenced then). */
  | { kind: 'renotify' };

/**
 * One observation of an (alert rule, device, subject) at `now` (ms). `obs` null means
 * "no new value" (a periodic tick): pending alerts may fire on time, firing ones may repeat.
 */
export function step(rule: RuleSpec, track: Track | null, obs: Pick<Observation, 'value' | 'holds'> | null, now: number): Action {
  if (!track) {
    if (!obs || !triggers(rule, obs)) return { kind: 'none' };
    return { kind: 'open', state: rule.forSeconds > 0 ? 'PENDING' : 'FIRING' };
  }
  if (obs && clears(rule, obs)) return { kind: 'resolve' };
  if (track.state === 'PENDING') return now - track.pendingSince >= rule.forSeconds * 1000 ? { kind: 'fire' } : { kind: 'none' };
  if (track.state === 'FIRING') {
    if (track.lastNotifiedAt === null) return { kind: 'renotify' };
    if (rule.repeatSeconds && now - track.lastNotifiedAt >= rule.repeatSeconds * 1000) return { kind: 'renotify' };
  }
  return { kind: 'none' };
}

/**
 * Listed device ids as a set, per list (a rule's or check's row is read anew on reload, so a list
 * is never changed in place). The check runner asks for every device and check each second: a
 * scan of the list made that devices × checks × ids, up to 2 million string comparisons a second
 * for two checks listing 1,000 ids on a 1,000-device poller.
 */
const idSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const SCAN_UP_TO = 8;

function listed(ids: readonly string[], id: string): boolean {
  if (ids.length <= SCAN_UP_TO) return ids.includes(id);
  let set = idSets.get(ids);
  if (set === undefined) idSets.set(ids, (set = new Set(ids)));
  return set.has(id);
}

/** Whether a rule applies to a device: everywhere when it names no devices and no tags, else any listed id or tag. */
export function inScope(rule: Pick<RuleSpec, 'deviceIds' | 'tags'>, device: { id: string; tags: readonly string[] }): boolean {
  if (rule.deviceIds.length === 0 && rule.tags.length === 0) return true;
  return listed(rule.deviceIds, device.id) || rule.tags.some((t) => device.tags.includes(t));
}

const COMPARATOR_TEXT: Record<Comparator, string> = { GT: '>', GTE: '≥', LT: '<', LTE: '≤', EQ: '=', NEQ: '≠' };

export const METRIC_LABEL: Record<AlertMetric, string> = {
  CPU_PERCENT: 'CPU %',
  MEM_USED_PERCENT: 'memory used %',
  LOAD1: 'load (1 min)',
  LOAD5: 'load (5 min)',
  LOAD15: 'load (15 min)',
  FILESYSTEM_USED_PERCENT: 'filesystem used %',
  NET_RX_BYTES_PER_SEC: 'network receive B/s',
  NET_TX_BYTES_PER_SEC: 'network transmit B/s',
  DISK_READ_BYTES_PER_SEC: 'disk read B/s',
  DISK_WRITE_BYTES_PER_SEC: 'disk write B/s',
  DRIVE_TEMPERATURE_C: 'drive temperature °C',
  DRIVE_HEALTH: 'drive health',
  CONTAINER_STATE: 'container state',
  CONTAINER_HEALTH: 'container health',
  CONTAINER_RESTARTS: 'container restarts in 10 min',
  DEVICE_STATUS: 'device status',
  DRIVE_COUNTER_INCREASE: 'drive error counters above the acknowledged values',
  POOL_STATE: 'pool state',
  ARRAY_STATE: 'RAID array state',
  SENSOR_TEMPERATURE_C: 'sensor temperature °C',
  FAN_RPM: 'fan RPM',
  GPU_TEMPERATURE_C: 'GPU temperature °C',
  CHECK_STATUS: 'check',
  CHECK_VALUE: 'check value',
};

export function formatValue(value: number | string): string {
  return typeof value === 'number' ? String(Math.round(value * 100) / 100) : value;
}

/** "filesystem used % of / is 93.5 (> 90)"; "check backup is CRITICAL: <the check's message>" */
export function describe(rule: RuleSpec, subject: string, value: number | string, detail?: string): string {
  if (rule.metric === 'CONTAINER_RESTARTS' && value === 'restarting') return `container ${subject} is in a restart loop (state restarting)`;
  const tail = detail ? `: ${detail}` : '';
  if (rule.metric === 'CHECK_STATUS') return `check ${subject} is ${value}${tail}`;
  const what = subject ? `${METRIC_LABEL[rule.metric]} ${rule.metric === 'CHECK_VALUE' ? '' : 'of '}${subject}` : METRIC_LABEL[rule.metric];
  const ref = reference(rule);
  return `${what} is ${formatValue(value)}${ref === null ? '' : ` (${COMPARATOR_TEXT[rule.comparator]} ${formatValue(ref)})`}${tail}`;
}

/** What every built-in rule shares: all devices, no channels (add some), no delay. */
const EVERY_DEVICE = { clearThreshold: null, subject: null, forSeconds: 0, deviceIds: [] as string[], tags: [] as string[], channelIds: [] as string[] };
const equals = (value: string) => ({ comparator: 'EQ', threshold: null, value }) as const;
const differs = (value: string) => ({ comparator: 'NEQ', threshold: null, value }) as const;
const above = (comparator: 'GT' | 'GTE', threshold: number) => ({ comparator, threshold, value: null }) as const;
const below = (comparator: 'LT' | 'LTE', threshold: number) => ({ comparator, threshold, value: null }) as const;

/** Shipped with every installation, created at start when absent (by name); disable rather than delete. */
export const BUILTIN_RULES: Omit<RuleSpec, 'id' | 'builtin' | 'enabled'>[] = [
  { ...EVERY_DEVICE, name: 'Drive health critical', metric: 'DRIVE_HEALTH', ...equals('CRITICAL'), repeatSeconds: 86_400, severity: 'CRITICAL' },
  // Counters a drive has carried for years do not alert once acknowledged (acknowledgeDriveCounters); a rise does.
  { ...EVERY_DEVICE, name: 'Drive error counters rising', metric: 'DRIVE_COUNTER_INCREASE', ...above('GT', 0), repeatSeconds: 86_400, severity: 'WARNING' },
  { ...EVERY_DEVICE, name: 'Device offline', metric: 'DEVICE_STATUS', ...equals('OFFLINE'), repeatSeconds: 3_600, severity: 'CRITICAL' },
  { ...EVERY_DEVICE, name: 'Filesystem almost full', metric: 'FILESYSTEM_USED_PERCENT', ...above('GT', 90), clearThreshold: 85, repeatSeconds: 86_400, severity: 'WARNING' },
  // Any state but ONLINE: DEGRADED, and FAULTED/UNAVAIL/… too, which a CRITICAL rule of one's own can rate higher.
  { ...EVERY_DEVICE, name: 'Pool degraded', metric: 'POOL_STATE', ...differs('ONLINE'), repeatSeconds: 86_400, severity: 'WARNING' },
  { ...EVERY_DEVICE, name: 'RAID array degraded', metric: 'ARRAY_STATE', ...differs('ONLINE'), repeatSeconds: 86_400, severity: 'WARNING' },
  // FAN_RPM observes a fan at 0 only when it has a minimum set or was seen spinning (SpinningFans): an empty header is not a dead fan.
  { ...EVERY_DEVICE, name: 'Fan stopped', metric: 'FAN_RPM', ...below('LTE', 0), repeatSeconds: 3_600, severity: 'WARNING' },
  { ...EVERY_DEVICE, name: 'Container restart loop', metric: 'CONTAINER_RESTARTS', ...above('GTE', 3), repeatSeconds: 3_600, severity: 'WARNING' },
];


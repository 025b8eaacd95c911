import { describe, expect, it } from 'vitest';
import { BUILTIN_RULES, clears, describe as describeAlert, inScope, observe, observeChecks, reportedSubjects, RestartHistory, SpinningFans, step, triggers, type RuleSpec, type Track } from '../../../src/alerts/rules.ts';
import { fanStatus } from '../../../src/collectors/sensor-collector.ts';
import { hiddenClassCount } from '../../helpers/hidden-classes.ts';
import { hardwarePoll } from '../../helpers/rows.ts';
import { emptyBatch, type ContainerRow, type SampleBatch, type SensorReadingRow } from '../../../src/storage/types.ts';

const rule = (over: Partial<RuleSpec> = {}): RuleSpec => ({
  id: 'r1',
  name: 'disk',
  metric: 'FILESYSTEM_USED_PERCENT',
  comparator: 'GT',
  threshold: 90,
  value: null,
  clearThreshold: 85,
  subject: null,
  forSeconds: 0,
  repeatSeconds: null,
  severity: 'WARNING',
  deviceIds: [],
  tags: [],
  channelIds: [],
  enabled: true,
  builtin: false,
  ...over,
});

/** Runs observations through the state machine as the evaluator does; returns the actions. */
function run(r: RuleSpec, samples: [number, number | string | null][]): string[] {
  let track: Track | null = null;
  const out: string[] = [];
  for (const [sec, value] of samples) {
    const now = sec * 1000;
    const a = step(r, track, value === null ? null : { value }, now);
    out.push(a.kind === 'open' ? `open:${a.state}` : a.kind);
    if (a.kind === 'open') track = { state: a.state, pendingSince: now, firedAt: a.state === 'FIRING' ? now : null, lastNotifiedAt: a.state === 'FIRING' ? now : null };
    if (a.kind === 'fire' && track) track = { ...track, state: 'FIRING', firedAt: now, lastNotifiedAt: now };
    if (a.kind === 'renotify' && track) track = { ...track, lastNotifiedAt: now };
    if (a.kind === 'resolve') track = null;
  }
  return out;
}

describe('conditions', () => {
  it('compares with every comparator and clears with hysteresis', () => {
    expect(triggers(rule(), { value: 90 })).toBe(false);
    expect(triggers(rule(), { value: 90.1 })).toBe(true);
    expect(triggers(rule({ comparator: 'GTE' }), { value: 90 })).toBe(true);
    expect(triggers(rule({ comparator: 'LT', threshold: 10, clearThreshold: 15 }), { value: 9 })).toBe(true);
    expect(clears(rule({ comparator: 'LT', threshold: 10, clearThreshold: 15 }), { value: 12 })).toBe(false);
    expect(clears(rule({ comparator: 'LT', threshold: 10, clearThreshold: 15 }), { value: 15 })).toBe(true);
    expect(clears(rule(), { value: 88 })).toBe(false);
    expect(clears(rule(), { value: 85 })).toBe(true);
    expect(clears(rule({ clearThreshold: null }), { value: 90 })).toBe(true);
    expect(clears(rule({ clearThreshold: null }), { value: 90.5 })).toBe(false);
  });

  it('compares states case-insensitively with EQ and NEQ', () => {
    const offline = rule({ metric: 'DEVICE_STATUS', comparator: 'EQ', threshold: null, clearThreshold: null, value: 'OFFLINE' });
    expect(triggers(offline, { value: 'OFFLINE' })).toBe(true);
    expect(triggers(offline, { value: 'online' })).toBe(false);
    expect(clears(offline, { value: 'ONLINE' })).toBe(true);
    const notRunning = rule({ metric: 'CONTAINER_STATE', comparator: 'NEQ', threshold: null, clearThreshold: null, value: 'running' });
    expect(triggers(notRunning, { value: 'exited' })).toBe(true);
    expect(triggers(notRunning, { value: 'running' })).toBe(false);
  });
});

describe('state machine', () => {
  it('fires at once without forSeconds and does not flap between the clear and fire thresholds', () => {
    expect(run(rule(), [[0, 92], [10, 88], [20, 93], [30, 86], [40, 95], [50, 85], [60, 91]])).toEqual(['open:FIRING', 'none', 'none', 'none', 'none', 'resolve', 'open:FIRING']);
  });

  it('fires only after the condition held forSeconds across samples; a clear on the way cancels', () => {
    const r = rule({ forSeconds: 60 });
    expect(run(r, [[0, 95], [30, 95], [59, 95], [60, 95]])).toEqual(['open:PENDING', 'none', 'none', 'fire']);
    expect(run(r, [[0, 95], [30, 80], [40, 95], [90, 95], [100, 95]])).toEqual(['open:PENDING', 'resolve', 'open:PENDING', 'none', 'fire']);
  });

  it('repeats every repeatSeconds while firing, also on ticks without a sample', () => {
    const r = rule({ repeatSeconds: 300 });
    expect(run(r, [[0, 95], [100, 95], [299, null], [300, null], [400, 95], [600, 96], [650, 10]])).toEqual(['open:FIRING', 'none', 'none', 'renotify', 'none', 'renotify', 'resolve']);
  });

  it('notifies a firing alert that was never notified (silenced when it fired) at the next chance', () => {
    const r = rule();
    const track: Track = { state: 'FIRING', pendingSince: 0, firedAt: 0, lastNotifiedAt: null };
    expect(step(r, track, { value: 95 }, 1000).kind).toBe('renotify');
    expect(step(r, { ...track, state: 'ACKNOWLEDGED' }, { value: 95 }, 1000).kind).toBe('none');
    expect(step(r, { ...track, state: 'ACKNOWLEDGED' }, { value: 50 }, 1000).kind).toBe('resolve');
  });

  it('a `holds` observation (restarting container) keeps the condition whatever the value', () => {
    const r = rule({ metric: 'CONTAINER_RESTARTS', comparator: 'GTE', threshold: 3, clearThreshold: null });
    expect(step(r, null, { value: 0, holds: true }, 0)).toEqual({ kind: 'open', state: 'FIRING' });
    expect(clears(r, { value: 0, holds: true })).toBe(false);
  });
});

describe('observations', () => {
  const container = (name: string, restartCount: number | null, state = 'running'): ContainerRow => ({
    time: new Date(0), deviceId: 'd1', containerId: name, name, image: 'img', state, health: null, restartCount, exitCode: null, createdAt: null, startedAt: null,
    cpuPercent: null, memUsageBytes: null, memLimitBytes: null, netRxBytes: null, netTxBytes: null, blockReadBytes: null, blockWriteBytes: null, pids: null,
  });

  it('yields one observation per mount, drive (serial, else path) and container', () => {
    const batch: SampleBatch = emptyBatch();
    batch.filesystems.push({ time: new Date(0), deviceId: 'd1', mount: '/', filesystem: '/dev/sda1', fsType: 'ext4', sizeBytes: 100, usedBytes: 93, availableBytes: 7, usedPercent: 93 });
    batch.filesystems.push({ time: new Date(0), deviceId: 'd1', mount: '/var', filesystem: '/dev/sda2', fsType: 'ext4', sizeBytes: 100, usedBytes: 10, availableBytes: 90, usedPercent: 10 });
    const drive = { time: new Date(0), deviceId: 'd1', protocol: 'ATA', model: null, firmware: null, capacityBytes: null, temperatureC: 41, powerOnHours: null, reallocatedSectors: null, pendingSectors: null, uncorrectableErrors: null, mediaErrors: null, percentUsed: null, smartPassed: false, exitStatus: 8, error: null, attributes: {} };
    batch.drives.push({ ...drive, drive: '/dev/sda', serial: 'S1', health: 'CRITICAL' }, { ...drive, drive: '/dev/sdb', serial: null, health: 'HEALTHY', temperatureC: null });
    batch.containers.push(container('web', 0), container('db', null, 'exited'));
    const r = new RestartHistory();
    expect(observe('FILESYSTEM_USED_PERCENT', batch, r, 0)).toEqual([{ deviceId: 'd1', subject: '/', value: 93 }, { deviceId: 'd1', subject: '/var', value: 10 }]);
    expect(observe('DRIVE_HEALTH', batch, r, 0).map((o) => [o.subject, o.value])).toEqual([['S1', 'CRITICAL'], ['/dev/sdb', 'HEALTHY']]);
    expect(observe('DRIVE_TEMPERATURE_C', batch, r, 0).map((o) => [o.subject, o.value])).toEqual([['S1', 41]]);
    expect(observe('CONTAINER_STATE', batch, r, 0).map((o) => [o.subject, o.value])).toEqual([['web', 'running'], ['db', 'exited']]);
    expect(observe('CPU_PERCENT', batch, r, 0)).toEqual([]);
  });

  it('builds every container observation on one hidden class, poll after poll (a spread of a base built one per container)', () => {
    const batch = emptyBatch();
    batch.containers.push(container('web', 0), container('db', 2, 'exited'));
    const r = new RestartHistory();
    const seen = Array.from({ length: 30 }, (_, i) => [...observe('CONTAINER_STATE', batch, r, i * 1000), ...observe('CONTAINER_RESTARTS', batch, r, i * 1000)]).slice(20).flat();
    expect(seen).toHaveLength(40);
    expect(hiddenClassCount(seen)).toBe(1);
  });

  it('CONTAINER_RESTARTS is the increase within 10 minutes; a restarting container always holds', () => {
    const r = new RestartHistory();
    const at = (min: number, count: number, state = 'running') => {
      const b = emptyBatch();
      b.containers.push(container('web', count, state));
      return observe('CONTAINER_RESTARTS', b, r, min * 60_000)[0];
    };
    expect(at(0, 5)?.value).toBe(0);
    expect(at(2, 6)?.value).toBe(1);
    expect(at(4, 8)?.value).toBe(3);
    expect(at(11, 8)?.value).toBe(2); // the minute-0 count left the window
    expect(at(15, 8)?.value).toBe(0);
    expect(at(16, 1)?.value).toBe(0); // recreated: the count went down
    expect(at(17, 1, 'restarting')).toEqual({ deviceId: 'd1', subject: 'web', value: 'restarting', holds: true });
    const loop = BUILTIN_RULES.find((r) => r.metric === 'CONTAINER_RESTARTS')!;
    // The message says why it fires, not "restarts is 0 (≥ 3)".
    expect(describeAlert({ ...loop, id: 'r', builtin: true, enabled: true }, 'web', 'restarting')).toBe('container web is in a restart loop (state restarting)');
  });
});

describe('hardware observations', () => {
  const r = new RestartHistory();
  const fan = (sensor: string, rpm: number, min: number | null, chip = 'nct6779', label = sensor.split('/')[1]!): SensorReadingRow => ({
    time: new Date(0), deviceId: 'd1', sensor, chip, kind: 'FAN', label, value: rpm, min, max: null, crit: null, status: fanStatus({ rpm, minRpm: min }),
  });

  it('POOL_STATE is the ZFS/btrfs state word, ARRAY_STATE the md one; temperatures by chip/label; GPUs by index/name', () => {
    const batch = hardwarePoll('d1', new Date(0));
    expect(observe('POOL_STATE', batch, r, 0)).toEqual([{ deviceId: 'd1', subject: 'tank', value: 'DEGRADED' }]);
    expect(observe('ARRAY_STATE', batch, r, 0)).toEqual([{ deviceId: 'd1', subject: 'md0', value: 'ONLINE' }]);
    expect(observe('SENSOR_TEMPERATURE_C', batch, r, 0)).toEqual([{ deviceId: 'd1', subject: 'coretemp/Package id 0', value: 48.5 }]);
    expect(observe('GPU_TEMPERATURE_C', batch, r, 0)).toEqual([{ deviceId: 'd1', subject: '0/NVIDIA GeForce RTX 3090', value: 93 }]);
    // A chip without a name goes by its hwmon id; the fan has a minimum, so 0 RPM counts.
    expect(observe('FAN_RPM', batch, r, 0)).toEqual([{ deviceId: 'd1', subject: 'hwmon1/fan2', value: 0 }]);
    expect(reportedSubjects('pools', batch).get('d1')).toEqual(new Set(['tank', 'md0']));
    expect(reportedSubjects('gpus', batch).get('d1')).toEqual(new Set(['0/NVIDIA GeForce RTX 3090']));
  });

  it('the built-in pool and array rules fire on any state but ONLINE', () => {
    const pool = { ...BUILTIN_RULES.find((b) => b.metric === 'POOL_STATE')!, id: 'p', builtin: true, enabled: true };
    expect(['ONLINE', 'DEGRADED', 'FAULTED', 'UNAVAIL'].map((value) => triggers(pool, { value }))).toEqual([false, true, true, true]);
    expect(describeAlert(pool, 'tank', 'DEGRADED')).toBe('pool state of tank is DEGRADED (≠ ONLINE)');
  });

  it('a fan at 0 RPM counts when it has a minimum or was seen spinning, not on an empty header', () => {
    const fans = new SpinningFans();
    const at = (...rows: SensorReadingRow[]) => observe('FAN_RPM', { ...emptyBatch(), sensors: rows }, r, 0, new Map(), fans).map((o) => [o.subject, o.value]);
    expect(at(fan('hwmon1/fan1', 0, null), fan('hwmon1/fan3', 0, 0))).toEqual([]); // never turned, no minimum: nothing plugged in
    expect(at(fan('hwmon1/fan1', 900, null))).toEqual([['nct6779/fan1', 900]]);
    expect(at(fan('hwmon1/fan1', 0, null), fan('hwmon1/fan3', 0, 0))).toEqual([['nct6779/fan1', 0]]); // it turned before: a dead fan
    const builtin = { ...BUILTIN_RULES.find((b) => b.metric === 'FAN_RPM')!, id: 'f', builtin: true, enabled: true };
    expect([triggers(builtin, { value: 0 }), triggers(builtin, { value: 300 })]).toEqual([true, false]);
  });

  it('two sensors of a device sharing chip and label keep apart by their hwmon id', () => {
    const t = (sensor: string): SensorReadingRow => ({ time: new Date(0), deviceId: 'd1', sensor, chip: 'nvme', kind: 'TEMPERATURE', label: 'Composite', value: 40, min: null, max: null, crit: null, status: 'OK' });
    const batch = { ...emptyBatch(), sensors: [t('hwmon2/temp1'), t('hwmon3/temp1'), t('hwmon2/temp1')] };
    expect(observe('SENSOR_TEMPERATURE_C', batch, r, 0).map((o) => o.subject)).toEqual(['nvme/Composite (hwmon2)', 'nvme/Composite (hwmon3)', 'nvme/Composite (hwmon2)']);
  });
});

describe('scope', () => {
  it('all devices, listed devices, or devices with any listed tag', () => {
    expect(inScope({ deviceIds: [], tags: [] }, { id: 'a', tags: [] })).toBe(true);
    expect(inScope({ deviceIds: ['a'], tags: [] }, { id: 'b', tags: [] })).toBe(false);
    expect(inScope({ deviceIds: ['a'], tags: ['prod'] }, { id: 'b', tags: ['prod'] })).toBe(true);
    expect(inScope({ deviceIds: [], tags: ['prod'] }, { id: 'b', tags: ['dev'] })).toBe(false);
  });

  it('a long list of ids (looked up in a set) answers as a short one', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `dev-${i}`);
    const rule = { deviceIds: ids, tags: ['prod'] };
    expect(inScope(rule, { id: 'dev-0', tags: [] })).toBe(true);
    expect(inScope(rule, { id: 'dev-999', tags: [] })).toBe(true);
    expect(inScope(rule, { id: 'dev-1000', tags: [] })).toBe(false);
    expect(inScope(rule, { id: 'dev-1000', tags: ['prod'] })).toBe(true);
    expect(inScope({ deviceIds: ids.slice(0, 9), tags: [] }, { id: 'dev-8', tags: [] })).toBe(true);
    expect(inScope({ deviceIds: ids.slice(0, 9), tags: [] }, { id: 'dev-9', tags: [] })).toBe(false);
  });
});

describe('check observations', () => {
  const result = { deviceId: 'd1', checkName: 'backup', status: 'CRITICAL', message: 'FILE_AGE CRITICAL - /srv/backup/last is 93784 seconds old', values: { age: 93784, size: 10 } };

  it('CHECK_STATUS: the status per check, CHECK_VALUE: each value as "<check>/<key>", both carrying the message', () => {
    expect(observeChecks('CHECK_STATUS', [result])).toEqual([{ deviceId: 'd1', subject: 'backup', value: 'CRITICAL', detail: result.message }]);
    expect(observeChecks('CHECK_VALUE', [result]).map((o) => [o.subject, o.value])).toEqual([
      ['backup/age', 93784],
      ['backup/size', 10],
    ]);
    expect(observeChecks('CPU_PERCENT', [result])).toEqual([]);
  });

  it('the alert text says the check and its own message', () => {
    const status = rule({ metric: 'CHECK_STATUS', comparator: 'EQ', threshold: null, clearThreshold: null, value: 'CRITICAL' });
    expect(describeAlert(status, 'backup', 'CRITICAL', result.message)).toBe('check backup is CRITICAL: FILE_AGE CRITICAL - /srv/backup/last is 93784 seconds old');
    const value = rule({ metric: 'CHECK_VALUE', threshold: 86_400, clearThreshold: null });
    expect(describeAlert(value, 'backup/age', 93784, 'x')).toBe('check value backup/age is 93784 (> 86400): x');
    expect(triggers(status, { value: 'critical' })).toBe(true);
  });
});

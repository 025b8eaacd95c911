/**
 * Storage and hardware health beyond SMART: ZFS pools, md arrays and btrfs filesystems
 * (Device.pools, Device.raidArrays), hwmon sensors (Device.sensors) and GPUs (Device.gpus) —
 * the latest poll of each through the batched latest-row loaders (devices.ts adds the Device
 * fields) — their bucketed histories, their live samples, and the change events: a pool's or
 * array's state/health (poolStateChanged) and a sensor crossing its chip's thresholds
 * (sensorStatusChanged).
 */
import type { PoolStateEvent, SensorStatusEvent } from '../../events/index.ts';
import type { ZpoolDevice } from '../../collectors/storage.ts';
import type { MdMember } from '../../collectors/storage.ts';
import { POOL_KINDS, POOL_STATES, SENSOR_KINDS, SENSOR_STATUSES, type GpuSampleRow, type PoolKind, type PoolState, type SensorKind, type SensorReadingRow, type SensorStatus, type StoragePoolRow } from '../../storage/types.ts';
import { builder } from '../builder.ts';
import { asDriveHealth, DriveHealthEnum } from './drives.ts';
import { liveEvents, scopeArgs } from './live.ts';
import { defineSubjectHistory, type Stored } from './metrics.ts';
import { defineSamples } from './samples.ts';

/** Stored and event strings outside this version's vocabulary read as UNKNOWN rather than failing the field. */
const within = <T extends string>(values: readonly T[], fallback: T) => (v: string | null | undefined): T => ((values as readonly string[]).includes(v ?? '') ? (v as T) : fallback);
const asPoolState = within<PoolState>(POOL_STATES, 'UNKNOWN');
const asSensorStatus = within<SensorStatus>(SENSOR_STATUSES, 'UNKNOWN');

const enumValues = <T extends string>(values: readonly T[], descriptions: Partial<Record<T, string>> = {}) =>
  Object.fromEntries(values.map((v) => [v, descriptions[v] ? { description: descriptions[v] } : {}])) as Record<T, { description?: string }>;

export const PoolKindEnum = builder.enumType('PoolKind', {
  values: enumValues<PoolKind>(POOL_KINDS, { ZFS: 'A ZFS pool (zpool).', MDRAID: 'A Linux software RAID array (/proc/mdstat).', BTRFS: 'A mounted btrfs filesystem (its device error counters).' }),
});

export const PoolStateEnum = builder.enumType('PoolState', {
  description: 'ZFS\'s words for every kind: an md array missing members is DEGRADED, an inactive one UNAVAIL.',
  values: enumValues<PoolState>(POOL_STATES),
});

export const SensorKindEnum = builder.enumType('SensorKind', { values: enumValues<SensorKind>(SENSOR_KINDS) });

export const SensorStatusEnum = builder.enumType('SensorStatus', {
  description: 'A reading against its chip\'s own thresholds (none are invented).',
  values: enumValues<SensorStatus>(SENSOR_STATUSES, {
    HIGH: 'At or above tempN_max.',
    CRITICAL: 'At or above tempN_crit.',
    LOW: 'A fan below fanN_min.',
    STOPPED: 'A fan at 0 RPM (dead, or a header with no fan plugged in).',
    UNKNOWN: 'No reading.',
  }),
});

const VdevRef = builder.objectRef<ZpoolDevice>('Vdev');
VdevRef.implement({
  description: 'A node of a ZFS pool\'s vdev tree (mirror, raidz, disk, …) with its error counters.',
  fields: (t) => ({
    name: t.exposeString('name'),
    state: t.exposeString('state', { nullable: true }),
    readErrors: t.field({ type: 'Long', nullable: true, resolve: (d) => d.read }),
    writeErrors: t.field({ type: 'Long', nullable: true, resolve: (d) => d.write }),
    cksumErrors: t.field({ type: 'Long', nullable: true, resolve: (d) => d.cksum }),
    note: t.exposeString('note', { nullable: true, description: 'zpool\'s text after the counters ("was /dev/sdb1", "(resilvering)").' }),
    children: t.field({ type: [VdevRef], resolve: (d) => d.devices }),
  }),
});

const RaidMemberRef = builder.objectRef<MdMember>('RaidMember').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    slot: t.exposeInt('slot', { nullable: true }),
    faulty: t.exposeBoolean('faulty'),
    spare: t.exposeBoolean('spare'),
  }),
});

interface ZfsTree {
  devices?: ZpoolDevice[];
  logs?: ZpoolDevice[];
  cache?: ZpoolDevice[];
  special?: ZpoolDevice[];
  dedup?: ZpoolDevice[];
  spares?: { name: string; state: string; note: string | null }[];
  members?: MdMember[];
}

const treeOf = (r: Stored<StoragePoolRow>): ZfsTree => (typeof r.devices === 'object' && r.devices !== null && !Array.isArray(r.devices) ? (r.devices as ZfsTree) : {});

export const StoragePoolRef = builder.objectRef<Stored<StoragePoolRow>>('StoragePool').implement({
  description: 'A ZFS pool, md array or btrfs filesystem at its latest storage poll (POLLING_STORAGE_INTERVAL).',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    kind: t.field({ type: PoolKindEnum, resolve: (r) => r.kind }),
    name: t.exposeString('name', { description: 'Pool name, md device (md0) or btrfs mount point.' }),
    state: t.field({ type: PoolStateEnum, resolve: (r) => asPoolState(r.state) }),
    health: t.field({ type: DriveHealthEnum, description: 'DEGRADED/OFFLINE or any error → WARNING; FAULTED, UNAVAIL, REMOVED, SUSPENDED → CRITICAL.', resolve: (r) => asDriveHealth(r.health) }),
    level: t.exposeString('level', { nullable: true, description: 'md level (raid1, raid5, …).' }),
    sizeBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.sizeBytes }),
    allocBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.allocBytes }),
    freeBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.freeBytes }),
    fragPercent: t.exposeFloat('fragPercent', { nullable: true }),
    capPercent: t.exposeFloat('capPercent', { nullable: true }),
    totalDevices: t.exposeInt('totalDevices', { nullable: true, description: 'Leaf vdevs, md slots or btrfs devices.' }),
    activeDevices: t.exposeInt('activeDevices', { nullable: true, description: 'Of those, ONLINE leaves or md slots in sync.' }),
    readErrors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.readErrors }),
    writeErrors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.writeErrors }),
    cksumErrors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.cksumErrors }),
    scanKind: t.exposeString('scanKind', { nullable: true, description: 'scrub or resilver (ZFS); resync, recovery, check, repair or reshape (md).' }),
    scanInProgress: t.exposeBoolean('scanInProgress'),
    scanPercent: t.exposeFloat('scanPercent', { nullable: true }),
    errors: t.exposeString('errors', { nullable: true, description: 'ZFS\'s "errors:" line.' }),
    vdevs: t.field({ type: [VdevRef], description: 'ZFS: the data vdev tree (then logs, cache, special and dedup vdevs in their own fields).', resolve: (r) => treeOf(r).devices ?? [] }),
    logs: t.field({ type: [VdevRef], resolve: (r) => treeOf(r).logs ?? [] }),
    cache: t.field({ type: [VdevRef], resolve: (r) => treeOf(r).cache ?? [] }),
    special: t.field({ type: [VdevRef], resolve: (r) => treeOf(r).special ?? [] }),
    spares: t.stringList({ description: 'ZFS hot spares as "name state".', resolve: (r) => (treeOf(r).spares ?? []).map((s) => `${s.name} ${s.state}`) }),
    members: t.field({ type: [RaidMemberRef], description: 'md: the array\'s member devices.', resolve: (r) => treeOf(r).members ?? [] }),
    devicesJson: t.string({ nullable: true, description: 'The stored tree, members or btrfs device counters as JSON text.', resolve: (r) => (r.devices === null || r.devices === undefined ? null : JSON.stringify(r.devices)) }),
  }),
});

export const SensorRef = builder.objectRef<Stored<SensorReadingRow>>('Sensor').implement({
  description: 'One hwmon temperature or fan at its latest sensors poll (POLLING_SENSORS_INTERVAL).',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    sensor: t.exposeString('sensor', { description: 'hwmonN/tempM or hwmonN/fanM (chips may renumber across reboots).' }),
    chip: t.exposeString('chip', { nullable: true, description: 'The driver\'s chip name (coretemp, k10temp, nct6779, nvme, …).' }),
    kind: t.field({ type: SensorKindEnum, resolve: (r) => within<SensorKind>(SENSOR_KINDS, 'TEMPERATURE')(r.kind) }),
    label: t.exposeString('label'),
    value: t.exposeFloat('value', { nullable: true, description: '°C or RPM.' }),
    min: t.exposeFloat('min', { nullable: true, description: 'A fan\'s minimum RPM.' }),
    max: t.exposeFloat('max', { nullable: true, description: 'A temperature\'s high threshold (°C).' }),
    crit: t.exposeFloat('crit', { nullable: true, description: 'A temperature\'s critical threshold (°C).' }),
    status: t.field({ type: SensorStatusEnum, resolve: (r) => asSensorStatus(r.status) }),
  }),
});

export const GpuRef = builder.objectRef<Stored<GpuSampleRow>>('Gpu').implement({
  description: 'An NVIDIA GPU at its latest poll (POLLING_GPU_INTERVAL). A value nvidia-smi cannot give is null, never 0.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    gpu: t.exposeString('gpu', { description: 'Its UUID, else its index.' }),
    index: t.exposeInt('gpuIndex', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    temperatureC: t.exposeFloat('temperatureC', { nullable: true }),
    utilizationPercent: t.exposeFloat('utilizationPercent', { nullable: true }),
    memoryUtilizationPercent: t.exposeFloat('memoryUtilizationPercent', { nullable: true }),
    memoryUsedBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.memoryUsedBytes }),
    memoryTotalBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.memoryTotalBytes }),
    powerDrawWatts: t.exposeFloat('powerDrawWatts', { nullable: true }),
    powerLimitWatts: t.exposeFloat('powerLimitWatts', { nullable: true }),
    fanPercent: t.exposeFloat('fanPercent', { nullable: true }),
  }),
});

export const PoolStateChangeRef = builder.objectRef<PoolStateEvent>('PoolStateChange').implement({
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    kind: t.field({ type: PoolKindEnum, resolve: (e) => within<PoolKind>(POOL_KINDS, 'ZFS')(e.kind) }),
    name: t.exposeString('name'),
    previousState: t.field({ type: PoolStateEnum, nullable: true, resolve: (e) => (e.previousState === null ? null : asPoolState(e.previousState)) }),
    state: t.field({ type: PoolStateEnum, resolve: (e) => asPoolState(e.state) }),
    previousHealth: t.field({ type: DriveHealthEnum, nullable: true, resolve: (e) => (e.previousHealth === null ? null : asDriveHealth(e.previousHealth)) }),
    health: t.field({ type: DriveHealthEnum, resolve: (e) => asDriveHealth(e.health) }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

export const SensorStatusChangeRef = builder.objectRef<SensorStatusEvent>('SensorStatusChange').implement({
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    sensor: t.exposeString('sensor'),
    chip: t.exposeString('chip', { nullable: true }),
    kind: t.field({ type: SensorKindEnum, resolve: (e) => within<SensorKind>(SENSOR_KINDS, 'TEMPERATURE')(e.kind) }),
    label: t.exposeString('label'),
    value: t.exposeFloat('value', { nullable: true }),
    previous: t.field({ type: SensorStatusEnum, nullable: true, resolve: (e) => (e.previous === null ? null : asSensorStatus(e.previous)) }),
    current: t.field({ type: SensorStatusEnum, resolve: (e) => asSensorStatus(e.current) }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.subscriptionField('poolStateChanged', (t) =>
  t.field({
    type: PoolStateChangeRef,
    description: 'A pool\'s or array\'s state or health changed since the previous storage poll (or it appeared); filtered by device and tags, and with health by the new health.',
    args: { ...scopeArgs(t), health: t.arg({ type: [DriveHealthEnum], required: false, description: 'Only changes to one of these health values.' }) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, 'poolStateChanged', args, args.health ? (e) => args.health!.includes(asDriveHealth(e.health)) : undefined),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('sensorStatusChanged', (t) =>
  t.field({
    type: SensorStatusChangeRef,
    description: 'A sensor crossed one of its chip\'s thresholds (a fan stopped, a temperature reached max or crit) or came back; filtered by device and tags, and with status by the new status.',
    args: { ...scopeArgs(t), status: t.arg({ type: [SensorStatusEnum], required: false, description: 'Only changes to one of these statuses.' }) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, 'sensorStatusChanged', args, args.status ? (e) => args.status!.includes(asSensorStatus(e.current)) : undefined),
    resolve: (event) => event,
  }),
);

defineSubjectHistory('pools', { type: 'StoragePool', query: 'poolHistory', subjectField: 'name', description: 'Capacity, members in service, error counters and scan progress per pool or array per time bucket.' });
defineSubjectHistory('sensors', { type: 'Sensor', query: 'sensorHistory', subjectField: 'sensor', description: 'Temperature (°C) or fan speed (RPM) per sensor per time bucket.' });
defineSubjectHistory('gpus', { type: 'Gpu', query: 'gpuHistory', subjectField: 'gpu', description: 'Temperature, utilisation, memory, power and fan per GPU per time bucket.' });

defineSamples<StoragePoolRow>({ field: 'poolsCollected', topic: 'poolsCollected', kind: 'pools', type: 'PoolsCollected', list: 'pools', item: StoragePoolRef, what: 'pools, arrays and btrfs filesystems' });
defineSamples<SensorReadingRow>({ field: 'sensorsCollected', topic: 'sensorsCollected', kind: 'sensors', type: 'SensorsCollected', list: 'sensors', item: SensorRef, what: 'hwmon sensors' });
defineSamples<GpuSampleRow>({ field: 'gpusCollected', topic: 'gpusCollected', kind: 'gpus', type: 'GpusCollected', list: 'gpus', item: GpuRef, what: 'GPUs' });

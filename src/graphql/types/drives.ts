/**
 * Drive health (SMART): the latest reading per drive (Device.drives), history per drive, and
 * live health changes. `Device` fields and the change's `device` live in devices.ts, which
 * imports this module (never the other way round).
 */
import type { DriveHealthEvent } from '../../events/index.ts';
import type { DriveHealth, DriveHealthRow } from '../../storage/types.ts';
import { builder } from '../builder.ts';
import { liveEvents, scopeArgs } from './live.ts';
import { defineSubjectHistory, type Stored } from './metrics.ts';

const HEALTH_VALUES = ['HEALTHY', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

export const DriveHealthEnum = builder.enumType('DriveHealth', {
  values: {
    HEALTHY: { description: 'SMART passed and no worrying counter.' },
    WARNING: { description: 'Reallocated/pending sectors, high wear or temperature: plan a replacement.' },
    CRITICAL: { description: 'SMART failed or the drive reports imminent failure.' },
    UNKNOWN: { description: 'smartctl could not read the drive (permissions, unsupported bridge).' },
  } as const,
});

/** Events carry strings; anything this version does not know reads as UNKNOWN rather than failing the field. */
export const asDriveHealth = (v: string | null | undefined): DriveHealth => ((HEALTH_VALUES as readonly string[]).includes(v ?? '') ? (v as DriveHealth) : 'UNKNOWN');

/** The collector stores its reasons beside smartctl's output (collectors/drives.ts driveRow). */
function storedReasons(attributes: unknown): string[] | null {
  if (typeof attributes !== 'object' || attributes === null) return null;
  const reasons = (attributes as { healthReasons?: unknown }).healthReasons;
  return Array.isArray(reasons) ? reasons.filter((x): x is string => typeof x === 'string') : null;
}

export const DriveRef = builder.objectRef<Stored<DriveHealthRow>>('Drive').implement({
  description: 'A drive\'s latest SMART reading. Drives are polled rarely (POLLING_DRIVE_HEALTH_INTERVAL).',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    drive: t.exposeString('drive', { description: 'Device path as smartctl names it, e.g. /dev/sda.' }),
    protocol: t.exposeString('protocol', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    serial: t.exposeString('serial', { nullable: true }),
    firmware: t.exposeString('firmware', { nullable: true }),
    capacityBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.capacityBytes }),
    temperatureC: t.exposeFloat('temperatureC', { nullable: true }),
    powerOnHours: t.field({ type: 'Long', nullable: true, resolve: (r) => r.powerOnHours }),
    reallocatedSectors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.reallocatedSectors }),
    pendingSectors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.pendingSectors }),
    uncorrectableErrors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.uncorrectableErrors }),
    mediaErrors: t.field({ type: 'Long', nullable: true, resolve: (r) => r.mediaErrors }),
    percentUsed: t.exposeFloat('percentUsed', { nullable: true, description: 'NVMe wear, 0–100+.' }),
    smartPassed: t.exposeBoolean('smartPassed', { nullable: true }),
    health: t.field({ type: DriveHealthEnum, resolve: (r) => asDriveHealth(r.health) }),
    exitStatus: t.exposeInt('exitStatus', { nullable: true, description: 'smartctl\'s exit status bit field.' }),
    error: t.exposeString('error', { nullable: true }),
    healthReasons: t.stringList({
      description: 'Why health is what it is, for people (e.g. "reallocated sectors: 304"); empty when HEALTHY.',
      resolve: (r) => storedReasons(r.attributes) ?? (r.error ? [r.error] : []),
    }),
    attributesJson: t.string({
      nullable: true,
      description: 'Everything else smartctl reported (attributes, logs) as JSON text.',
      resolve: (r) => (r.attributes === null || r.attributes === undefined ? null : JSON.stringify(r.attributes)),
    }),
  }),
});

export const DriveHealthChangeRef = builder.objectRef<DriveHealthEvent>('DriveHealthChange').implement({
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    drive: t.exposeString('drive'),
    serial: t.exposeString('serial', { nullable: true }),
    previous: t.field({ type: DriveHealthEnum, nullable: true, resolve: (e) => (e.previous === null ? null : asDriveHealth(e.previous)) }),
    current: t.field({ type: DriveHealthEnum, resolve: (e) => asDriveHealth(e.current) }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.subscriptionField('driveHealthChanged', (t) =>
  t.field({
    type: DriveHealthChangeRef,
    description: 'A drive\'s health changed (or a drive appeared); filtered by device and tags, and with status by the new health.',
    args: { ...scopeArgs(t), status: t.arg({ type: [DriveHealthEnum], required: false, description: 'Only changes to one of these health values.' }) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, 'driveHealthChanged', args, args.status ? (e) => args.status!.includes(asDriveHealth(e.current)) : undefined),
    resolve: (event) => event,
  }),
);

defineSubjectHistory('drives', { type: 'DriveHealth', query: 'driveHealthHistory', subjectField: 'drive', description: 'Temperature, wear and error counters per drive per time bucket.' });

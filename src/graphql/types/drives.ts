/**
 * Drive health (SMART): the latest reading per drive (Device.drives), history per drive, and
 * live health changes. `Device` fields and the change's `device` live in devices.ts, which
 * imports this module (never the other way round).
 */
import { counterIncrease, DRIVE_COUNTERS, driveAttributesJson, driveCounters, driveHealthReasons, driveSelfTests, type DriveCounters } from '../../collectors/drives.ts';
import type { SelfTest } from '../../collectors/smartctl.ts';
import { driveSubject } from '../../alerts/rules.ts';
import type { DriveHealthEvent } from '../../events/index.ts';
import { latestRows } from '../../storage/latest.ts';
import type { DriveHealth, DriveHealthRow } from '../../storage/types.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { NotFoundError } from './errors.ts';
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

interface Baseline {
  deviceId: string;
  drive: string;
  counters: Partial<DriveCounters>;
  acknowledgedAt: Date;
  acknowledgedBy: string | null;
}

const DriveCountersRef = builder.objectRef<Partial<DriveCounters>>('DriveCounters').implement({
  description: 'The error counters whose rise means a failing drive (or, for CRC errors, a bad cable or backplane).',
  fields: (t) => Object.fromEntries(DRIVE_COUNTERS.map((k) => [k, t.field({ type: 'Long', nullable: true, resolve: (c) => c[k] ?? null })])) as never,
});

const DriveBaselineRef = builder.objectRef<Baseline>('DriveBaseline').implement({
  description: 'A drive\'s counters as an operator acknowledged them: DRIVE_COUNTER_INCREASE alerts on a rise above these.',
  fields: (t) => ({
    drive: t.exposeString('drive', { description: 'The drive\'s serial, its path when it has none.' }),
    counters: t.field({ type: DriveCountersRef, resolve: (b) => b.counters }),
    acknowledgedAt: t.field({ type: 'DateTime', resolve: (b) => b.acknowledgedAt }),
    acknowledgedBy: t.exposeString('acknowledgedBy', { nullable: true, description: 'The API token\'s name.' }),
  }),
});

const SelfTestRef = builder.objectRef<SelfTest>('DriveSelfTest').implement({
  description: 'One entry of the drive\'s SMART self-test log.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'e.g. "Short offline", "Extended offline".' }),
    status: t.exposeString('status', { description: 'As smartctl reports it, e.g. "Completed without error", "Completed: read failure".' }),
    passed: t.exposeBoolean('passed', { nullable: true, description: 'false for a failed test; null when not said (aborted, in progress).' }),
    lifetimeHours: t.exposeInt('lifetimeHours', { nullable: true, description: 'Power-on hours when the test ran.' }),
  }),
});

const toBaseline = (b: { deviceId: string; drive: string; counters: unknown; acknowledgedAt: Date; acknowledgedBy: string | null }): Baseline => ({ ...b, counters: b.counters as Partial<DriveCounters> });

/**
 * One read of a drive's baseline per reading, however many of its fields (acknowledged,
 * counterIncrease) ask for it. Keyed by the row, not the request: a subscription's context
 * outlives many readings and must not serve an old baseline.
 */
const baselines = new WeakMap<object, Promise<Baseline | null>>();
function baselineOf(ctx: Context, r: Stored<DriveHealthRow>): Promise<Baseline | null> {
  let b = baselines.get(r);
  if (!b) {
    b = ctx.db.prisma.driveBaseline.findUnique({ where: { deviceId_drive: { deviceId: r.deviceId, drive: driveSubject(r) } } }).then((row) => (row ? toBaseline(row) : null));
    baselines.set(r, b);
  }
  return b;
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
      resolve: (r) => driveHealthReasons(r) ?? (r.error ? [r.error] : []),
    }),
    crcErrors: t.field({ type: 'Long', nullable: true, description: 'Interface CRC errors (ATA attribute 199): usually the cable or backplane.', resolve: (r) => driveCounters(r).crcErrors }),
    selfTests: t.field({ type: [SelfTestRef], description: 'The SMART self-test log of this reading, newest first.', resolve: (r) => driveSelfTests(r) }),
    acknowledged: t.field({
      type: DriveBaselineRef,
      nullable: true,
      description: 'The counters last acknowledged for this drive (acknowledgeDriveCounters); null when never.',
      resolve: (r, _args, ctx) => baselineOf(ctx, r),
    }),
    counterIncrease: t.field({
      type: 'Long',
      description: 'How far the error counters rose above the acknowledged ones (above zero when never acknowledged), summed: what DRIVE_COUNTER_INCREASE compares.',
      resolve: async (r, _args, ctx) => counterIncrease(driveCounters(r), (await baselineOf(ctx, r))?.counters),
    }),
    attributesJson: t.string({
      nullable: true,
      description: 'Everything else smartctl reported (attributes, logs) as JSON text.',
      resolve: (r) => driveAttributesJson(r),
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

builder.mutationField('acknowledgeDriveCounters', (t) =>
  t.field({
    type: DriveBaselineRef,
    errors: { types: [NotFoundError] },
    description: 'Takes a drive\'s current error counters (its latest reading) as its baseline: DRIVE_COUNTER_INCREASE then alerts only when they rise above them. `drive` is the serial or, for a drive without one, its path. OPERATOR.',
    args: { deviceId: t.arg.id({ required: true }), drive: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const deviceId = String(args.deviceId);
      const row = (await latestRows(ctx.db.pool, 'drives', [deviceId])).find((d) => driveSubject(d) === args.drive || d.drive === args.drive);
      if (!row) throw new NotFoundError('Drive', `${deviceId} ${args.drive}`);
      const key = { deviceId, drive: driveSubject(row) };
      const data = { counters: driveCounters(row), acknowledgedAt: new Date(), acknowledgedBy: ctx.auth?.name ?? null };
      const b = await ctx.db.prisma.driveBaseline.upsert({ where: { deviceId_drive: key }, create: { ...key, ...data }, update: data });
      void ctx.events.publish('alertConfigChanged', { kind: 'rules' });
      return toBaseline(b);
    },
  }),
);

defineSubjectHistory('drives', { type: 'DriveHealth', query: 'driveHealthHistory', subjectField: 'drive', description: 'Temperature, wear and error counters per drive per time bucket.' });

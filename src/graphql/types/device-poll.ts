/** pollDevice: one on-demand poll through the poller, answered with the rows it wrote. */
import { DeviceNotFoundError, type PollOutcome } from '../../poller/index.ts';
import type { CollectorOutcome, DeviceStatus } from '../../poller/status.ts';
import { latestRows, type LatestRows } from '../../storage/latest.ts';
import { GpuRef, SensorRef, StoragePoolRef } from './hardware.ts';
import { builder } from '../builder.ts';
import { DeviceRef, DeviceStatusEnum } from './devices.ts';
import type { Context } from '../context.ts';
import { ContainerRef } from './containers.ts';
import { COLLECTOR_NAMES } from '../../collectors/index.ts';
import type { CollectorName } from '../../collectors/types.ts';
import { CollectorNameEnum } from './collectors.ts';
import { DriveRef } from './drives.ts';
import { NotFoundError, UnavailableError } from './errors.ts';
import { DiskIoRef, FilesystemRef, NetworkInterfaceRef, SystemMetricsRef } from './metrics.ts';

/* ---------------------------------------------------------------- poll now */

interface CollectorResult {
  collector: string;
  ok: boolean;
  problems: string[];
  error: string | null;
}

interface PollResult {
  deviceId: string;
  status: DeviceStatus;
  previousStatus: DeviceStatus | null;
  durationMs: number | null;
  rows: number | null;
  write: string | null;
  skipped: string | null;
  collectors: CollectorResult[];
  since: Date;
  want: Set<CollectorName>;
}

const CollectorResultRef = builder.objectRef<CollectorResult>('CollectorResult').implement({
  fields: (t) => ({
    collector: t.exposeString('collector'),
    ok: t.exposeBoolean('ok'),
    problems: t.exposeStringList('problems', { description: 'Partial failures of a collector that ran (e.g. one drive unreadable).' }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

function collectorResult(o: CollectorOutcome): CollectorResult {
  if (o.kind === 'ok') return { collector: o.collector, ok: true, problems: o.problems, error: null };
  return { collector: o.collector, ok: false, problems: [], error: o.message };
}

function toPollResult(o: PollOutcome, since: Date, want: Set<CollectorName>): PollResult {
  return {
    deviceId: o.deviceId,
    status: o.status,
    previousStatus: o.previousStatus,
    durationMs: o.ms,
    rows: o.rows,
    write: o.write,
    skipped: o.skipped ?? null,
    collectors: o.outcomes.map(collectorResult),
    since,
    want,
  };
}

/** Rows of this poll only: a collector that failed leaves nothing newer than `since`. */
async function fresh<K extends keyof LatestRows>(ctx: Context, r: PollResult, kind: K, from: CollectorName) {
  if (!r.want.has(from)) return [];
  const rows = await latestRows(ctx.db.pool, kind, [r.deviceId]);
  return rows.filter((row) => row.time.getTime() >= r.since.getTime());
}

const PollResultRef = builder.objectRef<PollResult>('PollResult').implement({
  description: 'What one on-demand poll found. Sample fields hold only rows this poll wrote.',
  fields: (t) => ({
    device: t.field({ type: DeviceRef, nullable: true, resolve: (r, _args, ctx) => ctx.db.prisma.device.findUnique({ where: { id: r.deviceId } }) }),
    status: t.field({ type: DeviceStatusEnum, resolve: (r) => r.status }),
    previousStatus: t.field({ type: DeviceStatusEnum, nullable: true, resolve: (r) => r.previousStatus }),
    durationMs: t.exposeFloat('durationMs', { nullable: true }),
    rows: t.exposeInt('rows', { nullable: true, description: 'Rows the poll produced.' }),
    write: t.exposeString('write', { nullable: true, description: 'committed, deferred (database down: buffered or spooled), dropped or nothing.' }),
    skipped: t.exposeString('skipped', { nullable: true, description: 'backoff (host recently unreachable) or disabled.' }),
    collectors: t.field({ type: [CollectorResultRef], resolve: (r) => r.collectors }),
    metrics: t.field({ type: SystemMetricsRef, nullable: true, resolve: async (r, _a, ctx) => (await fresh(ctx, r, 'system', 'system'))[0] ?? null }),
    filesystems: t.field({ type: [FilesystemRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'filesystems', 'system') }),
    networkInterfaces: t.field({ type: [NetworkInterfaceRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'networks', 'system') }),
    diskIo: t.field({ type: [DiskIoRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'diskIo', 'system') }),
    drives: t.field({ type: [DriveRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'drives', 'drives') }),
    containers: t.field({ type: [ContainerRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'containers', 'containers') }),
    pools: t.field({ type: [StoragePoolRef], description: 'ZFS pools, md arrays and btrfs filesystems.', resolve: (r, _a, ctx) => fresh(ctx, r, 'pools', 'storage') }),
    sensors: t.field({ type: [SensorRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'sensors', 'sensors') }),
    gpus: t.field({ type: [GpuRef], resolve: (r, _a, ctx) => fresh(ctx, r, 'gpus', 'gpu') }),
  }),
});

function pollerOrThrow(ctx: Context) {
  if (!ctx.poller) throw new UnavailableError('polling is not running on this server (POLLING_ENABLED=false or a read-only instance)', 'poller');
  return ctx.poller;
}

builder.mutationField('pollDevice', (t) =>
  t.field({
    type: PollResultRef,
    errors: { types: [NotFoundError, UnavailableError] },
    description: 'Polls a device now (all collectors unless given) and returns the fresh samples.',
    args: { id: t.arg.id({ required: true }), collectors: t.arg({ type: [CollectorNameEnum], required: false, description: 'Default: every collector (an UNAVAILABLE one is re-probed); switched-off ones never run.' }) },
    resolve: async (_root, { id: rawId, collectors }, ctx) => {
      const id = String(rawId);
      const poller = pollerOrThrow(ctx);
      const device = await ctx.db.prisma.device.findUnique({ where: { id }, select: { status: true } });
      if (!device) throw new NotFoundError('Device', id);
      const names: CollectorName[] = collectors?.length ? [...new Set(collectors)] : [...COLLECTOR_NAMES];
      const since = new Date();
      try {
        return toPollResult(await poller.pollNow(id, names), since, new Set(names));
      } catch (e) {
        if (e instanceof DeviceNotFoundError) throw new NotFoundError('Device', id);
        throw e;
      }
    },
  }),
);

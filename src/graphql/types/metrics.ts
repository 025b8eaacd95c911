/**
 * System metrics: the latest sample (Device.latestMetrics), live samples
 * (Subscription.metricCollected), bucketed history (Query.metricHistory), and the per-subject
 * tables that come from the same collector: filesystems, network interfaces, disk I/O.
 */
import { GraphQLError } from 'graphql';
import type { Wire } from '../../events/index.ts';
import { chooseSource, effectiveBucketSeconds, HISTORY_METRICS, type HistoryMetric, type MetricBucket, type Stat, systemHistory } from '../../storage/history.ts';
import { SERIES, subjectHistory, type Series, type SeriesKind } from '../../storage/series.ts';
import type { DiskIoRow, FilesystemRow, NetworkRow, SystemMetricsRow } from '../../storage/types.ts';
import { builder } from '../builder.ts';
import { encodeCursor } from '../cursor.ts';
import { selectedFields } from '../selection.ts';
import { afterArg, devicesInScope, liveEvents, refuseAfter, resumable, scopeArgs, type DeviceScope } from './live.ts';
import { rowsAfter } from '../../storage/replay.ts';

/** Rows come from storage (Dates) or from events (ISO strings); both serialise the same. */
export type Stored<Row> = Row | Wire<Row>;

/** With its ingest sequence number when known (live events, replays, latest rows). */
export type SystemMetricsShape = Stored<SystemMetricsRow> & { seq?: number | null };

export const SystemMetricsRef = builder.objectRef<SystemMetricsShape>('SystemMetrics').implement({
  description: 'One system sample. Rates are null on a device\'s first poll (they need two).',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (m) => m.time }),
    deviceId: t.exposeID('deviceId'),
    cursor: t.string({
      nullable: true,
      description: 'Pass as `after` to metricCollected to resume right after this sample (null for samples stored before cursors existed).',
      resolve: (m) => (m.seq === null || m.seq === undefined ? null : encodeCursor(m.seq)),
    }),
    cpuCount: t.exposeInt('cpuCount'),
    cpuPercent: t.exposeFloat('cpuPercent', { nullable: true }),
    cpuUserPercent: t.exposeFloat('cpuUserPercent', { nullable: true }),
    cpuSystemPercent: t.exposeFloat('cpuSystemPercent', { nullable: true }),
    cpuIowaitPercent: t.exposeFloat('cpuIowaitPercent', { nullable: true }),
    cpuStealPercent: t.exposeFloat('cpuStealPercent', { nullable: true }),
    corePercents: t.exposeFloatList('corePercents', { description: 'Busy % per logical CPU; empty on the first poll.' }),
    memUsedPercent: t.exposeFloat('memUsedPercent'),
    memTotalBytes: t.field({ type: 'Long', resolve: (m) => m.memTotalBytes }),
    memAvailableBytes: t.field({ type: 'Long', resolve: (m) => m.memAvailableBytes }),
    swapTotalBytes: t.field({ type: 'Long', resolve: (m) => m.swapTotalBytes }),
    swapFreeBytes: t.field({ type: 'Long', resolve: (m) => m.swapFreeBytes }),
    load1: t.exposeFloat('load1'),
    load5: t.exposeFloat('load5'),
    load15: t.exposeFloat('load15'),
    uptimeSeconds: t.exposeFloat('uptimeSeconds'),
    processCount: t.exposeInt('processCount', { nullable: true }),
    netRxBytesPerSec: t.exposeFloat('netRxBytesPerSec', { nullable: true }),
    netTxBytesPerSec: t.exposeFloat('netTxBytesPerSec', { nullable: true }),
    diskReadBytesPerSec: t.exposeFloat('diskReadBytesPerSec', { nullable: true }),
    diskWriteBytesPerSec: t.exposeFloat('diskWriteBytesPerSec', { nullable: true }),
  }),
});

builder.subscriptionField('metricCollected', (t) =>
  t.field({
    type: SystemMetricsRef,
    description: 'Every system sample as soon as it is stored; filtered by device and tags (none given: every device).',
    args: { ...scopeArgs(t), after: afterArg(t) },
    subscribe: (_root, args, ctx) => {
      refuseAfter(args);
      return liveEvents(ctx, 'metricCollected', args);
    },
    resolve: (event) => event.sample,
  }),
);

resumable('metricCollected', {
  async replay(ctx, args, afterSeq, limit) {
    const devices = await devicesInScope(ctx, args as DeviceScope);
    if (devices?.length === 0) return { events: [], more: false };
    const rows = await rowsAfter(ctx.db.prisma, 'system', afterSeq, devices, limit);
    return { events: rows.map((sample) => ({ deviceId: sample.deviceId, sample, seq: sample.seq })), more: rows.length === limit };
  },
});

/* ---------------------------------------------------------------- latest per-subject rows */

export const FilesystemRef = builder.objectRef<Stored<FilesystemRow>>('Filesystem').implement({
  description: 'A mounted filesystem as of the device\'s latest poll.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    mount: t.exposeString('mount'),
    filesystem: t.exposeString('filesystem', { description: 'The device or source, e.g. /dev/sda1.' }),
    fsType: t.exposeString('fsType', { nullable: true }),
    sizeBytes: t.field({ type: 'Long', resolve: (r) => r.sizeBytes }),
    usedBytes: t.field({ type: 'Long', resolve: (r) => r.usedBytes }),
    availableBytes: t.field({ type: 'Long', resolve: (r) => r.availableBytes }),
    usedPercent: t.exposeFloat('usedPercent'),
  }),
});

export const NetworkInterfaceRef = builder.objectRef<Stored<NetworkRow>>('NetworkInterface').implement({
  description: 'A network interface as of the device\'s latest poll. Rates are null on the first poll.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    name: t.exposeString('interface'),
    rxBytesTotal: t.field({ type: 'Long', resolve: (r) => r.rxBytesTotal }),
    txBytesTotal: t.field({ type: 'Long', resolve: (r) => r.txBytesTotal }),
    rxBytesPerSec: t.exposeFloat('rxBytesPerSec', { nullable: true }),
    txBytesPerSec: t.exposeFloat('txBytesPerSec', { nullable: true }),
    rxPacketsPerSec: t.exposeFloat('rxPacketsPerSec', { nullable: true }),
    txPacketsPerSec: t.exposeFloat('txPacketsPerSec', { nullable: true }),
    rxErrorsPerSec: t.exposeFloat('rxErrorsPerSec', { nullable: true }),
    txErrorsPerSec: t.exposeFloat('txErrorsPerSec', { nullable: true }),
    rxDroppedPerSec: t.exposeFloat('rxDroppedPerSec', { nullable: true }),
    txDroppedPerSec: t.exposeFloat('txDroppedPerSec', { nullable: true }),
  }),
});

export const DiskIoRef = builder.objectRef<Stored<DiskIoRow>>('DiskIo').implement({
  description: 'Block-device throughput as of the device\'s latest poll. Null on the first poll.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    disk: t.exposeString('disk'),
    readBytesPerSec: t.exposeFloat('readBytesPerSec', { nullable: true }),
    writeBytesPerSec: t.exposeFloat('writeBytesPerSec', { nullable: true }),
    readIops: t.exposeFloat('readIops', { nullable: true }),
    writeIops: t.exposeFloat('writeIops', { nullable: true }),
    utilPercent: t.exposeFloat('utilPercent', { nullable: true }),
  }),
});

/* ---------------------------------------------------------------- history */

export const MetricStatRef = builder.objectRef<Stat>('MetricStat').implement({
  description: 'A metric over one bucket; null when no sample in the bucket had a value.',
  fields: (t) => ({
    avg: t.exposeFloat('avg', { nullable: true }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true }),
  }),
});

export const MetricBucketRef = builder.objectRef<MetricBucket>('MetricBucket').implement({
  description: 'System metrics over one time bucket [time, time + bucketSeconds).',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', description: 'Start of the bucket.', resolve: (b) => b.time }),
    samples: t.exposeInt('samples', { description: 'Samples in the bucket.' }),
    ...Object.fromEntries(
      (Object.keys(HISTORY_METRICS) as HistoryMetric[]).map((m) => [m, t.field({ type: MetricStatRef, resolve: (b) => b[m] })]),
    ),
  }),
});

export interface HistoryRange {
  from: Date;
  to: Date;
  bucketSeconds: number;
  rangeSeconds: number;
}

const MAX_RANGE_SECONDS = 400 * 86_400;

/**
 * from/to/bucketSeconds as the client gave them → a checked range: `to` defaults to now, the
 * bucket to about 300 points, and no series has more than MAX_POINTS points. These are query
 * arguments with a list result, so a bad range is a GraphQL error (BAD_USER_INPUT).
 */
export function historyRange(args: { from: Date; to?: Date | null; bucketSeconds?: number | null }): HistoryRange {
  const to = args.to ?? new Date();
  const rangeSeconds = (to.getTime() - args.from.getTime()) / 1000;
  const bad = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
  if (!(rangeSeconds > 0)) throw bad('from must be before to');
  if (rangeSeconds > MAX_RANGE_SECONDS) throw bad('the range may span at most 400 days');
  if (args.bucketSeconds !== null && args.bucketSeconds !== undefined && args.bucketSeconds < 1) throw bad('bucketSeconds must be at least 1');
  return { from: args.from, to, rangeSeconds, bucketSeconds: effectiveBucketSeconds(rangeSeconds, args.bucketSeconds ?? undefined) };
}

const rangeArgs = {
  from: { type: 'DateTime', required: true },
  to: { type: 'DateTime', required: false, description: 'Defaults to now.' },
  bucketSeconds: { type: 'Int', required: false, description: 'Bucket width; defaults to about 300 points over the range and is widened to keep at most 2000.' },
} as const;

builder.queryField('metricHistory', (t) =>
  t.field({
    type: [MetricBucketRef],
    description: 'avg/min/max of each system metric per time bucket (time_bucket; TimescaleDB continuous aggregates for long ranges when present).',
    args: {
      deviceId: t.arg.id({ required: true }),
      from: t.arg({ ...rangeArgs.from }),
      to: t.arg({ ...rangeArgs.to }),
      bucketSeconds: t.arg({ ...rangeArgs.bucketSeconds }),
    },
    resolve: (_root, args, ctx, info) => {
      const range = historyRange(args);
      const selected = selectedFields(info);
      return systemHistory(ctx.db.pool, {
        metrics: (Object.keys(HISTORY_METRICS) as HistoryMetric[]).filter((m) => selected.has(m)),
        deviceId: String(args.deviceId),
        from: range.from,
        to: range.to,
        bucketSeconds: range.bucketSeconds,
        source: chooseSource(ctx.db.timescale !== null, range.rangeSeconds, range.bucketSeconds),
      });
    },
  }),
);

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * The GraphQL side of one per-subject history: `<Name>Series { <subjectField> buckets }` and
 * `<Name>Bucket { time samples <stat>: MetricStat … <last>: String … }`, field names in
 * camelCase of the storage columns, and the query field `<queryName>(deviceId, from, to,
 * bucketSeconds, <subjectField>)`.
 */
export function defineSubjectHistory<K extends SeriesKind>(kind: K, names: { type: string; query: string; subjectField: string; description: string }) {
  type Bucket = Series<K>['buckets'][number];
  const spec = SERIES[kind] as { stats: readonly string[]; last: readonly string[] };
  const BucketRef = builder.objectRef<Bucket>(`${names.type}Bucket`).implement({
    fields: (t) => ({
      time: t.field({ type: 'DateTime', description: 'Start of the bucket.', resolve: (b) => b.time }),
      samples: t.exposeInt('samples'),
      ...Object.fromEntries(spec.stats.map((c) => [camel(c), t.field({ type: MetricStatRef, resolve: (b) => (b.stats as Record<string, Stat>)[c]! })])),
      ...Object.fromEntries(
        spec.last.map((c) => [
          camel(c),
          t.string({ nullable: true, description: 'Its value in the bucket\'s newest sample.', resolve: (b) => (b.last as Record<string, string | null>)[c] ?? null }),
        ]),
      ),
    }),
  });
  const SeriesRef = builder.objectRef<Series<K>>(`${names.type}Series`).implement({
    fields: (t) => ({
      [names.subjectField]: t.exposeString('subject'),
      buckets: t.field({ type: [BucketRef], resolve: (s) => s.buckets }),
    }),
  });
  builder.queryField(names.query, (t) =>
    t.field({
      type: [SeriesRef],
      description: names.description,
      args: {
        deviceId: t.arg.id({ required: true }),
        from: t.arg({ ...rangeArgs.from }),
        to: t.arg({ ...rangeArgs.to }),
        bucketSeconds: t.arg({ ...rangeArgs.bucketSeconds }),
        [names.subjectField]: t.arg.string({ required: false, description: 'Only this one.' }),
      },
      resolve: (_root, args, ctx) => {
        const range = historyRange(args as { from: Date; to?: Date | null; bucketSeconds?: number | null });
        const subject = (args as Record<string, unknown>)[names.subjectField];
        return subjectHistory(ctx.db.pool, kind, {
          deviceId: String(args.deviceId),
          from: range.from,
          to: range.to,
          bucketSeconds: range.bucketSeconds,
          subject: typeof subject === 'string' ? subject : null,
        });
      },
    }),
  );
  return { BucketRef, SeriesRef };
}

defineSubjectHistory('filesystems', { type: 'Filesystem', query: 'filesystemHistory', subjectField: 'mount', description: 'Usage per mount point per time bucket.' });
defineSubjectHistory('networks', { type: 'NetworkInterface', query: 'networkHistory', subjectField: 'interface', description: 'Rates per network interface per time bucket.' });
defineSubjectHistory('diskIo', { type: 'DiskIo', query: 'diskIoHistory', subjectField: 'disk', description: 'Throughput per block device per time bucket.' });

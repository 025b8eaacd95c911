import type { Wire } from '../../events/index.ts';
import type { SystemMetricsRow } from '../../storage/types.ts';
import { builder } from '../builder.ts';

/** Rows come from storage (Dates) or from events (ISO strings); both serialise the same. */
export type SystemMetricsShape = SystemMetricsRow | Wire<SystemMetricsRow>;

export const SystemMetricsRef = builder.objectRef<SystemMetricsShape>('SystemMetrics').implement({
  description: 'One system sample. Rates are null on a device\'s first poll (they need two).',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (m) => m.time }),
    deviceId: t.exposeID('deviceId'),
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
    description: 'Every system sample as soon as it is stored; only one device\'s with deviceId.',
    args: { deviceId: t.arg.id({ required: false }) },
    subscribe: (_root, { deviceId }, ctx) => {
      const source = ctx.events.subscribe('metricCollected');
      const wanted = deviceId === null || deviceId === undefined ? null : String(deviceId);
      return (async function* () {
        for await (const event of source) if (wanted === null || event.deviceId === wanted) yield event.sample;
      })();
    },
    resolve: (sample) => sample,
  }),
);

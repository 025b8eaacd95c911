/**
 * Live samples of the per-subject kinds the poller writes — filesystems, network interfaces,
 * disk I/O, drives, containers — one event per device and poll with every row of that poll,
 * published after the rows are committed (src/poller/publish.ts). Like metricCollected they
 * take the device filters and `after: cursor` to resume.
 */
import type { ObjectRef } from '@pothos/core';
import type { SamplesEvent, Topic } from '../../events/index.ts';
import { rowsAfter, type SampleKind } from '../../storage/replay.ts';
import type { ContainerRow, DiskIoRow, DriveHealthRow, FilesystemRow, NetworkRow, SampleBatch } from '../../storage/types.ts';
import { builder } from '../builder.ts';
import { encodeCursor } from '../cursor.ts';
import { ContainerRef } from './containers.ts';
import { DriveRef } from './drives.ts';
import { afterArg, devicesInScope, liveEvents, refuseAfter, resumable, scopeArgs, type DeviceScope, type ReplaySource } from './live.ts';
import { DiskIoRef, FilesystemRef, NetworkInterfaceRef, type Stored } from './metrics.ts';

type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type GroupedKind = Exclude<SampleKind, 'system'>;
/** An event as published live (wire rows) or replayed (stored rows). */
type Samples<Row> = Omit<SamplesEvent<Row>, 'rows'> & { rows: Stored<Row>[] };

/**
 * Replays whole polls: rows in ingest order, grouped by (device, time). A page that ends
 * mid-poll leaves that poll to the next page (unless it is the page's only one).
 */
function groupedReplay(kind: GroupedKind): ReplaySource {
  return {
    async replay(ctx, args, afterSeq, limit) {
      const devices = await devicesInScope(ctx, args as DeviceScope);
      if (devices?.length === 0) return { events: [], more: false };
      const rows = await rowsAfter(ctx.db.prisma, kind, afterSeq, devices, limit);
      const events: Samples<SampleBatch[GroupedKind][number]>[] = [];
      for (const row of rows) {
        const last = events.at(-1);
        if (last && last.deviceId === row.deviceId && last.time === row.time.toISOString()) {
          last.rows.push(row);
          last.seq = Math.max(last.seq ?? 0, row.seq);
        } else {
          events.push({ deviceId: row.deviceId, time: row.time.toISOString(), rows: [row], seq: row.seq });
        }
      }
      const more = rows.length === limit;
      if (more && events.length > 1) events.pop();
      return { events, more };
    },
  };
}

interface Spec<Row> {
  field: string;
  topic: Topic & `${string}Collected`;
  kind: GroupedKind;
  type: string;
  list: string;
  item: ObjectRef<BuilderTypes, Stored<Row>>;
  what: string;
}

export function defineSamples<Row>(spec: Spec<Row>): void {
  const ref = builder.objectRef<Samples<Row>>(spec.type).implement({
    description: `Every ${spec.what} of one device from one poll, as stored.`,
    fields: (t) => ({
      deviceId: t.exposeID('deviceId'),
      time: t.field({ type: 'DateTime', description: 'The poll\'s time (every row shares it).', resolve: (e) => e.time }),
      cursor: t.string({
        nullable: true,
        description: `Pass as \`after\` to ${spec.field} to resume right after this event.`,
        resolve: (e) => (e.seq === undefined ? null : encodeCursor(e.seq)),
      }),
      [spec.list]: t.field({ type: [spec.item], resolve: (e) => e.rows }),
    }),
  });
  builder.subscriptionField(spec.field, (t) =>
    t.field({
      type: ref,
      description: `The ${spec.what} of each poll as soon as they are stored; filtered by device and tags (none given: every device).`,
      args: { ...scopeArgs(t), after: afterArg(t) },
      subscribe: (_root, args, ctx) => {
        refuseAfter(args);
        return liveEvents(ctx, spec.topic, args) as Promise<AsyncIterable<Samples<Row>>>;
      },
      resolve: (e) => e,
    }),
  );
  resumable(spec.field, groupedReplay(spec.kind));
}

defineSamples<FilesystemRow>({ field: 'filesystemsCollected', topic: 'filesystemsCollected', kind: 'filesystems', type: 'FilesystemsCollected', list: 'filesystems', item: FilesystemRef, what: 'mounted filesystems' });
defineSamples<NetworkRow>({ field: 'networkInterfacesCollected', topic: 'networkInterfacesCollected', kind: 'networks', type: 'NetworkInterfacesCollected', list: 'interfaces', item: NetworkInterfaceRef, what: 'network interfaces' });
defineSamples<DiskIoRow>({ field: 'diskIoCollected', topic: 'diskIoCollected', kind: 'diskIo', type: 'DiskIoCollected', list: 'disks', item: DiskIoRef, what: 'block devices\' I/O rates' });
defineSamples<DriveHealthRow>({ field: 'drivesCollected', topic: 'drivesCollected', kind: 'drives', type: 'DrivesCollected', list: 'drives', item: DriveRef, what: 'drives\' SMART readings' });
defineSamples<ContainerRow>({ field: 'containersCollected', topic: 'containersCollected', kind: 'containers', type: 'ContainersCollected', list: 'containers', item: ContainerRef, what: 'containers' });

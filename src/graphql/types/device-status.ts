/** Live device status changes: `deviceStatusChanged` with its filters. */
import type { Device as DeviceRow } from '../../db/generated/client.ts';
import type { DeviceStatusEvent } from '../../events/index.ts';
import { builder } from '../builder.ts';
import { asStatus, DeviceRef, DeviceStatusEnum } from './devices.ts';
import type { Context } from '../context.ts';
import { ContainerStateChangeRef } from './containers.ts';
import { DriveHealthChangeRef } from './drives.ts';
import { PoolStateChangeRef, SensorStatusChangeRef } from './hardware.ts';
import { liveEvents, scopeArgs } from './live.ts';

/* ---------------------------------------------------------------- subscriptions */

// The loader gives null for an id it does not find; a failure (the database unreachable) is the field's error, not a deleted device.
const loadDevice = (ctx: Context, id: string): Promise<DeviceRow | null> => DeviceRef.getDataloader(ctx).load(id);

const DeviceStatusChangeRef = builder.objectRef<DeviceStatusEvent>('DeviceStatusChange').implement({
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    device: t.field({ type: DeviceRef, nullable: true, description: 'Null when the device has been deleted since.', resolve: (e, _args, ctx) => loadDevice(ctx, e.deviceId) }),
    previous: t.field({ type: DeviceStatusEnum, resolve: (e) => asStatus(e.previous) }),
    current: t.field({ type: DeviceStatusEnum, resolve: (e) => asStatus(e.current) }),
    reason: t.exposeString('reason', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.subscriptionField('deviceStatusChanged', (t) =>
  t.field({
    type: DeviceStatusChangeRef,
    description: 'A device\'s status changed; filtered by device and tags, and with status by the new status.',
    args: { ...scopeArgs(t), status: t.arg({ type: [DeviceStatusEnum], required: false, description: 'Only changes to one of these statuses.' }) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, 'deviceStatusChanged', args, args.status ? (e) => args.status!.includes(asStatus(e.current)) : undefined),
    resolve: (event) => event,
  }),
);

builder.objectField(ContainerStateChangeRef, 'device', (t) =>
  t.field({ type: DeviceRef, nullable: true, resolve: (e, _args, ctx) => loadDevice(ctx, e.deviceId) }),
);
for (const ref of [DriveHealthChangeRef, PoolStateChangeRef, SensorStatusChangeRef] as const) {
  builder.objectField(ref, 'device', (t) => t.field({ type: DeviceRef, nullable: true, resolve: (e: { deviceId: string }, _args, ctx) => loadDevice(ctx, e.deviceId) }));
}

/**
 * Containers (docker): the latest snapshot per container (Device.containers), history per
 * container, and live state changes. `device` on the change is added in devices.ts.
 */
import type { ContainerStateEvent } from '../../events/index.ts';
import type { ContainerRow } from '../../storage/types.ts';
import { builder } from '../builder.ts';
import { liveEvents, scopeArgs } from './live.ts';
import { defineSubjectHistory, type Stored } from './metrics.ts';

export const ContainerRef = builder.objectRef<Stored<ContainerRow>>('Container').implement({
  description: 'A container as of the device\'s latest container poll. Stats are null for stopped containers.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    containerId: t.exposeString('containerId'),
    name: t.exposeString('name'),
    image: t.exposeString('image'),
    state: t.exposeString('state', { description: 'created, running, paused, restarting, removing, exited or dead.' }),
    health: t.exposeString('health', { nullable: true, description: 'healthy, unhealthy or starting; null without a healthcheck.' }),
    restartCount: t.exposeInt('restartCount', { nullable: true }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.createdAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.startedAt }),
    cpuPercent: t.exposeFloat('cpuPercent', { nullable: true }),
    memUsageBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.memUsageBytes }),
    memLimitBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.memLimitBytes }),
    netRxBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.netRxBytes }),
    netTxBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.netTxBytes }),
    blockReadBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.blockReadBytes }),
    blockWriteBytes: t.field({ type: 'Long', nullable: true, resolve: (r) => r.blockWriteBytes }),
    pids: t.exposeInt('pids', { nullable: true }),
  }),
});

export const ContainerStateChangeRef = builder.objectRef<ContainerStateEvent>('ContainerStateChange').implement({
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    containerId: t.exposeString('containerId'),
    name: t.exposeString('name'),
    previousState: t.exposeString('previousState', { nullable: true, description: 'Null when the container is new.' }),
    state: t.exposeString('state'),
    previousHealth: t.exposeString('previousHealth', { nullable: true }),
    health: t.exposeString('health', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.subscriptionField('containerStateChanged', (t) =>
  t.field({
    type: ContainerStateChangeRef,
    description: 'A container started, stopped, appeared, vanished or changed health; filtered by device and tags, and with status by the new state.',
    args: { ...scopeArgs(t), status: t.arg.stringList({ required: false, description: 'Only changes to one of these states (running, exited, …).' }) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, 'containerStateChanged', args, args.status ? (e) => args.status!.includes(e.state) : undefined),
    resolve: (event) => event,
  }),
);

defineSubjectHistory('containers', { type: 'Container', query: 'containerHistory', subjectField: 'containerId', description: 'CPU, memory and restarts per container per time bucket.' });

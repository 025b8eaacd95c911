/**
 * Devices: the Device node (its latest samples batched per table across every device in the
 * response) and the devices connection. Its mutations, polls, host keys and live status are in
 * the device-*.ts files beside it.
 */
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import type { Device as DeviceRow } from '../../db/generated/client.ts';
import { deviceCount, devicePage, deviceRows, type DeviceFilter } from '../../db/devices.ts';
import { DEVICE_STATUSES, type DeviceStatus } from '../../poller/status.ts';
import { pagedList, limitedList, type PageSize } from '../../security/cost.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { latestLoaders, latestSystem } from '../loaders.ts';
import { ContainerRef } from './containers.ts';
import { CollectorStateRef, collectorsOf, INTERVAL_COLUMN } from './collectors.ts';
import { COLLECTOR_NAMES } from '../../collectors/index.ts';
import type { CollectorName } from '../../collectors/types.ts';
import { CredentialRef, credentialViewSelect, toCredentialView } from './credentials.ts';
import { DriveRef } from './drives.ts';
import { GpuRef, SensorRef, StoragePoolRef } from './hardware.ts';
import { DiskIoRef, FilesystemRef, NetworkInterfaceRef, SystemMetricsRef } from './metrics.ts';

/* ---------------------------------------------------------------- enums */

const STATUSES = DEVICE_STATUSES;
type Status = DeviceStatus;

export const DeviceStatusEnum = builder.enumType('DeviceStatus', {
  values: {
    UNKNOWN: { description: 'Not polled yet.' },
    ONLINE: { description: 'The latest poll succeeded.' },
    DEGRADED: { description: 'Reachable, but a collector failed (e.g. docker or smartctl denied).' },
    OFFLINE: { description: 'Several polls in a row could not reach it.' },
    AUTH_FAILED: { description: 'The host refused the credentials.' },
    HOST_KEY_MISMATCH: { description: 'The host presented a key other than the pinned one: check it, then trustHostKey.' },
    DISABLED: { description: 'Monitoring is switched off for this device.' },
  } as const,
});

/** Events carry strings; a status this version does not know reads as UNKNOWN instead of failing the field. */
export const asStatus = (v: string): Status => ((STATUSES as readonly string[]).includes(v) ? (v as Status) : 'UNKNOWN');

export const TransportEnum = builder.enumType('Transport', {
  values: { SSH: { description: 'Over SSH (no agent on the host).' }, LOCAL: { description: 'The machine the server runs on, without SSH.' } } as const,
});


/* ---------------------------------------------------------------- Device */

/** A device's own credential (from createDevice's secret), as opposed to a shared one. */

export const DeviceRef = builder.loadableNodeRef('Device', {
  id: { resolve: (d: DeviceRow) => d.id },
  // Loads still batch within a tick; nothing is memoised, so a long-lived subscription
  // context never serves a stale device.
  loaderOptions: { cache: false },
  load: async (ids: string[], ctx: Context) => deviceRows(ctx.db.pool, ids),
  sort: (d) => d.id,
});

interface Intervals {
  device: DeviceRow;
  defaults: Record<CollectorName, number>;
}

const DeviceIntervalsRef = builder.objectRef<Intervals>('DeviceIntervals').implement({
  description: 'Seconds between polls per collector family: the device\'s override, else the server\'s POLLING_*_INTERVAL.',
  fields: (t) => ({
    ...Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, t.int({ resolve: (i) => i.device[INTERVAL_COLUMN[name]] ?? i.defaults[name] })])),
    ...Object.fromEntries(COLLECTOR_NAMES.map((name) => [`${name}Override`, t.int({ nullable: true, resolve: (i) => i.device[INTERVAL_COLUMN[name]] })])),
  }),
});

interface StatusChangeRow {
  id: string;
  deviceId: string;
  previous: string;
  current: string;
  reason: string | null;
  at: Date;
}

const StatusChangeRef = builder.objectRef<StatusChangeRow>('StatusChange').implement({
  description: 'A recorded transition of a device\'s status.',
  fields: (t) => ({
    previous: t.field({ type: DeviceStatusEnum, resolve: (s) => asStatus(s.previous) }),
    current: t.field({ type: DeviceStatusEnum, resolve: (s) => asStatus(s.current) }),
    reason: t.exposeString('reason', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (s) => s.at }),
  }),
});

const STATUS_CHANGES_MAX = 100;
const STATUS_CHANGES_SQL = `SELECT s.id::text AS id, s.device_id AS "deviceId", s.previous::text AS previous, s.current::text AS current, s.reason, s.at
FROM unnest($1::text[]) AS d(id)
CROSS JOIN LATERAL (SELECT * FROM status_changes WHERE device_id = d.id ORDER BY at DESC LIMIT $2) s`;

DeviceRef.implement({
  description: 'A monitored host. Its id is usable everywhere a deviceId is asked for, and in node(id).',
  fields: (t) => ({
    name: t.exposeString('name'),
    hostname: t.exposeString('hostname'),
    port: t.exposeInt('port'),
    username: t.exposeString('username', { nullable: true }),
    transport: t.field({ type: TransportEnum, resolve: (d) => d.transport }),
    status: t.field({ type: DeviceStatusEnum, resolve: (d) => d.status }),
    lastSeenAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.lastSeenAt }),
    lastError: t.exposeString('lastError', { nullable: true }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    hostKeyFingerprint: t.exposeString('hostKeyFingerprint', { nullable: true, description: 'The pinned host key (SHA256:…); null until first contact.' }),
    presentedHostKey: t.exposeString('pendingHostKey', { nullable: true, description: 'The key a mismatching host presented: what trustHostKey would pin.' }),
    tags: t.exposeStringList('tags'),
    monitoringEnabled: t.exposeBoolean('monitoringEnabled'),
    sudoSmartctl: t.exposeBoolean('sudoSmartctl', { description: 'smartctl runs through `sudo -n` (see SECURITY.md for the sudoers line).' }),
    intervals: t.field({
      type: DeviceIntervalsRef,
      resolve: (device, _args, ctx) => ({ device, defaults: ctx.config.polling.intervals }),
    }),
    collectors: t.field({
      type: [CollectorStateRef],
      description: 'Every collector: OK, FAILING, UNAVAILABLE on this host (not a fault) or DISABLED, why, and when it last ran.',
      resolve: (device, _args, ctx) => collectorsOf(device, ctx),
    }),
    hasCredential: t.boolean({ resolve: (d) => d.credentialId !== null }),
    credential: t.loadable({
      type: CredentialRef,
      nullable: true,
      description: 'Which stored credential it logs in with (never the secret).',
      load: async (ids: string[], ctx: Context) => {
        const found = await ctx.db.prisma.credential.findMany({ where: { id: { in: [...new Set(ids)] } }, select: credentialViewSelect });
        const byId = new Map(found.map((c) => [c.id, toCredentialView(c)]));
        return ids.map((id) => byId.get(id) ?? new Error(`credential ${id} not found`));
      },
      resolve: (d) => d.credentialId,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When its settings last changed. Polls leave it alone: they move lastSeenAt, status and the collector states.', resolve: (d) => d.updatedAt }),
    latestMetrics: t.field({
      type: SystemMetricsRef,
      nullable: true,
      description: 'The latest system sample; null before the first poll.',
      resolve: (d, _args, ctx) => latestSystem(ctx, d.id),
    }),
    corePercents: t.floatList({
      description: 'Busy % per logical CPU from the latest sample; empty before the second poll.',
      resolve: async (d, _args, ctx) => (await latestSystem(ctx, d.id))?.corePercents ?? [],
    }),
    filesystems: t.field({ type: [FilesystemRef], resolve: (d, _args, ctx) => latestLoaders(ctx).filesystems.load(d.id) }),
    networkInterfaces: t.field({ type: [NetworkInterfaceRef], resolve: (d, _args, ctx) => latestLoaders(ctx).networks.load(d.id) }),
    diskIo: t.field({ type: [DiskIoRef], resolve: (d, _args, ctx) => latestLoaders(ctx).diskIo.load(d.id) }),
    drives: t.field({ type: [DriveRef], description: 'The latest reading of each drive.', resolve: (d, _args, ctx) => latestLoaders(ctx).drives.load(d.id) }),
    containers: t.field({ type: [ContainerRef], description: 'Every container of the latest container poll.', resolve: (d, _args, ctx) => latestLoaders(ctx).containers.load(d.id) }),
    pools: t.field({
      type: [StoragePoolRef],
      description: 'ZFS pools and btrfs filesystems of the latest storage poll, with the ZFS vdev tree.',
      resolve: async (d, _args, ctx) => (await latestLoaders(ctx).pools.load(d.id)).filter((p) => p.kind !== 'MDRAID'),
    }),
    raidArrays: t.field({
      type: [StoragePoolRef],
      description: 'Linux software RAID (md) arrays of the latest storage poll, with their members.',
      resolve: async (d, _args, ctx) => (await latestLoaders(ctx).pools.load(d.id)).filter((p) => p.kind === 'MDRAID'),
    }),
    sensors: t.field({ type: [SensorRef], description: 'Every hwmon temperature and fan of the latest sensors poll.', resolve: (d, _args, ctx) => latestLoaders(ctx).sensors.load(d.id) }),
    gpus: t.field({ type: [GpuRef], description: 'Every GPU of the latest GPU poll.', resolve: (d, _args, ctx) => latestLoaders(ctx).gpus.load(d.id) }),
    statusChanges: t.loadableList({
      type: StatusChangeRef,
      description: 'Recent status transitions, newest first.',
      byPath: true,
      extensions: limitedList(STATUS_CHANGES_MAX),
      args: { limit: t.arg.int({ required: false, defaultValue: 20, description: `1 to ${STATUS_CHANGES_MAX}.` }) },
      load: async (ids: string[], ctx: Context, args: { limit?: number | null }) => {
        const limit = Math.min(Math.max(args.limit ?? 20, 1), STATUS_CHANGES_MAX);
        const rows = await ctx.db.prisma.$queryRawUnsafe<StatusChangeRow[]>(STATUS_CHANGES_SQL, [...new Set(ids)], limit);
        return ids.map((id) => rows.filter((r) => r.deviceId === id));
      },
      resolve: (d) => d.id,
    }),
  }),
});

/* ---------------------------------------------------------------- queries */

const encodeCursor = (name: string) => Buffer.from(`n:${name}`, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('n:')) throw new GraphQLError('invalid cursor', { extensions: { code: 'BAD_USER_INPUT' } });
  return text.slice(2);
}

const DEVICE_PAGE: PageSize = { defaultSize: 100, maxSize: 1000 };

builder.queryField('devices', (t) =>
  t.connection(
    {
      type: DeviceRef,
      description: 'Devices ordered by name; every filter given must match.',
      extensions: pagedList(DEVICE_PAGE),
      args: {
        status: t.arg({ type: [DeviceStatusEnum], required: false, description: 'Any of these statuses.' }),
        tag: t.arg.string({ required: false, description: 'Has this tag.' }),
        tags: t.arg.stringList({ required: false, description: 'Has every one of these tags.' }),
        search: t.arg.string({ required: false, description: 'Case-insensitive substring of the name or hostname.' }),
        monitoringEnabled: t.arg.boolean({ required: false }),
      },
      resolve: async (_root, args, ctx) => {
        const filter: DeviceFilter = {
          statuses: args.status ?? undefined,
          tags: [...(args.tags ?? []), ...(args.tag ? [args.tag] : [])],
          search: args.search ?? undefined,
          monitoringEnabled: args.monitoringEnabled ?? undefined,
        };
        // Filters, order, pages and rows in one query over pg (src/db/devices.ts says why not Prisma).
        const connection = await resolveCursorConnection<Promise<DeviceRow[]>>(
          { args, toCursor: (d: DeviceRow) => encodeCursor(d.name), ...DEVICE_PAGE },
          ({ before, after, limit, inverted }) =>
            devicePage(ctx.db.pool, filter, { after: after ? decodeCursor(after) : undefined, before: before ? decodeCursor(before) : undefined, limit, descending: inverted }),
        );
        return { ...connection, filter };
      },
    },
    {
      name: 'DeviceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'Devices matching the filters, over all pages.',
          resolve: (conn, _args, ctx) => deviceCount(ctx.db.pool, (conn as { filter?: DeviceFilter }).filter ?? {}),
        }),
      }),
    },
  ),
);

builder.queryField('device', (t) =>
  t.field({
    type: DeviceRef,
    nullable: true,
    description: 'One device by id (or by name); null when there is none.',
    args: { id: t.arg.id({ required: false }), name: t.arg.string({ required: false }) },
    resolve: async (_root, { id, name }, ctx) => {
      if ((id === null || id === undefined) === (name === null || name === undefined)) {
        throw new GraphQLError('give exactly one of id and name', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      return id !== null && id !== undefined
        ? ctx.db.prisma.device.findUnique({ where: { id: String(id) } })
        : ctx.db.prisma.device.findUnique({ where: { name: name! } });
    },
  }),
);

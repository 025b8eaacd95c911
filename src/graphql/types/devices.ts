/**
 * Devices: the Device node (its latest samples batched per table across every device in the
 * response), the devices connection, device CRUD with typed errors, on-demand polls, a
 * connection dry run, host-key trust, and live status changes.
 */
import { randomUUID } from 'node:crypto';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import type { Device as DeviceRow, Prisma } from '../../db/generated/client.ts';
import type { DeviceStatusEvent } from '../../events/index.ts';
import { isUniqueViolation } from '../../db/index.ts';
import { DeviceNotFoundError, InvalidFingerprintError, type PollOutcome } from '../../poller/index.ts';
import { DEVICE_STATUSES, type CollectorOutcome, type DeviceStatus } from '../../poller/status.ts';
import { latestRows } from '../../storage/latest.ts';
import { sshIdentity } from '../../security/ssh-identity.ts';
import { purgeDeviceHistory } from '../../storage/series.ts';
import { credentialSecret, openRunner, type SshSecret } from '../../transport/connect.ts';
import { TransportError, type CommandRunner } from '../../transport/types.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { latestLoaders, latestSystem } from '../loaders.ts';
import { ContainerRef, ContainerStateChangeRef } from './containers.ts';
import { COLLECTOR_NAMES } from '../../collectors/index.ts';
import type { CollectorName } from '../../collectors/types.ts';
import { checkCollectorSettings, checkInterval, CollectorNameEnum, CollectorSettingInput, CollectorStateRef, collectorsOf, INTERVAL_COLUMN, type CollectorSettingArg } from './collectors.ts';
import { checkAndSeal, CredentialRef, credentialViewSelect, hasSecret, toCredentialView } from './credentials.ts';
import { DriveHealthChangeRef, DriveRef } from './drives.ts';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from './errors.ts';
import { liveEvents, scopeArgs } from './live.ts';
import { DiskIoRef, FilesystemRef, NetworkInterfaceRef, SystemMetricsRef } from './metrics.ts';
import { checkFingerprint, checkHostname, checkName, checkPort, checkTags, checkUsername, Issues } from './validation.ts';

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
const asStatus = (v: string): Status => ((STATUSES as readonly string[]).includes(v) ? (v as Status) : 'UNKNOWN');

export const TransportEnum = builder.enumType('Transport', {
  values: { SSH: { description: 'Over SSH (no agent on the host).' }, LOCAL: { description: 'The machine the server runs on, without SSH.' } } as const,
});


/* ---------------------------------------------------------------- Device */

/** A device's own credential (from createDevice's secret), as opposed to a shared one. */
const ownCredentialName = (deviceId: string) => `device:${deviceId}`;

export const DeviceRef = builder.loadableNodeRef('Device', {
  id: { resolve: (d: DeviceRow) => d.id },
  // Loads still batch within a tick; nothing is memoised, so a long-lived subscription
  // context never serves a stale device.
  loaderOptions: { cache: false },
  load: async (ids: string[], ctx: Context) => ctx.db.prisma.device.findMany({ where: { id: { in: [...new Set(ids)] } } }),
  sort: (d) => d.id,
});

interface Intervals {
  device: DeviceRow;
  defaults: { system: number; containers: number; drives: number };
}

const DeviceIntervalsRef = builder.objectRef<Intervals>('DeviceIntervals').implement({
  description: 'Seconds between polls per collector family: the device\'s override, else the server\'s POLLING_*_INTERVAL.',
  fields: (t) => ({
    system: t.int({ resolve: (i) => i.device.systemInterval ?? i.defaults.system }),
    containers: t.int({ resolve: (i) => i.device.containerInterval ?? i.defaults.containers }),
    drives: t.int({ resolve: (i) => i.device.driveInterval ?? i.defaults.drives }),
    systemOverride: t.int({ nullable: true, resolve: (i) => i.device.systemInterval }),
    containersOverride: t.int({ nullable: true, resolve: (i) => i.device.containerInterval }),
    drivesOverride: t.int({ nullable: true, resolve: (i) => i.device.driveInterval }),
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
    updatedAt: t.field({ type: 'DateTime', resolve: (d) => d.updatedAt }),
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
    statusChanges: t.loadableList({
      type: StatusChangeRef,
      description: 'Recent status transitions, newest first.',
      byPath: true,
      args: { limit: t.arg.int({ required: false, defaultValue: 20, description: '1 to 100.' }) },
      load: async (ids: string[], ctx: Context, args: { limit?: number | null }) => {
        const limit = Math.min(Math.max(args.limit ?? 20, 1), 100);
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

type DeviceWhere = Prisma.DeviceWhereInput;

/** Prisma passes `contains` to ILIKE as it is: % and _ (and the escape character, a backslash) must match only themselves. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, '\\$&');

builder.queryField('devices', (t) =>
  t.connection(
    {
      type: DeviceRef,
      description: 'Devices ordered by name; every filter given must match.',
      args: {
        status: t.arg({ type: [DeviceStatusEnum], required: false, description: 'Any of these statuses.' }),
        tag: t.arg.string({ required: false, description: 'Has this tag.' }),
        tags: t.arg.stringList({ required: false, description: 'Has every one of these tags.' }),
        search: t.arg.string({ required: false, description: 'Case-insensitive substring of the name or hostname.' }),
        monitoringEnabled: t.arg.boolean({ required: false }),
      },
      resolve: async (_root, args, ctx) => {
        const where: DeviceWhere = {};
        if (args.status?.length) where.status = { in: [...args.status] };
        const tags = [...(args.tags ?? []), ...(args.tag ? [args.tag] : [])];
        if (tags.length) where.tags = { hasEvery: tags };
        if (args.search) {
          const contains = likeLiteral(args.search);
          where.OR = [{ name: { contains, mode: 'insensitive' } }, { hostname: { contains, mode: 'insensitive' } }];
        }
        if (typeof args.monitoringEnabled === 'boolean') where.monitoringEnabled = args.monitoringEnabled;
        const connection = await resolveCursorConnection<Promise<DeviceRow[]>>(
          { args, toCursor: (d: DeviceRow) => encodeCursor(d.name), defaultSize: 100, maxSize: 1000 },
          async ({ before, after, limit, inverted }): Promise<DeviceRow[]> => {
            const name: Prisma.StringFilter = {};
            if (after) name.gt = decodeCursor(after);
            if (before) name.lt = decodeCursor(before);
            return ctx.db.prisma.device.findMany({
              where: after || before ? { AND: [where, { name }] } : where,
              orderBy: { name: inverted ? 'desc' : 'asc' },
              take: limit,
            });
          },
        );
        return { ...connection, where };
      },
    },
    {
      name: 'DeviceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'Devices matching the filters, over all pages.',
          resolve: (conn, _args, ctx) => ctx.db.prisma.device.count({ where: (conn as { where?: DeviceWhere }).where ?? {} }),
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

/* ---------------------------------------------------------------- subscriptions */

const loadDevice = (ctx: Context, id: string): Promise<DeviceRow | null> => DeviceRef.getDataloader(ctx).load(id).catch(() => null);

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
builder.objectField(DriveHealthChangeRef, 'device', (t) =>
  t.field({ type: DeviceRef, nullable: true, resolve: (e, _args, ctx) => loadDevice(ctx, e.deviceId) }),
);

/* ---------------------------------------------------------------- create / update / delete */

const IntervalsInput = builder.inputType('DeviceIntervalsInput', {
  description: 'Seconds (5 to 86400) per collector family; null means the server default.',
  fields: (t) => ({
    system: t.int({ required: false }),
    containers: t.int({ required: false }),
    drives: t.int({ required: false }),
  }),
});

const secretFields = {
  privateKey: 'OpenSSH or PEM private key; stored encrypted, write-only.',
  passphrase: 'The private key\'s passphrase; stored encrypted, write-only.',
  password: 'SSH password; stored encrypted, write-only.',
} as const;

const CreateDeviceInput = builder.inputType('CreateDeviceInput', {
  description: 'An SSH device given no privateKey, password or credentialId logs in with infrapulse\'s own key (Query.sshIdentity).',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters, unique.' }),
    hostname: t.string({ required: false, description: 'Host name or IP address; required for SSH.' }),
    port: t.int({ required: false, defaultValue: 22 }),
    username: t.string({ required: false, description: 'Required for SSH.' }),
    transport: t.field({ type: TransportEnum, required: false, defaultValue: 'SSH' }),
    privateKey: t.string({ required: false, description: secretFields.privateKey }),
    passphrase: t.string({ required: false, description: secretFields.passphrase }),
    password: t.string({ required: false, description: secretFields.password }),
    credentialId: t.id({ required: false, description: 'A stored credential instead of privateKey/password.' }),
    tags: t.stringList({ required: false, defaultValue: [] }),
    monitoringEnabled: t.boolean({ required: false, defaultValue: true }),
    hostKeyFingerprint: t.string({ required: false, description: 'Pin this host key (SHA256:…); unset, the first key seen is trusted.' }),
    sudoSmartctl: t.boolean({ required: false, defaultValue: false }),
    intervals: t.field({ type: IntervalsInput, required: false }),
    collectors: t.field({ type: [CollectorSettingInput], required: false, description: 'Switch collectors off, or give them their own interval.' }),
  }),
});

const UpdateDeviceInput = builder.inputType('UpdateDeviceInput', {
  description: 'Fields left out stay as they are. On nullable settings (username, hostKeyFingerprint, credentialId, intervals) null clears.',
  fields: (t) => ({
    name: t.string({ required: false }),
    hostname: t.string({ required: false }),
    port: t.int({ required: false }),
    username: t.string({ required: false }),
    transport: t.field({ type: TransportEnum, required: false }),
    privateKey: t.string({ required: false, description: secretFields.privateKey }),
    passphrase: t.string({ required: false, description: secretFields.passphrase }),
    password: t.string({ required: false, description: secretFields.password }),
    credentialId: t.id({ required: false }),
    tags: t.stringList({ required: false }),
    monitoringEnabled: t.boolean({ required: false }),
    hostKeyFingerprint: t.string({ required: false }),
    sudoSmartctl: t.boolean({ required: false }),
    intervals: t.field({ type: IntervalsInput, required: false }),
    collectors: t.field({ type: [CollectorSettingInput], required: false, description: 'Switch collectors off, or give them their own interval.' }),
  }),
});

interface IntervalsArg {
  system?: number | null;
  containers?: number | null;
  drives?: number | null;
}

type IntervalColumns = Partial<Pick<DeviceRow, 'systemInterval' | 'containerInterval' | 'driveInterval'>>;

function checkIntervals(issues: Issues, intervals: IntervalsArg | null | undefined): IntervalColumns {
  if (!intervals) return {};
  const out: IntervalColumns = {};
  for (const name of COLLECTOR_NAMES) {
    checkInterval(issues, ['input', 'intervals', name], name, intervals[name]);
    if (intervals[name] !== undefined) out[INTERVAL_COLUMN[name]] = intervals[name];
  }
  return out;
}

/** `intervals` and `collectors` both set intervals: one request may use either for a collector, not both. */
function checkSettings(issues: Issues, input: { intervals?: IntervalsArg | null; collectors?: readonly CollectorSettingArg[] | null }, current: { disabledCollectors: readonly string[] }) {
  const intervals = checkIntervals(issues, input.intervals);
  const collectors = checkCollectorSettings(issues, input.collectors, current);
  for (const s of input.collectors ?? []) {
    if (s.intervalSeconds !== undefined && input.intervals?.[s.name] !== undefined) {
      issues.add(['input', 'intervals', s.name], 'give this interval in intervals or in collectors, not both');
    }
  }
  const { reenabled, ...columns } = collectors;
  return { columns: { ...intervals, ...columns }, reenabled };
}

async function checkCredentialExists(ctx: Context, issues: Issues, id: string | number | null | undefined): Promise<void> {
  if (id === null || id === undefined) return;
  const found = await ctx.db.prisma.credential.findUnique({ where: { id: String(id) }, select: { id: true } });
  if (!found) issues.add(['input', 'credentialId'], 'no credential with this id');
}

/**
 * A stored password is sent to whatever host its device points at (a key only signs). So
 * sending one to a destination the caller chooses — a shared password credential on a new
 * device, or a device with a stored password moved to another host or port — takes ADMIN,
 * or the password itself in the same request.
 */
async function checkPasswordDestination(ctx: Context, issues: Issues, credentialId: string | null, field: string): Promise<void> {
  if (!credentialId || ctx.auth?.role === 'ADMIN') return;
  const cred = await ctx.db.prisma.credential.findUnique({ where: { id: credentialId }, select: { kind: true } });
  if (cred?.kind === 'PASSWORD') {
    issues.add(['input', field], 'sending a stored password to a new destination needs the ADMIN role (or give the password again)');
  }
}

/** The poller (and, through the bus, subscription tag filters) is told after every change; a poller failure must not undo or fail the change. */
async function notifyPoller(ctx: Context, deviceId: string): Promise<void> {
  ctx.events.publish('deviceChanged', { deviceId });
  try {
    await ctx.poller?.deviceChanged(deviceId);
  } catch (err) {
    ctx.log.warn({ deviceId, err: (err as Error).message }, 'poller could not reload the device');
  }
}

builder.mutationField('createDevice', (t) =>
  t.field({
    type: DeviceRef,
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateDeviceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const issues = new Issues();
      const transport = input.transport ?? 'SSH';
      const name = checkName(issues, ['input', 'name'], input.name);
      const hostname = input.hostname ? checkHostname(issues, ['input', 'hostname'], input.hostname) : 'localhost';
      if (!input.hostname && transport === 'SSH') issues.add(['input', 'hostname'], 'required for SSH');
      const port = input.port ?? 22;
      checkPort(issues, ['input', 'port'], port);
      if (input.username) checkUsername(issues, ['input', 'username'], input.username);
      else if (transport === 'SSH') issues.add(['input', 'username'], 'required for SSH');
      const tags = checkTags(issues, ['input', 'tags'], input.tags ?? []);
      if (input.hostKeyFingerprint) checkFingerprint(issues, ['input', 'hostKeyFingerprint'], input.hostKeyFingerprint);
      const { columns: settings } = checkSettings(issues, input, { disabledCollectors: [] });
      if (input.credentialId && hasSecret(input)) issues.add(['input', 'credentialId'], 'give credentialId or a private key/password, not both');
      const sealed = checkAndSeal(issues, ['input'], input, ctx.secrets);
      if (issues.ok) await checkCredentialExists(ctx, issues, input.credentialId);
      if (issues.ok) await checkPasswordDestination(ctx, issues, input.credentialId ? String(input.credentialId) : null, 'credentialId');
      if (!issues.ok) throw new ValidationError('invalid device input', issues.list);

      const id = randomUUID();
      try {
        const device = await ctx.db.prisma.device.create({
          data: {
            id,
            name,
            hostname,
            port,
            username: input.username ?? null,
            transport,
            tags,
            monitoringEnabled: input.monitoringEnabled ?? true,
            status: input.monitoringEnabled === false ? 'DISABLED' : 'UNKNOWN',
            hostKeyFingerprint: input.hostKeyFingerprint ?? null,
            sudoSmartctl: input.sudoSmartctl ?? false,
            ...settings,
            ...(sealed
              ? { credential: { create: { name: ownCredentialName(id), ...sealed } } }
              : input.credentialId
                ? { credential: { connect: { id: String(input.credentialId) } } }
                : {}),
          },
        });
        ctx.log.info({ deviceId: id, name, transport }, 'device created');
        void ctx.events.publish('deviceListChanged', { deviceId: id, change: 'created', at: new Date().toISOString() });
        await notifyPoller(ctx, id);
        return device;
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`a device named "${name}" exists`, 'name');
        throw e;
      }
    },
  }),
);

builder.mutationField('updateDevice', (t) =>
  t.field({
    type: DeviceRef,
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateDeviceInput, required: true }) },
    resolve: async (_root, { id: rawId, input }, ctx) => {
      const id = String(rawId);
      const current = await ctx.db.prisma.device.findUnique({ where: { id }, include: { credential: { select: { name: true } } } });
      if (!current) throw new NotFoundError('Device', id);

      const issues = new Issues();
      const data: Prisma.DeviceUpdateInput = {};
      if (input.name !== null && input.name !== undefined) data.name = checkName(issues, ['input', 'name'], input.name);
      if (input.hostname !== null && input.hostname !== undefined) data.hostname = checkHostname(issues, ['input', 'hostname'], input.hostname);
      if (input.port !== null && input.port !== undefined) {
        checkPort(issues, ['input', 'port'], input.port);
        data.port = input.port;
      }
      if (input.username !== undefined) {
        if (input.username !== null) checkUsername(issues, ['input', 'username'], input.username);
        data.username = input.username;
      }
      if (input.transport !== null && input.transport !== undefined) data.transport = input.transport;
      if (input.tags !== null && input.tags !== undefined) data.tags = checkTags(issues, ['input', 'tags'], input.tags);
      if (input.monitoringEnabled !== null && input.monitoringEnabled !== undefined) {
        data.monitoringEnabled = input.monitoringEnabled;
        // The poller owns status: told below, it records DISABLED (or UNKNOWN, then what the next
        // poll finds) and publishes the change. Only an instance that does not poll writes it here.
        if (!ctx.poller && !input.monitoringEnabled) data.status = 'DISABLED';
        else if (!ctx.poller && current.status === 'DISABLED') data.status = 'UNKNOWN';
      }
      if (input.sudoSmartctl !== null && input.sudoSmartctl !== undefined) data.sudoSmartctl = input.sudoSmartctl;
      if (input.hostKeyFingerprint !== undefined) {
        if (input.hostKeyFingerprint !== null) checkFingerprint(issues, ['input', 'hostKeyFingerprint'], input.hostKeyFingerprint);
        data.hostKeyFingerprint = input.hostKeyFingerprint;
        data.pendingHostKey = null;
      }
      const { columns: settings, reenabled } = checkSettings(issues, input, current);
      Object.assign(data, settings);
      if (reenabled.length > 0) {
        // Switched on again: what it said before (UNAVAILABLE, FAILING) is forgotten, it is probed afresh.
        const stored = { ...(current.collectorStates as Record<string, unknown>) };
        for (const name of reenabled) delete stored[name];
        data.collectorStates = stored as Prisma.InputJsonObject;
      }

      const transport = input.transport ?? current.transport;
      const username = input.username === undefined ? current.username : input.username;
      if (transport === 'SSH' && !username) issues.add(['input', 'username'], 'required for SSH');
      if (input.credentialId && hasSecret(input)) issues.add(['input', 'credentialId'], 'give credentialId or a private key/password, not both');
      const sealed = checkAndSeal(issues, ['input'], input, ctx.secrets);
      if (issues.ok) await checkCredentialExists(ctx, issues, input.credentialId);
      const moved = (data.hostname !== undefined && data.hostname !== current.hostname) || (data.port !== undefined && data.port !== current.port);
      const credentialAfter = input.credentialId !== undefined ? (input.credentialId === null ? null : String(input.credentialId)) : current.credentialId;
      if (issues.ok && !sealed && (moved || input.credentialId)) await checkPasswordDestination(ctx, issues, credentialAfter, moved ? 'hostname' : 'credentialId');
      if (!issues.ok) throw new ValidationError('invalid device input', issues.list);

      const ownName = ownCredentialName(id);
      if (sealed) {
        // A new secret replaces the device's own credential, never a shared one it pointed at.
        data.credential =
          current.credential?.name === ownName
            ? { update: { ...sealed } }
            : { connectOrCreate: { where: { name: ownName }, create: { name: ownName, ...sealed } } };
      } else if (input.credentialId !== undefined) {
        data.credential = input.credentialId === null ? { disconnect: true } : { connect: { id: String(input.credentialId) } };
      }
      try {
        const device = await ctx.db.prisma.$transaction(async (tx) => {
          if (sealed && current.credential?.name !== ownName) await tx.credential.deleteMany({ where: { name: ownName } });
          const updated = await tx.device.update({ where: { id }, data });
          // A device's own credential it no longer uses is garbage: nobody else can point at it.
          if (!sealed && input.credentialId !== undefined && current.credential?.name === ownName) await tx.credential.deleteMany({ where: { name: ownName } });
          return updated;
        });
        ctx.log.info({ deviceId: id, fields: Object.keys(data) }, 'device updated');
        await notifyPoller(ctx, id);
        // As the poller left it (status DISABLED or UNKNOWN after switching monitoring).
        return ctx.poller ? ((await ctx.db.prisma.device.findUnique({ where: { id } })) ?? device) : device;
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`a device named "${String(data.name)}" exists`, 'name');
        throw e;
      }
    },
  }),
);

interface Deleted {
  id: string;
  name: string;
  purgedRows: number;
}

const DeletedDeviceRef = builder.objectRef<Deleted>('DeletedDevice').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    purgedRows: t.field({ type: 'Long', description: 'Time-series rows deleted (0 unless purgeHistory).', resolve: (d) => d.purgedRows }),
  }),
});

builder.mutationField('deleteDevice', (t) =>
  t.field({
    type: DeletedDeviceRef,
    errors: { types: [NotFoundError] },
    args: {
      id: t.arg.id({ required: true }),
      purgeHistory: t.arg.boolean({ required: false, defaultValue: false, description: 'Also delete its rows from the six time-series tables (otherwise retention removes them).' }),
    },
    resolve: async (_root, { id: rawId, purgeHistory }, ctx) => {
      const id = String(rawId);
      const device = await ctx.db.prisma.device.findUnique({ where: { id }, select: { id: true, name: true } });
      if (!device) throw new NotFoundError('Device', id);
      await ctx.db.prisma.$transaction([
        ctx.db.prisma.device.delete({ where: { id } }),
        ctx.db.prisma.credential.deleteMany({ where: { name: ownCredentialName(id) } }),
      ]);
      void ctx.events.publish('deviceListChanged', { deviceId: id, change: 'deleted', at: new Date().toISOString() });
      // Stop the poller first so no poll of the deleted device writes behind the purge.
      await notifyPoller(ctx, id);
      let purgedRows = 0;
      if (purgeHistory) {
        const counts = await purgeDeviceHistory(ctx.db.prisma, id);
        purgedRows = Object.values(counts).reduce((a, b) => a + b, 0);
      }
      ctx.log.info({ deviceId: id, purgedRows }, 'device deleted');
      return { ...device, purgedRows };
    },
  }),
);

/* ---------------------------------------------------------------- poll now */

interface CollectorResult {
  collector: string;
  ok: boolean;
  problems: string[];
  error: string | null;
}

interface PollResult {
  deviceId: string;
  status: Status;
  previousStatus: Status | null;
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
async function fresh<K extends 'system' | 'filesystems' | 'networks' | 'diskIo' | 'drives' | 'containers'>(ctx: Context, r: PollResult, kind: K, from: CollectorName) {
  if (!r.want.has(from)) return [];
  const rows = await latestRows(ctx.db.prisma, kind, [r.deviceId]);
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

/* ---------------------------------------------------------------- trust a host key */

builder.mutationField('trustHostKey', (t) =>
  t.field({
    type: DeviceRef,
    errors: { types: [ValidationError, NotFoundError] },
    description: 'Pins this host key (SHA256:…, usually Device.presentedHostKey after a HOST_KEY_MISMATCH) and resumes polling.',
    args: { id: t.arg.id({ required: true }), fingerprint: t.arg.string({ required: true }) },
    resolve: async (_root, { id: rawId, fingerprint }, ctx) => {
      const id = String(rawId);
      const issues = new Issues();
      checkFingerprint(issues, ['fingerprint'], fingerprint);
      if (!issues.ok) throw new ValidationError('invalid fingerprint', issues.list);
      const exists = await ctx.db.prisma.device.findUnique({ where: { id }, select: { id: true } });
      if (!exists) throw new NotFoundError('Device', id);
      if (ctx.poller) {
        try {
          await ctx.poller.trustHostKey(id, fingerprint);
        } catch (e) {
          if (e instanceof DeviceNotFoundError) throw new NotFoundError('Device', id);
          if (e instanceof InvalidFingerprintError) throw new ValidationError('invalid fingerprint', [{ path: ['fingerprint'], message: (e as Error).message }]);
          throw e;
        }
      } else {
        await ctx.db.prisma.device.update({ where: { id }, data: { hostKeyFingerprint: fingerprint, pendingHostKey: null } });
      }
      ctx.log.info({ deviceId: id, fingerprint }, 'host key trusted');
      const device = await ctx.db.prisma.device.findUnique({ where: { id } });
      if (!device) throw new NotFoundError('Device', id);
      return device;
    },
  }),
);

/* ---------------------------------------------------------------- connection dry run */

const TestConnectionInput = builder.inputType('TestConnectionInput', {
  description: 'Where and how to connect; nothing is saved. With deviceId, unset fields come from that device (and its stored credential).',
  fields: (t) => ({
    deviceId: t.id({ required: false }),
    transport: t.field({ type: TransportEnum, required: false }),
    hostname: t.string({ required: false }),
    port: t.int({ required: false }),
    username: t.string({ required: false }),
    privateKey: t.string({ required: false, description: secretFields.privateKey }),
    passphrase: t.string({ required: false, description: secretFields.passphrase }),
    password: t.string({ required: false, description: secretFields.password }),
    credentialId: t.id({ required: false }),
    hostKeyFingerprint: t.string({ required: false, description: 'Refuse any other host key.' }),
    timeoutSeconds: t.int({ required: false, defaultValue: 10, description: '1 to 60.' }),
  }),
});

interface ConnectionTest {
  ok: boolean;
  latencyMs: number | null;
  hostKeyFingerprint: string | null;
  hostKeyMatches: boolean | null;
  uname: string | null;
  error: string | null;
  errorKind: string | null;
  /** TransportError.details.code: the socket's errno name when the connect failed on one. */
  code?: string | null;
}

const ConnectionProblemEnum = builder.enumType('ConnectionProblem', {
  description: 'What stopped a connection test, in the words a person fixing it needs.',
  values: {
    DNS: { description: 'The host name could not be resolved.' },
    REFUSED: { description: 'Nothing accepts connections on that port (or a firewall rejects them).' },
    UNREACHABLE: { description: 'No route to the host or its network.' },
    TIMEOUT: { description: 'No answer in time (host down, packets dropped, or a slow handshake).' },
    AUTH: { description: 'The host refused the login (key not in authorized_keys, wrong user or password).' },
    HOST_KEY: { description: 'The host presented another key than the pinned one.' },
    COMMAND: { description: 'Logged in, but `uname -a` failed.' },
    OTHER: { description: 'Anything else: see error.' },
  } as const,
});
type ConnectionProblem = 'DNS' | 'REFUSED' | 'UNREACHABLE' | 'TIMEOUT' | 'AUTH' | 'HOST_KEY' | 'COMMAND' | 'OTHER';

const PROBLEM_BY_CODE: Record<string, ConnectionProblem> = {
  ENOTFOUND: 'DNS',
  EAI_AGAIN: 'DNS',
  EAI_FAIL: 'DNS',
  EAI_NONAME: 'DNS',
  ECONNREFUSED: 'REFUSED',
  EHOSTUNREACH: 'UNREACHABLE',
  ENETUNREACH: 'UNREACHABLE',
  EHOSTDOWN: 'UNREACHABLE',
  ETIMEDOUT: 'TIMEOUT',
  HANDSHAKE_TIMEOUT: 'TIMEOUT',
};

function connectionProblem(t: ConnectionTest): ConnectionProblem | null {
  if (t.ok) return null;
  switch (t.errorKind) {
    case 'AUTH':
    case 'HOST_KEY':
    case 'TIMEOUT':
    case 'COMMAND':
      return t.errorKind;
    case 'CONNECT':
      return (t.code && PROBLEM_BY_CODE[t.code]) || 'OTHER';
    default:
      return 'OTHER';
  }
}

const ConnectionTestRef = builder.objectRef<ConnectionTest>('ConnectionTest').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Connect, handshake, authenticate and run `uname -a`.' }),
    hostKeyFingerprint: t.exposeString('hostKeyFingerprint', { nullable: true, description: 'The key the host presented: check it out of band before pinning it.' }),
    hostKeyMatches: t.exposeBoolean('hostKeyMatches', { nullable: true, description: 'Against the given/pinned fingerprint; null when none was given.' }),
    uname: t.exposeString('uname', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    errorKind: t.exposeString('errorKind', { nullable: true, description: 'CONNECT, AUTH, HOST_KEY, TIMEOUT, CLOSED, OUTPUT_LIMIT or COMMAND.' }),
    problem: t.field({ type: ConnectionProblemEnum, nullable: true, description: 'Why it failed, finer than errorKind; null when ok.', resolve: connectionProblem }),
  }),
});

builder.mutationField('testDeviceConnection', (t) =>
  t.field({
    type: ConnectionTestRef,
    errors: { types: [ValidationError, NotFoundError] },
    description: 'A dry run: connects, runs `uname -a`, reports the host key; saves nothing.',
    args: { input: t.arg({ type: TestConnectionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const base = input.deviceId ? await ctx.db.prisma.device.findUnique({ where: { id: String(input.deviceId) }, include: { credential: true } }) : null;
      if (input.deviceId && !base) throw new NotFoundError('Device', String(input.deviceId));
      const issues = new Issues();
      const transport = input.transport ?? base?.transport ?? 'SSH';
      const hostname = input.hostname ? checkHostname(issues, ['input', 'hostname'], input.hostname) : base?.hostname;
      const port = input.port ?? base?.port ?? 22;
      checkPort(issues, ['input', 'port'], port);
      const username = input.username ?? base?.username ?? null;
      if (input.username) checkUsername(issues, ['input', 'username'], input.username);
      const expected = input.hostKeyFingerprint ?? base?.hostKeyFingerprint ?? null;
      if (input.hostKeyFingerprint) checkFingerprint(issues, ['input', 'hostKeyFingerprint'], input.hostKeyFingerprint);
      const timeoutSeconds = input.timeoutSeconds ?? 10;
      if (timeoutSeconds < 1 || timeoutSeconds > 60) issues.add(['input', 'timeoutSeconds'], 'must be 1 to 60');
      if (transport === 'SSH') {
        if (!hostname) issues.add(['input', 'hostname'], 'required for SSH');
        if (!username) issues.add(['input', 'username'], 'required for SSH');
      }
      checkAndSeal(issues, ['input'], input, ctx.secrets); // validates the key; the sealed copy is discarded
      let secret: SshSecret = {};
      if (input.privateKey) secret = { privateKey: input.privateKey, passphrase: input.passphrase ?? undefined };
      else if (input.password) secret = { password: input.password };
      else {
        const cred = input.credentialId
          ? await ctx.db.prisma.credential.findUnique({ where: { id: String(input.credentialId) } })
          : (base?.credential ?? null);
        if (input.credentialId && !cred) issues.add(['input', 'credentialId'], 'no credential with this id');
        // A password (unlike a key) is sent to the server itself: a stored one only goes to the
        // host it is stored for, unless an ADMIN (who manages credentials anyway) asks.
        const elsewhere = !base || (input.hostname && hostname !== base.hostname) || port !== base.port;
        if (cred?.kind === 'PASSWORD' && elsewhere && ctx.auth?.role !== 'ADMIN') {
          issues.add(['input', 'hostname'], 'a stored password is only sent to its own device\'s host: give the password to test another host');
        }
        if (issues.ok && transport === 'SSH') {
          try {
            secret = credentialSecret({ hostname: hostname!, port }, cred, ctx.secrets, () => sshIdentity(ctx.config.dataDir, ctx.secrets).privateKey);
          } catch (e) {
            return { ok: false, latencyMs: null, hostKeyFingerprint: null, hostKeyMatches: null, uname: null, error: (e as Error).message, errorKind: 'AUTH' };
          }
        }
      }
      if (!issues.ok) throw new ValidationError('invalid connection input', issues.list);

      const timeoutMs = timeoutSeconds * 1000;
      let presented: string | undefined;
      const runner: CommandRunner & { hostKeyFingerprint?: string } = openRunner({ transport, hostname: hostname ?? 'localhost', port, username, hostKeyFingerprint: expected }, () => secret, {
        onHostKey: (fp) => {
          presented = fp;
        },
        readyTimeoutMs: timeoutMs,
        execTimeoutMs: timeoutMs,
        keepaliveIntervalMs: 0,
        maxOutputBytes: 64 * 1024,
      });
      const started = performance.now();
      try {
        const result = await runner.exec('uname -a', { timeoutMs, maxOutputBytes: 64 * 1024 });
        const latencyMs = performance.now() - started;
        const fp = runner.hostKeyFingerprint ?? presented ?? null;
        const base = { latencyMs, hostKeyFingerprint: fp, hostKeyMatches: expected && fp ? expected === fp : null };
        if (result.code !== 0) return { ...base, ok: false, uname: null, error: `uname -a exited with ${String(result.code)}: ${result.stderr.trim().slice(0, 200)}`, errorKind: 'COMMAND' };
        return { ...base, ok: true, uname: result.stdout.trim(), error: null, errorKind: null };
      } catch (e) {
        const te = e instanceof TransportError ? e : null;
        const fp = te?.details.fingerprint ?? runner.hostKeyFingerprint ?? presented ?? null;
        return {
          ok: false,
          latencyMs: null,
          hostKeyFingerprint: fp,
          hostKeyMatches: expected && fp ? expected === fp : null,
          uname: null,
          error: (e as Error).message,
          errorKind: te?.kind ?? 'CONNECT',
          code: te?.details.code ?? null,
        };
      } finally {
        await runner.close().catch(() => undefined);
      }
    },
  }),
);

/**
 * Device CRUD with typed errors: createDevice, updateDevice (a stored password goes to a new
 * destination only for an ADMIN), deleteDevice (history kept unless purged). The poller is told
 * after every change; it owns the device's status.
 */
import { randomUUID } from 'node:crypto';
import type { Device as DeviceRow, Prisma } from '../../db/generated/client.ts';
import { isUniqueViolation } from '../../db/index.ts';
import { purgeDeviceHistory } from '../../storage/series.ts';
import { builder } from '../builder.ts';
import { DeviceRef, TransportEnum } from './devices.ts';
import type { Context } from '../context.ts';
import { COLLECTOR_NAMES } from '../../collectors/index.ts';
import type { CollectorName } from '../../collectors/types.ts';
import { checkCollectorSettings, checkInterval, CollectorSettingInput, INTERVAL_COLUMN, type CollectorSettingArg } from './collectors.ts';
import { checkAndSeal, hasSecret } from './credentials.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { checkFingerprint, checkHostname, checkName, checkPort, checkTags, checkUsername, Issues } from './validation.ts';

/* ---------------------------------------------------------------- create / update / delete */

/** The credential a device's own key or password is stored in (never shared with another device). */
const ownCredentialName = (deviceId: string) => `device:${deviceId}`;

const IntervalsInput = builder.inputType('DeviceIntervalsInput', {
  description: 'Seconds (5 to 86400) per collector family; null means the server default.',
  fields: (t) => ({
    system: t.int({ required: false }),
    containers: t.int({ required: false }),
    drives: t.int({ required: false }),
    storage: t.int({ required: false }),
    sensors: t.int({ required: false }),
    gpu: t.int({ required: false }),
  }),
});

export const secretFields = {
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

type IntervalsArg = { [K in CollectorName]?: number | null };

type IntervalColumns = Partial<Pick<DeviceRow, (typeof INTERVAL_COLUMN)[CollectorName]>>;

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

/**
 * The poller's in-memory view of each device (its DeviceRuntime), kept in line with the device
 * rows: created, changed or deleted through the API or on another instance, adopted with a
 * lease, or forgotten when the lease goes. Also the device writes the poller makes on its own:
 * the host key recorded on first use and the "local" device.
 */
import { COLLECTOR_NAMES } from '../collectors/index.ts';
import type { PrismaClient } from '../db/generated/client.ts';
import type { Logger } from '../log.ts';
import type { Connections, PollDevice } from './connections.ts';
import type { OwnedDevices } from './ownership.ts';
import { applyStatus, isEnabled, newRuntime, type DeviceRuntime, type PollContext, type PollOutcome } from './poll-device.ts';
import type { Intervals, Scheduler } from './scheduler.ts';
import { shouldSchedule } from './device-schedule.ts';
import type { DeviceStatus } from './status.ts';

/** When a synced device is next polled: as Scheduler.setDevice takes it. */
export type SyncWhen = NonNullable<Parameters<Scheduler<PollOutcome>['setDevice']>[2]>;

export interface DeviceSyncOptions {
  ctx: PollContext;
  runtimes: Map<string, DeviceRuntime>;
  scheduler: Pick<Scheduler<PollOutcome>, 'setDevice' | 'removeDevice'>;
  connections: Pick<Connections, 'close'>;
  /** Whether this instance holds the device's lease (ownership.ts). */
  holds(deviceId: string): boolean;
  intervalsOf(rt: DeviceRuntime): Intervals;
}

export interface DeviceSync extends OwnedDevices {
  /** Brings the in-memory view of one device in line with its row, and its schedule with both. */
  sync(device: PollDevice, when?: SyncWhen): Promise<void>;
}

export const loadDevice = (prisma: PrismaClient, deviceId: string): Promise<PollDevice | null> =>
  prisma.device.findUnique({ where: { id: deviceId }, include: { credential: true } });

export function createDeviceSync(options: DeviceSyncOptions): DeviceSync {
  const { ctx, runtimes, scheduler, connections } = options;

  const setStatus = async (rt: DeviceRuntime, status: DeviceStatus, reason: string): Promise<void> => {
    await applyStatus(ctx, rt, { status, consecutiveFailures: 0, reason, lastError: null, seen: false }, ctx.now());
  };

  const syncNow = async (device: PollDevice, when: SyncWhen): Promise<void> => {
    let rt = runtimes.get(device.id);
    if (rt && device.updatedAt.getTime() < rt.device.updatedAt.getTime()) return;
    const previousPin = rt?.device.hostKeyFingerprint;
    if (rt) {
      const wasOff = rt.device.disabledCollectors;
      // Keep what the poller knows better (status, failures); take the user's settings.
      rt.device = { ...device, status: rt.status, consecutiveFailures: rt.consecutiveFailures, lastError: rt.lastError, hostKeyFingerprint: device.hostKeyFingerprint ?? rt.device.hostKeyFingerprint };
      for (const name of COLLECTOR_NAMES) {
        // Switched off: its last failure no longer counts. Switched on again: its history is forgotten (collector-state.ts).
        if (!isEnabled(device, name)) rt.latest.delete(name);
        else if (wasOff.includes(name)) rt.collectors.delete(name);
      }
    } else {
      rt = newRuntime(device);
      runtimes.set(device.id, rt);
    }
    if (!device.monitoringEnabled) {
      scheduler.removeDevice(device.id);
      await connections.close(device.id);
      if (rt.status !== 'DISABLED') await setStatus(rt, 'DISABLED', 'monitoring disabled');
      return;
    }
    if (rt.status === 'DISABLED') await setStatus(rt, 'UNKNOWN', 'monitoring enabled');
    // A refused host key stays paused until its pin changes (trustHostKey, or the user setting a new one).
    if (rt.status === 'HOST_KEY_MISMATCH' && (previousPin === undefined || device.hostKeyFingerprint === previousPin)) {
      scheduler.removeDevice(device.id);
      return;
    }
    // Another instance holds it: it polls it, and sees this change at its next renewal (updated_at).
    if (!options.holds(device.id)) {
      scheduler.removeDevice(device.id);
      return;
    }
    scheduler.setDevice(device.id, options.intervalsOf(rt), when);
  };

  /**
   * A device's syncs run one at a time (a mutation's and a lease cycle's can overlap), and a
   * row read before the one already applied is ignored: a stale "monitoring off" must not undo
   * the "on" that followed it.
   */
  const syncing = new Map<string, Promise<void>>();
  const sync = (device: PollDevice, when: SyncWhen = {}): Promise<void> => {
    const next = (syncing.get(device.id) ?? Promise.resolve()).catch(() => undefined).then(() => syncNow(device, when));
    syncing.set(device.id, next);
    void next.finally(() => {
      if (syncing.get(device.id) === next) syncing.delete(device.id);
    }).catch(() => undefined);
    return next;
  };

  return {
    sync,
    unschedule: (deviceId) => scheduler.removeDevice(deviceId),
    async forget(deviceId) {
      scheduler.removeDevice(deviceId);
      runtimes.delete(deviceId);
      await connections.close(deviceId);
    },
    /** A device whose lease we just got: as start() always treated every device. */
    async adopt(device, polledUntil) {
      const rt = newRuntime(device);
      runtimes.set(device.id, rt);
      if (!device.monitoringEnabled) {
        if (rt.status !== 'DISABLED') await setStatus(rt, 'DISABLED', 'monitoring disabled');
        return;
      }
      if (rt.status === 'DISABLED') await setStatus(rt, 'UNKNOWN', 'monitoring enabled');
      if (shouldSchedule(rt)) scheduler.setDevice(device.id, options.intervalsOf(rt), polledUntil === undefined ? { soon: true } : { polledUntil });
    },
    knownUpdatedAt: (deviceId) => runtimes.get(deviceId)?.device.updatedAt.getTime(),
  };
}

/** Trust on first use: pins the first host key an SSH device presents (connections.ts calls this). */
export function createHostKeyRecorder(runtimes: ReadonlyMap<string, DeviceRuntime>, prisma: PrismaClient, log: Logger) {
  return (deviceId: string, fingerprint: string): void => {
    const rt = runtimes.get(deviceId);
    if (!rt || rt.device.hostKeyFingerprint) return;
    // Pinned in memory at once: the runner is rebuilt pinned before the next poll, so a later connection cannot present another key.
    rt.device = { ...rt.device, hostKeyFingerprint: fingerprint };
    log.info({ deviceId, fingerprint }, 'host key recorded (trust on first use)');
    prisma.device
      .updateMany({ where: { id: deviceId, hostKeyFingerprint: null }, data: { hostKeyFingerprint: fingerprint } })
      .catch((err: unknown) => log.warn({ deviceId, err: (err as Error).message }, 'could not store the host key fingerprint'));
  };
}

/** Registers the machine the server runs on as device "local" once (MONITOR_LOCALHOST). */
export async function ensureLocalDevice(prisma: PrismaClient, log: Logger): Promise<void> {
  const existing = await prisma.device.count({ where: { transport: 'LOCAL' } });
  if (existing > 0) return;
  try {
    const d = await prisma.device.create({ data: { name: 'local', hostname: 'localhost', transport: 'LOCAL', port: 0 } });
    log.info({ deviceId: d.id }, 'registered this machine as device "local"');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not register device "local" (a device of that name may exist)');
  }
}

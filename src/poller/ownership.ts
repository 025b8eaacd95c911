/**
 * This instance's share of the fleet (leases.ts holds the SQL): the devices it holds a lease
 * on, which are the only ones it schedules. Every renewal cycle reconciles the schedule with
 * the leases (taken over, handed over, changed on another instance). A lone instance holds
 * every device.
 */
import type { Config } from '../config.ts';
import type { PrismaClient } from '../db/generated/client.ts';
import type { Logger } from '../log.ts';
import type { PollDevice } from './connections.ts';
import { createLeases, type LeaseCycle } from './leases.ts';
import type { PollReason } from './scheduler.ts';

/** What a lease cycle does to the devices polled here (device-sync.ts). */
export interface OwnedDevices {
  /** Takes a device off the schedule at once: synchronous, before its lease is handed over. */
  unschedule(deviceId: string): void;
  /** Forgets a device here: schedule, runtime, connection. */
  forget(deviceId: string): Promise<void>;
  /** A device whose lease we just got. */
  adopt(device: PollDevice, polledUntil: number | undefined): Promise<void>;
  /** A held device whose row changed (on another instance). */
  sync(device: PollDevice): Promise<void>;
  /** The updated_at (ms) of the row polled here, if the device is known. */
  knownUpdatedAt(deviceId: string): number | undefined;
}

export interface OwnershipOptions {
  prisma: PrismaClient;
  log: Logger;
  lease: Config['lease'];
  devices: OwnedDevices;
}

export interface Ownership {
  readonly instanceId: string;
  holds(deviceId: string): boolean;
  stats(): { instanceId: string; held: number; liveInstances: number };
  /** Scheduled polls skipped because our leases may have lapsed. */
  readonly skipped: number;
  /** The first lease cycle, then renewals on a timer. */
  start(): Promise<LeaseCycle>;
  /** Stops renewing and waits for a cycle in progress. */
  stopRenewing(): Promise<void>;
  /** Hands every lease back (graceful shutdown). */
  releaseAll(): Promise<void>;
  /** Makes sure we hold a device's lease when we can (created or changed through this instance). */
  ensureHeld(deviceId: string): Promise<{ held: boolean; polledUntil?: number }>;
  /** Stops polling a device here (lease lost or handed over, device deleted). */
  drop(deviceId: string): Promise<void>;
  /** True when a poll must not run now: scheduled, while our leases may have lapsed. */
  skipPoll(reason: PollReason): boolean;
  /** A scheduled poll runs: says so once when polls resume after a lapse. */
  pollResumed(reason: PollReason): void;
}

/** Shared by the lease cycle and the guard on scheduled polls. */
interface LeaseState {
  /** Devices this instance holds a lease on: the only ones it schedules. */
  held: Set<string>;
  liveInstances: number;
  /** Until when our leases are surely ours (local clock): the last successful renewal + the lease. */
  validUntil: number;
}

export function createOwnership(options: OwnershipOptions): Ownership {
  const { prisma, log, devices } = options;
  const state: LeaseState = { held: new Set(), liveInstances: 1, validUntil: 0 };
  const leaseMs = options.lease.leaseSeconds * 1000;
  // Renewing less than twice per lease would let a lease lapse at the first slow renewal.
  const renewMs = Math.min(options.lease.renewSeconds * 1000, leaseMs / 2);
  const leases = createLeases({
    prisma,
    log,
    instanceId: options.lease.instanceId,
    leaseMs,
    renewMs,
    beforeRelease(ids) {
      // Should the hand-over fail, the next renewal still returns them: they are adopted again, on their slots.
      for (const id of ids) {
        state.held.delete(id);
        devices.unschedule(id);
      }
    },
  });
  const guard = createLeaseGuard(state, log);
  let leaseTimer: NodeJS.Timeout | undefined;
  let cycling: Promise<void> | undefined;

  const drop = async (deviceId: string): Promise<void> => {
    state.held.delete(deviceId);
    await devices.forget(deviceId);
  };
  const adopt = async (device: PollDevice, polledUntil: number | undefined): Promise<void> => {
    state.held.add(device.id);
    await devices.adopt(device, polledUntil);
  };
  const reconcile = (cycle: LeaseCycle): Promise<void> => reconcileCycle({ prisma, log, state, devices, drop, adopt }, cycle);

  const runLeaseCycle = (): Promise<void> => {
    cycling ??= (async () => {
      const started = Date.now();
      try {
        const cycle = await leases.cycle();
        state.validUntil = started + leaseMs;
        await reconcile(cycle);
      } catch (err) {
        log.warn({ err: (err as Error).message, held: state.held.size }, 'could not renew device leases');
        // Alone, keep polling through a database outage (samples are spooled). With others
        // alive, stop before our leases lapse: they will take the devices over.
        if (state.liveInstances > 1 && Date.now() + renewMs >= state.validUntil && state.held.size > 0) {
          log.error({ devices: state.held.size, liveInstances: state.liveInstances }, 'device leases about to lapse: stopping polling here until the database answers');
          for (const id of [...state.held]) await drop(id);
        }
      }
    })().finally(() => {
      cycling = undefined;
    });
    return cycling;
  };

  return {
    instanceId: leases.instanceId,
    holds: (deviceId) => state.held.has(deviceId),
    stats: () => ({ instanceId: leases.instanceId, held: state.held.size, liveInstances: state.liveInstances }),
    get skipped() {
      return guard.skipped;
    },
    async start() {
      const first = await leases.cycle();
      state.validUntil = Date.now() + leaseMs;
      await reconcile(first);
      leaseTimer = setInterval(() => void runLeaseCycle(), renewMs);
      leaseTimer.unref();
      return first;
    },
    async stopRenewing() {
      clearInterval(leaseTimer);
      leaseTimer = undefined;
      await cycling;
    },
    async releaseAll() {
      // Released before the last flush: the others may start polling these devices at once.
      try {
        const released = await leases.releaseAll();
        if (released > 0) log.info({ devices: released, instanceId: leases.instanceId }, 'device leases released');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not release device leases (they lapse by themselves)');
      }
      state.held.clear();
    },
    async ensureHeld(deviceId) {
      if (state.held.has(deviceId)) return { held: true };
      const claimed = await leases.claim(deviceId);
      if (!claimed) return { held: false };
      state.held.add(deviceId);
      return { held: true, polledUntil: claimed.polledUntil };
    },
    drop,
    skipPoll: guard.skipPoll,
    pollResumed: guard.pollResumed,
  };
}

interface ReconcileDeps {
  prisma: PrismaClient;
  log: Logger;
  state: LeaseState;
  devices: OwnedDevices;
  drop(deviceId: string): Promise<void>;
  adopt(device: PollDevice, polledUntil: number | undefined): Promise<void>;
}

/** Brings the schedule in line with one lease cycle. */
async function reconcileCycle({ prisma, log, state, devices, drop, adopt }: ReconcileDeps, cycle: LeaseCycle): Promise<void> {
  state.liveInstances = cycle.liveInstances;
  // Devices let go of (and below, taken on) all at once: closing a connection waits for the
  // peer's answer, up to a second, and a status transition for the next status flush.
  const released = new Set(cycle.released);
  const lost = [...state.held].filter((id) => !cycle.held.has(id) && !released.has(id));
  await Promise.all([...released, ...lost].map(drop));
  for (const id of lost) log.info({ deviceId: id }, 'device lease lost (taken over or deleted): no longer polled here');
  const claimed = new Map(cycle.claimed.map((c) => [c.id, c.polledUntil]));
  const fresh: string[] = [];
  const changed: string[] = [];
  for (const [id, updatedAt] of cycle.held) {
    if (!state.held.has(id)) fresh.push(id);
    else if (devices.knownUpdatedAt(id) !== updatedAt) changed.push(id);
  }
  if (fresh.length === 0 && changed.length === 0) return;
  const rows = await prisma.device.findMany({ where: { id: { in: [...fresh, ...changed] } }, include: { credential: true } });
  const isFresh = new Set(fresh);
  // One device at a time, 1,000 devices switched off meanwhile took 1,000 status flushes (250 s)
  // to adopt. A device's own writes stay in order (its statusWrites chain).
  await Promise.all(
    rows.map((d) =>
      // A lease we held all along but had dropped (lost contact with the database): we polled it until then.
      isFresh.has(d.id) ? adopt(d, claimed.has(d.id) ? claimed.get(d.id) : Date.now()) : devices.sync(d),
    ),
  );
}

/**
 * Scheduled polls stop when our leases may have lapsed (a late renewal) while others are
 * alive: they may have taken the devices over. Alone, polling goes on through an outage.
 */
function createLeaseGuard(state: LeaseState, log: Logger) {
  let skipped = 0;
  let lapsed = false;
  const leaseValid = (): boolean => state.liveInstances <= 1 || Date.now() < state.validUntil;
  return {
    get skipped() {
      return skipped;
    },
    skipPoll(reason: PollReason): boolean {
      if (reason === 'manual' || leaseValid()) return false;
      // Never silent: a late renewal that stops polling shows in the log and in /metrics.
      skipped++;
      if (!lapsed) log.warn({ liveInstances: state.liveInstances, lateMs: Date.now() - state.validUntil }, 'device leases may have lapsed (renewal late): scheduled polls skipped until the next renewal');
      lapsed = true;
      return true;
    },
    pollResumed(reason: PollReason): void {
      if (lapsed && reason !== 'manual') {
        lapsed = false;
        log.info({ skippedPolls: skipped }, 'device leases renewed: scheduled polls resume');
      }
    },
  };
}

/**
 * Poller: schedules every monitored device's collectors (scheduler.ts), polls them over one
 * kept connection per device (connections.ts, poll-device.ts), decides device status
 * (status.ts), writes samples in coalesced batches that survive database outages (writer.ts,
 * spool.ts) and publishes sample events after the commit (after-commit.ts: live and replayed
 * alike) and status events as they happen.
 *
 *   createPoller(deps) → { start, stop, pollNow, deviceChanged, trustHostKey, stats }
 *
 * Devices in HOST_KEY_MISMATCH are not polled until trustHostKey (or an update of their pinned
 * key); disabled devices are not polled at all. A device that stops answering is re-probed
 * sooner than its interval, with backoff, so it comes back ONLINE by itself.
 *
 * Scale-out (leases.ts): an instance schedules only the devices it holds a lease on; every
 * renewal cycle reconciles the schedule with the leases (taken over, handed over, changed on
 * another instance). A lone instance holds every device.
 */
import path from 'node:path';
import { COLLECTOR_NAMES } from '../collectors/index.ts';
import type { CollectorName } from '../collectors/types.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { SampleBatch } from '../storage/types.ts';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.ts';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../transport/local.ts';
import { FINGERPRINT_RE } from '../transport/host-key.ts';
import { TransportError, type ExecOptions, type ExecResult } from '../transport/types.ts';
import { sshIdentity } from '../security/ssh-identity.ts';
import { createAfterCommit } from './after-commit.ts';
import { createConnections, type PollDevice, type RunnerFactory } from './connections.ts';
import { createLeases, type LeaseCycle } from './leases.ts';
import { scheduleIntervals, viewOf, type CollectorView } from './collector-state.ts';
import { applyStatus, isEnabled, newRuntime, pollDevice, type DeviceRuntime, type PollContext, type PollObserver, type PollOutcome } from './poll-device.ts';
import { createScheduler, type Intervals, type PollReason, type RunControl } from './scheduler.ts';
import { DEFAULT_OFFLINE_AFTER, DEVICE_STATUSES, type DeviceStatus } from './status.ts';
import { createWriter, type WriterStats } from './writer.ts';

export type { PollOutcome, PollObserver } from './poll-device.ts';
export type { DeviceStatus, CollectorOutcome } from './status.ts';
export type { RunnerFactory, RunnerHooks, PollDevice } from './connections.ts';
export type { WriteResult, WriterStats } from './writer.ts';
export type { SpoolStats } from './spool.ts';
export type { CollectorView, CollectorStatus } from './collector-state.ts';

export interface PollerTuning {
  /** Per-exec limit for every collector command (default 30 s). */
  execTimeoutMs: number;
  /** SSH connect + handshake + auth limit (default 10 s). */
  sshReadyTimeoutMs: number;
  /** SSH reconnect delays (default: the transport's, 1 s doubling to 60 s). */
  sshBackoff: Partial<BackoffOptions>;
  /** Consecutive unreachable polls before OFFLINE (default 3). */
  offlineAfter: number;
  flushMs: number;
  flushRows: number;
  /** Rows kept in memory during a database outage that the spool has not taken (yet) before new ones are dropped. */
  memoryRows: number;
  /** During an outage, samples reach the fsynced spool within this (group commit). */
  spoolCommitMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Database retry delays during an outage. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Re-probe delays for unreachable devices. */
  probeBaseMs: number;
  probeMaxMs: number;
}

export interface PollerDeps {
  config: Config;
  db: Pick<Database, 'prisma'>;
  events: EventBus;
  log: Logger;
  secrets: SecretBox;
  /** Replaces the SSH/local runners (tests, simulator). */
  runnerFactory?: RunnerFactory;
  now?: () => Date;
  /** After each write committed, live or replayed after an outage (alert evaluation). */
  onBatchWritten?: (batch: SampleBatch) => void;
  tuning?: Partial<PollerTuning>;
  /** Instrumentation (src/metrics.ts): collector and poll outcomes, writer flushes. */
  observer?: PollerObserver;
}

export interface PollerObserver extends PollObserver {
  /** One coalesced write to the database: rows, seconds, committed or not. */
  flushDone?(rows: number, seconds: number, ok: boolean): void;
  /** A scheduled collector's poll started, `seconds` after its slot. */
  slotStarted?(collector: CollectorName, seconds: number): void;
}

export interface PollerStats {
  devices: number;
  /** Devices on the schedule (not disabled, not waiting for trustHostKey). */
  scheduledDevices: number;
  byStatus: Record<DeviceStatus, number>;
  /** Device polls holding a concurrency slot / waiting for one. */
  inFlight: number;
  waiting: number;
  pollsLastMinute: number;
  pollsTotal: number;
  /** Polls in which at least one collector failed. */
  pollsFailed: number;
  skippedOverlaps: number;
  /** Scheduled device+collector slots started since start, and those started more than a second late. */
  slotsStarted: number;
  slotsLate: number;
  /** Scheduled polls not run because this instance's leases may have lapsed (others alive, renewal late). */
  leaseSkipped: number;
  writer: WriterStats;
  /** SSH connections currently established. */
  connectionsOpen: number;
  leases: { instanceId: string; held: number; liveInstances: number };
}

export interface Poller {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Polls a device now (all its collectors unless given), behind a poll of it already running. */
  pollNow(deviceId: string, collectors?: CollectorName[]): Promise<PollOutcome>;
  /** After a device was created, updated or deleted: reload it, reschedule it, poll it soon. */
  deviceChanged(deviceId: string): Promise<void>;
  /** Pins `fingerprint` as the device's host key, clears the pending one, resumes polling; returns the first poll. */
  trustHostKey(deviceId: string, fingerprint: string): Promise<PollOutcome>;
  /** Each collector's state as this instance knows it now; undefined when it does not poll the device. */
  collectorStates(deviceId: string): CollectorView[] | undefined;
  /**
   * Runs one constant command on the device over the connection its polls keep (an on-demand
   * read such as Device.topProcesses: no second handshake, and a host in backoff fails at
   * once). undefined when this instance does not poll the device (another one does, or it is
   * switched off): the caller then connects by itself.
   */
  execOn(deviceId: string, command: string, options: ExecOptions): Promise<ExecResult> | undefined;
  stats(): PollerStats;
}

export class DeviceNotFoundError extends Error {
  override readonly name = 'DeviceNotFoundError';
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} not found`);
  }
}

export class InvalidFingerprintError extends Error {
  override readonly name = 'InvalidFingerprintError';
}

export function createPoller(deps: PollerDeps): Poller {
  const { config, events, log } = deps;
  const prisma = deps.db.prisma;
  const now = deps.now ?? (() => new Date());
  const t: PollerTuning = {
    execTimeoutMs: DEFAULT_EXEC_TIMEOUT_MS,
    sshReadyTimeoutMs: 10_000,
    sshBackoff: {},
    offlineAfter: DEFAULT_OFFLINE_AFTER,
    flushMs: 250,
    flushRows: 1000,
    memoryRows: 50_000,
    spoolCommitMs: 500,
    spoolDir: path.join(config.dataDir, 'spool'),
    spoolMaxBytes: 1024 * 1024 * 1024,
    retryBaseMs: 1000,
    retryMaxMs: 30_000,
    probeBaseMs: 5_000,
    probeMaxMs: 120_000,
    ...deps.tuning,
  };

  const runtimes = new Map<string, DeviceRuntime>();
  const writer = createWriter({
    prisma,
    log,
    spoolDir: t.spoolDir,
    flushMs: t.flushMs,
    maxRows: t.flushRows,
    memoryRows: t.memoryRows,
    spoolCommitMs: t.spoolCommitMs,
    spoolMaxBytes: t.spoolMaxBytes,
    retry: { baseMs: t.retryBaseMs, maxMs: t.retryMaxMs },
    onCommitted: createAfterCommit({ events, onBatchWritten: deps.onBatchWritten }),
    onFlush: deps.observer?.flushDone ? (rows, seconds, ok) => deps.observer?.flushDone?.(rows, seconds, ok) : undefined,
  });

  const onHostKey = (deviceId: string, fingerprint: string): void => {
    const rt = runtimes.get(deviceId);
    if (!rt || rt.device.hostKeyFingerprint) return;
    // Pinned in memory at once: the runner is rebuilt pinned before the next poll, so a later connection cannot present another key.
    rt.device = { ...rt.device, hostKeyFingerprint: fingerprint };
    log.info({ deviceId, fingerprint }, 'host key recorded (trust on first use)');
    prisma.device
      .updateMany({ where: { id: deviceId, hostKeyFingerprint: null }, data: { hostKeyFingerprint: fingerprint } })
      .catch((err: unknown) => log.warn({ deviceId, err: (err as Error).message }, 'could not store the host key fingerprint'));
  };

  const connections = createConnections({
    secrets: deps.secrets,
    log,
    factory: deps.runnerFactory,
    execTimeoutMs: t.execTimeoutMs,
    readyTimeoutMs: t.sshReadyTimeoutMs,
    backoff: t.sshBackoff,
    onHostKey,
    ownKey: () => sshIdentity(config.dataDir, deps.secrets).privateKey,
  });

  const ctx: PollContext = {
    prisma,
    events,
    log,
    writer,
    connections,
    now,
    execTimeoutMs: t.execTimeoutMs,
    offlineAfter: t.offlineAfter,
    observer: deps.observer,
  };

  const leaseMs = config.lease.leaseSeconds * 1000;
  // Renewing less than twice per lease would let a lease lapse at the first slow renewal.
  const renewMs = Math.min(config.lease.renewSeconds * 1000, leaseMs / 2);
  const leases = createLeases({
    prisma,
    log,
    instanceId: config.lease.instanceId,
    leaseMs,
    renewMs,
    beforeRelease(ids) {
      // Should the hand-over fail, the next renewal still returns them: they are adopted again, on their slots.
      for (const id of ids) {
        held.delete(id);
        scheduler.removeDevice(id);
      }
    },
  });
  /** Devices this instance holds a lease on: the only ones it schedules. */
  const held = new Set<string>();
  let liveInstances = 1;
  /** Until when our leases are surely ours (local clock): the last successful renewal + the lease. */
  let leasesValidUntil = 0;
  let leaseTimer: NodeJS.Timeout | undefined;
  let cycling: Promise<void> | undefined;

  // Polls over the last minute: 60 one-second buckets, each tagged with its second.
  const ringSecond = new Array<number>(60).fill(-1);
  const ringCount = new Array<number>(60).fill(0);
  const countPoll = (): void => {
    const s = Math.floor(Date.now() / 1000);
    const i = s % 60;
    if (ringSecond[i] !== s) {
      ringSecond[i] = s;
      ringCount[i] = 0;
    }
    ringCount[i] = (ringCount[i] ?? 0) + 1;
  };
  let pollsTotal = 0;
  let pollsFailed = 0;

  /** Per collector: the device's interval or the server's, none for one switched off, hourly for one UNAVAILABLE. */
  const intervalsOf = (rt: DeviceRuntime): Intervals => {
    const d = rt.device;
    const configured = {
      system: d.systemInterval ?? config.polling.intervals.system,
      containers: d.containerInterval ?? config.polling.intervals.containers,
      drives: d.driveInterval ?? config.polling.intervals.drives,
    };
    return scheduleIntervals(configured, d.disabledCollectors, rt.collectors);
  };
  /** A poll of the device's enabled collectors (the unreachable re-probe, trustHostKey). */
  const enabledOf = (rt: DeviceRuntime): CollectorName[] => COLLECTOR_NAMES.filter((n) => isEnabled(rt.device, n));

  const loadDevice = (deviceId: string): Promise<PollDevice | null> =>
    prisma.device.findUnique({ where: { id: deviceId }, include: { credential: true } });

  const shouldSchedule = (rt: DeviceRuntime): boolean => rt.device.monitoringEnabled && rt.status !== 'HOST_KEY_MISMATCH';

  const afterPoll = (rt: DeviceRuntime, outcome: PollOutcome): void => {
    pollsTotal++;
    countPoll();
    if (outcome.outcomes.some((o) => o.kind !== 'ok')) pollsFailed++;
    const deviceId = rt.device.id;
    if (rt.status === 'HOST_KEY_MISMATCH') {
      // Nothing is sent to a host that may be an impostor until a person trusts its key.
      scheduler.removeDevice(deviceId);
      void connections.close(deviceId);
      return;
    }
    if (!scheduler.hasDevice(deviceId)) return;
    // A collector that became UNAVAILABLE (or available again) moves to its hourly (or own) interval.
    scheduler.setDevice(deviceId, intervalsOf(rt));
    const unreachable = outcome.skipped === 'backoff' || (rt.consecutiveFailures > 0 && outcome.outcomes.every((o) => o.kind === 'transport'));
    if (unreachable) {
      const delay = backoffDelay(Math.max(1, rt.consecutiveFailures), { baseMs: t.probeBaseMs, maxMs: t.probeMaxMs });
      scheduler.probe(deviceId, now().getTime() + delay, enabledOf(rt).slice(0, 1));
    }
  };

  /**
   * Scheduled polls stop when our leases may have lapsed (a late renewal) while others are
   * alive: they may have taken the devices over. Alone, polling goes on through an outage.
   */
  let leaseSkipped = 0;
  let leaseLapsed = false;
  const leaseValid = (): boolean => liveInstances <= 1 || Date.now() < leasesValidUntil;

  const runPoll = async (deviceId: string, collectors: CollectorName[], reason: PollReason, control: RunControl): Promise<PollOutcome> => {
    if (reason !== 'manual' && !leaseValid()) {
      // Never silent: a late renewal that stops polling shows in the log and in /metrics.
      leaseSkipped++;
      if (!leaseLapsed) log.warn({ liveInstances, lateMs: Date.now() - leasesValidUntil }, 'device leases may have lapsed (renewal late): scheduled polls skipped until the next renewal');
      leaseLapsed = true;
      const rt = runtimes.get(deviceId);
      const status = rt?.status ?? 'UNKNOWN';
      return { deviceId, time: now(), collectors, outcomes: [], previousStatus: status, status, rows: 0, write: 'nothing', skipped: 'lease', ms: 0 };
    }
    let rt = runtimes.get(deviceId);
    if (!rt) {
      const device = await loadDevice(deviceId);
      if (!device) throw new DeviceNotFoundError(deviceId);
      rt = newRuntime(device);
      runtimes.set(deviceId, rt);
    }
    // The slot bounds devices being talked to; storing and status bookkeeping wait on the database (shared with the API) without one.
    if (leaseLapsed && reason !== 'manual') {
      leaseLapsed = false;
      log.info({ skippedPolls: leaseSkipped }, 'device leases renewed: scheduled polls resume');
    }
    const outcome = await pollDevice({ ...ctx, collected: control.releaseSlot }, rt, collectors);
    afterPoll(rt, outcome);
    return outcome;
  };

  const scheduler = createScheduler<PollOutcome>({
    maxConcurrent: config.polling.maxConcurrentDevices,
    now: () => now().getTime(),
    log,
    run: (deviceId, collectors, reason, control) => runPoll(deviceId, collectors, reason, control),
    onSlotStarted: (collector, lateMs) => deps.observer?.slotStarted?.(collector, lateMs / 1000),
  });

  const setStatus = async (rt: DeviceRuntime, status: DeviceStatus, reason: string): Promise<void> => {
    await applyStatus(ctx, rt, { status, consecutiveFailures: 0, reason, lastError: null, seen: false }, now());
  };

  /**
   * Brings the in-memory view of one device in line with its row. A device's syncs run one at a
   * time (a mutation's and a lease cycle's can overlap), and a row read before the one already
   * applied is ignored: a stale "monitoring off" must not undo the "on" that followed it.
   */
  const syncing = new Map<string, Promise<void>>();
  const sync = (device: PollDevice, when: { soon?: boolean; polledUntil?: number }): Promise<void> => {
    const next = (syncing.get(device.id) ?? Promise.resolve()).catch(() => undefined).then(() => syncNow(device, when));
    syncing.set(device.id, next);
    void next.finally(() => {
      if (syncing.get(device.id) === next) syncing.delete(device.id);
    }).catch(() => undefined);
    return next;
  };

  const syncNow = async (device: PollDevice, when: { soon?: boolean; polledUntil?: number }): Promise<void> => {
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
    if (!held.has(device.id)) {
      scheduler.removeDevice(device.id);
      return;
    }
    scheduler.setDevice(device.id, intervalsOf(rt), when);
  };

  /** Stops polling a device here (lease lost or handed over, device deleted). */
  const drop = async (deviceId: string): Promise<void> => {
    held.delete(deviceId);
    scheduler.removeDevice(deviceId);
    runtimes.delete(deviceId);
    await connections.close(deviceId);
  };

  /** A device whose lease we just got: as start() always treated every device. */
  const adopt = async (device: PollDevice, polledUntil: number | undefined): Promise<void> => {
    held.add(device.id);
    const rt = newRuntime(device);
    runtimes.set(device.id, rt);
    if (!device.monitoringEnabled) {
      if (rt.status !== 'DISABLED') await setStatus(rt, 'DISABLED', 'monitoring disabled');
      return;
    }
    if (rt.status === 'DISABLED') await setStatus(rt, 'UNKNOWN', 'monitoring enabled');
    if (shouldSchedule(rt)) scheduler.setDevice(device.id, intervalsOf(rt), polledUntil === undefined ? { soon: true } : { polledUntil });
  };

  /** Brings the schedule in line with one lease cycle. */
  const reconcile = async (cycle: LeaseCycle): Promise<void> => {
    liveInstances = cycle.liveInstances;
    for (const id of cycle.released) await drop(id);
    for (const id of [...held]) {
      if (cycle.held.has(id)) continue;
      await drop(id);
      if (!cycle.released.includes(id)) log.info({ deviceId: id }, 'device lease lost (taken over or deleted): no longer polled here');
    }
    const claimed = new Map(cycle.claimed.map((c) => [c.id, c.polledUntil]));
    const fresh: string[] = [];
    const changed: string[] = [];
    for (const [id, updatedAt] of cycle.held) {
      if (!held.has(id)) fresh.push(id);
      else if (runtimes.get(id)?.device.updatedAt.getTime() !== updatedAt) changed.push(id);
    }
    if (fresh.length === 0 && changed.length === 0) return;
    const rows = await prisma.device.findMany({ where: { id: { in: [...fresh, ...changed] } }, include: { credential: true } });
    for (const d of rows) {
      // A lease we held all along but had dropped (lost contact with the database): we polled it until then.
      if (fresh.includes(d.id)) await adopt(d, claimed.has(d.id) ? claimed.get(d.id) : Date.now());
      else await sync(d, {});
    }
  };

  const runLeaseCycle = (): Promise<void> => {
    cycling ??= (async () => {
      const started = Date.now();
      try {
        const cycle = await leases.cycle();
        leasesValidUntil = started + leaseMs;
        await reconcile(cycle);
      } catch (err) {
        log.warn({ err: (err as Error).message, held: held.size }, 'could not renew device leases');
        // Alone, keep polling through a database outage (samples are spooled). With others
        // alive, stop before our leases lapse: they will take the devices over.
        if (liveInstances > 1 && Date.now() + renewMs >= leasesValidUntil && held.size > 0) {
          log.error({ devices: held.size, liveInstances }, 'device leases about to lapse: stopping polling here until the database answers');
          for (const id of [...held]) await drop(id);
        }
      }
    })().finally(() => {
      cycling = undefined;
    });
    return cycling;
  };

  /** Makes sure we hold a device's lease when we can (created or changed through this instance). */
  const ensureHeld = async (deviceId: string): Promise<{ held: boolean; polledUntil?: number }> => {
    if (held.has(deviceId)) return { held: true };
    const claimed = await leases.claim(deviceId);
    if (!claimed) return { held: false };
    held.add(deviceId);
    return { held: true, polledUntil: claimed.polledUntil };
  };


  const ensureLocalDevice = async (): Promise<void> => {
    const existing = await prisma.device.count({ where: { transport: 'LOCAL' } });
    if (existing > 0) return;
    try {
      const d = await prisma.device.create({ data: { name: 'local', hostname: 'localhost', transport: 'LOCAL', port: 0 } });
      log.info({ deviceId: d.id }, 'registered this machine as device "local"');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not register device "local" (a device of that name may exist)');
    }
  };

  let started = false;

  return {
    async start() {
      if (started) return;
      started = true;
      writer.start();
      if (config.monitorLocalhost) await ensureLocalDevice();
      const first = await leases.cycle();
      leasesValidUntil = Date.now() + leaseMs;
      await reconcile(first);
      leaseTimer = setInterval(() => void runLeaseCycle(), renewMs);
      leaseTimer.unref();
      log.info(
        { devices: runtimes.size, fleet: first.totalDevices, instanceId: leases.instanceId, liveInstances: first.liveInstances, scheduled: scheduler.stats().devices, polling: config.polling.enabled },
        'poller started',
      );
      if (config.polling.enabled) scheduler.start();
    },

    async stop() {
      if (!started) return;
      started = false;
      clearInterval(leaseTimer);
      leaseTimer = undefined;
      await cycling;
      await scheduler.stop();
      // Released before the last flush: the others may start polling these devices at once.
      try {
        const released = await leases.releaseAll();
        if (released > 0) log.info({ devices: released, instanceId: leases.instanceId }, 'device leases released');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not release device leases (they lapse by themselves)');
      }
      held.clear();
      await writer.stop();
      await connections.closeAll();
      log.info({ polls: pollsTotal }, 'poller stopped');
    },

    async pollNow(deviceId, collectors) {
      if (!runtimes.has(deviceId)) {
        const device = await loadDevice(deviceId);
        if (!device) throw new DeviceNotFoundError(deviceId);
        const lease = await ensureHeld(deviceId);
        await sync(device, lease.polledUntil === undefined ? {} : { polledUntil: lease.polledUntil });
      }
      // Every collector, UNAVAILABLE ones included: an explicit poll is also their re-probe. Switched-off ones never run.
      const names = collectors && collectors.length > 0 ? collectors : [...COLLECTOR_NAMES];
      return scheduler.runNow(deviceId, names);
    },

    async deviceChanged(deviceId) {
      const device = await loadDevice(deviceId);
      if (!device) {
        await drop(deviceId);
        log.info({ deviceId }, 'device removed from polling');
        return;
      }
      const lease = await ensureHeld(deviceId);
      await sync(device, lease.polledUntil === undefined ? { soon: true } : { polledUntil: lease.polledUntil });
    },

    async trustHostKey(deviceId, fingerprint) {
      if (!FINGERPRINT_RE.test(fingerprint)) {
        throw new InvalidFingerprintError(`not an SSH SHA-256 fingerprint: expected SHA256: followed by 43 base64 characters`);
      }
      const device = await loadDevice(deviceId);
      if (!device) throw new DeviceNotFoundError(deviceId);
      await prisma.device.update({ where: { id: deviceId }, data: { hostKeyFingerprint: fingerprint, pendingHostKey: null } });
      log.info({ deviceId, fingerprint, previous: device.hostKeyFingerprint }, 'host key trusted');
      // The pinned key changed, so the runner is rebuilt (no backoff carried over) and polling resumes.
      await connections.close(deviceId);
      await sync({ ...device, hostKeyFingerprint: fingerprint, pendingHostKey: null }, {});
      const rt = runtimes.get(deviceId);
      if (device.monitoringEnabled && held.has(deviceId) && rt) scheduler.setDevice(deviceId, intervalsOf(rt));
      return scheduler.runNow(deviceId, [...COLLECTOR_NAMES]);
    },

    execOn(deviceId, command, options) {
      const rt = runtimes.get(deviceId);
      if (!rt || !held.has(deviceId) || !rt.device.monitoringEnabled) return undefined;
      // Nothing is sent to a host that may be an impostor until a person trusts its key.
      if (rt.status === 'HOST_KEY_MISMATCH') return Promise.reject(new TransportError('HOST_KEY', 'the host presented another key than the pinned one: check it, then trustHostKey'));
      const device = rt.device;
      return Promise.resolve().then(() => connections.get(device).exec(command, options));
    },

    collectorStates(deviceId) {
      const rt = runtimes.get(deviceId);
      if (!rt) return undefined;
      const settings = { disabled: rt.device.disabledCollectors, monitoringEnabled: rt.device.monitoringEnabled };
      return COLLECTOR_NAMES.map((name) => viewOf(name, rt.collectors.get(name), settings));
    },

    stats() {
      const byStatus = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, 0])) as Record<DeviceStatus, number>;
      for (const rt of runtimes.values()) byStatus[rt.status]++;
      const second = Math.floor(Date.now() / 1000);
      let pollsLastMinute = 0;
      for (let i = 0; i < 60; i++) if (second - (ringSecond[i] ?? -1) < 60) pollsLastMinute += ringCount[i] ?? 0;
      const sch = scheduler.stats();
      return {
        devices: runtimes.size,
        scheduledDevices: sch.devices,
        byStatus,
        inFlight: sch.inFlight,
        waiting: sch.waiting,
        pollsLastMinute,
        pollsTotal,
        pollsFailed,
        skippedOverlaps: sch.skippedOverlaps,
        slotsStarted: sch.slotsStarted,
        slotsLate: sch.slotsLate,
        leaseSkipped,
        writer: writer.stats(),
        connectionsOpen: connections.openCount(),
        leases: { instanceId: leases.instanceId, held: held.size, liveInstances },
      };
    },
  };
}

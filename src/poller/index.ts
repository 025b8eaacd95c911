/**
 * Poller: schedules every monitored device's collectors (scheduler.ts), polls them over one
 * kept connection per device (connections.ts, poll-device.ts), decides device status
 * (status.ts), writes samples in coalesced batches that survive database outages (writer.ts,
 * spool.ts) and publishes sample and status events after the commit.
 *
 *   createPoller(deps) → { start, stop, pollNow, deviceChanged, trustHostKey, stats }
 *
 * Devices in HOST_KEY_MISMATCH are not polled until trustHostKey (or an update of their pinned
 * key); disabled devices are not polled at all. A device that stops answering is re-probed
 * sooner than its interval, with backoff, so it comes back ONLINE by itself.
 */
import path from 'node:path';
import type { CollectorName } from '../collectors/types.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { SampleBatch } from '../storage/types.ts';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.ts';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../transport/local.ts';
import { createConnections, type PollDevice, type RunnerFactory } from './connections.ts';
import { applyStatus, newRuntime, pollDevice, type DeviceRuntime, type PollContext, type PollOutcome } from './poll-device.ts';
import { createScheduler, type Intervals } from './scheduler.ts';
import { DEFAULT_OFFLINE_AFTER, type DeviceStatus } from './status.ts';
import { createWriter, type WriterStats } from './writer.ts';

export type { PollOutcome } from './poll-device.ts';
export type { DeviceStatus, CollectorOutcome } from './status.ts';
export type { RunnerFactory, RunnerHooks, PollDevice } from './connections.ts';
export type { WriteResult, WriterStats } from './writer.ts';
export type { SpoolStats } from './spool.ts';

export const ALL_COLLECTORS: readonly CollectorName[] = ['system', 'containers', 'drives'];

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
  /** Rows kept in memory during a database outage before spilling to disk. */
  memoryRows: number;
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
  /** After each live write committed (alert evaluation). */
  onBatchWritten?: (batch: SampleBatch) => void;
  tuning?: Partial<PollerTuning>;
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
  writer: WriterStats;
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

/** OpenSSH's `SHA256:` + 43 unpadded base64 characters. */
export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

const STATUSES: DeviceStatus[] = ['UNKNOWN', 'ONLINE', 'DEGRADED', 'OFFLINE', 'AUTH_FAILED', 'HOST_KEY_MISMATCH', 'DISABLED'];

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
    spoolMaxBytes: t.spoolMaxBytes,
    retry: { baseMs: t.retryBaseMs, maxMs: t.retryMaxMs },
    onCommitted: deps.onBatchWritten,
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
  };

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

  const intervalsOf = (d: PollDevice): Intervals => ({
    system: d.systemInterval ?? config.polling.intervals.system,
    containers: d.containerInterval ?? config.polling.intervals.containers,
    drives: d.driveInterval ?? config.polling.intervals.drives,
  });

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
    const unreachable = outcome.skipped === 'backoff' || (rt.consecutiveFailures > 0 && outcome.outcomes.every((o) => o.kind === 'transport'));
    if (unreachable && scheduler.hasDevice(deviceId)) {
      const delay = backoffDelay(Math.max(1, rt.consecutiveFailures), { baseMs: t.probeBaseMs, maxMs: t.probeMaxMs });
      scheduler.probe(deviceId, now().getTime() + delay, ['system']);
    }
  };

  const runPoll = async (deviceId: string, collectors: CollectorName[]): Promise<PollOutcome> => {
    let rt = runtimes.get(deviceId);
    if (!rt) {
      const device = await loadDevice(deviceId);
      if (!device) throw new DeviceNotFoundError(deviceId);
      rt = newRuntime(device);
      runtimes.set(deviceId, rt);
    }
    const outcome = await pollDevice(ctx, rt, collectors);
    afterPoll(rt, outcome);
    return outcome;
  };

  const scheduler = createScheduler<PollOutcome>({
    maxConcurrent: config.polling.maxConcurrentDevices,
    now: () => now().getTime(),
    log,
    run: (deviceId, collectors) => runPoll(deviceId, collectors),
  });

  const setStatus = async (rt: DeviceRuntime, status: DeviceStatus, reason: string): Promise<void> => {
    await applyStatus(ctx, rt, { status, consecutiveFailures: 0, reason, lastError: null, seen: false }, now());
  };

  /** Brings the in-memory view of one device in line with its row; returns false when it is gone. */
  const sync = async (device: PollDevice, soon: boolean): Promise<void> => {
    let rt = runtimes.get(device.id);
    const previousPin = rt?.device.hostKeyFingerprint;
    if (rt) {
      // Keep what the poller knows better (status, failures); take the user's settings.
      rt.device = { ...device, status: rt.status, consecutiveFailures: rt.consecutiveFailures, lastError: rt.lastError, hostKeyFingerprint: device.hostKeyFingerprint ?? rt.device.hostKeyFingerprint };
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
    scheduler.setDevice(device.id, intervalsOf(device), { soon });
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
      const devices = await prisma.device.findMany({ include: { credential: true } });
      for (const d of devices) {
        const rt = newRuntime(d);
        runtimes.set(d.id, rt);
        if (!d.monitoringEnabled) {
          if (rt.status !== 'DISABLED') await setStatus(rt, 'DISABLED', 'monitoring disabled');
          continue;
        }
        if (rt.status === 'DISABLED') await setStatus(rt, 'UNKNOWN', 'monitoring enabled');
        if (shouldSchedule(rt)) scheduler.setDevice(d.id, intervalsOf(d), { soon: true });
      }
      log.info({ devices: devices.length, scheduled: scheduler.stats().devices, polling: config.polling.enabled }, 'poller started');
      if (config.polling.enabled) scheduler.start();
    },

    async stop() {
      if (!started) return;
      started = false;
      await scheduler.stop();
      await writer.stop();
      await connections.closeAll();
      log.info({ polls: pollsTotal }, 'poller stopped');
    },

    async pollNow(deviceId, collectors) {
      if (!runtimes.has(deviceId)) {
        const device = await loadDevice(deviceId);
        if (!device) throw new DeviceNotFoundError(deviceId);
        await sync(device, false);
      }
      const names = collectors && collectors.length > 0 ? collectors : [...ALL_COLLECTORS];
      return scheduler.runNow(deviceId, names);
    },

    async deviceChanged(deviceId) {
      const device = await loadDevice(deviceId);
      if (!device) {
        scheduler.removeDevice(deviceId);
        runtimes.delete(deviceId);
        await connections.close(deviceId);
        log.info({ deviceId }, 'device removed from polling');
        return;
      }
      await sync(device, true);
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
      await sync({ ...device, hostKeyFingerprint: fingerprint, pendingHostKey: null }, false);
      if (device.monitoringEnabled) scheduler.setDevice(deviceId, intervalsOf(device));
      return scheduler.runNow(deviceId, [...ALL_COLLECTORS]);
    },

    stats() {
      const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<DeviceStatus, number>;
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
        writer: writer.stats(),
      };
    },
  };
}

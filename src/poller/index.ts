/**
 * Poller: schedules every monitored device's collectors (scheduler.ts), polls them over one
 * kept connection per device (connections.ts, poll-device.ts), decides device status
 * (status.ts, stored in batches by status-writer.ts), writes samples in coalesced batches that
 * survive database outages (writer.ts, spool.ts) and publishes sample events after the commit (after-commit.ts: live and replayed
 * alike) and status events as they happen.
 *
 *   createPoller(deps) → { start, stop, pollNow, deviceChanged, trustHostKey, stats }
 *
 * Devices in HOST_KEY_MISMATCH are not polled until trustHostKey (or an update of their pinned
 * key); disabled devices are not polled at all. A device that stops answering is re-probed
 * sooner than its interval, with backoff, so it comes back ONLINE by itself.
 *
 * Scale-out (ownership.ts, leases.ts): an instance schedules only the devices it holds a lease
 * on; every renewal cycle reconciles the schedule with the leases (taken over, handed over,
 * changed on another instance). A lone instance holds every device.
 *
 * This module only wires the parts together:
 *   run-poll.ts          the poll of one device (lease guard, first load, count, reschedule)
 *   device-schedule.ts   a device's intervals and what a poll changes in its schedule
 *   device-sync.ts       the in-memory devices kept in line with their rows
 *   device-commands.ts   pollNow, deviceChanged, trustHostKey, collectorStates, execOn
 *   checks.ts            the checks (commands of an ADMIN's) on the devices polled here, over execOn
 *   ownership.ts         the devices this instance holds a lease on, renewal cycles
 *   stats.ts             what stats() reports
 */
import type { CollectorName } from '../collectors/types.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { SampleBatch } from '../storage/types.ts';
import { sshHandshakes } from '../transport/ssh-connection.ts';
import type { ExecOptions, ExecResult } from '../transport/types.ts';
import { sshIdentity } from '../security/ssh-identity.ts';
import { createAfterCommit } from './after-commit.ts';
import { createCheckRunner } from './checks.ts';
import type { NamedCheckResult } from '../storage/checks.ts';
import type { CollectorView } from './collector-state.ts';
import { createConnections, type RunnerFactory } from './connections.ts';
import { createDeviceCommands } from './device-commands.ts';
import { createReschedule, intervalsOf } from './device-schedule.ts';
import { createDeviceSync, createHostKeyRecorder, ensureLocalDevice } from './device-sync.ts';
import { createOwnership } from './ownership.ts';
import type { DeviceRuntime, PollContext, PollObserver, PollOutcome } from './poll-device.ts';
import { createRunPoll } from './run-poll.ts';
import { createScheduler } from './scheduler.ts';
import { createStatusWriter } from './status-writer.ts';
import { createPollCounts, pollerStats, type PollerStats } from './stats.ts';
import { resolveTuning, type PollerTuning } from './tuning.ts';
import { createWriter } from './writer.ts';

export type { PollOutcome, PollObserver } from './poll-device.ts';
export type { DeviceStatus, CollectorOutcome } from './status.ts';
export type { RunnerFactory, RunnerHooks, PollDevice } from './connections.ts';
export type { WriteResult, WriterStats } from './writer.ts';
export type { SpoolStats } from './spool.ts';
export type { CollectorView, CollectorStatus } from './collector-state.ts';
export type { PollerStats } from './stats.ts';
export type { PollerTuning } from './tuning.ts';
export { DeviceNotFoundError, InvalidFingerprintError } from './errors.ts';

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
  /** Every check result this instance stored (alert evaluation of CHECK_STATUS, CHECK_VALUE). */
  onCheckResults?: (rows: readonly NamedCheckResult[]) => void;
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
  /** Device polls waiting for a concurrency slot now: stats().waiting without walking the devices (the API's admission reads it per request). */
  waiting(): number;
}

export function createPoller(deps: PollerDeps): Poller {
  const { config, events, log } = deps;
  const prisma = deps.db.prisma;
  const now = deps.now ?? (() => new Date());
  const t = resolveTuning(config.dataDir, deps.tuning);
  /** What the poller remembers about each device it polls (poll-device.ts). */
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
  const connections = createConnections({
    secrets: deps.secrets,
    log,
    factory: deps.runnerFactory,
    execTimeoutMs: t.execTimeoutMs,
    readyTimeoutMs: t.sshReadyTimeoutMs,
    backoff: t.sshBackoff,
    onHostKey: createHostKeyRecorder(runtimes, prisma, log),
    ownKey: () => sshIdentity(config.dataDir, deps.secrets).privateKey,
  });
  const statusWriter = createStatusWriter({ prisma, log, flushMs: t.flushMs });
  const ctx: PollContext = { prisma, events, log, writer, statusWriter, lastSeenEveryMs: t.lastSeenEveryMs, connections, now, execTimeoutMs: t.execTimeoutMs, offlineAfter: t.offlineAfter, observer: deps.observer };
  const intervals = (rt: DeviceRuntime) => intervalsOf(config.polling.intervals, rt);
  const counts = createPollCounts();

  const scheduler = createScheduler<PollOutcome>({
    maxConcurrent: config.polling.maxConcurrentDevices,
    now: () => now().getTime(),
    log,
    run: (deviceId, collectors, reason, control) => runPoll(deviceId, collectors, reason, control),
    onSlotStarted: (collector, lateMs) => deps.observer?.slotStarted?.(collector, lateMs / 1000),
  });
  const devices = createDeviceSync({ ctx, runtimes, scheduler, connections, holds: (id) => ownership.holds(id), intervalsOf: intervals });
  const ownership = createOwnership({ prisma, log, lease: config.lease, devices });
  const reschedule = createReschedule({ scheduler, connections, intervalsOf: intervals, now, probe: { baseMs: t.probeBaseMs, maxMs: t.probeMaxMs } });
  const runPoll = createRunPoll({ ctx, runtimes, ownership, counts, reschedule });
  const commands = createDeviceCommands({ prisma, log, runtimes, scheduler, connections, ownership, devices, intervalsOf: intervals });
  const checks = createCheckRunner({ prisma, log, events, runtimes, execOn: commands.execOn, maxConcurrent: config.polling.maxConcurrentDevices, onResults: deps.onCheckResults, now: () => now().getTime() });

  let started = false;
  return {
    async start() {
      if (started) return;
      started = true;
      writer.start();
      if (config.monitorLocalhost) await ensureLocalDevice(prisma, log);
      const first = await ownership.start();
      log.info(
        { devices: runtimes.size, fleet: first.totalDevices, instanceId: ownership.instanceId, liveInstances: first.liveInstances, scheduled: scheduler.stats().devices, polling: config.polling.enabled },
        'poller started',
      );
      if (config.polling.enabled) {
        scheduler.start();
        await checks.start();
      }
    },

    async stop() {
      if (!started) return;
      started = false;
      await ownership.stopRenewing();
      const checksStopped = checks.stop();
      await scheduler.stop();
      await ownership.releaseAll();
      await statusWriter.stop();
      await writer.stop();
      await connections.closeAll();
      // Closing the connections ended the checks still running (a check may hang until its timeout).
      await checksStopped;
      log.info({ polls: counts.total }, 'poller stopped');
    },

    ...commands,

    stats: () =>
      pollerStats({
        runtimes,
        counts,
        scheduler: scheduler.stats(),
        writer: writer.stats(),
        connectionsOpen: connections.openCount(),
        sshHandshakes: sshHandshakes(),
        leases: ownership.stats(),
        leaseSkipped: ownership.skipped,
        checks: checks.stats(),
      }),
    waiting: () => scheduler.stats().waiting,
  };
}

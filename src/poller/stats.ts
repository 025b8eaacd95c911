/**
 * What `Poller.stats()` reports (/metrics, Query.health): poll counters kept here, the rest
 * read from the parts that own them (scheduler: slots and their lateness; writer; connections;
 * leases).
 */
import type { CheckRunnerStats } from './checks.ts';
import type { DeviceRuntime, PollOutcome } from './poll-device.ts';
import type { SchedulerStats } from './scheduler.ts';
import { DEVICE_STATUSES, type DeviceStatus } from './status.ts';
import type { WriterStats } from './writer.ts';

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
  /** SSH handshakes completed since start (the process's, ssh-connection.ts): flat while every connection is kept. */
  sshHandshakes: number;
  leases: { instanceId: string; held: number; liveInstances: number };
  /** The checks run here (checks.ts). */
  checks: CheckRunnerStats;
}

/** Device polls finished here: since start, failed, and over the last minute. */
export interface PollCounts {
  record(outcome: PollOutcome): void;
  readonly total: number;
  readonly failed: number;
  lastMinute(): number;
}

export function createPollCounts(): PollCounts {
  // Polls over the last minute: 60 one-second buckets, each tagged with its second.
  const ringSecond = new Array<number>(60).fill(-1);
  const ringCount = new Array<number>(60).fill(0);
  let total = 0;
  let failed = 0;
  return {
    record(outcome) {
      total++;
      const s = Math.floor(Date.now() / 1000);
      const i = s % 60;
      if (ringSecond[i] !== s) {
        ringSecond[i] = s;
        ringCount[i] = 0;
      }
      ringCount[i] = (ringCount[i] ?? 0) + 1;
      if (outcome.outcomes.some((o) => o.kind !== 'ok')) failed++;
    },
    get total() {
      return total;
    },
    get failed() {
      return failed;
    },
    lastMinute() {
      const second = Math.floor(Date.now() / 1000);
      let n = 0;
      for (let i = 0; i < 60; i++) if (second - (ringSecond[i] ?? -1) < 60) n += ringCount[i] ?? 0;
      return n;
    },
  };
}

export interface StatsSources {
  runtimes: ReadonlyMap<string, DeviceRuntime>;
  counts: PollCounts;
  scheduler: SchedulerStats;
  writer: WriterStats;
  connectionsOpen: number;
  sshHandshakes: number;
  leases: PollerStats['leases'];
  leaseSkipped: number;
  checks: CheckRunnerStats;
}

export function pollerStats(s: StatsSources): PollerStats {
  const byStatus = Object.fromEntries(DEVICE_STATUSES.map((status) => [status, 0])) as Record<DeviceStatus, number>;
  for (const rt of s.runtimes.values()) byStatus[rt.status]++;
  return {
    devices: s.runtimes.size,
    scheduledDevices: s.scheduler.devices,
    byStatus,
    inFlight: s.scheduler.inFlight,
    waiting: s.scheduler.waiting,
    pollsLastMinute: s.counts.lastMinute(),
    pollsTotal: s.counts.total,
    pollsFailed: s.counts.failed,
    skippedOverlaps: s.scheduler.skippedOverlaps,
    slotsStarted: s.scheduler.slotsStarted,
    slotsLate: s.scheduler.slotsLate,
    leaseSkipped: s.leaseSkipped,
    writer: s.writer,
    connectionsOpen: s.connectionsOpen,
    sshHandshakes: s.sshHandshakes,
    leases: s.leases,
    checks: s.checks,
  };
}

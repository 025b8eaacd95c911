/**
 * When each device+collector is polled. A timer fires `tick()` every TICK_MS; the tick looks
 * at due times, so a tick that never fired (a stalled event loop) only delays work, it never
 * queues a backlog.
 *
 * - Each device has a stable phase inside each interval (FNV-1a of the device id, modulo the
 *   interval): slots are `phase + k × interval` on the epoch clock, so a fleet registered at once
 *   is still spread over the interval after its first poll, and a device's collectors whose
 *   intervals divide one another (30 s, 300 s, 3600 s) come due at the same slots: one visit, and
 *   their commands go out as one exec (transport/batch.ts). (Until 2026-12-02 each collector had
 *   its own phase: a visit per collector, one exec each. One phase per device had been tried
 *   before batching and reverted, as every visit then waited for its slowest collector while
 *   holding a concurrency slot; with one exec per visit the slowest collector is the exec.)
 * - The first poll of a device comes at the first tick after it is added (or re-added with `soon`).
 * - A device+collector never overlaps itself: if it is still running (or waiting for a slot)
 *   when its next slot comes, that slot is skipped and counted (`skippedOverlaps`).
 * - One device has at most one poll in flight; collectors that fall due meanwhile are merged
 *   into its next poll. At most `maxConcurrent` devices are polled at once (a FIFO semaphore);
 *   a poll gives its slot back once the device has answered (`RunControl.releaseSlot`), so
 *   storing its samples never keeps another device waiting.
 * - Every scheduled slot that starts reports its lateness (start − slot); with the skipped ones
 *   that accounts for every slot.
 */
import type { CollectorName } from '../collectors/types.ts';
import type { Logger } from '../log.ts';
import { createSemaphore } from '../semaphore.ts';

/** Seconds per collector; a collector that is absent is not polled. */
export type Intervals = Partial<Record<CollectorName, number>>;

export type PollReason = 'scheduled' | 'manual' | 'probe';

/** A slot later than this (ms) counts as late in the stats: the schedule's promise to the operator. */
export const LATE_AFTER_MS = 1000;

export interface RunControl {
  /**
   * Gives the concurrency slot back before the poll ends (idempotent). The poller calls it once
   * the device has answered: storing and status bookkeeping need no slot, and holding one
   * through them made the database's latency everyone's poll latency.
   */
  releaseSlot(): void;
}

export interface SchedulerOptions<R> {
  maxConcurrent: number;
  run: (deviceId: string, collectors: CollectorName[], reason: PollReason, control: RunControl) => Promise<R>;
  /** A scheduled (or probe) collector's poll started `lateMs` after its slot (metrics). */
  onSlotStarted?: (collector: CollectorName, lateMs: number) => void;
  now?: () => number;
  log?: Logger;
}

export interface SchedulerStats {
  devices: number;
  /** Device polls holding a concurrency slot. */
  inFlight: number;
  /** Device polls waiting for a slot. */
  waiting: number;
  /** Slots skipped because the same device+collector was still running or still waiting for a slot. */
  skippedOverlaps: number;
  /** Scheduled device+collector slots whose poll started, since start. */
  slotsStarted: number;
  /** Of those, the ones that started more than LATE_AFTER_MS after their slot. */
  slotsLate: number;
  /** Device polls finished since start. */
  completed: number;
}

export interface Scheduler<R> {
  /**
   * Adds or updates a device. `soon`: its collectors are due at the next tick (registration, changes).
   * `polledUntil` (a device taken over from another instance, which polled it at the same
   * phase slots until then): each collector whose latest slot is after that is due at once,
   * the others at their next slot, so a hand-over neither repeats nor skips a slot.
   */
  setDevice(deviceId: string, intervals: Intervals, options?: { soon?: boolean; polledUntil?: number }): void;
  /** Stops scheduling a device; a poll already running finishes. */
  removeDevice(deviceId: string): void;
  hasDevice(deviceId: string): boolean;
  /** An extra poll at `atMs` (re-probing an unreachable device sooner than its interval). */
  probe(deviceId: string, atMs: number, collectors: CollectorName[]): void;
  /** Starts every due device+collector; called by the timer every TICK_MS, by tests directly. */
  tick(): void;
  /** Polls now, behind any poll of the same device already running, under the concurrency cap. */
  runNow(deviceId: string, collectors: CollectorName[]): Promise<R>;
  /** When the device+collector is next due (ms since epoch), for tests and stats. */
  nextDue(deviceId: string, collector: CollectorName): number | undefined;
  stats(): SchedulerStats;
  start(): void;
  /** Stops ticking, drops polls not yet started, waits for the running ones. */
  stop(): Promise<void>;
}

/** FNV-1a, 32 bit: stable across processes and releases, unlike any runtime hash. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The device's phase in an interval: the same hash for every interval, so dividing intervals share slots. */
export function phaseMs(deviceId: string, intervalMs: number): number {
  return stableHash(deviceId) % intervalMs;
}

/** Tick period: slots are checked this often, so a slot starts at most this late on an idle machine. */
export const TICK_MS = 200;

/** The first slot strictly after `now`. */
export function nextSlot(nowMs: number, intervalMs: number, phase: number): number {
  return phase + (Math.floor((nowMs - phase) / intervalMs) + 1) * intervalMs;
}

export class SchedulerStoppedError extends Error {
  override readonly name = 'SchedulerStoppedError';
}

interface Job<R> {
  collectors: Set<CollectorName>;
  /** When each scheduled collector was due (ms): lateness is measured from here. */
  slots: Map<CollectorName, number>;
  reason: PollReason;
  waiters: Array<{ resolve: (r: R) => void; reject: (e: Error) => void }>;
}

interface DeviceEntry<R> {
  intervals: Intervals;
  next: Map<CollectorName, number>;
  /** The earliest of `next` and the probe's time: a tick passes the device by before it without looking further. */
  wake: number;
  queue: Job<R>[];
  /** Collectors of the job running now. */
  running: ReadonlySet<CollectorName>;
  active: boolean;
  removed: boolean;
  probe?: { at: number; collectors: CollectorName[] };
}

/** Each device's queued polls, run one at a time per device and at most `maxConcurrent` devices at once. */
function createJobRunner<R>(options: SchedulerOptions<R>, now: () => number, isStopped: () => boolean) {
  const semaphore = createSemaphore(Math.max(1, options.maxConcurrent));
  const running = new Set<Promise<void>>();
  const counts = { slotsStarted: 0, slotsLate: 0, completed: 0 };

  const enqueue = (deviceId: string, d: DeviceEntry<R>, collectors: CollectorName[], reason: PollReason, slots = new Map<CollectorName, number>()): Job<R> => {
    // Scheduled work merges into a queued job that has not started, so a device waits for one slot, not several.
    const last = d.queue.at(-1);
    if (last && reason !== 'manual' && last.reason !== 'manual') {
      for (const c of collectors) last.collectors.add(c);
      for (const [c, at] of slots) last.slots.set(c, Math.min(at, last.slots.get(c) ?? at));
      return last;
    }
    const job: Job<R> = { collectors: new Set(collectors), slots, reason, waiters: [] };
    d.queue.push(job);
    pump(deviceId, d);
    return job;
  };

  const observeStart = (job: Job<R>): void => {
    const t = now();
    for (const [c, at] of job.slots) {
      const late = Math.max(0, t - at);
      counts.slotsStarted++;
      if (late > LATE_AFTER_MS) counts.slotsLate++;
      options.onSlotStarted?.(c, late);
    }
  };

  const pump = (deviceId: string, d: DeviceEntry<R>): void => {
    if (d.active || isStopped()) return;
    const job = d.queue.shift();
    if (!job) return;
    d.active = true;
    const p = (async () => {
      await semaphore.acquire();
      let held = true;
      const control: RunControl = {
        releaseSlot() {
          if (!held) return;
          held = false;
          semaphore.release();
        },
      };
      try {
        d.running = job.collectors;
        if (isStopped() && job.reason !== 'manual') {
          for (const w of job.waiters) w.reject(new SchedulerStoppedError('poller is stopping'));
          return;
        }
        observeStart(job);
        try {
          const result = await options.run(deviceId, [...job.collectors], job.reason, control);
          for (const w of job.waiters) w.resolve(result);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          options.log?.error({ deviceId, err: error.message }, 'device poll failed unexpectedly');
          for (const w of job.waiters) w.reject(error);
        }
      } finally {
        counts.completed++;
        control.releaseSlot();
        d.running = NOTHING_RUNNING;
        d.active = false;
      }
    })();
    running.add(p);
    void p.finally(() => {
      running.delete(p);
      pump(deviceId, d);
    });
  };

  return {
    enqueue,
    counts,
    semaphore,
    /** Waits for every poll started, including those started while waiting. */
    async drain(): Promise<void> {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

/**
 * A device's state between polls is kept, not replaced, where a poll would otherwise leave a new
 * object behind for one interval (long enough for V8 to promote it and leave it to a full
 * collection): no running collectors is this one set, and intervals equal to the ones in place
 * keep those (setDevice runs after every poll).
 */
const NOTHING_RUNNING: ReadonlySet<CollectorName> = new Set();

function sameIntervals(a: Intervals, b: Intervals): boolean {
  for (const c in a) if (a[c as CollectorName] !== b[c as CollectorName]) return false;
  for (const c in b) if (!(c in a)) return false;
  return true;
}

const busyWith = <R>(d: DeviceEntry<R>, c: CollectorName): boolean => d.running.has(c) || d.queue.some((j) => j.collectors.has(c));

/** Places each collector's next slot after a device's intervals were set (see Scheduler.setDevice). */
function placeSlots<R>(deviceId: string, d: DeviceEntry<R>, t: number, isNew: boolean, previous: Intervals, { soon = false, polledUntil }: { soon?: boolean; polledUntil?: number }): void {
  const intervals = d.intervals;
  for (const c of d.next.keys()) if (intervals[c] === undefined) d.next.delete(c);
  for (const [c, seconds] of Object.entries(intervals) as [CollectorName, number][]) {
    if (isNew && polledUntil !== undefined) {
      const ms = seconds * 1000;
      const upcoming = nextSlot(t, ms, phaseMs(deviceId, ms));
      d.next.set(c, upcoming - ms > polledUntil ? t : upcoming);
    } else if (isNew || soon || !d.next.has(c)) d.next.set(c, t);
    else if (previous[c] !== seconds) d.next.set(c, nextSlot(t, seconds * 1000, phaseMs(deviceId, seconds * 1000)));
  }
  updateWake(d);
}

const updateWake = <R>(d: DeviceEntry<R>): void => {
  let wake = d.probe?.at ?? Number.POSITIVE_INFINITY;
  for (const at of d.next.values()) if (at < wake) wake = at;
  d.wake = wake;
};

/**
 * The device's collectors due at `t` with their slots (undefined: none), each moved to its
 * next slot; due ones still busy are skipped and counted in `skipped.overlaps`. Allocates
 * nothing for a device with nothing due: a tick visits every device five times a second.
 */
function takeDue<R>(deviceId: string, d: DeviceEntry<R>, t: number, skipped: { overlaps: number }): Map<CollectorName, number> | undefined {
  if (d.wake > t) return undefined;
  let due: Map<CollectorName, number> | undefined;
  for (const [c, at] of d.next) {
    if (at > t) continue;
    const ms = (d.intervals[c] ?? 0) * 1000;
    d.next.set(c, ms > 0 ? nextSlot(t, ms, phaseMs(deviceId, ms)) : Number.POSITIVE_INFINITY);
    if (busyWith(d, c)) skipped.overlaps++;
    else (due ??= new Map()).set(c, at);
  }
  if (d.probe && d.probe.at <= t) {
    for (const c of d.probe.collectors) if (!due?.has(c) && !busyWith(d, c)) (due ??= new Map()).set(c, d.probe.at);
    d.probe = undefined;
  }
  updateWake(d);
  return due;
}

export function createScheduler<R>(options: SchedulerOptions<R>): Scheduler<R> {
  const now = options.now ?? Date.now;
  const devices = new Map<string, DeviceEntry<R>>();
  const skipped = { overlaps: 0 };
  let stopped = false;
  let task: NodeJS.Timeout | undefined;
  const jobs = createJobRunner(options, now, () => stopped);
  const newEntry = (intervals: Intervals, removed: boolean): DeviceEntry<R> => ({ intervals, next: new Map(), wake: Number.POSITIVE_INFINITY, queue: [], running: NOTHING_RUNNING, active: false, removed });

  const scheduler: Scheduler<R> = {
    setDevice(deviceId, intervals, when = {}) {
      const t = now();
      let d = devices.get(deviceId);
      const isNew = !d;
      if (!d) {
        d = newEntry(intervals, false);
        devices.set(deviceId, d);
      }
      const previous = d.intervals;
      if (!sameIntervals(previous, intervals)) d.intervals = intervals;
      d.removed = false;
      placeSlots(deviceId, d, t, isNew, previous, when);
    },

    removeDevice(deviceId) {
      const d = devices.get(deviceId);
      if (!d) return;
      d.removed = true;
      // Queued scheduled work is dropped; a manual poll someone awaits still runs.
      d.queue = d.queue.filter((j) => j.waiters.length > 0);
      devices.delete(deviceId);
    },

    hasDevice: (deviceId) => devices.has(deviceId),

    probe(deviceId, atMs, collectors) {
      const d = devices.get(deviceId);
      if (!d) return;
      d.probe = { at: atMs, collectors };
      updateWake(d);
    },

    tick() {
      if (stopped) return;
      const t = now();
      for (const [deviceId, d] of devices) {
        const due = takeDue(deviceId, d, t, skipped);
        if (due) jobs.enqueue(deviceId, d, [...due.keys()], 'scheduled', due);
      }
    },

    runNow(deviceId, collectors) {
      if (stopped) return Promise.reject(new SchedulerStoppedError('poller is stopped'));
      // Not scheduled (disabled, paused): a one-off entry that is not kept in the schedule.
      const entry = devices.get(deviceId) ?? newEntry({}, true);
      return new Promise<R>((resolve, reject) => {
        const job = jobs.enqueue(deviceId, entry, collectors, 'manual');
        job.waiters.push({ resolve, reject });
      });
    },

    nextDue: (deviceId, collector) => devices.get(deviceId)?.next.get(collector),

    stats: () => ({
      devices: devices.size,
      inFlight: jobs.semaphore.inUse,
      waiting: jobs.semaphore.waiting,
      skippedOverlaps: skipped.overlaps,
      slotsStarted: jobs.counts.slotsStarted,
      slotsLate: jobs.counts.slotsLate,
      completed: jobs.counts.completed,
    }),

    start() {
      stopped = false;
      if (task) return;
      task = setInterval(() => scheduler.tick(), TICK_MS);
    },

    async stop() {
      stopped = true;
      clearInterval(task);
      task = undefined;
      for (const d of devices.values()) {
        for (const job of d.queue.splice(0)) for (const w of job.waiters) w.reject(new SchedulerStoppedError('poller is stopping'));
      }
      await jobs.drain();
    },
  };
  return scheduler;
}

import { afterEach, describe, expect, it } from 'vitest';
import type { CollectorName } from '../../../src/collectors/types.ts';
import { createScheduler, nextSlot, phaseMs, TICK_MS, type PollReason, type Scheduler } from '../../../src/poller/scheduler.ts';

interface Call {
  deviceId: string;
  collectors: CollectorName[];
  reason: PollReason;
  at: number;
}

/** A controllable run(): each call waits until the test releases it. */
function harness(maxConcurrent = 10, start = 1_000_000_000_000) {
  let clock = start;
  const calls: Call[] = [];
  const gates: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let block = false;
  const scheduler = createScheduler<string>({
    maxConcurrent,
    now: () => clock,
    run: async (deviceId, collectors, reason) => {
      calls.push({ deviceId, collectors: [...collectors].sort(), reason, at: clock });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (block) await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return `${deviceId}:${collectors.join(',')}`;
    },
  });
  return {
    scheduler,
    calls,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    setBlocking(b: boolean) {
      block = b;
    },
    releaseAll() {
      for (const g of gates.splice(0)) g();
    },
    advance(ms: number) {
      clock += ms;
    },
    get now() {
      return clock;
    },
  };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

let active: Scheduler<string> | undefined;
afterEach(async () => {
  await active?.stop();
  active = undefined;
});

describe('phase and slots', () => {
  it('phase is stable, inside the interval, and differs between devices', () => {
    const a = phaseMs('device-a', 300_000);
    expect(phaseMs('device-a', 300_000)).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(300_000);
    const phases = new Set(Array.from({ length: 100 }, (_, i) => phaseMs(`dev-${i}`, 300_000)));
    expect(phases.size).toBeGreaterThan(90);
  });

  it('a fleet spreads over the interval: no 10% of it holds more than 20% of the devices', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      const p = phaseMs(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 60_000);
      buckets[Math.floor(p / 6000)]!++;
    }
    expect(Math.max(...buckets)).toBeLessThan(200);
    expect(Math.min(...buckets)).toBeGreaterThan(50);
  });

  it('nextSlot is strictly after now and on the phase grid', () => {
    expect(nextSlot(10_000, 1000, 250)).toBe(10_250);
    expect(nextSlot(10_250, 1000, 250)).toBe(11_250);
    expect(nextSlot(10_249, 1000, 250)).toBe(10_250);
  });
});

describe('scheduler', () => {
  it('polls a new device at the first tick, then at its phase every interval', async () => {
    const h = harness();
    active = h.scheduler;
    h.scheduler.setDevice('d1', { system: 10 });
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]).toMatchObject({ deviceId: 'd1', collectors: ['system'], reason: 'scheduled' });
    const due = h.scheduler.nextDue('d1', 'system')!;
    expect(due).toBe(nextSlot(h.now, 10_000, phaseMs('d1', 10_000)));
    expect(due - h.now).toBeGreaterThan(0);
    expect(due - h.now).toBeLessThanOrEqual(10_000);

    // Ticks before the slot do nothing; the slot's tick polls again.
    h.advance(due - h.now - 1);
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(1);
    h.advance(1);
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(2);
    expect(h.scheduler.nextDue('d1', 'system')).toBe(due + 10_000);
  });

  it('uses each collector’s own interval; due collectors of a device share one poll', async () => {
    const h = harness();
    active = h.scheduler;
    h.scheduler.setDevice('d1', { system: 10, containers: 30, drives: 3600 });
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]!.collectors).toEqual(['containers', 'drives', 'system']);
    // Over one hour: 360 system slots, 120 container slots, 1 drives slot.
    const counts: Record<string, number> = { system: 0, containers: 0, drives: 0 };
    for (let s = 0; s < 3600; s++) {
      h.advance(1000);
      h.scheduler.tick();
      await settle();
    }
    for (const c of h.calls.slice(1)) for (const n of c.collectors) counts[n]!++;
    expect(counts).toEqual({ system: 360, containers: 120, drives: 1 });
    // One phase per device: intervals that divide each other coincide, so each containers slot is also a system slot
    // and the drives slot comes with both: 360 visits, not 481, each one exec (transport/batch.ts).
    expect(h.calls.slice(1)).toHaveLength(360);
    expect(h.calls.slice(1).filter((c) => c.collectors.includes('containers')).every((c) => c.collectors.includes('system'))).toBe(true);
    expect(h.calls.slice(1).find((c) => c.collectors.includes('drives'))?.collectors).toEqual(['containers', 'drives', 'system']);
  });

  it('collectors at the same interval come due together, every time, on every device', async () => {
    const h = harness();
    active = h.scheduler;
    for (let d = 0; d < 20; d++) h.scheduler.setDevice(`dev-${d}`, { system: 10, containers: 10, drives: 10 });
    for (let s = 0; s < 100; s++) {
      h.advance(TICK_MS);
      h.scheduler.tick();
      await settle();
    }
    expect(h.calls.length).toBeGreaterThanOrEqual(20);
    for (const c of h.calls) expect(c.collectors).toEqual(['containers', 'drives', 'system']);
    for (let d = 0; d < 20; d++) expect(h.scheduler.nextDue(`dev-${d}`, 'system')).toBe(h.scheduler.nextDue(`dev-${d}`, 'drives'));
  });

  it('a device+collector never overlaps itself: slots that come while it runs are skipped, not queued', async () => {
    const h = harness();
    active = h.scheduler;
    h.setBlocking(true);
    h.scheduler.setDevice('d1', { system: 10 });
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      h.advance(10_000);
      h.scheduler.tick();
      await settle();
    }
    expect(h.calls).toHaveLength(1);
    expect(h.scheduler.stats().skippedOverlaps).toBe(5);
    h.setBlocking(false);
    h.releaseAll();
    await settle();
    // Nothing was queued behind the slow poll.
    expect(h.calls).toHaveLength(1);
    h.advance(10_000);
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(2);
  });

  it('a missed tick (stalled clock) runs once, not once per missed slot', async () => {
    const h = harness();
    active = h.scheduler;
    h.scheduler.setDevice('d1', { system: 10 });
    h.scheduler.tick();
    await settle();
    h.advance(95_000); // nine and a half intervals without a tick
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(2);
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(2);
    expect(h.scheduler.nextDue('d1', 'system')!).toBeGreaterThan(h.now);
  });

  it('never runs more than maxConcurrent devices at once (12 blocked devices, cap 3)', async () => {
    const h = harness(3);
    active = h.scheduler;
    h.setBlocking(true);
    for (let i = 0; i < 12; i++) h.scheduler.setDevice(`d${i}`, { system: 10 });
    h.scheduler.tick();
    await settle();
    expect(h.inFlight).toBe(3);
    expect(h.scheduler.stats()).toMatchObject({ inFlight: 3, waiting: 9 });
    // Release one at a time: each release lets exactly one waiting device in.
    while (h.calls.length < 12) {
      h.releaseAll();
      await settle();
      await settle();
      expect(h.inFlight).toBeLessThanOrEqual(3);
    }
    h.setBlocking(false);
    h.releaseAll();
    await settle();
    expect(h.maxInFlight).toBe(3);
    expect(new Set(h.calls.map((c) => c.deviceId)).size).toBe(12);
  });

  it('runNow waits behind the same device’s running poll and resolves with its result', async () => {
    const h = harness();
    active = h.scheduler;
    h.setBlocking(true);
    h.scheduler.setDevice('d1', { system: 10 });
    h.scheduler.tick();
    await settle();
    const manual = h.scheduler.runNow('d1', ['drives']);
    await settle();
    expect(h.calls).toHaveLength(1); // still behind the first
    h.setBlocking(false);
    h.releaseAll();
    await expect(manual).resolves.toBe('d1:drives');
    expect(h.calls[1]).toMatchObject({ collectors: ['drives'], reason: 'manual' });
  });

  it('removed devices are no longer polled; probes poll between slots', async () => {
    const h = harness();
    active = h.scheduler;
    h.scheduler.setDevice('d1', { system: 300 });
    h.scheduler.setDevice('d2', { system: 300 });
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(2);
    h.scheduler.removeDevice('d2');
    h.scheduler.probe('d1', h.now + 5000, ['system']);
    h.advance(5000);
    h.scheduler.tick();
    await settle();
    expect(h.calls.map((c) => c.deviceId)).toEqual(['d1', 'd2', 'd1']);
    h.advance(300_000);
    h.scheduler.tick();
    await settle();
    expect(h.calls.filter((c) => c.deviceId === 'd2')).toHaveLength(1);
  });

  it('setDevice with soon polls at the next tick; stop() waits for running polls', async () => {
    const h = harness();
    active = h.scheduler;
    h.scheduler.setDevice('d1', { system: 300 });
    h.scheduler.tick();
    await settle();
    h.scheduler.setDevice('d1', { system: 300 }, { soon: true });
    h.setBlocking(true);
    h.scheduler.tick();
    await settle();
    expect(h.calls).toHaveLength(2);
    let stopped = false;
    const stopping = h.scheduler.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    h.releaseAll();
    await stopping;
    expect(stopped).toBe(true);
    await expect(h.scheduler.runNow('d1', ['system'])).rejects.toThrow(/stopped/);
  });
});

describe('keeping the schedule', () => {
  /** A scheduler on a fake clock whose run() blocks the devices in `slow` until released. */
  function timed(maxConcurrent: number, slow: Set<string>, { releaseEarly = false } = {}) {
    let clock = 1_000_000_000_000;
    const starts: Array<{ deviceId: string; at: number }> = [];
    const late: Array<{ collector: CollectorName; ms: number }> = [];
    const gates: Array<() => void> = [];
    const scheduler = createScheduler<string>({
      maxConcurrent,
      now: () => clock,
      onSlotStarted: (collector, ms) => late.push({ collector, ms }),
      run: async (deviceId, _collectors, _reason, control) => {
        starts.push({ deviceId, at: clock });
        if (releaseEarly) control.releaseSlot();
        if (slow.has(deviceId)) await new Promise<void>((r) => gates.push(r));
        return deviceId;
      },
    });
    return {
      scheduler,
      starts,
      late,
      release: () => gates.splice(0).forEach((g) => g()),
      advance: (ms: number) => void (clock += ms),
    };
  }

  it('a slot that waits for a concurrency slot starts late and says how late; none is lost silently', async () => {
    const t = timed(1, new Set(['d1']));
    active = t.scheduler;
    t.scheduler.setDevice('d1', { system: 10 });
    t.scheduler.setDevice('d2', { system: 10 });
    t.scheduler.tick();
    await settle();
    expect(t.starts.map((s) => s.deviceId)).toEqual(['d1']);
    expect(t.scheduler.stats()).toMatchObject({ inFlight: 1, waiting: 1 });
    t.advance(3000);
    t.scheduler.tick();
    t.release();
    await settle();
    await settle();
    // d2 ran behind d1, three seconds after its slot, and the lateness was reported.
    expect(t.starts.map((s) => s.deviceId)).toEqual(['d1', 'd2']);
    expect(t.late).toEqual([
      { collector: 'system', ms: 0 },
      { collector: 'system', ms: 3000 },
    ]);
    expect(t.scheduler.stats()).toMatchObject({ slotsStarted: 2, slotsLate: 1, skippedOverlaps: 0 });
  });

  it('a device that never answers takes one slot: the others keep their slots (cap 2), its own slots are counted as skipped', async () => {
    const t = timed(2, new Set(['stuck']));
    active = t.scheduler;
    for (const id of ['stuck', 'a', 'b', 'c', 'd']) t.scheduler.setDevice(id, { system: 10 });
    try {
      for (let ms = 0; ms <= 100_000; ms += TICK_MS) {
        t.scheduler.tick();
        await settle();
        t.advance(TICK_MS);
      }
      // First poll at the first tick, then one per 10 s slot.
      for (const id of ['a', 'b', 'c', 'd']) expect(t.starts.filter((s) => s.deviceId === id).length, id).toBeGreaterThanOrEqual(10);
      // No slot of theirs started later than the tick it fell in.
      expect(t.late.filter((l) => l.ms >= TICK_MS)).toEqual([]);
      const stats = t.scheduler.stats();
      expect(t.starts.filter((s) => s.deviceId === 'stuck')).toHaveLength(1);
      expect(stats.skippedOverlaps).toBeGreaterThanOrEqual(9);
      // Every scheduled slot is either started (its lateness reported) or counted as skipped.
      expect(stats.slotsStarted).toBe(t.late.length);
      expect(stats.slotsStarted).toBe(t.starts.length);
    } finally {
      t.release();
    }
  });

  it('releaseSlot lets the next device in while the poll finishes; the device itself still never overlaps', async () => {
    const t = timed(1, new Set(['d1']), { releaseEarly: true });
    active = t.scheduler;
    t.scheduler.setDevice('d1', { system: 10 });
    t.scheduler.setDevice('d2', { system: 10 });
    t.scheduler.tick();
    await settle();
    await settle();
    // d1 is still storing (blocked after releasing its slot); d2 was collected meanwhile.
    expect(t.starts.map((s) => s.deviceId)).toEqual(['d1', 'd2']);
    for (let i = 0; i < 3; i++) {
      t.advance(10_000);
      t.scheduler.tick();
      await settle();
    }
    t.release();
    expect(t.starts.filter((s) => s.deviceId === 'd1')).toHaveLength(1);
    expect(t.scheduler.stats().skippedOverlaps).toBe(3);
  });
});

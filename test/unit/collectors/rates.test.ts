import { describe, expect, it } from 'vitest';
import { openRateWindow, type CounterState } from '../../../src/collectors/rates.ts';

const T0 = Date.UTC(2025, 0, 1);

function first(values: Record<string, number>, uptime: number | null = 1000): CounterState {
  const w = openRateWindow(undefined, T0, uptime);
  for (const [k, v] of Object.entries(values)) expect(w.rate(k, v)).toBeNull();
  return w.state();
}

describe('openRateWindow', () => {
  it('gives no rate on the first poll but remembers the values', () => {
    const w = openRateWindow(undefined, T0, 1000);
    expect(w.elapsedSeconds).toBeNull();
    expect(w.rate('eth0.rx', 100)).toBeNull();
    expect(w.state().entities.get('eth0.rx')?.values).toEqual([100]);
  });

  it('divides the increase by the uptime difference', () => {
    const prev = first({ a: 1000 });
    const w = openRateWindow(prev, T0 + 30_000, 1010);
    expect(w.elapsedSeconds).toBe(10); // uptime, not the 30 s between poll timestamps
    expect(w.rate('a', 3000)).toBe(200);
    expect(w.delta('b', 5)).toBeNull();
  });

  it('falls back to poll timestamps when uptime is unknown', () => {
    const prev = first({ a: 0 }, null);
    const w = openRateWindow(prev, T0 + 4000, null);
    expect(w.rate('a', 400)).toBe(100);
  });

  it('gives no rate (never negative) when one counter went down, others unaffected', () => {
    const prev = first({ a: 5000, b: 10 });
    const w = openRateWindow(prev, T0 + 10_000, 1010);
    expect(w.rate('a', 20)).toBeNull();
    expect(w.rate('b', 20)).toBe(1);
    // the lower value is the new baseline
    const next = openRateWindow(w.state(), T0 + 20_000, 1020);
    expect(next.rate('a', 120)).toBe(10);
  });

  it('skips every rate after a reboot (uptime went down)', () => {
    const prev = first({ a: 10, b: 10 }, 5000);
    const w = openRateWindow(prev, T0 + 60_000, 30);
    expect(w.elapsedSeconds).toBeNull();
    // even a counter that happens to be higher after the reboot gives no rate
    expect(w.rate('a', 1_000_000)).toBeNull();
    expect(w.delta('b', 11)).toBeNull();
    const next = openRateWindow(w.state(), T0 + 70_000, 40);
    expect(next.rate('a', 1_000_100)).toBe(10);
  });

  it('gives no rate for a key seen for the first time (new interface)', () => {
    const prev = first({ eth0: 10 });
    const w = openRateWindow(prev, T0 + 10_000, 1010);
    expect(w.rate('veth123', 99_999)).toBeNull();
    expect(w.rate('eth0', 20)).toBe(1);
  });

  it('forgets keys that disappeared', () => {
    const prev = first({ gone: 10 });
    const w = openRateWindow(prev, T0 + 10_000, 1010);
    expect(w.state().entities.has('gone')).toBe(false);
  });

  it('gives no rate when elapsed time is zero or negative', () => {
    const prev = first({ a: 10 });
    expect(openRateWindow(prev, T0 + 10_000, 1000).rate('a', 20)).toBeNull();
    expect(openRateWindow(first({ a: 10 }, null), T0 - 1000, null).rate('a', 20)).toBeNull();
    expect(openRateWindow(first({ a: 10 }, null), T0, null).rate('a', 20)).toBeNull();
  });

  it('keeps one state per device, updated in place (no copy per poll for V8 to promote)', () => {
    const w0 = openRateWindow(undefined, T0, 1000);
    w0.rates('eth0', [100, 10]);
    const state = w0.state();
    const counters = state.entities.get('eth0')!.values;
    for (let i = 1; i <= 3; i++) {
      const w = openRateWindow(state, T0 + i * 10_000, 1000 + i * 10);
      expect(w.rates('eth0', [100 + i * 100, 10])).toEqual([10, 0]);
      expect(w.state()).toBe(state);
    }
    expect(state.entities.get('eth0')!.values).toBe(counters);
    expect(counters).toEqual([400, 10]);
    expect(state).toMatchObject({ timeMs: T0 + 30_000, uptimeSeconds: 1030 });
  });

  it('takes an entity as a baseline only from the window just before (a poll that stopped half-way)', () => {
    const w0 = openRateWindow(undefined, T0, 1000);
    w0.rate('a', 10);
    w0.rate('b', 10);
    // This poll records b, then fails before a and before state(): a's values are two windows old.
    const state = w0.state();
    const w1 = openRateWindow(state, T0 + 10_000, 1010);
    expect(w1.rate('b', 20)).toBe(1);
    const w2 = openRateWindow(state, T0 + 20_000, 1020);
    expect(w2.rate('a', 30)).toBeNull();
    expect(w2.rate('b', 30)).toBe(1);
  });

  it('ignores non-finite and negative readings', () => {
    const prev = first({ a: 10 });
    const w = openRateWindow(prev, T0 + 10_000, 1010);
    expect(w.rate('a', Number.NaN)).toBeNull();
    expect(w.rate('a', -5)).toBeNull();
    // the unusable reading becomes the baseline, and gives no rate next time either
    expect(openRateWindow(w.state(), T0 + 20_000, 1020).rate('a', 30)).toBeNull();
  });

  it('tracks several counters of one entity independently', () => {
    const w0 = openRateWindow(undefined, T0, 1000);
    expect(w0.rates('eth0', [100, 10, 5])).toBeNull();
    const w1 = openRateWindow(w0.state(), T0 + 10_000, 1010);
    expect(w1.rates('eth0', [200, 5, 25])).toEqual([10, null, 2]);
    expect(w1.deltas('new', [1, 2])).toBeNull();
  });
});

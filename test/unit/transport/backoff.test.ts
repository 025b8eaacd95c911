import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../../src/transport/backoff.ts';

describe('backoffDelay', () => {
  const noJitter = { baseMs: 100, maxMs: 10_000, factor: 2, jitter: 0 };

  it('grows exponentially from the base', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, noJitter))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('never exceeds the cap, even for absurd attempt counts', () => {
    expect(backoffDelay(8, noJitter)).toBe(10_000);
    expect(backoffDelay(10_000, noJitter)).toBe(10_000);
    expect(backoffDelay(10_000, { ...noJitter, jitter: 1 }, () => 1)).toBe(10_000);
  });

  it('keeps jittered delays within [ceiling × (1 − jitter), ceiling]', () => {
    const opts = { baseMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(3, opts, () => 0)).toBe(2_000);
    expect(backoffDelay(3, opts, () => 1)).toBe(4_000);
    for (let i = 0; i < 1_000; i++) {
      const d = backoffDelay(3, opts);
      expect(d).toBeGreaterThanOrEqual(2_000);
      expect(d).toBeLessThanOrEqual(4_000);
    }
  });

  it('actually spreads delays out (no lockstep reconnects)', () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(5)));
    expect(seen.size).toBeGreaterThan(10);
  });

  it('is 0 before any failure and uses sane defaults', () => {
    expect(backoffDelay(0)).toBe(0);
    expect(backoffDelay(1, {}, () => 1)).toBe(DEFAULT_BACKOFF.baseMs);
    expect(backoffDelay(100, {}, () => 1)).toBe(DEFAULT_BACKOFF.maxMs);
  });
});

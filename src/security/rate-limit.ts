/**
 * Token buckets keyed by a string (a token id, a source address): `perMinute` units refill
 * evenly over a minute and at most `perMinute` can be saved up. In memory and per instance:
 * the point is to blunt bursts and guessing, not to meter exactly across a cluster.
 */
export interface RateLimiter {
  /** Takes `n` units when that many are there; otherwise takes nothing. */
  take(key: string, n?: number): { ok: true } | { ok: false; retryAfterSeconds: number };
  /** Whether at least one unit is there, without taking it. */
  allows(key: string): boolean;
  /** Seconds until one unit is there (0 when one is). */
  retryAfterSeconds(key: string): number;
}

const MAX_KEYS = 50_000;

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { units: number; at: number }>();

  const level = (key: string): { units: number; at: number } => {
    const t = now();
    const b = buckets.get(key);
    if (!b) return { units: perMinute, at: t };
    return { units: Math.min(perMinute, b.units + (t - b.at) * perMs), at: t };
  };
  const wait = (units: number, n: number) => Math.max(1, Math.ceil((n - units) / perMs / 1000));

  return {
    take(key, n = 1) {
      if (perMinute <= 0) return { ok: true };
      const b = level(key);
      if (b.units < n) {
        buckets.set(key, b);
        return { ok: false, retryAfterSeconds: wait(b.units, n) };
      }
      b.units -= n;
      // A flood of distinct keys (spoofed nothing, just many clients) must not grow memory
      // without bound: full buckets carry no information, so they go first.
      if (buckets.size >= MAX_KEYS && !buckets.has(key)) {
        for (const [k, v] of buckets) if (level(k).units >= perMinute || v.at < now() - 60_000) buckets.delete(k);
        if (buckets.size >= MAX_KEYS) buckets.clear();
      }
      buckets.set(key, b);
      return { ok: true };
    },
    allows(key) {
      return perMinute <= 0 || level(key).units >= 1;
    },
    retryAfterSeconds(key) {
      if (perMinute <= 0) return 0;
      const units = level(key).units;
      return units >= 1 ? 0 : wait(units, 1);
    },
  };
}

// Seeded randomness and smooth functions of time for the simulator. Every simulated value is a
// pure function of (fleet seed, host index, wall-clock time): nothing evolves in the background,
// so a host costs no CPU until it is asked something, and the same seed answers the same way.

/** 32-bit avalanche mix (murmur3 finaliser): nearby inputs give unrelated outputs. */
export function mix32(a: number, b = 0): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A small, fast PRNG (mulberry32) with helpers; deterministic for a given seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** [0, 1) */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  range(min: number, max: number): number {
    return min + this.next() * (max - min);
  }
  /** Log-uniform in [min, max]: rates and sizes spread over orders of magnitude. */
  logRange(min: number, max: number): number {
    return Math.exp(this.range(Math.log(min), Math.log(max)));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** Picks by weight: [[value, weight], …]. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [v, w] of items) {
      r -= w;
      if (r < 0) return v;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty list');
    return last[0];
  }
  hex(chars: number): string {
    let out = '';
    while (out.length < chars) out += ((this.next() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
    return out.slice(0, chars);
  }
  seed(): number {
    return (this.next() * 0x100000000) >>> 0;
  }
}

/**
 * A positive rate that wanders: mean + a1·sin(w1·t + p1) + a2·sin(w2·t + p2), with |a1| + |a2|
 * < mean so it never reaches zero. `integral(t)` is its exact integral from 0 to t, so a
 * counter built on it increases at every instant, whatever two times a poller compares.
 */
export class Wave {
  constructor(
    readonly mean: number,
    readonly a1: number,
    readonly w1: number,
    readonly p1: number,
    readonly a2: number,
    readonly w2: number,
    readonly p2: number,
  ) {}

  /**
   * `swing` (0..0.95) is the share of the mean the rate moves by; the slow term's period is
   * `slowSeconds`, the fast one's `fastSeconds` (so two polls seconds apart still differ).
   */
  static random(rng: Rng, mean: number, swing: number, slowSeconds: number, fastSeconds: number): Wave {
    const slow = swing * rng.range(0.5, 0.8);
    const fast = swing - slow;
    return new Wave(
      mean,
      mean * slow,
      (2 * Math.PI) / (slowSeconds * rng.range(0.7, 1.3)),
      rng.range(0, 2 * Math.PI),
      mean * fast,
      (2 * Math.PI) / (fastSeconds * rng.range(0.7, 1.3)),
      rng.range(0, 2 * Math.PI),
    );
  }

  at(t: number): number {
    return this.mean + this.a1 * Math.sin(this.w1 * t + this.p1) + this.a2 * Math.sin(this.w2 * t + this.p2);
  }

  integral(t: number): number {
    return (
      this.mean * t +
      (this.a1 * (Math.cos(this.p1) - Math.cos(this.w1 * t + this.p1))) / this.w1 +
      (this.a2 * (Math.cos(this.p2) - Math.cos(this.w2 * t + this.p2))) / this.w2
    );
  }
}

/**
 * Every figure of the benchmark is a Stat: the median of several runs with the smallest and
 * largest, so one run disturbed by other work on the machine shows as a spread, not a claim.
 */
export interface Stat {
  median: number;
  min: number;
  max: number;
  /** How many runs the figure summarises. */
  runs: number;
}

export function stat(values: readonly number[]): Stat {
  if (values.length === 0) throw new Error('no runs to summarise');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!), runs: sorted.length };
}

/** The q-quantile (0..1) of samples, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Three significant decimals at most: the JSON stays readable and no precision is claimed that runs do not have. */
export function round(n: number): number {
  if (!Number.isFinite(n)) return n;
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
  return Number(n.toFixed(digits));
}

/** Summarises each key over runs: [{a:1},{a:3}] → { a: Stat }. */
export function statsOf<K extends string>(runs: readonly Record<K, number>[]): Record<K, Stat> {
  const first = runs[0];
  if (!first) throw new Error('no runs to summarise');
  const out = {} as Record<K, Stat>;
  for (const k of Object.keys(first) as K[]) out[k] = stat(runs.map((r) => r[k]));
  return out;
}

export const fmt = (s: Stat | undefined, unit = ''): string =>
  s === undefined ? '—' : `${s.median}${unit} (${s.min}–${s.max})`;

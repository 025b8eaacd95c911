/**
 * Counter → rate tracker. Cumulative kernel counters (jiffies, bytes, sectors) only mean
 * something as differences between two polls, and those differences lie after a reboot, a
 * 32-bit wrap or a re-created interface. Every such case yields `null` ("no rate this
 * poll"), never a negative or absurd number; the next poll measures from the new baseline.
 *
 * Counters are grouped per entity ("cpu3", "net:eth0", "disk:sda" → an array of counters):
 * a big host then costs ~200 map operations per poll instead of ~1,500 string-keyed ones.
 */
export interface CounterState {
  /** Wall-clock time of the sample, ms since the epoch. */
  timeMs: number;
  /** Host uptime at the sample; a decrease means the host rebooted. */
  uptimeSeconds: number | null;
  /** Counts the windows opened on this state: an entity's values are a baseline only if the one before recorded them. */
  window: number;
  entities: Map<string, Counters>;
}

/** One entity's counters as last recorded, and the window that recorded them. */
export interface Counters {
  window: number;
  values: number[];
}

export interface RateWindow {
  /** Seconds between the two samples; null when no rate can be computed at all this poll. */
  readonly elapsedSeconds: number | null;
  /**
   * Records the entity's counters; returns each one's increase since the previous poll, null
   * per counter that went down (or is not a finite, non-negative number), or null for all
   * when there is no baseline (first poll, reboot, new entity, no elapsed time).
   */
  deltas(key: string, values: readonly number[]): (number | null)[] | null;
  /** Like deltas, divided by the elapsed seconds. */
  rates(key: string, values: readonly number[]): (number | null)[] | null;
  /** One counter: its increase, or null. */
  delta(key: string, value: number): number | null;
  /** One counter: its increase per second, or null. */
  rate(key: string, value: number): number | null;
  /** The state to hand to the next poll (the values recorded through this window). */
  state(): CounterState;
}

const usable = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && v >= 0;

/**
 * Opens a window between the previous poll's state and this one. Elapsed time comes from the
 * host's uptime when both samples have it: the counters and uptime are read in the same exec,
 * so transport latency does not skew rates. Otherwise the poll timestamps are used.
 *
 * The window updates `previous` in place and `state()` hands the same object back: a device's
 * counters live as long as the device. Copied every poll, each copy lived exactly one interval,
 * long enough for V8 to promote it to the old generation and leave it to a full collection:
 * 1,000 devices promoted a third less with the state kept in place (docs/benchmarks.md, "State
 * that lives one interval"). So a state serves one window at a time, in poll order.
 */
export function openRateWindow(
  previous: CounterState | undefined,
  timeMs: number,
  uptimeSeconds: number | null,
): RateWindow {
  let elapsed: number | null = null;
  if (previous !== undefined) {
    const rebooted =
      uptimeSeconds !== null &&
      previous.uptimeSeconds !== null &&
      uptimeSeconds < previous.uptimeSeconds;
    if (!rebooted) {
      const seconds =
        uptimeSeconds !== null && previous.uptimeSeconds !== null
          ? uptimeSeconds - previous.uptimeSeconds
          : (timeMs - previous.timeMs) / 1000;
      if (Number.isFinite(seconds) && seconds > 0) elapsed = seconds;
    }
  }
  const state: CounterState = previous ?? { timeMs, uptimeSeconds, window: 0, entities: new Map() };
  const baseline = state.window;
  const window = ++state.window;
  state.timeMs = timeMs;
  state.uptimeSeconds = uptimeSeconds;
  const entities = state.entities;

  const deltas = (key: string, current: readonly number[]): (number | null)[] | null => {
    const old = entities.get(key);
    if (old === undefined) {
      entities.set(key, { window, values: current.slice() });
      return null;
    }
    const isBaseline = elapsed !== null && old.window === baseline && old.values.length === current.length;
    old.window = window;
    if (!isBaseline) {
      old.values = current.slice();
      return null;
    }
    const before = old.values;
    const out = new Array<number | null>(current.length);
    for (let i = 0; i < current.length; i++) {
      const v = current[i]!;
      const o = before[i]!;
      // A lower value is a reset (reboot, wrap, re-created device): no honest delta exists.
      out[i] = usable(v) && usable(o) && v >= o ? v - o : null;
      before[i] = v;
    }
    return out;
  };
  const rates = (key: string, current: readonly number[]): (number | null)[] | null => {
    const d = deltas(key, current);
    if (d === null || elapsed === null) return null;
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      if (x !== null && x !== undefined) d[i] = x / elapsed;
    }
    return d;
  };
  return {
    elapsedSeconds: elapsed,
    deltas,
    rates,
    delta: (key, value) => deltas(key, [value])?.[0] ?? null,
    rate: (key, value) => rates(key, [value])?.[0] ?? null,
    state: () => {
      // Entities this window did not record are gone (an interface removed, a CPU offlined).
      for (const [key, c] of entities) if (c.window !== window) entities.delete(key);
      return state;
    },
  };
}

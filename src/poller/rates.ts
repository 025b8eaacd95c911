/**
 * Counter → rate tracker. Cumulative kernel counters (jiffies, bytes, sectors) only mean
 * something as differences between two polls, and those differences lie after a reboot, a
 * 32-bit wrap or a re-created interface. Every such case yields `null` ("no rate this
 * poll"), never a negative or absurd number; the next poll measures from the new baseline.
 *
 * The state is plain JSON so the poller may keep it in memory or persist it.
 */
export interface CounterState {
  /** Wall-clock time of the sample, ms since the epoch. */
  timeMs: number;
  /** Host uptime at the sample; a decrease means the host rebooted. */
  uptimeSeconds: number | null;
  values: Record<string, number>;
}

export interface RateWindow {
  /** Seconds between the two samples; null when no rate can be computed at all this poll. */
  readonly elapsedSeconds: number | null;
  /** Records `value` under `key`; returns its increase since the previous poll, or null. */
  delta(key: string, value: number): number | null;
  /** Records `value` under `key`; returns its increase per second, or null. */
  rate(key: string, value: number): number | null;
  /** The state to hand to the next poll (the values recorded through this window). */
  state(): CounterState;
}

/**
 * Opens a window between the previous poll's state and this one. Elapsed time comes from the
 * host's uptime when both samples have it: the counters and uptime are read in the same exec,
 * so transport latency does not skew rates. Otherwise the poll timestamps are used.
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
  const before = elapsed === null ? undefined : previous?.values;
  const values: Record<string, number> = Object.create(null) as Record<string, number>;

  const delta = (key: string, value: number): number | null => {
    if (!Number.isFinite(value) || value < 0) return null;
    values[key] = value;
    if (before === undefined) return null;
    const old = before[key];
    // A lower value is a reset (reboot, wrap, re-created device): no honest delta exists.
    if (old === undefined || value < old) return null;
    return value - old;
  };

  return {
    elapsedSeconds: elapsed,
    delta,
    rate(key, value) {
      const d = delta(key, value);
      return d === null || elapsed === null ? null : d / elapsed;
    },
    state: () => ({ timeMs, uptimeSeconds, values }),
  };
}

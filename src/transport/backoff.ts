/** Reconnect delays: exponential, capped, with jitter so a fleet that lost its network together does not reconnect in lockstep. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay ever exceeds this. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Fraction of the delay that is randomised (0 = none, 1 = "full jitter"). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (1 = first retry after one failure).
 * The result lies in [ceiling × (1 − jitter), ceiling] where ceiling = min(maxMs, baseMs × factor^(attempt−1)),
 * so jitter only ever shortens a delay and the cap holds.
 */
export function backoffDelay(
  attempt: number,
  options: Partial<BackoffOptions> = {},
  random: () => number = Math.random,
): number {
  const { baseMs, maxMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  if (attempt <= 0) return 0;
  const j = Math.min(1, Math.max(0, jitter));
  // Math.min before the power would overflow to Infinity for large attempts; Infinity is still capped correctly.
  const ceiling = Math.min(maxMs, baseMs * Math.pow(factor, attempt - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling * (1 - j) + ceiling * j * r);
}
